"""Choose a plan for each member by the config's ordered rules, and say why.

Order: the member's own plan column (override) first, then the rules (first match wins), then
the config's default. A rule's condition is parsed and checked by :mod:`packgen.config.conditions`
(the language the config speaks) and evaluated here for each member.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from simpleeval import InvalidExpression

from packgen.config.conditions import (
    DERIVED,
    FUNCTIONS,
    compile_condition,
    compile_first_match,
    parse_condition,
)
from packgen.config.schema import Config, LargePrintRule, PlanKey, Rule
from packgen.errors import ConfigError
from packgen.roster.members import FIELDS, Inference, Member

_NUMBER = re.compile(r"-?\d+(\.\d+)?")


#: How an explanation reads, per booklet language: a rule's name and reason, or the member's own choice.
EXPLANATIONS: dict[str, dict[str, str]] = {
    "zh": {"rule": "规则“{rule}”：{reason}", "override": "本人或组织指定学习方式：{label}"},
    "en": {
        "rule": "Rule \u201c{rule}\u201d: {reason}",
        "override": "Plan set by you or your branch: {label}",
    },
}
EDITIONS = ("standard", "large")  #: the editions of a booklet: standard, large print (大字版)
EDITION_LABELS = {"standard": "标准版", "large": "大字版"}
#: why a member gets the edition they get when a rule did not choose it
LARGE_BY_COLUMN = "花名册“大字版”一栏为“是”"
NOT_LARGE_BY_COLUMN = "花名册“大字版”一栏为“否”"


@dataclass(frozen=True)
class Assignment:
    """Which plan a member gets, and why: printed in the terminal, the booklet and the manifest."""

    plan: PlanKey
    reason: str
    source: Literal["override", "rule", "default"]
    rule: str | None = None
    label: str = ""  #: the plan's label, which an override's explanation names
    #: the member's mobility class as worked out from their place, which the rules went by
    inferred: Inference | None = None
    edition: str = "standard"  #: standard or large (print)
    #: why the large-print edition (or why not, when the roster's column says 否); '' for standard
    edition_reason: str = ""

    def explain(self, language: str = "zh", label: str | None = None) -> str:
        """The explanation in ``language`` (zh or en); ``label`` names the plan in that language.
        A class worked out from the member's place is said too: （流动类型由流入地“…”推定为跨省流动）."""
        words = EXPLANATIONS[language]
        if self.source == "override" and (label or self.label):
            return words["override"].format(label=label or self.label)
        said = (
            words["rule"].format(rule=self.rule, reason=self.reason) if self.source == "rule" else self.reason
        )
        return said + (self.inferred.explain(language) if self.inferred else "")

    @property
    def explanation(self) -> str:
        """The explanation as the terminal and the manifest show it (Chinese)."""
        return self.explain("zh")

    @property
    def edition_label(self) -> str:
        return EDITION_LABELS[self.edition]


@dataclass(frozen=True)
class CompiledRule:
    index: int  #: 1-based position in the config's rules
    name: str
    when: str
    plan: PlanKey
    reason: str
    tree: ast.Expr
    test: Callable[[dict[str, Any]], Any]  #: the condition, compiled


@dataclass(frozen=True)
class RuleCheck:
    """One step of choosing a member's plan, for showing why a member got what they got."""

    index: int
    name: str
    when: str
    plan: PlanKey
    matched: bool


class RuleSet:
    """The config's rules, parsed once and checked against the fields the roster has."""

    def __init__(self, config: Config, extra_fields: Iterable[str] = ()) -> None:
        self.config = config
        self.known = set(FIELDS) | set(DERIVED) | set(extra_fields) | set(config.columns.values())
        self.known -= {"extra", "plan"}
        self.rules = [self._compile(index, rule) for index, rule in enumerate(config.rules, start=1)]
        self.large_print = [
            self._compile(index, rule, "large_print")
            for index, rule in enumerate(config.large_print, start=1)
        ]
        #: the names some rule uses (a plan's or large print's): only these are worked out for each member
        self._used = {
            node.id
            for rule in self.rules + self.large_print
            for node in ast.walk(rule.tree)
            if isinstance(node, ast.Name)
        } & (self.known - FUNCTIONS.keys())
        self._used_extra = [key for key in self._used if key not in FIELDS and key not in DERIVED]
        self._uses_age, self._uses_birth = "age" in self._used, "birth" in self._used
        self._blank: dict[str, Any] = dict.fromkeys(self._used)
        self._first_match = compile_first_match([rule.tree for rule in self.rules])
        self._first_large = compile_first_match([rule.tree for rule in self.large_print])

    def _compile(self, index: int, rule: Rule | LargePrintRule, section: str = "rules") -> CompiledRule:
        where = f"{self.config.where(section, index - 1, 'when')}: rule {index} '{rule.name}'"
        tree, problem = parse_condition(rule.when)
        if tree is None:
            raise ConfigError(f"{where}: {problem}")
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and node.id not in self.known | set(FUNCTIONS):
                if node.id in ("True", "False", "None"):
                    continue
                raise ConfigError(
                    f"{where}: unknown field '{node.id}' in the condition: {rule.when}\n"
                    f"  known fields: {', '.join(sorted(self.known))}\n"
                    "  (a column of the roster is a field under its own header; check the spelling, "
                    f"or name the header under 'columns:', e.g. {self._suggest_column(node.id)})"
                )
        plan = rule.plan if isinstance(rule, Rule) else self.config.default_plan
        return CompiledRule(index, rule.name, rule.when, plan, rule.reason, tree, compile_condition(tree))

    def _suggest_column(self, name: str) -> str:
        """A ``columns:`` entry that would give an awkward header the name a rule uses."""
        for header in sorted(self.known):
            if name in header and not header.isidentifier():
                return f'"{header}": {name}'
        return f'"{name}（…）": {name}'

    def names_for(self, member: Member) -> dict[str, Any]:
        """The names the rules use, as they see them for ``member`` (and the member's other fields)."""
        names = self._blank.copy()
        names.update(member.__dict__)  # the fields as they are: text fields are "" when empty
        extra = member.extra
        for key in self._used_extra:
            names[key] = _number_or_text(extra[key]) if key in extra else None
        if self._uses_age:
            names["age"] = member.age(self.config.training.start)
        if self._uses_birth:  # birth < "1960" compares as text
            names["birth"] = member.birth.isoformat() if member.birth else None
        return names

    def matches(
        self, rule: CompiledRule, member: Member, names: dict[str, Any] | None = None, section: str = "rules"
    ) -> bool:
        """Whether ``rule`` (of the config's ``section``) holds for ``member`` (whose :meth:`names_for`
        may be given)."""
        try:
            return bool(rule.test(self.names_for(member) if names is None else names))
        except TypeError:
            return False  # e.g. age >= 65 for a member without a birth date: the rule does not apply
        except (InvalidExpression, ArithmeticError, ValueError, NameError) as exc:
            raise ConfigError(
                f"{self.config.where(section, rule.index - 1, 'when')}: rule {rule.index} '{rule.name}' "
                f"cannot be evaluated for {member.source} ({member.id}): {exc}"
            ) from None

    def assign(self, member: Member) -> Assignment:
        names = self.names_for(member)
        return self._plan(member, names, *self.edition(member, names))

    def edition(self, member: Member, names: dict[str, Any] | None = None) -> tuple[str, str]:
        """The member's edition and why: the roster's 大字版 column when it says, else the first
        large-print rule that holds (its name and reason), else standard."""
        if member.large_print is not None:
            large = member.large_print
            return ("large", LARGE_BY_COLUMN) if large else ("standard", NOT_LARGE_BY_COLUMN)
        if not self.large_print:
            return "standard", ""
        names = self.names_for(member) if names is None else names
        rule = self._first_holding(self._first_large, self.large_print, member, names, "large_print")
        if rule is not None:
            return "large", f"规则“{rule.name}”：{rule.reason}"
        return "standard", ""

    def _plan(self, member: Member, names: dict[str, Any], edition: str, edition_reason: str) -> Assignment:
        if member.plan is not None:
            label = self.config.plans[member.plan].label
            reason = EXPLANATIONS["zh"]["override"].format(label=label)
            return Assignment(
                member.plan, reason, "override", label=label, edition=edition, edition_reason=edition_reason
            )
        inferred = member.inferred.get("mobility")
        rule = self._first_holding(self._first_match, self.rules, member, names)
        if rule is not None:
            return Assignment(
                rule.plan, rule.reason, "rule", rule.name, inferred=inferred, edition=edition,
                edition_reason=edition_reason,
            )  # fmt: skip
        return Assignment(
            self.config.default_plan, self.config.default_reason, "default", inferred=inferred, edition=edition,
            edition_reason=edition_reason,
        )  # fmt: skip

    def _first_holding(
        self,
        first: Callable[[dict[str, Any]], int],
        rules: list[CompiledRule],
        member: Member,
        names: dict[str, Any],
        section: str = "rules",
    ) -> CompiledRule | None:
        """The first of ``rules`` that holds, by ``first`` (all of them compiled into one expression)."""
        try:
            index = first(names)
        except Exception:  # one rule cannot be evaluated for this member: ask them one by one
            index = next((r.index - 1 for r in rules if self.matches(r, member, names, section)), -1)
        return rules[index] if index >= 0 else None

    def trace(self, member: Member) -> list[RuleCheck]:
        """The rules in order up to the one that matched, each with whether it held for ``member``."""
        checks = []
        for rule in self.rules:
            matched = self.matches(rule, member)
            checks.append(RuleCheck(rule.index, rule.name, rule.when, rule.plan, matched))
            if matched:
                break
        return checks


def _number_or_text(value: str) -> Any:
    if _NUMBER.fullmatch(value):
        return float(value) if "." in value else int(value)
    return value


def assign_plans(config: Config, members: list[Member]) -> list[tuple[Member, Assignment]]:
    """Every member with its plan, in roster order."""
    rules = rule_set(config, members)
    return [(member, rules.assign(member)) for member in members]


def rule_set(config: Config, members: Iterable[Member]) -> RuleSet:
    """The config's rules compiled for a roster (whose extra columns rules may name)."""
    return RuleSet(config, {key for member in members for key in member.extra})
