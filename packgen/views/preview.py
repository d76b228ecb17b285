"""What ``packgen plan`` and ``packgen preview`` show, as rich renderables readable in 80 columns.

The data comes from :mod:`packgen.content` (the same content the booklet prints, and which rules
were tried); this module only lays it out.
"""

from __future__ import annotations

from collections.abc import Iterator

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from packgen.config.schema import Config
from packgen.content.plans import PlanReport
from packgen.content.preview import MemberPreview


def show_preview(console: Console, config: Config, view: MemberPreview) -> None:
    for renderable in preview_parts(config, view):
        console.print(renderable, soft_wrap=False)


def preview_parts(config: Config, view: MemberPreview) -> Iterator[RenderableType]:
    content = view.content
    member, assignment, plan = content.member, content.assignment, content.plan
    who = Table.grid(padding=(0, 2))
    who.add_column(style="bold", no_wrap=True)
    who.add_column(overflow="fold")
    for label, value in view.facts():
        who.add_row(label, Text(value))
    yield Panel(who, title=Text(member.name), title_align="left")

    why = Text()
    why.append(f"{plan.label} ({assignment.plan})\n", style="bold")
    why.append(f"{view.chosen_by}\n")
    why.append(f"理由 reason: {assignment.reason}")
    if assignment.inferred:
        why.append(assignment.inferred.explain("zh"))
    why.append(f"\n版本 edition: {assignment.edition_label} ({assignment.edition})")
    if assignment.edition_reason:
        why.append(f"，{assignment.edition_reason}")
    tried = Table.grid(padding=(0, 1))
    tried.add_column(no_wrap=True)
    tried.add_column(no_wrap=True)
    tried.add_column(overflow="fold")
    for check in view.trace:
        style = "bold" if check.matched else "dim"
        mark = "✓" if check.matched else "✗"
        tried.add_row(
            Text(f"  {mark} {check.index}.", style), Text(check.name, style), Text(check.when, style)
        )
    body: RenderableType = Group(why, Text("试过的规则 rules tried:"), tried) if view.trace else why
    yield Panel(body, title="学习方式 plan", title_align="left")

    schedule = Table(title="学习安排 schedule", title_justify="left")
    schedule.add_column("时间 when", no_wrap=True)
    schedule.add_column("内容 what", overflow="fold")
    for row in content.schedule:
        schedule.add_row(row.when, row.what + (f"\n{row.detail}" if row.detail else ""))
    yield schedule

    parts: list[Text] = [Text("学习材料 materials", style="bold")]
    parts += [Text(f"  {i}. {m.label}") for i, m in enumerate(content.materials, 1)]
    if content.links:
        parts.append(Text("线上链接 links (QR codes in the booklet)", style="bold"))
        parts += [Text(f"  {link.title}: {link.url}") for link in content.links]
    if plan.chat_group:
        parts.append(Text(f"  群 chat group: {plan.chat_group}"))
    if assignment.plan == "delivered":
        parts.append(Text("送学 delivery", style="bold"))
        parts.append(Text(f"  地址 address: {member.address or '(none)'}"))
        parts.append(Text(f"  路线 route: {member.route or member.branch}"))
    if content.contacts:
        parts.append(Text("联系人 contacts", style="bold"))
        parts += [Text(f"  {c.name} {c.role} {c.phone}".rstrip()) for c in content.contacts]
    if content.problems:
        parts.append(Text("未能覆盖 not covered", style="bold red"))
        parts += [Text(f"  {gap}") for gap in content.problems]
    yield Panel(Group(*parts), title="内容 contents", title_align="left")


def plan_tables(config: Config, report: PlanReport) -> Iterator[RenderableType]:
    """The plan table, the counts per plan and per branch, and the members not covered."""
    table = Table(title="学习方式安排 · plans", title_justify="left")
    large = report.by_edition["large"] > 0  #: the edition column only when someone gets large print
    for column in ("编号 id", "姓名 name", "支部 branch", "方式 plan", "理由 reason", "版本 edition")[
        : 5 + large
    ]:
        table.add_column(column, overflow="fold")
    for row in report.rows:
        m, a = row.member, row.assignment
        edition = [f"{a.edition_label}：{a.edition_reason}" if a.edition == "large" else ""] if large else []
        table.add_row(m.id, m.name, m.branch, config.plans[a.plan].label, a.explanation, *edition)
    yield table

    keys = [key for key in config.plans if key in report.by_plan] or list(config.plans)
    counts = Table(title="人数 · counts", title_justify="left")
    counts.add_column("支部 branch")
    for key in keys:
        counts.add_column(config.plans[key].label, justify="right")
    counts.add_column("合计 total", justify="right")
    for branch, by_plan in report.by_branch.items():
        counts.add_row(branch or "(无支部)", *(str(by_plan[k]) for k in keys), str(sum(by_plan.values())))
    counts.add_section()
    counts.add_row("合计 total", *(str(report.by_plan[k]) for k in keys), str(len(report.rows)))
    yield counts
    yield Text(f"大字版 large print: {report.by_edition['large']} of {len(report.rows)}")

    rules = Table(title="规则 · rules (members each rule chose)", title_justify="left")
    rules.add_column("规则 rule", overflow="fold")
    rules.add_column("方式 plan")
    rules.add_column("人数", justify="right")
    for name, plan, count in report.rule_counts(config):
        rules.add_row(name, plan, str(count), style="dim" if not count else "")
    yield rules

    if report.not_covered:
        gaps = Text("未能覆盖 · not covered\n", style="bold red")
        for row in report.not_covered:
            for gap in row.gaps:
                gaps.append(f"  {row.member.id} {row.member.name}: {gap}\n", style="")
        yield gaps
