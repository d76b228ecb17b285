"""Choose a plan for each member by the config's ordered rules, and say why.

Order: the member's own plan column (override) first, then the rules (first match wins), then
the config's default. Conditions are parsed and evaluated by ``simpleeval``: a small expression
language with no access to Python internals, imports, files or attributes beginning with ``_``.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from simpleeval import EvalWithCompoundTypes, InvalidExpression

from packgen.config import Config, PlanKey
from packgen.errors import ConfigError
from packgen.members import FIELDS, Member

#: Names every condition may use besides the member fields and extra columns.
DERIVED = ("age",)
_NUMBER = re.compile(r"-?\d+(\.\d+)?")


@dataclass(frozen=True)
class Assignment:
    """Which plan a member gets, and the explanation printed in the terminal, booklet and manifest."""

    plan: PlanKey
    reason: str
    source: Literal["override", "rule", "default"]
    rule: str | None = None

    @property
    def explanation(self) -> str:
        if self.source == "rule":
            return f"规则“{self.rule}”：{self.reason}"
        return self.reason


@dataclass(frozen=True)
class CompiledRule:
    name: str
    when: str
    plan: PlanKey
    reason: str
    tree: ast.Expr


class RuleSet:
    """The config's rules, parsed once and checked against the fields the roster has."""

    def __init__(self, config: Config, extra_fields: Iterable[str] = ()) -> None:
        self.config = config
        self.known = set(FIELDS) | set(DERIVED) | set(extra_fields) | set(config.columns.values())
        self.known.discard("extra")
        self._evaluator = EvalWithCompoundTypes(functions={"len": len})
        self.rules = [self._compile(index, rule) for index, rule in enumerate(config.rules, start=1)]

    def _compile(self, index: int, rule: Any) -> CompiledRule:
        where = f"{self.config.source}: rule {index} '{rule.name}'"
        try:
            tree = self._evaluator.parse(rule.when)
        except SyntaxError as exc:
            raise ConfigError(f"{where}: the condition cannot be parsed ({exc.msg}): {rule.when}") from None
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and node.id not in self.known and node.id not in ("True", "False"):
                raise ConfigError(
                    f"{where}: unknown field '{node.id}' in condition: {rule.when}\n"
                    f"  known fields: {', '.join(sorted(self.known))}"
                )
            if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
                raise ConfigError(f"{where}: access to '{node.attr}' is not allowed in a condition")
            if isinstance(node, ast.Lambda | ast.NamedExpr | ast.ListComp | ast.GeneratorExp):
                raise ConfigError(f"{where}: this kind of expression is not allowed in a condition")
        return CompiledRule(rule.name, rule.when, rule.plan, rule.reason, tree)

    def names_for(self, member: Member) -> dict[str, Any]:
        names: dict[str, Any] = {name: None for name in self.known}
        names.update({k: _number_or_text(v) for k, v in member.extra.items()})
        names.update(member.model_dump(include=set(FIELDS)))
        for key in (
            "name",
            "gender",
            "branch",
            "location",
            "occupation",
            "phone",
            "address",
            "route",
            "notes",
        ):
            names[key] = names[key] or ""
        names["age"] = member.age(self.config.training.start)
        return names

    def matches(self, rule: CompiledRule, member: Member) -> bool:
        self._evaluator.names = self.names_for(member)
        try:
            return bool(self._evaluator.eval(rule.when, previously_parsed=rule.tree))
        except TypeError:
            return False  # e.g. age >= 65 for a member without a birth date: the rule does not apply
        except InvalidExpression as exc:
            raise ConfigError(
                f"{self.config.source}: rule '{rule.name}' cannot be evaluated for {member.source}: {exc}"
            ) from None

    def assign(self, member: Member) -> Assignment:
        if member.plan is not None:
            label = self.config.plans[member.plan].label
            return Assignment(member.plan, f"本人或组织指定学习方式：{label}", "override")
        for rule in self.rules:
            if self.matches(rule, member):
                return Assignment(rule.plan, rule.reason, "rule", rule.name)
        return Assignment(self.config.default_plan, self.config.default_reason, "default")


def _number_or_text(value: str) -> Any:
    if _NUMBER.fullmatch(value):
        return float(value) if "." in value else int(value)
    return value


def assign_plans(config: Config, members: list[Member]) -> list[tuple[Member, Assignment]]:
    """Every member with its plan, in roster order."""
    extra = {key for member in members for key in member.extra}
    rules = RuleSet(config, extra)
    return [(member, rules.assign(member)) for member in members]
