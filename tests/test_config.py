"""packgen.yaml: the schema, located errors, materials on disk, and `packgen init`'s default."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pypdf import PdfWriter

from packgen.config import default_config_text, load_config
from packgen.content.plans import booklet_content, load_materials, weekly_schedule
from packgen.errors import ConfigError
from packgen.roster.members import member_from_mapping
from packgen.rules import assign_plans


def write_config(folder: Path, text: str) -> Path:
    path = folder / "packgen.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def config_error(path: Path) -> str:
    """The message of the ConfigError that loading the config at ``path`` raises."""
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return str(caught.value)


def line_of(text: str, needle: str) -> int:
    return 1 + next(i for i, line in enumerate(text.splitlines()) if needle in line)


def self_study_materials(*entries: str) -> str:
    """The default config with the self-study plan's last material replaced by ``entries`` (YAML items)."""
    return default_config_text().replace(
        "      - materials/06-xuexi-fangfa.md\n    report_back: 每两周",
        "".join(f"      - {entry}\n" for entry in entries) + "    report_back: 每两周",
    )


def blank_pdf(path: Path, pages: int) -> Path:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=420, height=595)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        writer.write(handle)
    return path


def test_builtin_default_is_complete_and_init_writes_it_with_comments(run, tmp_path: Path) -> None:
    default = load_config(workspace=tmp_path)
    assert default.source == "(built-in default config)"
    assert set(default.plans) == {"self_study", "online", "delivered"}
    assert len(default.rules) >= 5
    result = run("init", tmp_path / "ws")
    assert result.exit_code == 0, result.output
    written = (tmp_path / "ws" / "packgen.yaml").read_text(encoding="utf-8")
    assert written == default_config_text()
    assert sum(1 for line in written.splitlines() if line.lstrip().startswith("#")) >= 20
    assert load_config(tmp_path / "ws" / "packgen.yaml").model_dump() == default.model_dump()
    again = run("init", tmp_path / "ws")
    assert again.exit_code == 2
    assert (
        again.output.strip()
        == f"error: {tmp_path / 'ws' / 'packgen.yaml'} already exists; use --force to overwrite it"
    )


def test_init_where_no_folder_can_be_made_is_one_line(run, tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    result = run("init", tmp_path / "afile" / "ws")
    assert result.exit_code == 2
    assert result.output == (
        f"error: {tmp_path / 'afile' / 'ws' / 'profiles'}: cannot create the workspace there (Not a "
        "directory); choose another folder\n"
    )


def test_every_schema_problem_is_reported_with_line_and_key(tmp_path: Path) -> None:
    text = (
        default_config_text()
        .replace("  size: A5          # A5, A4 or B5", "  size: A3")
        .replace("  crop_marks: false", "  crop_marks: false\n  colour: red", 1)
        .replace("url: https://chat.example.org/join/qingshan-flow", "url: chat.example.org/join")
    )
    path = write_config(tmp_path, text)
    message = config_error(path)
    assert message.splitlines() == [
        f"{path}: 3 problem(s) in the config:",
        f"  - line {line_of(text, 'size: A3')}: Config value 'page.size': Input should be 'A5', 'A4' or 'B5'",
        f"  - line {line_of(text, 'colour: red')}: Config value 'page.colour': unknown setting; check the "
        "spelling against `packgen init`'s packgen.yaml",
        f"  - line {line_of(text, 'url: chat.example.org')}: Config value 'plans.online.links.1.url': "
        "a link must start with https:// or http://",
    ]


@pytest.mark.parametrize(("written", "problem"), [("abc", "'abc'"), ("3", "3")])
def test_a_bleed_that_is_not_a_length_is_a_config_error(tmp_path: Path, written: str, problem: str) -> None:
    text = default_config_text().replace("  bleed: 0mm ", f"  bleed: {written} ")
    path = write_config(tmp_path, text)
    assert config_error(path).splitlines()[1] == (
        f"  - line {line_of(text, 'bleed: ' + written)}: Config value 'page.bleed': {problem} is not a "
        "length; write it with its unit, e.g. 3mm (0mm for none)"
    )


def test_a_bleed_written_with_a_space_is_read(tmp_path: Path) -> None:
    text = default_config_text().replace("  bleed: 0mm ", "  bleed: 3 mm ")
    assert load_config(write_config(tmp_path, text)).page.bleed == "3mm"


def test_a_column_mapped_to_a_misspelt_field_is_a_config_error(tmp_path: Path) -> None:
    text = default_config_text().replace(
        "columns: {}", "columns:\n  联系电话: telephone\n  离家里程(公里): 离家里程\n  微信: 微信号"
    )
    path = write_config(tmp_path, text)
    assert config_error(path).splitlines()[1:] == [
        f"  - line {line_of(text, '联系电话: telephone')}: Config value 'columns.联系电话': 'telephone' is not "
        "a field and no rule uses it; did you mean phone? (fields: id, name, gender, birth, branch, "
        "mobility, location, occupation, phone, internet, can_return, address, route, plan, notes, large_print)"
    ]


def test_likely_yaml_slips_get_a_message_that_says_what_to_write(tmp_path: Path) -> None:
    unquoted = default_config_text().replace('time: "20:00"', "time: 20:00", 1)
    path = write_config(tmp_path, unquoted)
    assert config_error(path).splitlines()[1] == (
        f"  - line {line_of(unquoted, 'time: 20:00')}: Config value 'plans.online.sessions.0.time': "
        'write the time in quotes, e.g. "20:00" (YAML reads 20:00 as the number 1200)'
    )
    quoted = default_config_text().replace('when: mobility == "abroad"', 'when: "上海" in location')
    path = write_config(tmp_path, quoted)
    assert config_error(path) == (
        f"{path}: line {line_of(quoted, '上海')} not valid YAML: expected <block end>, but found "
        "'<scalar>'; a value that starts with a quote must end with it: put the whole value in single "
        """quotes, e.g. when: '"上海" in location'"""
    )


def test_rules_with_every_rule_commented_out_is_no_rules(tmp_path: Path) -> None:
    text = default_config_text()
    start, end = text.index("\nrules:\n"), text.index("\ndefault_plan")
    commented = "".join(f"# {line}\n" for line in text[start + 1 : end].splitlines()[1:])
    path = write_config(tmp_path, text[: start + 1] + "rules:\n" + commented + text[end + 1 :])
    assert load_config(path).rules == []


def test_missing_plan_section_and_reversed_training_dates(tmp_path: Path) -> None:
    data = yaml.safe_load(default_config_text())
    del data["plans"]["delivered"]
    data["training"]["end"] = "2026-11-01"
    path = write_config(tmp_path, yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    message = config_error(path)
    assert "Config value 'training': end (2026-11-01) is before start (2026-12-07)" in message
    assert "Config value 'plans': missing delivered; every plan needs its section" in message


def test_duplicate_rule_names(tmp_path: Path) -> None:
    text = default_config_text().replace("  - name: 在途货运", "  - name: 境外党员")
    path = write_config(tmp_path, text)
    message = config_error(path)
    assert message.splitlines()[1:] == [
        f"  - line {line_of(text, 'name: 境外党员') + 4}: Config value 'rules.1.name': two rules are named "
        "'境外党员'; give each its own name",
    ]


def test_missing_material_names_the_line_and_where_it_looked(tmp_path: Path) -> None:
    text = default_config_text().replace("materials/04-fazhi.md", "materials/99-missing.md", 1)
    path = write_config(tmp_path, text)
    message = config_error(path)
    assert message.splitlines()[1] == (
        f"  - line {line_of(text, '99-missing')}: Config value 'plans.self_study.materials.3': material "
        f"'materials/99-missing.md' not found (looked in {tmp_path}, its templates/ folder and the built-in "
        "templates); check the path under plans: … materials:"
    )


def test_pdf_courseware_is_loaded_with_its_page_count_and_title(tmp_path: Path) -> None:
    blank_pdf(tmp_path / "courseware" / "safety.pdf", pages=3)
    text = self_study_materials(
        "materials/06-xuexi-fangfa.md",
        "{file: courseware/safety.pdf, title: 安全生产课件}",
        "courseware/safety.pdf",
    )
    config = load_config(write_config(tmp_path, text))
    materials = load_materials(config, config.plans["self_study"])
    assert [(m.title, m.kind, m.pages) for m in materials[-2:]] == [
        ("安全生产课件", "pdf", 3),
        ("safety", "pdf", 3),
    ]
    assert materials[-2].label == "安全生产课件 (PDF, 3 页)"
    assert materials[-2].path == tmp_path / "courseware" / "safety.pdf"


def test_an_empty_chapter_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "materials").mkdir()
    (tmp_path / "materials" / "empty.md").write_text("\n  \n", encoding="utf-8")
    text = self_study_materials("materials/empty.md")
    message = config_error(write_config(tmp_path, text))
    assert message.splitlines()[1] == (
        f"  - line {line_of(text, 'empty.md')}: Config value 'plans.self_study.materials.5': material "
        f"'{tmp_path / 'materials' / 'empty.md'}' is empty; write the chapter or take it out of the plan's "
        "materials"
    )


def test_a_chapter_shows_images_from_beside_it_and_names_a_missing_one(tmp_path: Path) -> None:
    (tmp_path / "materials" / "images").mkdir(parents=True)
    (tmp_path / "materials" / "images" / "map.png").write_bytes(b"png")
    chapter = tmp_path / "materials" / "map.md"
    chapter.write_text("# 地图\n\n![路线](images/map.png)\n", encoding="utf-8")
    config = load_config(write_config(tmp_path, self_study_materials("materials/map.md")))
    (material,) = load_materials(config, config.plans["self_study"])[-1:]
    assert f'src="{(tmp_path / "materials" / "images" / "map.png").as_uri()}"' in material.html

    from packgen.build.incremental import inputs_fingerprint

    before = inputs_fingerprint(config)
    (tmp_path / "materials" / "images" / "map.png").write_bytes(b"another png")
    assert inputs_fingerprint(config) != before  # a new picture renders the booklets again

    (tmp_path / "materials" / "images" / "my map.png").write_bytes(b"png")
    chapter.write_text("# 地图\n\n![路线](images/my%20map.png)\n", encoding="utf-8")
    (material,) = load_materials(config, config.plans["self_study"])[-1:]
    assert material.images == (tmp_path / "materials" / "images" / "my map.png",)

    chapter.write_text("# 地图\n\n![路线](images/nosuch.png)\n", encoding="utf-8")
    text = self_study_materials("materials/map.md")
    assert config_error(write_config(tmp_path, text)).splitlines()[1] == (
        f"  - line {line_of(text, 'map.md')}: Config value 'plans.self_study.materials.5': material "
        f"'{chapter}' shows the image 'images/nosuch.png', which is not at "
        f"{tmp_path / 'materials' / 'images' / 'nosuch.png'}"
    )


@pytest.mark.parametrize("user_password", ["secret", ""])  # cannot be opened / opens but is protected
def test_encrypted_pdf_courseware_is_a_config_error(tmp_path: Path, user_password: str) -> None:
    import pikepdf

    with pikepdf.new() as pdf:
        pdf.add_blank_page()
        pdf.save(tmp_path / "locked.pdf", encryption=pikepdf.Encryption(user=user_password, owner="owner"))
    text = self_study_materials("locked.pdf")
    path = write_config(tmp_path, text)
    message = config_error(path)
    assert message.splitlines()[1] == (
        f"  - line {line_of(text, 'locked.pdf')}: Config value 'plans.self_study.materials.5': material "
        f"'{tmp_path / 'locked.pdf'}' is an encrypted PDF; save an unprotected copy"
    )


def test_unreadable_pdf_and_unknown_kind_are_config_errors(tmp_path: Path) -> None:
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    (tmp_path / "notes.docx").write_bytes(b"PK")
    text = self_study_materials("broken.pdf", "notes.docx")
    path = write_config(tmp_path, text)
    message = config_error(path)
    lines = message.splitlines()
    assert lines[0] == f"{path}: 2 problem(s) in the config:"
    assert lines[1].startswith(
        f"  - line {line_of(text, 'broken.pdf')}: Config value 'plans.self_study.materials.5': material "
        f"'{tmp_path / 'broken.pdf'}' is not a readable PDF ("
    )
    assert lines[2] == (
        f"  - line {line_of(text, 'notes.docx')}: Config value 'plans.self_study.materials.6': 'notes.docx' "
        "is neither a Markdown chapter (.md) nor PDF courseware (.pdf)"
    )


def test_workspace_chapter_overrides_the_builtin_one(tmp_path: Path) -> None:
    chapter = tmp_path / "templates" / "materials" / "01-dangzhang.md"
    chapter.parent.mkdir(parents=True)
    chapter.write_text("# 本村自编：党章学习要点\n\n第一条……\n", encoding="utf-8")
    config = load_config(write_config(tmp_path, default_config_text()))
    first = load_materials(config, config.plans["online"])[0]
    assert (first.title, first.path) == ("本村自编：党章学习要点", chapter)


@pytest.mark.parametrize(("chapters", "end"), [(6, "2027-02-07"), (12, "2026-12-27"), (2, "2027-01-10")])
def test_weekly_schedule_covers_every_chapter_in_order(tmp_path: Path, chapters: int, end: str) -> None:
    data = yaml.safe_load(default_config_text())
    data["training"].update(end=end, report_by=None)
    data["plans"]["online"]["sessions"] = data["plans"]["delivered"]["rounds"] = []
    for i in range(chapters):
        (tmp_path / f"c{i:02}.md").write_text(f"# 第{i + 1}课\n", encoding="utf-8")
    data["plans"]["self_study"]["materials"] = [f"c{i:02}.md" for i in range(chapters)]
    config = load_config(write_config(tmp_path, yaml.safe_dump(data, allow_unicode=True)))
    rows = weekly_schedule(config, load_materials(config, config.plans["self_study"]))
    studied = [part for row in rows if not row.what.startswith("复习") for part in row.what.split("；")]
    assert studied == [f"第{i + 1}课" for i in range(chapters)]
    assert rows[0].when.startswith("第1周 12月7日–12月13日")
    reviews = [row.what.removeprefix("复习：") for row in rows if row.what.startswith("复习：")]
    assert all(title in studied for title in reviews)
    assert len(rows) == len({row.when for row in rows})


def test_delivery_rounds_by_route_and_gaps(tmp_path: Path) -> None:
    text = default_config_text().replace(
        "      - {date: 2027-01-07, title: 第二轮送学：上门辅导}",
        "      - {date: 2027-01-07, title: 第二轮送学：上门辅导, routes: [一线]}",
    )
    config = load_config(write_config(tmp_path, text))
    one = member_from_mapping(
        {"id": "A", "name": "甲", "送学路线": "一线", "指定学习方式": "送学", "邮寄地址": "x"}
    )
    two = member_from_mapping({"id": "B", "name": "乙", "送学路线": "二线", "指定学习方式": "送学"})
    (m1, a1), (m2, a2) = assign_plans(config, [one, two])
    first, second = booklet_content(config, m1, a1), booklet_content(config, m2, a2)
    assert [r.what for r in first.schedule] == [
        "第一轮送学：送材料、讲计划",
        "第二轮送学：上门辅导",
        "第三轮送学：收记录、谈体会",
    ]
    assert [r.what for r in second.schedule] == ["第一轮送学：送材料、讲计划", "第三轮送学：收记录、谈体会"]
    assert first.problems == []
    assert second.problems == ["送学上门但没有邮寄地址 (delivered, but no address)"]


def test_member_whose_route_no_round_visits_is_not_covered(tmp_path: Path) -> None:
    data = yaml.safe_load(default_config_text())
    for delivery_round in data["plans"]["delivered"]["rounds"]:
        delivery_round["routes"] = ["一线"]
    config = load_config(write_config(tmp_path, yaml.safe_dump(data, allow_unicode=True)))
    person = member_from_mapping(
        {"id": "C", "name": "丙", "送学路线": "三线", "指定学习方式": "送学", "邮寄地址": "x"}
    )
    ((m, a),) = assign_plans(config, [person])
    content = booklet_content(config, m, a)
    assert content.schedule == []
    assert content.problems == ["送学上门但没有覆盖其路线的送学轮次 (no delivery round covers the route)"]


def test_a_key_given_twice_is_an_error_not_silently_dropped(tmp_path: Path) -> None:
    text = default_config_text().replace(
        "default_plan: self_study\n", "default_plan: self_study\ndefault_plan: online\n"
    )
    path = write_config(tmp_path, text)
    message = config_error(path)
    first = line_of(text, "default_plan: self_study")
    assert message.splitlines()[1] == (
        f"  - line {first}: Config value 'default_plan': given again on line {first + 1}; only the last "
        "would count, so merge them"
    )


def test_yaml_cannot_construct_python_objects(tmp_path: Path) -> None:
    text = default_config_text().replace(
        "output: output", "output: !!python/object/apply:os.system [echo hacked]"
    )
    path = write_config(tmp_path, text)
    message = config_error(path)
    assert message == (
        f"{path}: line {line_of(text, 'python/object')} not valid YAML: could not determine a constructor for "
        "the tag 'tag:yaml.org,2002:python/object/apply:os.system'"
    )


def test_a_rule_with_an_unknown_plan(tmp_path: Path) -> None:
    text = default_config_text().replace("    plan: online\n", "    plan: onlin\n", 1)
    path = write_config(tmp_path, text)
    message = config_error(path)
    assert message.splitlines()[1:] == [
        f"  - line {line_of(text, 'plan: onlin')}: Config value 'rules.0.plan': Input should be 'self_study', "
        "'online' or 'delivered'"
    ]


def test_a_templates_folder_that_is_not_there(tmp_path: Path) -> None:
    text = default_config_text().replace("templates: templates", "templates: my-templates")
    path = write_config(tmp_path, text)
    message = config_error(path)
    assert message.splitlines()[1] == (
        f"  - line {line_of(text, 'templates: my-templates')}: Config value 'templates': folder "
        f"{tmp_path / 'my-templates'} does not exist; create it or fix the path"
    )
    (tmp_path / "my-templates").mkdir()
    assert load_config(path).templates == "my-templates"


def test_online_without_sessions_gets_the_weekly_chapters_and_sessions_sort_by_date(tmp_path: Path) -> None:
    data = yaml.safe_load(default_config_text())
    sessions = data["plans"]["online"]["sessions"]
    data["plans"]["online"]["sessions"] = sessions[::-1]
    config = load_config(write_config(tmp_path, yaml.safe_dump(data, allow_unicode=True)))
    person = member_from_mapping({"id": "A", "name": "甲", "指定学习方式": "线上"})
    ((m, a),) = assign_plans(config, [person])
    assert [r.what for r in booklet_content(config, m, a).schedule][:2] == [
        "冬训动员会（线上）",
        "专题党课：学习党章",
    ]
    data["plans"]["online"]["sessions"] = []
    config = load_config(write_config(tmp_path, yaml.safe_dump(data, allow_unicode=True)))
    schedule = booklet_content(config, m, a).schedule
    assert schedule[0].when.startswith("第1周") and schedule[0].what == "学习党章：党员的义务和权利"


def test_rule_problems_are_reported_with_schema_problems(tmp_path: Path) -> None:
    text = default_config_text().replace("  size: A5          # A5, A4 or B5", "  size: A3")
    text = text.replace('when: mobility == "abroad"', "when: open('/etc/passwd')")
    path = write_config(tmp_path, text)
    message = config_error(path)
    assert message.splitlines()[:3] == [
        f"{path}: 2 problem(s) in the config:",
        f"  - line {line_of(text, 'size: A3')}: Config value 'page.size': Input should be 'A5', 'A4' or 'B5'",
        f"  - line {line_of(text, 'open(')}: Config value 'rules.0.when': rule '境外党员': calling 'open' is not "
        "allowed in a condition: open('/etc/passwd'); the functions a condition may call are len, lower, "
        "startswith, endswith, contains",
    ]
