"""What a plan puts in a member's booklet: materials, a schedule, links, delivery rounds, contacts.

:func:`booklet_content` gathers it all for one (member, assignment) as plain data that the
templates and the terminal preview both read, so what ``preview`` shows is what gets printed.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import markdown

from packgen.assets import builtin_templates_dir
from packgen.config import Config, Contact, Link, PlanConfig
from packgen.errors import ConfigError
from packgen.members import Member
from packgen.rules import Assignment


@dataclass(frozen=True)
class Material:
    """One study chapter (Markdown rendered to HTML) or a PDF courseware file included as is."""

    title: str
    path: Path
    kind: str  #: "markdown" or "pdf"
    html: str = ""
    anchor: str = ""


@dataclass(frozen=True)
class ScheduleRow:
    when: str
    what: str
    detail: str = ""


@dataclass
class BookletContent:
    member: Member
    assignment: Assignment
    plan: PlanConfig
    materials: list[Material]
    schedule: list[ScheduleRow]
    links: list[Link]
    contacts: list[Contact]
    age: int | None
    problems: list[str] = field(default_factory=list)  #: coverage gaps, e.g. no address to deliver to


def resolve_material(config: Config, entry: str) -> Path:
    """A material path: the workspace first, then the built-in templates folder."""
    candidate = config.resolve(entry)
    if candidate.is_file():
        return candidate
    builtin = builtin_templates_dir() / entry
    if builtin.is_file():
        return builtin
    raise ConfigError(
        f"{config.source}: material '{entry}' not found (looked in {config.workspace} and the built-in "
        "templates); check the path under plans: … materials:"
    )


def load_materials(config: Config, plan: PlanConfig) -> list[Material]:
    return [_load_material(resolve_material(config, entry)) for entry in plan.materials]


@functools.lru_cache(maxsize=64)
def _load_material(path: Path) -> Material:
    anchor = "m-" + hashlib.sha1(str(path).encode()).hexdigest()[:10]
    if path.suffix.lower() == ".pdf":
        return Material(title=path.stem, path=path, kind="pdf", anchor=anchor)
    text = path.read_text(encoding="utf-8-sig")
    title = next((line[2:].strip() for line in text.splitlines() if line.startswith("# ")), path.stem)
    body = markdown.markdown(text, extensions=["tables", "sane_lists"], output_format="html")
    return Material(title=title, path=path, kind="markdown", html=body, anchor=anchor)


def schedule_for(
    config: Config, key: str, plan: PlanConfig, member: Member, materials: list[Material]
) -> list[ScheduleRow]:
    if key == "online":
        return [
            ScheduleRow(_date(s.date, config) + (f" {s.time}" if s.time else ""), s.title, s.link)
            for s in plan.sessions
        ]
    if key == "delivered":
        return [
            ScheduleRow(_date(r.date, config), r.title or "送学上门", member.route or member.branch)
            for r in plan.rounds
            if not r.routes or member.route in r.routes or member.branch in r.routes
        ]
    return weekly_schedule(config, materials)


def weekly_schedule(config: Config, materials: list[Material]) -> list[ScheduleRow]:
    """Spread the chapters over the weeks of the training period, one row per week."""
    start, end = config.training.start, config.training.end
    weeks = max(1, ((end - start).days + 1 + 6) // 7)
    chapters = [m.title for m in materials] or ["自选学习内容"]
    rows = []
    for week in range(weeks):
        first = start + dt.timedelta(days=7 * week)
        last = min(end, first + dt.timedelta(days=6))
        index = week * len(chapters) // weeks
        previous = (week - 1) * len(chapters) // weeks if week else -1
        what = chapters[index] if index != previous else f"复习：{chapters[index]}"
        label = f"第{week + 1}周" if config.page.language == "zh" else f"Week {week + 1}"
        rows.append(ScheduleRow(f"{label} {_date(first, config)}–{_date(last, config)}", what))
    return rows


def _date(day: dt.date, config: Config) -> str:
    if config.page.language == "zh":
        return f"{day.month}月{day.day}日"
    return day.strftime("%b %d")


def booklet_content(config: Config, member: Member, assignment: Assignment) -> BookletContent:
    plan = config.plans[assignment.plan]
    materials = load_materials(config, plan)
    contacts = list(plan.contacts) + list(config.organization.contacts)
    secretary = config.organization.branch_secretaries.get(member.branch)
    if secretary is not None:
        contacts.insert(0, secretary)
    content = BookletContent(
        member=member,
        assignment=assignment,
        plan=plan,
        materials=materials,
        schedule=schedule_for(config, assignment.plan, plan, member, materials),
        links=list(plan.links),
        contacts=contacts,
        age=member.age(config.training.start),
    )
    content.problems.extend(coverage_gaps(assignment.plan, plan, member))
    return content


def coverage_gaps(key: str, plan: PlanConfig, member: Member) -> list[str]:
    """Why a member cannot be served by their plan as configured (empty when they can)."""
    gaps = []
    if key == "delivered" and not member.address:
        gaps.append("送学上门但没有邮寄地址 (delivered, but no address)")
    if key == "online" and not plan.links:
        gaps.append("线上联学但方案没有配置任何链接 (online, but the plan has no links)")
    if key == "delivered" and not any(
        not r.routes or member.route in r.routes or member.branch in r.routes for r in plan.rounds
    ):
        gaps.append("送学上门但没有覆盖其路线的送学轮次 (no delivery round covers the route)")
    return gaps
