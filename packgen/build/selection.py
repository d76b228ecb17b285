"""Which members a build renders: ``--only``, ``--plan``, ``--branch`` and ``--shard K/N`` (or
``--shard auto``: K and N from the environment of the engine that runs the build)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping

from packgen.build.options import BuildOptions
from packgen.errors import UsageError
from packgen.roster.members import Member
from packgen.rules.ruleset import Assignment


def parse_shard(text: str, option: str = "--shard") -> tuple[int, int]:
    """``"2/3"`` -> ``(2, 3)``, with a message that says what is wrong otherwise."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match:
        raise UsageError(f"{option} {text!r}: expected K/N, e.g. --shard 1/3 for the first of three shares")
    k, n = int(match[1]), int(match[2])
    if n < 1 or not 1 <= k <= n:
        raise UsageError(f"{option} {text}: K must be between 1 and N (here 1 to {max(n, 1)})")
    return k, n


#: what ``--shard auto`` reads, in this order: (engine, its variables, how to say what it found)
SCHEDULERS = (
    ("PACKGEN_SHARD", "PACKGEN_SHARD=K/N"),
    ("GitLab CI parallel:", "CI_NODE_INDEX and CI_NODE_TOTAL"),
    ("a Kubernetes Indexed Job", "JOB_COMPLETION_INDEX, with the completions in PACKGEN_SHARDS"),
    ("a Slurm job array", "SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT"),
)


def shard_from_environment(environ: Mapping[str, str]) -> tuple[tuple[int, int], str]:
    """``--shard auto``: (K, N) from the first scheduler whose variables are set, and where it came
    from in words; a usage error naming what it looked for when none is, or one is half set."""

    def number(name: str) -> int:
        value = environ[name].strip()
        if not value.isdigit():
            raise UsageError(f"--shard auto: {name}={environ[name]!r} is not a whole number")
        return int(value)

    def checked(k: int, n: int, found: str) -> tuple[tuple[int, int], str]:
        if n < 1 or not 1 <= k <= n:
            raise UsageError(f"--shard auto: {found} gives shard {k} of {n}; K must be between 1 and N")
        return (k, n), f"shard {k}/{n} from {found}"

    if environ.get("PACKGEN_SHARD", "").strip():
        k, n = parse_shard(environ["PACKGEN_SHARD"], option="PACKGEN_SHARD")
        return checked(k, n, f"PACKGEN_SHARD={environ['PACKGEN_SHARD'].strip()}")
    if "CI_NODE_INDEX" in environ or "CI_NODE_TOTAL" in environ:
        _both(environ, "CI_NODE_INDEX", "CI_NODE_TOTAL", "GitLab CI's parallel: sets both")
        k, n = number("CI_NODE_INDEX"), number("CI_NODE_TOTAL")  # 1-based
        return checked(k, n, f"GitLab CI (CI_NODE_INDEX={k}, CI_NODE_TOTAL={n})")
    if "JOB_COMPLETION_INDEX" in environ:
        if not environ.get("PACKGEN_SHARDS", "").strip():
            raise UsageError(
                "--shard auto: JOB_COMPLETION_INDEX is set (a Kubernetes Indexed Job) but PACKGEN_SHARDS is "
                "not; set PACKGEN_SHARDS to the Job's completions in its pod template"
            )
        k, n = number("JOB_COMPLETION_INDEX") + 1, number("PACKGEN_SHARDS")  # 0-based
        return checked(k, n, f"a Kubernetes Indexed Job (JOB_COMPLETION_INDEX={k - 1}, PACKGEN_SHARDS={n})")
    if "SLURM_ARRAY_TASK_ID" in environ or "SLURM_ARRAY_TASK_COUNT" in environ:
        _both(environ, "SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT", "a Slurm job array sets both")
        task, n = number("SLURM_ARRAY_TASK_ID"), number("SLURM_ARRAY_TASK_COUNT")
        first = number("SLURM_ARRAY_TASK_MIN") if "SLURM_ARRAY_TASK_MIN" in environ else 0
        step = number("SLURM_ARRAY_TASK_STEP") if "SLURM_ARRAY_TASK_STEP" in environ else 1
        if step < 1 or (task - first) % step:
            raise UsageError(
                f"--shard auto: SLURM_ARRAY_TASK_ID={task} is not one of the array's tasks "
                f"(SLURM_ARRAY_TASK_MIN={first}, SLURM_ARRAY_TASK_STEP={step})"
            )
        k = (task - first) // step + 1
        return checked(k, n, f"a Slurm job array (SLURM_ARRAY_TASK_ID={task}, SLURM_ARRAY_TASK_COUNT={n})")
    looked = "; ".join(f"{variables} ({engine})" for engine, variables in SCHEDULERS)
    raise UsageError(
        f"--shard auto: no scheduler's shard in the environment; looked for {looked}. Run the build as "
        "one of N parallel jobs, or give --shard K/N"
    )


def _both(environ: Mapping[str, str], first: str, second: str, why: str) -> None:
    missing = [name for name in (first, second) if name not in environ]
    if missing:
        raise UsageError(f"--shard auto: {missing[0]} is not set ({why})")


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
