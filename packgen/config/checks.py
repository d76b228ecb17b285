"""What a schema cannot see in a config: rules that cannot work, materials not on disk, columns
mapped to a misspelt field. Each problem is located by its key path, for the report's line numbers."""

from __future__ import annotations

import ast
import difflib
from pathlib import Path
from typing import Any

from packgen.config.conditions import check_conditions, parse_condition
from packgen.config.schema import Config, Located, material_file, output_problem
from packgen.errors import ConfigError
from packgen.materials import MATERIAL_KINDS, load_material
from packgen.roster.infer import home_place
from packgen.roster.members import ALIASES_BY_KEY, FIELDS, header_key


def check_config(config: Config) -> list[Located]:
    """Problems a schema cannot see: duplicate rule names, rules that cannot work, materials on disk."""
    problems: list[Located] = []
    if config.templates != "templates" and not config.resolve(config.templates).is_dir():
        problems.append(
            (
                ["templates"],
                f"folder {config.resolve(config.templates)} does not exist; create it or fix the path",
            )
        )
    refused = output_problem(config.resolve(config.output), config.workspace)
    if refused:
        problems.append((["output"], refused))
    names = [rule.name for rule in config.rules]
    for index, name in enumerate(names):
        if name in names[:index]:
            problems.append(
                (["rules", index, "name"], f"two rules are named '{name}'; give each its own name")
            )
    problems += check_rules(config)
    problems += check_materials(config)
    problems += _column_problems(config)
    if config.organization.home:
        try:
            home_place(config.organization.home)
        except ValueError as exc:
            problems.append((["organization", "home"], str(exc)))
    problems += _profile_problems(config)
    return problems


def _profile_problems(config: Config) -> list[Located]:
    """A PDF/X variant without an ``output_profile``, or one that is missing or no printer's ICC profile."""
    if not config.page.output_profile:
        if config.page.pdf_variant == "none":
            return []
        return [
            (
                ["page", "pdf_variant"],
                f"{config.page.pdf_variant} needs output_profile: the ICC profile (.icc) of the print shop's "
                "printing condition (e.g. FOGRA39), which the print shop gives you",
            )
        ]
    path = config.resolve(config.page.output_profile)
    try:
        problem = profile_problem(path.read_bytes())
    except OSError as exc:
        problem = f"cannot read {path} ({exc.strerror or exc}); check the path"
    return [(["page", "output_profile"], problem)] if problem else []


def profile_problem(data: bytes) -> str:
    """What keeps ``data`` from being the ICC profile of a printing condition, or ''."""
    if len(data) < 132 or data[36:40] != b"acsp":
        return "not an ICC profile (.icc); ask the print shop for the profile of its printing condition"
    if data[12:16] != b"prtr" or data[16:20] not in (b"CMYK", b"GRAY"):
        space, kind = data[16:20].decode("latin-1").strip(), data[12:16].decode("latin-1")
        return (
            f"a {space} profile of class '{kind}', not a printer's CMYK profile; PDF/X needs the profile "
            "of the printing condition (e.g. FOGRA39, GRACoL), which the print shop gives you"
        )
    return ""


def _column_problems(config: Config) -> list[Located]:
    """``columns:`` entries that look like a misspelt field (``联系电话: telephone``).

    A header mapped to a name that is no field is kept for rules under that name; when no rule uses
    it and it is close to a field, or the header itself names one, it is a mistake that would
    silently leave that field empty for every member.
    """
    used: set[str] = set()
    for when in [rule.when for rule in config.rules] + [rule.when for rule in config.large_print]:
        tree, _ = parse_condition(when)
        used |= {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)} if tree else set()
    problems: list[Located] = []
    for header, name in config.columns.items():
        if name in FIELDS or name in used:
            continue
        close = difflib.get_close_matches(name.lower(), FIELDS, n=1, cutoff=0.6)
        meant = close[0] if close else ALIASES_BY_KEY.get(header_key(header))
        if meant:
            problems.append(
                (
                    ["columns", header],
                    f"'{name}' is not a field and no rule uses it; did you mean {meant}? "
                    f"(fields: {', '.join(FIELDS)})",
                )
            )
    return problems


def raw_rule_problems(rules: Any, section: str = "rules") -> list[Located]:
    """Rule conditions checked even when other settings are wrong, so one run reports everything."""
    if not isinstance(rules, list):
        return []
    return check_conditions([(r.get("name"), r.get("when")) for r in rules if isinstance(r, dict)], section)


def check_rules(config: Config) -> list[Located]:
    """Every rule (plans' and large print's) that does not parse, uses something not allowed, or
    compares a field with an impossible value."""
    return check_conditions([(rule.name, rule.when) for rule in config.rules]) + check_conditions(
        [(rule.name, rule.when) for rule in config.large_print], "large_print"
    )


def check_materials(config: Config) -> list[Located]:
    """Every material that is missing, of an unknown kind, or unreadable, located in the config."""
    problems: list[Located] = []
    for key, plan in config.plans.items():
        for index, entry in enumerate(plan.materials):
            loc: list[Any] = ["plans", key, "materials", index]
            name = material_file(entry)
            if Path(name).suffix.lower() not in MATERIAL_KINDS:
                problems.append(
                    (loc, f"'{name}' is neither a Markdown chapter (.md) nor PDF courseware (.pdf)")
                )
                continue
            try:
                material = load_material(config.resolve_material(name))
            except ConfigError as exc:
                problems.append((loc, str(exc).removeprefix(f"{config.source}: ")))
                continue
            for image in material.images:
                outside = config.outside(image)
                if outside:
                    problems.append((loc, f"material '{name}' shows the image {outside}"))
    return problems
