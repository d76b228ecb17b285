"""The workspace config (``packgen.yaml``): schema, defaults, loading with located errors.

Without a ``packgen.yaml`` the built-in default (``default_config.yaml`` next to this module)
serves; it is a complete, commented example and ``packgen init`` writes it out as is.
"""

from __future__ import annotations

import datetime as dt
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

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


class DeliveryRound(_Model):
    date: dt.date
    title: str = ""
    routes: list[str] = Field(default_factory=list)  #: empty: every route


class PlanConfig(_Model):
    label: str
    label_en: str = ""
    summary: str
    materials: list[str] = Field(default_factory=list)
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

    @model_validator(mode="after")
    def _all_plans(self) -> Config:
        missing = [key for key in PLAN_KEYS if key not in self.plans]
        if missing:
            raise ValueError(f"plans: missing {', '.join(missing)}; every plan needs its section")
        return self

    def resolve(self, relative: str) -> Path:
        return (self.workspace / relative).resolve()


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
        raise ConfigError(f"{source}:{where} not valid YAML: {problem}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the config must be a mapping of settings (organization:, plans: …)")
    try:
        return Config.model_validate({**data, "workspace": workspace, "source": source})
    except ValidationError as exc:
        lines = [f"{source}: {exc.error_count()} problem(s) in the config:"]
        for error in exc.errors():
            loc = [part for part in error["loc"] if part not in ("workspace", "source")]
            key = ".".join(str(part) for part in loc) or "(top level)"
            line = _line_of(node, loc)
            where = f"line {line}: " if line else ""
            lines.append(f"  - {where}Config value '{key}': {_message(error)}")
        raise ConfigError("\n".join(lines)) from None


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
