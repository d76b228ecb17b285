"""Choose a plan for each member by the config's ordered rules, and say why.

Order: the member's own plan column (override) first, then the rules (first match wins), then
the config's default. Conditions are parsed by ``simpleeval`` and evaluated by it, but only after
a check here that every part of the expression is on a short allow-list: field names, text and
number constants, comparisons, ``and``/``or``/``not``, ``in``, arithmetic without powers, tuples
and lists of constants, and calls of the few functions in :data:`FUNCTIONS`. Attribute access,
subscripts, lambdas, comprehensions, imports and every other Python construct are config errors
that name the rule, so a condition cannot reach Python internals, files or the network.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from simpleeval import EvalWithCompoundTypes, InvalidExpression

from packgen.config import Config, Located, PlanKey, Rule
from packgen.errors import ConfigError
from packgen.members import FIELDS, GENDER, INTERNET, MOBILITY, Member

#: Names every condition may use besides the member fields and extra columns.
DERIVED = ("age",)
#: Text fields that read as "" (not None) when empty, so `"司机" in occupation` always works.
TEXT_FIELDS = ("name", "gender", "branch", "location", "occupation", "phone", "address", "route", "notes")
#: Values a categorical field can hold; a condition comparing it with anything else is a mistake.
CATEGORIES: dict[str, dict[str, str]] = {"mobility": MOBILITY, "internet": INTERNET, "gender": GENDER}
MAX_CONDITION = 500  #: characters

_NUMBER = re.compile(r"-?\d+(\.\d+)?")
_ALLOWED = (
    ast.Expression, ast.Expr, ast.Load,
    ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd,
    ast.Compare, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn,
    ast.BinOp, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod,
    ast.IfExp, ast.Name, ast.Constant, ast.Tuple, ast.List, ast.Set, ast.Call,
)  # fmt: skip
_WHAT: dict[type, str] = {
    ast.Attribute: "attribute access (x.y)",
    ast.Subscript: "indexing (x[…])",
    ast.Lambda: "lambda",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "comprehensions",
    ast.NamedExpr: "assignment (:=)",
    ast.Pow: "powers (**)",
    ast.Dict: "dictionaries",
    ast.JoinedStr: "f-strings",
    ast.Starred: "starred arguments",
}


def _text(value: Any) -> str:
    return "" if value is None else str(value)


#: Functions a condition may call, by name. Each takes plain values and never fails on None.
FUNCTIONS: dict[str, Callable[..., Any]] = {
    "len": lambda value: len(_text(value)),
    "lower": lambda value: _text(value).lower(),
    "startswith": lambda value, prefix: _text(value).startswith(_text(prefix)),
    "endswith": lambda value, suffix: _text(value).endswith(_text(suffix)),
    "contains": lambda value, *parts: any(_text(part) in _text(value) for part in parts),
}


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
    index: int  #: 1-based position in the config's rules
    name: str
    when: str
    plan: PlanKey
    reason: str
    tree: ast.Expr


@dataclass(frozen=True)
class RuleCheck:
    """One step of choosing a member's plan, for showing why a member got what they got."""

    index: int
    name: str
    when: str
    plan: PlanKey
    matched: bool


def parse_condition(when: str) -> tuple[ast.Expr | None, str | None]:
    """The parsed condition, or None and what is wrong with it in words."""
    if len(when) > MAX_CONDITION:
        return None, f"the condition is longer than {MAX_CONDITION} characters; split it into several rules"
    if not when.strip():
        return None, 'the condition is empty; write e.g. internet == "good"'
    try:
        tree = _evaluator().parse(when.strip())
    except SyntaxError as exc:
        column = f" at column {exc.offset}" if exc.offset else ""
        return None, f"the condition cannot be parsed ({exc.msg}{column}): {when}"
    except (InvalidExpression, ValueError) as exc:
        return None, f"the condition cannot be parsed ({exc}): {when}"
    for node in ast.walk(tree):
        problem = _disallowed(node)
        if problem:
            hint = (
                f"; the functions a condition may call are {', '.join(FUNCTIONS)}"
                if "calling" in problem
                else ""
            )
            return None, f"{problem} is not allowed in a condition: {when}{hint}"
    return tree, None


def _disallowed(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name) and node.id.startswith("_"):
        return f"the name '{node.id}'"
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            named = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
            return f"calling '{named}'"
        if node.keywords:
            return "keyword arguments"
    if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
        return f"access to '{node.attr}'"
    if isinstance(node, ast.Constant) and not isinstance(node.value, str | int | float | bool | type(None)):
        return f"the constant {node.value!r}"
    if not isinstance(node, _ALLOWED):
        return _WHAT.get(type(node), f"'{type(node).__name__}'")
    return None


def _category_problems(tree: ast.AST) -> list[str]:
    """Comparisons of a categorical field with a value it can never hold (e.g. mobility == "省外")."""
    problems = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        operands = [node.left, *node.comparators]
        fields = [o.id for o in operands if isinstance(o, ast.Name) and o.id in CATEGORIES]
        for field in fields:
            aliases = CATEGORIES[field]
            keys = sorted(set(aliases.values()))
            for operand in operands:
                items = operand.elts if isinstance(operand, ast.Tuple | ast.List | ast.Set) else [operand]
                for item in items:
                    if not isinstance(item, ast.Constant) or not isinstance(item.value, str):
                        continue
                    if item.value in keys:
                        continue
                    key = aliases.get(item.value.strip().lower())
                    hint = f'write "{key}"' if key else f"use one of {', '.join(keys)}"
                    problems.append(f'{field} is never "{item.value}"; {hint}')
    return problems


def check_rules(config: Config) -> list[Located]:
    """Every rule that does not parse, uses something not allowed, or compares a field with an impossible value."""
    return check_conditions([(rule.name, rule.when) for rule in config.rules])


def check_conditions(rules: list[tuple[Any, Any]]) -> list[Located]:
    """:func:`check_rules` over (name, when) pairs, usable before the rest of the config is valid."""
    problems: list[Located] = []
    for index, (name, when) in enumerate(rules):
        if not isinstance(when, str):
            continue  # the schema reports it
        tree, problem = parse_condition(when)
        if problem:
            problems.append((["rules", index, "when"], f"rule '{name}': {problem}"))
        elif tree is not None:
            problems += [(["rules", index, "when"], f"rule '{name}': {p}") for p in _category_problems(tree)]
    return problems


def _evaluator() -> EvalWithCompoundTypes:
    return EvalWithCompoundTypes(functions=dict(FUNCTIONS))


class RuleSet:
    """The config's rules, parsed once and checked against the fields the roster has."""

    def __init__(self, config: Config, extra_fields: Iterable[str] = ()) -> None:
        self.config = config
        self.known = set(FIELDS) | set(DERIVED) | set(extra_fields) | set(config.columns.values())
        self.known -= {"extra", "plan"}
        self._evaluator = _evaluator()
        self.rules = [self._compile(index, rule) for index, rule in enumerate(config.rules, start=1)]

    def _compile(self, index: int, rule: Rule) -> CompiledRule:
        where = f"{self.config.where('rules', index - 1, 'when')}: rule {index} '{rule.name}'"
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
        return CompiledRule(index, rule.name, rule.when, rule.plan, rule.reason, tree)

    def _suggest_column(self, name: str) -> str:
        """A ``columns:`` entry that would give an awkward header the name a rule uses."""
        for header in sorted(self.known):
            if name in header and not header.isidentifier():
                return f'"{header}": {name}'
        return f'"{name}（…）": {name}'

    def names_for(self, member: Member) -> dict[str, Any]:
        names: dict[str, Any] = {name: None for name in self.known}
        names.update({k: _number_or_text(v) for k, v in member.extra.items() if k not in FUNCTIONS})
        names.update(member.model_dump(include=set(FIELDS) - {"plan"}))
        for key in TEXT_FIELDS:
            names[key] = names[key] or ""
        names["age"] = member.age(self.config.training.start)
        names["birth"] = member.birth.isoformat() if member.birth else None  # birth < "1960" compares as text
        return names

    def matches(self, rule: CompiledRule, member: Member) -> bool:
        self._evaluator.names = self.names_for(member)
        try:
            return bool(self._evaluator.eval(rule.when, previously_parsed=rule.tree))
        except TypeError:
            return False  # e.g. age >= 65 for a member without a birth date: the rule does not apply
        except (InvalidExpression, ArithmeticError, ValueError) as exc:
            raise ConfigError(
                f"{self.config.where('rules', rule.index - 1, 'when')}: rule {rule.index} '{rule.name}' "
                f"cannot be evaluated for {member.source} ({member.id}): {exc}"
            ) from None

    def assign(self, member: Member) -> Assignment:
        if member.plan is not None:
            label = self.config.plans[member.plan].label
            return Assignment(member.plan, f"本人或组织指定学习方式：{label}", "override")
        for rule in self.rules:
            if self.matches(rule, member):
                return Assignment(rule.plan, rule.reason, "rule", rule.name)
        return Assignment(self.config.default_plan, self.config.default_reason, "default")

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
