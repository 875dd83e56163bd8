"""Policy parameters of a notice year (parameters/policy/<year>.yaml).

Segment rules, the NPL classes, tolerances and targets are read from the file,
never written in code, so another year's notice needs only a new file.
Each segment rule turns into one SQL predicate over the tape's columns.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from pucredit.contract.errors import InputError, Problem
from pucredit.config.paths import parameter_file, parameter_names
from pucredit.contract.schema import (BORROWER_TYPES, GUARANTEES, INDUSTRY_CODE_PATTERN, PRODUCTS, RISK_CLASSES,
                                      TAPE_COLUMNS, TOTALS_COLUMNS)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


SEGMENT_NAME = r"^[a-z][a-z0-9_]*$"  # a segment's name becomes a column (seg_<name>) and metric keys (<name>_...)
BOOL_COLUMNS = tuple(c.name for c in TAPE_COLUMNS if c.kind == "bool")


class SegmentRule(BaseModel):
    """All conditions of one rule must hold; a segment is the union of its rules (docs/data-contract.md §1.4).

    Besides the named conditions, any yes/no column of the tape may be required by name
    (``is_key_county: true``). A rule that needs an optional column the tape lacks never holds.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    borrower_types: list[Literal[tuple(BORROWER_TYPES)]] | None = None  # type: ignore[valid-type]
    guarantees: list[Literal[tuple(GUARANTEES)]] | None = None  # type: ignore[valid-type]
    is_business: bool | None = None
    is_agri: bool | None = None
    credit_line_max_cny: float | None = None
    county_list: Literal["key_counties"] | None = None  # county_code in a list of the policy file
    within: str | None = None  # and in this other segment
    # 三(四), 三(六) (issue 17): industry_code among these GB/T 4754 codes (门类 letters and 2-digit 大类 codes: list
    # both forms, the tape may give either); product among these codes
    industry_codes: list[Annotated[str, StringConstraints(pattern=f"^({INDUSTRY_CODE_PATTERN})$")]] | None = None
    products: list[Literal[tuple(PRODUCTS)]] | None = None  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _flags_are_yes_no_columns(self):
        for name, value in (self.model_extra or {}).items():
            if name not in BOOL_COLUMNS or not isinstance(value, bool):
                raise ValueError(f"unknown condition {name!r}: use borrower_types, guarantees, is_business, is_agri, "
                                 f"credit_line_max_cny, county_list, within, industry_codes, products, or a yes/no column ({', '.join(BOOL_COLUMNS)}) "
                                 "set to true or false")
        return self

    @property
    def flags(self) -> dict[str, bool]:
        """The yes/no columns the rule requires, with their values."""
        named = {k: v for k, v in (("is_business", self.is_business), ("is_agri", self.is_agri)) if v is not None}
        return {**named, **(self.model_extra or {})}


class Segment(_Strict):
    label_zh: str
    label_en: str
    clause: str
    basis: str
    source: str
    status: Literal["confirmed", "unconfirmed"]
    rules: list[SegmentRule] = Field(min_length=1)
    # a totals-file column whose balance, where given, replaces the tape's sum (涉农: agri_loans_cny)
    totals_column: Literal[tuple(c.name for c in TOTALS_COLUMNS if not c.required)] | None = None  # type: ignore[valid-type]
    # segments shown together in a section of their own (priority_sectors: 三(四); support_groups: 三(六)), not in
    # every segment table of the volume, pricing and risk reports; their metrics.json keys are the same
    group: Literal["priority_sectors", "support_groups"] | None = None


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
    """A segment's NPL tolerance (不良容忍度, notice 四(九)): how far its NPL ratio may exceed the comparator, the
    bank's actual all-loan NPL ratio or its annual target for it (the bank file's ``npl_target_ratio``).
    ``reference_only``: no rule with a number was found; the value is shown as an assumption, never assessed."""

    value_pp: float
    comparator: Literal["actual_total_npl_ratio", "target_total_npl_ratio"]
    source: str
    status: Literal["confirmed", "unconfirmed"]
    reference_only: bool = False


class Tolerances(_Strict):
    clause: str
    segments: dict[str, Tolerance]


BANK_CATEGORIES = ("large", "joint_stock", "policy", "city_commercial", "rural", "foreign", "private")
BankCategory = Literal[BANK_CATEGORIES]  # type: ignore[valid-type]


class Target(_Strict):
    """A volume target of notice 二(一) on a segment: growth not below all-loan growth, or a growing balance.

    It binds the bank categories in ``applies_to``; for the others it is a reference, unless the bank's
    local office (监管局) set a target of its own (``local_office_sets``: the bank file's ``targets``)."""

    segment: str
    rule: Literal["growth_not_below_total", "balance_growing"]
    clause: str
    source: str
    status: Literal["confirmed", "unconfirmed"]
    applies_to: list[BankCategory] | Literal["all"] = "all"
    local_office_sets: bool = False
    met_key: str | None = None  # the metrics.json key of the outcome (default <segment>_target_met)

    @property
    def key(self) -> str:
        return self.met_key or f"{self.segment}_target_met"

    @property
    def local_key(self) -> str:
        """The bank file's ``targets:`` key for a local office's growth floor of this segment, in percent."""
        return f"{self.segment}_growth_min_pct"


class BankTerms(_Strict):
    """What a bank file says that decides how the policy applies to the bank: its category (which targets bind
    it), its annual target for its all-loan NPL ratio (the comparator of some tolerances) and the targets its
    local office set (a growth floor in percent, or "none"). docs/data-contract.md §2 (bank file)."""

    category: BankCategory | None = None
    npl_target_ratio: float | None = None
    targets: dict[str, float | Literal["none"]] = Field(default_factory=dict)

    @classmethod
    def of(cls, bank_file) -> "BankTerms":
        """The terms a bank file gives (its keys of the same names; absent ones stay unset)."""
        return cls(**{k: v for k in cls.model_fields if (v := getattr(bank_file, k, None)) is not None})


class Targets(_Strict):
    clause: str
    targets: list[Target]


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
    medium_long_term_above_years: Sourced


class RiskRules(_Strict):
    clause: str
    vintage_default: Literal["npl", "dpd90"]
    # 偏离度 (issue 17): loans 90+ days past due over NPL balance, at most this (a fraction)
    dpd90_to_npl_max_ratio: Sourced


class QualityRules(_Strict):
    """Plausibility checks beyond the contract (notice 五(十一)); most thresholds are analysts' choices."""

    clause: str
    poverty_household_max_amount_cny: Sourced
    poverty_household_max_term_months: Sourced
    rate_floor_below_lpr_pp: Sourced
    rate_ceiling_lpr_multiple: Sourced
    threshold_band: Sourced
    branch_break_z: Sourced


class PovertyMicroloan(_Strict):
    """Rules of 脱贫人口小额信贷 (三(六)) besides the amount and term caps, which are the quality review's
    ``poverty_household_max_amount_cny`` and ``poverty_household_max_term_months`` (one number, one place)."""

    clause: str
    guarantees: list[Literal[tuple(GUARANTEES)]]  # type: ignore[valid-type]
    guarantees_source: str
    max_rate_over_lpr_1y_pp: Sourced


class Conduct(_Strict):
    """Screens of notice 五(十) (过度授信, 资金流向): the notice gives no numbers, so each is a sourced parameter."""

    clause: str
    multi_lender_min_count: Sourced
    over_revenue_multiple: Sourced
    self_paid_max_cny: Sourced


class Passthrough(_Strict):
    min_months: int
    min_lpr_changes: int


REQUIRED_SEGMENTS = ("inclusive_smb", "inclusive_agri")


class Policy(_Strict):
    year: int
    title: str
    title_en: str
    segments: dict[Annotated[str, StringConstraints(pattern=SEGMENT_NAME)], Segment]
    npl: NplRule
    tolerances: Tolerances
    targets: Targets
    key_counties: KeyCounties
    service_report: ServiceReport
    passthrough: Passthrough
    pricing: Pricing
    structure: Structure
    risk: RiskRules
    quality: QualityRules
    poverty_microloan: PovertyMicroloan
    conduct: Conduct
    sha256: str = ""

    @model_validator(mode="after")
    def _segments_named_exist(self):
        missing = [s for s in REQUIRED_SEGMENTS if s not in self.segments]
        if missing:
            raise ValueError(f"segments {', '.join(missing)} are required")
        named = [(f"tolerances.segments.{s}", s) for s in self.tolerances.segments]
        named += [(f"targets.targets.{t.segment}", t.segment) for t in self.targets.targets]
        named += [(f"segments.{n}.rules.within", r.within) for n, seg in self.segments.items() for r in seg.rules
                  if r.within]
        unknown = [where for where, name in named if name not in self.segments]
        if unknown:
            raise ValueError(f"{', '.join(unknown)}: not a segment of this file ({', '.join(self.segments)})")
        def refers_back(name: str, path: tuple[str, ...]) -> bool:
            return name in path or any(refers_back(r.within, (*path, name))
                                       for r in self.segments[name].rules if r.within)

        looping = [name for name in self.segments if refers_back(name, ())]
        if looping:  # within: chains must end
            raise ValueError(f"segments {', '.join(looping)}: their rules refer back to them through within:")
        targeted = [t.segment for t in self.targets.targets]
        if len(targeted) != len(set(targeted)):
            raise ValueError("targets: one target per segment")
        return self

    def target(self, segment: str) -> Target | None:
        return next((t for t in self.targets.targets if t.segment == segment), None)

    def npl_sql(self) -> str:
        """SQL predicate for non-performing rows (substandard, doubtful, loss by default)."""
        classes = ", ".join(_quote(c) for c in self.npl.risk_classes)
        return f"(risk_class IN ({classes}))"


def _quote(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def policy_path(policy: str | Path) -> Path:
    """A policy year ("2024") names parameters/policy/2024.yaml (the user's, else the shipped one:
    config.paths.parameter_file); anything else is a path."""
    text = str(policy)
    if text.isdigit():
        return parameter_file("policy", f"{text}.yaml")
    return Path(text)


def available_policies() -> list[str]:
    return [p.stem for p in parameter_names("policy", "*.yaml")]


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
