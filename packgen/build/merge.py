"""``packgen merge``: the outputs of shard builds (``--shard K/N``) combined into one folder."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from packgen.build.incremental import remove_stale_parts
from packgen.build.lock import output_lock
from packgen.build.options import BuildOptions, BuildResult, Stage
from packgen.build.pipeline import check_output, finish, writing
from packgen.build.selection import parse_shard
from packgen.build.shards import Shard, copy_booklet, read_shard
from packgen.config.schema import Config
from packgen.errors import InputError, UsageError
from packgen.files import atomic_output, sha256_file
from packgen.outputs.delivery import DeliveryRow
from packgen.outputs.manifest import Entry
from packgen.outputs.paths import BOOKLETS_DIR


def merge(
    config: Config, sources: Sequence[Path], options: BuildOptions, *, stage: Stage | None = None
) -> BuildResult:
    """Combine the outputs of shard builds into one folder: booklets, manifest, print runs, delivery.

    Every shard is checked whole (:func:`~packgen.build.shards.read_shard`: its manifest against a
    schema, each booklet inside it with the sha256 it recorded) before the output folder is touched.
    """
    if not sources:
        raise UsageError("merge: give the output folders of the shard builds, e.g. packgen merge out-1 out-2")
    check_output(config, options.output)
    shards = [read_shard(source) for source in sources]
    check_shards(shards)
    entries: dict[str, tuple[Entry, Shard]] = {}
    rows: dict[str, DeliveryRow] = {}
    for shard in shards:
        for entry in shard.entries:
            if entry.id in entries and entries[entry.id][0].sha256 != entry.sha256:
                raise InputError(
                    f"{shard.source}: member {entry.id} is also in {entries[entry.id][1].source} with a "
                    "different booklet; merge the shards of one build (same roster and config)"
                )
            entries[entry.id] = (entry, shard)
        rows.update((row.id, row) for row in shard.rows)
    output = options.output
    with output_lock(output), writing(output):
        (output / BOOKLETS_DIR).mkdir(parents=True, exist_ok=True)
        remove_stale_parts(output / BOOKLETS_DIR)
        for entry, shard in entries.values():
            if entry.status != "failed":
                _copy_checked(shard, entry, output / entry.file)
                if entry.digital:  # the digital edition, checked as the booklet is
                    (output / entry.digital).parent.mkdir(parents=True, exist_ok=True)
                    _copy_checked(shard, entry, output / entry.digital, digital=True)
        merged = sorted((e for e, _ in entries.values()), key=lambda e: e.seq)
        delivered = sorted(rows.values(), key=lambda r: r.seq)
        extra = {"merged": [str(s) for s in sources]}
        return finish(config, output, merged, delivered, options, extra=extra, stage=stage)


def check_shards(shards: list[Shard]) -> None:
    """Shards to merge must be all N shares of one build (``--shard K/N``), built from the same inputs."""
    inputs = {shard.inputs for shard in shards} - {None}
    if len(inputs) > 1:
        raise InputError(
            "merge: the shards were built from different config, templates or materials; build every "
            "shard from the same workspace and merge again"
        )
    shares = [(shard.source, shard.share) for shard in shards]
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


def _copy_checked(shard: Shard, entry: Entry, target: Path, *, digital: bool = False) -> None:
    """Copy a booklet (or with ``digital`` the digital edition) :func:`read_shard` checked; bytes
    that changed since are not renamed into place."""
    source = shard.root / entry.digital if digital else shard.booklet(entry)
    sha256 = entry.digital_sha256 if digital else entry.sha256
    if source == target.resolve() or (target.is_file() and sha256_file(target) == sha256):
        return
    with atomic_output(target) as handle:
        if copy_booklet(source, handle) != sha256:
            raise InputError(
                f"{shard.source}: member {entry.id}: {entry.digital if digital else entry.file} changed while it "
                "was copied; build that "
                "shard again"
            )
