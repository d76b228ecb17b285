"""One member's preview: found by id or name, with their booklet's content and the rules tried.

``packgen preview`` shows it (:mod:`packgen.views.preview`); ``--pdf`` renders the same content.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from packgen.config.schema import Config
from packgen.content.plans import BookletContent, booklet_content
from packgen.errors import UsageError
from packgen.roster.members import Inference, Member, Problem, format_phone
from packgen.rules.ruleset import Assignment, RuleCheck, rule_set


def find_member(
    assigned: list[tuple[Member, Assignment]], key: str, problems: Sequence[Problem] = ()
) -> tuple[Member, Assignment]:
    """Look a member up by id, else by exact name; ambiguity and absence are usage errors.

    A member whose row has errors was not read: ``problems`` (the roster's) say why.
    """
    key = unicodedata.normalize("NFKC", key.strip())  # Ａ００１ typed with a Chinese IME is A001
    by_id = [(m, a) for m, a in assigned if m.id == key]
    if by_id:
        return by_id[0]
    by_name = [(m, a) for m, a in assigned if m.name == key]
    if len(by_name) == 1:
        return by_name[0]
    if by_name:
        ids = ", ".join(f"{m.id} ({m.branch})" for m, _ in by_name)
        raise UsageError(f"{len(by_name)} members are named {key}: {ids}; give the id instead")
    unread = [p for p in problems if p.severity == "error" and key in (p.member_id, p.member_name)]
    if unread:
        listed = "".join(f"\n  - {p}" for p in unread)
        raise UsageError(
            f"member {key} was not read, its row has errors:{listed}\n"
            "correct the row and run the command again (packgen validate lists every problem)"
        )
    near = [m for m, _ in assigned if key and (key.lower() in m.id.lower() or key in m.name)][:5]
    hint = f"; did you mean {', '.join(f'{m.id} {m.name}' for m in near)}?" if near else ""
    raise UsageError(
        f"no member with id or name '{key}' in the profiles ({len(assigned)} members read){hint}"
    )


def _inferred(inference: Inference | None) -> str:
    """Where a class worked out from another column came from, after the class."""
    return f" (from {inference.column} '{inference.text}': {inference.because})" if inference else ""


@dataclass
class MemberPreview:
    """One member's booklet content and the rules tried to choose their plan."""

    content: BookletContent
    trace: list[RuleCheck]
    on: dt.date  #: the day ages are counted on (the training's start)

    def facts(self) -> list[tuple[str, str]]:
        """Who the member is, as (label, value) with the empty values left out: the terminal's
        panel and ``packgen serve``'s member page list these."""
        member, age = self.content.member, self.content.age
        rows = [
            ("编号 id", member.id),
            ("支部 branch", member.branch),
            ("流动 mobility", (member.mobility or "") + _inferred(member.inferred.get("mobility"))),
            ("所在地 location", member.location),
            ("职业 occupation", member.occupation),
            ("年龄 age", str(age) if age is not None else ""),
            ("网络 internet", member.internet or ""),
            ("电话 phone", format_phone(member.phone)),
            ("来源 source", member.source),
        ]
        return [(label, value) for label, value in rows if value]

    @property
    def chosen_by(self) -> str:
        """What chose the plan: the override column, the default, or the rule by name."""
        assignment = self.content.assignment
        return {
            "override": "指定 (override column 指定学习方式)",
            "default": "默认 (no rule matched: default_plan)",
        }.get(assignment.source, f"规则 rule: {assignment.rule}")

    def as_dict(self) -> dict[str, Any]:
        member, assignment = self.content.member, self.content.assignment
        return {
            "id": member.id, "name": member.name, "branch": member.branch,
            "plan": assignment.plan, "source": assignment.source, "rule": assignment.rule,
            "reason": assignment.explanation,
            "edition": assignment.edition, "edition_reason": assignment.edition_reason,
            **member.as_data(self.on),
            "rules_tried": [{"rule": c.name, "when": c.when, "matched": c.matched} for c in self.trace],
            "schedule": [vars(row) for row in self.content.schedule],
            "materials": [
                {"title": m.title, "kind": m.kind, "file": str(m.path), "pages": m.pages or None}
                for m in self.content.materials
            ],
            "links": [link.model_dump() for link in self.content.links],
            "address": member.address if assignment.plan == "delivered" else None,
            "route": (member.route or member.branch) if assignment.plan == "delivered" else None,
            "gaps": self.content.problems,
        }  # fmt: skip


def member_preview(
    config: Config, assigned: list[tuple[Member, Assignment]], key: str, problems: Sequence[Problem] = ()
) -> MemberPreview:
    member, assignment = find_member(assigned, key, problems)
    trace = (
        [] if assignment.source == "override" else rule_set(config, [m for m, _ in assigned]).trace(member)
    )
    return MemberPreview(booklet_content(config, member, assignment), trace, config.training.start)
