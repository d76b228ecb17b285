"""``packgen init``: scaffold a workspace an organizer can start from."""

from __future__ import annotations

from pathlib import Path

from packgen.assets import builtin_templates_dir
from packgen.config.load import default_config_text
from packgen.config.schema import CONFIG_NAME
from packgen.errors import UsageError

SAMPLE_ROSTER = (
    "党员编号,姓名,性别,出生年月,所在党支部,流动类型,流入地,从事职业,联系电话,网络条件,能否返乡,邮寄地址,送学路线,指定学习方式,备注\r\n"
    "D0001,张三,男,1980年5月,东湖村党支部,省外,上海市浦东新区,电子厂操作工,138 0000 0001,良好,否,,,,\r\n"
    "D0002,李四,女,1958-03,东湖村党支部,省内,苏州市工业园区,退休（随子女居住）,138 0000 0002,较差,否,苏州市工业园区星湖街1号,二线（苏州方向）,,\r\n"
    "D0003,王五,男,1975.9,东湖村党支部,在途,长途货运,货车司机,138 0000 0003,一般,否,,,,\r\n"
)

TEMPLATES_README = """Templates in this folder take precedence over packgen's built-in ones.

To change one part of the booklet, create booklet.html.j2 here that extends the built-in one and
overrides only the blocks you need, block by block (head, cover, letter, toc, schedule, links,
delivery, materials, records, contacts, back):

    {% extends "builtin/booklet.html.j2" %}
    {% block letter %}
      {{ super() }}
      <p>本村支部书记：王书记，电话 139 0000 0000。</p>
    {% endblock %}

A print.css here replaces the built-in stylesheet; materials/… files here replace built-in chapters.
"""


def init_workspace(directory: Path, *, force: bool = False) -> list[Path]:
    """Create packgen.yaml, profiles/ (with a sample roster), materials/ (the built-in chapters, to
    edit), templates/ and output/ in ``directory``. Existing files other than packgen.yaml are kept."""
    try:
        return _init(directory, force)
    except OSError as exc:
        where = exc.filename or directory
        raise UsageError(
            f"{where}: cannot create the workspace there ({exc.strerror}); choose another folder"
        ) from None


def _init(directory: Path, force: bool) -> list[Path]:
    config = directory / CONFIG_NAME
    if config.exists() and not force:
        raise UsageError(f"{config} already exists; use --force to overwrite it")
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"{directory} exists and is not a folder")
    created: list[Path] = []
    for folder in ("profiles", "templates", "output"):
        (directory / folder).mkdir(parents=True, exist_ok=True)
    config.write_text(default_config_text(), encoding="utf-8")
    created.append(config)
    roster = directory / "profiles" / "roster.csv"
    if not roster.exists():
        roster.write_text(SAMPLE_ROSTER, encoding="utf-8-sig")
        created.append(roster)
    chapters = builtin_templates_dir() / "materials"
    (directory / "materials").mkdir(exist_ok=True)
    for chapter in sorted(chapters.glob("*.md")):
        copy = directory / "materials" / chapter.name
        if not copy.exists():
            copy.write_text(chapter.read_text(encoding="utf-8"), encoding="utf-8")
            created.append(copy)
    readme = directory / "templates" / "README.txt"
    if not readme.exists():
        readme.write_text(TEMPLATES_README, encoding="utf-8")
        created.append(readme)
    created.append(directory / "output")
    return created
