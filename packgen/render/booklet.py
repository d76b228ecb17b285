"""Turn (member, plan) into HTML with Jinja, then into a PDF booklet through the engine.

A :class:`Renderer` holds what can be reused between booklets (the Jinja environment, the engine
with its fonts and parsed stylesheets, the rendered shared parts), so a batch creates one per worker
process. Most of a booklet is rendered once per plan and drawn onto each member's own pages
(:mod:`packgen.render.compose`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SecurityError

from packgen.assets import builtin_templates_dir
from packgen.config.schema import Config, Page
from packgen.content.plans import BookletContent, format_date
from packgen.errors import PackgenError, RenderError
from packgen.render import accel, compose, margins
from packgen.render.checks import check_booklet_html, check_member_glyphs
from packgen.render.courseware import include_courseware
from packgen.render.engine import Engine, bookmark_tree, stylesheet_warnings
from packgen.render.fetch import FetchPolicy, ForbiddenURL
from packgen.render.preconditions import Breach, breaches
from packgen.render.prepress import Prepress
from packgen.render.shared_cache import SharedCache
from packgen.render.templates import (
    LABELS,
    TEMPLATE,
    UNLOADABLE,
    build_date,
    check_template,
    environment,
    iso_utc,
    template_error,
    where,
)
from packgen.roster.members import Problem, format_phone

SANDBOXED = (
    " A template renders in Jinja's sandbox: it may show the variables packgen gives it (README, "
    '"Templates"), not reach into Python, files or the system.'
)
#: how many places of runs linking into the booklet a renderer remembers (see ``Renderer._composed``)
_PLACES_KEPT = 256
#: a page rule for left- or right-hand pages only, as mirrored margins need
_SIDED_PAGE = re.compile(r"@page\b[^{;]*:(?:left|right|recto|verso)\b", re.IGNORECASE)
#: a break to a left- or right-hand page, which adds a blank page or not by the side it comes on
_SIDED_BREAK = re.compile(r"break-(?:before|after)\s*:\s*(?:left|right|recto|verso)\b", re.IGNORECASE)


class Renderer:
    """Renders booklets for one config; reuse one instance for many members.

    Processes rendering one build together can give the same ``shared_folder``: each run of shared
    sections is then rendered by one of them only (see :class:`~packgen.render.shared_cache.SharedCache`).
    """

    def __init__(
        self, config: Config, *, shared_folder: Path | None = None, plain: bool | None = None
    ) -> None:
        self.config = config
        #: WeasyPrint as it is: no shortcut, no shared parts (``PACKGEN_PLAIN_RENDER=1``, ``--plain-render``)
        self.plain = accel.plain_asked() if plain is None else plain
        self.builtin = builtin_templates_dir()
        self.workspace_templates = config.resolve(config.templates)
        self.env = environment(config)
        #: a workspace print.css replaces the built-in one; relative URLs (images, extra stylesheets)
        #: in templates resolve in the workspace templates folder when there is one
        self.stylesheet = self._template_file("print.css").as_uri()
        #: large print's overrides, linked after print.css for the large-print edition
        self.large_print_stylesheet = self._template_file("large-print.css").as_uri()
        self.prepress = Prepress.of(config)  #: bleed, crop marks, PDF/X: on each finished booklet
        base = self.workspace_templates if self.workspace_templates.is_dir() else self.builtin
        self.base_url = base.as_uri() + "/"
        self._engine: Engine | None = None  #: made on the first document (it imports WeasyPrint)
        self._shared = SharedCache(folder=shared_folder)
        self._sided_heads: dict[str, bool] = {}
        self._margin_plans: dict[str, margins.MarginPlan | None] = {}
        #: where each run that links elsewhere in the booklet was last placed, by a hash of its HTML
        #: (see ``_composed``; a few hundred at most, however many members)
        self._places: dict[str, tuple[int, dict[str, int]]] = {}
        #: False renders every booklet whole, as a plain WeasyPrint loop would (tests compare the two)
        self.fast = not self.plain
        #: per booklet head and shared sections: the stylesheet rules that keep them from being composed
        self._breaches: dict[str, list[Breach]] = {}
        self.fallbacks = 0  #: booklets rendered whole because composing them failed

    def _template_file(self, name: str) -> Path:
        """A workspace's own copy of a built-in template file replaces it."""
        own = self.workspace_templates / name
        return own if own.is_file() else self.builtin / name

    def html(self, content: BookletContent, page: Page | None = None) -> str:
        """The booklet's HTML for one member; refuses missing glyphs and attachments before any PDF."""
        return self._html(content, compose.whole, page)

    def _html(self, content: BookletContent, shared: Callable[..., Any], page: Page | None = None) -> str:
        """The booklet's HTML; the template calls ``shared`` around what is the same for every member.
        ``page``: the page settings, when not the config's (the digital edition's)."""
        check_member_glyphs(content)
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
                page=page or self.config.page,
                edition=content.assignment.edition,
                large_print_stylesheet=self.large_print_stylesheet,
                phone=format_phone(content.member.phone),
                L=LABELS[self.config.page.language],
                stylesheet=self.stylesheet,
                created=iso_utc(created),
                shared=shared,
                created_date=format_date(created.date(), self.config.page.language, year=True),
                explanation=self._explanation(content),
            )
        except UNLOADABLE as exc:
            raise template_error(exc, self.workspace_templates) from None
        except jinja2.TemplateError as exc:  # undefined names, filters that fail as they run …
            hint = SANDBOXED if isinstance(exc, SecurityError) else ""
            raise RenderError(f"{content.member.source}: {where(exc)}{exc.message}{hint}") from None
        except (ArithmeticError, LookupError, TypeError, ValueError, AttributeError, RecursionError) as exc:
            raise RenderError(f"{content.member.source}: {where(exc)}{type(exc).__name__}: {exc}") from None
        check_booklet_html(html, template.filename or TEMPLATE)
        return html

    def _explanation(self, content: BookletContent) -> str:
        """Why the member got the plan, in the booklet's language (the rule's reason is the config's)."""
        return content.assignment.explain(self.config.page.language, self._plan_label(content))

    def check_template(self) -> None:
        """Load the booklet template (and what it extends), so a broken one stops a build before any booklet."""
        check_template(self.env, TEMPLATE, self.workspace_templates)

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
        return [
            Problem(str(path), line, None, f"{message} The booklets are printed without it.",
                    severity="warning", row_word="line")
            for path, found in stylesheet_warnings(sheets).items()
            for line, message in found
        ]  # fmt: skip

    def _plan_label(self, content: BookletContent) -> str:
        if self.config.page.language == "en" and content.plan.label_en:
            return content.plan.label_en
        return content.plan.label

    def pdf(self, content: BookletContent) -> bytes:
        """The booklet's PDF bytes for one member.

        What is the same for every member on the plan is rendered once and drawn onto
        blank pages of the member's own part (see :mod:`packgen.render.compose`); the booklet shows
        exactly what a whole render would. A booklet whose stylesheets break what a shared part may
        do (:mod:`packgen.render.preconditions`), or that cannot be composed, is rendered whole.
        Bleed, crop marks and PDF/X markers come last (:mod:`packgen.render.prepress`).
        """
        return self.prepress.booklet(self._booklet(content))

    def digital(self, content: BookletContent) -> bytes:
        """The member's digital edition: a tagged PDF (PDF/UA-1) to read on a screen, with the
        document's language, title, bookmarks, links and alternative text for images and QR codes.

        Rendered whole: composing draws shared pages as forms, whose tags the structure tree cannot
        reach. No bleed, crop marks or PDF/X (it is not for a press). PDF courseware is added as is
        (its own tags, if any, are not kept).
        """
        page = self.config.page.model_copy(
            update={"bleed": "0mm", "crop_marks": False, "pdf_variant": "none"}
        )
        try:
            data = self._engine_().pdf(self.html(content, page), variant="pdf/ua-1")
        except ForbiddenURL as exc:
            raise RenderError(f"{content.member.source} ({content.member.id}): {exc}") from None
        return include_courseware(data, content)

    def _booklet(self, content: BookletContent) -> bytes:
        try:
            if not self.fast:
                return include_courseware(self._engine_().pdf(self.html(content)), content)
            booklet = compose.split(lambda hook: self._html(content, hook))
            if not booklet.ids:
                return include_courseware(self._engine_().pdf(booklet.personal), content)
            if self.compose_breaches(booklet):
                return include_courseware(self._engine_().pdf(self.html(content)), content)
            try:
                composed = self._composed(content, booklet)
            except (ForbiddenURL, PackgenError):
                raise  # the member's own error: a whole render would fail the same way
            except Exception:  # a failure of composing itself: the whole render is always right
                self.fallbacks += 1
                composed = self._engine_().pdf(self.html(content))
            return include_courseware(composed, content)
        except ForbiddenURL as exc:
            raise RenderError(f"{content.member.source} ({content.member.id}): {exc}") from None

    def compose_breaches(self, booklet: compose.Split) -> list[Breach]:
        """The stylesheet rules that keep ``booklet``'s shared parts from being laid out apart."""
        key = hashlib.sha256((booklet.head + "\0".join(booklet.sections)).encode()).hexdigest()
        if key not in self._breaches:
            html = f"{booklet.head}{''.join(booklet.sections)}\n</body></html>"
            self._breaches[key] = breaches(html, self.base_url, (self.builtin, self.workspace_templates))
            if len(self._breaches) > 64:  # sections that show member data: forget the oldest
                del self._breaches[next(iter(self._breaches))]
        return self._breaches[key]

    def compose_problems(self, content: BookletContent) -> list[Breach]:
        """What keeps this member's booklet (and every one like it) from being composed, for a warning."""
        booklet = compose.split(lambda hook: self._html(content, hook))
        return self.compose_breaches(booklet) if booklet.ids else []

    def _composed(self, content: BookletContent, booklet: compose.Split) -> bytes:
        """The booklet from its personal part and each run of shared sections rendered once.

        The personal part is the member's own document: their pages and, in place of each run, the
        few pages its margins need, page numbers drawn from a sheet common to every booklet alike
        (:mod:`packgen.render.margins`); or, for a template that does not allow that, one blank
        placeholder page per shared page carrying its margins (:func:`compose.with_placeholders`).
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
        kinds = self._engine_().shortcuts and accel.supported()

        def part(run: int) -> compose.SharedPart:
            def render(html: str) -> compose.SharedPart:
                document = self._document(html)
                ids = [booklet.ids[i] for i in booklet.runs[run]]
                pages = accel.page_kinds(document) if kinds else None
                return compose.read_shared(document, self._engine_().write_pdf(document), ids, pages)

            place = places[run]
            if place is not None:
                return self._shared.get(compose.paged_html_for(shared[run], *place), render)
            return self._shared.get(compose.shared_html_for(shared[run], left[run]), render)

        sided = self._sided(booklet.head) or bool(
            _SIDED_BREAK.search(booklet.personal) or any(_SIDED_BREAK.search(s) for s in shared)
        )
        plan = self._margin_plan(booklet) if kinds else None
        personal, attempts = "", 0
        while attempts < 3:
            attempts += 1
            parts = [part(run) for run in runs]
            html = (
                margins.own_html(booklet, parts, plan, sided)
                if plan
                else compose.with_placeholders(booklet, parts)
            )
            if html != personal:
                personal, document = html, self._document(html)
            layout = (
                margins.lay_out(document, accel.page_kinds(document) or [], booklet, parts, sided)
                if plan
                else None
            )
            if plan and layout is None:
                plan, personal, attempts = None, "", attempts - 1  # this booklet the former way
                continue
            firsts = layout.firsts if layout else compose.first_pages(document, booklet)
            where = (
                margins.anchor_pages(layout, document, parts) if layout else compose.anchor_pages(document)
            )
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
            if wrong:
                continue
            if plan and layout:
                sheet = self._numbers_sheet(booklet, plan, layout.kinds)
                if sheet is not None:
                    own = self._engine_().write_pdf(document)
                    return margins.assemble(own, document, layout, parts, sheet, bookmark_tree)
                plan, personal = None, ""  # the sheet's pages came out otherwise: the former way
                continue
            return compose.overlay(self._engine_().write_pdf(document), parts, firsts)
        return self._engine_().pdf(self.html(content))  # the layout keeps changing: render whole

    def _margin_plan(self, booklet: compose.Split) -> margins.MarginPlan | None:
        """How ``booklet``'s margin boxes split between the member's own document and the numbers
        sheet, found once per booklet head; None: composed with a placeholder per shared page."""
        if booklet.plain_head not in self._margin_plans:
            readable = (self.builtin, self.workspace_templates)
            self._margin_plans[booklet.plain_head] = margins.plan_margins(
                booklet.plain_head, self.base_url, readable
            )
        return self._margin_plans[booklet.plain_head]

    def _numbers_sheet(
        self, booklet: compose.Split, plan: margins.MarginPlan, kinds: list[tuple[str, bool]]
    ) -> compose.SharedPart | None:
        """The page numbers of every booklet with pages of ``kinds``, rendered once (and shared with the
        build's other workers); None if the sheet's pages did not come out as the booklet's."""

        def render(html: str) -> compose.SharedPart:
            document = self._document(html)
            pages = len(document.pages)
            return compose.SharedPart(
                pdf=self._engine_().write_pdf(document), start=0, counts=[pages], anchors=[[]] * pages,
                bookmarks=[[]] * pages, kinds=accel.page_kinds(document) or [],
            )  # fmt: skip

        sheet = self._shared.get(margins.sheet_html(booklet.plain_head, plan, kinds), render)
        return sheet if sheet.kinds == kinds else None

    def _sided(self, head: str) -> bool:
        """Whether left- and right-hand pages may look different (``@page :left`` …, mirrored margins)
        or a break to one side may add a blank page (``break-before: right``).

        When neither, a run of shared sections looks the same on either side and is rendered once,
        and the member's own document needs one stand-in page per run (:mod:`packgen.render.margins`).
        Read from the booklet head's own styles and the stylesheets in the template folders; a
        stylesheet from elsewhere (a web address) cannot be read here, so it counts as sided.
        """
        if head not in self._sided_heads:
            styles = re.findall(r"<style\b[^>]*>(.*?)</style>", head, flags=re.DOTALL | re.IGNORECASE)
            folders = [self.builtin, self.workspace_templates]
            files = [path for folder in folders if folder.is_dir() for path in sorted(folder.rglob("*.css"))]
            texts = styles + [path.read_text(encoding="utf-8", errors="replace") for path in files]
            remote = re.search(r"<link\b[^>]*\bhref=[\"']?(?!file:)[a-z]+:", head, flags=re.IGNORECASE)
            self._sided_heads[head] = bool(remote) or any(
                _SIDED_PAGE.search(text) or _SIDED_BREAK.search(text) for text in texts
            )
        return self._sided_heads[head]

    def _engine_(self) -> Engine:
        """The WeasyPrint engine, made on the first document; what it may load is this config's."""
        if self._engine is None:
            roots = [self.builtin, self.workspace_templates, self.config.workspace]
            policy = FetchPolicy(roots, self.config.allowed_hosts)
            self._engine = Engine(self.base_url, policy, shortcuts=not self.plain)
        return self._engine

    def _document(self, html: str) -> Any:
        """A laid-out WeasyPrint document, with this renderer's fonts, images and fetch policy."""
        return self._engine_().document(html)


def _same_file(path: Path, other: Path) -> bool:
    return other.is_file() and other.read_bytes() == path.read_bytes()
