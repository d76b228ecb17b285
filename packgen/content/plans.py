"""What a plan puts in a member's booklet: materials, a schedule, links, delivery rounds, contacts.

:func:`booklet_content` gathers it all for one (member, assignment) as plain data that the
templates and the terminal preview both read, so what ``preview`` shows is what gets printed.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from packgen.config.schema import Config, Contact, DeliveryRound, Link, MaterialRef, PlanConfig, material_file
from packgen.errors import UsageError
from packgen.materials import Material, load_material
from packgen.processes import paused_gc
from packgen.roster.members import PLANS, Member, Problem
from packgen.rules.ruleset import Assignment


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


def load_materials(config: Config, plan: PlanConfig) -> list[Material]:
    return [
        load_material(
            config.resolve_material(material_file(entry)),
            entry.title if isinstance(entry, MaterialRef) else "",
        )
        for entry in plan.materials
    ]


def schedule_for(
    config: Config, key: str, plan: PlanConfig, member: Member, materials: list[Material]
) -> list[ScheduleRow]:
    """Session dates for online, the delivery rounds that visit the member's route, else weekly chapters.

    An online plan without sessions falls back to the weekly chapters, so nobody gets an empty schedule.
    """
    if key == "online" and plan.sessions:
        return [
            ScheduleRow(_date(s.date, config) + (f" {s.time}" if s.time else ""), s.title, s.link)
            for s in sorted(plan.sessions, key=lambda s: (s.date, s.time))
        ]
    if key == "delivered":
        return [
            ScheduleRow(_date(r.date, config), r.title or "送学上门", member.route or member.branch)
            for r in sorted(plan.rounds, key=lambda r: r.date)
            if visits(r, member)
        ]
    return weekly_schedule(config, materials)


def visits(delivery: DeliveryRound, member: Member) -> bool:
    """Whether a delivery round goes to the member: it lists no routes, or their route or branch."""
    return not delivery.routes or member.route in delivery.routes or member.branch in delivery.routes


def weekly_schedule(config: Config, materials: list[Material]) -> list[ScheduleRow]:
    """Spread the chapters over the weeks of the training period, in order, one row per week.

    With more chapters than weeks a week carries several; with fewer, the weeks between two
    chapters are for reviewing the last one, so every chapter appears and none is skipped.
    """
    start, end = config.training.start, config.training.end
    weeks = max(1, ((end - start).days + 1 + 6) // 7)
    chapters = [m.title for m in materials] or [
        "自选学习内容" if config.page.language == "zh" else "Free study"
    ]
    review = "复习：" if config.page.language == "zh" else "Review: "
    rows = []
    for week in range(weeks):
        first = start + dt.timedelta(days=7 * week)
        last = min(end, first + dt.timedelta(days=6))
        due = [title for i, title in enumerate(chapters) if i * weeks // len(chapters) == week]
        if due:
            what = "；".join(due)
        else:
            studied = [title for i, title in enumerate(chapters) if i * weeks // len(chapters) < week]
            what = review + studied[-1]
        label = f"第{week + 1}周" if config.page.language == "zh" else f"Week {week + 1}"
        rows.append(ScheduleRow(f"{label} {_date(first, config)}–{_date(last, config)}", what))
    return rows


def _date(day: dt.date, config: Config) -> str:
    return format_date(day, config.page.language)


def format_date(day: dt.date, language: str, *, year: bool = False) -> str:
    """A date as the booklet prints it: 12月7日 / 2026年12月7日, Dec 7 / 7 December 2026."""
    if language == "zh":
        return f"{day.year}年{day.month}月{day.day}日" if year else f"{day.month}月{day.day}日"
    return f"{day.day} {day:%B} {day.year}" if year else f"{day:%b} {day.day}"


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


NO_ADDRESS = "送学上门但没有邮寄地址 (delivered, but no address)"


def gaps_of(config: Config) -> Callable[[str, Member], tuple[str, ...]]:
    """:func:`coverage_gaps` for many members: what they depend on (the plan, whether there is an
    address, the route and branch) is the same for most members, and is looked at once."""
    known: dict[tuple[str, bool, str, str], tuple[str, ...]] = {}

    def gaps(key: str, member: Member) -> tuple[str, ...]:
        what = (key, bool(member.address), member.route, member.branch)
        if what not in known:
            known[what] = tuple(coverage_gaps(key, config.plans[key], member))  # type: ignore[index]
        return known[what]

    return gaps


def coverage_gaps(key: str, plan: PlanConfig, member: Member) -> list[str]:
    """Why a member cannot be served by their plan as configured (empty when they can)."""
    gaps = []
    if not plan.materials:
        gaps.append("方案没有配置学习材料 (the plan has no materials)")
    if key == "delivered" and not member.address:
        gaps.append(NO_ADDRESS)
    if key == "online" and not plan.links:
        gaps.append("线上联学但方案没有配置任何链接 (online, but the plan has no links)")
    if key == "delivered" and not any(visits(r, member) for r in plan.rounds):
        gaps.append("送学上门但没有覆盖其路线的送学轮次 (no delivery round covers the route)")
    return gaps


def coverage_problems(config: Config, assigned: Iterable[tuple[Member, Assignment]]) -> list[Problem]:
    """A warning for each member their plan cannot serve as configured (no address to deliver to …),
    for ``validate`` and ``build``; ``plan`` lists them under 未能覆盖 · not covered."""
    problems = []
    gaps = gaps_of(config)
    with paused_gc():  # one pass over every member: see paused_gc
        for member, assignment in assigned:
            for gap in gaps(assignment.plan, member):
                if assignment.source == "override" and gap == NO_ADDRESS:
                    continue  # the member's row already says so (its 指定学习方式 asks for 送学上门)
                label = config.plans[assignment.plan].label
                message = f"{member.id} {member.name} ({label}): not covered: {gap}"
                problems.append(Problem(member.source, None, None, message, severity="warning"))
    return problems


@dataclass(frozen=True)
class PlanRow:
    member: Member
    assignment: Assignment
    gaps: tuple[str, ...]


@dataclass
class PlanReport:
    """Who gets which plan and why, the counts per plan and branch, and who cannot be served."""

    rows: list[PlanRow]
    rule_names: list[str] = field(default_factory=list)  #: in config order
    on: dt.date | None = None  #: the day ages are counted on (the training's start)

    @property
    def by_rule(self) -> dict[str, int]:
        """Members per rule in config order (0 for a rule that matched nobody), then override, default."""
        counts = Counter(
            row.assignment.rule if row.assignment.source == "rule" else row.assignment.source
            for row in self.rows
        )
        return {name: counts[name] for name in [*self.rule_names, "override", "default"]}

    @property
    def by_plan(self) -> Counter[str]:
        return Counter(row.assignment.plan for row in self.rows)

    @property
    def by_edition(self) -> dict[str, int]:
        """Members per edition (standard, large), both always named."""
        counts = Counter(row.assignment.edition for row in self.rows)
        return {"standard": counts["standard"], "large": counts["large"]}

    @property
    def by_branch(self) -> dict[str, Counter[str]]:
        """Branch -> plan -> count, branches in name order."""
        table: dict[str, Counter[str]] = {}
        for row in sorted(self.rows, key=lambda r: r.member.branch):
            table.setdefault(row.member.branch, Counter())[row.assignment.plan] += 1
        return table

    @property
    def not_covered(self) -> list[PlanRow]:
        return [row for row in self.rows if row.gaps]

    def rule_counts(self, config: Config) -> list[tuple[str, str, int]]:
        """(rule, the label of the plan it gives, members it chose) in config order, then the
        override column and the default, as ``plan`` and ``packgen serve`` show them."""
        plan_of = {rule.name: config.plans[rule.plan].label for rule in config.rules}
        plan_of["default"] = config.plans[config.default_plan].label
        names = {"override": "指定 (override column)", "default": "默认 (default_plan)"}
        return [(names.get(name, name), plan_of.get(name, ""), count) for name, count in self.by_rule.items()]

    def as_dict(self) -> dict[str, Any]:
        return {
            "members": [
                {
                    "id": r.member.id, "name": r.member.name, "branch": r.member.branch,
                    "plan": r.assignment.plan, "source": r.assignment.source, "rule": r.assignment.rule,
                    "reason": r.assignment.explanation, "edition": r.assignment.edition,
                    "edition_reason": r.assignment.edition_reason, "gaps": list(r.gaps),
                    **r.member.as_data(self.on or dt.date.today()),
                }
                for r in self.rows
            ],
            "by_plan": dict(sorted(self.by_plan.items())),
            "by_edition": self.by_edition,
            "by_branch": {branch: dict(sorted(c.items())) for branch, c in self.by_branch.items()},
            "by_rule": self.by_rule,
            "not_covered": [
                {"id": r.member.id, "name": r.member.name, "plan": r.assignment.plan, "why": gap}
                for r in self.not_covered
                for gap in r.gaps
            ],
        }  # fmt: skip


def selection(
    config: Config,
    assigned: list[tuple[Member, Assignment]],
    plans: Iterable[str] | None,
    branches: Iterable[str] | None,
) -> tuple[set[str], set[str]]:
    """``--plan`` and ``--branch`` as given to ``plan`` and ``build``: plans by key or label (送学上门
    means delivered), each checked; a branch no member is in is a usage error naming the branches."""
    wanted = {PLANS.get(plan.strip().lower(), plan) for plan in plans or ()}
    unknown = wanted - set(config.plans)
    if unknown:
        raise UsageError(
            f"--plan: unknown plan {', '.join(sorted(unknown))}; use one of {', '.join(config.plans)}"
        )
    named = set(branches or ())
    known = {m.branch for m, _ in assigned}
    if named - known:
        raise UsageError(
            f"--branch: no member of {', '.join(sorted(named - known))} in the profiles; "
            f"branches: {', '.join(sorted(known))}"
        )
    return wanted, named


def plan_report(
    config: Config,
    assigned: list[tuple[Member, Assignment]],
    *,
    plans: Iterable[str] | None = None,
    branches: Iterable[str] | None = None,
) -> PlanReport:
    """The plan table for ``packgen plan``, optionally only some plans and branches."""
    plans, branches = selection(config, assigned, plans, branches)
    gaps = gaps_of(config)
    with paused_gc():  # a row for every member: see paused_gc
        rows = [
            PlanRow(m, a, gaps(a.plan, m))
            for m, a in assigned
            if (not plans or a.plan in plans) and (not branches or m.branch in branches)
        ]
    return PlanReport(rows, [rule.name for rule in config.rules], config.training.start)
