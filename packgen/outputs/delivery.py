"""What the delivery team takes on the road: a delivery list (CSV) and an A4 sheet of address labels.

Only members on the ``delivered`` plan whose booklet was built are on them, in print-run order
(by delivery route, or branch). A member without an address is on the list, marked, but gets no
label. Labels are rendered from ``labels.html.j2`` (a workspace may override it, or extend the
built-in one as ``builtin/labels.html.j2``); when the rows did not change since the last build,
the labels PDF is kept as is.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import jinja2

from packgen import __version__
from packgen.assets import builtin_templates_dir
from packgen.config.schema import Config
from packgen.content.plans import NO_ADDRESS, visits
from packgen.errors import ConfigError
from packgen.files import sha256_file, write_atomic
from packgen.outputs.manifest import Entry, csv_cell
from packgen.outputs.paths import DELIVERY_DIR
from packgen.outputs.printrun import print_key
from packgen.processes import DEFAULT_TIMEOUT, TimeUp, end_with_parent, time_limit
from packgen.render.engine import render_pdf
from packgen.render.fetch import FetchPolicy
from packgen.render.templates import build_date, environment, iso_utc
from packgen.roster.members import Member, format_phone

LIST_FILE = f"{DELIVERY_DIR}/delivery-list.csv"
LABELS_FILE = f"{DELIVERY_DIR}/labels.pdf"
LABELS_TEMPLATE = "labels.html.j2"
LABELS_PER_SHEET = 14
#: Sheets of labels rendered as one document; a build with more renders them in parts and joins them.
SHEETS_PER_PART = 50
LIST_COLUMNS = (
    ("group", "送学路线"), ("branch", "所在党支部"), ("id", "党员编号"), ("name", "姓名"),
    ("phone", "联系电话"), ("address", "邮寄地址"), ("rounds", "送学日期"), ("pages", "手册页数"),
    ("file", "手册文件"), ("note", "备注"),
)  # fmt: skip


@dataclass
class DeliveryRow:
    """One member on the delivery list."""

    id: str
    name: str
    branch: str
    route: str
    address: str
    phone: str
    rounds: list[str]  #: ISO dates of the rounds that visit the member
    file: str
    pages: int
    seq: int
    group: str = ""  #: the route (or branch) the list groups the member under; set by :func:`grouped`

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DeliveryRow:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class Delivery:
    """The delivery list and labels, as the manifest records them (empty: nobody on the plan)."""

    list_file: str = ""  #: the delivery list ("list" in the manifest)
    members: int = 0
    labels: int = 0
    labels_file: str = ""
    labels_key: str = ""
    labels_sha256: str = ""
    rows: list[DeliveryRow] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.list_file)

    def as_dict(self) -> dict[str, Any]:
        if not self:
            return {}
        record = {"list": self.list_file, **asdict(self)}
        del record["list_file"]
        return {k: v for k, v in record.items() if v or k in ("members", "labels")}

    def summary(self) -> dict[str, Any]:
        """The record without its rows, as ``build --json`` prints it."""
        return {k: v for k, v in self.as_dict().items() if k != "rows"}


def delivery_rows(config: Config, members: list[tuple[Member, Entry]]) -> list[DeliveryRow]:
    """What the delivery team needs per member on the delivered plan whose booklet exists."""
    plan = config.plans["delivered"]
    return [
        DeliveryRow(
            id=member.id,
            name=member.name,
            branch=member.branch,
            route=member.route,
            address=member.address,
            phone=member.phone,
            rounds=[r.date.isoformat() for r in plan.rounds if visits(r, member)],
            file=entry.file,
            pages=entry.pages,
            seq=entry.seq,
        )  # fmt: skip
        for member, entry in members
        if entry.status != "failed"
    ]


def grouped(rows: list[DeliveryRow], order: str = "auto") -> list[DeliveryRow]:
    """Rows in print-run order, each with its ``group``: the route (``auto``/``route``) or the branch."""
    for row in rows:
        row.group = row.branch if order == "branch" else (row.route or "（未定路线）")
    return sorted(rows, key=lambda r: print_key("delivered", r.route, r.branch, r.seq, order))


def delivery_csv(rows: list[DeliveryRow]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([header for _, header in LIST_COLUMNS])
    for row in rows:
        values = {
            **asdict(row),
            "phone": format_phone(row.phone),
            "rounds": "、".join(row.rounds),
            "note": "" if row.address else NO_ADDRESS,
        }
        writer.writerow([csv_cell(values[key]) for key, _ in LIST_COLUMNS])
    return buffer.getvalue()


def write_delivery(
    config: Config,
    output: Path,
    rows: list[DeliveryRow],
    *,
    order: str = "auto",
    previous: dict[str, Any] | None = None,
    jobs: int = 1,
) -> Delivery:
    """Write the delivery list and labels for ``rows``; ``previous`` is the last manifest's record;
    ``jobs``: parts of the labels rendered at once."""
    list_path, labels_path = output / LIST_FILE, output / LABELS_FILE
    if not rows:
        list_path.unlink(missing_ok=True)
        labels_path.unlink(missing_ok=True)
        return Delivery()
    ordered = grouped(rows, order)
    (output / DELIVERY_DIR).mkdir(parents=True, exist_ok=True)
    write_atomic(list_path, delivery_csv(ordered).encode("utf-8-sig"))
    labelled = [row for row in ordered if row.address]
    record = Delivery(list_file=LIST_FILE, members=len(ordered), labels=len(labelled), rows=ordered)
    if not labelled:
        labels_path.unlink(missing_ok=True)
        return record
    env = environment(config)
    key = _labels_key(config, env, labelled)
    before = previous or {}
    if (
        before.get("labels_key") == key
        and labels_path.is_file()
        and sha256_file(labels_path) == before.get("labels_sha256")
    ):
        sha = before["labels_sha256"]
    else:
        write_atomic(labels_path, render_labels(config, env, labelled, jobs=jobs))
        sha = sha256_file(labels_path)
    record.labels_file, record.labels_key, record.labels_sha256 = LABELS_FILE, key, sha
    return record


def _labels_key(config: Config, env: jinja2.Environment, rows: list[DeliveryRow]) -> str:
    source, _, _ = env.loader.get_source(env, LABELS_TEMPLATE)  # type: ignore[union-attr]
    data = [__version__, config.organization.model_dump(mode="json"), source, [asdict(r) for r in rows]]
    data.append(os.environ.get("SOURCE_DATE_EPOCH", ""))
    return hashlib.sha256(json.dumps(data, ensure_ascii=False, default=str).encode("utf-8")).hexdigest()


def render_labels(
    config: Config, env: jinja2.Environment, rows: list[DeliveryRow], *, jobs: int = 1
) -> bytes:
    """The labels PDF for ``rows``. Sheets are rendered in parts of :data:`SHEETS_PER_PART`, each
    its own document (``jobs`` at a time), and the parts joined: one document of every sheet would
    take memory and time that grow with the roster (~500 MB for 4,000 labels)."""
    labels = [{**asdict(row), "phone": format_phone(row.phone)} for row in rows]
    sheets = [labels[i : i + LABELS_PER_SHEET] for i in range(0, len(labels), LABELS_PER_SHEET)]
    parts = [sheets[i : i + SHEETS_PER_PART] for i in range(0, len(sheets), SHEETS_PER_PART)]
    created = iso_utc(build_date())
    try:
        with time_limit(DEFAULT_TIMEOUT):  # a workspace's labels template is untrusted too
            template = env.get_template(LABELS_TEMPLATE)
            pages = [template.render(org=config.organization, sheets=part, created=created) for part in parts]
    except jinja2.TemplateError as exc:
        raise ConfigError(f"template {LABELS_TEMPLATE}: {exc}") from None
    except TimeUp:
        raise ConfigError(
            f"template {LABELS_TEMPLATE}: took longer than {DEFAULT_TIMEOUT:g} s to render and was stopped"
        ) from None
    roots = [builtin_templates_dir(), config.resolve(config.templates), config.workspace]
    base = builtin_templates_dir().as_uri() + "/"
    policy = FetchPolicy(roots, config.allowed_hosts)
    if len(pages) == 1:
        return render_pdf(pages[0], base, policy)
    count = len(pages)
    if jobs > 1:
        try:
            with ProcessPoolExecutor(max_workers=min(jobs, count), initializer=end_with_parent) as pool:
                return _joined(list(pool.map(render_pdf, pages, [base] * count, [policy] * count)))
        except BrokenProcessPool:  # a worker was killed (out of memory?): render them here instead
            pass
    return _joined([render_pdf(html, base, policy) for html in pages])


def _joined(parts: list[bytes]) -> bytes:
    """One PDF of the parts' pages, with the first part's title, author and dates."""
    import pikepdf

    joined = pikepdf.Pdf.new()
    pdfs = [pikepdf.Pdf.open(io.BytesIO(part)) for part in parts]
    for key, value in pdfs[0].docinfo.items():
        joined.docinfo[key] = value
    for pdf in pdfs:
        joined.pages.extend(pdf.pages)
    buffer = io.BytesIO()
    joined.save(buffer, deterministic_id=True, min_version=pdfs[0].pdf_version)
    return buffer.getvalue()
