"""The roster's vocabulary: the fields a member has, the headers that name them, and the words each
categorical field accepts (Chinese and English), each mapped to one key."""

from __future__ import annotations

import unicodedata
from typing import Literal

FIELDS = (
    "id", "name", "gender", "birth", "branch", "mobility", "location", "occupation",
    "phone", "internet", "can_return", "address", "route", "plan", "notes", "large_print",
)  # fmt: skip
REQUIRED = ("id", "name")

#: Header as organisers write it -> field. Matching ignores case, spaces and punctuation.
HEADER_ALIASES: dict[str, str] = {
    "党员编号": "id", "编号": "id", "党员证号": "id", "id": "id", "memberid": "id",
    "姓名": "name", "name": "name", "党员姓名": "name",
    "性别": "gender", "gender": "gender", "sex": "gender",
    "出生年月": "birth", "出生时间": "birth", "出生日期": "birth", "出生年月日": "birth", "birth": "birth", "birthdate": "birth",
    "dateofbirth": "birth", "dob": "birth", "born": "birth",
    "所在党支部": "branch", "所在支部": "branch", "党支部": "branch", "支部": "branch", "branch": "branch",
    "流动类型": "mobility", "流动去向": "mobility", "流动情况": "mobility", "流动方式": "mobility",
    "流动类别": "mobility", "外出类型": "mobility", "mobility": "mobility",
    "流入地": "location", "现居住地": "location", "现居地": "location", "所在地": "location",
    "外出流向": "location", "外出地点": "location", "务工地点": "location", "外出务工地点": "location",
    "流入地点": "location", "流入地区": "location", "现工作地": "location", "工作地点": "location",
    "现居住地址": "location", "流向": "location", "location": "location",
    "从事职业": "occupation", "职业": "occupation", "工作": "occupation", "现从事职业": "occupation",
    "工作单位": "occupation", "工作单位及职务": "occupation", "occupation": "occupation",
    "联系电话": "phone", "联系手机": "phone", "手机": "phone", "手机号码": "phone", "手机号": "phone", "电话": "phone",
    "联系方式": "phone", "移动电话": "phone", "phone": "phone", "mobile": "phone", "phonenumber": "phone",
    "网络条件": "internet", "网络": "internet", "internet": "internet",
    "能否返乡": "can_return", "是否返乡": "can_return", "canreturn": "can_return",
    "邮寄地址": "address", "收件地址": "address", "地址": "address", "address": "address",
    "送学路线": "route", "路线": "route", "route": "route",
    "指定学习方式": "plan", "学习方式": "plan", "plan": "plan",
    "大字版": "large_print", "大字": "large_print", "大字本": "large_print", "largeprint": "large_print",
    "备注": "notes", "notes": "notes", "note": "notes", "remarks": "notes", "remark": "notes",
    # columns of the registers that are no field of packgen's: one name for rules and templates,
    # whichever way the register spells the header
    "外出原因": "外出原因", "流出原因": "外出原因", "流动原因": "外出原因", "外出事由": "外出原因",
    "流出时间": "流出时间", "外出时间": "流出时间", "流动时间": "流出时间", "外出日期": "流出时间",
    "流出日期": "流出时间",
    "流动党员活动证编号": "活动证编号", "流动党员活动证号码": "活动证编号", "活动证编号": "活动证编号",
    "活动证号码": "活动证编号", "活动证号": "活动证编号", "流动党员活动证号": "活动证编号",
}  # fmt: skip

#: The classes as packgen's own words and the Party statistics tables write them (跨省流动, 省内跨市（地）
#: 流动, 市内流动, 出国（境）). Brackets and what is in them are dropped before a word is looked up
#: (:func:`choice_key`), so 省内跨市（地）流动, 省内跨市(区、市)流动 and 出国(境) are found too.
MOBILITY: dict[str, str] = {
    "市内": "within_city", "本市": "within_city", "县内": "within_city", "本县": "within_city",
    "市内流动": "within_city", "县内流动": "within_city", "县内跨乡流动": "within_city",
    "市内跨县流动": "within_city", "本地": "within_city", "within_city": "within_city", "city": "within_city",
    "省内": "within_province", "本省": "within_province", "省内流动": "within_province",
    "省内跨市流动": "within_province", "省内跨市": "within_province", "跨市流动": "within_province",
    "within_province": "within_province",
    "省外": "out_of_province", "外省": "out_of_province", "跨省流动": "out_of_province", "跨省": "out_of_province",
    "省外流动": "out_of_province", "out_of_province": "out_of_province",
    "境外": "abroad", "国外": "abroad", "出国": "abroad", "海外": "abroad", "出境": "abroad",
    "出国境": "abroad", "出国出境": "abroad", "出国流动": "abroad", "境外流动": "abroad", "abroad": "abroad",
    "在途": "on_the_road", "流动在途": "on_the_road", "跑运输": "on_the_road", "on_the_road": "on_the_road",
}  # fmt: skip
INTERNET: dict[str, str] = {
    "良好": "good", "好": "good", "稳定": "good", "good": "good",
    "一般": "fair", "中": "fair", "fair": "fair",
    "较差": "weak", "差": "weak", "弱": "weak", "不稳定": "weak", "weak": "weak", "poor": "weak",
    "无": "none", "没有": "none", "无网络": "none", "none": "none",
}  # fmt: skip
YES_NO: dict[str, bool] = {
    "是": True, "能": True, "可以": True, "y": True, "yes": True, "true": True, "1": True,
    "否": False, "不能": False, "不可以": False, "n": False, "no": False, "false": False, "0": False,
}  # fmt: skip
PLANS: dict[str, str] = {
    "就地自学": "self_study", "自学": "self_study", "self_study": "self_study", "selfstudy": "self_study",
    "线上联学": "online", "线上": "online", "网上": "online", "online": "online",
    "送学上门": "delivered", "送学": "delivered", "delivered": "delivered", "delivery": "delivered",
}  # fmt: skip
GENDER: dict[str, str] = {
    "男": "男", "女": "女", "男性": "男", "女性": "女", "m": "男", "male": "男", "f": "女", "female": "女",
}  # fmt: skip

#: the 流动类型 words a message lists (the table holds more spellings of each)
MOBILITY_SHOWN = (
    "市内", "本市", "县内", "省内", "本省", "省外", "外省", "境外", "国外", "在途", "跑运输",
    "市内流动", "省内流动", "省内跨市流动", "跨省流动", "出国（境）",
)  # fmt: skip
#: 流动类型 words that say a member left but not where to: the class is worked out from the place
VAGUE_MOBILITY = frozenset(
    {"流动", "外出", "外出务工", "外出经商", "外出流动", "流出", "流动党员", "外流", "离乡"}
)

Mobility = Literal["within_city", "within_province", "out_of_province", "abroad", "on_the_road"]
Internet = Literal["good", "fair", "weak", "none"]
PlanKey = Literal["self_study", "online", "delivered"]
PLAN_KEYS: tuple[PlanKey, ...] = ("self_study", "online", "delivered")


def header_key(header: str) -> str:
    """Fold a header for matching: NFKC, lower case, no whitespace or punctuation."""
    folded = unicodedata.normalize("NFKC", header).lower()
    return "".join(ch for ch in folded if ch.isalnum())


#: :data:`HEADER_ALIASES` by :func:`header_key`
ALIASES_BY_KEY: dict[str, str] = {header_key(k): v for k, v in HEADER_ALIASES.items()}
