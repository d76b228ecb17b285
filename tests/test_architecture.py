"""The layout stays what docs/architecture.md says: stages import only the stages below them, no
import cycles, WeasyPrint only behind the engine, and no module grows past ~400 lines unexplained."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` on the ``packgen`` package found in ``root``, with the repository's contracts."""
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=root, capture_output=True, text=True, env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip


def test_the_architecture_contracts_hold() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 3 kept, 0 broken." in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        # a lower layer importing an upper one
        ("roster/readers.py", "import packgen.cli", "Pipeline stages import only the stages below them BROKEN"),
        # two modules of one stage importing each other
        ("outputs/manifest.py", "import packgen.outputs.printrun", "No import cycles, between packages or between modules BROKEN"),
        # WeasyPrint reached from outside the engine
        ("content/plans.py", "import weasyprint", "Only the engine imports WeasyPrint BROKEN"),
    ],
)  # fmt: skip
def test_the_contracts_fail_when_the_code_breaks_them(
    tmp_path: Path, module: str, line: str, broken: str
) -> None:
    shutil.copytree(ROOT / "packgen", tmp_path / "packgen", ignore=shutil.ignore_patterns("__pycache__"))
    target = tmp_path / "packgen" / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")
    result = lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout
    assert broken in result.stdout


def test_no_module_is_longer_than_400_lines_without_saying_why() -> None:
    long = []
    for path in sorted((ROOT / "packgen").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > 400 and "Longer than 400 lines" not in text[:3000]:
            long.append(f"{path.relative_to(ROOT)} ({text.count(chr(10))} lines)")
    assert not long, "split these, or say at the top why they are one module: " + ", ".join(long)
