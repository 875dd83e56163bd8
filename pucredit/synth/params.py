"""The parameters of a synthetic bank's data-generating process (DGP), and the demo banks.

A :class:`BankConfig` holds every parameter of the mechanisms in the package
docstring; its checks run on construction. :func:`load_config` reads one from
YAML, whose keys are its fields.

The three demo banks (``make demo``) are banks/LB01.yaml, CB01.yaml and
RB01.yaml, 220,000-350,000 rows each over 2019-09..2025-06. All three price
with ECM shocks of σ = 0.02 pp and loan noise of 0.03 pp, so the real LPR
moves (5-25 bp) dominate the ECM gap and 64-70 months identify it (a Monte
Carlo on the real LPR path gives standard deviations near 0.08 for β and γ
and an interquartile range near 0.05 for θ); the monthly rate then measures
m_t to about 0.005 pp.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
import re
from pathlib import Path

import yaml
from pydantic import ConfigDict, TypeAdapter, ValidationError

from pucredit.config.reference import LPR_REFORM_DATE
from pucredit.contract.schema import BORROWER_TYPES, CONDUCT_COLUMNS, GUARANTEES, INDUSTRY_CODE_PATTERN, REPAYMENTS
from pucredit.synth.months import month_index

TYPES = tuple(BORROWER_TYPES)
GUARANTEE_CODES = tuple(GUARANTEES)
REPAYMENT_CODES = tuple(REPAYMENTS)
GROUPS = ("inclusive_smb", "inclusive_agri", "other")
SECTOR_FLAGS = ("is_tech_sme", "is_specialized_sme", "is_green", "is_foreign_trade")  # 三(四), bit i of a borrower


@dataclass(frozen=True)
class County:
    """A county (县级行政区划) where the bank lends; flags are synthetic, not the national lists."""

    __pydantic_config__ = ConfigDict(extra="forbid")  # load_config: unknown keys are errors

    code: str                # 6-digit administrative code
    name: str
    weight: float            # relative share of new borrowers
    is_county_area: bool     # 县域 (county or county-level city, not an urban district): in county_loans_cny
    is_poverty_area: bool    # 脱贫地区 (notice 二(一))
    is_key_county: bool      # 国家乡村振兴重点帮扶县 (notice 二(一), 三(六))
    branches: int = 1        # branches in the county; a borrower banks at one, drawn uniformly


@dataclass(frozen=True)
class BorrowerTypeParams:
    """DGP parameters of one borrower type (docs/data-contract.md §4.3 borrower_type)."""

    __pydantic_config__ = ConfigDict(extra="forbid")  # load_config: unknown keys are errors

    new_per_month: int | float         # new borrowers per month at `start` (Poisson mean), before growth
    credit_line_median_cny: int | float  # median of the lognormal total credit line
    credit_line_log_sd: float          # standard deviation of log credit line
    is_business_prob: float            # per loan: operating (经营性) loan
    is_agri_prob: float                # per borrower: agriculture-related (涉农)
    term_months: tuple[int, ...]       # contract terms to draw from
    term_probs: tuple[float, ...]      # their probabilities
    repayment_probs: dict[str, float]  # bullet, amortizing, equal_principal, revolving
    guarantee_probs: dict[str, float]  # credit, guarantee, collateral, pledge
    rate_offset_pp: float              # pricing offset of the type, added to m_t (centred within the ECM group)
    prepay_monthly: float              # monthly hazard of early repayment in full


@dataclass(frozen=True)
class BankConfig:
    """Every parameter of one synthetic bank's DGP (see the package docstring for the mechanisms)."""

    __pydantic_config__ = ConfigDict(extra="forbid")  # load_config: unknown keys are errors

    bank_id: str                       # 机构编码, text
    name: str                          # Chinese name, e.g. 某城市商业银行
    kind: str                          # large, city or rural
    seed: int                          # master seed; same config and seed give identical files
    tape_is_complete: bool             # tape holds all the bank's loans (no totals file is written)
    borrower_types: dict[str, BorrowerTypeParams]  # the types the bank lends to
    counties: tuple[County, ...]
    # 2. volume growth (notice 二(一))
    annual_growth: dict[str, float]    # true annual growth of arrivals by group: inclusive_smb, inclusive_agri, other
    # 1. first loans (notice 二(三))
    first_loan_share: float            # probability that a new borrower is a first-ever borrower
    # 3. pricing, ECM truth (notice 二(二))
    ecm_alpha_pct: float               # α: long-run intercept, percent
    ecm_theta: float                   # θ: long-run pass-through of the 1-year LPR
    ecm_beta: float                    # β: same-month (short-run) response to ΔLPR
    ecm_gamma: float                   # γ: adjustment speed (< 0); half-life ln 0.5 / ln(1 + γ) months
    ecm_sigma_pp: float                # σ: sd of the monthly ECM shock ε_t, percentage points
    loan_rate_sd_pp: float             # sd of the loan-level rate noise, percentage points
    first_loan_premium_pp: float       # rate premium of a first loan over an otherwise equal repeat loan
    guarantee_offset_pp: dict[str, float]  # rate offset by guarantee (credit loans dearer)
    lpr_5y_offset_pp: float            # offset of lpr_5y loans on top of the 5y-1y LPR difference
    fixed_rate_share: float            # share of loans priced fixed (after the LPR reform)
    # 4. default (notice 四(九))
    hazard_monthly: dict[str, float]   # monthly default hazard by segment: inclusive_smb, inclusive_agri, other
    first_loan_hazard_multiplier: float  # hazard multiplier of first loans
    special_mention_monthly: float     # monthly probability of a one-month special-mention spell that cures
    writeoff_months: int               # months from default to write-off (the loan leaves the tape)
    # 6. renewals and repeats (notice 二(三))
    renewal_prob: float                # a maturing performing operating loan is renewed
    repeat_prob: float                 # otherwise the borrower takes a later new loan
    repeat_gap_months_max: int         # gap before a repeat loan, uniform 1..max months
    renewal_amount_log_sd: float       # sd of log(renewal amount / maturing amount)
    # 7. fees (notice 二(二))
    guarantor_fee_prob: float          # loans with guarantee "guarantee" paying a guarantor (third-party) fee
    guarantor_fee_rate: tuple[float, float]  # fee / amount, uniform range (fractions)
    agent_fee_prob: float              # loans paying an agent (third-party) fee
    agent_fee_rate: tuple[float, float]
    bank_fee_prob: float               # loans paying a fee to the bank
    bank_fee_rate: tuple[float, float]
    # poverty-household micro-loans (notice 三(六))
    poverty_household_share: float = 0.0      # of new farmer borrowers in poverty areas
    poverty_loan_max_cny: float = 50_000.0    # amount cap of a micro-loan (5万元（含）以下)
    poverty_loan_terms_months: tuple[int, ...] = (12, 24, 36)  # up to 3 years
    # 三(四) priority sectors and 三(六) products (issue 17). Borrower attributes drawn from a stream of their own,
    # so a bank without them gets the same loans as before. Empty or zero: the column is not written.
    sector_flag_probs: dict[str, float] = dataclasses.field(default_factory=dict)  # is_tech_sme, is_specialized_sme,
    #   is_green, is_foreign_trade: probability per borrower of an enterprise type (small_micro_enterprise,
    #   individual_business, micro_owner, other_enterprise)
    industry_probs: dict[str, float] = dataclasses.field(default_factory=dict)  # GB/T 4754 codes of those borrowers
    #   (letters or 2-digit codes) and their probabilities, summing to 1; farmers are A, other individuals blank
    student_loan_share: float = 0.0           # of new other_individual borrowers: their loans are product student_loan
    # 10. 五(十) conduct and 四(七) 无贷户 columns (pucredit.synth.conduct); none are written unless listed
    conduct_columns: tuple[str, ...] = ()     # which of bureau_credit_line_cny, bureau_lender_count,
                                              # annual_revenue_cny, payment_method, is_first_bank_loan
    lender_count_probs: tuple[float, ...] = (0.45, 0.25, 0.15, 0.1, 0.05)  # lenders 1, 2, ... per borrower
    revenue_to_line_median: float = 2.0       # median of annual revenue / credit line here (lognormal)
    revenue_log_sd: float = 0.8               # sd of its log
    self_paid_prob: float = 0.3               # a loan paid out by the borrower itself (自主支付)
    self_paid_prob_above_max: float = 0.05    # the same for loans above the policy's self_paid_max_cny
    first_bank_loan_share: float = 0.6        # of first loans ever (is_first_loan), the first bank loan anywhere
    # 9. totals (docs/data-contract.md §7), used when the tape is not complete
    non_tape_loans_cny: float = 0.0           # loans outside the tape at `start`
    non_tape_growth: float = 0.0              # their annual growth
    non_tape_npl_ratio: float = 0.0           # their NPL ratio (fraction)
    non_tape_county_share: float = 0.0        # share of them in county areas
    county_deposits_cny: float | None = None  # county-area deposits at `start`; None: no county columns
    county_deposit_growth: float = 0.0        # their annual growth
    # window and shared mechanics
    start: str = "2019-09"                    # first snapshot month
    end: str = "2025-06"                      # last snapshot month
    burn_in_months: int = 120                 # months simulated before `start`, so the stock starts near steady state
    amount_to_line_min: float = 0.3           # amount / credit line, uniform from this to 1
    revolving_utilisation_min: float = 0.3    # revolving balance / amount, uniform from this to 1
    pre_reform_rate_pct: float = 4.35         # 1-year benchmark lending rate before the LPR reform
    policy: str = "2024"                      # policy year whose segment rules classify loans

    def __post_init__(self):
        problems = []
        if self.kind not in ("large", "city", "rural"):
            problems.append(f"kind {self.kind!r} is not large, city or rural")
        unknown = set(self.borrower_types) - set(TYPES)
        if unknown:
            problems.append(f"unknown borrower types {sorted(unknown)}")
        for name, p in self.borrower_types.items():
            if len(p.term_months) != len(p.term_probs):
                problems.append(f"{name}: term_months and term_probs differ in length")
            for mix, codes in ((p.term_probs, None), (p.repayment_probs, REPAYMENT_CODES),
                               (p.guarantee_probs, GUARANTEE_CODES)):
                values = mix if codes is None else [mix.get(c, 0.0) for c in codes]
                if codes is not None and set(mix) - set(codes):
                    problems.append(f"{name}: unknown codes {sorted(set(mix) - set(codes))}")
                if abs(sum(values) - 1) > 1e-9:
                    problems.append(f"{name}: probabilities {values} do not sum to 1")
        for mapping, label in ((self.annual_growth, "annual_growth"), (self.hazard_monthly, "hazard_monthly")):
            if set(mapping) != set(GROUPS):
                problems.append(f"{label} needs exactly the keys {GROUPS}")
        if set(self.guarantee_offset_pp) != set(GUARANTEE_CODES):
            problems.append(f"guarantee_offset_pp needs exactly the keys {GUARANTEE_CODES}")
        if not self.ecm_gamma < 0:
            problems.append("ecm_gamma must be negative")
        start, end = month_index(self.start), month_index(self.end)
        if start - 1 < month_index(LPR_REFORM_DATE.strftime("%Y-%m")) or end < start:
            problems.append("start must be 2019-09 or later (the month before it needs an LPR) and end >= start")
        if not self.tape_is_complete and self.non_tape_loans_cny <= 0:
            problems.append("a partial tape needs non_tape_loans_cny > 0")
        if self.tape_is_complete and self.county_deposits_cny is not None:
            problems.append("county deposits go in the totals file, which only a partial tape has")
        unknown_flags = set(self.sector_flag_probs) - set(SECTOR_FLAGS)
        if unknown_flags:
            problems.append(f"sector_flag_probs: unknown flags {sorted(unknown_flags)} (use {', '.join(SECTOR_FLAGS)})")
        if self.industry_probs and abs(sum(self.industry_probs.values()) - 1) > 1e-9:
            problems.append("industry_probs do not sum to 1")
        bad_codes = [c for c in self.industry_probs if not re.fullmatch(INDUSTRY_CODE_PATTERN, c)]
        if bad_codes:
            problems.append(f"industry_probs: {bad_codes} are not GB/T 4754 门类 letters or 2-digit codes")
        unknown_columns = set(self.conduct_columns) - {c.name for c in CONDUCT_COLUMNS}
        if unknown_columns:
            problems.append(f"unknown conduct_columns {sorted(unknown_columns)}")
        if problems:
            raise ValueError(f"BankConfig {self.bank_id}: " + "; ".join(problems))



_ADAPTER = TypeAdapter(BankConfig)


def load_config(path: str | Path) -> BankConfig:
    """A bank's DGP parameters from a YAML file whose keys are BankConfig's fields (defaults for those left out).

    Unknown or missing keys, a value of the wrong type and a failed check raise
    ValueError naming the file and the key. Integers stay integers (``int | float``
    fields), so the truth file records the values as written.
    """
    path = Path(path)
    try:
        return _ADAPTER.validate_python(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (yaml.YAMLError, ValidationError) as exc:
        raise ValueError(f"{path}: {exc}") from None


DEMO_CONFIG_DIR = Path(__file__).parent / "banks"
DEMO_BANKS: dict[str, BankConfig] = {c.bank_id: c for c in (load_config(DEMO_CONFIG_DIR / f"{bank_id}.yaml")
                                                            for bank_id in ("LB01", "CB01", "RB01"))}
