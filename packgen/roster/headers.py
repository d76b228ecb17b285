"""Which field each column of a roster holds: its header as written, matched against the built-in
Chinese and English aliases and the config's ``columns:``; other columns stay extra fields."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from packgen.roster.table import Row, Table
from packgen.roster.values import clean_text
from packgen.roster.vocabulary import ALIASES_BY_KEY, REQUIRED, header_key

#: what the readers add to a header written twice (``联系电话 (column D)``), and a hint in brackets
#: after a header (``联系电话（手机）``, ``流动类型（市内/省内/省外/境外）``)
_REPEATED = re.compile(r" \(column [A-Z]+\)$")
_HINT = re.compile(r"\s*[（(【\[][^）)】\]]*[）)】\]]\s*$")


def map_headers(headers: Iterable[str], columns: Mapping[str, str] | None = None) -> dict[str, str]:
    """Header as written -> field name, or the header itself for an extra column.

    A header written twice maps both columns to its field (the first filled one wins, see
    :func:`_check_same`); a known header followed by a hint in brackets is that header.
    """
    custom = {header_key(k): v for k, v in (columns or {}).items()}
    mapping: dict[str, str] = {}
    for header in headers:
        for name in dict.fromkeys(
            [header, _REPEATED.sub("", header), _HINT.sub("", _REPEATED.sub("", header))]
        ):
            key = header_key(name)
            found = custom.get(key) or ALIASES_BY_KEY.get(key)
            if found:
                mapping[header] = found
                break
        else:
            mapping[header] = clean_text(header)
    return mapping


def header_below(table: Table, columns: Mapping[str, str] | None) -> Row | None:
    """A row under the header taken that names every required field: the real header, below a
    title block of several rows (``填报单位：… 填报日期：…``)."""
    for row in table.rows[:10]:
        if all(field in map_headers(filled(row), columns).values() for field in REQUIRED):
            return row
    return None


def filled(row: Row) -> list[str]:
    return [text for text in (clean_text(v) for v in [*row.cells.values(), *row.overflow]) if text]
