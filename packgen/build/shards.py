"""What ``packgen merge`` takes from a shard's folder, checked before anything is written.

A shard is the output folder of ``packgen build --shard K/N``, most often made on another machine
(a CI job's artifact): untrusted data. Its ``manifest.json`` must pass a schema (sizes, types, a
plan packgen knows, a sha256 of 64 hex digits), every booklet it lists must be
``booklets/<the one file name packgen gives that member>`` and a regular file inside the shard
(no symlink, the folder neither) with the recorded sha256. A shard that fails any of it is an
:class:`InputError` naming the shard and the entry, raised before ``merge`` creates its output folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from packgen.errors import InputError
from packgen.files import sha256_file
from packgen.outputs.delivery import DeliveryRow
from packgen.outputs.manifest import MANIFEST_JSON, Entry
from packgen.outputs.paths import names_for
from packgen.roster import limits
from packgen.roster.members import PlanKey

REBUILD = "this is not a folder packgen build wrote, or it was changed since; build that shard again"


class _Record(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)


class ShardEntry(_Record):
    """A member's line in a shard's manifest (:class:`~packgen.outputs.manifest.Entry`)."""

    id: str = Field(min_length=1)
    name: str = ""
    branch: str = ""
    plan: Literal[PlanKey, ""] = ""  #: "": a row with errors; a plan names print-run files
    reason: str = ""
    rule: str | None = None
    file: str = ""
    pages: int = Field(0, ge=0)
    sha256: str = Field("", pattern=r"^([0-9a-f]{64})?$")
    status: Literal["built", "unchanged", "failed"]
    error: str = ""
    route: str = ""
    gaps: list[str] = Field(default_factory=list)
    key: str = ""
    seq: int = 0
    edition: Literal["standard", "large"] = "standard"
    edition_reason: str = ""
    digital: str = ""
    digital_sha256: str = Field("", pattern=r"^([0-9a-f]{64})?$")

    @model_validator(mode="after")
    def _booklet(self) -> ShardEntry:
        if self.status == "failed":
            if self.file or self.digital:
                raise ValueError(
                    f"a failed member has no booklet, yet file is {_shown(self.file or self.digital)}"
                )
            return self
        # the name packgen gives the id, or the one it gives an id the roster also has in other case
        files, digitals = names_for(self.id)
        if self.digital and (self.digital not in digitals or not self.digital_sha256):
            raise ValueError(f"digital must be {digitals[0]!r} with its sha256, not {_shown(self.digital)}")
        if self.file not in files:
            raise ValueError(f"file must be {files[0]!r}, not {_shown(self.file)}")
        if not self.sha256 or not self.plan:
            raise ValueError("a built booklet needs its plan and sha256")
        return self


class ShardRow(_Record):
    """A member on a shard's delivery list (:class:`~packgen.outputs.delivery.DeliveryRow`)."""

    id: str = Field(min_length=1)
    name: str = ""
    branch: str = ""
    route: str = ""
    address: str = ""
    phone: str = ""
    rounds: list[str] = Field(default_factory=list)
    file: str = ""
    pages: int = Field(0, ge=0)
    seq: int = 0


class ShardDelivery(_Record):
    rows: list[ShardRow] = Field(default_factory=list)


class ShardManifest(_Record):
    members: list[ShardEntry]
    inputs: str | None = None
    shard: str | None = Field(None, pattern=r"^[0-9]{1,6}/[0-9]{1,6}$")
    delivery: ShardDelivery | None = None


@dataclass
class Shard:
    """A shard folder that passed: its entries and delivery rows, ready to merge."""

    source: Path  #: as given on the command line, for messages
    root: Path  #: resolved
    entries: list[Entry]
    rows: list[DeliveryRow]
    inputs: str | None
    share: str | None

    def booklet(self, entry: Entry) -> Path:
        return self.root / entry.file


def read_shard(source: Path) -> Shard:
    """The shard in folder ``source``, its manifest checked against the schema and every booklet it
    lists checked on disk (inside the shard, a regular file, the recorded sha256)."""
    root = source.resolve()
    raw = _load(source, root)
    try:
        manifest = ShardManifest.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        more = f" (and {exc.error_count() - 1} more problem(s))" if exc.error_count() > 1 else ""
        message = str(first["msg"]).removeprefix("Value error, ")
        raise InputError(
            f"{source}: {MANIFEST_JSON}, {_where(raw, first['loc'])}: {message}{more}; {REBUILD}"
        ) from None
    entries = [Entry(**item.model_dump()) for item in manifest.members]
    by_id: dict[str, Entry] = {}
    for entry in entries:
        if entry.id in by_id:
            raise InputError(
                f"{source}: {MANIFEST_JSON}, member {_shown(entry.id)} is listed twice; {REBUILD}"
            )
        by_id[entry.id] = entry
    rows = [DeliveryRow(**row.model_dump()) for row in (manifest.delivery.rows if manifest.delivery else [])]
    for row in rows:
        member = by_id.get(row.id)
        if (
            member is None
            or member.plan != "delivered"
            or member.status == "failed"
            or row.file != member.file
        ):
            raise InputError(
                f"{source}: {MANIFEST_JSON}, delivery row {_shown(row.id)}: not a delivered member of this "
                f"shard with that booklet; {REBUILD}"
            )
    shard = Shard(source, root, entries, rows, manifest.inputs, manifest.shard)
    for entry in entries:
        if entry.status == "failed":
            continue
        for file, sha256 in ((entry.file, entry.sha256), (entry.digital, entry.digital_sha256)):
            if not file:
                continue
            path = _regular_file_inside(shard, file, f"member {_shown(entry.id)}")
            if sha256_file(path) != sha256:
                raise InputError(
                    f"{source}: member {_shown(entry.id)}: {file} is missing or changed since its "
                    "build recorded it; build that shard again"
                )
    return shard


def copy_booklet(source: Path, handle: BinaryIO) -> str:
    """Copy a shard's booklet into ``handle``; the sha256 of the bytes copied (the file may have
    changed since :func:`read_shard` checked it)."""
    digest = hashlib.sha256()
    with open(source, "rb") as original:
        for block in iter(lambda: original.read(1 << 20), b""):
            digest.update(block)
            handle.write(block)
    return digest.hexdigest()


def _load(source: Path, root: Path) -> Any:
    """The manifest's JSON, read only when it is a regular file inside the shard and not too large."""
    missing = InputError(f"{source}: no readable {MANIFEST_JSON}; give folders that packgen build wrote (-o)")
    if not root.is_dir():
        raise missing
    path = root / MANIFEST_JSON
    try:
        info = os.lstat(path)
    except OSError:
        raise missing from None
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"{source}: {MANIFEST_JSON} is not a regular file (a symlink?); {REBUILD}")
    if info.st_size > limits.MAX_MANIFEST_BYTES:
        raise InputError(
            f"{source}: {MANIFEST_JSON} is {info.st_size:,} bytes, more than any build writes (limit "
            f"{limits.MAX_MANIFEST_BYTES:,}); {REBUILD}"
        )
    try:
        with open(path, "rb") as handle:
            data = handle.read(limits.MAX_MANIFEST_BYTES + 1)
        return json.loads(data)
    except OSError as exc:
        raise InputError(f"{source}: cannot read {MANIFEST_JSON} ({exc.strerror or exc})") from None
    except RecursionError:
        raise InputError(f"{source}: {MANIFEST_JSON} is nested far too deeply; {REBUILD}") from None
    except ValueError as exc:  # not JSON, not UTF-8, a number of more digits than Python reads
        raise InputError(f"{source}: {MANIFEST_JSON} is not valid JSON ({exc}); {REBUILD}") from None


def _regular_file_inside(shard: Shard, relative: str, who: str) -> Path:
    """``shard.root / relative``, if it is a regular file reached without a symlink (its folder,
    booklets/ or digital/, included; the root is resolved), so a shard cannot hand over a file from
    elsewhere."""
    path = shard.root / relative
    folder = path.parent
    problem = ""
    try:
        if not stat.S_ISDIR(os.lstat(folder).st_mode):
            problem = f"{folder.name}/ is not a folder of the shard (a symlink?)"
        elif not stat.S_ISREG(os.lstat(path).st_mode):
            problem = f"{relative} is not a regular file (a symlink?)"
    except OSError:
        problem = f"{relative} is missing"
    if problem:
        raise InputError(f"{shard.source}: {who}: {problem}; {REBUILD}")
    return path


def _where(raw: Any, loc: tuple[Any, ...]) -> str:
    """Where in the manifest a schema error is: the member (by id when it has one) and its key."""
    if len(loc) >= 2 and loc[0] == "members" and isinstance(loc[1], int):
        item = raw["members"][loc[1]]
        ident = item.get("id") if isinstance(item, dict) else None
        who = f"member {_shown(ident)}" if isinstance(ident, str) and ident else f"member {loc[1] + 1}"
        return who + "".join(f", {part}" for part in loc[2:])
    return ".".join(str(part) for part in loc) or "(top level)"


def _shown(value: str) -> str:
    """A value from a shard as a message quotes it: at most 80 characters."""
    return repr(value if len(value) <= 80 else value[:80] + "…")
