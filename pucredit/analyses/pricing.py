"""Pricing against the LPR (稳价, notice 二(二)): new-loan rates, spreads, LPR pass-through.

New loans are the period's originations (each loan's first snapshot row); the
applicable LPR is the latest fixing on or before the origination date, by the
loan's pricing base; ``fixed`` loans are left out of spreads (docs/data-contract.md §17).
Pass-through is the error-correction model of :mod:`pucredit.estimators.passthrough`.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from pucredit.config import reference
from pucredit.config.periods import Period
from pucredit.analyses.document import PricingMetrics
from pucredit.engine.sql import IN_PERIOD, as_float, period_params, sum_cny, weighted_mean
from pucredit.engine.segments import ungrouped
from pucredit.engine.tape import Bank
from pucredit.estimators import irr
from pucredit.estimators.passthrough import PassThrough, estimate_passthrough

SPREAD = "rate_pct - lpr_pct"
PRICED_ON_LPR = "pricing_base <> 'fixed' AND lpr_pct IS NOT NULL"


def new_loan_metrics(bank: Bank, period: Period) -> dict:
    """Per segment of the policy: amount, count, amount-weighted rate and spread over the LPR of the period's
    new loans (docs/data-contract.md §3 new rate, spread), as ``<segment>_<measure>`` keys."""
    parts = []
    for name in bank.segments:
        flow = bank.flag(name)  # of the period's originations (the WHERE below)
        parts += [f"{sum_cny('amount_cny', flow)} AS {name}_new_amount_cny",
                  f"count(*) FILTER (WHERE {flow}) AS {name}_new_loans",
                  f"{weighted_mean('rate_pct', 'amount_cny', flow)} AS {name}_new_rate_pct",
                  f"{weighted_mean(SPREAD, 'amount_cny', f'{flow} AND {PRICED_ON_LPR}')} AS {name}_new_spread_pp"]
    row = bank.sql(f"SELECT {', '.join(parts)} FROM {{originations}} WHERE {IN_PERIOD}", period_params(period)).iloc[0]
    values = {}
    for key, value in row.items():
        if key.endswith("_amount_cny"):
            values[key] = round(float(value), 2)
        elif key.endswith("_loans"):
            values[key] = int(value)
        else:
            values[key] = as_float(value)
    return values


def monthly_new_rates(bank: Bank, end: pd.Timestamp, segment: str | None = "inclusive_smb") -> pd.DataFrame:
    """Per origination month up to ``end``: amount-weighted rate and applicable 1Y LPR of a segment's loans
    priced on it (all new loans when ``segment`` is None), the series of the pass-through fit (二(二))."""
    flag = "true" if segment is None else bank.flag(segment)
    cond = f"{flag} AND pricing_base = 'lpr_1y' AND lpr_1y_pct IS NOT NULL AND origination_date <= $end"
    frame = bank.sql(f"""
        SELECT month, {weighted_mean('rate_pct', 'amount_cny', cond)} AS rate_pct,
               {weighted_mean('lpr_1y_pct', 'amount_cny', cond)} AS lpr_1y_pct,
               {sum_cny('amount_cny', cond)} AS amount_cny, count(*) FILTER (WHERE {cond}) AS loans
        FROM {{originations}} GROUP BY month ORDER BY month
    """, {"end": end.date()})
    frame["month"] = pd.to_datetime(frame["month"])
    frame["amount_cny"] = frame["amount_cny"].astype("float64")
    return frame.dropna(subset=["rate_pct"]).set_index("month")


def passthrough(bank: Bank, period: Period) -> PassThrough:
    """Pass-through of inclusive_smb new-loan rates over every month from the tape's first to the period end."""
    series = monthly_new_rates(bank, period.end)
    return estimate_passthrough(series, bank.tape.lpr, bank.policy.passthrough.min_months,
                                bank.policy.passthrough.min_lpr_changes)


def metrics(bank: Bank, period: Period) -> PricingMetrics:
    """The pricing section of metrics.json (docs/data-contract.md §3)."""
    result = new_loan_metrics(bank, period)
    notes = {}
    for name in bank.segments:
        if result[f"{name}_new_rate_pct"] is None:
            notes[f"{name}_new_rate_pct"] = f"no {name} loans originated in the period"
    if bank.has("fee_third_party_cny") or bank.has("fee_bank_cny"):
        result.update(allin_metrics(bank, period))
    else:
        result.update(inclusive_smb_new_allin_rate_pct=None, inclusive_smb_allin_gap_pp=None,
                      inclusive_smb_third_party_fee_share=None)
        notes["inclusive_smb_new_allin_rate_pct"] = "not applicable: the tape has no fee columns"
    return PricingMetrics(**result, passthrough=passthrough(bank, period), notes=notes)


NO_FEES = ("coalesce(fee_third_party_cny, 0) = 0 AND coalesce(fee_bank_cny, 0) = 0"
           " AND rate_pct IS NOT NULL AND amount_cny IS NOT NULL")  # a loan whose all-in rate is its contract rate


def allin_metrics(bank: Bank, period: Period) -> dict:
    """Amount-weighted all-in rate and its gap over the contract rate of the period's inclusive_smb new loans, and
    the share paying third-party fees (实际承担的融资成本, 二(二)). A loan without fees costs its contract rate
    (estimators.irr), so SQL sums those; only the loans with fees are costed one by one from their cash flows.
    A loan whose cash flows have no IRR (one repaid the day it was lent) is left out of both averages."""
    smb = f"{IN_PERIOD} AND {bank.flag('inclusive_smb')}"
    row = bank.sql(f"""
        SELECT count(*) AS loans, count(*) FILTER (WHERE fee_third_party_cny > 0) AS third_party,
               {sum_cny("amount_cny", NO_FEES)} AS amount,
               coalesce(sum(CAST(amount_cny AS DECIMAL(38, 2)) * CAST(rate_pct AS DECIMAL(18, 6)))
                        FILTER (WHERE {NO_FEES}), 0) AS amount_rate
        FROM {{originations}} WHERE {smb}
    """, period_params(period)).iloc[0]
    if not row["loans"]:
        return dict(inclusive_smb_new_allin_rate_pct=None, inclusive_smb_allin_gap_pp=None,
                    inclusive_smb_third_party_fee_share=None)
    costed = all_in(new_loans(bank, period, f"{bank.flag('inclusive_smb')} AND NOT ({NO_FEES})"))
    costed = costed[np.isfinite(costed["allin_rate_pct"])]  # no IRR (e.g. repaid the day it was lent): left out
    # exact sums (DECIMAL in SQL, fsum here), so the result does not depend on the order rows arrive in
    amount = costed["amount_cny"].to_numpy(float)
    weight = float(row["amount"]) + math.fsum(amount)
    if not weight:
        return dict(inclusive_smb_new_allin_rate_pct=None, inclusive_smb_allin_gap_pp=None,
                    inclusive_smb_third_party_fee_share=int(row["third_party"]) / int(row["loans"]))
    return dict(
        inclusive_smb_new_allin_rate_pct=math.fsum([float(row["amount_rate"]), *(amount * costed["allin_rate_pct"])]) / weight,
        inclusive_smb_allin_gap_pp=math.fsum(amount * costed["allin_gap_pp"]) / weight,
        inclusive_smb_third_party_fee_share=int(row["third_party"]) / int(row["loans"]))


# ---------------------------------------------------------------- the pricing report (notebook 02)

TENOR_BANDS = ((0, 6, "≤6m"), (7, 12, "7–12m"), (13, 36, "1–3y"), (37, 60, "3–5y"), (61, 10_000, ">5y"))
LINE_BANDS_CNY = (0, 1e6, 5e6, 1e7, float("inf"))  # credit-line bands: ≤1m, 1–5m, 5–10m, >10m yuan


def new_loans(bank: Bank, period: Period, where: str = "true") -> pd.DataFrame:
    """The period's originations (first snapshot rows; those where ``where`` holds) with applicable LPR, spread
    and report bands.

    ``is_<segment>`` says whether a loan is in each policy segment (overlapping, as the regulatory
    definitions are); ``group`` splits the loans into exclusive groups for breakdowns that must add up:
    inclusive_smb, agri_not_smb (inclusive agri loans that are not also small-micro), other.
    """
    flags = ", ".join(f"{s.flag} AS is_{name}" for name, s in bank.segments.items())
    frame = bank.sql(f"""
        SELECT loan_id, borrower_id, month, origination_date, maturity_date, amount_cny, rate_pct, lpr_pct,
               lpr_1y_pct, pricing_base, borrower_type, guarantee, is_first_loan, is_renewal, credit_line_cny,
               repayment, branch_id, fee_third_party_cny, fee_bank_cny, {flags}
        FROM {{originations}} WHERE {IN_PERIOD} AND ({where})
        ORDER BY loan_id  -- a fixed order: weighted percentiles of tied spreads, and float sums, depend on it
    """, period_params(period))
    frame["group"] = np.select([frame["is_inclusive_smb"], frame["is_inclusive_agri"]],
                               ["inclusive_smb", "agri_not_smb"], "other")
    frame["spread_pp"] = np.where(frame["pricing_base"] != "fixed", frame["rate_pct"] - frame["lpr_pct"], np.nan)
    origination, maturity = pd.to_datetime(frame["origination_date"]), pd.to_datetime(frame["maturity_date"])
    # months to maturity, a part month counted whole: 2024-01-01 -> 2025-01-01 is 12, -> 2025-01-02 is 13, so the
    # bands from 13 months are the medium/long-term loans (贷款通则 第九条: more than one year)
    months = (maturity.dt.year - origination.dt.year) * 12 + maturity.dt.month - origination.dt.month
    same_day = np.minimum(origination.dt.day, maturity.dt.days_in_month)
    frame["tenor_months"] = (months + (maturity.dt.day > same_day)).clip(lower=1)
    frame["tenor_band"] = pd.cut(frame["tenor_months"], [b[0] - 1 for b in TENOR_BANDS] + [10_000],
                                 labels=[b[2] for b in TENOR_BANDS]).astype(str)
    frame["line_band"] = pd.cut(frame["credit_line_cny"], LINE_BANDS_CNY,
                                labels=["≤1m", "1–5m", "5–10m", ">10m"], include_lowest=True).astype(str)
    frame["first_or_repeat"] = np.where(frame["is_first_loan"], "first", "repeat")
    frame["month"] = pd.to_datetime(frame["month"]).dt.strftime("%Y-%m")
    return frame


def _weighted_quantiles(values: np.ndarray, weights: np.ndarray, qs) -> list[float]:
    order = np.argsort(values)
    v, w = values[order], weights[order]
    cum = (np.cumsum(w) - 0.5 * w) / w.sum()
    return [float(np.interp(q, cum, v)) for q in qs]


def spread_distribution(loans: pd.DataFrame, by: str) -> pd.DataFrame:
    """Spread over the applicable LPR of new loans per ``by`` group (amount-weighted), notice 二(二).

    Columns: loans, amount_cny, mean_pp, p10..p90 (amount-weighted percentiles), at_or_below_lpr
    (share of the amount priced at or below the LPR). Fixed-rate loans are left out.
    """
    priced = loans.dropna(subset=["spread_pp"])
    rows = []
    for key, group in priced.groupby(by, sort=True):
        w, v = group["amount_cny"].to_numpy(float), group["spread_pp"].to_numpy(float)
        p10, p25, p50, p75, p90 = _weighted_quantiles(v, w, (0.1, 0.25, 0.5, 0.75, 0.9))
        rows.append({by: key, "loans": len(group), "amount_cny": w.sum(), "mean_pp": np.average(v, weights=w),
                     "p10_pp": p10, "p25_pp": p25, "p50_pp": p50, "p75_pp": p75, "p90_pp": p90,
                     "at_or_below_lpr": w[v <= 1e-9].sum() / w.sum()})
    return pd.DataFrame(rows).set_index(by) if rows else pd.DataFrame()


def monthly_segment_rates(bank: Bank, end: pd.Timestamp) -> pd.DataFrame:
    """Per month and segment (and ``all``): amount-weighted new-loan rate and the 1Y LPR of the same loans."""
    cond = "origination_date <= $end"
    flags = {**{name: bank.flag(name) for name in ungrouped(bank.segments)}, "all": "true"}
    parts = [f"{weighted_mean('rate_pct', 'amount_cny', f'{flag} AND {cond}')} AS {name}_rate_pct"
             for name, flag in flags.items()]
    frame = bank.sql(f"""
        SELECT month, {', '.join(parts)}, {weighted_mean('lpr_1y_pct', 'amount_cny', cond)} AS lpr_1y_pct
        FROM {{originations}} WHERE {cond} GROUP BY month ORDER BY month
    """, {"end": end.date()})
    frame["month"] = pd.to_datetime(frame["month"])
    return frame.set_index("month")


def passthrough_by_segment(bank: Bank, period: Period) -> dict[str, PassThrough]:
    """The ECM for every policy segment outside a group and all new loans priced on the 1Y LPR (None reasons
    kept)."""
    policy = bank.policy.passthrough
    out = {}
    for name in [*ungrouped(bank.segments), "all"]:
        series = monthly_new_rates(bank, period.end, None if name == "all" else name)
        out[name] = estimate_passthrough(series, bank.tape.lpr, policy.min_months, policy.min_lpr_changes)
    return out


def lpr_event_view(series: pd.DataFrame, lpr: pd.DataFrame, months: int = 3) -> pd.DataFrame:
    """New-loan rate in the months around each 1Y LPR change: rows are changes, columns months −k..+k
    relative to the first month priced on the new LPR, values the rate's change from month −1 (pp)."""
    if series.empty:
        return pd.DataFrame()
    changes = reference.lpr_changes(lpr, series.index[0], series.index[-1] + pd.offsets.MonthEnd(0), tenor="1y")
    rates = series["rate_pct"]
    rows = []
    for _, change in changes.iterrows():
        # the first month in which new loans are priced on the new fixing is the month after it
        first = (pd.Timestamp(change["fixing_date"]) + pd.offsets.MonthBegin(1)).normalize()
        before = first - pd.DateOffset(months=1)
        if before not in rates.index:
            continue
        row = {"fixing_date": pd.Timestamp(change["fixing_date"]).date(), "lpr_change_pp": change["change_bp"] / 100}
        for k in range(-months, months + 1):
            month = first + pd.DateOffset(months=k)
            row[k] = rates.get(month, np.nan) - rates[before]
        rows.append(row)
    return pd.DataFrame(rows).set_index("fixing_date") if rows else pd.DataFrame()


def all_in(loans: pd.DataFrame) -> pd.DataFrame:
    """Each new loan's all-in rate (nominal, as the contract rate: 12 × the monthly IRR, docs/data-contract.md §17), the same
    in effective annual terms, and the gap (pp) over the contract rate that the fees add — the borrower's real
    financing cost (实际承担的融资成本), 二(二)."""
    out = loans.copy()
    out["allin_rate_pct"] = irr.allin_rates(out)
    out["allin_effective_rate_pct"] = irr.effective_pct(out["allin_rate_pct"])
    out["allin_gap_pp"] = out["allin_rate_pct"] - out["rate_pct"]
    out["has_third_party_fee"] = out["fee_third_party_cny"].fillna(0) > 0
    return out


def disclosure_table(costed: pd.DataFrame, by: tuple[str, ...] = ("group", "repayment")) -> pd.DataFrame:
    """Per product (exclusive group × repayment by default): amount-weighted contract and all-in rates, the gap,
    the share of loans paying third-party fees and the fees per 100 yuan lent — for 实际承担的融资成本."""
    rows = []
    for key, group in costed.groupby(list(by), sort=True):
        w = group["amount_cny"].to_numpy(float)
        fees = group[["fee_third_party_cny", "fee_bank_cny"]].fillna(0)
        rows.append({**dict(zip(by, key if isinstance(key, tuple) else (key,))), "loans": len(group),
                     "amount_cny": w.sum(),
                     "contract_rate_pct": np.average(group["rate_pct"], weights=w),
                     "allin_rate_pct": np.average(group["allin_rate_pct"], weights=w),
                     "allin_gap_pp": np.average(group["allin_gap_pp"], weights=w),
                     "third_party_fee_share": group["has_third_party_fee"].mean(),
                     "third_party_fees_per_100": fees["fee_third_party_cny"].sum() / w.sum() * 100,
                     "bank_fees_per_100": fees["fee_bank_cny"].sum() / w.sum() * 100})
    return pd.DataFrame(rows).set_index(list(by)) if rows else pd.DataFrame()


def high_fee_loans(costed: pd.DataFrame, threshold_pp: float, by: str = "group") -> pd.DataFrame:
    """Loans whose third-party and bank fees lift the all-in rate more than ``threshold_pp`` above the
    contract rate, counted and summed per group (never listed by borrower), 二(二) 收费过高."""
    flagged = costed[costed["allin_gap_pp"] > threshold_pp]
    total = costed.groupby(by)["amount_cny"].agg(["count", "sum"])
    high = flagged.groupby(by)["amount_cny"].agg(["count", "sum"]).reindex(total.index, fill_value=0)
    return pd.DataFrame({"loans": high["count"], "amount_cny": high["sum"],
                         "share_of_loans": high["count"] / total["count"],
                         "share_of_amount": high["sum"] / total["sum"]})


def spread_drivers(loans: pd.DataFrame):
    """OLS of the spread on the exclusive group, borrower type, guarantee, tenor band, first loan and credit-line band,
    with month fixed effects and heteroskedasticity-robust (HC1) standard errors. Returns the fitted
    statsmodels results, or None with fewer loans than parameters."""
    import statsmodels.formula.api as smf

    data = loans.dropna(subset=["spread_pp"])
    formula = ("spread_pp ~ C(group) + C(borrower_type) + C(guarantee) + C(tenor_band) + is_first_loan"
               " + C(line_band) + C(month)")
    if len(data) < 50:
        return None
    return smf.ols(formula, data=data.assign(is_first_loan=data["is_first_loan"].astype(int))).fit(cov_type="HC1")
