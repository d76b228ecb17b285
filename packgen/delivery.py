"""What the delivery team takes on the road: a delivery list (CSV) and an A4 sheet of address labels.

Only members on the ``delivered`` plan whose booklet was built are on them, grouped by delivery
route (or branch). A member without an address is on the list, marked, but gets no label. Labels
are rendered with WeasyPrint from ``labels.html.j2`` (a workspace may override it); when the rows
did not change since the last build, the labels PDF is kept as is.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from pathlib import Path
from typing import Any

import jinja2

from packgen import __version__
from packgen.assets import builtin_templates_dir
from packgen.config import Config
from packgen.errors import ConfigError
from packgen.files import write_atomic
from packgen.manifest import csv_cell
from packgen.members import format_phone
from packgen.printrun import group_order
from packgen.render import build_date, iso_utc

DELIVERY_DIR = "delivery"
LIST_FILE = f"{DELIVERY_DIR}/delivery-list.csv"
LABELS_FILE = f"{DELIVERY_DIR}/labels.pdf"
LABELS_TEMPLATE = "labels.html.j2"
LABELS_PER_SHEET = 14
NO_ADDRESS = "缺少地址，无法送达，请与支部联系"
LIST_COLUMNS = (
    ("group", "送学路线"), ("branch", "所在党支部"), ("id", "党员编号"), ("name", "姓名"),
    ("phone", "联系电话"), ("address", "邮寄地址"), ("rounds", "送学日期"), ("pages", "手册页数"),
    ("file", "手册文件"), ("note", "备注"),
)  # fmt: skip


def grouped(rows: list[dict[str, Any]], order: str = "auto") -> list[dict[str, Any]]:
    """Rows in delivery order, each with its ``group``: the route (``auto``/``route``) or the branch."""
    by_branch = order == "branch"
    result = [
        {**row, "group": row["branch"] if by_branch else (row["route"] or "（未定路线）")} for row in rows
    ]
    return sorted(  # as the print run: by route or branch, a member without a route last
        result,
        key=lambda r: (
            group_order(r["branch"] if by_branch else r["route"]),
            group_order(r["branch"]),
            r.get("seq", 0),
        ),
    )


def delivery_csv(rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([header for _, header in LIST_COLUMNS])
    for row in rows:
        values = {
            **row,
            "phone": format_phone(row["phone"]),
            "rounds": "、".join(row["rounds"]),
            "note": "" if row["address"] else NO_ADDRESS,
        }
        writer.writerow([csv_cell(values[key]) for key, _ in LIST_COLUMNS])
    return buffer.getvalue()


def write_delivery(
    config: Config,
    output: Path,
    rows: list[dict[str, Any]],
    *,
    order: str = "auto",
    previous: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write the delivery list and labels for ``rows``; return the manifest's ``delivery`` record."""
    list_path, labels_path = output / LIST_FILE, output / LABELS_FILE
    if not rows:
        list_path.unlink(missing_ok=True)
        labels_path.unlink(missing_ok=True)
        return {}
    ordered = grouped(rows, order)
    (output / DELIVERY_DIR).mkdir(parents=True, exist_ok=True)
    write_atomic(list_path, delivery_csv(ordered).encode("utf-8-sig"))
    labelled = [row for row in ordered if row["address"]]
    record: dict[str, Any] = {"list": LIST_FILE, "members": len(ordered), "labels": len(labelled)}
    if not labelled:
        labels_path.unlink(missing_ok=True)
        return {**record, "rows": ordered}
    env = _environment(config)
    key = _labels_key(config, env, labelled)
    before = previous or {}
    if (
        before.get("labels_key") == key
        and labels_path.is_file()
        and _sha256(labels_path) == before.get("labels_sha256")
    ):
        sha = before["labels_sha256"]
    else:
        write_atomic(labels_path, render_labels(config, env, labelled))
        sha = _sha256(labels_path)
    return {**record, "labels_file": LABELS_FILE, "labels_key": key, "labels_sha256": sha, "rows": ordered}


def _environment(config: Config) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.ChoiceLoader(
            [
                jinja2.FileSystemLoader(config.resolve(config.templates)),
                jinja2.FileSystemLoader(builtin_templates_dir()),
            ]
        ),
        autoescape=True,  # profile data is untrusted: HTML in an address prints as text
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _labels_key(config: Config, env: jinja2.Environment, rows: list[dict[str, Any]]) -> str:
    source, _, _ = env.loader.get_source(env, LABELS_TEMPLATE)  # type: ignore[union-attr]
    data = [__version__, config.organization.model_dump(mode="json"), source, rows]
    data.append(os.environ.get("SOURCE_DATE_EPOCH", ""))
    return hashlib.sha256(json.dumps(data, ensure_ascii=False, default=str).encode("utf-8")).hexdigest()


def render_labels(config: Config, env: jinja2.Environment, rows: list[dict[str, Any]]) -> bytes:
    from weasyprint import HTML

    from packgen.fetch import SafeFetcher

    labels = [{**row, "phone": format_phone(row["phone"])} for row in rows]
    sheets = [labels[i : i + LABELS_PER_SHEET] for i in range(0, len(labels), LABELS_PER_SHEET)]
    try:
        html = env.get_template(LABELS_TEMPLATE).render(
            org=config.organization,
            sheets=sheets,
            created=iso_utc(build_date()),
        )
    except jinja2.TemplateError as exc:
        raise ConfigError(f"template {LABELS_TEMPLATE}: {exc}") from None
    roots = [builtin_templates_dir(), config.resolve(config.templates), config.workspace]
    base = builtin_templates_dir().as_uri() + "/"
    fetcher = SafeFetcher(roots, config.allowed_hosts)
    return bytes(HTML(string=html, base_url=base, url_fetcher=fetcher).write_pdf())


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
