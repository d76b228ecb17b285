"""Load ``packgen.yaml`` into a :class:`~packgen.config.schema.Config`, or say every problem with its line.

Without a ``packgen.yaml`` the built-in default (``default_config.yaml`` next to this module)
serves; it is a complete, commented example and ``packgen init`` writes it out as is.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from packgen.config.checks import check_config, raw_rule_problems
from packgen.config.schema import CONFIG_NAME, Config, Located
from packgen.errors import ConfigError


def default_config_text() -> str:
    return resources.files("packgen.config").joinpath("default_config.yaml").read_text(encoding="utf-8")


def load_config(path: Path | None = None, *, workspace: Path | None = None) -> Config:
    """Load ``path``, or ``packgen.yaml`` in ``workspace``, or the built-in default.

    A missing explicit ``path`` is an error; a workspace without ``packgen.yaml`` uses the default.
    """
    workspace = (workspace or Path.cwd()).resolve()
    if path is None:
        candidate = workspace / CONFIG_NAME
        if candidate.exists():
            path = candidate
    if path is None:
        return _parse(default_config_text(), "(built-in default config)", workspace)
    if not path.exists():
        raise ConfigError(f"{path}: config file not found")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the config ({exc})") from None
    return _parse(text, str(path), path.resolve().parent)


def _parse(text: str, source: str, workspace: Path) -> Config:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.load(text, Loader=yaml.SafeLoader)  # noqa: S506 - SafeLoader builds no objects
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        line = text.splitlines()[mark.line] if mark is not None and mark.line < len(text.splitlines()) else ""
        if "found '<scalar>'" in problem and re.search(r":\s*[\"']", line):
            problem += (
                "; a value that starts with a quote must end with it: put the whole value in single "
                """quotes, e.g. when: '"上海" in location'"""
            )
        raise ConfigError(f"{source}:{where} not valid YAML: {problem}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the config must be a mapping of settings (organization:, plans: …)")
    duplicates = _duplicate_keys(node)
    if duplicates:
        raise ConfigError(_report(source, node, duplicates))
    try:
        config = Config.model_validate({**data, "workspace": workspace, "source": source})
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = [part for part in error["loc"] if part not in ("workspace", "source")]
            problems.append((_strip_union_tags(loc), _message(error)))
        problems += raw_rule_problems(data.get("rules")) + raw_rule_problems(
            data.get("large_print"), "large_print"
        )
        raise ConfigError(_report(source, node, problems)) from None
    config._lines = _all_lines(node)
    problems = check_config(config)
    if problems:
        raise ConfigError(_report(source, node, problems))
    return config


def _report(source: str, node: Any, problems: list[Located]) -> str:
    lines = [f"{source}: {len(problems)} problem(s) in the config:"]
    for loc, message in problems:
        key = ".".join(str(part) for part in loc) or "(top level)"
        line = _line_of(node, loc)
        where = f"line {line}: " if line else ""
        lines.append(f"  - {where}Config value '{key}': {message}")
    return "\n".join(lines)


def _duplicate_keys(node: Any, prefix: tuple[str | int, ...] = ()) -> list[Located]:
    """Keys given twice in one mapping: YAML would silently keep only the last one."""
    problems: list[Located] = []
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            name = str(key.value)
            if name in seen:
                again = key.start_mark.line + 1
                problems.append(
                    (
                        [*prefix, name],
                        f"given again on line {again}; only the last would count, so merge them",
                    )
                )
            seen.add(name)
            problems += _duplicate_keys(value, (*prefix, name))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            problems += _duplicate_keys(item, (*prefix, index))
    return problems


def _strip_union_tags(loc: list[Any]) -> list[Any]:
    """Drop pydantic's union member tags (``str``, ``MaterialRef``) from an error location."""
    return [part for part in loc if part not in ("str", "MaterialRef")]


def _all_lines(node: Any, prefix: tuple[str | int, ...] = ()) -> dict[tuple[str | int, ...], int]:
    if node is None:
        return {}
    lines: dict[tuple[str | int, ...], int] = {prefix: node.start_mark.line + 1}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            lines.update(_all_lines(value, (*prefix, str(key.value))))
            lines[(*prefix, str(key.value))] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines.update(_all_lines(item, (*prefix, index)))
    return lines


def _message(error: Any) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown setting; check the spelling against `packgen init`'s packgen.yaml"
    if error["type"] == "missing":
        return "required but missing"
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


def _line_of(node: Any, loc: list[Any]) -> int | None:
    """The 1-based line of the YAML node at ``loc`` (or its deepest existing parent)."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == str(part)), None)
            if match is None:
                key_node = next((k for k, _ in node.value if k.value == str(part)), None)
                return key_node.start_mark.line + 1 if key_node is not None else line
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            break
        line = node.start_mark.line + 1
    return line
