"""How each field's value is normalised: whitespace of every kind trimmed, labels to keys, phone
numbers and birth dates parsed. A value that cannot be read raises ``ValueError`` with what is
expected; the member stage locates it (file, row, column)."""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from packgen.roster.vocabulary import GENDER, INTERNET, MOBILITY, MOBILITY_SHOWN, PLANS, YES_NO

#: Whitespace of every kind (full-width U+3000 and no-break spaces included) and zero-width marks.
_EDGES = re.compile(r"^[\s\u180e\u200b-\u200d\u2060\ufeff]+|[\s\u180e\u200b-\u200d\u2060\ufeff]+$")


_ZERO_WIDTH = frozenset("\u180e\u200b\u200c\u200d\u2060\ufeff")


def clean_text(value: Any) -> str:
    """A cell as text: None is empty, whitespace of every kind trimmed, floats like 3.0 as '3'."""
    if type(value) is str:  # most cells: text with nothing to trim, returned as it is
        if value and not (
            value[0].isspace() or value[-1].isspace() or value[0] in _ZERO_WIDTH or value[-1] in _ZERO_WIDTH
        ):
            return value
        return _EDGES.sub("", value)
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return _EDGES.sub("", str(value))


_SPACES = re.compile(r"\s+")


def one_line(value: Any) -> str:
    text = clean_text(value)
    if text.isprintable() and "  " not in text:  # most cells: nothing to fold
        return text
    return _SPACES.sub(" ", text)


def _lines(value: Any) -> str:
    """Free text that keeps its line breaks (a note typed with Alt+Enter in Excel)."""
    text = clean_text(value)
    if text.isprintable():  # one line (splitlines would split at \u2028 and other separators too)
        return one_line(text)
    lines = (one_line(line) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


#: brackets and what they hold, dropped from a categorical word: 出国（境）, 省内跨市（地）流动
_BRACKETED = re.compile(r"[（(【\[][^）)】\]]*[）)】\]]")


@functools.lru_cache(maxsize=4096)
def choice_key(text: str) -> str:
    """A categorical word folded for lookup: NFKC, lower case, no brackets, spaces and dashes as _."""
    key = _BRACKETED.sub("", unicodedata.normalize("NFKC", text)).strip().lower()
    return key.replace(" ", "_").replace("-", "_")


#: each categorical field's words, what the field is called in messages, and its keys
CHOICES: dict[str, tuple[Mapping[str, Any], str]] = {
    "mobility": (MOBILITY, "mobility type (流动类型)"),
    "internet": (INTERNET, "internet condition (网络条件)"),
    "can_return": (YES_NO, "yes/no answer"),
    "large_print": (YES_NO, "yes/no answer (大字版: 是 or 否)"),
    "plan": (PLANS, "study plan (指定学习方式)"),
    "gender": (GENDER, "gender (性别)"),
}


def choice_keys(fld: str) -> list[str]:
    """The values a categorical field holds, as ``values:`` in packgen.yaml writes them."""
    table = CHOICES[fld][0]
    if fld == "can_return":
        return ["true", "false"]
    return list(dict.fromkeys(str(v) for v in table.values()))


class UnknownWord(ValueError):
    """A value that cannot be read, with ``hint``: the lines of packgen.yaml that would map it."""

    def __init__(self, message: str, fld: str, word: str, key: str | None = None) -> None:
        super().__init__(message)
        self.fld, self.word, self.key = fld, word, key

    @property
    def hint(self) -> str:  # made when shown: most unknown words (流动) are settled otherwise
        return values_hint(self.fld, self.word, self.key)


def values_hint(fld: str, word: str, key: str | None = None) -> str:
    """The lines to add to packgen.yaml so that ``word`` reads as ``key`` (else a value to choose)."""
    keys = choice_keys(fld)
    key = key or keys[0]
    others = ", ".join(k for k in keys if k != key)
    return f"  values:\n    {fld}:\n      {_yaml_key(word)}: {key}  # or {others}"


def _yaml_key(word: str) -> str:
    """``word`` as a YAML key that reads back as the same text."""
    import yaml

    dumped = yaml.safe_dump({word: 0}, allow_unicode=True, width=1000).strip()
    return dumped.rsplit(":", 1)[0]


def _choice(fld: str, custom: Mapping[str, Any] | None = None) -> Any:
    builtin, what = CHOICES[fld]
    table = {**builtin, **{choice_key(str(k)): v for k, v in (custom or {}).items()}}
    shown = MOBILITY_SHOWN if fld == "mobility" else builtin
    labels = " / ".join(dict.fromkeys(k for k in shown if not k.isascii()))
    keys = " / ".join(dict.fromkeys(str(v) for v in builtin.values()))
    if not keys.isascii():  # values are Chinese themselves (性别): show the English spellings instead
        keys = " / ".join(k for k in builtin if k.isascii())

    def parse(value: Any) -> Any:
        text = clean_text(value)
        if not text:
            return None
        found = table.get(choice_key(text) if len(text) < 100 else text)
        if found is not None:
            return found
        raise UnknownWord(
            f"unknown {what}; expected one of {labels} (or {keys}); if it means one of them, say so under "
            "values: in packgen.yaml",
            fld,
            text,
        )

    return parse


def parse_phone(value: Any) -> str:
    """Phone numbers in any common spacing, stored as digits with an optional leading +."""
    text = unicodedata.normalize("NFKC", clean_text(value))
    if not text:
        return ""
    _refuse_rounded(text, "phone number", "numbers")
    if "." in text:
        text = _DECIMAL.sub(r"\1", text)  # 13812345678.0: a number a spreadsheet wrote as decimal
    digits = _PHONE_MARKS.sub("", text)
    if not _PHONE.fullmatch(digits):
        raise ValueError("not a phone number; expected digits such as 138 1234 5678 or +86 138 1234 5678")
    mobile = _MOBILE.fullmatch(digits)  # China's code, with +, 00 or neither
    if mobile:
        digits = mobile.group(1)
    return digits


_DECIMAL = re.compile(r"^(\+?\d+)\.0+$")
_PHONE_MARKS = re.compile(r"[\s\-().]")
_PHONE = re.compile(r"\+?\d{5,15}")
_MOBILE = re.compile(r"(?:\+|00)?86(1\d{10})")


def format_phone(phone: str) -> str:
    """A stored phone as people read it: 138 1234 5678."""
    if len(phone) == 11 and phone.isdigit() and phone.startswith("1"):
        return f"{phone[:3]} {phone[3:7]} {phone[7:]}"
    return phone


_BIRTH_FORMATS = (
    re.compile(r"(?P<y>\d{4})\s*年\s*(?P<m>\d{1,2})\s*月(?:\s*(?P<d>\d{1,2})\s*日)?"),
    re.compile(r"(?P<y>\d{4})[-./](?P<m>\d{1,2})(?:[-./](?P<d>\d{1,2}))?(?:[ T]00:00(?::00)?)?"),
    re.compile(r"(?P<y>\d{4})(?P<m>\d{2})(?:(?P<d>\d{2}))?"),
)


def parse_birth(value: Any) -> dt.date | None:
    """Birth year and month as 1975年3月, 1975-03, 1975.3, 197503, or an Excel date."""
    if type(value) is str and len(value) < 40:
        return _birth_text(value)  # a few hundred different texts in a roster of any size
    return _parse_birth(value)


@functools.lru_cache(maxsize=8192)
def _birth_text(text: str) -> dt.date | None:
    return _parse_birth(text)


def _parse_birth(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date().replace(day=1)
    if isinstance(value, dt.date):
        return value.replace(day=1)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 10_000 <= value <= 60_000:
        return _from_excel_serial(int(value))
    text = unicodedata.normalize("NFKC", clean_text(value))
    if not text:
        return None
    if re.fullmatch(r"\d{5}", text) and 10_000 <= int(text) <= 60_000:
        return _from_excel_serial(int(text))
    for pattern in _BIRTH_FORMATS:
        match = pattern.fullmatch(text)
        if match:
            year, month = int(match["y"]), int(match["m"])
            if 1900 <= year <= dt.date.today().year and 1 <= month <= 12:
                return dt.date(year, month, 1)
    raise ValueError(
        "not a birth date; expected year and month such as 1975年3月, 1975-03, 1975.3 or an Excel date"
    )


def parse_id(value: Any) -> str:
    """A member id; full-width letters and digits typed with a Chinese IME become ASCII."""
    text = unicodedata.normalize("NFKC", one_line(value))
    _refuse_rounded(text, "id", "ids")
    return text


def _refuse_rounded(text: str, what: str, these: str) -> None:
    """Refuse a value Excel wrote in scientific notation (1.38E+10): its digits are lost."""
    if ("e" in text or "E" in text) and _ROUNDED.fullmatch(text):
        raise ValueError(
            f"Excel wrote this {what} as a rounded number; format the column as Text in Excel, type the "
            f"{these} again and export once more"
        )


_ROUNDED = re.compile(r"\d(?:\.\d+)?[eE]\+\d+")

#: what a spreadsheet cell shows when the formula that fills it fails
EXCEL_ERRORS = frozenset(
    {"#N/A", "#REF!", "#VALUE!", "#DIV/0!", "#NAME?", "#NULL!", "#NUM!", "#SPILL!", "#CALC!"}
)


def _from_excel_serial(serial: int) -> dt.date:
    """An Excel date serial (days since 1899-12-30, as a date cell shows without its format)."""
    date = (dt.date(1899, 12, 30) + dt.timedelta(days=serial)).replace(day=1)
    if date > dt.date.today():
        raise ValueError("a birth date in the future; expected year and month such as 1975年3月")
    return date


def parse_name(value: Any) -> str:
    """A name; spaces inside a Chinese name (王　五, padded to line up with three-character names) go."""
    text = one_line(value)
    if _HAN_NAME.fullmatch(text):
        return "".join(text.split())
    return text


#: a name of Chinese characters, maybe with the middle dot of a transcribed name (买买提·艾力) and spaces
_HAN_NAME = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003ffff·・\s]+")


def normalisers(values: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """Each field's normaliser; ``values`` adds words of the organizer's own to categorical fields
    (``{"mobility": {"北漂": "out_of_province"}}``, as ``values:`` in packgen.yaml)."""
    values = values or {}
    gender = _choice("gender", values.get("gender"))
    return {
        "id": parse_id,
        "name": parse_name,
        "notes": _lines,
        "birth": parse_birth,
        "phone": parse_phone,
        **{
            fld: _choice(fld, values.get(fld))
            for fld in ("mobility", "internet", "can_return", "large_print", "plan")
        },
        "gender": lambda v: gender(v) or "",
    }


NORMALISERS = normalisers()
