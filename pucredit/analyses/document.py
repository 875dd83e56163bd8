"""The metrics document (docs/data-contract.md §3) as one typed model: written as metrics.json, read back by
the peer comparison, the service report and the notebooks. Keys are written here and nowhere else.

Units are in the names: ``_cny`` yuan, ``_pct`` percent a year, ``_pp`` percentage points; a bare ratio,
share or growth is a fraction. Every section keeps the reasons for its nulls in ``notes``. Keys of a
segment follow one pattern, ``<segment>_<measure>`` (docs/data-contract.md §17); the contract's segments have
typed fields, segments a policy file adds come as extra keys of the same pattern.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from pucredit.config.paths import write_text_atomic
from pucredit.estimators.passthrough import PassThrough


class Section(BaseModel):
    """A section of metrics.json: typed contract keys, extra ``<segment>_<measure>`` keys, ``notes`` last."""

    model_config = ConfigDict(extra="allow", frozen=True)

    def of(self, segment: str, measure: str):
        """The value of ``<segment>_<measure>`` (None when the section has no such key)."""
        return self.get(f"{segment}_{measure}")

    def get(self, key: str):
        """The value of a key a policy file may or may not give the section (None when absent)."""
        return getattr(self, key, None)

    def dump(self) -> dict:
        data = self.model_dump(exclude_unset=True, exclude={"notes"})
        return {**data, "notes": dict(getattr(self, "notes", {}))} if "notes" in type(self).model_fields else data


class VolumeMetrics(Section):
    inclusive_smb_balance_cny: float
    inclusive_smb_balance_base_cny: float | None
    inclusive_smb_growth: float | None
    total_loans_balance_cny: float | None
    total_loans_growth: float | None
    inclusive_smb_growth_gap_pp: float | None
    inclusive_smb_target_met: bool | None
    inclusive_agri_balance_cny: float
    inclusive_agri_growth: float | None
    inclusive_agri_growth_gap_pp: float | None
    inclusive_agri_target_met: bool | None
    inclusive_smb_borrowers: int
    inclusive_agri_borrowers: int
    base_date: str
    totals_source: str
    county_loan_to_deposit_ratio: float | None = None
    notes: dict[str, str] = Field(default_factory=dict)


class PricingMetrics(Section):
    inclusive_smb_new_amount_cny: float
    inclusive_smb_new_loans: int
    inclusive_smb_new_rate_pct: float | None
    inclusive_smb_new_spread_pp: float | None
    inclusive_agri_new_amount_cny: float
    inclusive_agri_new_rate_pct: float | None
    inclusive_agri_new_spread_pp: float | None
    inclusive_smb_new_allin_rate_pct: float | None
    inclusive_smb_allin_gap_pp: float | None
    inclusive_smb_third_party_fee_share: float | None
    passthrough: PassThrough  # the estimator's own result type: its fields are the keys
    notes: dict[str, str] = Field(default_factory=dict)


class FirstLoanMetrics(Section):
    borrowers_originated: int
    first_loan_borrowers: int
    first_loan_share: float | None
    first_loan_amount_cny: float
    first_loan_new_rate_pct: float | None
    repeat_new_rate_pct: float | None
    first_loan_borrowers_last_year: int | None
    first_loan_growth: float | None
    new_credit_share: float | None
    new_renewal_share: float | None
    new_medium_long_term_share: float | None
    new_revolving_share: float | None
    new_small_credit_share: float | None
    stock_credit_share: float | None
    stock_renewal_share: float | None
    stock_medium_long_term_share: float | None
    stock_revolving_share: float | None
    stock_small_credit_share: float | None
    notes: dict[str, str] = Field(default_factory=dict)


class RiskMetrics(Section):
    total_npl_ratio: float | None
    tolerance_pp: float
    inclusive_smb_npl_ratio: float | None
    inclusive_smb_npl_headroom_pp: float | None
    inclusive_smb_npl_headroom_cny: float | None
    inclusive_smb_within_tolerance: bool | None
    inclusive_agri_npl_ratio: float | None
    inclusive_agri_npl_headroom_pp: float | None
    inclusive_agri_npl_headroom_cny: float | None
    inclusive_agri_within_tolerance: bool | None
    inclusive_agri_tolerance_pp: float
    inclusive_smb_npl_formation_12m: float | None
    # write-offs and 偏离度 (issue 17; pucredit.analyses.writeoffs): the bank's write-offs of the period (totals
    # file) and its NPL ratio with them added back; per segment with a tolerance its NPL exits (an upper bound of its
    # write-offs), NPL ratio with them added back, and loans 90+ days past due over NPL balance against the limit
    writeoffs_cny: float | None = None
    total_npl_ratio_with_writeoffs: float | None = None
    dpd90_to_npl_max_ratio: float | None = None
    inclusive_smb_npl_exits_cny: float | None = None
    inclusive_smb_npl_ratio_with_exits: float | None = None
    inclusive_smb_dpd90_to_npl_ratio: float | None = None
    inclusive_smb_dpd90_within_limit: bool | None = None
    inclusive_agri_dpd90_to_npl_ratio: float | None = None
    inclusive_agri_dpd90_within_limit: bool | None = None
    notes: dict[str, str] = Field(default_factory=dict)


class PriorityMetrics(Section):
    """三(四) priority sectors and 三(六) support groups (pucredit.analyses.priorities): the medium/long-term share
    of each priority sector's new loans (``<segment>_new_mlt_share``, extra keys of the policy's sectors), and the
    period's new poverty micro-loans with the share breaking each rule of the 2021 notice (by count)."""

    poverty_household_new_loans: int | None = None
    poverty_household_break_amount_share: float | None = None
    poverty_household_break_term_share: float | None = None
    poverty_household_break_guarantee_share: float | None = None
    poverty_household_break_rate_share: float | None = None
    poverty_household_break_any_share: float | None = None
    notes: dict[str, str] = Field(default_factory=dict)


class ConductMetrics(Section):
    """五(十) conduct screens and 四(七) 无贷户 (pucredit.analyses.conduct); thresholds as the policy file gives them."""

    multi_lender_min_count: int
    over_revenue_multiple: float
    self_paid_max_cny: float
    bureau_coverage_share: float | None
    multi_lender_balance_share: float | None
    over_revenue_balance_share: float | None
    top1_start_balance_share: float | None
    top1_end_balance_share: float | None
    top1_balance_share_change_pp: float | None
    top10_start_balance_share: float | None
    top10_end_balance_share: float | None
    top10_balance_share_change_pp: float | None
    self_paid_amount_share: float | None
    self_paid_above_max_count: int | None
    self_paid_above_max_cny: float | None
    no_bank_loan_borrowers_count: int | None
    no_bank_loan_share: float | None
    notes: dict[str, str] = Field(default_factory=dict)


class QualityMetrics(Section):
    rows: int
    tape_rows: int
    errors: int
    warnings: int
    by_rule: dict[str, dict[str, int]]


class Provenance(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    tape_sha256: str
    totals_sha256: str | None
    params_sha256: str
    pucredit_version: str
    totals_source: str
    generated_at: str


class MetricsDocument(BaseModel):
    """metrics.json of one bank and period."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    bank_id: str
    period: str
    period_start: str
    period_end: str
    policy: str
    provenance: Provenance
    volume: VolumeMetrics
    pricing: PricingMetrics
    first_loans: FirstLoanMetrics
    risk: RiskMetrics
    quality: QualityMetrics
    priorities: PriorityMetrics = Field(default_factory=PriorityMetrics)  # 三(四), 三(六) (issue 17)
    conduct: ConductMetrics = Field(default_factory=ConductMetrics)  # 五(十), 四(七) (issue 17)

    SECTIONS: ClassVar[tuple[str, ...]] = ("volume", "pricing", "first_loans", "risk", "quality", "priorities",
                                           "conduct")

    def to_dict(self) -> dict:
        head = self.model_dump(exclude=set(self.SECTIONS))
        return {**head, **{name: getattr(self, name).dump() for name in self.SECTIONS}}

    def to_json(self) -> str:
        return json.dumps(_finite(self.to_dict()), ensure_ascii=False, indent=2) + "\n"

    def write(self, path: str | Path) -> Path:
        """Write metrics.json atomically (a temporary file beside it, then renamed)."""
        return write_text_atomic(Path(path), self.to_json())

    def value(self, path: str):
        """A value by its dotted path, e.g. ``pricing.passthrough.long_run`` (None when absent)."""
        node = self
        for part in path.split("."):
            node = node.get(part) if isinstance(node, dict) else getattr(node, part, None)
            if node is None:
                return None
        return node


def read_metrics(path: str | Path) -> MetricsDocument:
    """Read a metrics.json written by :meth:`MetricsDocument.write` (the peer comparison's input)."""
    return MetricsDocument.model_validate_json(Path(path).read_text(encoding="utf-8"))


def _finite(value):
    """JSON has no NaN: non-finite floats become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value
