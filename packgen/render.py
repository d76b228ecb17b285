"""Turn (member, plan) into HTML with Jinja, then into a PDF booklet with WeasyPrint.

A :class:`Renderer` holds what can be reused between booklets (the Jinja environment, WeasyPrint's
font configuration, the parsed stylesheets, images, the rendered shared parts), so a batch creates
one per worker process.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import io
import os
import re
import traceback
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jinja2
import segno
from markupsafe import Markup

from packgen import compose, speedups
from packgen.assets import builtin_templates_dir
from packgen.config import Config
from packgen.errors import ConfigError, RenderError
from packgen.fonts import missing_glyphs
from packgen.members import Problem, format_phone
from packgen.plans import BookletContent, format_date, load_material, material_file, resolve_material
from packgen.stylesheets import Stylesheets

TEMPLATE = "booklet.html.j2"
#: a template that cannot be loaded at all: a config error, for every booklet alike
_UNLOADABLE = (jinja2.TemplateSyntaxError, jinja2.TemplateNotFound, UnicodeDecodeError)
#: how many places of runs linking into the booklet a renderer remembers (see ``Renderer._composed``)
_PLACES_KEPT = 256
#: a page rule for left- or right-hand pages only, as mirrored margins need
_SIDED_PAGE = re.compile(r"@page\b[^{;]*:(?:left|right|recto|verso)\b", re.IGNORECASE)

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
        "explanation": lambda rule, reason: f"规则“{rule}”：{reason}",
        "override": lambda label: f"本人或组织指定学习方式：{label}",
        "phone_missing": "（暂无电话，请与支部联系）", "route_missing": "（未定路线）",
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
        "explanation": lambda rule, reason: f"Rule \u201c{rule}\u201d: {reason}",
        "override": lambda label: f"Plan set by you or your branch: {label}",
        "phone_missing": "(no phone yet)", "route_missing": "(no route yet)",
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
def qr_svg(url: str) -> Markup:
    """An inline SVG QR code for ``url``; a plan's links are the same for each of its members."""
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="svg", xmldecl=False, svgns=True, border=2, scale=4)
    return Markup(buffer.getvalue().decode("utf-8"))


class Renderer:
    """Renders booklets for one config; reuse one instance for many members.

    Processes rendering one build together can give the same ``shared_folder``: each run of shared
    sections is then rendered by one of them only (see :class:`compose.SharedCache`).
    """

    def __init__(self, config: Config, *, shared_folder: Path | None = None) -> None:
        self.config = config
        self.builtin = builtin_templates_dir()
        self.workspace_templates = config.resolve(config.templates)
        self.env = jinja2.Environment(
            loader=jinja2.ChoiceLoader(
                [
                    jinja2.PrefixLoader({"builtin": jinja2.FileSystemLoader(self.builtin)}),
                    jinja2.FileSystemLoader(self.workspace_templates),
                    jinja2.FileSystemLoader(self.builtin),
                ]
            ),
            autoescape=True,  # always, whatever a template's file name: profile data is untrusted
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.globals["qr"] = qr_svg
        self.env.globals["date"] = functools.partial(format_date, language=config.page.language)
        #: a workspace print.css replaces the built-in one; relative URLs (images, extra stylesheets)
        #: in templates resolve in the workspace templates folder when there is one
        css = self.workspace_templates / "print.css"
        self.stylesheet = (css if css.is_file() else self.builtin / "print.css").as_uri()
        base = self.workspace_templates if self.workspace_templates.is_dir() else self.builtin
        self.base_url = base.as_uri() + "/"
        self._font_config: Any = None
        self._stylesheets: Stylesheets  #: made with the font configuration, on the first document
        self._image_cache: dict[str, Any] = {}
        self._shared = compose.SharedCache(folder=shared_folder)
        self._sided_heads: dict[str, bool] = {}
        #: where each run that links elsewhere in the booklet was last placed, by a hash of its HTML
        #: (see ``_composed``; a few hundred at most, however many members)
        self._places: dict[str, tuple[int, dict[str, int]]] = {}
        #: False renders every booklet whole, as a plain WeasyPrint loop would (tests compare the two)
        self.fast = True

    def html(self, content: BookletContent) -> str:
        """The booklet's HTML for one member; refuses missing glyphs and attachments before any PDF."""
        return self._html(content, compose.whole)

    def _html(self, content: BookletContent, shared: Callable[..., Any]) -> str:
        """The booklet's HTML; the template calls ``shared`` around what is the same for every member."""
        self.check_glyphs(content)
        created = build_date()
        try:
            template = self.env.get_template(TEMPLATE)
            html = template.render(
                member=content.member,
                assignment=content.assignment,
                plan=content.plan,
                plan_key=content.assignment.plan,
                plan_label=self._plan_label(content),
                content=content,
                org=self.config.organization,
                training=self.config.training,
                page=self.config.page,
                phone=format_phone(content.member.phone),
                L=LABELS[self.config.page.language],
                stylesheet=self.stylesheet,
                created=iso_utc(created),
                shared=shared,
                created_date=format_date(created.date(), self.config.page.language, year=True),
                explanation=self._explanation(content),
            )
        except _UNLOADABLE as exc:
            raise self._template_error(exc) from None
        except jinja2.TemplateError as exc:  # undefined names, filters that fail as they run …
            raise RenderError(f"{content.member.source}: {_where(exc)}{exc.message}") from None
        except (ArithmeticError, LookupError, TypeError, ValueError, AttributeError, RecursionError) as exc:
            raise RenderError(f"{content.member.source}: {_where(exc)}{type(exc).__name__}: {exc}") from None
        check_booklet_html(html, template.filename or TEMPLATE)
        return html

    def _explanation(self, content: BookletContent) -> str:
        """Why the member got the plan, in the booklet's language (the rule's reason is the config's)."""
        labels, assignment = LABELS[self.config.page.language], content.assignment
        if assignment.source == "rule":
            return str(labels["explanation"](assignment.rule, assignment.reason))
        if assignment.source == "override":
            return str(labels["override"](self._plan_label(content)))
        return assignment.reason

    def check_template(self) -> None:
        """Load the booklet template (and what it extends), so a broken one stops a build before any booklet."""
        try:
            template = self.env.get_template(TEMPLATE)
            for _ in range(20):  # the templates it extends, which load when it renders
                parent = _extended(template)
                if parent is None:
                    return
                template = self.env.get_template(parent)
        except _UNLOADABLE as exc:
            raise self._template_error(exc) from None
        raise ConfigError(
            f"template {TEMPLATE} in {self.workspace_templates} extends itself; a workspace template "
            f'extends the built-in one as {{% extends "builtin/{TEMPLATE}" %}}'
        )

    def stylesheet_problems(self) -> list[Problem]:
        """What WeasyPrint would silently ignore in the workspace's own stylesheets (``templates/*.css``):
        a declaration it cannot read (``margin: 3mmm``) is left out of every booklet without a word.

        Copies of the built-in stylesheets are skipped (they are clean), and so is what a stylesheet
        imports: nothing is fetched, and a sheet it imports from this folder is checked on its own.
        """
        folder = self.workspace_templates
        sheets = [
            path
            for path in (sorted(folder.glob("*.css")) if folder.is_dir() else [])
            if not _same_file(path, self.builtin / path.name)
        ]
        if not sheets:
            return []
        import logging

        from weasyprint import CSS
        from weasyprint.urls import URLFetcher, URLFetcherResponse

        class NoImports(URLFetcher):
            def fetch(self, url: str, headers: Any = None) -> Any:
                return URLFetcherResponse(url, body=b"", headers={"Content-Type": "text/css"})

        ignored: list[str] = []

        class Collect(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                ignored.append(record.getMessage())

        logger, handler = logging.getLogger("weasyprint"), Collect(logging.WARNING)
        problems = []
        logger.addHandler(handler)
        try:
            for path in sheets:
                ignored.clear()
                try:
                    CSS(filename=str(path), url_fetcher=NoImports())
                except Exception as exc:  # unreadable: the render says so for each booklet
                    ignored.append(str(exc))
                for message in ignored:
                    at = re.search(r" at (\d+):\d+", message)
                    problems.append(
                        Problem(str(path), int(at[1]) if at else None, None,
                                f"{message} The booklets are printed without it.", severity="warning",
                                row_word="line")
                    )  # fmt: skip
        finally:
            logger.removeHandler(handler)
        return problems

    def _template_error(self, exc: Exception) -> ConfigError:
        """A template that cannot be loaded (syntax, not found, not UTF-8) as the config error it is."""
        if isinstance(exc, jinja2.TemplateSyntaxError):
            return ConfigError(f"template {exc.filename or exc.name}, line {exc.lineno}: {exc.message}")
        if isinstance(exc, jinja2.TemplateNotFound):
            return ConfigError(f"template '{exc.name}' not found in {self.workspace_templates} or built-ins")
        unreadable = [p for p in sorted(self.workspace_templates.rglob("*.j2")) if not _is_utf8(p)]
        where = ", ".join(str(p) for p in unreadable) or f"a template in {self.workspace_templates}"
        return ConfigError(f"{where}: not UTF-8 text; save it as UTF-8")

    def _plan_label(self, content: BookletContent) -> str:
        if self.config.page.language == "en" and content.plan.label_en:
            return content.plan.label_en
        return content.plan.label

    def check_glyphs(self, content: BookletContent) -> None:
        """Refuse a booklet whose member data holds characters no installed font can print.

        Every printed field is checked, extra columns too, so the error names the field to correct
        rather than leaving an empty box in print.
        """
        member = content.member
        fields = member.model_dump(exclude={"birth", "can_return", "extra", "source", "plan"})
        values = [(name, str(value or "")) for name, value in fields.items()]
        values += [(header, value) for header, value in member.extra.items()]
        for field, value in values:
            missing = missing_glyphs(value)
            if missing:
                raise RenderError(
                    f"{member.source} ({member.id} {member.name}): field '{field}' has characters no "
                    f"installed font can print: {' '.join(f'{c} (U+{ord(c):04X})' for c in missing)}; "
                    "install a font that covers them (packgen doctor lists fonts) or correct the value"
                )

    def pdf(self, content: BookletContent) -> bytes:
        """The booklet's PDF bytes for one member.

        What is the same for every member on the plan is rendered once and drawn onto
        blank pages of the member's own part (see :mod:`packgen.compose`); the booklet shows exactly
        what a whole render would.
        """
        from weasyprint.urls import FatalURLFetchingError

        try:
            if not self.fast:
                return include_courseware(self._document(self.html(content)).write_pdf(), content)
            booklet = compose.split(lambda hook: self._html(content, hook))
            if not booklet.ids:
                return include_courseware(self._document(booklet.personal).write_pdf(), content)
            return include_courseware(self._composed(content, booklet), content)
        except FatalURLFetchingError as exc:
            raise RenderError(f"{content.member.source} ({content.member.id}): {exc}") from None

    def _composed(self, content: BookletContent, booklet: compose.Split) -> bytes:
        """The booklet from its personal part and each run of shared sections rendered once.

        A run must start on the same side of the sheet (left or right page) as in a whole render, so
        mirrored margins stay right: each run is first taken as starting on a right-hand page, and
        rendered again for the other side when the personal part puts it on a left-hand one. A run
        that links elsewhere in the booklet (the table of contents) is rendered for its place: the
        page it starts on and the pages of the anchors it links to, as the personal part puts them
        (at first as for the previous booklet with the same run, which is most often right).
        """
        runs = range(len(booklet.runs))
        shared = [booklet.run_html(run) for run in runs]
        targets = booklet.targets
        keys = [hashlib.sha256(shared[run].encode()).hexdigest() if targets[run] else "" for run in runs]
        left = [False] * len(booklet.runs)
        places = [
            self._places.get(keys[run], (2, dict.fromkeys(targets[run], 1))) if targets[run] else None
            for run in runs
        ]

        def part(run: int) -> compose.SharedPart:
            def render(html: str) -> compose.SharedPart:
                document = self._document(html)
                ids = [booklet.ids[i] for i in booklet.runs[run]]
                return compose.read_shared(document, document.write_pdf(), ids)

            place = places[run]
            if place is not None:
                return self._shared.get(compose.paged_html_for(shared[run], *place), render)
            return self._shared.get(compose.shared_html_for(shared[run], left[run]), render)

        sided = self._sided(booklet.head)
        personal = ""
        for _ in range(3):
            parts = [part(run) for run in runs]
            html = compose.with_placeholders(booklet, parts)
            if html != personal:
                personal, document = html, self._document(html)
            firsts = compose.first_pages(document, booklet)
            where = compose.anchor_pages(document)
            wrong = False
            for run, first in enumerate(firsts):
                if places[run] is not None:
                    place = (first + 1, {name: where[name] for name in targets[run] if name in where})
                    wrong |= place != places[run]
                    places[run] = self._places[keys[run]] = place
                    if len(self._places) > _PLACES_KEPT:  # runs that show member data: forget the oldest
                        del self._places[next(iter(self._places))]
                elif sided and (first % 2 == 1) != left[run]:
                    left[run], wrong = not left[run], True
            if not wrong:
                return compose.overlay(document.write_pdf(), parts, firsts)
        return self._document(self.html(content)).write_pdf()  # the layout keeps changing: render whole

    def _sided(self, head: str) -> bool:
        """Whether left- and right-hand pages may look different (``@page :left`` …, mirrored margins).

        When they cannot, a run of shared sections looks the same on either side and is rendered once.
        Read from the booklet head's own styles and the stylesheets in the template folders; a
        stylesheet from elsewhere (a web address) cannot be read here, so it counts as sided.
        """
        if head not in self._sided_heads:
            styles = re.findall(r"<style\b[^>]*>(.*?)</style>", head, flags=re.DOTALL | re.IGNORECASE)
            folders = [self.builtin, self.workspace_templates]
            files = [path for folder in folders if folder.is_dir() for path in sorted(folder.rglob("*.css"))]
            texts = styles + [path.read_text(encoding="utf-8", errors="replace") for path in files]
            remote = re.search(r"<link\b[^>]*\bhref=[\"']?(?!file:)[a-z]+:", head, flags=re.IGNORECASE)
            self._sided_heads[head] = bool(remote) or any(_SIDED_PAGE.search(text) for text in texts)
        return self._sided_heads[head]

    @functools.cached_property
    def _chapter_images(self) -> list[Path]:
        """The images the config's chapters show, which a booklet may load wherever the chapter is
        (found once: the materials are this renderer's config's, like the build's inputs hash)."""
        return [
            image
            for plan in self.config.plans.values()
            for entry in plan.materials
            for image in load_material(resolve_material(self.config, material_file(entry))).images
        ]

    def _document(self, html: str) -> Any:
        """A laid-out WeasyPrint document, with this renderer's fonts, images and fetcher."""
        from weasyprint import HTML
        from weasyprint.text.fonts import FontConfiguration

        from packgen.fetch import SafeFetcher

        if self._font_config is None:
            speedups.install()  # same bytes, less work: see packgen/speedups.py
            self._font_config = FontConfiguration()
            self._stylesheets = Stylesheets(self._font_config)
        fetcher = SafeFetcher(
            [self.builtin, self.workspace_templates, self.config.workspace],
            self.config.allowed_hosts,
            files=self._chapter_images,
        )
        document = HTML(string=html, base_url=self.base_url, url_fetcher=fetcher)
        sheets = self._stylesheets.take(document)  # parsed once per renderer, not per document
        if sheets is None:
            return document.render(font_config=self._font_config, cache=self._image_cache)
        return document.render(
            font_config=self._font_config,
            cache=self._image_cache,
            stylesheets=sheets,
            counter_style=self._stylesheets.counter_style,
            color_profiles=self._stylesheets.color_profiles,
        )


def _where(exc: BaseException) -> str:
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


def _same_file(path: Path, other: Path) -> bool:
    return other.is_file() and other.read_bytes() == path.read_bytes()


def _is_utf8(path: Path) -> bool:
    try:
        path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return True


class _BookletScan(HTMLParser):
    """One pass over a rendered booklet: elements asking for attachments, and the printed text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.attachments: list[tuple[str, int]] = []
        self.text: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script", "title", "svg"):
            self._hidden += 1
        for name, value in attrs:
            if name == "rel" and "attachment" in (value or "").lower().split():
                self.attachments.append((tag, self.getpos()[0]))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script", "title", "svg") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.text.append(data)


def check_booklet_html(html: str, template: str) -> None:
    """Refuse a booklet that asks for an attachment or prints a character no font covers.

    Booklets carry no embedded files: a template asking for one (``rel="attachment"``) is an error.

    WeasyPrint would embed the file behind any ``<a>`` or ``<link>`` with that relation; profile
    data cannot add one (it is escaped), so only a template override can, and it is told so.
    """
    scan = _BookletScan()
    scan.feed(html)
    if scan.attachments:
        tag, line = scan.attachments[0]
        raise ConfigError(
            f'template {template}: <{tag} rel="attachment"> (line {line} of the rendered booklet) '
            "would embed a file in the PDF; attachments are disabled in booklets, remove the rel"
        )
    missing = missing_glyphs("".join(scan.text))
    if missing:
        raise ConfigError(
            f"template {template}: the booklet's text (from the config, a template or a materials "
            f"chapter) has characters no installed font can print: "
            f"{' '.join(f'{c} (U+{ord(c):04X})' for c in missing)}; install a font that covers them "
            "(packgen doctor lists fonts) or correct the text"
        )


#: Where a courseware page goes on its placeholder page: inside the booklet's margins (print.css).
_COURSEWARE_MARGINS_MM = (19.0, 14.0, 17.0, 14.0)  # top, right, bottom, left


def include_courseware(pdf: bytes, content: BookletContent) -> bytes:
    """Draw each PDF courseware page onto the placeholder page the template reserved for it.

    The template gives every courseware page an empty page whose anchor is ``{anchor}-p{n}``, so the
    page numbers, footers and table of contents already count them; here each placeholder gets its
    courseware page scaled to fit inside the margins, under the booklet's running header and footer.
    Without PDF materials the bytes are returned untouched.
    """
    courseware = [m for m in content.materials if m.kind == "pdf"]
    if not courseware:
        return pdf
    import pikepdf

    booklet = pikepdf.Pdf.open(io.BytesIO(pdf))
    pages = _named_pages(booklet)
    mm = 72 / 25.4
    top, right, bottom, left = (v * mm for v in _COURSEWARE_MARGINS_MM)
    drawn = 0
    with contextlib.ExitStack() as opened:  # the sources stay open until saved: qpdf copies then
        sources = [opened.enter_context(pikepdf.Pdf.open(m.path)) for m in courseware]
        for material, source in zip(courseware, sources, strict=True):
            for number, page in enumerate(source.pages):
                target_index = pages.get(f"{material.anchor}-p{number}")
                if target_index is None:  # a template override dropped the placeholders
                    raise ConfigError(
                        f"template {TEMPLATE}: no placeholder page '{material.anchor}-p{number}' for courseware "
                        f"{material.path}; keep the courseware pages of the built-in materials block"
                    )
                target = booklet.pages[target_index]
                box = target.trimbox
                area = pikepdf.Rectangle(
                    float(box[0]) + left, float(box[1]) + bottom, float(box[2]) - right, float(box[3]) - top
                )
                form = booklet.copy_foreign(page.as_form_xobject())
                compose.draw_form(target, form, f"/PackgenCourseware{drawn}", area)  # pages share resources
                drawn += 1
        return compose.save(booklet)


def _named_pages(booklet: Any) -> dict[str, int]:
    """The page index of each named destination (an anchor) in a WeasyPrint PDF opened with pikepdf."""
    import pikepdf

    numbers: dict[tuple[int, int], int] = {page.obj.objgen: n for n, page in enumerate(booklet.pages)}
    names = booklet.Root.get("/Names")
    dests = names.get("/Dests") if names is not None else None
    found: dict[str, int] = {}
    for name, dest in pikepdf.NameTree(dests).items() if dests is not None else []:
        target: Any = dest.get("/D") if isinstance(dest, pikepdf.Dictionary) else dest
        number = numbers.get(target[0].objgen)
        if number is not None:
            found[str(name)] = number
    return found
