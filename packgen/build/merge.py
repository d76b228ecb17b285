"""``packgen merge``: the outputs of shard builds (``--shard K/N``) combined into one folder."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from packgen.build.incremental import remove_stale_parts
from packgen.build.lock import output_lock
from packgen.build.options import BuildOptions, BuildResult, Stage
from packgen.build.pipeline import finish
from packgen.build.selection import parse_shard
from packgen.config.schema import Config
from packgen.errors import InputError, UsageError
from packgen.files import atomic_output, sha256_file
from packgen.outputs.delivery import DeliveryRow
from packgen.outputs.manifest import Entry, read_manifest
from packgen.outputs.paths import BOOKLETS_DIR


def merge(
    config: Config, sources: Sequence[Path], options: BuildOptions, *, stage: Stage | None = None
) -> BuildResult:
    """Combine the outputs of shard builds into one folder: booklets, manifest, print runs, delivery.

    Each booklet is checked against the sha256 its shard recorded before it is copied.
    """
    if not sources:
        raise UsageError("merge: give the output folders of the shard builds, e.g. packgen merge out-1 out-2")
    entries: dict[str, tuple[Entry, Path]] = {}
    rows: dict[str, DeliveryRow] = {}
    manifests = []
    for source in sources:
        data = read_manifest(source)
        if data is None:
            raise InputError(
                f"{source}: no readable manifest.json; give folders that packgen build wrote (-o)"
            )
        manifests.append((source, data))
    check_shards(manifests)
    for source, data in manifests:
        for item in data.get("members", []):
            entry = Entry.from_dict(item)
            if entry.id in entries and entries[entry.id][0].sha256 != entry.sha256:
                raise InputError(
                    f"{source}: member {entry.id} is also in {entries[entry.id][1]} with a different "
                    "booklet; merge the shards of one build (same roster and config)"
                )
            entries[entry.id] = (entry, source)
        for row in (data.get("delivery") or {}).get("rows", []):
            rows[row["id"]] = DeliveryRow.from_dict({k: v for k, v in row.items() if k != "group"})
    output = options.output
    with output_lock(output):
        (output / BOOKLETS_DIR).mkdir(parents=True, exist_ok=True)
        remove_stale_parts(output / BOOKLETS_DIR)
        for entry, source in entries.values():
            if entry.status != "failed" and entry.file:
                _copy_checked(source / entry.file, output / entry.file, entry.sha256)
            if entry.status != "failed" and entry.digital:
                (output / entry.digital).parent.mkdir(parents=True, exist_ok=True)
                _copy_checked(source / entry.digital, output / entry.digital, entry.digital_sha256)
        merged = sorted((e for e, _ in entries.values()), key=lambda e: e.seq)
        delivered = sorted(rows.values(), key=lambda r: r.seq)
        extra = {"merged": [str(s) for s in sources]}
        return finish(config, output, merged, delivered, options, extra=extra, stage=stage)


def check_shards(manifests: list[tuple[Path, dict[str, Any]]]) -> None:
    """Shards to merge must be all N shares of one build (``--shard K/N``), built from the same inputs."""
    inputs = {data.get("inputs") for _, data in manifests} - {None}
    if len(inputs) > 1:
        raise InputError(
            "merge: the shards were built from different config, templates or materials; build every "
            "shard from the same workspace and merge again"
        )
    shares = [(source, data.get("shard")) for source, data in manifests]
    if all(share is None for _, share in shares):
        return
    parsed = [(source, parse_shard(share)) if share else (source, None) for source, share in shares]
    whole = [str(source) for source, share in parsed if share is None]
    if whole:
        raise InputError(f"merge: {', '.join(whole)} holds a whole build, not a shard (--shard K/N)")
    counts = {share[1] for _, share in parsed if share}
    if len(counts) > 1:
        raise InputError(
            f"merge: the shards split the roster differently ({', '.join(sorted(s for _, s in shares if s))})"
        )
    (count,) = counts
    given = sorted({share[0] for _, share in parsed if share})
    missing = [f"{k}/{count}" for k in range(1, count + 1) if k not in given]
    if missing:
        raise InputError(
            f"merge: shard {', '.join(missing)} is missing; give the folders of all {count} shards"
        )


def _copy_checked(source: Path, target: Path, sha256: str) -> None:
    if not source.is_file() or sha256_file(source) != sha256:
        raise InputError(f"{source}: missing or changed since its build recorded it; build that shard again")
    if source.resolve() == target.resolve() or (target.is_file() and sha256_file(target) == sha256):
        return
    with atomic_output(target) as handle, open(source, "rb") as original:
        shutil.copyfileobj(original, handle)
