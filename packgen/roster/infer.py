"""The mobility class worked out from the member's place, when 流动类型 does not give it.

A roster may leave 流动类型 empty, or write a word that names no class (``流动``, ``外出``); the
class then follows from the member's location (流入地, 外出地点 …) and where the members are
registered (``organization.home``): another province → out_of_province; the same province,
another prefecture-level city → within_province; the same city → within_city; a foreign country
or 香港/澳门/台湾 → abroad; on the road (``货运途中…``, ``跑车``) → on_the_road, which needs no home.
Each decision is an :class:`Inference` that says what was decided from what; a place that cannot
be placed is a ``ValueError`` saying what to add.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from packgen.roster.places import Place, where
from packgen.roster.values import UnknownWord, choice_key

#: what a location says when the member is on the road rather than somewhere
ON_THE_ROAD = re.compile(r"货运途中|运输途中|在途|跑车|跑运输|跑长途|长途货运|长途运输|货车司机|物流运输")

#: each class as the Party statistics tables name it, for the booklet's explanation
CLASS_LABELS = {
    "within_city": "市内流动",
    "within_province": "省内跨市流动",
    "out_of_province": "跨省流动",
    "abroad": "出国（境）",
    "on_the_road": "在途",
}
CLASS_LABELS_EN = {
    "within_city": "within the city",
    "within_province": "within the province",
    "out_of_province": "out of the province",
    "abroad": "abroad",
    "on_the_road": "on the road",
}


@dataclass(frozen=True)
class Inference:
    """A field's value worked out from another column, and why."""

    value: str  #: the key decided (out_of_province …)
    column: str  #: the column it came from, as its header is written (流入地)
    text: str  #: what that column holds
    place: str  #: the place as read (上海市浦东新区, 美国), or "" on the road
    because: str  #: why, in English: "上海市 is in another province than 江苏省 (organization.home)"

    def as_dict(self) -> dict[str, str]:
        return {
            "from": self.column, "text": self.text, "place": self.place, "because": self.because,
        }  # fmt: skip

    def explain(self, language: str = "zh") -> str:
        """How the booklet and the plan table say it: （流动类型由流入地“上海市浦东新区”推定为跨省流动）."""
        if language == "zh":
            return f"（流动类型由{self.column}“{self.text}”推定为{CLASS_LABELS[self.value]}）"
        return f" (mobility worked out from {self.column} “{self.text}”: {CLASS_LABELS_EN[self.value]})"


@lru_cache(maxsize=16)
def home_place(home: str) -> Place:
    """``organization.home`` as a place; ``ValueError`` when it names no prefecture-level city."""
    place = where(home)
    if place.kind == "domestic" and place.city_code:
        return place
    if place.kind == "ambiguous":
        raise ValueError(
            f"'{home}' is more than one place ({', '.join(place.candidates)}); write the province and "
            f"city too, e.g. {place.candidates[0]}"
        )
    raise ValueError(
        f"'{home}' names no city in China that packgen can find; write the province, the city and the "
        "county where the members are registered, e.g. 江苏省盐城市大丰区"
    )


def infer_mobility(
    text: str, column: str, home: str, custom: Mapping[str, str], mobility_column: str
) -> Inference:
    """The class of a member at ``text`` (the cell of ``column``), or ``ValueError`` saying what to add.

    ``custom`` is ``values: mobility:`` of packgen.yaml: a place written there (``迪拜: abroad``) is
    that class without being looked up.
    """
    road = ON_THE_ROAD.search(unicodedata.normalize("NFKC", text))
    if road:
        return Inference("on_the_road", column, text, "", f"'{road.group()}' means on the road")
    mapped = next((v for k, v in custom.items() if choice_key(str(k)) == choice_key(text)), None)
    if mapped is not None:
        return Inference(mapped, column, text, "", f"values: in packgen.yaml maps '{text}' to {mapped}")
    if not home:
        raise ValueError(
            f"cannot tell the class from {column} '{text}' without knowing where the members are "
            f"registered; set organization.home in packgen.yaml (e.g. home: 江苏省盐城市大丰区), or "
            f"write the class in '{mobility_column}' (市内 / 省内 / 省外 / 境外 / 在途)"
        )
    base = home_place(home)
    place = where(text)
    write_class = f"or write the class in '{mobility_column}' (市内 / 省内 / 省外 / 境外 / 在途)"
    if place.kind == "abroad":
        return Inference("abroad", column, text, place.name, f"{place.name} is abroad")
    if place.kind == "ambiguous":
        raise ValueError(
            f"{column} '{text}' is more than one place ({', '.join(place.candidates)}); write the city "
            f"too, e.g. {place.candidates[0]}, {write_class}"
        )
    if place.kind == "unknown":
        raise UnknownWord(
            f"cannot tell where {column} '{text}' is, so the mobility class cannot be worked out; write "
            f"the place with its province or city (e.g. 江苏省苏州市), {write_class}, or name its class "
            "under values: in packgen.yaml",
            "mobility",
            text,
            "abroad",
        )
    if place.province_code != base.province_code:
        because = f"{place.name} is in another province than {base.province} (organization.home)"
        return Inference("out_of_province", column, text, place.name, because)
    if not place.city_code:
        raise ValueError(
            f"{column} '{text}' names the province only, so within the city or the province cannot be "
            f"told; write the city too, {write_class}"
        )
    if place.city_code != base.city_code:
        because = f"{place.name} is in {base.province}, in another city than {base.city} (organization.home)"
        return Inference("within_province", column, text, place.name, because)
    because = f"{place.name} is in {base.city}, the city of organization.home"
    return Inference("within_city", column, text, place.name, because)
