"""Policy parameters of a notice year (parameters/policy/<year>.yaml).

Segment rules, the NPL classes, tolerances and targets are read from the file,
never written in code, so another year's notice needs only a new file.
Each segment rule turns into one SQL predicate over the tape's columns.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pucredit.contract.errors import InputError, Problem
from pucredit.config.paths import POLICY_DIR
from pucredit.contract.schema import BORROWER_TYPES, RISK_CLASSES


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SegmentRule(_Strict):
    """All conditions of one rule must hold; a segment is the union of its rules."""

    borrower_types: list[Literal[tuple(BORROWER_TYPES)]]  # type: ignore[valid-type]
    is_business: bool | None = None
    is_agri: bool | None = None
    credit_line_max_cny: float | None = None


class Segment(_Strict):
    label_zh: str
    label_en: str
    clause: str
    basis: str
    source: str
    status: Literal["confirmed", "unconfirmed"]
    rules: list[SegmentRule] = Field(min_length=1)


class NplRule(_Strict):
    label_zh: str
    risk_classes: list[Literal[tuple(RISK_CLASSES)]]  # type: ignore[valid-type]
    source: str
    status: Literal["confirmed", "unconfirmed"]


class Sourced(_Strict):
    value: float
    source: str
    status: Literal["confirmed", "unconfirmed"]


class Tolerance(_Strict):
    clause: str
    inclusive_smb_pp: Sourced
    inclusive_agri_pp: Sourced
    key_county_pp: Sourced
    poverty_household_pp: Sourced


class Targets(_Strict):
    clause: str
    inclusive_smb_growth_not_below_total: bool
    inclusive_agri_growth_not_below_total: bool
    key_county_growth_not_below_total: bool
    poverty_area_balance_growing: bool


class KeyCounties(_Strict):
    clause: str
    county_codes: list[str]
    source: str


class ServiceReport(_Strict):
    clause: str
    due_days_after_half_year: int


class Pricing(_Strict):
    clause: str
    high_fee_threshold_pp: Sourced


class Structure(_Strict):
    clause: str
    small_credit_loan_max_cny: Sourced
    medium_long_term_min_months: int


class RiskRules(_Strict):
    clause: str
    vintage_default: Literal["npl", "dpd90"]


class QualityRules(_Strict):
    """Plausibility checks beyond the contract (notice 五(十一)); most thresholds are analysts' choices."""

    clause: str
    poverty_household_max_amount_cny: Sourced
    poverty_household_max_term_months: Sourced
    rate_floor_below_lpr_pp: Sourced
    rate_ceiling_lpr_multiple: Sourced
    threshold_band: Sourced
    branch_break_z: Sourced


class Passthrough(_Strict):
    min_months: int
    min_lpr_changes: int


class Policy(_Strict):
    year: int
    title: str
    title_en: str
    segments: dict[Literal["inclusive_smb", "inclusive_agri"], Segment]
    npl: NplRule
    tolerance: Tolerance
    targets: Targets
    key_counties: KeyCounties
    service_report: ServiceReport
    passthrough: Passthrough
    pricing: Pricing
    structure: Structure
    risk: RiskRules
    quality: QualityRules
    sha256: str = ""

    def segment_sql(self, name: str) -> str:
        """SQL predicate over tape columns that is true for rows of the segment (clause 二(一))."""
        return "(" + " OR ".join(rule_sql(r) for r in self.segments[name].rules) + ")"

    def npl_sql(self) -> str:
        """SQL predicate for non-performing rows (substandard, doubtful, loss by default)."""
        classes = ", ".join(_quote(c) for c in self.npl.risk_classes)
        return f"(risk_class IN ({classes}))"


def _quote(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def rule_sql(rule: SegmentRule, with_credit_line: bool = True) -> str:
    """SQL predicate of one segment rule; without its credit-line limit for threshold checks."""
    parts = ["borrower_type IN (" + ", ".join(_quote(t) for t in rule.borrower_types) + ")"]
    if rule.is_business is not None:
        parts.append(f"is_business = {str(rule.is_business).lower()}")
    if rule.is_agri is not None:
        parts.append(f"is_agri = {str(rule.is_agri).lower()}")
    if with_credit_line and rule.credit_line_max_cny is not None:
        parts.append(f"credit_line_cny <= {rule.credit_line_max_cny!r}")
    return "(" + " AND ".join(parts) + ")"


def policy_path(policy: str | Path) -> Path:
    """A policy year ("2024") names parameters/policy/2024.yaml; anything else is a path."""
    text = str(policy)
    if text.isdigit():
        return POLICY_DIR / f"{text}.yaml"
    return Path(text)


def available_policies() -> list[str]:
    return sorted(p.stem for p in POLICY_DIR.glob("*.yaml"))


def load_policy(policy: str | Path = "2024") -> Policy:
    """Read and check a policy file; unknown keys and wrong types name the file and key."""
    path = policy_path(policy)
    if not path.is_file():
        raise InputError(Problem(file=str(path), rule="policy_missing",
                                 message="no such policy file",
                                 accepted="a year among " + ", ".join(available_policies()) + " or a path to a policy YAML"))
    raw = path.read_bytes()
    try:
        data = yaml.safe_load(raw)
        return Policy.model_validate({**data, "sha256": hashlib.sha256(raw).hexdigest()})
    except yaml.YAMLError as exc:
        raise InputError(Problem(file=str(path), rule="policy_yaml", message=f"not valid YAML: {exc}")) from None
    except (ValidationError, TypeError) as exc:
        problems = []
        if isinstance(exc, ValidationError):
            for err in exc.errors():
                key = ".".join(str(p) for p in err["loc"])
                problems.append(Problem(file=str(path), rule="policy_key", column=key,
                                        message=err["msg"], value=str(err.get("input"))[:80]))
        else:
            problems.append(Problem(file=str(path), rule="policy_key", message="expected a mapping of keys"))
        raise InputError(problems) from None
