"""Pricing against the LPR (稳价, notice 二(二)): new-loan rates, spreads, LPR pass-through.

New loans are the period's originations (each loan's first snapshot row); the
applicable LPR is the latest fixing on or before the origination date, by the
loan's pricing base; ``fixed`` loans are left out of spreads (CONTRACT §3).
Pass-through is an error-correction model fitted with statsmodels' UECM.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from . import reference
from .periods import Period
from .sql import as_float, sum_cny, weighted_mean
from .tape import Bank

SPREAD = "rate_pct - lpr_pct"
PRICED_ON_LPR = "pricing_base <> 'fixed' AND lpr_pct IS NOT NULL"


def in_period(period: Period) -> str:
    return f"origination_date BETWEEN DATE '{period.start.date()}' AND DATE '{period.end.date()}'"


def new_loan_metrics(bank: Bank, period: Period) -> dict:
    """Amount, amount-weighted rate and spread over the LPR of the period's new loans by segment."""
    flow = in_period(period)
    smb, agri = f"{flow} AND is_inclusive_smb", f"{flow} AND is_inclusive_agri"
    row = bank.sql(f"""
        SELECT {sum_cny('amount_cny', smb)} AS smb_amount,
               {weighted_mean('rate_pct', 'amount_cny', smb)} AS smb_rate,
               {weighted_mean(SPREAD, 'amount_cny', f'{smb} AND {PRICED_ON_LPR}')} AS smb_spread,
               {sum_cny('amount_cny', agri)} AS agri_amount,
               {weighted_mean('rate_pct', 'amount_cny', agri)} AS agri_rate,
               {weighted_mean(SPREAD, 'amount_cny', f'{agri} AND {PRICED_ON_LPR}')} AS agri_spread,
               count(*) FILTER (WHERE {smb}) AS smb_loans
        FROM {{originations}}
    """).iloc[0]
    return {
        "inclusive_smb_new_amount_cny": round(float(row["smb_amount"]), 2),
        "inclusive_smb_new_loans": int(row["smb_loans"]),
        "inclusive_smb_new_rate_pct": as_float(row["smb_rate"]),
        "inclusive_smb_new_spread_pp": as_float(row["smb_spread"]),
        "inclusive_agri_new_amount_cny": round(float(row["agri_amount"]), 2),
        "inclusive_agri_new_rate_pct": as_float(row["agri_rate"]),
        "inclusive_agri_new_spread_pp": as_float(row["agri_spread"]),
    }


def monthly_new_rates(bank: Bank, end: pd.Timestamp, where: str = "is_inclusive_smb") -> pd.DataFrame:
    """Per origination month up to ``end``: amount-weighted rate and applicable 1Y LPR of loans priced on it."""
    cond = f"{where} AND pricing_base = 'lpr_1y' AND lpr_1y_pct IS NOT NULL AND origination_date <= DATE '{end.date()}'"
    frame = bank.sql(f"""
        SELECT month, {weighted_mean('rate_pct', 'amount_cny', cond)} AS rate_pct,
               {weighted_mean('lpr_1y_pct', 'amount_cny', cond)} AS lpr_1y_pct,
               {sum_cny('amount_cny', cond)} AS amount_cny, count(*) FILTER (WHERE {cond}) AS loans
        FROM {{originations}} GROUP BY month ORDER BY month
    """)
    frame["month"] = pd.to_datetime(frame["month"])
    frame["amount_cny"] = frame["amount_cny"].astype("float64")
    return frame.dropna(subset=["rate_pct"]).set_index("month")


@dataclass(frozen=True)
class PassThrough:
    """ECM estimates (CONTRACT §3): r = α + θ·LPR in the long run; Δr responds to ΔLPR and to last month's gap."""

    long_run: float | None
    short_run: float | None
    adjustment_speed: float | None
    half_life_months: float | None
    n_months: int
    lpr_changes: int
    reason: str | None = None
    long_run_ci: tuple[float, float] | None = None
    short_run_ci: tuple[float, float] | None = None
    adjustment_speed_ci: tuple[float, float] | None = None
    half_life_ci: tuple[float, float] | None = None
    bounds_test_f: float | None = None
    bounds_test_p: float | None = None
    first_month: str | None = None
    last_month: str | None = None

    def to_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}


def half_life(speed: float | None) -> float | None:
    """Months for half of a gap to close, ln(0.5) / ln(1 + speed); None unless −1 < speed < 0 (monotone closing)."""
    if speed is None or not -1 < speed < 0:
        return None
    return math.log(0.5) / math.log(1 + speed)


def estimate_passthrough(series: pd.DataFrame, lpr: pd.DataFrame, min_months: int = 24,
                         min_lpr_changes: int = 2, alpha: float = 0.05) -> PassThrough:
    """Fit the one-lag ECM of the monthly new-loan rate on the applicable 1Y LPR (statsmodels UECM).

    ``series`` has a monthly index and columns rate_pct and lpr_1y_pct. The longest run of
    consecutive months ending at the last month is used; the fit is refused (every estimate
    None, with the reason) with fewer than ``min_months`` months or ``min_lpr_changes`` 1Y LPR
    changes in the window. Standard errors are heteroskedasticity-robust (HC1); the bounds
    test (Pesaran-Shin-Smith, case 3) tests for a long-run relation.
    """
    from statsmodels.tsa.ardl import UECM

    series = _last_contiguous_run(series)
    n = len(series)
    first = series.index[0] if n else None
    last = series.index[-1] if n else None
    changes = 0 if not n else len(reference.lpr_changes(lpr, first, last + pd.offsets.MonthEnd(0), tenor="1y"))
    common = dict(n_months=n, lpr_changes=changes,
                  first_month=None if first is None else f"{first:%Y-%m}",
                  last_month=None if last is None else f"{last:%Y-%m}")
    if n < min_months:
        return PassThrough(None, None, None, None, reason=f"only {n} consecutive months with new loans priced on "
                           f"the 1Y LPR; at least {min_months} are needed", **common)
    if changes < min_lpr_changes:
        return PassThrough(None, None, None, None, reason=f"only {changes} change(s) of the 1Y LPR in the window; "
                           f"at least {min_lpr_changes} are needed to identify pass-through", **common)
    y = series["rate_pct"].astype(float).rename("rate")
    x = series[["lpr_1y_pct"]].astype(float).rename(columns={"lpr_1y_pct": "lpr"})
    y.index = x.index = pd.PeriodIndex(series.index, freq="M")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = UECM(y, 1, x, 1, trend="c").fit(cov_type="HC1")
        bounds = result.bounds_test(case=3)
    params, ci = result.params, result.conf_int(alpha)
    long_ci = result.ci_conf_int(alpha).loc["lpr"]
    speed, speed_ci = float(params["rate.L1"]), (float(ci.loc["rate.L1", 0]), float(ci.loc["rate.L1", 1]))
    life_ci = tuple(sorted(h for h in (half_life(speed_ci[0]), half_life(speed_ci[1])) if h is not None))
    return PassThrough(
        long_run=-float(result.ci_params["lpr"]),
        short_run=float(params["D.lpr.L0"]),
        adjustment_speed=speed,
        half_life_months=half_life(speed),
        reason=None,
        long_run_ci=(-float(long_ci.iloc[1]), -float(long_ci.iloc[0])),
        short_run_ci=(float(ci.loc["D.lpr.L0", 0]), float(ci.loc["D.lpr.L0", 1])),
        adjustment_speed_ci=speed_ci,
        half_life_ci=life_ci if len(life_ci) == 2 else None,
        bounds_test_f=float(bounds.statistic),
        bounds_test_p=float(bounds.pvalue["upper"]),
        **common,
    )


def _last_contiguous_run(series: pd.DataFrame) -> pd.DataFrame:
    if series.empty:
        return series
    months = pd.PeriodIndex(series.index, freq="M").asi8
    breaks = np.flatnonzero(np.diff(months) != 1)
    start = breaks[-1] + 1 if len(breaks) else 0
    return series.iloc[start:]


def passthrough(bank: Bank, period: Period) -> PassThrough:
    """Pass-through of inclusive_smb new-loan rates over every month from the tape's first to the period end."""
    series = monthly_new_rates(bank, period.end)
    return estimate_passthrough(series, bank.tape.lpr, bank.policy.passthrough.min_months,
                                bank.policy.passthrough.min_lpr_changes)


def metrics(bank: Bank, period: Period) -> dict:
    """The pricing section of metrics.json (CONTRACT §3)."""
    result = new_loan_metrics(bank, period)
    notes = {}
    if result["inclusive_smb_new_rate_pct"] is None:
        notes["inclusive_smb_new_rate_pct"] = "no inclusive_smb loans originated in the period"
    if result["inclusive_agri_new_rate_pct"] is None:
        notes["inclusive_agri_new_rate_pct"] = "no inclusive_agri loans originated in the period"
    result["passthrough"] = passthrough(bank, period).to_dict()
    result["notes"] = notes
    return result
