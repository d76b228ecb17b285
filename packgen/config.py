"""The workspace config (``packgen.yaml``): schema, defaults, loading with located errors.

Without a ``packgen.yaml`` the built-in default (``default_config.yaml`` next to this module)
serves; it is a complete, commented example and ``packgen init`` writes it out as is.
"""

from __future__ import annotations

import ast
import datetime as dt
import re
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from packgen.errors import ConfigError

PLAN_KEYS = ("self_study", "online", "delivered")
PlanKey = Literal["self_study", "online", "delivered"]
CONFIG_NAME = "packgen.yaml"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Contact(_Model):
    name: str
    role: str = ""
    phone: str = ""
    wechat: str = ""


class Organization(_Model):
    name: str
    campaign: str
    branch_secretaries: dict[str, Contact] = Field(default_factory=dict)
    contacts: list[Contact] = Field(default_factory=list)


class Training(_Model):
    start: dt.date
    end: dt.date
    report_by: dt.date | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Training:
        if self.end < self.start:
            raise ValueError(f"end ({self.end}) is before start ({self.start})")
        return self


class Page(_Model):
    size: Literal["A5", "A4", "B5"] = "A5"
    language: Literal["zh", "en"] = "zh"
    bleed: str = "0mm"
    crop_marks: bool = False

    @field_validator("bleed", mode="before")
    @classmethod
    def _length(cls, value: Any) -> str:
        """A CSS length for the print shop's bleed: ``3mm``; ``3 mm`` is taken as ``3mm``."""
        text = re.sub(r"\s+", "", str(value)).lower()
        if re.fullmatch(r"0|\d+(\.\d+)?(mm|cm|in|pt|pc|px|q)", text):
            return text
        raise ValueError(f"{value!r} is not a length; write it with its unit, e.g. 3mm (0mm for none)")


class Link(_Model):
    title: str
    url: str

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("a link must start with https:// or http://")
        return value


class Session(_Model):
    date: dt.date
    time: str = ""
    title: str
    link: str = ""

    @field_validator("time", mode="before")
    @classmethod
    def _quoted(cls, value: Any) -> Any:
        if isinstance(value, int):  # YAML 1.1 reads 20:00 as 20 * 60 + 0
            raise ValueError(
                f'write the time in quotes, e.g. "20:00" (YAML reads 20:00 as the number {value})'
            )
        return value

    @field_validator("link")
    @classmethod
    def _http(cls, value: str) -> str:
        if value and not value.startswith(("https://", "http://")):
            raise ValueError("a link must start with https:// or http://")
        return value


class DeliveryRound(_Model):
    date: dt.date
    title: str = ""
    routes: list[str] = Field(default_factory=list)  #: empty: every route


class MaterialRef(_Model):
    """A material with a title of its own, e.g. ``{file: courseware/safety.pdf, title: 安全生产课件}``."""

    file: str
    title: str = ""


class PlanConfig(_Model):
    label: str
    label_en: str = ""
    summary: str
    #: Markdown chapters (``.md``) and PDF courseware (``.pdf``), by path or as ``{file:, title:}``
    materials: list[str | MaterialRef] = Field(default_factory=list)
    links: list[Link] = Field(default_factory=list)
    sessions: list[Session] = Field(default_factory=list)
    rounds: list[DeliveryRound] = Field(default_factory=list)
    report_back: str = ""
    contacts: list[Contact] = Field(default_factory=list)
    chat_group: str = ""


class Rule(_Model):
    name: str
    when: str
    plan: PlanKey
    reason: str


class Config(_Model):
    organization: Organization
    training: Training
    page: Page = Page()
    profiles: list[str] = Field(default_factory=lambda: ["profiles"])
    output: str = "output"
    columns: dict[str, str] = Field(default_factory=dict)
    plans: dict[PlanKey, PlanConfig]
    rules: list[Rule] = Field(default_factory=list)
    default_plan: PlanKey = "self_study"
    default_reason: str = "没有规则匹配，按默认方式安排"
    templates: str = "templates"
    allowed_hosts: list[str] = Field(default_factory=list)

    #: where the config came from; relative paths in it are relative to this folder
    workspace: Path = Field(default=Path("."), exclude=True)
    source: str = Field(default="(built-in default config)", exclude=True)
    #: (key, key, index …) -> 1-based line in the YAML, so later checks can say where
    _lines: dict[tuple[str | int, ...], int] = PrivateAttr(default_factory=dict)

    @field_validator("rules", "columns", "allowed_hosts", mode="before")
    @classmethod
    def _empty(cls, value: Any, info: Any) -> Any:
        """``rules:`` with every rule commented out is no rules, not an error."""
        return ({} if info.field_name == "columns" else []) if value is None else value

    @field_validator("plans")
    @classmethod
    def _all_plans(cls, plans: dict[PlanKey, PlanConfig]) -> dict[PlanKey, PlanConfig]:
        missing = [key for key in PLAN_KEYS if key not in plans]
        if missing:
            raise ValueError(f"missing {', '.join(missing)}; every plan needs its section")
        return plans

    def resolve(self, relative: str) -> Path:
        return (self.workspace / relative).resolve()

    def line(self, *loc: str | int) -> int | None:
        """The YAML line of the setting at ``loc`` (or of its nearest enclosing setting)."""
        for end in range(len(loc), -1, -1):
            found = self._lines.get(tuple(loc[:end]))
            if found is not None:
                return found
        return None

    def where(self, *loc: str | int) -> str:
        """``source: line N`` for the setting at ``loc``, to start a located error message."""
        line = self.line(*loc)
        return f"{self.source}: line {line}" if line else self.source


def default_config_text() -> str:
    return resources.files("packgen").joinpath("default_config.yaml").read_text(encoding="utf-8")


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
        problems += _raw_rule_problems(data.get("rules"))
        raise ConfigError(_report(source, node, problems)) from None
    config._lines = _all_lines(node)
    problems = check_config(config)
    if problems:
        raise ConfigError(_report(source, node, problems))
    return config


Located = tuple[list[Any], str]  #: (key path in the config, what is wrong and what to do)


def check_config(config: Config) -> list[Located]:
    """Problems a schema cannot see: duplicate rule names, rules that cannot work, materials on disk."""
    from packgen.plans import check_materials
    from packgen.rules import check_rules

    problems: list[Located] = []
    if config.templates != "templates" and not config.resolve(config.templates).is_dir():
        problems.append(
            (
                ["templates"],
                f"folder {config.resolve(config.templates)} does not exist; create it or fix the path",
            )
        )
    names = [rule.name for rule in config.rules]
    for index, name in enumerate(names):
        if name in names[:index]:
            problems.append(
                (["rules", index, "name"], f"two rules are named '{name}'; give each its own name")
            )
    problems += check_rules(config)
    problems += check_materials(config)
    problems += _column_problems(config)
    return problems


def _column_problems(config: Config) -> list[Located]:
    """``columns:`` entries that look like a misspelt field (``联系电话: telephone``).

    A header mapped to a name that is no field is kept for rules under that name; when no rule uses
    it and it is close to a field, or the header itself names one, it is a mistake that would
    silently leave that field empty for every member.
    """
    import difflib

    from packgen.members import ALIASES_BY_KEY, FIELDS, header_key
    from packgen.rules import parse_condition

    used: set[str] = set()
    for rule in config.rules:
        tree, _ = parse_condition(rule.when)
        used |= {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)} if tree else set()
    problems: list[Located] = []
    for header, name in config.columns.items():
        if name in FIELDS or name in used:
            continue
        close = difflib.get_close_matches(name.lower(), FIELDS, n=1, cutoff=0.6)
        meant = close[0] if close else ALIASES_BY_KEY.get(header_key(header))
        if meant:
            problems.append(
                (
                    ["columns", header],
                    f"'{name}' is not a field and no rule uses it; did you mean {meant}? "
                    f"(fields: {', '.join(FIELDS)})",
                )
            )
    return problems


def _raw_rule_problems(rules: Any) -> list[Located]:
    """Rule conditions checked even when other settings are wrong, so one run reports everything."""
    from packgen.rules import check_conditions

    if not isinstance(rules, list):
        return []
    return check_conditions([(r.get("name"), r.get("when")) for r in rules if isinstance(r, dict)])


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
