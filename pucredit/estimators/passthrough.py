"""LPR pass-through (notice 二(二) 根据LPR合理确定利率水平): an error-correction model of the monthly new-loan rate
on the applicable 1Y LPR (docs/data-contract.md §17 pass-through), fitted with statsmodels' UECM on a monthly series.

The lags are chosen by the Bayesian information criterion (statsmodels' ``ardl_select_order``) among ARDL
orders from 1 (the error-correction form needs a lag of each) to ``max_lags`` (2 below 36 months, 3 from
there: each lag costs two parameters of 24–70 points); ARDL(1, 1) is the contract's one-lag ECM.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pucredit.config import reference

LAG_CRITERION = "bic"


def import_statsmodels_meanwhile():
    """Start importing statsmodels' ARDL (about a second) in a background thread, for a caller that reads and
    validates a tape first (DuckDB releases the interpreter while it works); the caller joins the returned
    thread before it computes, so no analysis imports beside it."""
    import importlib
    import threading

    thread = threading.Thread(target=importlib.import_module, args=("statsmodels.tsa.ardl",), daemon=True)
    thread.start()
    return thread


@dataclass(frozen=True)
class PassThrough:
    """ECM estimates (docs/data-contract.md §17): r = α + θ·LPR in the long run; Δr responds to ΔLPR and to last month's gap.
    ``lags_rate`` and ``lags_lpr`` are the ARDL orders of the rate and the LPR chosen by ``lag_criterion``."""

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
    lags_rate: int | None = None
    lags_lpr: int | None = None
    lag_criterion: str | None = None


def half_life(speed: float | None) -> float | None:
    """Months for half of a gap to close, ln(0.5) / ln(1 + speed); None unless −1 < speed < 0 (monotone closing)
    and 1 + speed differs from 1 in floating point (a speed of about −1e-17 never closes the gap)."""
    if speed is None or not -1 < speed < 0 or 1 + speed == 1:
        return None
    return math.log(0.5) / math.log(1 + speed)


def max_lags(n_months: int) -> int:
    """The largest ARDL order tried: 2 with fewer than 36 months, else 3."""
    return 2 if n_months < 36 else 3


def select_lags(y: pd.Series, x: pd.DataFrame) -> tuple[int, int]:
    """ARDL orders (rate, LPR), each at least 1, minimising the BIC on a common sample (every order tried by
    ``ardl_select_order``, best first)."""
    from statsmodels.tsa.ardl import ardl_select_order

    top = max_lags(len(y))
    ranked = getattr(ardl_select_order(y, top, x, top, trend="c", ic=LAG_CRITERION), LAG_CRITERION)
    orders = [(p or 0, q["lpr"] or 0) for p, q in ranked.to_numpy()]  # statsmodels writes an order of 0 as None
    return next((p, q) for p, q in orders if p >= 1 and q >= 1)


def estimate_passthrough(series: pd.DataFrame, lpr: pd.DataFrame, min_months: int = 24,
                         min_lpr_changes: int = 2, alpha: float = 0.05) -> PassThrough:
    """Fit the ECM of the monthly new-loan rate on the applicable 1Y LPR (statsmodels UECM, lags by BIC).

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
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lags_rate, lags_lpr = select_lags(y, x)
            result = UECM(y, lags_rate, x, lags_lpr, trend="c").fit(cov_type="HC1")
            bounds = result.bounds_test(case=3)
    except (np.linalg.LinAlgError, ValueError) as exc:  # e.g. rates that never move: nothing to identify
        return PassThrough(None, None, None, None, reason=f"the error-correction model cannot be fitted ({exc})",
                           **common)
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
        lags_rate=lags_rate,
        lags_lpr=lags_lpr,
        lag_criterion=LAG_CRITERION,
        **common,
    )


def _last_contiguous_run(series: pd.DataFrame) -> pd.DataFrame:
    if series.empty:
        return series
    months = pd.PeriodIndex(series.index, freq="M").asi8
    breaks = np.flatnonzero(np.diff(months) != 1)
    start = breaks[-1] + 1 if len(breaks) else 0
    return series.iloc[start:]
