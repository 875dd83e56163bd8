"""The parameters of a synthetic bank's data-generating process (DGP), and the demo banks.

A :class:`BankConfig` holds every parameter of the mechanisms in the package
docstring; its checks run on construction.
"""
from __future__ import annotations

from dataclasses import dataclass

from pucredit.config.reference import LPR_REFORM_DATE
from pucredit.contract.schema import BORROWER_TYPES, GUARANTEES, REPAYMENTS
from pucredit.synth.months import month_index

TYPES = tuple(BORROWER_TYPES)
GUARANTEE_CODES = tuple(GUARANTEES)
REPAYMENT_CODES = tuple(REPAYMENTS)
GROUPS = ("inclusive_smb", "inclusive_agri", "other")


@dataclass(frozen=True)
class County:
    """A county (县级行政区划) where the bank lends; flags are synthetic, not the national lists."""

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

    new_per_month: float               # new borrowers per month at `start` (Poisson mean), before growth
    credit_line_median_cny: float      # median of the lognormal total credit line
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
        if problems:
            raise ValueError(f"BankConfig {self.bank_id}: " + "; ".join(problems))



# --------------------------------------------------------------------------------------------- demo banks


def _type(new_per_month, line_median_cny, line_log_sd, is_business, is_agri, terms, repayment, guarantee,
          rate_offset_pp, prepay_monthly) -> BorrowerTypeParams:
    months, probs = zip(*terms)
    return BorrowerTypeParams(new_per_month, line_median_cny, line_log_sd, is_business, is_agri, tuple(months),
                              tuple(probs), repayment, guarantee, rate_offset_pp, prepay_monthly)


# The three demo banks (make demo), 220,000-350,000 rows each over 2019-09..2025-06.
# LB01 meets the inclusive_smb growth target (20 % a year against a total near 10 %) and lends
# some agri; CB01 misses it (4 % against other lending at 14 %) and lends nothing agricultural;
# RB01 lends mostly to farmers, in key-assistance counties and poverty areas, with
# poverty-household micro-loans. Pricing: ECM shocks of σ = 0.02 pp and loan noise of 0.03 pp,
# so the real LPR moves (5-25 bp) dominate the ECM gap and 64-70 months identify it (a Monte
# Carlo on the real LPR path gives standard deviations near 0.08 for β and γ and an
# interquartile range near 0.05 for θ); the monthly rate then measures m_t to about 0.005 pp.
# County flags are synthetic (see County).
_SHORT_TERMS = ((6, 0.08), (12, 0.52), (24, 0.2), (36, 0.14), (60, 0.06))
_BUSINESS_REPAYMENT = dict(bullet=0.4, amortizing=0.15, equal_principal=0.15, revolving=0.3)
_GUARANTEE_OFFSETS = dict(credit=0.3, guarantee=0.15, collateral=0.0, pledge=-0.1)
_FEES = dict(guarantor_fee_prob=0.7, guarantor_fee_rate=(0.01, 0.02), agent_fee_prob=0.03,
             agent_fee_rate=(0.005, 0.015), bank_fee_prob=0.01, bank_fee_rate=(0.001, 0.005))

LB01 = BankConfig(
    bank_id="LB01", name="某大型商业银行", kind="large", seed=20240101, tape_is_complete=False,
    borrower_types={
        "small_micro_enterprise": _type(14, 3_000_000, 1.0, 1.0, 0.06, _SHORT_TERMS, _BUSINESS_REPAYMENT, dict(credit=0.35, guarantee=0.25, collateral=0.35, pledge=0.05),
                                        -0.15, 0.004),
        "individual_business": _type(40, 300_000, 0.8, 0.98, 0.08, _SHORT_TERMS, _BUSINESS_REPAYMENT,
                                     dict(credit=0.5, guarantee=0.2, collateral=0.28, pledge=0.02), 0.25, 0.005),
        "micro_owner": _type(24, 500_000, 0.9, 0.88, 0.05, _SHORT_TERMS, _BUSINESS_REPAYMENT,
                             dict(credit=0.45, guarantee=0.2, collateral=0.33, pledge=0.02), 0.3, 0.005),
        "farmer": _type(14, 200_000, 1.3, 0.92, 1.0, ((12, 0.6), (24, 0.25), (36, 0.15)),
                        dict(bullet=0.5, amortizing=0.1, equal_principal=0.1, revolving=0.3),
                        dict(credit=0.45, guarantee=0.35, collateral=0.2), 0.4, 0.003),
        "agri_organization": _type(2, 2_000_000, 1.0, 1.0, 1.0, ((12, 0.5), (24, 0.2), (36, 0.2), (60, 0.1)),
                                   _BUSINESS_REPAYMENT, dict(credit=0.2, guarantee=0.4, collateral=0.35, pledge=0.05),
                                   0.1, 0.003),
    },
    counties=(
        County("110105", "北京市朝阳区", 0.14, False, False, False, 3),
        County("310115", "上海市浦东新区", 0.14, False, False, False, 3),
        County("440305", "深圳市南山区", 0.12, False, False, False, 2),
        County("330782", "义乌市", 0.12, True, False, False, 2),
        County("320583", "昆山市", 0.10, True, False, False, 2),
        County("510107", "成都市武侯区", 0.10, False, False, False, 2),
        County("420106", "武汉市武昌区", 0.08, False, False, False, 2),
        County("431226", "麻阳苗族自治县", 0.08, True, True, False, 1),
        County("520526", "威宁彝族回族苗族自治县", 0.06, True, True, True, 1),
        County("622926", "东乡族自治县", 0.06, True, True, True, 1),
    ),
    annual_growth={"inclusive_smb": 0.20, "inclusive_agri": 0.15, "other": 0.08},
    first_loan_share=0.35,
    ecm_alpha_pct=1.0, ecm_theta=0.95, ecm_beta=0.45, ecm_gamma=-0.40, ecm_sigma_pp=0.02,
    loan_rate_sd_pp=0.03, first_loan_premium_pp=0.25, guarantee_offset_pp=_GUARANTEE_OFFSETS,
    lpr_5y_offset_pp=-0.2, fixed_rate_share=0.03,
    hazard_monthly={"inclusive_smb": 0.0012, "inclusive_agri": 0.0018, "other": 0.0008},
    first_loan_hazard_multiplier=1.6, special_mention_monthly=0.004, writeoff_months=15,
    renewal_prob=0.35, repeat_prob=0.55, repeat_gap_months_max=9, renewal_amount_log_sd=0.15,
    **_FEES,
    non_tape_loans_cny=20e9, non_tape_growth=0.09, non_tape_npl_ratio=0.012,
)

CB01 = BankConfig(
    bank_id="CB01", name="某城市商业银行", kind="city", seed=20240102, tape_is_complete=True,
    borrower_types={
        "small_micro_enterprise": _type(10, 2_500_000, 1.0, 1.0, 0.0, _SHORT_TERMS, _BUSINESS_REPAYMENT,
                                        dict(credit=0.25, guarantee=0.35, collateral=0.35, pledge=0.05), 0.0, 0.004),
        "individual_business": _type(24, 300_000, 0.8, 0.97, 0.0, _SHORT_TERMS, _BUSINESS_REPAYMENT,
                                     dict(credit=0.4, guarantee=0.3, collateral=0.28, pledge=0.02), 0.35, 0.005),
        "micro_owner": _type(14, 500_000, 0.9, 0.85, 0.0, _SHORT_TERMS, _BUSINESS_REPAYMENT,
                             dict(credit=0.35, guarantee=0.3, collateral=0.33, pledge=0.02), 0.4, 0.005),
        "other_enterprise": _type(6, 15_000_000, 0.6, 1.0, 0.0, ((12, 0.4), (36, 0.3), (60, 0.2), (84, 0.1)),
                                  dict(bullet=0.5, amortizing=0.2, equal_principal=0.2, revolving=0.1),
                                  dict(credit=0.3, guarantee=0.3, collateral=0.3, pledge=0.1), -0.7, 0.003),
        "other_individual": _type(10, 400_000, 1.0, 0.0, 0.0, ((12, 0.3), (36, 0.2), (60, 0.1), (240, 0.25), (360, 0.15)),
                                  dict(amortizing=0.7, equal_principal=0.2, revolving=0.1),
                                  dict(credit=0.5, guarantee=0.1, collateral=0.4), 0.8, 0.008),
    },
    counties=(
        County("320102", "南京市玄武区", 0.12, False, False, False, 2),
        County("320104", "南京市秦淮区", 0.12, False, False, False, 2),
        County("320105", "南京市建邺区", 0.12, False, False, False, 2),
        County("320106", "南京市鼓楼区", 0.16, False, False, False, 3),
        County("320113", "南京市栖霞区", 0.12, False, False, False, 2),
        County("320115", "南京市江宁区", 0.18, False, False, False, 3),
        County("320117", "南京市溧水区", 0.09, False, False, False, 1),
        County("320118", "南京市高淳区", 0.09, False, False, False, 1),
    ),
    annual_growth={"inclusive_smb": 0.04, "inclusive_agri": 0.0, "other": 0.14},
    first_loan_share=0.25,
    ecm_alpha_pct=1.6, ecm_theta=0.90, ecm_beta=0.40, ecm_gamma=-0.35, ecm_sigma_pp=0.02,
    loan_rate_sd_pp=0.03, first_loan_premium_pp=0.35, guarantee_offset_pp=_GUARANTEE_OFFSETS,
    lpr_5y_offset_pp=-1.8, fixed_rate_share=0.05,
    hazard_monthly={"inclusive_smb": 0.0016, "inclusive_agri": 0.0016, "other": 0.0005},
    first_loan_hazard_multiplier=1.8, special_mention_monthly=0.006, writeoff_months=18,
    renewal_prob=0.30, repeat_prob=0.50, repeat_gap_months_max=12, renewal_amount_log_sd=0.15,
    **_FEES,
)

RB01 = BankConfig(
    bank_id="RB01", name="某农村商业银行", kind="rural", seed=20240103, tape_is_complete=False,
    borrower_types={
        "small_micro_enterprise": _type(5, 2_000_000, 1.0, 1.0, 0.25, _SHORT_TERMS, _BUSINESS_REPAYMENT,
                                        dict(credit=0.2, guarantee=0.4, collateral=0.35, pledge=0.05), 0.2, 0.003),
        "individual_business": _type(18, 250_000, 0.8, 0.97, 0.15, _SHORT_TERMS, _BUSINESS_REPAYMENT,
                                     dict(credit=0.35, guarantee=0.4, collateral=0.25), 0.5, 0.004),
        "micro_owner": _type(6, 400_000, 0.9, 0.85, 0.1, _SHORT_TERMS, _BUSINESS_REPAYMENT,
                             dict(credit=0.3, guarantee=0.4, collateral=0.3), 0.5, 0.004),
        "farmer": _type(50, 150_000, 1.3, 0.95, 1.0, ((12, 0.55), (24, 0.25), (36, 0.2)),
                        dict(bullet=0.45, amortizing=0.1, equal_principal=0.1, revolving=0.35),
                        dict(credit=0.5, guarantee=0.35, collateral=0.15), 0.7, 0.003),
        "agri_organization": _type(3, 1_500_000, 1.0, 1.0, 1.0, ((12, 0.5), (24, 0.25), (36, 0.25)),
                                   _BUSINESS_REPAYMENT, dict(credit=0.2, guarantee=0.45, collateral=0.35), 0.3, 0.003),
        "other_individual": _type(6, 150_000, 0.8, 0.0, 0.0, ((12, 0.5), (36, 0.35), (60, 0.15)),
                                  dict(amortizing=0.6, equal_principal=0.2, revolving=0.2),
                                  dict(credit=0.6, guarantee=0.3, collateral=0.1), 1.0, 0.006),
    },
    counties=(
        County("520502", "毕节市七星关区", 0.22, False, True, False, 3),
        County("520521", "大方县", 0.14, True, True, False, 2),
        County("520523", "金沙县", 0.10, True, False, False, 1),
        County("520524", "织金县", 0.12, True, True, False, 2),
        County("520525", "纳雍县", 0.12, True, True, True, 2),
        County("520526", "威宁彝族回族苗族自治县", 0.16, True, True, True, 2),
        County("520527", "赫章县", 0.08, True, True, True, 1),
        County("520581", "黔西市", 0.06, True, True, False, 1),
    ),
    annual_growth={"inclusive_smb": 0.12, "inclusive_agri": 0.10, "other": 0.05},
    first_loan_share=0.45,
    ecm_alpha_pct=2.2, ecm_theta=0.85, ecm_beta=0.30, ecm_gamma=-0.25, ecm_sigma_pp=0.02,
    loan_rate_sd_pp=0.03, first_loan_premium_pp=0.30, guarantee_offset_pp=_GUARANTEE_OFFSETS,
    lpr_5y_offset_pp=0.0, fixed_rate_share=0.05,
    hazard_monthly={"inclusive_smb": 0.0025, "inclusive_agri": 0.0025, "other": 0.0012},
    first_loan_hazard_multiplier=1.5, special_mention_monthly=0.008, writeoff_months=18,
    renewal_prob=0.45, repeat_prob=0.55, repeat_gap_months_max=12, renewal_amount_log_sd=0.15,
    **_FEES,
    poverty_household_share=0.2,
    non_tape_loans_cny=1.5e9, non_tape_growth=0.04, non_tape_npl_ratio=0.025, non_tape_county_share=0.9,
    county_deposits_cny=5e9, county_deposit_growth=0.07,
)

DEMO_BANKS: dict[str, BankConfig] = {c.bank_id: c for c in (LB01, CB01, RB01)}
