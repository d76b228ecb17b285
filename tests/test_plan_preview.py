"""`packgen plan` and `packgen preview` on the county-town example, and changing its config."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import ROOT, pdftotext
from rich.cells import cell_len

EXAMPLE = ROOT / "examples" / "county-town"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A copy of the county-town example, free to change."""
    return Path(shutil.copytree(EXAMPLE, tmp_path / "county-town"))


def test_plan_table_counts_and_gaps(run, workspace: Path) -> None:
    result = run("plan", "-c", workspace / "packgen.yaml")
    assert result.exit_code == 0, result.output
    out = result.output
    for text in (
        "CG001",
        "周海燕",
        "规则“远方有手机”",
        "本人或组织指定学习方式：线",
        "按街道统一安排就地自学",
    ):
        assert text in out
    assert "│ 城东社区党委 │        1 │        2 │        1 │          4 │" in out
    assert "│ 城西社区党委 │        2 │        1 │        2 │          5 │" in out
    assert "│ 合计 total   │        3 │        3 │        3 │          9 │" in out
    assert out.rstrip().endswith(
        "未能覆盖 · not covered\n  CG009 韩秀珍: 送学上门但没有邮寄地址 (delivered, but no address)"
    )


def test_plan_json_with_filters(run, workspace: Path) -> None:
    result = run(
        "plan", "-c", workspace / "packgen.yaml", "--json", "--plan", "delivered", "--plan", "online"
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [(m["id"], m["plan"], m["source"], m["rule"]) for m in data["members"]] == [
        ("CG001", "online", "rule", "远方有手机"),
        ("CG003", "delivered", "rule", "没有智能手机"),
        ("CG004", "online", "rule", "远方有手机"),
        ("CG006", "delivered", "rule", "县城近处"),
        ("CG008", "online", "override", None),
        ("CG009", "delivered", "rule", "没有智能手机"),
    ]
    assert data["by_plan"] == {"delivered": 3, "online": 3}
    assert data["by_branch"] == {
        "城东社区党委": {"delivered": 1, "online": 2},
        "城西社区党委": {"delivered": 2, "online": 1},
    }
    assert data["not_covered"] == [
        {
            "id": "CG009",
            "name": "韩秀珍",
            "plan": "delivered",
            "why": "送学上门但没有邮寄地址 (delivered, but no address)",
        }
    ]
    assert data["by_rule"] == {
        "没有智能手机": 2,
        "外卖快递": 0,
        "远方有手机": 2,
        "县城近处": 1,
        "override": 1,
        "default": 0,
    }
    by_label = json.loads(
        run("plan", "-c", workspace / "packgen.yaml", "--json", "--plan", "送学上门").output
    )
    assert [m["id"] for m in by_label["members"]] == ["CG003", "CG006", "CG009"]
    branch = json.loads(
        run("plan", "-c", workspace / "packgen.yaml", "--json", "--branch", "城西社区党委").output
    )
    assert {m["branch"] for m in branch["members"]} == {"城西社区党委"} and len(branch["members"]) == 5


def test_plan_rejects_unknown_plan_and_branch(run, workspace: Path) -> None:
    bad_plan = run("plan", "-c", workspace / "packgen.yaml", "--plan", "offline")
    assert bad_plan.exit_code == 2
    assert (
        bad_plan.output.strip()
        == "error: --plan: unknown plan offline; use one of self_study, online, delivered"
    )
    bad_branch = run("plan", "-c", workspace / "packgen.yaml", "--branch", "城北")
    assert bad_branch.exit_code == 2
    assert bad_branch.output.strip() == (
        "error: --branch: no member of 城北 in the profiles; branches: 城东社区党委, 城西社区党委"
    )


def test_preview_fits_80_columns_and_shows_why(run, workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    from packgen.cli import output as cli

    monkeypatch.setattr(cli, "out", cli.Console(width=80, highlight=False, soft_wrap=True, no_color=True))
    result = run("preview", "褚志明", "-c", workspace / "packgen.yaml")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(cell_len(line) for line in lines) <= 80
    out = result.output
    assert "│ 编号 id          CG005" in out
    assert "│ 规则 rule: 外卖快递" in out
    assert '│   ✗ 1. 没有智能手机 智能手机 == "否" and mobility in ("within_city",' in out
    assert '│   ✓ 2. 外卖快递     contains(occupation, "外卖", "快递", "司机")' in out
    assert "│ 第1周 12月1日–12月7日   │ 临江这一年：县情通报与城关街道的新变化       │" in out
    assert "│   4. 安全生产微课件 (PDF, 2 页)" in out
    assert "│   吴军 城西社区党委书记 0523-8811 0002" in out  # the branch secretary comes first


def test_preview_delivery_details_and_json(run, workspace: Path) -> None:
    result = run("preview", "CG009", "-c", workspace / "packgen.yaml", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["plan"], data["rule"], data["route"], data["address"]) == (
        "delivered",
        "没有智能手机",
        "城西社区党委",
        "",
    )
    assert [row["what"] for row in data["schedule"]] == ["第一轮送学（城西）", "第二轮送学：收记录"]
    assert data["gaps"] == ["送学上门但没有邮寄地址 (delivered, but no address)"]
    assert data["rules_tried"] == [
        {
            "rule": "没有智能手机",
            "when": '智能手机 == "否" and mobility in ("within_city", "within_province")',
            "matched": True,
        }
    ]
    text = run("preview", "CG009", "-c", workspace / "packgen.yaml").output
    assert "地址 address: (none)" in text and "未能覆盖 not covered" in text
    default = run("preview", "CG007", "-c", workspace / "packgen.yaml").output
    assert "默认 (no rule matched: default_plan)" in default
    assert [line.split()[1] for line in default.splitlines() if "✗" in line] == ["✗"] * 4
    override = run("preview", "CG008", "-c", workspace / "packgen.yaml").output
    assert "指定 (override column 指定学习方式)" in override and "rules tried" not in override


def test_preview_lookup_messages(run, workspace: Path) -> None:
    missing = run("preview", "CG999", "-c", workspace / "packgen.yaml")
    assert missing.exit_code == 2
    assert (
        missing.output.strip() == "error: no member with id or name 'CG999' in the profiles (9 members read)"
    )
    near = run("preview", "周海", "-c", workspace / "packgen.yaml")
    assert near.output.strip() == (
        "error: no member with id or name '周海' in the profiles (9 members read); did you mean CG001 周海燕?"
    )
    roster = workspace / "profiles" / "roster.csv"
    roster.write_text(
        roster.read_text(encoding="utf-8")
        + "CG010,周海燕,女,1990-01,城西社区党委,省外,苏州,文员,13900000310,良好,,是,200,\n",
        encoding="utf-8",
    )
    twice = run("preview", "周海燕", "-c", workspace / "packgen.yaml")
    assert twice.exit_code == 2
    assert twice.output.strip() == (
        "error: 2 members are named 周海燕: CG001 (城东社区党委), CG010 (城西社区党委); give the id instead"
    )
    by_id = run("preview", "CG010", "-c", workspace / "packgen.yaml", "--json")
    assert json.loads(by_id.output)["rule"] is None  # 200 km: no rule matched, the default applies


def test_preview_of_a_member_whose_row_has_errors_says_what_is_wrong(run, workspace: Path) -> None:
    roster = workspace / "profiles" / "roster.csv"
    roster.write_text(
        roster.read_text(encoding="utf-8")
        + "CG010,吴小燕,女,1990-13,城西社区党委,省外,苏州,文员,13900000310,良好,,是,200,\n",
        encoding="utf-8",
    )
    for key in ("CG010", "吴小燕"):
        result = run("preview", key, "-c", workspace / "packgen.yaml")
        assert result.exit_code == 2
        assert result.output.splitlines() == [
            f"error: member {key} was not read, its row has errors:",
            f"  - {roster}, row 11, column '出生年月': '1990-13': not a birth date; expected year and month "
            "such as 1975年3月, 1975-03, 1975.3 or an Excel date",
            "correct the row and run the command again (packgen validate lists every problem)",
        ]


def test_unknown_field_in_example_rule_stops_plan_with_the_rule(run, workspace: Path) -> None:
    config = workspace / "packgen.yaml"
    text = config.read_text(encoding="utf-8").replace(
        '智能手机 == "是" and 离家里程', '智能手机 == "是" and 离家公里'
    )
    config.write_text(text, encoding="utf-8")
    line = 1 + next(i for i, row in enumerate(text.splitlines()) if "离家公里" in row)
    result = run("plan", "-c", config)
    assert result.exit_code == 2
    assert result.output.startswith(
        f"error: {config}: line {line}: rule 3 '远方有手机': unknown field '离家公里' in the condition: "
        '智能手机 == "是" and 离家公里 >= 300\n  known fields: '
    )
    assert "Traceback" not in result.output


def test_new_rule_and_new_material_show_in_plan_and_in_the_pdf(run, workspace: Path, tmp_path: Path) -> None:
    config = workspace / "packgen.yaml"
    before = run("plan", "-c", config, "--json")
    assert {m["id"]: m["plan"] for m in json.loads(before.output)["members"]}["CG007"] == "self_study"

    (workspace / "materials" / "08-jiaotong.md").write_text(
        "# 客运驾驶员的安全课\n\n出车前检查轮胎和刹车，连续驾驶不超过四小时。\n", encoding="utf-8"
    )
    text = config.read_text(encoding="utf-8")
    text = text.replace(
        "rules:\n",
        "rules:\n  - name: 客运驾驶员\n    when: '\"驾驶员\" in occupation'\n    plan: online\n"
        "    reason: 客运驾驶员休息时间固定，可以参加线上联学\n",
    )
    text = text.replace(
        "      - materials/02-zuzhi-shenghuo.md\n",
        "      - materials/02-zuzhi-shenghuo.md\n      - materials/08-jiaotong.md\n",
    )
    config.write_text(text, encoding="utf-8")

    after = run("plan", "-c", config)
    assert after.exit_code == 0, after.output
    assert "│ 客运驾驶员             │ 线上联学  │    1 │" in after.output
    assert "规则“客运驾驶员”：客运驾驶员休息时间固定" in after.output.replace("│", "").replace(
        "\n", ""
    ).replace(" ", "")

    result = run("build", "-c", config, "-o", tmp_path / "out", "--only", "CG007", "-j", "1", "--quiet")
    assert result.exit_code == 0, result.output
    pdf = pdftotext(tmp_path / "out" / "booklets" / "CG007.pdf")
    assert "线上联学" in pdf
    assert "为什么这样安排规则“客运驾驶员”：客运驾驶员休息时间固定，可以参加线上联学" in pdf.replace("\n", "")
    assert "客运驾驶员的安全课" in pdf
    assert "连续驾驶不超过四小时" in pdf


def test_preview_pdf_renders_just_that_booklet(run, workspace: Path, tmp_path: Path) -> None:
    target = tmp_path / "cg5.pdf"
    result = run("preview", "CG005", "-c", workspace / "packgen.yaml", "--pdf", target)
    assert result.exit_code == 0, result.output
    assert result.output.rstrip().endswith(f"booklet written to {target}")
    text = pdftotext(target)
    assert "褚志明" in text and "就地自学" in text
    assert "临江这一年：县情通报与城关街道的新变化" in text
    assert "安全生产微课件" in text  # the PDF courseware is listed among the materials
    assert "第1周 12月1日–12月" in text  # the schedule's first week (the table cell wraps)
    assert list(tmp_path.glob("*.part-*")) == []


def test_init_workspace_plans_its_sample_roster(run, tmp_path: Path) -> None:
    assert run("init", tmp_path / "ws").exit_code == 0
    result = run("plan", "-c", tmp_path / "ws" / "packgen.yaml", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [(m["id"], m["plan"], m["rule"]) for m in data["members"]] == [
        ("D0001", "online", "省外网络良好"),
        ("D0002", "delivered", "就近年长或网络差"),
        ("D0003", "self_study", "在途货运"),
    ]


def test_readme_preview_capture_is_what_preview_prints(run, monkeypatch: pytest.MonkeyPatch) -> None:
    from packgen.cli import output as cli

    monkeypatch.setattr(cli, "out", cli.Console(width=80, highlight=False, soft_wrap=True, no_color=True))
    result = run("preview", "陈静", "-p", ROOT / "profiles")
    assert result.exit_code == 0, result.output
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    capture = readme.split("$ packgen preview 陈静\n", 1)[1].split("\n```", 1)[0]
    assert capture == "\n".join(line.rstrip() for line in result.output.splitlines())


def test_preview_pdf_into_a_missing_folder_is_a_usage_error(run, workspace: Path, tmp_path: Path) -> None:
    result = run("preview", "CG005", "-c", workspace / "packgen.yaml", "--pdf", tmp_path / "nope" / "a.pdf")
    assert result.exit_code == 2
    assert result.output.strip() == (
        f"error: --pdf: folder {tmp_path / 'nope'} does not exist; create it or choose another file"
    )


def test_init_copies_the_chapters_so_an_edit_shows_in_preview(run, tmp_path: Path) -> None:
    result = run("init", tmp_path / "ws")
    assert f"created {tmp_path / 'ws' / 'materials' / '01-dangzhang.md'}" in result.output
    chapter = tmp_path / "ws" / "materials" / "01-dangzhang.md"
    chapter.write_text("# 本镇自编：党章十讲\n\n……\n", encoding="utf-8")
    shown = run("preview", "D0003", "-c", tmp_path / "ws" / "packgen.yaml", "--json")
    assert shown.exit_code == 0, shown.output
    materials = json.loads(shown.output)["materials"]
    assert materials[0] == {
        "title": "本镇自编：党章十讲",
        "kind": "markdown",
        "file": str(chapter),
        "pages": None,
    }
    assert json.loads(shown.output)["schedule"][0]["what"] == "本镇自编：党章十讲"


def test_init_says_to_change_into_the_workspace_and_a_build_outside_one_says_what_to_do(
    run, tmp_path: Path
) -> None:
    result = run("init", "ws")
    assert result.stdout.splitlines()[-2:] == [
        "next: put your roster in ws/profiles, cd ws, then run `packgen build`",
        "while you edit the config, chapters and roster, `packgen serve` shows the plans and any booklet "
        "in a browser, refreshed on every save",
    ]
    result = run("build")  # here, beside ws/, is no workspace
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {tmp_path / 'profiles'}: no such file or folder, where the config looks for profiles; run "
        "packgen inside a workspace (packgen init DIR makes one), give the profile files, or point -c at a "
        "packgen.yaml\n"
    )


def test_plan_export_says_where_it_wrote(run, tmp_path: Path) -> None:
    run("init", "ws")
    result = run("plan", "-c", "ws/packgen.yaml", "--export", "plan.xlsx")
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith("exported: plan.xlsx\n")
    assert (tmp_path / "plan.xlsx").is_file()


def test_preview_finds_an_id_typed_in_full_width_characters(run, tmp_path: Path) -> None:
    run("init", "ws")
    result = run("preview", "Ｄ０００１", "-c", "ws/packgen.yaml")
    assert result.exit_code == 0, result.output
    assert "D0001" in result.stdout
