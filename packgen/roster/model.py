"""A member as packgen holds it (:class:`Member`, normalised), and what is wrong with a row
(:class:`Problem`, located by file, row and column)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from packgen.roster.infer import Inference
from packgen.roster.vocabulary import Internet, Mobility, PlanKey


class Member(BaseModel):
    """One member, with normalised values. ``extra`` holds columns that map to no field."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    gender: str = ""
    birth: dt.date | None = None
    branch: str = ""
    mobility: Mobility | None = None
    location: str = ""
    occupation: str = ""
    phone: str = ""
    internet: Internet | None = None
    can_return: bool | None = None
    address: str = ""
    route: str = ""
    plan: PlanKey | None = None
    notes: str = ""
    large_print: bool | None = None  #: the roster's 大字版 column: 是 gives the large-print edition
    extra: dict[str, str] = {}
    source: str = ""  #: "file, row N" for messages
    #: fields worked out from another column (mobility from the location), and how
    inferred: dict[str, Inference] = {}

    def age(self, on: dt.date) -> int | None:
        if self.birth is None:
            return None
        return on.year - self.birth.year - ((on.month, on.day) < (self.birth.month, self.birth.day))

    def as_data(self, on: dt.date) -> dict[str, Any]:
        """The normalised fields (with the age on ``on``), and for each worked out from another
        column, where it came from: what ``plan --json`` and ``preview --json`` give."""
        return {
            "fields": {
                "gender": self.gender, "birth": self.birth.isoformat() if self.birth else None,
                "age": self.age(on), "mobility": self.mobility, "location": self.location,
                "occupation": self.occupation, "phone": self.phone, "internet": self.internet,
                "can_return": self.can_return, "address": self.address, "route": self.route,
                "plan": self.plan, "large_print": self.large_print,
            },
            "inferred": {fld: inference.as_dict() for fld, inference in self.inferred.items()},
        }  # fmt: skip


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a profile, located as precisely as the file allows."""

    file: str
    row: int | None
    column: str | None
    message: str
    value: str | None = None
    severity: Literal["error", "warning"] = "error"
    row_word: str = "row"
    member_id: str = ""  #: the id and name of the row's member, when the row has them
    member_name: str = ""
    hint: str = ""  #: lines to add to packgen.yaml that would settle it, shown under the message

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", {self.row_word} {self.row}"
        if self.column:
            where += f", column '{self.column}'"
        value = f" {self.value!r}:" if self.value is not None else ""
        hint = f":\n{self.hint}" if self.hint else ""
        return f"{where}:{value} {self.message}{hint}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity, "file": self.file, "row": self.row, "column": self.column,
            "value": self.value, "message": self.message, **({"hint": self.hint} if self.hint else {}),
        }  # fmt: skip


@dataclass
class Roster:
    members: list[Member] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]


#: each field's default, for :func:`member_of`
_DEFAULTS = {
    name: field.get_default(call_default_factory=True)
    for name, field in Member.model_fields.items()
    if not field.is_required()
}


#: the fields set in every member :func:`member_of` makes: one set for all (a set per member took
#: 0.7 KB, half of what a member holds)
_EVERY_FIELD = set(Member.model_fields)


def member_of(values: dict[str, Any]) -> Member:
    """A member from values normalised already: what ``Member.model_construct`` does (no second
    validation), less its search for aliases, which took a fifth of the time a row takes to read."""
    member = Member.__new__(Member)
    state = {**_DEFAULTS, "extra": {}, "inferred": {}, **values}
    object.__setattr__(member, "__dict__", state)
    object.__setattr__(member, "__pydantic_fields_set__", _EVERY_FIELD)
    object.__setattr__(member, "__pydantic_extra__", None)
    object.__setattr__(member, "__pydantic_private__", None)
    return member
