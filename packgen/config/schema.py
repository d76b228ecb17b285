"""The workspace config (``packgen.yaml``): what each setting may hold.

:mod:`packgen.config.load` reads the YAML into these models and reports every problem with its
line; :mod:`packgen.config.checks` finds what a schema cannot see (rules, materials, columns).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)

from packgen.assets import builtin_templates_dir
from packgen.errors import ConfigError
from packgen.roster.members import PLAN_KEYS, PlanKey
from packgen.roster.settings import RosterSettings
from packgen.roster.values import CHOICES, UnknownWord, choice_keys, normalisers

__all__ = ["PLAN_KEYS", "PlanKey"]  # the plan vocabulary is the roster's (its 指定学习方式 column)

CONFIG_NAME = "packgen.yaml"
Located = tuple[list[Any], str]  #: (key path in the config, what is wrong and what to do)


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
    #: where the members are registered (江苏省盐城市大丰区), to work out a member's mobility class
    home: str = ""
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


#: points per unit of a CSS length
_POINTS = {"mm": 72 / 25.4, "cm": 720 / 25.4, "q": 18 / 25.4, "in": 72.0, "pt": 1.0, "pc": 12.0, "px": 0.75}


class Page(_Model):
    size: Literal["A5", "A4", "B5"] = "A5"
    language: Literal["zh", "en"] = "zh"
    bleed: str = "0mm"
    crop_marks: bool = False
    #: PDF/X markers on booklets and print runs for a print shop that asks for them
    pdf_variant: Literal["none", "pdf/x-1a", "pdf/x-4"] = "none"
    #: the ICC profile of the print shop's printing condition (PDF/X's output intent)
    output_profile: str = ""

    @field_validator("bleed", mode="before")
    @classmethod
    def _length(cls, value: Any) -> str:
        """A CSS length for the print shop's bleed: ``3mm``; ``3 mm`` is taken as ``3mm``."""
        text = re.sub(r"\s+", "", str(value)).lower()
        if re.fullmatch(r"0|\d+(\.\d+)?(mm|cm|in|pt|pc|px|q)", text):
            return text
        raise ValueError(f"{value!r} is not a length; write it with its unit, e.g. 3mm (0mm for none)")

    @property
    def bleed_pt(self) -> float:
        """The bleed in points."""
        number = re.match(r"[\d.]+", self.bleed)
        unit = self.bleed[number.end() :] if number else ""
        return float(number[0]) * _POINTS.get(unit, 0.0) if number else 0.0


class Imposition(_Model):
    """An imposed copy of each print run for an office duplex printer (``packgen build --impose``)."""

    kind: Literal["none", "saddle"] = "none"
    flip: Literal["short_edge", "long_edge"] = "short_edge"  #: how the printer turns the sheet over
    sheet: Literal["auto", "A4", "A3", "B4", "SRA3"] = "auto"  #: auto: twice the page size
    fold_marks: bool = True
    crop_marks: bool = False  #: only where the sheet leaves room around the pages


class LargePrintRule(_Model):
    """When a member gets the large-print edition (大字版), and why."""

    name: str
    when: str
    reason: str


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


def material_file(entry: str | MaterialRef) -> str:
    """The file of a plan's material, given as a path or as ``{file:, title:}``."""
    return entry.file if isinstance(entry, MaterialRef) else entry


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


#: a host name: labels of letters, digits and hyphens, joined by dots
_HOST = re.compile(r"(?!-)[^\W_](?:[^\W_]|-){0,62}(?:\.(?!-)[^\W_](?:[^\W_]|-){0,62})*")


def _host(value: str) -> str:
    """An ``allowed_hosts`` entry: a host name or an IP address, as a booklet's URLs give it."""
    text = value.strip().lower().removesuffix(".")
    try:
        return str(ipaddress.ip_address(text.strip("[]")))
    except ValueError:
        pass
    if _HOST.fullmatch(text) and len(text) <= 253:
        return text
    host = urlsplit(text if "://" in text else f"//{text}").hostname if "*" not in text else None
    if host and _HOST.fullmatch(host):
        raise ValueError(f"'{value}' is not a host name; write the host alone: {host}")
    raise ValueError(
        f"'{value}' is not a host name; list each host a booklet may load from by its name, e.g. "
        "static.example.org (no wildcards)"
    )


#: folders no build may write into (nor anything inside them)
_SYSTEM_FOLDERS = (
    "/bin",
    "/boot",
    "/dev",
    "/etc",
    "/lib",
    "/lib64",
    "/proc",
    "/run",
    "/sbin",
    "/sys",
    "/usr",
)


def output_problem(output: Path, workspace: Path) -> str | None:
    """Why a build may not write into ``output``: it holds the workspace (``/``, the home folder, the
    workspace itself or a folder above it) or is a system folder. A build deletes in its output
    folder what it no longer makes; it must have a folder of its own."""
    out, home = output.resolve(), workspace.resolve()
    if home.is_relative_to(out):
        what = "the workspace" if out == home else f"the workspace {home}"
        return f"{out} holds {what}; give the booklets a folder of their own, e.g. output"
    if out == Path(out.anchor) or out == Path.home() or any(out.is_relative_to(s) for s in _SYSTEM_FOLDERS):
        return f"{out} is a system folder; give the booklets a folder of their own, e.g. output"
    return None


class Config(_Model):
    organization: Organization
    training: Training
    page: Page = Page()
    profiles: list[str] = Field(default_factory=lambda: ["profiles"])
    output: str = "output"
    columns: dict[str, str] = Field(default_factory=dict)
    #: field -> the organizer's own word -> the field's value (北漂: out_of_province)
    values: dict[str, dict[str, Any]] = Field(default_factory=dict)
    plans: dict[PlanKey, PlanConfig]
    rules: list[Rule] = Field(default_factory=list)
    default_plan: PlanKey = "self_study"
    default_reason: str = "没有规则匹配，按默认方式安排"
    templates: str = "templates"
    allowed_hosts: list[Annotated[str, AfterValidator(_host)]] = Field(default_factory=list)
    imposition: Imposition = Imposition()
    #: any rule that holds gives the member the large-print edition (as does 大字版 = 是)
    large_print: list[LargePrintRule] = Field(default_factory=list)
    #: members on these plans also get a tagged digital edition (output/digital/ID.pdf)
    digital: list[PlanKey] = Field(default_factory=lambda: list[PlanKey](["online"]))

    #: where the config came from; relative paths in it are relative to this folder
    workspace: Path = Field(default=Path("."), exclude=True)
    source: str = Field(default="(built-in default config)", exclude=True)
    #: (key, key, index …) -> 1-based line in the YAML, so later checks can say where
    _lines: dict[tuple[str | int, ...], int] = PrivateAttr(default_factory=dict)

    @field_validator("rules", "columns", "allowed_hosts", "values", "large_print", "digital", mode="before")
    @classmethod
    def _empty(cls, value: Any, info: Any) -> Any:
        """``rules:`` with every rule commented out is no rules, not an error."""
        return ({} if info.field_name in ("columns", "values") else []) if value is None else value

    @field_validator("values")
    @classmethod
    def _words(cls, values: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """Each word's value, as a key (省外 -> out_of_province, 是 -> True); a field that has no
        words of its own, or a value the field never holds, is an error naming what it may be."""
        read = normalisers()
        checked: dict[str, dict[str, Any]] = {}
        for fld, words in values.items():
            if fld not in CHOICES:
                raise ValueError(
                    f"'{fld}' has no words of its own; values: maps words for {', '.join(CHOICES)}"
                )
            if not isinstance(words, dict):
                raise ValueError(f"{fld}: expected words under it, e.g. 北漂: {choice_keys(fld)[0]}")
            checked[fld] = {}
            for word, value in (words or {}).items():
                try:
                    key = read[fld](str(value).lower() if isinstance(value, bool) else value)
                except UnknownWord:
                    key = None
                if key is None or key == "":
                    raise ValueError(
                        f"{fld}: '{word}' is mapped to {value!r}, which {fld} never is; use one of "
                        f"{', '.join(choice_keys(fld))}"
                    )
                checked[fld][str(word)] = key
        return checked

    @field_validator("plans")
    @classmethod
    def _all_plans(cls, plans: dict[PlanKey, PlanConfig]) -> dict[PlanKey, PlanConfig]:
        missing = [key for key in PLAN_KEYS if key not in plans]
        if missing:
            raise ValueError(f"missing {', '.join(missing)}; every plan needs its section")
        return plans

    def roster_settings(self) -> RosterSettings:
        """What the roster stage needs of this config."""
        return RosterSettings(columns=self.columns, values=self.values, home=self.organization.home)

    def resolve(self, relative: str) -> Path:
        return (self.workspace / relative).resolve()

    def readable(self) -> list[Path]:
        """The folders packgen reads materials, images and templates from: the workspace, its
        templates folder and the built-in templates (resolved, symlinks and all)."""
        return [self.workspace.resolve(), self.resolve(self.templates), builtin_templates_dir().resolve()]

    def outside(self, path: Path) -> str | None:
        """Why ``path`` (symlinks resolved) may not be read, or None when it is inside :meth:`readable`."""
        real = path.resolve()
        if any(real.is_relative_to(folder) for folder in self.readable()):
            return None
        return (
            f"{real}, outside the workspace; packgen reads materials only from the workspace "
            f"({self.workspace}), its {self.templates}/ folder and the built-in templates: copy the file "
            "into the workspace"
        )

    def resolve_material(self, entry: str) -> Path:
        """A material path: the workspace first, then its templates folder, then the built-in templates;
        found elsewhere (``../``, an absolute path, a symlink out) it is a config error."""
        for candidate in (
            self.resolve(entry),
            self.resolve(self.templates) / entry,
            builtin_templates_dir() / entry,
        ):
            if candidate.is_file():
                problem = self.outside(candidate)
                if problem:
                    raise ConfigError(f"{self.source}: material '{entry}' is {problem}")
                return candidate.resolve()
        raise ConfigError(
            f"{self.source}: material '{entry}' not found (looked in {self.workspace}, its "
            f"{self.templates}/ folder and the built-in templates); check the path under plans: … materials:"
        )

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
