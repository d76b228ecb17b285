"""The print run: the booklets combined into one PDF per plan (or one for all) for the print shop.

Booklets come in a useful order (plan, then delivery route or branch), each padded with blank
pages so the next one starts on a right-hand (odd) page — or to a multiple of 4 pages for
saddle-stitch binding. Page numbers restart per booklet because each booklet keeps its own printed
footer; the PDF's page labels and bookmarks say the same to a viewer. A print run whose booklets
did not change since the last build is kept as is.

A plan with more than :data:`VOLUME_BOOKLETS` booklets is split into volumes
(``print-run-online-01.pdf``, ``-02`` …): files a print shop can handle, and a build whose memory
does not grow with the roster, since a print run is assembled in memory. Large-print booklets go
into print runs of their own (``print-run-online-large.pdf``): another paper stack, another count.

With a PDF/X variant a print run carries its markers (:mod:`packgen.render.prepress`); with
imposition, an imposed copy is written beside it (``print-run-online-imposed.pdf``,
:mod:`packgen.outputs.impose`).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from packgen.config.schema import Imposition
from packgen.files import sha256_file, write_atomic
from packgen.outputs.impose import impose_saddle
from packgen.outputs.manifest import Entry
from packgen.outputs.paths import PRINT_DIR
from packgen.processes import end_with_parent
from packgen.render.prepress import Prepress
from packgen.roster.members import PLAN_KEYS

VOLUME_BOOKLETS = 50  #: booklets per print-run file at most


@dataclass(frozen=True)
class Placement:
    """Where one booklet sits in a print run (pages are 1-based)."""

    id: str
    name: str
    file: str
    first_page: int
    pages: int
    blank: int  #: blank pages added after it


def print_key(plan: str, route: str, branch: str, seq: int, order: str = "auto") -> tuple[Any, ...]:
    """Where a booklet goes in print order: plan, then route (``route``; ``auto`` for delivered) or
    branch, then roster order. The print runs and the delivery list and labels sort by it alike, so
    a stack of printed booklets matches the list."""
    by_route = order == "route" or (order == "auto" and plan == "delivered")
    rank = PLAN_KEYS.index(plan) if plan in PLAN_KEYS else len(PLAN_KEYS)
    return rank, group_order(route if by_route else branch), group_order(branch), seq


def print_order(entries: list[Entry], order: str = "auto") -> list[Entry]:
    """Entries in print order (:func:`print_key`)."""
    return sorted(entries, key=lambda e: print_key(e.plan, e.route, e.branch, e.seq, order))


def group_order(name: str) -> tuple[Any, ...]:
    """Sort key for a route or branch: numbers by their value (一线, 二线 … 十一线; 2线 before 10线),
    the rest by text, and none (a member without a route) last."""
    parts: list[tuple[int, int, str]] = []
    for number, text in re.findall(
        r"(\d+|[零一二三四五六七八九十百]+)|([^\d零一二三四五六七八九十百]+)", name
    ):
        parts.append((0, _value(number), "") if number else (1, 0, text))
    return (not name, parts)


def _value(numeral: str) -> int:
    """``"12"`` or ``"十二"`` -> 12."""
    if numeral.isdigit():
        return int(numeral)
    total = current = 0
    for char in numeral:
        if char in "十百":
            total += (current or 1) * (10 if char == "十" else 100)
            current = 0
        else:
            current = "零一二三四五六七八九".index(char)
    return total + current


@dataclass
class PrintRun:
    """One print-run file, as the manifest records it."""

    file: str  #: relative to the output folder
    plan: str  #: the plan's key, or "all"
    edition: str  #: standard or large
    volume: int
    volumes: int
    pad_to: int
    order: str
    key: str  #: changes when its booklets, their order or the format change
    pages: int = 0
    sha256: str = ""
    status: str = "built"  #: built or unchanged
    booklets: list[Placement] = field(default_factory=list)
    imposed: str = ""  #: the imposed copy, when the build imposes
    imposed_sheets: int = 0  #: sheets of paper it takes
    imposed_sha256: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> dict[str, Any]:
        """The record without its booklets, as ``build --json`` prints it."""
        return {k: v for k, v in self.as_dict().items() if k != "booklets"}


def padding(pages: int, pad_to: int) -> int:
    """Blank pages after a booklet of ``pages`` so the next one starts on a multiple of ``pad_to``."""
    return -pages % pad_to


def layout(entries: list[Entry], pad_to: int) -> list[Placement]:
    placements, page = [], 1
    for entry in entries:
        blank = padding(entry.pages, pad_to)
        placements.append(Placement(entry.id, entry.name, entry.file, page, entry.pages, blank))
        page += entry.pages + blank
    return placements


def write_print_runs(
    output: Path,
    entries: list[Entry],
    mode: str,
    *,
    pad_to: int = 2,
    order: str = "auto",
    previous: list[dict[str, Any]] | None = None,
    jobs: int = 1,
    prepress: Prepress | None = None,
    imposition: Imposition | None = None,
) -> list[PrintRun]:
    """Write the print runs for ``mode`` (``plan``, ``all`` or ``none``); return their records.

    ``previous``: the records of the last build's manifest. Volumes that changed are combined
    ``jobs`` at a time, each in its own process. ``prepress``: the PDF/X markers each print run
    gets; ``imposition``: an imposed copy of each (``kind: saddle``).
    """
    usable = [e for e in entries if e.status != "failed" and e.file]
    groups: dict[tuple[str, str], list[Entry]] = {}
    for entry in usable if mode in ("all", "plan") else []:
        groups.setdefault(("all" if mode == "all" else entry.plan, entry.edition), []).append(entry)
    folder = output / PRINT_DIR
    earlier = {r.get("file"): r for r in previous or [] if isinstance(r, dict)}
    records: list[PrintRun] = []
    todo: list[PrintRun] = []
    finish = Finish(prepress or Prepress(), imposition if imposition and imposition.kind != "none" else None)
    for (name, edition), volume, count, members in _volumes(groups, order):
        placements = layout(members, pad_to)
        suffix = f"-{volume:02d}" if count > 1 else ""
        stem = f"print-run-{name}{'-large' if edition == 'large' else ''}{suffix}"
        relative = f"{PRINT_DIR}/{stem}.pdf"
        record = PrintRun(
            relative,
            name,
            edition,
            volume,
            count,
            pad_to,
            order,
            _key(placements, members, pad_to, finish),
            booklets=placements,
            imposed=f"{PRINT_DIR}/{stem}-imposed.pdf" if finish.imposition else "",
        )
        before = earlier.get(relative)
        if (
            before
            and before.get("key") == record.key
            and _intact(output / relative, before.get("sha256", ""))
            and (not record.imposed or _intact(output / record.imposed, before.get("imposed_sha256", "")))
        ):
            record.pages, record.sha256, record.status = before["pages"], before["sha256"], "unchanged"
            record.imposed_sheets = before.get("imposed_sheets", 0)
            record.imposed_sha256 = before.get("imposed_sha256", "")
        else:
            todo.append(record)
        records.append(record)
    if todo:
        folder.mkdir(parents=True, exist_ok=True)
    targets = [output / record.file for record in todo]
    combined = _combine_all(output, [record.booklets for record in todo], targets, jobs, finish)
    for record, done in zip(todo, combined, strict=True):
        record.pages, record.sha256, record.status = done.pages, done.sha256, "built"
        record.imposed_sheets, record.imposed_sha256 = done.imposed_sheets, done.imposed_sha256
    kept = {output / r.file for r in records} | {output / r.imposed for r in records if r.imposed}
    for stale in folder.glob("print-run-*.pdf") if folder.is_dir() else []:
        if stale not in kept:
            stale.unlink()  # a print run for a plan this build has no booklets for would mislead
    return records


@dataclass(frozen=True)
class Finish:
    """What a print run gets after its booklets are combined (picklable, for the worker processes)."""

    prepress: Prepress
    imposition: Imposition | None = None


@dataclass(frozen=True)
class Combined:
    """What :func:`combine` wrote."""

    pages: int
    sha256: str
    imposed_sheets: int = 0
    imposed_sha256: str = ""


def _combine_all(
    output: Path, placements: list[list[Placement]], targets: list[Path], jobs: int, finish: Finish
) -> list[Combined]:
    """Each combined volume; several at once in worker processes when ``jobs`` > 1."""
    if jobs > 1 and len(targets) > 1:
        try:
            with ProcessPoolExecutor(
                max_workers=min(jobs, len(targets)), initializer=end_with_parent
            ) as pool:
                count = len(targets)
                return list(pool.map(combine, [output] * count, placements, targets, [finish] * count))
        except BrokenProcessPool:  # a worker was killed (out of memory?): combine them here instead
            pass
    return [combine(output, p, target, finish) for p, target in zip(placements, targets, strict=True)]


def _volumes(
    groups: dict[tuple[str, str], list[Entry]], order: str
) -> list[tuple[tuple[str, str], int, int, list[Entry]]]:
    """(group, volume number from 1, volumes in the group, its booklets in print order)."""
    volumes = []
    for name in sorted(
        groups, key=lambda k: (PLAN_KEYS.index(k[0]) if k[0] in PLAN_KEYS else -1, k[1] == "large")
    ):
        ordered = print_order(groups[name], order)
        chunks = [ordered[i : i + VOLUME_BOOKLETS] for i in range(0, len(ordered), VOLUME_BOOKLETS)]
        volumes += [(name, number, len(chunks), chunk) for number, chunk in enumerate(chunks, start=1)]
    return volumes


#: Changes when this module writes a print run differently, so print runs written before are redone.
#: 2: blank pages carry the booklet pages' trim and bleed boxes; 3: a title, PDF 1.7, no empty streams
FORMAT = 3


def _key(placements: list[Placement], entries: list[Entry], pad_to: int, finish: Finish) -> str:
    sha = {e.id: e.sha256 for e in entries}
    data: list[Any] = [FORMAT, pad_to, [(p.id, p.name, sha[p.id]) for p in placements]]
    if finish.prepress.variant != "none" or finish.imposition:  # keys of print runs without stay as they were
        profile = finish.prepress.profile
        data += [
            finish.prepress.variant,
            sha256_file(profile) if profile else "",
            finish.imposition.model_dump() if finish.imposition else None,
        ]
    return hashlib.sha256(json.dumps(data, ensure_ascii=False).encode("utf-8")).hexdigest()


def _intact(path: Path, sha256: str) -> bool:
    return path.is_file() and sha256_file(path) == sha256


def combine(
    output: Path, placements: list[Placement], target: Path, finish: Finish | None = None
) -> Combined:
    """Append the booklets with their blank pages; write to a temporary name and rename. Then the
    PDF/X markers and the imposed copy, as ``finish`` says."""
    import warnings

    import pikepdf

    run = pikepdf.Pdf.new()
    labels: list[Any] = []
    dates: dict[str, Any] = {}  #: the first booklet's creation and modification dates
    with run.open_outline() as outline:
        for placement in placements:
            booklet = pikepdf.Pdf.open(output / placement.file)
            for key in ("/CreationDate", "/ModDate"):
                if key in booklet.docinfo:
                    dates.setdefault(key, str(booklet.docinfo[key]))
            start = len(run.pages)
            with warnings.catch_warnings():
                # the booklet's own links into itself do not matter in a file for the print shop
                warnings.simplefilter("ignore", pikepdf.PageCopyWarning)
                run.pages.extend(booklet.pages)
            last = booklet.pages[-1].obj
            for _ in range(placement.blank):  # the sheet of the booklet's pages: trim and bleed too
                blank = run.add_blank_page()
                if "/Contents" in blank.obj:  # a page may have none; an empty compressed stream is no stream
                    del blank.obj["/Contents"]
                for box in ("/MediaBox", "/CropBox", "/BleedBox", "/TrimBox", "/ArtBox"):
                    if box in last:
                        blank.obj[box] = pikepdf.Array([float(v) for v in last[box]])
            outline.root.append(pikepdf.OutlineItem(f"{placement.id} {placement.name}", start))
            labels += [start, pikepdf.Dictionary(S=pikepdf.Name.D, P=f"{placement.id}-", St=1)]
    if labels:
        run.Root.PageLabels = pikepdf.Dictionary(Nums=pikepdf.Array(labels))
    run.docinfo["/Title"] = target.stem  # print-run-delivered-01: what the print shop's software lists
    run.docinfo["/Creator"] = "packgen"
    finish = finish or Finish(Prepress())
    if finish.prepress.variant != "none":  # PDF/X wants them; the booklets' dates are the build's
        for key, date in dates.items():
            run.docinfo[key] = date
    finish.prepress.mark(
        run, hashlib.sha256(json.dumps([(p.file, p.blank) for p in placements]).encode()).hexdigest()
    )
    # 1.7 as the booklets are (they use transparency groups, 1.4). Saved in memory, then written: qpdf
    # 12.4 aborts the whole process on a full disk while it writes with a deterministic id (pikepdf 10.18)
    buffer = io.BytesIO()
    run.save(buffer, **finish.prepress.save_options(min_version="1.7"))
    write_atomic(target, buffer.getvalue())
    done = Combined(len(run.pages), hashlib.sha256(buffer.getbuffer()).hexdigest())
    imposition = finish.imposition
    if imposition is None:
        return done
    imposed, sheet = target.with_name(f"{target.stem}-imposed.pdf"), io.BytesIO()
    sheets = impose_saddle(
        target, sheet, [(p.first_page, p.pages) for p in placements], title=imposed.stem, sheet=imposition.sheet,
        flip=imposition.flip, fold_marks=imposition.fold_marks, crop_marks=imposition.crop_marks,
    ).sheets  # fmt: skip
    write_atomic(imposed, sheet.getvalue())
    return Combined(done.pages, done.sha256, sheets, hashlib.sha256(sheet.getbuffer()).hexdigest())
