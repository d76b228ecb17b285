"""What the roster stage takes from packgen.yaml, as plain values (the roster never reads the config)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RosterSettings:
    #: header as written -> field (``columns:``)
    columns: Mapping[str, str] = field(default_factory=dict)
    #: field -> the organizer's own word -> the field's value (``values:``, e.g. 北漂: out_of_province)
    values: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: where the members are registered (``organization.home``), to work out a member's mobility class
    home: str = ""
