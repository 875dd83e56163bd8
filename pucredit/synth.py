"""Synthetic loan tapes whose true parameters are known (the demo banks and the known-truth tests).

The generator writes contract-shaped tapes (CONTRACT §1.1: one row per loan per
month-end snapshot, every optional column included), a totals file when the
tape holds only part of the bank (§1.2), and a truth file with the true
parameters of the data-generating process (DGP) and the truths it realised.
Estimators are tested against the truth file; ``make demo`` builds three demo
banks from it deterministically.

The DGP runs month by month from ``burn_in_months`` before ``start`` to
``end``; the burn-in months are simulated but not written. They seed the
stock: renewal and repeat chains and long terms take about ten years to reach
steady state, so the default is 120 months (with 36, the stock was still
filling in the window and segment growth ran 2–10 pp above the configured rate
even in 2024).

1. Arrivals and first loans (notice 二(三) 加大首贷投放, 四(七) 无贷户). New
   borrowers of each type arrive as Poisson counts (``new_per_month`` at
   ``start``). A new borrower is a first-ever borrower (is_first_loan on its
   first loan) with probability ``first_loan_share``; otherwise it had loans
   elsewhere. Later loans of the same borrower are never first. Borrowers who
   arrived in the burn-in may have first loans there; those loans were
   originated before ``start`` and are not first loans of the window.
2. Volume growth (notice 二(一) 保量). Arrival rates grow at the annual rate of
   the borrower's growth group: ``inclusive_agri`` for agriculture-related
   borrowers (is_agri is a borrower attribute), ``inclusive_smb`` for the
   borrower types of the policy's inclusive_smb rules, ``other`` for the rest.
   Renewals and repeat loans follow the earlier arrivals, so in steady state a
   group's stock grows at its rate. The truth file records each segment's
   realised year-to-date balance growth, classified by the policy file's rules.
3. Pricing and LPR pass-through (notice 二(二) 稳价: price against the LPR). For
   each window month t, x_t is the amount-weighted applicable 1-year LPR
   (latest fixing on or before the origination date) of the month's
   inclusive_smb originations priced on lpr_1y (a month without such loans
   takes the 1-year LPR on its last day). The month's target rate follows
   the error-correction model
   Δm_t = β·Δx_t + γ·(m_{t−1} − α − θ·x_{t−1}) + ε_t,  ε_t ~ N(0, σ²),
   started on the long-run path, m_{start−1} = α + θ·x_{start−1}, with
   x_{start−1} the 1-year LPR on the last day of the month before ``start``.
   A loan's rate is m_t + c_i + e_i, rounded to 4 decimals, where
   c_i = type offset + guarantee offset + first-loan premium (if first) and the
   loan noise e_i ~ N(0, ``loan_rate_sd_pp``²). Within the inclusive_smb-lpr_1y
   group of a month c_i is centred (amount-weighted mean 0), so the group's
   amount-weighted rate is m_t plus only amount-weighted loan noise. Loans
   priced on lpr_5y add the 5-year minus 1-year LPR at origination and
   ``lpr_5y_offset_pp``. Pricing base: ``fixed`` with probability
   ``fixed_rate_share`` and for every loan originated before the first LPR
   fixing (2019-08-20; those were priced on the old benchmark); otherwise
   lpr_1y for terms up to 60 months, lpr_5y beyond. Burn-in months price at
   α + θ·(1-year LPR at month end, or ``pre_reform_rate_pct`` before the reform).
4. Default and risk classes (notice 四(九) 不良容忍, 尽职免责). From the month
   after origination, a performing loan defaults with monthly hazard
   ``hazard_monthly[segment]`` × ``first_loan_hazard_multiplier`` if it is a
   first loan; segment is the loan's policy segment (inclusive_smb, else
   inclusive_agri, else other). In its default month a loan is special_mention
   with days_past_due drawn from 60–89; its days past due then rise by 30 a
   month, so it is substandard (90–179 days) for 3 months, doubtful (180–359)
   for 6, then loss (360+) until it is written off (leaves the tape)
   ``writeoff_months`` after default. Its balance stays at the performing
   balance of its default month. Independently, each performing loan is
   special_mention for one month with probability ``special_mention_monthly``
   (days past due 1–59) and cures the next month; all other rows are normal
   with days past due 0. A default onset is therefore the first row with
   days_past_due ≥ 60.
5. Balances. bullet: the amount until maturity; amortizing: annuity at the
   loan's rate, one instalment per month; equal_principal: linear; revolving:
   the full amount in the origination month, then a utilisation drawn each
   month uniformly from ``revolving_utilisation_min``–100 % of the amount. A
   loan's last row is the month before its maturity month (no zero-balance
   rows). A performing loan repays early with the monthly hazard
   ``prepay_monthly`` of its type and leaves.
6. Renewals and repeat loans (notice 二(三) 加大续贷投放). At maturity a
   performing operating loan is renewed with probability ``renewal_prob``: a
   new loan_id originated on the maturity date, is_renewal, same borrower,
   product and term, amount × exp(N(0, ``renewal_amount_log_sd``²)) capped at
   the credit line. Otherwise (and after an early repayment) the borrower
   takes a new loan with probability ``repeat_prob`` after a gap of 1 to
   ``repeat_gap_months_max`` months (uniform). Defaulted borrowers do not
   return. A borrower has one loan at a time.
7. Fees (notice 二(二) 规范与第三方合作, 引导降低收费水平). At origination a loan
   with guarantee ``guarantee`` pays a guarantor fee with probability
   ``guarantor_fee_prob``, any loan an agent fee with probability
   ``agent_fee_prob`` (both in fee_third_party_cny), and a bank fee with
   probability ``bank_fee_prob`` (fee_bank_cny); each fee is the amount times
   a rate uniform in its range. Fees are origination attributes, repeated on
   every row of the loan. Poverty-household micro-loans pay none.
8. Columns (CONTRACT §1.1). Every contract column is written, optional ones
   included. Origination attributes are constant across a loan's rows;
   credit_line_cny is the borrower's total line (lognormal per type, rounded
   to 10,000 yuan, ≥ the amount; some lines exceed the policy's thresholds);
   amount = line × U(``amount_to_line_min``, 1), rounded down to 100 yuan.
   Counties carry the synthetic flags is_key_county and is_poverty_area
   (notice 二(一), 三(六)); the codes are real-format 6-digit codes but the
   flags do not reproduce the national lists. A share
   ``poverty_household_share`` of new farmer borrowers in poverty areas are
   households lifted out of poverty (notice 三(六) 脱贫人口小额信贷): their loans
   are at most ``poverty_loan_max_cny``, 1–3 years, credit, bullet, priced at
   the applicable 1-year LPR, is_poverty_household. Rows are sorted by
   (as_of, loan_id).
9. Totals (CONTRACT §1.2), written when ``tape_is_complete`` is false:
   total_loans_cny = tape balance + the non-tape book (``non_tape_loans_cny``
   at ``start``, growing at ``non_tape_growth``); total_npl_cny = tape NPL
   balance + non-tape book × ``non_tape_npl_ratio``. With
   ``county_deposits_cny`` set, also county_loans_cny (tape balance in county
   areas + ``non_tape_county_share`` of the non-tape book) and
   county_deposits_cny (growing at ``county_deposit_growth``; notice 三(五)
   合理提升县域存贷比).

Randomness comes from three streams spawned from ``seed`` (arrivals and loan
events; the ECM shocks; row-level draws: revolving utilisation, one-month
special-mention spells), so the same config gives byte-identical files.
Tapes are written a month at a time (one Parquet row group per month end, or
smaller), so memory is bounded by the live book, not by the number of rows;
every step is vectorised over loans, the only loop is over months.
"""
from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from pucredit._version import __version__
from pucredit.contract.errors import InputError, Problem
from pucredit.config.paths import BANKS_DIR, DEMO_DIR
from pucredit.config.policy import Policy, load_policy
from pucredit.config.reference import LPR_REFORM_DATE, applicable_lpr, load_lpr
from pucredit.contract.schema import BORROWER_TYPES, GUARANTEES, PRICING_BASES, REPAYMENTS, RISK_CLASSES, TAPE_COLUMNS

Progress = Callable[[str], None] | None

TYPES = tuple(BORROWER_TYPES)
GUARANTEE_CODES = tuple(GUARANTEES)
REPAYMENT_CODES = tuple(REPAYMENTS)
PRICING_CODES = tuple(PRICING_BASES)
RISK_CODES = tuple(RISK_CLASSES)
GROUPS = ("inclusive_smb", "inclusive_agri", "other")
FORMATS = ("parquet", "csv")
ROW_GROUP_ROWS = 1 << 20  # at most one month end per row group, and at most this many rows
ID_DIGITS = 9  # loan_id "L" + 9 digits, borrower_id "B" + 9 digits: fixed width, so text order = number order

LPR_1Y, LPR_5Y, FIXED = (PRICING_CODES.index(c) for c in ("lpr_1y", "lpr_5y", "fixed"))
BULLET, AMORTIZING, EQUAL_PRINCIPAL, REVOLVING = (REPAYMENT_CODES.index(c) for c in
                                                  ("bullet", "amortizing", "equal_principal", "revolving"))
SMB, AGRI, OTHER = range(3)
DEFAULT_DPD = (60, 90)        # days past due in the default month, drawn uniformly from [60, 90)
TRANSIENT_DPD = (1, 60)       # days past due of a special-mention month that cures
DPD_CLASS_BOUNDS = (60, 90, 180, 360)  # special_mention from 60 (defaulted), substandard 90, doubtful 180, loss 360

_ARROW_TYPES = {"text": pa.string(), "enum": pa.string(), "date": pa.date32(), "number": pa.float64(),
                "integer": pa.int32(), "bool": pa.bool_()}
TAPE_SCHEMA = pa.schema([pa.field(c.name, _ARROW_TYPES[c.kind], nullable=False) for c in TAPE_COLUMNS])


# --------------------------------------------------------------------------------------------- config


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
    """DGP parameters of one borrower type (CONTRACT §1.1 borrower_type)."""

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
    """Every parameter of one synthetic bank's DGP (see the module docstring for the mechanisms)."""

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
    # 9. totals (CONTRACT §1.2), used when the tape is not complete
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
        if _month(self.start) - 1 < _month(LPR_REFORM_DATE.strftime("%Y-%m")) or _month(self.end) < _month(self.start):
            problems.append("start must be 2019-09 or later (the month before it needs an LPR) and end >= start")
        if not self.tape_is_complete and self.non_tape_loans_cny <= 0:
            problems.append("a partial tape needs non_tape_loans_cny > 0")
        if self.tape_is_complete and self.county_deposits_cny is not None:
            problems.append("county deposits go in the totals file, which only a partial tape has")
        if problems:
            raise ValueError(f"BankConfig {self.bank_id}: " + "; ".join(problems))


# --------------------------------------------------------------------------------------------- months


def _month(text: str) -> int:
    """'2019-09' -> months since 1970-01."""
    return int(np.datetime64(text, "M").astype(np.int64))


def _month_text(m: int) -> str:
    return str(np.datetime64(int(m), "M"))


def _first_day(months) -> np.ndarray:
    """Days since 1970-01-01 of the first day of each month index."""
    return np.asarray(months, dtype=np.int64).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)


def _month_end(months) -> np.ndarray:
    return _first_day(np.asarray(months) + 1) - 1


def _days_in(months) -> np.ndarray:
    return _first_day(np.asarray(months) + 1) - _first_day(months)


def _add_months(days: np.ndarray, months_of_days: np.ndarray, n: np.ndarray) -> np.ndarray:
    """The same day of the month n months later, clipped to the month's last day."""
    target = months_of_days + n
    dom = days - _first_day(months_of_days)
    return _first_day(target) + np.minimum(dom, _days_in(target) - 1)


def _as_dates(days: np.ndarray) -> np.ndarray:
    return np.asarray(days, dtype=np.int64).astype("datetime64[D]")


# --------------------------------------------------------------------------------------------- policy


def _segment_mask(policy: Policy, name: str, btype, is_business, is_agri, line) -> np.ndarray:
    """The policy's segment rules (notice 二(一)) in numpy, the same predicates as Policy.segment_sql."""
    mask = np.zeros(len(btype), dtype=bool)
    for rule in policy.segments[name].rules:
        hit = np.isin(btype, [TYPES.index(t) for t in rule.borrower_types])
        if rule.is_business is not None:
            hit &= is_business == rule.is_business
        if rule.is_agri is not None:
            hit &= is_agri == rule.is_agri
        if rule.credit_line_max_cny is not None:
            hit &= line <= rule.credit_line_max_cny
        mask |= hit
    return mask


def _smb_types(policy: Policy) -> set[str]:
    return {t for rule in policy.segments["inclusive_smb"].rules for t in rule.borrower_types}


# --------------------------------------------------------------------------------------------- simulation

Book = dict[str, np.ndarray]
BORROWER_FIELDS = {"borrower": np.int64, "btype": np.int8, "line": np.float64, "is_agri": bool,
                   "county": np.int16, "branch": np.int16, "poverty_hh": bool}
LOAN_FIELDS = {"loan": np.int64, "is_business": bool, "amount": np.float64, "orig_day": np.int32,
               "orig_month": np.int32, "term": np.int16, "mat_day": np.int32, "rate": np.float64,
               "is_first": bool, "is_renewal": bool, "guarantee": np.int8, "pricing": np.int8,
               "repayment": np.int8, "fee3": np.float64, "feeb": np.float64, "seg_smb": bool, "seg_agri": bool,
               "risk": np.int8, "default_month": np.int32, "default_dpd": np.int16, "default_balance": np.float64}
QUEUE_FIELDS = {**BORROWER_FIELDS, "due": np.int32}


def _empty(fields: dict) -> Book:
    return {k: np.empty(0, dtype=v) for k, v in fields.items()}


def _take(book: Book, index) -> Book:
    return {k: v[index] for k, v in book.items()}


def _concat(*books: Book) -> Book:
    return {k: np.concatenate([b[k] for b in books]) for k in books[0]}


def _choice(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One categorical draw per row of a (rows × categories) probability matrix."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random(len(probs))[:, None] * cum[:, -1:]
    return (u >= cum).sum(axis=1).clip(max=probs.shape[1] - 1)


def _tally(shape: tuple[int, ...], weights, *index) -> np.ndarray:
    """Sum of weights by cell of a small grid, e.g. segment × first loan."""
    flat = np.ravel_multi_index([np.asarray(i, dtype=np.int64) for i in index], shape)
    return np.bincount(flat, weights=np.asarray(weights, dtype=np.float64),
                       minlength=int(np.prod(shape))).reshape(shape)


def _scheduled_balance(amount, rate, term, repayment, k, utilisation) -> np.ndarray:
    """Performing balance after k monthly instalments (step 5); utilisation applies to revolving loans."""
    k = k.astype(np.float64)
    n = term.astype(np.float64)
    i = rate / 1200.0
    growth_n, growth_k = (1 + i) ** n, (1 + i) ** k
    annuity = np.where(i > 0, amount * (growth_n - growth_k) / np.where(i > 0, growth_n - 1, 1), amount * (1 - k / n))
    balance = np.select([repayment == AMORTIZING, repayment == EQUAL_PRINCIPAL, repayment == REVOLVING],
                        [annuity, amount * (1 - k / n), np.where(k == 0, amount, amount * utilisation)], amount)
    return np.round(np.maximum(balance, 0.0), 2)


class _Truth:
    """Realised truths accumulated during the simulation (written to the truth file)."""

    def __init__(self):
        self.ecm = {"month": [], "x_pct": [], "m_pct": [], "eps_pp": [], "r_pct": [], "loans": [], "amount_cny": []}
        self.at_risk = np.zeros((3, 2))   # loan-months at risk by segment × first loan
        self.defaults = np.zeros((3, 2))  # default onsets by segment × first loan
        self.new_borrowers: dict[str, np.ndarray] = {}  # year -> new borrowers by segment × first loan
        self.smb_originators: dict[str, list] = {}      # year -> [borrowers, first-loan borrowers] id arrays
        self.maturing = np.zeros(3)       # maturing performing operating loans by segment
        self.renewed = np.zeros(3)        # of which renewed
        self.fees = np.zeros((5, 3))  # (loans, with third-party fee, with bank fee, amount, fees) × segment
        self.first_window_borrower: int | None = None

    def year(self, t: int) -> str:
        return _month_text(t)[:4]


class _Simulation:
    """The DGP of the module docstring, one month per call of :meth:`step`."""

    def __init__(self, cfg: BankConfig, policy: Policy, lpr: pd.DataFrame):
        self.cfg, self.policy, self.lpr = cfg, policy, lpr
        self.start, self.end = _month(cfg.start), _month(cfg.end)
        events, ecm, rows = np.random.SeedSequence(cfg.seed).spawn(3)
        self.rng = np.random.default_rng(events)
        self.ecm_rng = np.random.default_rng(ecm)
        self.row_rng = np.random.default_rng(rows)
        self.types = [t for t in TYPES if t in cfg.borrower_types]
        params = [cfg.borrower_types[t] for t in self.types]
        self.type_index = np.array([TYPES.index(t) for t in self.types])
        # per-type lookup tables, indexed by the global borrower-type code
        self.rate_offset = np.zeros(len(TYPES))
        self.prepay = np.zeros(len(TYPES))
        self.p_business = np.zeros(len(TYPES))
        for code, p in zip(self.type_index, params):
            self.rate_offset[code], self.prepay[code], self.p_business[code] = (
                p.rate_offset_pp, p.prepay_monthly, p.is_business_prob)
        self.terms = {TYPES.index(t): (np.array(p.term_months), np.array(p.term_probs)) for t, p in zip(self.types, params)}
        self.repayment_probs = np.zeros((len(TYPES), len(REPAYMENT_CODES)))
        self.guarantee_probs = np.zeros((len(TYPES), len(GUARANTEE_CODES)))
        for code, p in zip(self.type_index, params):
            self.repayment_probs[code] = [p.repayment_probs.get(c, 0.0) for c in REPAYMENT_CODES]
            self.guarantee_probs[code] = [p.guarantee_probs.get(c, 0.0) for c in GUARANTEE_CODES]
        self.guarantee_offset = np.array([cfg.guarantee_offset_pp[c] for c in GUARANTEE_CODES])
        self.hazard = np.array([cfg.hazard_monthly[g] for g in GROUPS])
        self.smb_type_codes = [TYPES.index(t) for t in _smb_types(policy)]
        weights = np.array([c.weight for c in cfg.counties], dtype=float)
        self.county_probs = weights / weights.sum()
        self.branch_start = np.cumsum([0] + [c.branches for c in cfg.counties])
        self.poverty_area = np.array([c.is_poverty_area for c in cfg.counties])
        self.reform_day = int((LPR_REFORM_DATE.to_datetime64().astype("datetime64[D]")).astype(np.int64))
        self.book = _empty({**BORROWER_FIELDS, **LOAN_FIELDS})
        self.queue = _empty(QUEUE_FIELDS)
        self.next_loan = 1
        self.next_borrower = 1
        self.truth = _Truth()
        self.x_prev = self._lpr_at_month_end(self.start - 1)
        self.m_prev = cfg.ecm_alpha_pct + cfg.ecm_theta * self.x_prev

    def months(self) -> Iterator[int]:
        """Simulate every month; yield the window months after their step, the live book then in self.book."""
        for t in range(self.start - self.cfg.burn_in_months, self.end + 1):
            self.step(t)
            if t >= self.start:
                yield t

    # -- one month ---------------------------------------------------------------------------------

    def step(self, t: int) -> None:
        cfg, rng, book = self.cfg, self.rng, self.book
        n = len(book["loan"])
        observed = t > self.start  # the tape shows the previous month too, so these events can be seen in it
        k = t - book["orig_month"]
        defaulted = book["default_month"] >= 0
        written_off = defaulted & (t - book["default_month"] >= cfg.writeoff_months)
        matured = ~defaulted & (k >= book["term"])
        prepaid = ~defaulted & ~matured & (rng.random(n) < self.prepay[book["btype"]])
        at_risk = ~defaulted & ~matured & ~prepaid
        hazard = self.hazard[book["risk"]] * np.where(book["is_first"], cfg.first_loan_hazard_multiplier, 1.0)
        new_default = at_risk & (rng.random(n) < hazard)
        renewed = matured & book["is_business"] & (rng.random(n) < cfg.renewal_prob)
        repeats = (matured & ~renewed | prepaid) & (rng.random(n) < cfg.repeat_prob)
        gaps = rng.integers(1, cfg.repeat_gap_months_max + 1, size=n)
        if observed:
            cells = (book["risk"], book["is_first"])
            self.truth.at_risk += _tally((3, 2), at_risk, *cells)
            self.truth.defaults += _tally((3, 2), new_default, *cells)
            self.truth.maturing += _tally((3,), matured & book["is_business"], book["risk"])
            self.truth.renewed += _tally((3,), renewed, book["risk"])

        d = np.flatnonzero(new_default)
        if len(d):
            utilisation = rng.uniform(cfg.revolving_utilisation_min, 1.0, size=len(d))
            book["default_balance"][d] = _scheduled_balance(
                book["amount"][d], book["rate"][d], book["term"][d], book["repayment"][d], k[d], utilisation)
            book["default_month"][d] = t
            book["default_dpd"][d] = rng.integers(*DEFAULT_DPD, size=len(d))

        queued = _take(book, repeats)
        self.queue = _concat(self.queue, {**{f: queued[f] for f in BORROWER_FIELDS},
                                          "due": (t + gaps[repeats]).astype(np.int32)})
        renewals = self._renewals(_take(book, renewed))
        self.book = _take(book, ~(written_off | matured | prepaid))

        due = self.queue["due"] == t
        repeat_borrowers = {f: self.queue[f][due] for f in BORROWER_FIELDS}
        self.queue = _take(self.queue, ~due)
        arrivals = self._arrivals(t)
        new = _concat(renewals,
                      self._new_loans(repeat_borrowers, t, first=np.zeros(len(repeat_borrowers["borrower"]), bool)),
                      self._new_loans(arrivals, t, first=rng.random(len(arrivals["borrower"])) < cfg.first_loan_share))
        new = _take(new, np.argsort(new["orig_day"], kind="stable"))
        new["loan"] = np.arange(self.next_loan, self.next_loan + len(new["loan"]), dtype=np.int64)
        self.next_loan += len(new["loan"])
        self._classify(new)
        self._price(new, t)
        self._fees(new)
        if t >= self.start:
            self._record_originations(new, arrivals["borrower"], t)
        self.book = _concat(self.book, new)

    # -- arrivals and products ---------------------------------------------------------------------

    def _arrivals(self, t: int) -> Book:
        """New borrowers of month t (step 1, 2): Poisson per type, split into agri and non-agri streams."""
        cfg, rng = self.cfg, self.rng
        years = (t - self.start) / 12
        counts = []
        for name in self.types:
            p = cfg.borrower_types[name]
            group = "inclusive_smb" if TYPES.index(name) in self.smb_type_codes else "other"
            agri_rate = p.new_per_month * p.is_agri_prob * (1 + cfg.annual_growth["inclusive_agri"]) ** years
            rest_rate = p.new_per_month * (1 - p.is_agri_prob) * (1 + cfg.annual_growth[group]) ** years
            counts.append((TYPES.index(name), rng.poisson(agri_rate), rng.poisson(rest_rate)))
        btype = np.concatenate([np.full(a + r, code, np.int8) for code, a, r in counts]) if counts else np.empty(0, np.int8)
        is_agri = np.concatenate([np.r_[np.ones(a, bool), np.zeros(r, bool)] for _, a, r in counts])
        m = len(btype)
        borrower = np.arange(self.next_borrower, self.next_borrower + m, dtype=np.int64)
        self.next_borrower += m
        if t >= self.start and self.truth.first_window_borrower is None:
            self.truth.first_window_borrower = int(borrower[0]) if m else None
        medians = np.array([cfg.borrower_types[TYPES[c]].credit_line_median_cny for c in btype])
        sds = np.array([cfg.borrower_types[TYPES[c]].credit_line_log_sd for c in btype])
        line = np.maximum(np.round(medians * np.exp(sds * rng.standard_normal(m)), -4), 10_000.0)
        county = rng.choice(len(self.county_probs), size=m, p=self.county_probs).astype(np.int16)
        branches = self.branch_start[county + 1] - self.branch_start[county]
        branch = (self.branch_start[county] + (rng.random(m) * branches).astype(int)).astype(np.int16)
        poverty_hh = ((btype == TYPES.index("farmer")) & self.poverty_area[county]
                      & (rng.random(m) < cfg.poverty_household_share))
        line = np.where(poverty_hh, cfg.poverty_loan_max_cny, line)
        return {"borrower": borrower, "btype": btype, "line": line, "is_agri": is_agri | poverty_hh,
                "county": county, "branch": branch, "poverty_hh": poverty_hh}

    def _new_loans(self, borrowers: Book, t: int, first: np.ndarray) -> Book:
        """Fresh loans (not renewals) for these borrowers, originated on a uniform day of month t."""
        cfg, rng = self.cfg, self.rng
        m = len(borrowers["borrower"])
        btype, hh = borrowers["btype"], borrowers["poverty_hh"]
        term = np.zeros(m, np.int16)
        for code, (terms, probs) in self.terms.items():
            rows = np.flatnonzero(btype == code)
            term[rows] = terms[_choice(rng, np.broadcast_to(probs, (len(rows), len(probs))))]
        hh_terms = np.array(cfg.poverty_loan_terms_months)
        term = np.where(hh, hh_terms[rng.integers(0, len(hh_terms), size=m)], term).astype(np.int16)
        repayment = np.where(hh, BULLET, _choice(rng, self.repayment_probs[btype])).astype(np.int8)
        guarantee = np.where(hh, GUARANTEE_CODES.index("credit"), _choice(rng, self.guarantee_probs[btype])).astype(np.int8)
        is_business = hh | (rng.random(m) < self.p_business[btype])
        share = rng.uniform(cfg.amount_to_line_min, 1.0, size=m)
        hh_share = rng.uniform(0.4, 1.0, size=m)
        amount = np.where(hh, np.floor(cfg.poverty_loan_max_cny * hh_share / 1000) * 1000,
                          np.floor(borrowers["line"] * share / 100) * 100)
        orig_day = _first_day(t) + (rng.random(m) * _days_in(t)).astype(np.int64)
        return self._loans(borrowers, t, orig_day, term, repayment, guarantee, is_business,
                           np.maximum(amount, 100.0), first, np.zeros(m, bool))

    def _renewals(self, old: Book) -> Book:
        """Renewal loans (step 6): same borrower, product and term, originated on the old maturity date."""
        m = len(old["loan"])
        amount = np.floor(old["amount"] * np.exp(self.cfg.renewal_amount_log_sd * self.rng.standard_normal(m)) / 100) * 100
        amount = np.clip(amount, 100.0, old["line"])
        t = old["orig_month"] + old["term"]
        return self._loans({f: old[f] for f in BORROWER_FIELDS}, t, old["mat_day"].astype(np.int64), old["term"],
                           old["repayment"], old["guarantee"], np.ones(m, bool), amount, np.zeros(m, bool), np.ones(m, bool))

    def _loans(self, borrowers, t, orig_day, term, repayment, guarantee, is_business, amount, first, renewal) -> Book:
        m = len(orig_day)
        orig_month = np.broadcast_to(np.asarray(t, dtype=np.int64), (m,))
        return {**borrowers,
                "loan": np.zeros(m, np.int64), "is_business": is_business, "amount": amount,
                "orig_day": orig_day.astype(np.int32), "orig_month": orig_month.astype(np.int32),
                "term": term.astype(np.int16), "mat_day": _add_months(orig_day, orig_month, term).astype(np.int32),
                "rate": np.zeros(m), "is_first": first, "is_renewal": renewal,
                "guarantee": guarantee.astype(np.int8), "pricing": np.zeros(m, np.int8),
                "repayment": repayment.astype(np.int8), "fee3": np.zeros(m), "feeb": np.zeros(m),
                "seg_smb": np.zeros(m, bool), "seg_agri": np.zeros(m, bool), "risk": np.zeros(m, np.int8),
                "default_month": np.full(m, -1, np.int32), "default_dpd": np.zeros(m, np.int16),
                "default_balance": np.zeros(m)}

    def _classify(self, new: Book) -> None:
        """Policy segments of the new loans (constant over their rows) and the hazard segment (step 4)."""
        args = (new["btype"], new["is_business"], new["is_agri"], new["line"])
        new["seg_smb"] = _segment_mask(self.policy, "inclusive_smb", *args)
        new["seg_agri"] = _segment_mask(self.policy, "inclusive_agri", *args)
        new["risk"] = np.where(new["seg_smb"], SMB, np.where(new["seg_agri"], AGRI, OTHER)).astype(np.int8)

    # -- pricing (step 3) --------------------------------------------------------------------------

    def _lpr(self, days: np.ndarray, tenor: str) -> np.ndarray:
        return applicable_lpr(_as_dates(days), self.lpr, tenor) if len(days) else np.empty(0)

    def _lpr_at_month_end(self, t: int) -> float:
        return float(self._lpr(_month_end([t]), "1y")[0])

    def _price(self, new: Book, t: int) -> None:
        cfg, rng = self.cfg, self.rng
        m = len(new["loan"])
        pre_reform = new["orig_day"] < self.reform_day
        lpr1 = np.where(pre_reform, np.nan, self._lpr(np.maximum(new["orig_day"], self.reform_day), "1y"))
        lpr5 = np.where(pre_reform, np.nan, self._lpr(np.maximum(new["orig_day"], self.reform_day), "5y"))
        fixed = pre_reform | (rng.random(m) < cfg.fixed_rate_share)
        pricing = np.where(fixed, FIXED, np.where(new["term"] > 60, LPR_5Y, LPR_1Y))
        pricing = np.where(new["poverty_hh"] & ~pre_reform, LPR_1Y, pricing).astype(np.int8)
        group = new["seg_smb"] & (pricing == LPR_1Y)
        if t >= self.start:
            m_t = self._ecm_step(t, new["amount"][group], lpr1[group])
        else:
            reference = self._lpr_at_month_end(t)
            m_t = cfg.ecm_alpha_pct + cfg.ecm_theta * (cfg.pre_reform_rate_pct if np.isnan(reference) else reference)
        offset = (self.rate_offset[new["btype"]] + self.guarantee_offset[new["guarantee"]]
                  + cfg.first_loan_premium_pp * new["is_first"])
        if group.any():
            offset[group] -= np.average(offset[group], weights=new["amount"][group])
        anchor = m_t + np.where(pricing == LPR_5Y, lpr5 - lpr1 + cfg.lpr_5y_offset_pp, 0.0)
        rate = anchor + offset + cfg.loan_rate_sd_pp * rng.standard_normal(m)
        micro = np.where(pre_reform, cfg.pre_reform_rate_pct, lpr1)
        new["rate"] = np.round(np.where(new["poverty_hh"], micro, rate), 4)
        new["pricing"] = pricing
        if t >= self.start:
            ecm = self.truth.ecm
            ecm["r_pct"].append(float(np.average(new["rate"][group], weights=new["amount"][group])) if group.any() else None)
            ecm["loans"].append(int(group.sum()))
            ecm["amount_cny"].append(round(float(new["amount"][group].sum()), 2))

    def _ecm_step(self, t: int, amount: np.ndarray, lpr1: np.ndarray) -> float:
        """m_t of the ECM; x_t is the month's amount-weighted applicable 1-year LPR of the ECM group."""
        cfg = self.cfg
        x = float(np.average(lpr1, weights=amount)) if len(amount) else self._lpr_at_month_end(t)
        eps = cfg.ecm_sigma_pp * float(self.ecm_rng.standard_normal())
        m = (self.m_prev + cfg.ecm_beta * (x - self.x_prev)
             + cfg.ecm_gamma * (self.m_prev - cfg.ecm_alpha_pct - cfg.ecm_theta * self.x_prev) + eps)
        ecm = self.truth.ecm
        ecm["month"].append(_month_text(t))
        ecm["x_pct"].append(x)
        ecm["m_pct"].append(m)
        ecm["eps_pp"].append(eps)
        self.x_prev, self.m_prev = x, m
        return m

    def _fees(self, new: Book) -> None:
        """Origination fees (step 7)."""
        cfg, rng = self.cfg, self.rng
        m = len(new["loan"])
        amount, hh = new["amount"], new["poverty_hh"]
        guarantor = (new["guarantee"] == GUARANTEE_CODES.index("guarantee")) & (rng.random(m) < cfg.guarantor_fee_prob)
        agent = rng.random(m) < cfg.agent_fee_prob
        bank = rng.random(m) < cfg.bank_fee_prob
        fee3 = (guarantor * rng.uniform(*cfg.guarantor_fee_rate, size=m)
                + agent * rng.uniform(*cfg.agent_fee_rate, size=m)) * amount
        feeb = bank * rng.uniform(*cfg.bank_fee_rate, size=m) * amount
        new["fee3"] = np.round(np.where(hh, 0.0, fee3), 2)
        new["feeb"] = np.round(np.where(hh, 0.0, feeb), 2)

    def _record_originations(self, new: Book, arrived: np.ndarray, t: int) -> None:
        truth, year = self.truth, self.truth.year(t)
        newcomer = np.isin(new["borrower"], arrived)
        counts = truth.new_borrowers.setdefault(year, np.zeros((3, 2)))
        counts += _tally((3, 2), newcomer, new["risk"], new["is_first"])
        smb = new["seg_smb"]
        ids = truth.smb_originators.setdefault(year, [[], []])
        ids[0].append(new["borrower"][smb])
        ids[1].append(new["borrower"][smb & new["is_first"]])
        for row, values in enumerate((np.ones_like(new["amount"]), new["fee3"] > 0, new["feeb"] > 0,
                                      new["amount"], new["fee3"] + new["feeb"])):
            truth.fees[row] += _tally((3,), values, new["risk"])


# --------------------------------------------------------------------------------------------- rows


class _Tables:
    """Turns the live book of a window month into the contract's columns (steps 4, 5, 8)."""

    def __init__(self, cfg: BankConfig, policy: Policy, rng: np.random.Generator):
        self.cfg, self.rng = cfg, rng
        self.counties = pa.array([c.code for c in cfg.counties], pa.string())
        self.branches = pa.array([f"{cfg.bank_id}-{c.code}-{j + 1:02d}" for c in cfg.counties
                                  for j in range(c.branches)], pa.string())
        self.key_county = np.array([c.is_key_county or c.code in policy.key_counties.county_codes
                                    for c in cfg.counties])
        self.key_county_flag = np.array([c.is_key_county for c in cfg.counties])
        self.poverty_area = np.array([c.is_poverty_area for c in cfg.counties])
        self.county_area = np.array([c.is_county_area for c in cfg.counties])
        self.npl_codes = [RISK_CODES.index(c) for c in policy.npl.risk_classes]

    def snapshot(self, book: Book, t: int) -> tuple[pa.Table, dict]:
        """The month's rows as an Arrow table, and the month's balances by segment."""
        cfg, rng = self.cfg, self.rng
        n = len(book["loan"])
        k = t - book["orig_month"]
        defaulted = book["default_month"] >= 0
        transient = ~defaulted & (rng.random(n) < cfg.special_mention_monthly)
        dpd = np.where(defaulted, book["default_dpd"] + 30 * (t - book["default_month"]),
                       np.where(transient, rng.integers(*TRANSIENT_DPD, size=n), 0)).astype(np.int32)
        risk_class = np.select([transient, dpd >= DPD_CLASS_BOUNDS[3], dpd >= DPD_CLASS_BOUNDS[2],
                                dpd >= DPD_CLASS_BOUNDS[1], dpd >= DPD_CLASS_BOUNDS[0]],
                               [RISK_CODES.index(c) for c in
                                ("special_mention", "loss", "doubtful", "substandard", "special_mention")],
                               RISK_CODES.index("normal"))
        utilisation = rng.uniform(cfg.revolving_utilisation_min, 1.0, size=n)
        balance = np.where(defaulted, book["default_balance"],
                           _scheduled_balance(book["amount"], book["rate"], book["term"], book["repayment"], k,
                                              utilisation))
        county = book["county"]
        columns = {
            "bank_id": pa.array([cfg.bank_id], pa.string()).take(np.zeros(n, np.int64)),
            "as_of": pa.array(np.full(n, _month_end([t])[0], np.int32)).cast(pa.date32()),
            "loan_id": _ids("L", book["loan"]),
            "borrower_id": _ids("B", book["borrower"]),
            "borrower_type": _codes(TYPES, book["btype"]),
            "is_business": pa.array(book["is_business"]),
            "credit_line_cny": pa.array(book["line"]),
            "amount_cny": pa.array(book["amount"]),
            "balance_cny": pa.array(balance),
            "origination_date": pa.array(book["orig_day"]).cast(pa.date32()),
            "maturity_date": pa.array(book["mat_day"]).cast(pa.date32()),
            "rate_pct": pa.array(book["rate"]),
            "is_agri": pa.array(book["is_agri"]),
            "is_first_loan": pa.array(book["is_first"]),
            "is_renewal": pa.array(book["is_renewal"]),
            "guarantee": _codes(GUARANTEE_CODES, book["guarantee"]),
            "risk_class": _codes(RISK_CODES, risk_class),
            "days_past_due": pa.array(dpd),
            "county_code": self.counties.take(county),
            "pricing_base": _codes(PRICING_CODES, book["pricing"]),
            "fee_third_party_cny": pa.array(book["fee3"]),
            "fee_bank_cny": pa.array(book["feeb"]),
            "repayment": _codes(REPAYMENT_CODES, book["repayment"]),
            "branch_id": self.branches.take(book["branch"]),
            "is_poverty_area": pa.array(self.poverty_area[county]),
            "is_key_county": pa.array(self.key_county_flag[county]),
            "is_poverty_household": pa.array(book["poverty_hh"]),
        }
        npl = np.isin(risk_class, self.npl_codes)
        masks = {"inclusive_smb": book["seg_smb"], "inclusive_agri": book["seg_agri"],
                 "key_county": self.key_county[county], "poverty_area": self.poverty_area[county],
                 "poverty_household": book["poverty_hh"], "tape": np.ones(n, bool)}
        stocks = {name: {"balance_cny": float(balance[mask].sum()), "npl_cny": float(balance[mask & npl].sum()),
                         "loans": int(mask.sum())} for name, mask in masks.items()}
        stocks["tape"]["county_area_cny"] = float(balance[self.county_area[county]].sum())
        return pa.Table.from_pydict(columns, schema=TAPE_SCHEMA), stocks


def _ids(prefix: str, numbers: np.ndarray) -> pa.Array:
    text = pc.utf8_lpad(pc.cast(pa.array(numbers, pa.int64()), pa.string()), ID_DIGITS, "0")
    return pc.binary_join_element_wise(prefix, text, "")


def _codes(codes: tuple[str, ...], index: np.ndarray) -> pa.Array:
    return pa.array(codes, pa.string()).take(np.asarray(index, dtype=np.int64))


# --------------------------------------------------------------------------------------------- output


def output_paths(config: BankConfig, out_dir: Path, fmt: str = "parquet") -> dict[str, Path | None]:
    """Where :func:`generate` writes: tape, totals (None for a complete tape) and truth."""
    stem = Path(out_dir) / config.bank_id.lower()
    return {"tape": stem.with_name(f"{stem.name}.{fmt}"),
            "totals": None if config.tape_is_complete else stem.with_name(f"{stem.name}_totals.csv"),
            "truth": stem.with_name(f"{stem.name}_truth.json")}


def generate(config: BankConfig, out_dir: str | Path, *, fmt: str = "parquet", progress: Progress = None) -> dict:
    """Write one bank's tape, totals (partial tapes only) and truth file; return their paths.

    Files: ``<bank_id_lower>.parquet`` (or ``.csv``, UTF-8), ``<bank_id_lower>_totals.csv``
    and ``<bank_id_lower>_truth.json`` in ``out_dir``. The same config gives
    byte-identical files. Each file is written beside its target and then moved
    into place, so an interrupted run leaves no half-written file.
    """
    if fmt not in FORMATS:
        raise InputError(Problem(file="", message=f"unknown format {fmt!r}", rule="usage", accepted=", ".join(FORMATS)))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = output_paths(config, out_dir, fmt)
    policy = load_policy(config.policy)
    sim = _Simulation(config, policy, load_lpr())
    tables = _Tables(config, policy, sim.row_rng)
    stocks: dict[str, dict] = {}
    rows = 0
    tmp_tape = paths["tape"].with_name(paths["tape"].name + ".tmp")
    writer = (pq.ParquetWriter(tmp_tape, TAPE_SCHEMA, compression="zstd") if fmt == "parquet"
              else pacsv.CSVWriter(tmp_tape, TAPE_SCHEMA))
    try:
        for t in sim.months():
            table, stocks[_month_text(t)] = tables.snapshot(sim.book, t)
            if fmt == "parquet":
                writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
            else:
                writer.write_table(table)
            rows += table.num_rows
            if progress and _month_text(t).endswith("12"):
                progress(f"{config.bank_id}: {_month_text(t)}, {rows:,} rows")
    finally:
        writer.close()
    os.replace(tmp_tape, paths["tape"])
    totals = _totals(config, stocks)
    if paths["totals"] is not None:
        _write_totals(paths["totals"], config, totals)
    truth = _truth(config, policy, sim, stocks, totals, rows, paths)
    _replace_text(paths["truth"], json.dumps(truth, ensure_ascii=False, indent=1, sort_keys=True) + "\n")
    if progress:
        progress(f"{config.bank_id}: wrote {rows:,} rows to {paths['tape']}")
    return paths


def _replace_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _totals(cfg: BankConfig, stocks: dict[str, dict]) -> list[dict]:
    """Month-end totals (step 9): the tape plus the non-tape book."""
    out = []
    start = _month(cfg.start)
    for month, s in stocks.items():
        years = (_month(month) - start) / 12
        outside = cfg.non_tape_loans_cny * (1 + cfg.non_tape_growth) ** years
        row = {"bank_id": cfg.bank_id, "as_of": str(_as_dates(_month_end([_month(month)]))[0]),
               "total_loans_cny": round(s["tape"]["balance_cny"] + outside, 2),
               "total_npl_cny": round(s["tape"]["npl_cny"] + outside * cfg.non_tape_npl_ratio, 2)}
        if cfg.county_deposits_cny is not None:
            row["county_loans_cny"] = round(s["tape"]["county_area_cny"] + outside * cfg.non_tape_county_share, 2)
            row["county_deposits_cny"] = round(cfg.county_deposits_cny * (1 + cfg.county_deposit_growth) ** years, 2)
        out.append(row)
    return out


def _write_totals(path: Path, cfg: BankConfig, totals: list[dict]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(totals[0]), lineterminator="\n")
        writer.writeheader()
        for row in totals:
            writer.writerow({k: f"{v:.2f}" if isinstance(v, float) else v for k, v in row.items()})
    os.replace(tmp, path)


def _ytd_growth(series: dict[str, float]) -> dict[str, float | None]:
    """Year-to-date growth (CONTRACT §1.5): stock at the year's last month in the tape over the previous December."""
    out = {}
    years = sorted({m[:4] for m in series})
    for year in years:
        base = series.get(f"{int(year) - 1}-12")
        last = max(m for m in series if m.startswith(year))
        out[year] = None if not base else series[last] / base - 1
    return out


def _truth(cfg: BankConfig, policy: Policy, sim: _Simulation, stocks: dict, totals: list[dict], rows: int,
           paths: dict) -> dict:
    truth = sim.truth
    months = list(stocks)
    balances = {seg: [stocks[m][seg]["balance_cny"] for m in months] for seg in stocks[months[0]]}
    npl = {seg: [stocks[m][seg]["npl_cny"] for m in months] for seg in stocks[months[0]]}
    total_loans = [t["total_loans_cny"] for t in totals] if not cfg.tape_is_complete else balances["tape"]
    total_npl = [t["total_npl_cny"] for t in totals] if not cfg.tape_is_complete else npl["tape"]
    growth = {seg: _ytd_growth(dict(zip(months, values))) for seg, values in balances.items()}
    growth["total_loans"] = _ytd_growth(dict(zip(months, total_loans)))

    ecm = truth.ecm
    hazard = {}
    for g, name in enumerate(GROUPS):
        at_risk, defaults = truth.at_risk[g], truth.defaults[g]
        mult = np.array([1.0, cfg.first_loan_hazard_multiplier])
        hazard[name] = {
            "true_monthly": cfg.hazard_monthly[name],
            "at_risk_loan_months": int(at_risk.sum()), "defaults": int(defaults.sum()),
            "expected_defaults": float((at_risk * mult).sum() * cfg.hazard_monthly[name]),
            "realised_repeat_monthly": _ratio(defaults[0], at_risk[0]),
            "realised_first_monthly": _ratio(defaults[1], at_risk[1]),
        }
    first_by_year = {year: {name: {"new_borrowers": int(c[g].sum()), "first_loan_borrowers": int(c[g, 1]),
                                   "share": _ratio(c[g, 1], c[g].sum())} for g, name in enumerate(GROUPS)}
                     for year, c in sorted(truth.new_borrowers.items())}
    window = sum(truth.new_borrowers.values())
    first_window = {name: {"new_borrowers": int(window[g].sum()), "first_loan_borrowers": int(window[g, 1]),
                           "share": _ratio(window[g, 1], window[g].sum())} for g, name in enumerate(GROUPS)}
    smb_metric = {}
    for year, (ids, first_ids) in sorted(truth.smb_originators.items()):
        n_all, n_first = len(np.unique(np.concatenate(ids))), len(np.unique(np.concatenate(first_ids)))
        smb_metric[year] = {"borrowers_originated": n_all, "first_loan_borrowers": n_first,
                            "first_loan_share": _ratio(n_first, n_all)}
    loans, third_party, bank, amount, paid = truth.fees
    fees = {name: {"loans": int(loans[g]), "share_with_third_party_fee": _ratio(third_party[g], loans[g]),
                   "share_with_bank_fee": _ratio(bank[g], loans[g]), "fees_over_amount": _ratio(paid[g], amount[g])}
            for g, name in enumerate(GROUPS)}
    renewals = {name: {"maturing_operating_loans": int(truth.maturing[g]), "renewed": int(truth.renewed[g]),
                       "share": _ratio(truth.renewed[g], truth.maturing[g])} for g, name in enumerate(GROUPS)}
    return {
        "generator": "pucredit.synth", "pucredit_version": __version__,
        "bank_id": cfg.bank_id, "name": cfg.name, "kind": cfg.kind, "policy": cfg.policy,
        "policy_sha256": policy.sha256,
        "files": {k: (p.name if p is not None else None) for k, p in paths.items()},
        "config": asdict(cfg),
        "rows": rows, "loans": sim.next_loan - 1, "borrowers": sim.next_borrower - 1, "months": months,
        "segments_note": ("inclusive_smb, inclusive_agri: the policy's segments (they overlap); hazard, fee, renewal "
                          "and first-loan truths use the partition inclusive_smb, else inclusive_agri, else other"),
        "passthrough": {
            "long_run": cfg.ecm_theta, "short_run": cfg.ecm_beta, "adjustment_speed": cfg.ecm_gamma,
            "alpha_pct": cfg.ecm_alpha_pct, "sigma_pp": cfg.ecm_sigma_pp,
            "half_life_months": float(np.log(0.5) / np.log(1 + cfg.ecm_gamma)),
            "loan_rate_sd_pp": cfg.loan_rate_sd_pp,
            "series_note": ("x_pct: amount-weighted applicable 1Y LPR of the month's inclusive_smb lpr_1y "
                            "originations; m_pct: the ECM target; r_pct: the same loans' amount-weighted rate "
                            "(m_pct plus loan noise); eps_pp: the ECM shock"),
            **ecm,
        },
        "first_loans": {
            "first_loan_share": cfg.first_loan_share,
            "first_window_borrower_id": _ids("B", np.array([truth.first_window_borrower]))[0].as_py()
            if truth.first_window_borrower else None,
            "new_borrowers_window": first_window,
            "new_borrowers_by_year": first_by_year,
            "inclusive_smb_metric_by_year": smb_metric,
            "note": ("new borrowers: arrivals in the window, by the segment of their first loan here; "
                     "inclusive_smb_metric_by_year follows CONTRACT §3 (all borrowers with an inclusive_smb "
                     "origination in the year)"),
        },
        "default": {"first_loan_hazard_multiplier": cfg.first_loan_hazard_multiplier,
                    "special_mention_monthly": cfg.special_mention_monthly,
                    "writeoff_months": cfg.writeoff_months, "by_segment": hazard,
                    "note": ("months after the first snapshot month; at risk: loans performing (days_past_due "
                             "< 60) at the previous month end that neither matured nor repaid early this month; "
                             "default onset: first row with days_past_due >= 60")},
        "renewals": {"renewal_prob": cfg.renewal_prob, "repeat_prob": cfg.repeat_prob, "by_segment": renewals},
        "fees": {"by_segment": fees},
        "volume": {"annual_growth_true": cfg.annual_growth, "ytd_growth": growth, "balance_cny": balances,
                   "npl_cny": npl, "total_loans_cny": total_loans, "total_npl_cny": total_npl},
    }


def _ratio(a, b) -> float | None:
    return float(a) / float(b) if b else None


# --------------------------------------------------------------------------------------------- scaling


def count_rows(config: BankConfig) -> int:
    """Rows the config's tape would have: one simulation without writing anything."""
    sim = _Simulation(config, load_policy(config.policy), load_lpr())
    return sum(len(sim.book["loan"]) for _ in sim.months())


def scaled(config: BankConfig, n_rows: int) -> BankConfig:
    """The same DGP with arrivals (and the non-tape book and deposits) scaled so the tape has about n_rows rows.

    Rows are proportional to the arrival rates in expectation, so one pilot
    simulation of ``config`` fixes the factor.
    """
    factor = n_rows / count_rows(config)
    types = {name: replace(p, new_per_month=p.new_per_month * factor) for name, p in config.borrower_types.items()}
    deposits = None if config.county_deposits_cny is None else config.county_deposits_cny * factor
    return replace(config, borrower_types=types, non_tape_loans_cny=config.non_tape_loans_cny * factor,
                   county_deposits_cny=deposits)


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


def build_demo(out_dir: Path = DEMO_DIR, banks_dir: Path = BANKS_DIR, force: bool = False,
               progress: Progress = None) -> list[Path]:
    """Write the three demo banks (skipping a bank whose files all exist unless ``force``); return their paths.

    The bank files parameters/banks/<BANK>.yaml are committed with the
    repository; this only checks that they are there.
    """
    missing = [banks_dir / f"{b}.yaml" for b in DEMO_BANKS if not (Path(banks_dir) / f"{b}.yaml").is_file()]
    if missing:
        raise InputError([Problem(file=str(p), message="demo bank file missing; restore it from the repository",
                                  rule="demo_bank_file") for p in missing])
    written = []
    for config in DEMO_BANKS.values():
        paths = [p for p in output_paths(config, Path(out_dir)).values() if p is not None]
        if force or not all(p.is_file() for p in paths):
            generate(config, out_dir, progress=progress)
        elif progress:
            progress(f"{config.bank_id}: demo files exist, kept")
        written += paths
    return written


def synth_command(bank: str | None, out: Path, rows: int | None = None, fmt: str = "parquet",
                  seed: int | None = None, progress: Progress = None) -> list[Path]:
    """``pucredit synth [--bank LB01] [--rows N] [--out DIR] [--format parquet|csv] [--seed S]``.

    Writes one demo bank (all three without ``bank``), optionally scaled to
    about ``rows`` rows and with another seed; returns the written paths.
    """
    if bank is not None and bank.upper() not in DEMO_BANKS:
        raise InputError(Problem(file="", message=f"unknown demo bank {bank!r}", rule="usage", column="--bank",
                                 accepted=", ".join(DEMO_BANKS)))
    if fmt not in FORMATS:
        raise InputError(Problem(file="", message=f"unknown format {fmt!r}", rule="usage", column="--format",
                                 accepted=", ".join(FORMATS)))
    if rows is not None and rows < 1:
        raise InputError(Problem(file="", message=f"--rows must be positive, got {rows}", rule="usage",
                                 column="--rows", accepted="a whole number >= 1"))
    configs = [DEMO_BANKS[bank.upper()]] if bank is not None else list(DEMO_BANKS.values())
    written = []
    for config in configs:
        if seed is not None:
            config = replace(config, seed=seed)
        if rows is not None:
            config = scaled(config, rows)
        written += [p for p in generate(config, out, fmt=fmt, progress=progress).values() if p is not None]
    return written
