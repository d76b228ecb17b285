"""Where things go in an output folder, and the one safe file name a member's booklet gets."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable

BOOKLETS_DIR = "booklets"
PRINT_DIR = "print"
DELIVERY_DIR = "delivery"
DIGITAL_DIR = "digital"  #: the tagged digital editions, to read on a phone


#: names Windows keeps for devices, whatever follows a dot (``NUL.txt`` is NUL too)
_WINDOWS_DEVICES = {"CON", "PRN", "AUX", "NUL", *(f"{port}{n}" for port in ("COM", "LPT") for n in range(10))}


def booklet_filename(member_id: str, apart: bool = False) -> str:
    """A safe file name for a member id: never a path, never hidden, distinct for distinct ids, and
    one Windows can open too (no reserved characters, no device name such as ``CON`` or ``NUL.txt``).
    An ordinary id (``QS0001``) is its own name. ``apart``: the roster also has this id in other
    upper and lower case (``A1`` and ``a1``), which Windows and macOS would take for one file, so the
    name gets the id's hash as a name changed for safety does (see :func:`case_clashes`)."""
    text = unicodedata.normalize("NFKC", member_id)
    safe = re.sub(r"[^\w.-]", "_", text, flags=re.UNICODE).lstrip(".") or "member"
    safe = safe[:80]
    if safe.split(".")[0].upper() in _WINDOWS_DEVICES:
        safe = "_" + safe
    if safe != member_id or apart:
        safe += "-" + hashlib.sha256(member_id.encode("utf-8")).hexdigest()[:8]
    return safe + ".pdf"


def case_clashes(member_ids: Iterable[str]) -> set[str]:
    """The ids that another id of the roster equals but for upper and lower case: their booklets
    get names apart (``booklet_filename(..., apart=True)``), else one would overwrite the other on a
    file system that ignores case (Windows, macOS), or when the folder is copied to one."""
    ids = list(member_ids)
    counts = Counter(member_id.casefold() for member_id in ids)
    return {member_id for member_id in ids if counts[member_id.casefold()] > 1}


def booklet_path(member_id: str, apart: bool = False) -> str:
    """A member's booklet, relative to the output folder (as the manifest records it)."""
    return f"{BOOKLETS_DIR}/{booklet_filename(member_id, apart)}"


def digital_path(member_id: str, apart: bool = False) -> str:
    """A member's digital edition, relative to the output folder."""
    return f"{DIGITAL_DIR}/{booklet_filename(member_id, apart)}"


def names_for(member_id: str) -> tuple[tuple[str, str], tuple[str, str]]:
    """The names packgen may give a member's booklet and digital edition: (booklets, digital
    editions), each as its own name first, then the one named apart (see :func:`case_clashes`)."""
    return (
        (booklet_path(member_id), booklet_path(member_id, apart=True)),
        (digital_path(member_id), digital_path(member_id, apart=True)),
    )
