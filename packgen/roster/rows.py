"""One row of cells into one :class:`Member`: each field normalised with the roster's own words
(``values:``), the mobility class worked out from the place when the row does not give it, and
every problem located by file, row and column."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Literal

from packgen.roster import limits
from packgen.roster.infer import Inference, infer_mobility
from packgen.roster.model import Member, Problem, member_of
from packgen.roster.settings import RosterSettings
from packgen.roster.table import BIDI_CONTROLS, Table, too_long, without_direction_controls
from packgen.roster.values import EXCEL_ERRORS, NORMALISERS, choice_key, clean_text, normalisers, one_line
from packgen.roster.vocabulary import FIELDS, REQUIRED, VAGUE_MOBILITY

_FIELDS = frozenset(FIELDS)
_JANUARY = re.compile(r"\d{4}\.1")  #: 1975.10 as a spreadsheet keeps it


#: what one cell comes to, computed once for each different text of a column: (kind, value, said)
_EXTRA, _VALUE, _VAGUE, _REFUSED = "extra", "value", "vague", "refused"
_CACHED_PER_COLUMN = 20_000  #: different texts remembered per column (ids and names are all different)


class RowReader:
    """Rows into members with one roster's settings: its own words (``values:``), its home."""

    def __init__(self, settings: RosterSettings) -> None:
        self.settings = settings
        self.normalisers = normalisers(settings.values) if settings.values else NORMALISERS
        self.custom_mobility = {str(k): str(v) for k, v in settings.values.get("mobility", {}).items()}
        self._places: dict[tuple[str, str, str], Inference | ValueError] = {}
        #: header -> (its field, the outcome of each text met in the column)
        self._columns: dict[str, tuple[str, dict[str, tuple[str, Any, Any]]]] = {}
        self._source = ""

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

        columns = self._columns
        for header, raw in cells.items():
            column = columns.get(header)
            if column is None:
                column = columns[header] = (mapping.get(header, header), {})
            fld, known = column
            if type(raw) is str:  # a roster repeats most of its values (支部, 流动类型, 网络条件 …)
                if len(raw) > limits.MAX_CELL_CHARS:  # looked at first: nothing else spends time on it
                    problem(fld, str(too_long(raw)), column=header)
                    continue
                if not raw.isascii() and BIDI_CONTROLS.search(raw):  # the controls are not ASCII
                    raw, removed = without_direction_controls(raw)
                    problem(fld, str(removed), severity="warning", column=header)
                outcome = known.get(raw)
                if outcome is None:
                    outcome = self._outcome(fld, raw)
                    if len(known) < _CACHED_PER_COLUMN:
                        known[raw] = outcome
            elif isinstance(raw, (dict, list)) and fld in _FIELDS:
                problem(fld, "expected one value, not a list or mapping", column=header)
                continue
            else:
                outcome = self._outcome(fld, raw)
            kind, value, said = outcome
            if said is None and fld not in values:  # the common case: nothing to say
                if kind is _VALUE:
                    values[fld] = value
                    continue
                if kind is _EXTRA:
                    extra[fld] = value
                    continue
            if kind is _EXTRA:
                extra[fld] = value
                if said:
                    problem(fld, said, severity="warning", column=header)
                continue
            if values.get(fld) not in ("", None) and (kind is not _REFUSED or said):
                # two columns for one field: the first filled one wins, and a second that differs is said
                if kind is not _VALUE or value not in ("", None):
                    other = value if kind is _VALUE else None
                    _check_same(table, number, header, fld, values[fld], raw, header_of, problems, other)
                continue
            if kind is _VALUE:
                values[fld] = value
                if said:
                    problem(fld, said, raw, severity="warning", column=header)
            elif kind is _VAGUE:
                vague, values[fld] = value, None
            elif kind is _REFUSED:
                problem(
                    fld, str(value), raw if said else None, column=header, hint=getattr(value, "hint", "")
                )
        inferred: dict[str, Inference] = {}
        if values.get("mobility") is None and not any(
            p.column == header_of.get("mobility") for p in problems
        ):
            found = self._infer(values, vague, header_of, problem)
            if found is not None:
                values["mobility"], inferred["mobility"] = found.value, found
        for fld in REQUIRED:
            if values.get(fld):
                continue
            said = any(p.column == header_of.get(fld) and p.severity == "error" for p in problems)
            if not said:  # a value that was refused is not also "empty"
                problem(fld, f"{fld} is empty; every member needs one")
        if problems and any(p.severity == "error" for p in problems):
            who, name = str(values.get("id") or ""), str(values.get("name") or "")
            return None, [replace(p, member_id=who, member_name=name) for p in problems]
        source = f"{self._source}{number}"
        # every value is normalised above (None where a field's default is None), so the model need
        # not validate it again: that took a third of the time a row takes
        member = member_of({**values, "extra": extra, "source": source, "inferred": inferred})
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

    def _outcome(self, fld: str, raw: Any) -> tuple[str, Any, Any]:
        """What a cell comes to: an extra column's text (said: Excel's error, a warning there), a
        field's value (said: a warning), a 流动类型 naming no class, or a refusal (value: the error;
        said: whether to show the cell's value)."""
        text = clean_text(raw)
        if text in EXCEL_ERRORS:
            message = (
                f"the cell shows Excel's error {text}: the formula that fills it failed; "
                "correct it in Excel and export again"
            )
            return (_REFUSED, ValueError(message), False) if fld in _FIELDS else (_EXTRA, "", message)
        if fld not in _FIELDS:
            return _EXTRA, text, None
        try:
            value = self.normalisers.get(fld, one_line)(raw)
        except ValueError as exc:
            if fld == "mobility" and choice_key(text) in VAGUE_MOBILITY:
                return _VAGUE, text, None
            return _REFUSED, exc.with_traceback(None), True  # kept: no frames (and no cycle) with it
        if fld == "birth" and _JANUARY.fullmatch(text):
            return (
                _VALUE,
                value,
                (
                    f"read as January {text[:4]}; if October was meant, write {text[:4]}年10月 (a spreadsheet "
                    "keeps 1975.10 as the number 1975.1 unless the column is formatted as Text)"
                ),
            )
        return _VALUE, value, None

    def start(self, table: Table) -> None:
        """Forget the columns of the last table: another table has other headers."""
        self._columns = {}
        self._source = f"{table.path.name}, {table.row_word} "

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
        key = (location, location_column, mobility_column)
        if key not in self._places:  # a roster names each place many times
            try:
                self._places[key] = infer_mobility(
                    location, location_column, self.settings.home, self.custom_mobility, mobility_column
                )
            except ValueError as refused:
                self._places[key] = refused.with_traceback(None)
        found = self._places[key]
        if isinstance(found, ValueError):
            if vague is not None or self.settings.home:
                said = "names no class" if vague is not None else "mobility is empty"
                problem(
                    "mobility", f"{said}, and {found}", vague, column=column, hint=getattr(found, "hint", "")
                )
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
    other: Any,
) -> None:
    """Warn when a second column for the same field says something else than the first."""
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
