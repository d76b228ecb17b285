"""Random and hostile values through everything that reads what others wrote: the profile readers
(CSV, XLSX and YAML bytes), the rule parser and ``merge``'s shard reader. Whatever comes in: no
traceback, exit code 0, 1 or 2, and nothing written anywhere (validate and a refused merge write
nothing at all). Run with ``--hypothesis-show-statistics`` to see how many cases each tried.
"""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from typer.testing import CliRunner

from packgen.build.shards import read_shard
from packgen.cli import app
from packgen.config import default_config_text, load_config
from packgen.config.checks import check_rules
from packgen.config.schema import Rule
from packgen.errors import PackgenError
from packgen.roster.members import load_roster, member_from_mapping
from packgen.rules.ruleset import assign_plans

FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)

#: pieces a hostile cell is made of: separators, quotes, line breaks, formulas, tags, text direction
#: controls, NUL, Excel errors, YAML syntax, a long run
HOSTILE = st.sampled_from(
    [",", ";", "\t", '"', "'", "\n", "\r\n", "=", "=1+1", "#N/A", "<script>", "{{ 7*7 }}", "\u202e", "\u2066",
     "\x00", "\ufeff", "　", "张三", "QS0001", "境外", "良好", "送学上门", "1975.10", "- ", ": ", "&a", "*a",
     "!!python/object", "[", "{", "~", "null", "长" * 2_500, "0" * 30]
)  # fmt: skip
CELL = st.one_of(st.text(max_size=30), st.lists(HOSTILE, max_size=4).map("".join))
HEADER = st.sampled_from(["党员编号", "姓名", "所在党支部", "流动类型", "网络条件", "id", "name", "备注", ""])


def run_cli(*args: str | Path) -> Any:
    """The packgen CLI in-process; an exception (a traceback for a user) fails the test."""
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


def files_in(folder: Path) -> list[tuple[str, int]]:
    return sorted(
        (str(p.relative_to(folder)), p.stat().st_size if p.is_file() else -1) for p in folder.rglob("*")
    )


def validate_bytes(name: str, data: bytes) -> None:
    """Read ``data`` as a profile file, as ``packgen validate`` does: a roster (its problems exit 1) or
    a :class:`PackgenError` (exit 2), and nothing written."""
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / name
        path.write_bytes(data)
        before = files_in(Path(scratch))
        try:
            load_roster([path])
        except PackgenError as exc:
            assert exc.exit_code == 2 and str(exc)
        assert files_in(Path(scratch)) == before


@settings(FUZZ, max_examples=150)
@given(rows=st.lists(st.lists(CELL, min_size=1, max_size=6), min_size=1, max_size=6), header=st.lists(HEADER, min_size=1, max_size=6),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "utf-16"]))  # fmt: skip
def test_csv_profiles_of_hostile_cells(rows: list[list[str]], header: list[str], encoding: str) -> None:
    lines = [",".join(header)] + [",".join(row) for row in rows]
    validate_bytes("r.csv", "\n".join(lines).encode(encoding, errors="replace"))


@settings(FUZZ, max_examples=100)
@given(data=st.binary(max_size=300))
def test_random_bytes_as_any_profile(data: bytes) -> None:
    for name in ("r.csv", "r.yaml", "r.xlsx"):
        validate_bytes(name, data)


@settings(FUZZ, max_examples=10)
@given(data=st.binary(max_size=300), name=st.sampled_from(["r.csv", "r.yaml", "r.xlsx"]))
def test_packgen_validate_exits_0_1_or_2_on_random_bytes(data: bytes, name: str) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        (Path(scratch) / name).write_bytes(data)
        result = run_cli("validate", Path(scratch) / name)
        assert result.exit_code in (0, 1, 2) and "Traceback" not in result.output


YAML_VALUE = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), CELL),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.one_of(HEADER, CELL), inner, max_size=3),
    max_leaves=12,
)


@settings(FUZZ, max_examples=150)
@given(value=YAML_VALUE, raw=st.lists(HOSTILE, max_size=12).map("".join))
def test_yaml_profiles_of_hostile_structure(value: Any, raw: str) -> None:
    validate_bytes("r.yaml", yaml.safe_dump(value, allow_unicode=True).encode("utf-8"))
    validate_bytes("r.yaml", raw.encode("utf-8", errors="replace"))


@settings(FUZZ, max_examples=30)
@given(rows=st.lists(st.lists(st.one_of(CELL, st.integers(), st.floats(allow_nan=False), st.none()), max_size=5), min_size=1, max_size=5),
       header=st.lists(HEADER, min_size=1, max_size=5))  # fmt: skip
def test_xlsx_profiles_of_hostile_cells(rows: list[list[Any]], header: list[str]) -> None:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    book = Workbook()
    for row in [header, *rows]:  # what Excel cannot hold in a cell, openpyxl refuses to write
        book.active.append(
            [ILLEGAL_CHARACTERS_RE.sub("", v)[:32_000] if isinstance(v, str) else v for v in row]
        )
    buffer = io.BytesIO()
    book.save(buffer)
    validate_bytes("r.xlsx", buffer.getvalue())


CONDITION = st.one_of(
    st.text(max_size=80),
    st.lists(
        st.sampled_from(
            ["age", "name", "mobility", "occupation", "can_return", "x", "not ", " and ", " or ", " in ", " if ",
             " else ", "len(", "lower(", "contains(", "startswith(", ")", "(", "[", "]", ",", "-", "+", "*", "/",
             "%", "**", "==", "!=", ">=", "<", '"abroad"', '"司机"', "1", "0", "1e308", "None", "True", "__class__",
             ".", "lambda", ":", "=", "\u202e", "'"]
        ),
        max_size=60,
    ).map("".join),
    st.integers(min_value=1, max_value=499).map(lambda n: "-" * n + "age > 1"),
    st.integers(min_value=300, max_value=493).map(lambda n: "-" * n + "age > 1"),  # deep, under 500 characters
)  # fmt: skip
BASE = load_config(workspace=Path(tempfile.mkdtemp()))  #: the built-in default config
MEMBERS = [
    member_from_mapping(
        {"id": "A1", "name": "张三", "出生年月": "1960-01", "流动类型": "境外", "从事职业": "司机"}
    ),
    member_from_mapping({"id": "A2", "name": "李四"}),
]


@settings(FUZZ, max_examples=1000)
@given(when=CONDITION)
def test_any_rule_condition_is_taken_or_refused_with_a_message(when: str) -> None:
    """A condition parses and evaluates for every member, or is a config error: never anything else
    (no RecursionError however deep, no TypeError from a value)."""
    config = BASE.model_copy(update={"rules": [Rule(name="试验", when=when, plan="online", reason="试验")]})
    if not check_rules(config):  # what load_config refuses, with the rule's line
        try:
            assign_plans(config, MEMBERS)
        except PackgenError as exc:
            assert exc.exit_code == 2 and str(exc)


JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
ENTRY = st.fixed_dictionaries(
    {"id": st.sampled_from(["A1", "../x", "/etc/passwd", "", "CON"]), "status": st.sampled_from(["built", "failed", "x"])},
    optional={"file": st.sampled_from(["booklets/A1.pdf", "../../outside/x", "/etc/passwd", "", "booklets/../A1.pdf"]),
              "sha256": st.sampled_from(["0" * 64, "", "zz"]), "plan": st.sampled_from(["online", "../x", ""]),
              "pages": JSON, "seq": JSON, "gaps": JSON},
)  # fmt: skip
MANIFEST = st.one_of(
    JSON,
    st.fixed_dictionaries(
        {"members": st.one_of(JSON, st.lists(ENTRY, max_size=3))},
        optional={"shard": st.sampled_from(["1/2", "0/0", "x", None]), "inputs": JSON, "delivery": JSON},
    ),
)


@settings(FUZZ, max_examples=300)
@given(manifest=MANIFEST, raw=st.binary(max_size=64))
def test_any_shard_manifest_is_refused_with_a_message(manifest: Any, raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        shard = Path(scratch) / "shard"
        (shard / "booklets").mkdir(parents=True)
        (shard / "booklets" / "A1.pdf").write_bytes(b"%PDF-1.7")
        for text in (json.dumps(manifest).encode("utf-8"), raw):
            (shard / "manifest.json").write_bytes(text)
            try:
                read_shard(shard)
            except PackgenError as exc:
                assert exc.exit_code == 2 and str(exc).startswith(str(shard))


@settings(FUZZ, max_examples=25)
@given(manifest=MANIFEST)
def test_merge_of_any_shard_writes_nothing_anywhere(manifest: Any) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        (root / "ws").mkdir()
        (root / "shard" / "booklets").mkdir(parents=True)
        (root / "shard" / "booklets" / "A1.pdf").write_bytes(b"%PDF-1.7")
        (root / "shard" / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
        config = root / "ws" / "packgen.yaml"
        config.write_text(default_config_text(), encoding="utf-8")
        before = files_in(root)
        result = run_cli("merge", root / "shard", "-o", root / "ws" / "merged", "-c", config)
        assert result.exit_code in (0, 1, 2), result.output
        assert "Traceback" not in result.output
        if result.exit_code == 2:
            assert files_in(root) == before
