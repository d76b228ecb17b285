"""The ``packgen`` command line: parse options, call the library, format the result.

One module per group of commands (``roster``: validate, plan, preview; ``builds``: build, merge;
``serve``: the live preview in a browser; ``workspace``: init, doctor), each registering on the one
:data:`app`.
"""

from packgen.cli import builds, roster, serve, workspace
from packgen.cli.app import app, main

__all__ = ["app", "builds", "main", "roster", "serve", "workspace"]
