"""One member's booklet content in the terminal, readable in 80 columns."""

from __future__ import annotations

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from packgen.config import Config
from packgen.errors import UsageError
from packgen.members import Member, format_phone
from packgen.plans import BookletContent
from packgen.rules import Assignment


def find_member(assigned: list[tuple[Member, Assignment]], key: str) -> tuple[Member, Assignment]:
    """Look a member up by id, else by exact name; ambiguity and absence are usage errors."""
    key = key.strip()
    by_id = [(m, a) for m, a in assigned if m.id == key]
    if by_id:
        return by_id[0]
    by_name = [(m, a) for m, a in assigned if m.name == key]
    if len(by_name) == 1:
        return by_name[0]
    if by_name:
        ids = ", ".join(f"{m.id} ({m.branch})" for m, _ in by_name)
        raise UsageError(f"{len(by_name)} members are named {key}: {ids}; give the id instead")
    near = [m for m, _ in assigned if key.lower() in m.id.lower() or key in m.name][:5]
    hint = f"; did you mean {', '.join(f'{m.id} {m.name}' for m in near)}?" if near else ""
    raise UsageError(f"no member with id or name '{key}' in the profiles{hint}")


def show_preview(console: Console, config: Config, content: BookletContent) -> None:
    member, assignment, plan = content.member, content.assignment, content.plan
    who = Table.grid(padding=(0, 2))
    who.add_column(style="bold")
    who.add_column()
    rows = [
        ("编号 id", member.id),
        ("支部 branch", member.branch),
        ("所在地 location", member.location),
        ("职业 occupation", member.occupation),
        ("年龄 age", str(content.age) if content.age is not None else ""),
        ("电话 phone", format_phone(member.phone)),
        ("来源 source", member.source),
    ]
    for label, value in rows:
        if value:
            who.add_row(label, Text(value))
    console.print(Panel(who, title=Text(f"{member.name}"), title_align="left"))

    why = Text()
    why.append(f"{plan.label} ({assignment.plan})\n", style="bold")
    rule = {"override": "指定 (override column)", "default": "默认 (no rule matched)"}.get(
        assignment.source, f"规则 rule: {assignment.rule}"
    )
    why.append(f"{rule}\n")
    why.append(f"理由 reason: {assignment.reason}")
    console.print(Panel(why, title="学习方式 plan", title_align="left"))

    schedule = Table(title="学习安排 schedule", title_justify="left", expand=False)
    schedule.add_column("时间 when", no_wrap=True)
    schedule.add_column("内容 what", overflow="fold")
    for row in content.schedule:
        schedule.add_row(row.when, row.what + (f"\n{row.detail}" if row.detail else ""))
    console.print(schedule)

    parts: list[Text] = [Text("学习材料 materials", style="bold")]
    parts += [
        Text(f"  {i}. {m.title}" + (" (PDF)" if m.kind == "pdf" else ""))
        for i, m in enumerate(content.materials, 1)
    ]
    if content.links:
        parts.append(Text("线上链接 links (QR codes in the booklet)", style="bold"))
        parts += [Text(f"  {link.title}: {link.url}") for link in content.links]
    if assignment.plan == "delivered":
        parts.append(Text("送学 delivery", style="bold"))
        parts.append(Text(f"  地址 address: {member.address or '(none)'}"))
        parts.append(Text(f"  路线 route: {member.route or member.branch}"))
    if content.problems:
        parts.append(Text("未能覆盖 not covered", style="bold red"))
        parts += [Text(f"  {gap}") for gap in content.problems]
    console.print(Panel(Group(*parts), title="内容 contents", title_align="left"))
