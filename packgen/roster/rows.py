"""One row of cells into one :class:`Member`: each field normalised with the roster's own words
(``values:``), the mobility class worked out from the place when the row does not give it, and
every problem located by file, row and column."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Literal

from packgen.roster.infer import Inference, infer_mobility
from packgen.roster.model import Member, Problem
from packgen.roster.settings import RosterSettings
from packgen.roster.table import Table
from packgen.roster.values import EXCEL_ERRORS, NORMALISERS, choice_key, clean_text, normalisers, one_line
from packgen.roster.vocabulary import FIELDS, REQUIRED, VAGUE_MOBILITY


class RowReader:
    """Rows into members with one roster's settings: its own words (``values:``), its home."""

    def __init__(self, settings: RosterSettings) -> None:
        self.settings = settings
        self.normalisers = normalisers(settings.values) if settings.values else NORMALISERS
        self.custom_mobility = {str(k): str(v) for k, v in settings.values.get("mobility", {}).items()}

    def member(
        self,
        table: Table,
        number: int,
        cells: Mapping[str, Any],
        mapping: Mapping[str, str],
        header_of: Mapping[str, str],
    ) -> tuple[Member | None, list[Problem]]:
        problems: list[Problem] = []
        values: dict[str, Any] = {}
        extra: dict[str, str] = {}
        vague: str | None = None  #: a 流动类型 that names no class (流动, 外出)

        def problem(
            fld: str,
            message: str,
            value: Any = None,
            severity: Literal["error", "warning"] = "error",
            column: str | None = None,
            hint: str = "",
        ) -> None:
            problems.append(
                Problem(
                    str(table.path),
                    number,
                    column or header_of.get(fld, fld),
                    message,
                    None if value is None else clean_text(value),
                    severity,
                    table.row_word,
                    hint=hint,
                )  # fmt: skip
            )

        for header, raw in cells.items():
            fld = mapping.get(header, header)
            text = clean_text(raw)
            if text in EXCEL_ERRORS:
                problem(
                    fld,
                    f"the cell shows Excel's error {text}: the formula that fills it failed; "
                    "correct it in Excel and export again",
                    severity="error" if fld in FIELDS else "warning",
                    column=header,
                )
                if fld in FIELDS:
                    continue
                raw, text = None, ""
            if fld not in FIELDS:
                extra[fld] = text
                continue
            if isinstance(raw, (dict, list)):
                problem(fld, "expected one value, not a list or mapping", column=header)
                continue
            if fld in values and values[fld] not in ("", None) and text:
                _check_same(
                    table, number, header, fld, values[fld], raw, header_of, problems, self.normalisers
                )
                continue  # two columns for one field: the first non-empty wins
            try:
                values[fld] = self.normalisers.get(fld, one_line)(raw)
            except ValueError as exc:
                if fld == "mobility" and choice_key(text) in VAGUE_MOBILITY:
                    vague, values[fld] = text, None
                    continue
                problem(fld, str(exc), raw, column=header, hint=getattr(exc, "hint", ""))
                continue
            if fld == "birth" and re.fullmatch(r"\d{4}\.1", text):
                problem(
                    fld,
                    f"read as January {text[:4]}; if October was meant, write {text[:4]}年10月 (a spreadsheet "
                    "keeps 1975.10 as the number 1975.1 unless the column is formatted as Text)",
                    raw,
                    severity="warning",
                    column=header,
                )
        inferred: dict[str, Inference] = {}
        if values.get("mobility") is None and not any(
            p.column == header_of.get("mobility") for p in problems
        ):
            found = self._infer(values, vague, header_of, problem)
            if found is not None:
                values["mobility"], inferred["mobility"] = found.value, found
        for fld in REQUIRED:
            said = any(p.column == header_of.get(fld) and p.severity == "error" for p in problems)
            if not values.get(fld) and not said:  # a value that was refused is not also "empty"
                problem(fld, f"{fld} is empty; every member needs one")
        if problems and any(p.severity == "error" for p in problems):
            who, name = str(values.get("id") or ""), str(values.get("name") or "")
            return None, [replace(p, member_id=who, member_name=name) for p in problems]
        source = f"{table.path.name}, {table.row_word} {number}"
        fields = {k: v for k, v in values.items() if v is not None}
        # every value is normalised above, so the model need not validate it again (1 s per 100,000 rows)
        member = Member.model_construct(**fields, extra=extra, source=source, inferred=inferred)
        if member.plan == "delivered" and not member.address:
            problem(
                "address",
                "plan is 送学上门 (delivered) but there is no address to deliver to",
                severity="warning",
            )
        if member.plan == "online" and member.internet == "none":
            problem(
                "plan",
                "plan is 线上联学 (online) but the member has no internet (网络条件: 无); check one of the two",
                severity="warning",
            )
        return member, problems

    def _infer(
        self, values: Mapping[str, Any], vague: str | None, header_of: Mapping[str, str], problem: Any
    ) -> Inference | None:
        """The class from the location, when 流动类型 is empty or names none, with a warning saying
        so; an error when it cannot be told. Nothing when neither says anything, or when 流动类型 is
        empty, no home is set and the place is not on the road (as before homes were known)."""
        location = values.get("location") or ""
        mobility_column = header_of.get("mobility", "流动类型")
        column = header_of.get("mobility") or header_of.get("location")
        if not location:
            if vague is not None:
                problem(
                    "mobility",
                    "names no class, and there is no location (流入地, 外出地点) to work it out from; write "
                    "the class: 市内 / 省内 / 省外 / 境外 / 在途",
                    vague,
                )
            return None
        location_column = header_of.get("location", "location")
        try:
            found = infer_mobility(
                location, location_column, self.settings.home, self.custom_mobility, mobility_column
            )
        except ValueError as exc:
            if vague is not None or self.settings.home:
                said = "names no class" if vague is not None else "mobility is empty"
                problem("mobility", f"{said}, and {exc}", vague, column=column, hint=getattr(exc, "hint", ""))
            return None
        said = "names no class" if vague is not None else "mobility is empty"
        if "mobility" not in header_of:
            said = "no mobility column (流动类型)"
        problem(
            "mobility",
            f"{said}; read as {found.value} from {location_column} '{location}': {found.because}",
            vague,
            severity="warning",
            column=column,
        )
        return found


def _check_same(
    table: Table,
    number: int,
    header: str,
    fld: str,
    kept: Any,
    raw: Any,
    header_of: Mapping[str, str],
    problems: list[Problem],
    normalise: Mapping[str, Any] = NORMALISERS,
) -> None:
    """Warn when a second column for the same field says something else than the first."""
    try:
        other = normalise.get(fld, one_line)(raw)
    except ValueError:
        other = None
    if other != kept:
        problems.append(
            Problem(
                str(table.path),
                number,
                header,
                f"a second column for {fld} that differs from '{header_of.get(fld, fld)}'; "
                f"packgen uses '{header_of.get(fld, fld)}' ({clean_text(kept)}) and ignores this one",
                clean_text(raw),
                "warning",
                table.row_word,
            )  # fmt: skip
        )
