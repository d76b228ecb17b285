"""Which members a build renders: ``--only``, ``--plan``, ``--branch`` and ``--shard K/N``."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

from packgen.build.options import BuildOptions
from packgen.errors import UsageError
from packgen.roster.members import Member
from packgen.rules.ruleset import Assignment


def parse_shard(text: str) -> tuple[int, int]:
    """``"2/3"`` -> ``(2, 3)``, with a message that says what is wrong otherwise."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match:
        raise UsageError(f"--shard {text!r}: expected K/N, e.g. --shard 1/3 for the first of three shares")
    k, n = int(match[1]), int(match[2])
    if n < 1 or not 1 <= k <= n:
        raise UsageError(f"--shard {text}: K must be between 1 and N (here 1 to {max(n, 1)})")
    return k, n


def in_shard(member_id: str, shard: tuple[int, int]) -> bool:
    """Stable across runs, machines and roster order: depends on the member id alone."""
    k, n = shard
    return int(hashlib.sha256(member_id.encode("utf-8")).hexdigest()[:16], 16) % n == k - 1


def select(
    assigned: Iterable[tuple[Member, Assignment]], options: BuildOptions
) -> list[tuple[Member, Assignment]]:
    assigned = list(assigned)
    if options.only:
        unknown = options.only - {m.id for m, _ in assigned}
        if unknown:
            raise UsageError(f"--only: no member with id {', '.join(sorted(unknown))} in the profiles")
    return [
        (m, a)
        for m, a in assigned
        if (options.only is None or m.id in options.only)
        and (options.plans is None or a.plan in options.plans)
        and (options.branches is None or m.branch in options.branches)
        and (options.shard is None or in_shard(m.id, options.shard))
    ]
