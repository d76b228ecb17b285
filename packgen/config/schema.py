"""The workspace config (``packgen.yaml``): what each setting may hold.

:mod:`packgen.config.load` reads the YAML into these models and reports every problem with its
line; :mod:`packgen.config.checks` finds what a schema cannot see (rules, materials, columns).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)

from packgen.assets import builtin_templates_dir
from packgen.errors import ConfigError
from packgen.roster.members import PLAN_KEYS, PlanKey

__all__ = ["PLAN_KEYS", "PlanKey"]  # the plan vocabulary is the roster's (its 指定学习方式 column)

CONFIG_NAME = "packgen.yaml"
Located = tuple[list[Any], str]  #: (key path in the config, what is wrong and what to do)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Contact(_Model):
    name: str
    role: str = ""
    phone: str = ""
    wechat: str = ""


class Organization(_Model):
    name: str
    campaign: str
    branch_secretaries: dict[str, Contact] = Field(default_factory=dict)
    contacts: list[Contact] = Field(default_factory=list)


class Training(_Model):
    start: dt.date
    end: dt.date
    report_by: dt.date | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Training:
        if self.end < self.start:
            raise ValueError(f"end ({self.end}) is before start ({self.start})")
        return self


#: points per unit of a CSS length
_POINTS = {"mm": 72 / 25.4, "cm": 720 / 25.4, "q": 18 / 25.4, "in": 72.0, "pt": 1.0, "pc": 12.0, "px": 0.75}


class Page(_Model):
    size: Literal["A5", "A4", "B5"] = "A5"
    language: Literal["zh", "en"] = "zh"
    bleed: str = "0mm"
    crop_marks: bool = False
    #: PDF/X markers on booklets and print runs for a print shop that asks for them
    pdf_variant: Literal["none", "pdf/x-1a", "pdf/x-4"] = "none"
    #: the ICC profile of the print shop's printing condition (PDF/X's output intent)
    output_profile: str = ""

    @field_validator("bleed", mode="before")
    @classmethod
    def _length(cls, value: Any) -> str:
        """A CSS length for the print shop's bleed: ``3mm``; ``3 mm`` is taken as ``3mm``."""
        text = re.sub(r"\s+", "", str(value)).lower()
        if re.fullmatch(r"0|\d+(\.\d+)?(mm|cm|in|pt|pc|px|q)", text):
            return text
        raise ValueError(f"{value!r} is not a length; write it with its unit, e.g. 3mm (0mm for none)")

    @property
    def bleed_pt(self) -> float:
        """The bleed in points."""
        number = re.match(r"[\d.]+", self.bleed)
        unit = self.bleed[number.end() :] if number else ""
        return float(number[0]) * _POINTS.get(unit, 0.0) if number else 0.0


class Imposition(_Model):
    """An imposed copy of each print run for an office duplex printer (``packgen build --impose``)."""

    kind: Literal["none", "saddle"] = "none"
    flip: Literal["short_edge", "long_edge"] = "short_edge"  #: how the printer turns the sheet over
    sheet: Literal["auto", "A4", "A3", "B4", "SRA3"] = "auto"  #: auto: twice the page size
    fold_marks: bool = True
    crop_marks: bool = False  #: only where the sheet leaves room around the pages


class LargePrintRule(_Model):
    """When a member gets the large-print edition (大字版), and why."""

    name: str
    when: str
    reason: str


class Link(_Model):
    title: str
    url: str

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("a link must start with https:// or http://")
        return value


class Session(_Model):
    date: dt.date
    time: str = ""
    title: str
    link: str = ""

    @field_validator("time", mode="before")
    @classmethod
    def _quoted(cls, value: Any) -> Any:
        if isinstance(value, int):  # YAML 1.1 reads 20:00 as 20 * 60 + 0
            raise ValueError(
                f'write the time in quotes, e.g. "20:00" (YAML reads 20:00 as the number {value})'
            )
        return value

    @field_validator("link")
    @classmethod
    def _http(cls, value: str) -> str:
        if value and not value.startswith(("https://", "http://")):
            raise ValueError("a link must start with https:// or http://")
        return value


class DeliveryRound(_Model):
    date: dt.date
    title: str = ""
    routes: list[str] = Field(default_factory=list)  #: empty: every route


class MaterialRef(_Model):
    """A material with a title of its own, e.g. ``{file: courseware/safety.pdf, title: 安全生产课件}``."""

    file: str
    title: str = ""


def material_file(entry: str | MaterialRef) -> str:
    """The file of a plan's material, given as a path or as ``{file:, title:}``."""
    return entry.file if isinstance(entry, MaterialRef) else entry


class PlanConfig(_Model):
    label: str
    label_en: str = ""
    summary: str
    #: Markdown chapters (``.md``) and PDF courseware (``.pdf``), by path or as ``{file:, title:}``
    materials: list[str | MaterialRef] = Field(default_factory=list)
    links: list[Link] = Field(default_factory=list)
    sessions: list[Session] = Field(default_factory=list)
    rounds: list[DeliveryRound] = Field(default_factory=list)
    report_back: str = ""
    contacts: list[Contact] = Field(default_factory=list)
    chat_group: str = ""


class Rule(_Model):
    name: str
    when: str
    plan: PlanKey
    reason: str


class Config(_Model):
    organization: Organization
    training: Training
    page: Page = Page()
    profiles: list[str] = Field(default_factory=lambda: ["profiles"])
    output: str = "output"
    columns: dict[str, str] = Field(default_factory=dict)
    plans: dict[PlanKey, PlanConfig]
    rules: list[Rule] = Field(default_factory=list)
    default_plan: PlanKey = "self_study"
    default_reason: str = "没有规则匹配，按默认方式安排"
    templates: str = "templates"
    allowed_hosts: list[str] = Field(default_factory=list)
    imposition: Imposition = Imposition()
    #: any rule that holds gives the member the large-print edition (as does 大字版 = 是)
    large_print: list[LargePrintRule] = Field(default_factory=list)
    #: members on these plans also get a tagged digital edition (output/digital/ID.pdf)
    digital: list[PlanKey] = Field(default_factory=lambda: list[PlanKey](["online"]))

    #: where the config came from; relative paths in it are relative to this folder
    workspace: Path = Field(default=Path("."), exclude=True)
    source: str = Field(default="(built-in default config)", exclude=True)
    #: (key, key, index …) -> 1-based line in the YAML, so later checks can say where
    _lines: dict[tuple[str | int, ...], int] = PrivateAttr(default_factory=dict)

    @field_validator("rules", "columns", "allowed_hosts", "large_print", "digital", mode="before")
    @classmethod
    def _empty(cls, value: Any, info: Any) -> Any:
        """``rules:`` with every rule commented out is no rules, not an error."""
        return ({} if info.field_name == "columns" else []) if value is None else value

    @field_validator("plans")
    @classmethod
    def _all_plans(cls, plans: dict[PlanKey, PlanConfig]) -> dict[PlanKey, PlanConfig]:
        missing = [key for key in PLAN_KEYS if key not in plans]
        if missing:
            raise ValueError(f"missing {', '.join(missing)}; every plan needs its section")
        return plans

    def resolve(self, relative: str) -> Path:
        return (self.workspace / relative).resolve()

    def resolve_material(self, entry: str) -> Path:
        """A material path: the workspace first, then its templates folder, then the built-in templates."""
        for candidate in (
            self.resolve(entry),
            self.resolve(self.templates) / entry,
            builtin_templates_dir() / entry,
        ):
            if candidate.is_file():
                return candidate
        raise ConfigError(
            f"{self.source}: material '{entry}' not found (looked in {self.workspace}, its "
            f"{self.templates}/ folder and the built-in templates); check the path under plans: … materials:"
        )

    def line(self, *loc: str | int) -> int | None:
        """The YAML line of the setting at ``loc`` (or of its nearest enclosing setting)."""
        for end in range(len(loc), -1, -1):
            found = self._lines.get(tuple(loc[:end]))
            if found is not None:
                return found
        return None

    def where(self, *loc: str | int) -> str:
        """``source: line N`` for the setting at ``loc``, to start a located error message."""
        line = self.line(*loc)
        return f"{self.source}: line {line}" if line else self.source
