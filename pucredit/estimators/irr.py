"""The borrower's all-in cost (实际承担的融资成本, notice 二(二)): the IRR of a loan's dated cash flows.

Annualised as the PBoC's 年化利率 rule does for a loan repaid monthly: the monthly IRR times 12
(docs/data-contract.md §17 all-in rate). Periods run from one payment date to the next at actual days, measured
in months of 365/12 days; a period of τ months earns i·τ at the monthly rate i, both in the
schedule (interest on the balance at rate/12 per month, so rate × days / 365) and in the discount
factor, so a loan without fees has an all-in rate equal to its contract rate for any dates.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

DAYS_PER_MONTH = 365.0 / 12


def term_months(origination: pd.Series, maturity: pd.Series) -> np.ndarray:
    """Calendar months from origination to maturity (at least one): the number of monthly payments."""
    months = (maturity.dt.year - origination.dt.year) * 12 + maturity.dt.month - origination.dt.month
    return np.maximum(months.to_numpy(), 1)


def payment_dates(start: np.ndarray, k: np.ndarray) -> np.ndarray:
    """The same day of the month ``k`` months after ``start`` (the month's last day when it is shorter)."""
    month = start.astype("datetime64[M]") + k[None, :]
    day = (start - start.astype("datetime64[M]").astype("datetime64[D]")).astype(int)
    last_day = ((month + 1).astype("datetime64[D]") - month.astype("datetime64[D]")).astype(int) - 1
    return month.astype("datetime64[D]") + np.minimum(day, last_day)


def period_months(origination: pd.Series, maturity: pd.Series, months: np.ndarray) -> np.ndarray:
    """Length in months (actual days / (365/12)) of each loan's payment periods, shape (loans, max months),
    zero after the last: payments on the origination day of each month, the last one on the maturity date."""
    k = np.arange(1, int(months.max()) + 1)
    start = origination.to_numpy("datetime64[D]")[:, None]
    dates = payment_dates(start, k)
    dates = np.where(k[None, :] == months[:, None], maturity.to_numpy("datetime64[D]")[:, None], dates)
    days = np.diff(np.concatenate([start, dates], axis=1), axis=1).astype(float)
    return np.where(k[None, :] <= months[:, None], days / DAYS_PER_MONTH, 0.0)


def schedule(amount: np.ndarray, rate_pct: np.ndarray, months: np.ndarray, periods: np.ndarray,
             repayment: np.ndarray) -> np.ndarray:
    """Scheduled payments (interest and principal) per loan and period over ``months`` periods, shape of
    ``periods`` (each period's length in months).

    Interest is the balance times rate/12 times the period's length in months. ``bullet`` pays interest each
    period and the principal at maturity; ``amortizing`` (等额本息) the level instalment of rate/12 over the
    term, the last payment settling the balance; ``equal_principal`` (等额本金) equal principal plus interest;
    ``revolving`` (随借随还) is approximated as a bullet loan drawn in full for its whole term (the tape does
    not say when it was drawn and repaid).
    """
    n = months
    i = rate_pct / 1200.0
    with np.errstate(divide="ignore", invalid="ignore"):
        level = np.where(i > 0, amount * i / (1 - (1 + i) ** -n.astype(float)), amount / n)
    principal_step = np.select([repayment == "equal_principal"], [amount / n], 0.0)
    balance = amount.astype(float).copy()
    payments = np.zeros_like(periods)
    for k in range(periods.shape[1]):
        live, last = k < n, k == n - 1
        interest = balance * i * periods[:, k]
        principal = np.select([last, repayment == "amortizing"], [balance, level - interest], principal_step)
        principal = np.where(live, principal, 0.0)
        payments[:, k] = np.where(live, interest + principal, 0.0)
        balance = balance - principal
    return payments


def monthly_irr(payments: np.ndarray, periods: np.ndarray, received: np.ndarray, guess: np.ndarray) -> np.ndarray:
    """Monthly rate i with sum_k payments_k · prod_{j<=k} 1/(1 + i·τ_j) = received, per row (scipy's vectorised
    Newton from ``guess``); τ_j are the periods' lengths in months."""
    from scipy.optimize import newton

    def discount(i):
        growth = 1 + i[:, None] * periods
        return np.cumprod(1 / growth, axis=1), np.cumsum(periods / growth, axis=1)

    def npv(i):
        return (payments * discount(i)[0]).sum(axis=1) - received

    def slope(i):
        factor, duration = discount(i)
        return -(payments * factor * duration).sum(axis=1)

    return newton(npv, guess, fprime=slope, tol=1e-14, maxiter=100)


def allin_rates(loans: pd.DataFrame) -> pd.Series:
    """All-in cost per loan, percent a year on the contract rate's (nominal) basis: 12 × the monthly IRR.

    The borrower receives amount − fee_third_party_cny − fee_bank_cny at origination and pays the
    :func:`schedule` on the origination day of each following month, the last payment on the maturity date.
    Columns used: amount_cny, rate_pct, origination_date, maturity_date, repayment, fee columns.
    """
    if loans.empty:
        return pd.Series(dtype="float64", index=loans.index, name="allin_rate_pct")
    months = term_months(pd.to_datetime(loans["origination_date"]), pd.to_datetime(loans["maturity_date"]))
    # loans of one term share a schedule shape: solving them together wastes no padding
    return pd.concat([_allin_same_term(group) for _, group in loans.groupby(months)]).reindex(loans.index)


def _allin_same_term(loans: pd.DataFrame) -> pd.Series:
    origination, maturity = pd.to_datetime(loans["origination_date"]), pd.to_datetime(loans["maturity_date"])
    months = term_months(origination, maturity)
    periods = period_months(origination, maturity, months)
    amount = loans["amount_cny"].to_numpy(float)
    rate = loans["rate_pct"].to_numpy(float)
    repayment = loans.get("repayment", pd.Series("bullet", index=loans.index)).fillna("bullet").to_numpy(str)
    fees = sum(loans[c].fillna(0).to_numpy(float) for c in ("fee_third_party_cny", "fee_bank_cny") if c in loans)
    payments = schedule(amount, rate, months, periods, repayment)
    # a loan repaid the day it is lent has no time to cost anything: its contract rate without fees, else undefined
    monthly = np.where(fees > 0, np.nan, rate / 1200.0)
    timed = periods.sum(axis=1) > 0
    if timed.any():
        monthly[timed] = monthly_irr(payments[timed], periods[timed], (amount - fees)[timed], rate[timed] / 1200.0)
    return pd.Series(monthly * 1200, index=loans.index, name="allin_rate_pct")


def effective_pct(nominal_pct) -> np.ndarray:
    """A nominal monthly-compounded annual rate in effective annual terms, (1 + r/12)^12 − 1, percent."""
    return ((1 + np.asarray(nominal_pct, float) / 1200.0) ** 12 - 1) * 100
