"""Where things go in an output folder, and the one safe file name a member's booklet gets."""

from __future__ import annotations

import hashlib
import re
import unicodedata

BOOKLETS_DIR = "booklets"
PRINT_DIR = "print"
DELIVERY_DIR = "delivery"
DIGITAL_DIR = "digital"  #: the tagged digital editions, to read on a phone


#: names Windows keeps for devices, whatever follows a dot (``NUL.txt`` is NUL too)
_WINDOWS_DEVICES = {"CON", "PRN", "AUX", "NUL", *(f"{port}{n}" for port in ("COM", "LPT") for n in range(10))}


def booklet_filename(member_id: str) -> str:
    """A safe file name for a member id: never a path, never hidden, distinct for distinct ids, and
    one Windows can open too (no reserved characters, no device name such as ``CON`` or ``NUL.txt``).
    An ordinary id (``QS0001``) is its own name."""
    text = unicodedata.normalize("NFKC", member_id)
    safe = re.sub(r"[^\w.-]", "_", text, flags=re.UNICODE).lstrip(".") or "member"
    safe = safe[:80]
    if safe.split(".")[0].upper() in _WINDOWS_DEVICES:
        safe = "_" + safe
    if safe != member_id:
        safe += "-" + hashlib.sha256(member_id.encode("utf-8")).hexdigest()[:8]
    return safe + ".pdf"


def booklet_path(member_id: str) -> str:
    """A member's booklet, relative to the output folder (as the manifest records it)."""
    return f"{BOOKLETS_DIR}/{booklet_filename(member_id)}"


def digital_path(member_id: str) -> str:
    """A member's digital edition, relative to the output folder."""
    return f"{DIGITAL_DIR}/{booklet_filename(member_id)}"
