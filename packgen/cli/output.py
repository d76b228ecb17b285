"""Where the command line writes: results on stdout, errors, warnings and progress on stderr."""

from collections.abc import Iterable
from typing import Any

from rich.console import Console

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def problems(found: Iterable[Any]) -> None:
    """Each problem on stderr as ``severity: message``, as plain text written at once: a roster of
    100,000 rows may have tens of thousands of warnings, which rich would take seconds to print."""
    text = "".join(f"{problem.severity}: {problem}\n" for problem in found)
    if text:
        err.file.write(text)
        err.file.flush()
