"""Plan selection: rule order, overrides, defaults, explanations, and conditions that stay safe."""

from __future__ import annotations

import functools
import warnings
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from packgen.config import Config, default_config_text, load_config
from packgen.config.conditions import parse_condition
from packgen.errors import ConfigError
from packgen.roster.members import Member, member_from_mapping, members_from_tables
from packgen.roster.readers import Row, Table
from packgen.rules import RuleSet, assign_plans


def config_with_rules(tmp_path: Path, rules: list[dict[str, Any]], **settings_: Any):
    data = yaml.safe_load(default_config_text())
    data["rules"] = rules
    data.update(settings_)
    path = tmp_path / "packgen.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return load_config(path)


def rule(name: str, when: str, plan: str = "online", reason: str = "理由") -> dict[str, str]:
    return {"name": name, "when": when, "plan": plan, "reason": reason}


def member(**fields: Any) -> Member:
    return member_from_mapping({"id": "A1", "name": "张三", **fields}, source="r.csv")


def test_first_matching_rule_wins_in_config_order(tmp_path: Path) -> None:
    rules = [
        rule("先", 'internet == "good"', "online", "先写的规则"),
        rule("后", 'mobility == "out_of_province"', "delivered", "后写的规则"),
    ]
    person = member(流动类型="省外", 网络条件="良好")
    ((_, first),) = assign_plans(config_with_rules(tmp_path, rules), [person])
    ((_, swapped),) = assign_plans(config_with_rules(tmp_path, rules[::-1]), [person])
    assert (first.plan, first.rule) == ("online", "先")
    assert (swapped.plan, swapped.rule) == ("delivered", "后")


def test_override_column_beats_every_rule(tmp_path: Path) -> None:
    config = config_with_rules(tmp_path, [rule("全部线上", "True", "online")])
    ((_, assignment),) = assign_plans(config, [member(指定学习方式="送学上门")])
    assert assignment.plan == "delivered"
    assert assignment.source == "override"
    assert assignment.rule is None
    assert assignment.explanation == "本人或组织指定学习方式：送学上门"


def test_default_applies_when_no_rule_matches(tmp_path: Path) -> None:
    config = config_with_rules(
        tmp_path, [rule("境外", 'mobility == "abroad"')], default_plan="delivered", default_reason="默认送学"
    )
    ((_, assignment),) = assign_plans(config, [member(流动类型="省内")])
    assert (assignment.plan, assignment.source, assignment.explanation) == (
        "delivered",
        "default",
        "默认送学",
    )


def test_explanation_names_the_rule_and_its_reason(tmp_path: Path) -> None:
    config = config_with_rules(tmp_path, [rule("司机", '"司机" in occupation', "self_study", "常年在途")])
    ((_, assignment),) = assign_plans(config, [member(从事职业="长途货车司机")])
    assert assignment.explanation == "规则“司机”：常年在途"


def test_trace_lists_the_rules_tried_up_to_the_match(tmp_path: Path) -> None:
    config = config_with_rules(
        tmp_path,
        [rule("a", 'mobility == "abroad"'), rule("b", "age >= 60", "delivered"), rule("c", "True")],
    )
    checks = RuleSet(config).trace(member(出生年月="1950-01"))
    assert [(c.name, c.matched) for c in checks] == [("a", False), ("b", True)]


def test_default_example_rules_on_typical_members() -> None:
    config = load_config(workspace=Path("/nonexistent-workspace"))
    people = [
        member(流动类型="境外", 网络条件="较差"),
        member(流动类型="在途", 从事职业="货车司机", 网络条件="良好"),
        member(流动类型="省外", 网络条件="一般"),
        member(流动类型="市内", 出生年月="1950-02", 网络条件="良好"),
        member(流动类型="省内", 网络条件="良好", 邮寄地址="苏州市星湖街1号"),
        member(流动类型="省外", 网络条件="较差"),
    ]
    got = [(a.plan, a.rule) for _, a in assign_plans(config, people)]
    assert got == [
        ("online", "境外党员"),
        ("self_study", "在途货运"),
        ("online", "省外网络良好"),
        ("delivered", "就近年长或网络差"),
        ("delivered", "省内可送达"),
        ("self_study", None),
    ]


def test_rules_use_extra_columns_with_numbers_as_numbers(tmp_path: Path) -> None:
    config = config_with_rules(tmp_path, [rule("离家远", "离家公里 > 500 and 有智能手机 == '是'")])
    near, far = member(离家公里="120", 有智能手机="是"), member(离家公里="1200", 有智能手机="是")
    assert [a.source for _, a in assign_plans(config, [near, far])] == ["default", "rule"]


def test_missing_birth_date_means_an_age_rule_does_not_apply(tmp_path: Path) -> None:
    config = config_with_rules(tmp_path, [rule("年长", "age >= 65", "delivered")])
    ((_, assignment),) = assign_plans(config, [member()])
    assert assignment.source == "default"


def test_unknown_field_is_an_error_naming_the_rule_and_line(tmp_path: Path) -> None:
    config = config_with_rules(
        tmp_path, [rule("好网", 'internet == "good"'), rule("错字", 'mobilty == "abroad"')]
    )
    with pytest.raises(ConfigError) as caught:
        assign_plans(config, [member()])
    first_line = str(caught.value).splitlines()[0]
    assert first_line == (
        f"{tmp_path / 'packgen.yaml'}: line {config.line('rules', 1, 'when')}: rule 2 '错字': "
        "unknown field 'mobilty' in the condition: mobilty == \"abroad\""
    )
    assert "known fields: " in str(caught.value) and "mobility" in str(caught.value)


def test_extra_column_absent_from_the_roster_is_unknown(tmp_path: Path) -> None:
    config = config_with_rules(tmp_path, [rule("手机", "有智能手机 == '是'")])
    with pytest.raises(ConfigError, match="rule 1 '手机': unknown field '有智能手机'"):
        assign_plans(config, [member()])


def test_bad_syntax_is_a_config_error_with_the_line_of_the_rule(tmp_path: Path) -> None:
    text = default_config_text().replace('when: mobility == "abroad"', 'when: mobility == "abroad" and')
    (tmp_path / "packgen.yaml").write_text(text, encoding="utf-8")
    line = 1 + text.splitlines().index('    when: mobility == "abroad" and')
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "packgen.yaml")
    assert str(caught.value) == (
        f"{tmp_path / 'packgen.yaml'}: 1 problem(s) in the config:\n"
        f"  - line {line}: Config value 'rules.0.when': rule '境外党员': the condition cannot be parsed "
        '(invalid syntax at column 25): mobility == "abroad" and'
    )


def test_chinese_label_in_a_condition_is_caught_with_the_key_to_write(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        config_with_rules(
            tmp_path, [rule("省外", 'mobility in ("省外", "abroad")'), rule("网", 'internet == "great"')]
        )
    message = str(caught.value)
    assert (
        "Config value 'rules.0.when': rule '省外': mobility is never \"省外\"; write \"out_of_province\""
        in message
    )
    assert (
        "Config value 'rules.1.when': rule '网': internet is never \"great\"; use one of fair, good, none, weak"
        in message
    )


@pytest.mark.parametrize(
    ("condition", "problem"),
    [
        (
            'mobility == "abroad" or "on_the_road"',
            '"on_the_road" is not a comparison, so it is the same for every member: '
            'mobility == "abroad" or "on_the_road"; write mobility in ("abroad", "on_the_road")',
        ),
        (
            "internet",
            "internet alone is true whatever it holds, once filled in: internet; compare it, e.g. "
            'internet == "fair" (or internet == None for not filled in)',
        ),
        (
            "startswith(location)",
            'startswith() takes 2 argument(s), e.g. startswith(location, "上海"), not startswith(location): '
            "startswith(location)",
        ),
    ],
)
def test_a_condition_that_would_take_everyone_or_no_one_is_refused(condition: str, problem: str) -> None:
    assert parse_condition(condition) == (None, problem)


@pytest.mark.parametrize(
    ("condition", "problem"),
    [
        (
            'can_return == "否"',
            'can_return is true or false, never "否"; write can_return == False',
        ),
        ('age >= "65"', 'age is a number, never the text "65"; write the number without quotes'),
        (
            "phone == 13800138000",
            'phone is text, never the number 13800138000; put it in quotes: "13800138000"',
        ),
    ],
)
def test_comparing_a_field_with_a_value_of_the_wrong_kind_is_a_config_error(
    tmp_path: Path, condition: str, problem: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        config_with_rules(tmp_path, [rule("错", condition)])
    assert f"Config value 'rules.0.when': rule '错': {problem}" in str(caught.value)


@pytest.mark.parametrize(
    "condition", ['mobility == "within_city" and not address', "notes", "age and age > 65", "not len(name)"]
)
def test_a_field_alone_asks_whether_it_is_filled_in(condition: str) -> None:
    tree, problem = parse_condition(condition)
    assert tree is not None and problem is None


def test_a_true_or_false_field_stands_alone_in_a_condition(tmp_path: Path) -> None:
    config = config_with_rules(
        tmp_path,
        [rule("能回", "can_return", "self_study"), rule("回不来", "can_return == False", "delivered")],
    )
    got = assign_plans(config, [member(能否返乡="是"), member(能否返乡="否"), member()])
    assert [a.rule for _, a in got] == ["能回", "回不来", None]


def test_every_bad_rule_is_reported_at_once(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        config_with_rules(tmp_path, [rule("a", "age >"), rule("b", "True"), rule("c", "name.upper()")])
    message = str(caught.value)
    assert message.splitlines()[0].endswith("2 problem(s) in the config:")
    assert "rules.0.when" in message and "rules.2.when" in message and "rules.1" not in message


@pytest.mark.parametrize(
    ("condition", "what"),
    [
        ("name.__class__", "access to '__class__'"),
        ("().__class__.__bases__[0].__subclasses__()", "calling '().__class__.__bases__[0].__subclasses__'"),
        ("name.upper() == 'A'", "calling 'name.upper'"),
        ("__import__('os').system('true')", "calling '__import__('os').system'"),
        ("open('/etc/passwd')", "calling 'open'"),
        ("eval('1')", "calling 'eval'"),
        ("(lambda: 1)()", "calling 'lambda: 1'"),
        ("[x for x in name]", "comprehensions"),
        ("any(x for x in name)", "calling 'any'"),
        ("{c for c in name}", "comprehensions"),
        ("(n := 1)", "assignment (:=)"),
        ("name[0] == '张'", "indexing (x[…])"),
        ("9 ** 9999999", "powers (**)"),
        ("f'{name}'", "f-strings"),
        ("__builtins__", "the name '__builtins__'"),
        ("len(x=name)", "keyword arguments"),
    ],
)
def test_a_condition_cannot_reach_python_internals(condition: str, what: str) -> None:
    tree, problem = parse_condition(condition)
    assert tree is None
    hint = "; the functions a condition may call are len, lower, startswith, endswith, contains"
    assert problem == f"{what} is not allowed in a condition: {condition}" + (
        hint if "calling" in what else ""
    )


def test_huge_strings_are_refused_while_evaluating(tmp_path: Path) -> None:
    config = config_with_rules(tmp_path, [rule("大", "len(name * 100000000) > 1")])
    with pytest.raises(ConfigError, match=r"rule 1 '大' cannot be evaluated for r.csv, row 1 \(A1\): "):
        assign_plans(config, [member()])


def test_overlong_condition_is_refused() -> None:
    tree, problem = parse_condition("age > 1 and " * 60 + "True")
    assert tree is None
    assert problem == "the condition is longer than 500 characters; split it into several rules"


def test_helper_functions_tolerate_empty_fields(tmp_path: Path) -> None:
    config = config_with_rules(
        tmp_path,
        [rule("苏州", 'contains(location, "苏州", "无锡") or startswith(route, "二线")', "delivered")],
    )
    got = assign_plans(config, [member(流入地="苏州市"), member(), member(送学路线="二线（苏州方向）")])
    assert [a.source for _, a in got] == ["rule", "default", "rule"]


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=60))
def test_any_text_either_parses_safely_or_is_refused_in_words(condition: str) -> None:
    tree, problem = parse_condition(condition)
    assert (tree is None) != (problem is None)
    if tree is not None:
        import ast

        assert not any(isinstance(n, ast.Attribute | ast.Subscript | ast.Lambda) for n in ast.walk(tree))


@functools.cache
def default_config() -> Config:
    return load_config(workspace=Path("/nonexistent-workspace"))


MOBILITIES = st.sampled_from(["市内", "省内", "省外", "境外", "在途", ""])
INTERNETS = st.sampled_from(["良好", "一般", "较差", "无", ""])


@settings(max_examples=80, deadline=None)
@given(
    mobility=MOBILITIES,
    internet=INTERNETS,
    born=st.integers(min_value=1940, max_value=2004),
    driver=st.booleans(),
    address=st.booleans(),
    override=st.sampled_from(["", "线上联学", "送学上门", "就地自学"]),
)
def test_assignment_agrees_with_the_rules_tried(
    mobility: str, internet: str, born: int, driver: bool, address: bool, override: str
) -> None:
    config = default_config()
    person = member(
        流动类型=mobility,
        网络条件=internet,
        出生年月=f"{born}-06",
        从事职业="货车司机" if driver else "文员",
        邮寄地址="临江县人民路1号" if address else "",
        指定学习方式=override,
    )
    rules = RuleSet(config)  # compiling is part of what is tested: it must not depend on the member
    assignment = rules.assign(person)
    trace = rules.trace(person)
    if override:
        assert assignment.source == "override"
        return
    assert all(not check.matched for check in trace[:-1])
    if assignment.source == "rule":
        assert (trace[-1].matched, trace[-1].name, trace[-1].plan) == (True, assignment.rule, assignment.plan)
        assert assignment.explanation.startswith(f"规则“{assignment.rule}”：")
    else:
        assert len(trace) == len(config.rules) and not any(c.matched for c in trace)
        assert (assignment.plan, assignment.reason) == (config.default_plan, config.default_reason)


def test_an_extra_column_named_like_a_function_does_not_hide_it(tmp_path: Path) -> None:
    config = config_with_rules(tmp_path, [rule("长名", "len(name) >= 3")])
    ((_, assignment),) = assign_plans(
        config, [member_from_mapping({"id": "A", "name": "欧阳修", "len": "1"})]
    )
    assert assignment.rule == "长名"


def test_birth_compares_as_iso_text_and_missing_birth_never_matches(tmp_path: Path) -> None:
    config = config_with_rules(tmp_path, [rule("六零前", 'birth < "1960"', "delivered")])
    got = assign_plans(config, [member(出生年月="1958年4月"), member(出生年月="1960-01"), member()])
    assert [a.source for _, a in got] == ["rule", "default", "default"]


def test_an_awkward_header_is_named_under_columns_for_rules(tmp_path: Path) -> None:
    table = Table(
        path=Path("r.csv"),
        headers=["id", "name", "离家里程(公里)"],
        rows=[Row(number=2, cells={"id": "A", "name": "甲", "离家里程(公里)": "800"})],
    )
    plain = config_with_rules(tmp_path, [rule("远", "离家里程 > 500")])
    with pytest.raises(ConfigError) as caught:
        assign_plans(plain, members_from_tables([table], plain.roster_settings()).members)
    assert str(caught.value).endswith("""e.g. "离家里程(公里)": 离家里程)""")

    renamed = config_with_rules(
        tmp_path, [rule("远", "离家里程 > 500")], columns={"离家里程(公里)": "离家里程"}
    )
    (person,) = members_from_tables([table], renamed.roster_settings()).members
    assert person.extra == {"离家里程": "800"}
    ((_, assignment),) = assign_plans(renamed, [person])
    assert assignment.rule == "远"


@pytest.mark.parametrize("when", ['age > 60\nbranch == "东湖村党支部"', 'age > 60; branch == "东湖村党支部"'])
def test_two_expressions_in_one_condition_are_refused_not_cut_to_the_first(when: str) -> None:
    """A `when: |` block of two lines read as the first line alone, with a Python warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert parse_condition(when) == (
            None,
            f"the condition holds more than one expression (on several lines, or after ;): {when}; "
            "write one, joining the parts with and / or",
        )


def test_a_single_equals_sign_says_to_compare_with_two() -> None:
    assert parse_condition('mobility = "abroad"') == (
        None,
        'a single = is not a comparison: mobility = "abroad"; compare with == (mobility == "abroad")',
    )
