"""The whole tool on the bundled example: roster in, a real PDF booklet per member out."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import PROFILES, ROOT, pdffonts, pdftotext, write_csv

EXAMPLE_IDS = "QS0001,QS0036,QS0037"  # one member per plan keeps the test quick


def test_build_example_members_reads_back(run, tmp_path: Path) -> None:
    result = run("build", PROFILES, "-o", tmp_path / "out", "--only", EXAMPLE_IDS, "-j", "2")
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    entries = {e["id"]: e for e in manifest["members"]}
    assert set(entries) == set(EXAMPLE_IDS.split(","))
    assert {e["plan"] for e in entries.values()} == {"self_study", "online", "delivered"}
    for entry in entries.values():
        pdf = tmp_path / "out" / entry["file"]
        assert entry["status"] == "built"
        text = pdftotext(pdf)
        assert entry["name"] in text
        assert "\ufffd" not in text
        fonts = pdffonts(pdf)
        assert "CJK" in fonts and " yes yes " in fonts
        assert entry["pages"] >= 20
        assert f"共 {entry['pages']} 页" in text
    csv_text = (tmp_path / "out" / "manifest.csv").read_bytes()
    assert csv_text.startswith(b"\xef\xbb\xbf")


def test_console_script_and_module_entry_points(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "packgen", "plan", str(PROFILES), "--json"],
        capture_output=True, text=True, cwd=tmp_path, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert len(data["members"]) >= 30
    assert set(data["by_plan"]) == {"self_study", "online", "delivered"}


def test_preview_prints_plan_reason_and_schedule(run) -> None:
    result = run("preview", "QS0037", "-p", PROFILES)
    assert result.exit_code == 0, result.output
    assert "线上联学" in result.output
    assert "境外党员" in result.output  # the rule that matched
    assert "冬训动员会" in result.output  # first online session in the schedule


def test_validate_missing_name_names_file_row_and_column(run, tmp_path: Path) -> None:
    roster = write_csv(tmp_path / "r.csv", "党员编号,姓名,所在党支部\nA1,张三,东湖村\nA2,,东湖村\n")
    result = run("validate", roster)
    assert result.exit_code == 1
    assert f"error: {roster}, row 3, column '姓名': name is empty; every member needs one" in result.output


def test_unreadable_file_exits_2_with_one_line(run, tmp_path: Path) -> None:
    result = run("validate", tmp_path / "nope.csv")
    assert result.exit_code == 2
    assert result.output.strip() == f"error: {tmp_path / 'nope.csv'}: no such file"


def test_bad_config_exits_2_without_traceback(run, tmp_path: Path) -> None:
    (tmp_path / "packgen.yaml").write_text("organization: [\n", encoding="utf-8")
    result = run("validate", PROFILES)
    assert result.exit_code == 2
    assert result.output.startswith(f"error: {tmp_path / 'packgen.yaml'}: line")
    assert "Traceback" not in result.output


def test_readme_names_the_ci_test_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    command = ci.strip().splitlines()[-1]
    assert command in readme
