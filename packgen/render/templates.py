"""The Jinja side of rendering: one environment for every template packgen renders (booklets and
address labels), the labels printed in each booklet language, and how dates and numbers print.

Templates are looked up in the workspace's templates folder first, then among the built-in ones;
a workspace template extends a built-in one as ``builtin/NAME``. Autoescaping is always on, whatever
a template's file name: profile data is untrusted. Templates render in Jinja's immutable sandbox:
a template received from others may show what it is given, never run code, read or write a file
(the paths of materials included) or load a template from outside its folder.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import os
import traceback
from pathlib import Path, PurePath
from typing import Any

import jinja2
import segno
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup

from packgen.assets import builtin_templates_dir
from packgen.config.schema import Config
from packgen.content.plans import format_date
from packgen.errors import ConfigError

TEMPLATE = "booklet.html.j2"
#: a template that cannot be loaded at all: a config error, for every booklet alike
UNLOADABLE = (jinja2.TemplateSyntaxError, jinja2.TemplateNotFound, UnicodeDecodeError)

LABELS: dict[str, dict[str, Any]] = {
    "zh": {
        "booklet_title": "流动党员个性化学习辅导手册",
        "page_footer": '"第 " counter(page) " 页 / 共 " counter(pages) " 页"',
        "member_id": "党员编号", "period": "学习时间",
        "letter_title": "致流动党员的一封信", "dear": "亲爱的", "comrade": "同志：",
        "toc": "目录", "schedule": "学习安排", "links": "线上课程与活动", "delivery": "送学上门安排",
        "materials": "学习材料", "records": "学习记录表", "reflection": "心得体会", "contacts": "联系方式",
        "when": "时间", "what": "内容", "done": "完成", "report_back": "学习反馈", "chat_group": "支部群",
        "scan": "用手机扫描二维码，即可进入课程或活动。", "address": "送达地址", "route": "送学路线",
        "phone": "联系电话", "rounds": "送学轮次", "address_missing": "（暂无地址，请与支部联系）",
        "materials_intro": "本手册收录以下学习材料，请按学习安排逐章学习，并在记录表中登记。",
        "date": "日期", "studied": "学习内容", "hours": "时长", "signature": "签名",
        "reflection_hint": "请结合本人工作和生活实际，写下学习体会（不少于300字）。",
        "contact_name": "联系人", "contact_role": "职责", "wechat": "微信",
        "branch": "所在支部", "why": "为什么这样安排", "recipient": "收件人", "received": "签收",
        "courseware": "课件", "courseware_note": "本章为课件原文，附于后页。",
        "chapter_no": lambda n: f"第{zh_number(n)}章", "colon": "：",
        "phone_missing": "（暂无电话，请与支部联系）", "route_missing": "（未定路线）",
        "qr": "二维码",
    },
    "en": {
        "booklet_title": "Personal study booklet for members away from home",
        "page_footer": '"Page " counter(page) " of " counter(pages)',
        "member_id": "Member no.", "period": "Training period",
        "letter_title": "A letter to you", "dear": "Dear ", "comrade": ",",
        "toc": "Contents", "schedule": "Your schedule", "links": "Online courses and sessions",
        "delivery": "Delivery of materials", "materials": "Study materials", "records": "Study record",
        "reflection": "Reflections", "contacts": "Contacts", "when": "When", "what": "What", "done": "Done",
        "report_back": "Reporting back", "chat_group": "Chat group",
        "scan": "Scan a code with your phone to open the course or session.", "address": "Address",
        "route": "Route", "phone": "Phone", "rounds": "Delivery rounds", "address_missing": "(no address yet)",
        "materials_intro": "This booklet holds the following materials; study one chapter at a time.",
        "date": "Date", "studied": "What I studied", "hours": "Hours", "signature": "Signature",
        "reflection_hint": "Write down what you learned and how it relates to your work and life.",
        "contact_name": "Name", "contact_role": "Role", "wechat": "WeChat",
        "branch": "Branch", "why": "Why this plan", "recipient": "Recipient", "received": "Received",
        "courseware": "courseware", "courseware_note": "The courseware follows on the next pages.",
        "chapter_no": lambda n: f"Chapter {n}", "colon": ": ",
        "phone_missing": "(no phone yet)", "route_missing": "(no route yet)",
        "qr": "QR code",
    },
}  # fmt: skip


def iso_utc(moment: dt.datetime) -> str:
    """``moment`` as the booklets' and labels' metadata date: ISO 8601 in UTC."""
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def zh_number(n: int) -> str:
    """1 -> 一, 10 -> 十, 11 -> 十一, 24 -> 二十四 (to 99; digits beyond)."""
    digits = "零一二三四五六七八九"
    if not 0 < n < 100:
        return str(n)
    tens, ones = divmod(n, 10)
    if not tens:
        return digits[ones]
    return f"{digits[tens] if tens > 1 else ''}十{digits[ones] if ones else ''}"


def build_date() -> dt.datetime:
    """The date printed in booklets: ``SOURCE_DATE_EPOCH`` when set (in UTC, so builds are
    reproducible on any machine), else now in the machine's time zone (a build at 7:00 in Beijing
    prints today's date, not yesterday's in UTC)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        try:
            return dt.datetime.fromtimestamp(int(epoch), tz=dt.timezone.utc)
        except ValueError:
            raise ConfigError(f"SOURCE_DATE_EPOCH={epoch!r} is not a number of seconds") from None
    return dt.datetime.now().astimezone().replace(microsecond=0)


@functools.lru_cache(maxsize=256)
def qr_svg(url: str, title: str = "") -> Markup:
    """An inline SVG QR code for ``url``; a plan's links are the same for each of its members.

    ``title`` (else the address) is the SVG's ``<title>``: the alternative text a tagged PDF gives
    the code, which a screen reader reads out (WeasyPrint takes it from the SVG's first child)."""
    buffer = io.BytesIO()
    segno.make(url, error="m").save(
        buffer, kind="svg", xmldecl=False, svgns=True, border=2, scale=4, title=title or url
    )
    return Markup(buffer.getvalue().decode("utf-8"))


class Sandbox(ImmutableSandboxedEnvironment):
    """Jinja's sandbox (no ``__globals__``, ``__class__``, ``mro``; no changing a list or dict it is
    given; ``range`` of at most 100,000 numbers) that also keeps a template from a file's methods:
    a material's ``path`` shows its name, never ``read_text()`` or ``write_text()``."""

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if isinstance(obj, PurePath) and attr not in ("name", "stem", "suffix"):
            return False
        return bool(super().is_safe_attribute(obj, attr, value))


class FolderLoader(jinja2.FileSystemLoader):
    """Templates from one folder and nothing a symlink in it points to elsewhere."""

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, Any]:
        source, filename, uptodate = super().get_source(environment, template)
        folders = [Path(folder).resolve() for folder in self.searchpath]
        if not any(Path(filename).resolve().is_relative_to(folder) for folder in folders):
            raise ConfigError(
                f"template {filename} is a symlink to {Path(filename).resolve()}, outside the templates "
                "folder; copy the template into the folder instead"
            )
        return source, filename, uptodate


def environment(config: Config) -> jinja2.Environment:
    """The Jinja environment for ``config``'s templates: the workspace's first, then the built-in ones
    (also reachable as ``builtin/NAME``, for a workspace template that extends one)."""
    builtin = builtin_templates_dir()
    env = Sandbox(
        loader=jinja2.ChoiceLoader(
            [
                jinja2.PrefixLoader({"builtin": FolderLoader(builtin)}),
                FolderLoader(config.resolve(config.templates)),
                FolderLoader(builtin),
            ]
        ),
        autoescape=True,  # always, whatever a template's file name: profile data is untrusted
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["qr"] = qr_svg
    env.globals["date"] = functools.partial(format_date, language=config.page.language)
    return env


def check_template(env: jinja2.Environment, name: str, folder: Path) -> None:
    """Load template ``name`` (and what it extends), so a broken one stops a build before any booklet.

    ``folder`` is the workspace's templates folder, for the messages."""
    try:
        template = env.get_template(name)
        for _ in range(20):  # the templates it extends, which load when it renders
            parent = _extended(template)
            if parent is None:
                return
            template = env.get_template(parent)
    except UNLOADABLE as exc:
        raise template_error(exc, folder) from None
    raise ConfigError(
        f"template {name} in {folder} extends itself; a workspace template "
        f'extends the built-in one as {{% extends "builtin/{name}" %}}'
    )


def template_error(exc: Exception, folder: Path) -> ConfigError:
    """A template that cannot be loaded (syntax, not found, not UTF-8) as the config error it is."""
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return ConfigError(f"template {exc.filename or exc.name}, line {exc.lineno}: {exc.message}")
    if isinstance(exc, jinja2.TemplateNotFound):
        return ConfigError(f"template '{exc.name}' not found in {folder} or built-ins")
    unreadable = [p for p in sorted(folder.rglob("*.j2")) if not _is_utf8(p)]
    where = ", ".join(str(p) for p in unreadable) or f"a template in {folder}"
    return ConfigError(f"{where}: not UTF-8 text; save it as UTF-8")


def where(exc: BaseException) -> str:
    """``template PATH, line N: `` for an error raised while a template rendered (Jinja maps its
    frames to the template's file and line), else nothing."""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if not frame.filename.endswith(".py") and frame.lineno:
            return f"template {frame.filename}, line {frame.lineno}: "
    return ""


def _extended(template: Any) -> str | None:
    """The name a template extends (``{% extends "…" %}`` with a constant name), if any."""
    if not template.filename:
        return None
    tree = template.environment.parse(Path(template.filename).read_text(encoding="utf-8"))
    node = next(tree.find_all(jinja2.nodes.Extends), None)
    if node is not None and isinstance(node.template, jinja2.nodes.Const):
        return str(node.template.value)
    return None


def _is_utf8(path: Path) -> bool:
    try:
        path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return True
