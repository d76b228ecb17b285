"""Real rosters as organizers have them: the statistics tables' vocabulary, the class worked out from
the place (organization.home), the organizer's own words (values:), the township roster in every
format its office exports."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from booklets import small_workspace
from conftest import ROOT, pdftotext, requires_poppler

from packgen.roster.values import NORMALISERS

DATA = ROOT / "tests" / "data" / "rosters"
HOME = "江苏省盐城市大丰区"
HEADER = "党员编号,姓名,流动类型,外出地点,从事职业,网络条件\n"


def workspace(root: Path, rows: str, home: str | None = HOME, values: Any = None) -> Path:
    """A small workspace registered at ``home`` whose roster holds ``rows`` under :data:`HEADER`."""
    small_workspace(root, HEADER + rows)
    config = yaml.safe_load((root / "packgen.yaml").read_text(encoding="utf-8"))
    if home is not None:
        config["organization"]["home"] = home
    if values is not None:
        config["values"] = values
    (root / "packgen.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return root / "profiles" / "roster.csv"


@pytest.mark.parametrize(
    ("word", "key"),
    [
        ("跨省流动", "out_of_province"), ("跨省（区、市）流动", "out_of_province"), ("跨省(区、市)流动", "out_of_province"),
        ("省内流动", "within_province"), ("省内跨市流动", "within_province"), ("省内跨市（地）流动", "within_province"),
        ("省内跨市(地)流动", "within_province"), ("市内流动", "within_city"), ("县内流动", "within_city"),
        ("出国（境）", "abroad"), ("出国(境)", "abroad"), ("出境", "abroad"), ("出国境", "abroad"),
    ],
)  # fmt: skip
def test_the_statistics_tables_classes_in_every_spelling(word: str, key: str) -> None:
    assert NORMALISERS["mobility"](word) == key


def test_register_headers_name_the_fields_and_one_name_for_each_register_column(run, tmp_path: Path) -> None:
    small_workspace(tmp_path)
    (tmp_path / "profiles" / "roster.csv").write_text(
        "党员编号,姓名,流动类型,外出流向,联系手机,流出原因,外出时间,活动证号码,民族\n"
        "A1,张三,跨省流动,上海市浦东新区,13800000001,务工,2020-05,苏流字001号,汉族\n",
        encoding="utf-8",
    )
    result = run("preview", "A1", "--json")
    assert result.exit_code == 0, result.output
    fields = json.loads(result.stdout)["fields"]
    assert (fields["mobility"], fields["location"], fields["phone"]) == (
        "out_of_province",
        "上海市浦东新区",
        "13800000001",
    )
    result = run("plan", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["members"][0]["fields"]["location"] == "上海市浦东新区"


def test_the_township_roster_as_exported_plans_every_member_alike_in_every_format(
    run, tmp_path: Path
) -> None:
    small_workspace(tmp_path)
    config = yaml.safe_load((tmp_path / "packgen.yaml").read_text(encoding="utf-8"))
    config["organization"]["home"] = HOME
    (tmp_path / "packgen.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    with open(DATA / "township-expected.csv", encoding="utf-8") as handle:
        expected = {row["id"]: row["mobility"] for row in csv.DictReader(handle)}
    seen = []
    for name in ("township-gbk.csv", "township-utf8.csv", "township.xlsx", "township.xls"):
        result = run("plan", "--json", DATA / name)
        assert result.exit_code == 0, (name, result.output)
        report = json.loads(result.stdout)
        members = report["members"]
        assert len(members) == 172
        assert {m["id"]: m["fields"]["mobility"] for m in members} == expected
        assert [p["severity"] for p in report["problems"]] == ["warning"] * 86
        seen.append([(m["id"], m["name"], m["branch"], m["plan"], m["reason"], m["fields"]) for m in members])
    assert seen[1:] == seen[:1] * 3
    drivers = [m for m in members if m["fields"]["occupation"] == "货车司机"]
    assert len(drivers) == 31 and {m["fields"]["mobility"] for m in drivers} == {"on_the_road"}
    assert drivers[0]["inferred"] == {
        "mobility": {"from": "外出地点", "text": drivers[0]["fields"]["location"], "place": "",
                     "because": "'货运途中' means on the road"},
    }  # fmt: skip


def test_each_inference_is_a_warning_saying_what_was_decided_from_what(run, tmp_path: Path) -> None:
    path = workspace(
        tmp_path,
        "A1,张三,流动,货运途中（长三角线路）,货车司机,良好\nA2,李四,,上海市浦东新区,工人,良好\n"
        "A3,王五,外出,苏州工业园区,工人,一般\nA4,赵六,流动,盐城亭湖,工人,较差\nA5,钱七,,美国纽约,,良好\n"
        "A6,孙八,,大丰市,,良好\nA7,周九,跨省流动,盐城亭湖,,良好\n",
    )
    result = run("validate")
    assert result.exit_code == 0
    row = f"warning: {path}, row"
    assert result.stderr.splitlines() == [
        f"{row} 2, column '流动类型': '流动': names no class; read as on_the_road from 外出地点 '货运途中（长三角线路）': "
        "'货运途中' means on the road",
        f"{row} 3, column '流动类型': mobility is empty; read as out_of_province from 外出地点 '上海市浦东新区': "
        "上海市浦东新区 is in another province than 江苏省 (organization.home)",
        f"{row} 4, column '流动类型': '外出': names no class; read as within_province from 外出地点 '苏州工业园区': "
        "江苏省苏州市 is in 江苏省, in another city than 盐城市 (organization.home)",
        f"{row} 5, column '流动类型': '流动': names no class; read as within_city from 外出地点 '盐城亭湖': "
        "江苏省盐城市亭湖区 is in 盐城市, the city of organization.home",
        f"{row} 6, column '流动类型': mobility is empty; read as abroad from 外出地点 '美国纽约': 美国 is abroad",
        f"{row} 7, column '流动类型': mobility is empty; read as within_city from 外出地点 '大丰市': "
        "江苏省盐城市大丰区 is in 盐城市, the city of organization.home",
    ]  # A7's class is given: its place is not looked at
    assert result.stdout == "7 members read; 0 errors, 6 warnings\n"


def test_a_place_the_libraries_cannot_tell_is_an_error_saying_what_to_add(run, tmp_path: Path) -> None:
    path = workspace(
        tmp_path,
        "A1,张三,流动,迪拜,,良好\nA2,李四,,鼓楼区,,良好\nA3,王五,流动,江苏,,良好\nA4,赵六,流动,,,良好\n"
        "A5,钱七,,江苏,,良好\nA6,孙八,,浙江,,良好\nA7,周九,,法兰西共和国,,良好\nA8,吴十,,巴林左旗,,良好\n",
    )
    result = run("validate")
    assert result.exit_code == 1
    row = f"error: {path}, row"
    write = "or write the class in '流动类型' (市内 / 省内 / 省外 / 境外 / 在途)"
    assert result.stderr.splitlines() == [
        f"{row} 2, column '流动类型': '流动': names no class, and cannot tell where 外出地点 '迪拜' is, so the "
        f"mobility class cannot be worked out; write the place with its province or city (e.g. 江苏省苏州市), {write}, "
        "or name its class under values: in packgen.yaml:",
        "  values:",
        "    mobility:",
        "      迪拜: abroad  # or within_city, within_province, out_of_province, on_the_road",
        f"{row} 3, column '流动类型': mobility is empty, and 外出地点 '鼓楼区' is more than one place (江苏省南京市鼓楼区, "
        f"江苏省徐州市鼓楼区, 河南省开封市鼓楼区, 福建省福州市鼓楼区); write the city too, e.g. 江苏省南京市鼓楼区, {write}",
        f"{row} 4, column '流动类型': '流动': names no class, and 外出地点 '江苏' names the province only, so within the "
        f"city or the province cannot be told; write the city too, {write}",
        f"{row} 5, column '流动类型': '流动': names no class, and there is no location (流入地, 外出地点) to work it out "
        "from; write the class: 市内 / 省内 / 省外 / 境外 / 在途",
        f"{row} 6, column '流动类型': mobility is empty, and 外出地点 '江苏' names the province only, so within the city "
        f"or the province cannot be told; write the city too, {write}",
        f"warning: {path}, row 7, column '流动类型': mobility is empty; read as out_of_province from 外出地点 '浙江': "
        "浙江省 is in another province than 江苏省 (organization.home)",
        f"warning: {path}, row 8, column '流动类型': mobility is empty; read as abroad from 外出地点 '法兰西共和国': "
        "法兰西共和国 is abroad",
        f"warning: {path}, row 9, column '流动类型': mobility is empty; read as out_of_province from 外出地点 '巴林左旗': "
        "内蒙古自治区赤峰市巴林左旗 is in another province than 江苏省 (organization.home)",
    ]


def test_without_a_home_only_a_vague_class_needs_one(run, tmp_path: Path) -> None:
    path = workspace(
        tmp_path,
        "A1,张三,流动,上海,,良好\nA2,李四,,上海,,良好\nA3,王五,流动,跑车（苏新线）,,良好\n",
        home=None,
    )
    result = run("validate")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: {path}, row 2, column '流动类型': '流动': names no class, and cannot tell the class from 外出地点 '上海' "
        "without knowing where the members are registered; set organization.home in packgen.yaml (e.g. home: "
        "江苏省盐城市大丰区), or write the class in '流动类型' (市内 / 省内 / 省外 / 境外 / 在途)",
        f"warning: {path}, row 4, column '流动类型': '流动': names no class; read as on_the_road from 外出地点 "
        "'跑车（苏新线）': '跑车' means on the road",
    ]  # A2: an empty class without a home stays empty, as before homes were known


def test_an_organizers_own_word_is_refused_with_the_lines_to_add_and_read_once_they_are(
    run, tmp_path: Path
) -> None:
    path = workspace(tmp_path, "A1,张三,北漂,北京市海淀区,程序员,良好\nA2,李四,流动,迪拜,,良好\n")
    result = run("plan")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[:4] == [
        f"error: {path}, row 2, column '流动类型': '北漂': unknown mobility type (流动类型); expected one of 市内 / 本市 "
        "/ 县内 / 省内 / 本省 / 省外 / 外省 / 境外 / 国外 / 在途 / 跑运输 / 市内流动 / 省内流动 / 省内跨市流动 / 跨省流动 / "
        "出国（境） (or within_city / within_province / out_of_province / abroad / on_the_road); if it means one of "
        "them, say so under values: in packgen.yaml:",
        "  values:",
        "    mobility:",
        "      北漂: within_city  # or within_province, out_of_province, abroad, on_the_road",
    ]
    workspace(tmp_path, "A1,张三,北漂,北京市海淀区,程序员,良好\nA2,李四,流动,迪拜,,良好\n",
              values={"mobility": {"北漂": "out_of_province", "迪拜": "abroad"}})  # fmt: skip
    result = run("plan", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [(m["id"], m["fields"]["mobility"], m["plan"]) for m in report["members"]] == [
        ("A1", "out_of_province", "online"), ("A2", "abroad", "online"),
    ]  # fmt: skip
    assert [p["message"] for p in report["problems"]] == [
        "names no class; read as abroad from 外出地点 '迪拜': values: in packgen.yaml maps '迪拜' to abroad"
    ]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"mobility": {"北漂": "beijing"}}, "mobility: '北漂' is mapped to 'beijing', which mobility never is; use one of "
         "within_city, within_province, out_of_province, abroad, on_the_road"),
        ({"location": {"迪拜": "abroad"}}, "'location' has no words of its own; values: maps words for mobility, "
         "internet, can_return, large_print, plan, gender"),
    ],
)  # fmt: skip
def test_values_that_map_to_nothing_are_config_errors(run, tmp_path: Path, values: Any, message: str) -> None:
    workspace(tmp_path, "A1,张三,,,,良好\n", values=values)
    result = run("validate")
    assert result.exit_code == 2
    config = tmp_path / "packgen.yaml"
    line = next(
        n
        for n, text in enumerate(config.read_text(encoding="utf-8").splitlines(), 1)
        if text.startswith("values:")
    )
    assert (
        result.output
        == f"error: {config}: 1 problem(s) in the config:\n  - line {line + 1}: Config value 'values': {message}\n"
    )


def test_words_of_every_field_can_be_mapped(run, tmp_path: Path) -> None:
    small_workspace(tmp_path)
    (tmp_path / "profiles" / "roster.csv").write_text(
        "党员编号,姓名,性别,网络条件,能否返乡,指定学习方式\nA1,张三,男同志,4G,回不来,网课\n", encoding="utf-8"
    )
    config = yaml.safe_load((tmp_path / "packgen.yaml").read_text(encoding="utf-8"))
    config["values"] = {"gender": {"男同志": "男"}, "internet": {"4G": "好"}, "can_return": {"回不来": False},
                        "plan": {"网课": "online"}}  # fmt: skip
    (tmp_path / "packgen.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    result = run("preview", "A1", "--json")
    assert result.exit_code == 0, result.output
    fields = json.loads(result.stdout)["fields"]
    assert (fields["gender"], fields["internet"], fields["can_return"], fields["plan"]) == (
        "男",
        "good",
        False,
        "online",
    )


def test_a_home_that_is_no_city_is_a_config_error_on_its_line(run, tmp_path: Path) -> None:
    workspace(tmp_path, "A1,张三,,,,良好\n", home="鼓楼区")
    result = run("validate")
    assert result.exit_code == 2
    config = tmp_path / "packgen.yaml"
    line = next(
        n for n, text in enumerate(config.read_text(encoding="utf-8").splitlines(), 1) if "home:" in text
    )
    assert result.output == (
        f"error: {config}: 1 problem(s) in the config:\n  - line {line}: Config value 'organization.home': "
        "'鼓楼区' is more than one place (江苏省南京市鼓楼区, 江苏省徐州市鼓楼区, 河南省开封市鼓楼区, 福建省福州市鼓楼区); "
        "write the province and city too, e.g. 江苏省南京市鼓楼区\n"
    )


@requires_poppler
def test_the_reason_in_plan_preview_and_booklet_says_where_the_class_came_from(run, tmp_path: Path) -> None:
    workspace(tmp_path, "A1,张三,,上海市浦东新区,工人,良好\n")
    note = "（流动类型由外出地点“上海市浦东新区”推定为跨省流动）"
    reason = f"规则“省外网络良好”：在省外务工且网络条件较好，适合线上联学{note}"
    plan = json.loads(run("plan", "--json").stdout)["members"][0]
    assert (plan["reason"], plan["fields"]["mobility"]) == (reason, "out_of_province")
    assert (
        plan["inferred"]["mobility"]["because"]
        == "上海市浦东新区 is in another province than 江苏省 (organization.home)"
    )
    result = run("preview", "A1", "--json", "--pdf", tmp_path / "a1.pdf")
    assert result.exit_code == 0, result.output
    preview = json.loads(result.stdout)
    assert (preview["reason"], preview["inferred"]) == (reason, plan["inferred"])
    assert note in run("preview", "A1").stdout.replace("\n", "").replace(" ", "").replace("│", "")
    assert note in "".join(pdftotext(tmp_path / "a1.pdf").split())


def test_init_documents_home_and_values_and_the_example_lines_work(run, tmp_path: Path) -> None:
    assert run("init", "ws").exit_code == 0
    config = tmp_path / "ws" / "packgen.yaml"
    text = config.read_text(encoding="utf-8")
    assert "  # home: 江苏省盐城市大丰区\n" in text
    assert "values: {}\n#   mobility:\n#     北漂: out_of_province\n#     迪拜: abroad\n" in text
    text = text.replace("  # home:", "  home:").replace("values: {}\n#   mobility:\n#     北漂: out_of_province\n",
                                                      "values:\n  mobility:\n    北漂: out_of_province\n")  # fmt: skip
    config.write_text(text, encoding="utf-8")
    (tmp_path / "ws" / "profiles" / "roster.csv").write_text(
        "党员编号,姓名,流动类型\nA1,张三,北漂\n", encoding="utf-8"
    )
    result = run("plan", "--json", "-c", config, tmp_path / "ws" / "profiles" / "roster.csv")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["members"][0]["fields"]["mobility"] == "out_of_province"


def test_a_roster_with_only_a_place_column_gets_the_class_a_person_would_give(run, tmp_path: Path) -> None:
    small_workspace(tmp_path)
    config = yaml.safe_load((tmp_path / "packgen.yaml").read_text(encoding="utf-8"))
    config["organization"]["home"] = HOME
    (tmp_path / "packgen.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    places = {
        "上海市浦东新区": "out_of_province", "北京朝阳": "out_of_province", "石河子市": "out_of_province",
        "南京市江宁区": "within_province", "昆山": "within_province", "盐城市盐都区": "within_city",
        "东台市": "within_city", "日本东京": "abroad", "中国香港": "abroad", "澳门": "abroad",
        "跑车（苏新线）": "on_the_road", "长途货运": "on_the_road",
    }  # fmt: skip
    rows = "".join(f"A{i},张{i},{place}\n" for i, place in enumerate(places, start=1))
    path = tmp_path / "profiles" / "roster.csv"
    path.write_text("党员编号,姓名,外出地点\n" + rows, encoding="utf-8")
    result = run("plan", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [m["fields"]["mobility"] for m in report["members"]] == list(places.values())
    assert report["problems"][0]["message"] == (
        "no mobility column (流动类型); read as out_of_province from 外出地点 '上海市浦东新区': 上海市浦东新区 is in "
        "another province than 江苏省 (organization.home)"
    )
    assert (report["problems"][0]["column"], len(report["problems"])) == ("外出地点", len(places))
