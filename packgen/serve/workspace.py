"""The workspace as ``packgen serve`` holds it: the config, the roster with each member's plan, the
problems ``validate`` lists, and the booklets rendered so far, each taken in again only when the
files it comes from change.

What changed decides what is redone (:meth:`LiveWorkspace.reload`):

- ``packgen.yaml``: everything, unless only comments or layout changed (the same settings);
- a template or stylesheet (the templates folder, an image a chapter shows): a new
  :class:`~packgen.render.Renderer`, since it keeps parsed stylesheets and images;
- a material (a chapter, PDF courseware): the config is checked again (an empty chapter is a config
  error, as for every command) and the open booklets are rendered anew; the renderer and its shared
  pages stay (shared pages are kept by a hash of their HTML, so a changed chapter renders by itself);
- a roster file: the roster, the plans and the problems; a booklet is rendered again only if its
  member's data or plan changed.

A config or template error is kept as the message the command line prints (``error: …``) until a
later change mends it. Nothing here writes a file: booklets are rendered to memory, each within the
time limit a build gives a booklet (``--timeout``): the templates are untrusted, and a booklet that
never ends is stopped with the limit named, the server going on.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from packgen.build.incremental import member_key
from packgen.build.pipeline import problems_beyond_rows, read_and_assign
from packgen.build.workers import timed_out
from packgen.config import CONFIG_NAME, Config, load_config
from packgen.config.schema import material_file
from packgen.content.plans import PlanReport, plan_report
from packgen.content.preview import MemberPreview, member_preview
from packgen.errors import PackgenError
from packgen.materials import load_material
from packgen.processes import DEFAULT_TIMEOUT, TimeUp, time_limit
from packgen.render import Renderer
from packgen.roster.members import Member, Problem, Roster
from packgen.rules.ruleset import Assignment
from packgen.serve.pages import Page, page_png, poppler_installed, read_pages

#: what a changed file can be, from the cheapest to reload to the dearest
KINDS = ("roster", "materials", "templates", "config")
#: booklets kept in memory (each with the page images shown so far)
BOOKLETS_KEPT = 8


@dataclass
class Booklet:
    """One member's booklet as last rendered, or the error that stopped it."""

    key: str  #: changes when the member, their plan, the config, templates or materials change
    pdf: bytes = b""
    pages: list[Page] = field(default_factory=list)  #: empty without poppler
    error: str = ""  #: as the command line prints it
    images: dict[int, bytes] = field(default_factory=dict)  #: page number -> PNG, made when asked for

    def image(self, number: int) -> bytes:
        """Page ``number`` as a PNG (made once); a number out of range is a ``LookupError``."""
        if not 1 <= number <= len(self.pages):
            raise LookupError(f"the booklet has {len(self.pages)} pages, not {number}")
        if number not in self.images:
            self.images[number] = page_png(self.pdf, number)
        return self.images[number]


class LiveWorkspace:
    """A workspace kept loaded, for the browser; not thread-safe (one caller at a time)."""

    def __init__(
        self,
        config_path: Path | None = None,
        profiles: Iterable[Path] = (),
        *,
        workspace: Path | None = None,
        encoding: str | None = None,
        sheet: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.workspace = (workspace or Path.cwd()).resolve()
        self.timeout = timeout  #: seconds a booklet (or a template's check) may take
        self.config_path = config_path.resolve() if config_path else None
        self.profiles = [path.resolve() for path in profiles]
        self.encoding, self.sheet = encoding, sheet
        self.version = 0  #: goes up with every change taken in
        self.error = ""  #: a config, template or roster error that stops everything, as the CLI says it
        self.config: Config | None = None
        self.renderer: Renderer | None = None
        self.roster = Roster()
        self.assigned: list[tuple[Member, Assignment]] = []
        self.report: PlanReport | None = None
        self.problems: list[Problem] = []  #: as ``packgen validate`` lists them
        self._beyond_rows: list[Problem] = []  #: members not covered, stylesheet and template warnings
        self._beyond_rows_found = False
        self.renders = 0  #: booklets rendered so far
        self._generation = 0  #: goes up when the config, templates or materials change
        self._materials: set[Path] = set()
        self._images: set[Path] = set()
        self._booklets: OrderedDict[str, Booklet] = OrderedDict()

    @property
    def config_file(self) -> Path:
        return self.config_path or self.workspace / CONFIG_NAME

    def reload(self, changed: Collection[Path] | None = None, *, problems_later: bool = False) -> set[str]:
        """Take in changed files (``None``: everything); what kinds of input changed (see ``KINDS``).

        After an error, any change reloads everything. ``problems_later``: leave the problems beyond
        the rows' own as they were, for :meth:`update_problems` to find once the open booklets show
        the change (finding them lays out the templates for a member of each plan).
        """
        kinds = set(KINDS) if changed is None or self.error or self.report is None else self.kinds(changed)
        if not kinds:
            return kinds
        try:
            self._reload(kinds)
        except PackgenError as exc:
            self.error = f"error: {exc}"
        else:
            self.error = ""
            self._beyond_rows_found = False
            if not problems_later:
                self.update_problems()
        self.version += 1
        return kinds

    def update_problems(self) -> bool:
        """Find the problems ``validate`` lists beyond the rows' own, if a change may have changed
        them; whether the list changed (``version`` then goes up)."""
        if self.error or self._beyond_rows_found:
            return False
        assert self.config is not None and self.renderer is not None
        self._beyond_rows = problems_beyond_rows(self.config, self.renderer, self.assigned, self.timeout)
        self._beyond_rows_found = True
        problems = [*self.roster.problems, *self._beyond_rows]
        if problems == self.problems:
            return False
        self.problems = problems
        self.version += 1
        return True

    def _reload(self, kinds: set[str]) -> None:
        if self.config is None or kinds & {"config", "materials"}:
            config = load_config(self.config_path, workspace=self.workspace)  # checks the materials too
            same = self.config is not None and _settings(config) == _settings(self.config)
            if not same:
                kinds |= set(KINDS)
            self.config = config
            materials, images = _material_files(config)
            if images != self._images:  # the engine was told which files a chapter may show
                kinds.add("templates")
            self._materials, self._images = materials, images
            if "materials" in kinds:  # a booklet rendered before may show an older chapter
                self._generation += 1
        config = self.config
        if self.renderer is None or "templates" in kinds:
            self.renderer = Renderer(config)
            self._booklets.clear()
        self.renderer.check_template()
        if self.report is None or "roster" in kinds:
            self.roster, self.assigned = read_and_assign(
                config, self.profiles, encoding=self.encoding, sheet=self.sheet
            )
            self.report = plan_report(config, self.assigned)
        self.problems = [*self.roster.problems, *self._beyond_rows]

    def kinds(self, changed: Iterable[Path]) -> set[str]:
        """What kinds of input the changed files are; files packgen does not read count for nothing."""
        assert self.config is not None
        templates = self.config.resolve(self.config.templates)
        rosters = self.roster_paths()
        kinds = set()
        for path in (Path(p).resolve() for p in changed):
            if path == self.config_file:
                kinds.add("config")
            elif path in self._materials:
                kinds.add("materials")
            elif path in self._images or path.is_relative_to(templates):
                kinds.add("templates")
            elif any(path == root or path.is_relative_to(root) for root in rosters):
                kinds.add("roster")
        return kinds

    def roster_paths(self) -> list[Path]:
        if self.profiles or self.config is None:
            return self.profiles
        return [self.config.resolve(path) for path in self.config.profiles]

    def watched(self) -> tuple[set[Path], set[Path]]:
        """The folders to watch with what is below them, and those to watch for their own files."""
        deep = {path for path in self.roster_paths() if path.is_dir()}
        flat = {self.config_file.parent}
        flat |= {path.parent for path in self.roster_paths() if not path.is_dir()}
        if self.config is not None:
            deep.add(self.config.resolve(self.config.templates))
            flat |= {path.parent for path in self._materials | self._images}
        deep = {path for path in deep if path.is_dir()}
        flat = {path for path in flat if path.is_dir() and not any(path.is_relative_to(d) for d in deep)}
        return deep, flat

    def preview(self, key: str) -> MemberPreview:
        """One member's preview, by id or exact name (a ``UsageError`` says when there is none)."""
        assert self.config is not None
        return member_preview(self.config, self.assigned, key, self.roster.problems)

    def booklet(self, view: MemberPreview) -> Booklet:
        """The member's booklet, rendered unless the one rendered last for them is still current."""
        assert self.renderer is not None
        member, assignment = view.content.member, view.content.assignment
        key = member_key(str(self._generation), member, assignment)
        booklet = self._booklets.get(member.id)
        if booklet is None or booklet.key != key:
            booklet = self._booklets[member.id] = self._render(view, key)
            while len(self._booklets) > BOOKLETS_KEPT:
                self._booklets.popitem(last=False)
        self._booklets.move_to_end(member.id)
        return booklet

    def _render(self, view: MemberPreview, key: str) -> Booklet:
        assert self.renderer is not None
        self.renders += 1
        try:
            try:
                with time_limit(self.timeout):
                    pdf = self.renderer.pdf(view.content)
            except TimeUp:  # the renderer keeps only what it finished: it may go on
                member = view.content.member
                return Booklet(key, error=f"error: {member.source} ({member.id}): {timed_out(self.timeout)}")
        except PackgenError as exc:  # this member only: a glyph no font has, a template that fails …
            return Booklet(key, error=f"error: {exc}")
        return Booklet(key, pdf, read_pages(pdf) if poppler_installed() else [])


def _settings(config: Config) -> tuple[str, Path, str]:
    """What a config says, whatever its comments and layout."""
    return config.model_dump_json(), config.workspace, config.source


def _material_files(config: Config) -> tuple[set[Path], set[Path]]:
    """The config's material files, and the images its chapters show."""
    files = {
        config.resolve_material(material_file(entry))
        for plan in config.plans.values()
        for entry in plan.materials
    }
    images = {image for path in files for image in load_material(path).images}
    return files, images
