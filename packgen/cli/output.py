"""Where the command line writes: results on stdout, errors, warnings and progress on stderr."""

from rich.console import Console

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
