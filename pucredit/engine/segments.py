"""The segment registry: every segment of the policy file becomes a flag column ``seg_<name>`` (notice 二(一)).

A segment is data (parameters/policy/<year>.yaml): a union of rules, each a conjunction of
conditions on the tape's columns. Analyses take a segment's name and read its flag; none
builds SQL from a segment's rules but this module.
"""
from __future__ import annotations

from dataclasses import dataclass

from pucredit.config.policy import Policy, SegmentRule
from pucredit.contract.schema import COLUMNS_BY_NAME
from pucredit.engine.sql import sql_quote


@dataclass(frozen=True)
class SegmentColumn:
    """One segment as the analyses see it: its flag column and whether the tape can tell it at all."""

    name: str
    label_zh: str
    label_en: str
    clause: str
    predicate: str  # SQL over the tape's columns; "false" when no rule can hold
    missing: tuple[str, ...] = ()  # optional columns whose absence leaves no rule that can hold
    group: str | None = None  # shown in a section of its own (policy ``group``), not in every segment table

    @property
    def flag(self) -> str:
        return f"seg_{self.name}"

    def label(self, lang: str) -> str:
        return self.label_zh if lang == "zh" else self.label_en


def rule_sql(rule: SegmentRule, policy: Policy, columns: set[str], with_credit_line: bool = True) -> str | None:
    """SQL predicate of one rule; None when it needs an optional column the tape lacks (it never holds).
    Without its credit-line limit for the threshold checks of the quality review."""
    parts = []
    if rule.borrower_types is not None:
        parts.append("borrower_type IN (" + ", ".join(map(sql_quote, rule.borrower_types)) + ")")
    if rule.guarantees is not None:
        parts.append("guarantee IN (" + ", ".join(map(sql_quote, rule.guarantees)) + ")")
    for column, value in rule.flags.items():
        if column not in columns:
            return None
        parts.append(f"{column} = {str(value).lower()}")
    for column, codes in (("industry_code", rule.industry_codes), ("product", rule.products)):
        if codes is not None:
            if column not in columns:
                return None
            parts.append(f"{column} IN (" + ", ".join(map(sql_quote, codes)) + ")")
    if with_credit_line and rule.credit_line_max_cny is not None:
        parts.append(f"credit_line_cny <= {rule.credit_line_max_cny!r}")
    if rule.county_list is not None:
        codes = policy.key_counties.county_codes
        if not codes:
            return None
        parts.append("county_code IN (" + ", ".join(map(sql_quote, codes)) + ")")
    if rule.within is not None:
        parts.append(segment_predicate(policy, rule.within, columns))
    return "(" + " AND ".join(parts or ["true"]) + ")"


def segment_predicate(policy: Policy, name: str, columns: set[str]) -> str:
    held = [sql for rule in policy.segments[name].rules if (sql := rule_sql(rule, policy, columns)) is not None]
    return "(" + " OR ".join(held) + ")" if held else "false"


def missing_columns(policy: Policy, name: str, columns: set[str]) -> tuple[str, ...]:
    """The optional columns (or the empty county list) that keep every rule of the segment from holding."""
    if any(rule_sql(rule, policy, columns) is not None for rule in policy.segments[name].rules):
        return ()
    needed = {c for rule in policy.segments[name].rules for c in rule.flags if c not in columns}
    needed |= {c for rule in policy.segments[name].rules for c, codes in
               (("industry_code", rule.industry_codes), ("product", rule.products)) if codes and c not in columns}
    if any(rule.county_list for rule in policy.segments[name].rules):
        needed.add("county_code list (policy key_counties)")
    return tuple(sorted(needed))


def registry(policy: Policy, columns: set[str]) -> dict[str, SegmentColumn]:
    """Every segment of the policy file, in the file's order, for a tape with these contract columns."""
    assert all(c in COLUMNS_BY_NAME for c in columns if not c.startswith("_")), columns
    return {name: SegmentColumn(name=name, label_zh=seg.label_zh, label_en=seg.label_en, clause=seg.clause,
                                predicate=segment_predicate(policy, name, columns),
                                missing=missing_columns(policy, name, columns), group=seg.group)
            for name, seg in policy.segments.items()}


def ungrouped(segments: dict[str, SegmentColumn]) -> list[str]:
    """The segments every segment table shows (those without a ``group`` of their own), in policy order."""
    return [name for name, s in segments.items() if s.group is None]


def grouped(segments: dict[str, SegmentColumn], group: str) -> list[str]:
    """The segments of one ``group`` (priority_sectors: 三(四); support_groups: 三(六)), in policy order."""
    return [name for name, s in segments.items() if s.group == group]


def flag_columns(segments: dict[str, SegmentColumn]) -> str:
    """SELECT-list items that add one boolean flag per segment."""
    return ", ".join(f"coalesce({s.predicate}, false) AS {s.flag}" for s in segments.values())
