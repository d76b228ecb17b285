"""What an earlier build into the same folder already made, so a build renders only what changed.

A booklet's key hashes everything it depends on (the member, the plan, and one fingerprint of the
config, templates and materials); a booklet whose key and file are unchanged is not rendered again.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from packgen import __version__
from packgen.assets import builtin_templates_dir
from packgen.config.schema import Config, material_file
from packgen.files import sha256_file
from packgen.materials import load_material
from packgen.outputs.manifest import Entry
from packgen.outputs.paths import DIGITAL_DIR, names_for
from packgen.roster.members import Member
from packgen.rules.ruleset import Assignment


def remove_stale_parts(folder: Path) -> None:
    """Temporary files of a build that was killed; they never end in ``.pdf``."""
    for part in folder.glob(".*.part-*"):
        part.unlink(missing_ok=True)


def inputs_fingerprint(config: Config, skip: Path | None = None) -> str:
    """One hash of everything besides the member that a booklet depends on, computed once per build.

    ``skip`` (the output folder) is left out, should the templates folder be the whole workspace.
    """
    digest = hashlib.sha256()
    digest.update(f"packgen {__version__}\n".encode())
    digest.update(config.model_dump_json().encode("utf-8"))
    digest.update(f"\nSOURCE_DATE_EPOCH={os.environ.get('SOURCE_DATE_EPOCH', '')}\n".encode())
    files: list[tuple[str, Path]] = []  #: (a name that does not depend on where the workspace is, path)
    for label, folder in (
        ("builtin", builtin_templates_dir()),
        ("workspace", config.resolve(config.templates)),
    ):
        if folder.is_dir():
            found = (p for p in folder.rglob("*") if p.is_file() and not (skip and p.is_relative_to(skip)))
            files += sorted((f"{label}/{p.relative_to(folder).as_posix()}", p) for p in found)
    for key, plan in config.plans.items():
        for entry in plan.materials:
            path = config.resolve_material(material_file(entry))
            files.append((f"material {key} {material_file(entry)}", path))
            files += [
                (f"image {key} {material_file(entry)} {n}", image)
                for n, image in enumerate(load_material(path).images)
            ]
    for name, path in files:
        digest.update(f"\n{name}\n".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def member_key(fingerprint: str, member: Member, assignment: Assignment) -> str:
    """Changes when the member's data, plan or explanation, or any shared input changes.

    The member's ``source`` (file and row) is left out: inserting a row must not rebuild everyone.
    """
    data = {
        "member": member.model_dump(mode="json", exclude={"source"}),
        "assignment": [
            assignment.plan,
            assignment.reason,
            assignment.source,
            assignment.rule,
            assignment.edition,
        ],
    }
    text = fingerprint + json.dumps(data, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def is_unchanged(output: Path, entry: Entry, before: Entry | None) -> bool:
    """Built before with the same key, and the file on disk is the one that build wrote."""
    if before is None or before.status == "failed" or before.key != entry.key or before.file != entry.file:
        return False
    if before.digital != entry.digital:
        return False
    return all(
        (output / file).is_file() and sha256_file(output / file) == sha256
        for file, sha256 in ((entry.file, before.sha256), (entry.digital, before.digital_sha256))
        if file
    )


def remove_booklets(output: Path, member_ids: list[str]) -> list[str]:
    """Delete the booklets (and digital editions) in ``output`` of members no longer on the roster (a
    member whose row has errors this time is still on it); the ids of those that had a booklet there."""
    removed = []
    for member_id in member_ids:
        booklets, digitals = names_for(member_id)  # under either name it may have had
        for digital in digitals:
            (output / digital).unlink(missing_ok=True)
        found = [output / booklet for booklet in booklets if (output / booklet).is_file()]
        for path in found:
            path.unlink()
        if found:
            removed.append(member_id)
    return removed


def remove_former_name(output: Path, entry: Entry, before: Entry | None) -> None:
    """Delete the member's booklet and digital edition under the name an earlier build gave them,
    when it differs from this build's (an id another member's now equals but for case, or no longer)."""
    if before is None or not before.file or before.file == entry.file:
        return
    booklets, digitals = names_for(entry.id)  # only names packgen gives this id: the manifest is not trusted
    for path in (*booklets, *digitals):
        if path not in (entry.file, entry.digital):
            (output / path).unlink(missing_ok=True)


def remove_stale_digital(output: Path, entries: list[Entry], known: dict[str, Entry]) -> None:
    """Delete digital editions no member has any more (a plan that no longer gets one, a member
    moved to another plan); those of members this build left out stay, as their booklets do."""
    folder = output / DIGITAL_DIR
    if not folder.is_dir():
        return
    current = {entry.id: entry.digital for entry in entries}
    wanted = {digital for digital in current.values() if digital}
    wanted |= {e.digital for member_id, e in known.items() if member_id not in current and e.digital}
    for path in folder.glob("*.pdf"):
        if f"{DIGITAL_DIR}/{path.name}" not in wanted:
            path.unlink()
