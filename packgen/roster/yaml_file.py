"""YAML profiles: a list of members, or ``members:`` holding one; plain values read as text, and
no tags, aliases or repeated keys."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from packgen.errors import InputError
from packgen.roster import limits
from packgen.roster.csv_file import decode
from packgen.roster.table import Row, Table, check_header, is_blank


class _SafeLoader(yaml.SafeLoader):
    """SafeLoader that reads every plain scalar as text and refuses aliases.

    Text, because YAML 1.1 would turn ``id: 0012`` into the number 10 and ``birth: 1975.10`` into
    1975.1 (January); the member stage parses each field itself. No aliases, so a "billion
    laughs" document cannot blow up memory.
    """

    yaml_implicit_resolvers: dict[Any, Any] = {}

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.constructor.ConstructorError(
                None, None, "aliases (*name) are not allowed in profiles", event.start_mark
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        """A mapping, refused when it gives one key twice: YAML would silently keep the last."""
        seen: set[Any] = set()
        for key, _ in node.value:
            if key.value in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"'{key.value}' is given twice; only the last would count, so keep one",
                    key.start_mark,
                )  # fmt: skip
            seen.add(key.value)
        return super().construct_mapping(node, deep=deep)

    def construct_undefined(self, node: Any) -> Any:
        raise yaml.constructor.ConstructorError(
            None,
            None,
            f"the tag {node.tag.replace('tag:yaml.org,2002:', '!!')} is not allowed in profiles; "
            "write plain values",
            node.start_mark,
        )


_SafeLoader.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
)
_SafeLoader.add_constructor(None, _SafeLoader.construct_undefined)


def read_yaml(path: Path, encoding: str | None, _sheet: str | None) -> Table:
    text = decode(path, path.read_bytes(), encoding, "YAML text")
    try:
        data = yaml.load(text, Loader=_SafeLoader)  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: not valid YAML: {_yaml_problem(exc)}") from None
    except RecursionError:
        raise InputError(
            f"{path}: nested far too deeply to be a roster; check that this is the right file"
        ) from None
    if isinstance(data, dict) and "members" in data:
        data = data["members"]
    if data is None or data == []:
        raise InputError(
            f"{path}: the file holds no members; write a list of members, or 'members:' holding one"
        )
    if not isinstance(data, list):
        raise InputError(f"{path}: expected a list of members, or 'members:' holding one")
    for index, item in enumerate(data, start=1):
        if item is not None and not isinstance(item, dict):
            raise InputError(
                f"{path}: item {index} is not a member: {str(item)[:40]!r}; write each member as "
                "fields, e.g. - {id: A1, name: 张三}"
            )
    data = [item or {} for item in data]  # an empty item is skipped like a blank row
    headers: list[str] = []
    for index, item in enumerate(data, start=1):
        for key in item:
            check_header(path, f"item {index}", str(key))
            if str(key) not in headers:
                headers.append(str(key))
    table = Table(path=path, headers=headers, row_word="item")
    for index, item in enumerate(data, start=1):
        if index > limits.MAX_ROWS:
            raise InputError(
                f"{path}: more than {limits.MAX_ROWS} members, more than any roster; check that this is the right file"
            )
        cells = {str(k): v for k, v in item.items()}
        if all(is_blank(v) for v in cells.values()):
            continue
        table.rows.append(Row(number=index, cells=cells))
    return table


def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if mark is not None:
        return f"{problem} (line {mark.line + 1}, column {mark.column + 1})"
    return str(problem)
