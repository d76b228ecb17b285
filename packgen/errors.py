"""One error hierarchy, each with a message meant for the person running packgen."""

from __future__ import annotations


class PackgenError(Exception):
    """Base for every error packgen reports to a user. ``str(err)`` is the user-facing message."""

    exit_code = 2


class ConfigError(PackgenError):
    """The config file (or a template override) is wrong: nothing can be built."""


class InputError(PackgenError):
    """A profiles file cannot be read at all (missing, binary, wrong format, too large)."""


class OutputError(PackgenError):
    """The output folder cannot be written (disk full, read-only): the build stops, nothing half-written."""


class UsageError(PackgenError):
    """The command line asks for something that does not make sense."""


class RenderError(PackgenError):
    """One member's booklet could not be rendered; the batch goes on without it."""

    exit_code = 1
