"""First loans and loan structure (首贷, 优结构; notice 二(三), 四(七), 六(十三)).

Whether a bank's first-loan acquisition is real and healthy: how many
borrowers got their first loan ever (is_first_loan), what happened to them
next (a second loan, renewal, a bigger line, default) against repeat
borrowers, and how the mix of new loans and of the stock moves toward credit
loans, renewals, medium/long terms and revolving loans. Counts of the
contract's first_loans keys follow docs/data-contract.md §3.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from pucredit.config.periods import Period
from pucredit.analyses import renewals
from pucredit.analyses.document import FirstLoanMetrics
from pucredit.engine.sql import IN_PERIOD, as_float, month_index, period_params, sum_cny, weighted_mean
from pucredit.estimators.glm import binomial_glm
from pucredit.engine.tape import Bank


def counts(bank: Bank, period: Period, segment: str = "inclusive_smb") -> dict:
    """Borrowers originated in the period, those on a first loan, their share, amount and rates."""
    flow = f"{IN_PERIOD} AND {bank.flag(segment)}"
    row = bank.sql(f"""
        SELECT count(DISTINCT borrower_id) FILTER (WHERE {flow}) AS borrowers,
               count(DISTINCT borrower_id) FILTER (WHERE {flow} AND is_first_loan) AS first_borrowers,
               {sum_cny('amount_cny', f'{flow} AND is_first_loan')} AS first_amount,
               {weighted_mean('rate_pct', 'amount_cny', f'{flow} AND is_first_loan')} AS first_rate,
               {weighted_mean('rate_pct', 'amount_cny', f'{flow} AND NOT is_first_loan')} AS repeat_rate
        FROM {{originations}}
    """, period_params(period)).iloc[0]
    borrowers, first = int(row["borrowers"]), int(row["first_borrowers"])
    return {"borrowers_originated": borrowers, "first_loan_borrowers": first,
            "first_loan_share": first / borrowers if borrowers else None,
            "first_loan_amount_cny": round(float(row["first_amount"]), 2),
            "first_loan_new_rate_pct": as_float(row["first_rate"]),
            "repeat_new_rate_pct": as_float(row["repeat_rate"])}


def window_covers(bank: Bank, period: Period) -> bool:
    """Whether the tape's originations (from its first month) cover the whole period."""
    return bank.months[0].replace(day=1) <= period.start


def metrics(bank: Bank, period: Period) -> FirstLoanMetrics:
    """The first_loans section of metrics.json: docs/data-contract.md §3 keys, growth on last year, structure
    shares."""
    result = counts(bank, period)
    notes = {}
    if not result["borrowers_originated"]:
        notes["first_loan_share"] = "no inclusive_smb loans originated in the period"
    last_year = period.shifted_years(1)
    if window_covers(bank, last_year):
        before = counts(bank, last_year)["first_loan_borrowers"]
        result["first_loan_borrowers_last_year"] = before
        result["first_loan_growth"] = result["first_loan_borrowers"] / before - 1 if before else None
    else:
        result["first_loan_borrowers_last_year"] = result["first_loan_growth"] = None
        notes["first_loan_growth"] = f"the tape starts after {last_year.start.date()}: no same period last year"
    shares = structure_shares(bank, period)
    result.update({f"new_{k}": v for k, v in shares["new"].items()})
    result.update({f"stock_{k}": v for k, v in shares["stock"].items()})
    return FirstLoanMetrics(**result, notes=notes)


# ---------------------------------------------------------------- structure (优结构)

def medium_long_term_sql(bank: Bank) -> str:
    """SQL for a medium/long-term loan (中长期贷款, 贷款通则 第九条): a term of more than one year, i.e. maturity
    later than origination plus one year (DuckDB's year arithmetic: 2024-02-29 + 1 year = 2025-02-28)."""
    years = int(bank.policy.structure.medium_long_term_above_years.value)
    return f"maturity_date > origination_date + INTERVAL {years} YEAR"


def _structure_flags(bank: Bank) -> dict[str, str]:
    rules = bank.policy.structure
    return {
        "credit_share": "guarantee = 'credit'",
        "renewal_share": "is_renewal",
        "medium_long_term_share": medium_long_term_sql(bank),
        "revolving_share": "repayment = 'revolving'",
        "small_credit_share": f"guarantee = 'credit' AND credit_line_cny <= {rules.small_credit_loan_max_cny.value}",
    }


def structure_shares(bank: Bank, period: Period, segment: str = "inclusive_smb") -> dict[str, dict]:
    """Amount shares of credit, renewal, medium/long-term, revolving and small credit loans among the period's
    new loans of the segment, and balance shares in its stock at the period end (notice 二(三))."""
    flags, flag = _structure_flags(bank), bank.flag(segment)
    new = bank.sql(", ".join([f"SELECT {sum_cny('amount_cny', f'{IN_PERIOD} AND {flag}')} AS total"]
                             + [f"{sum_cny('amount_cny', f'{IN_PERIOD} AND {flag} AND {c}')} AS {k}"
                                for k, c in flags.items()]) + " FROM {originations}", period_params(period)).iloc[0]
    stock = bank.sql(", ".join([f"SELECT {sum_cny('balance_cny', flag)} AS total"]
                               + [f"{sum_cny('balance_cny', f'{flag} AND {c}')} AS {k}" for k, c in flags.items()])
                     + " FROM {loans} WHERE as_of = $end", {"end": period.end.date()}).iloc[0]
    return {name: {k: (float(row[k] / row["total"]) if row["total"] else None) for k in flags}
            for name, row in (("new", new), ("stock", stock))}


def structure_by_month(bank: Bank, end: pd.Timestamp, segment: str = "inclusive_smb") -> pd.DataFrame:
    """The structure shares month by month: of new loans (by origination month) and of the stock (as_of)."""
    flags, flag, params = _structure_flags(bank), bank.flag(segment), {"end": end.date()}
    new = bank.sql(f"SELECT month, {sum_cny('amount_cny')} AS total, "
                   + ", ".join(f"{sum_cny('amount_cny', c)} AS {k}" for k, c in flags.items())
                   + f" FROM {{originations}} WHERE {flag} AND origination_date <= $end GROUP BY month ORDER BY month",
                   params)
    stock = bank.sql(f"SELECT as_of AS month, {sum_cny('balance_cny')} AS total, "
                     + ", ".join(f"{sum_cny('balance_cny', c)} AS {k}" for k, c in flags.items())
                     + f" FROM {{loans}} WHERE {flag} AND as_of <= $end GROUP BY as_of ORDER BY as_of", params)
    frames = []
    for name, frame in (("new", new), ("stock", stock)):
        frame = frame.astype({c: "float64" for c in frame.columns if c != "month"})
        shares = frame[list(flags)].div(frame["total"].where(frame["total"] > 0), axis=0)
        shares.index = pd.to_datetime(frame["month"]).dt.to_period("M").dt.to_timestamp()
        shares.columns = pd.MultiIndex.from_product([[name], shares.columns])
        frames.append(shares)
    return pd.concat(frames, axis=1, sort=True)


# ---------------------------------------------------------------- acquisition (首贷拓展)

def monthly_acquisition(bank: Bank, end: pd.Timestamp, segment: str = "inclusive_smb") -> pd.DataFrame:
    """Per origination month: borrowers originated, first-loan borrowers, their share and amount."""
    frame = bank.sql(f"""
        SELECT month, count(DISTINCT borrower_id) AS borrowers,
               count(DISTINCT borrower_id) FILTER (WHERE is_first_loan) AS first_borrowers,
               {sum_cny('amount_cny', 'is_first_loan')} AS first_amount_cny
        FROM {{originations}} WHERE {bank.flag(segment)} AND origination_date <= $end
        GROUP BY month ORDER BY month
    """, {"end": end.date()})
    frame["month"] = pd.to_datetime(frame["month"])
    frame["first_amount_cny"] = frame["first_amount_cny"].astype("float64")
    frame["first_share"] = frame["first_borrowers"] / frame["borrowers"]
    return frame.set_index("month")


def acquisition_by(bank: Bank, period: Period, by: str, segment: str | None = None) -> pd.DataFrame:
    """First-loan borrowers and their share of borrowers originated, this period and the same period last
    year, per ``by`` group (``group``: inclusive_smb, agri_not_smb, other; or borrower_type, county_code,
    branch_id), among a segment's loans (all loans when None)."""
    if by != "group" and not bank.has(by):
        return pd.DataFrame()
    group = (f"CASE WHEN {bank.flag('inclusive_smb')} THEN 'inclusive_smb' WHEN {bank.flag('inclusive_agri')} "
             "THEN 'agri_not_smb' ELSE 'other' END") if by == "group" else f"coalesce(CAST({by} AS VARCHAR), '(blank)')"
    last = period.shifted_years(1)
    last_flow = IN_PERIOD.replace("$start", "$last_start").replace("$end", "$last_end")
    frame = bank.sql(f"""
        SELECT {group} AS grp,
               count(DISTINCT borrower_id) FILTER (WHERE {IN_PERIOD}) AS borrowers,
               count(DISTINCT borrower_id) FILTER (WHERE {IN_PERIOD} AND is_first_loan) AS first_borrowers,
               count(DISTINCT borrower_id) FILTER (WHERE {last_flow} AND is_first_loan) AS first_last_year
        FROM {{originations}} WHERE {"true" if segment is None else bank.flag(segment)}
        GROUP BY grp ORDER BY first_borrowers DESC, grp
    """, {**period_params(period), **period_params(last, "last_")}).set_index("grp")
    frame.index.name = by
    frame["first_share"] = frame["first_borrowers"] / frame["borrowers"].where(frame["borrowers"] > 0)
    if not window_covers(bank, last):
        frame["first_last_year"] = np.nan
    return frame


def new_to_bank(bank: Bank, period: Period) -> dict:
    """Borrowers with a balance at the period end who had no loan with the bank at the previous year end: new to
    the bank (首次在本行获得贷款), by segment of their current loans. Not 无贷户 (notice 四(七)), borrowers new to
    all banks: the tape cannot tell those without is_first_bank_loan (pucredit.analyses.conduct.first_bank_loans)."""
    row = bank.sql(f"""
        WITH now AS (SELECT DISTINCT borrower_id, {bank.flag('inclusive_smb')} AS is_inclusive_smb FROM {{loans}}
                     WHERE as_of = $end AND balance_cny > 0),
             before AS (SELECT DISTINCT borrower_id FROM {{loans}} WHERE as_of = $base AND balance_cny > 0)
        SELECT count(DISTINCT borrower_id) AS borrowers,
               count(DISTINCT borrower_id) FILTER (WHERE borrower_id NOT IN (SELECT borrower_id FROM before)) AS new,
               count(DISTINCT borrower_id) FILTER (WHERE is_inclusive_smb) AS smb,
               count(DISTINCT borrower_id) FILTER (WHERE is_inclusive_smb AND
                                                   borrower_id NOT IN (SELECT borrower_id FROM before)) AS smb_new,
               (SELECT count(*) FROM before) AS base_borrowers
        FROM now
    """, {"base": period.base_date.date(), "end": period.end.date()}).iloc[0]
    if not row["base_borrowers"]:
        return {}
    return {"borrowers": int(row["borrowers"]), "without_loan_at_base": int(row["new"]),
            "share": row["new"] / row["borrowers"] if row["borrowers"] else None,
            "inclusive_smb_borrowers": int(row["smb"]), "inclusive_smb_without_loan_at_base": int(row["smb_new"]),
            "inclusive_smb_share": row["smb_new"] / row["smb"] if row["smb"] else None}


# ---------------------------------------------------------------- what follows a first loan

def loan_histories(bank: Bank, end: pd.Timestamp, segment: str = "inclusive_smb") -> pd.DataFrame:
    """One row per loan originated in the window up to ``end``: first or repeat, months to the borrower's
    next loan (censored at the tape's last month), whether that next loan was a renewal, the credit-line
    change at it, and months to default (first non-performing month of the loan or of a renewal that
    replaced it, its successors in the renewal chain: 二(三), 四(九); None if never), all followed to the
    tape's end."""
    last = bank.months[-1]  # what follows is observed to the tape's end
    chains = renewals.chain_table(bank)
    frame = bank.sql(f"""
        WITH o AS (
            SELECT loan_id, borrower_id, origination_date, month, is_first_loan, is_renewal, credit_line_cny,
                   amount_cny, guarantee, borrower_type, maturity_date,
                   lead(origination_date) OVER w AS next_date, lead(is_renewal) OVER w AS next_is_renewal,
                   lead(credit_line_cny) OVER w AS next_line
            FROM {{originations}} WHERE {bank.flag(segment)}
            WINDOW w AS (PARTITION BY borrower_id ORDER BY origination_date, loan_id)
        ), bad AS (
            SELECT c.ancestor AS loan_id, min(l.as_of) AS default_month
            FROM {{loans}} l JOIN {chains} c USING (loan_id)
            WHERE l.is_npl AND l.as_of <= $last GROUP BY c.ancestor
        )
        SELECT o.*, bad.default_month FROM o LEFT JOIN bad USING (loan_id)
        WHERE o.origination_date <= $end
    """, {"last": last.date(), "end": end.date()})
    for col in ("origination_date", "next_date", "default_month", "month", "maturity_date"):
        frame[col] = pd.to_datetime(frame[col])
    start = frame["origination_date"]
    months = lambda a, b: (b.dt.year - a.dt.year) * 12 + b.dt.month - a.dt.month  # noqa: E731
    frame["next_observed"] = frame["next_date"].notna()
    frame["months_to_next"] = np.where(frame["next_observed"], months(start, frame["next_date"]),
                                       months(start, pd.Series(last, index=frame.index)))
    frame["months_to_default"] = months(start, frame["default_month"])
    frame["months_observed"] = months(start, pd.Series(last, index=frame.index))
    frame["line_growth"] = frame["next_line"] / frame["credit_line_cny"] - 1
    frame["first_or_repeat"] = np.where(frame["is_first_loan"], "first", "repeat")
    return frame


def time_to_next_loan(histories: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Kaplan-Meier curves of months from a loan to the borrower's next loan, first vs repeat loans,
    censored at the tape's end (statsmodels SurvfuncRight). Returns group -> survival table."""
    from statsmodels.duration.survfunc import SurvfuncRight

    curves = {}
    for name, group in histories.groupby("first_or_repeat"):
        if len(group) < 10:
            continue
        fit = SurvfuncRight(group["months_to_next"].to_numpy(float), group["next_observed"].to_numpy(int))
        table = fit.summary().reset_index()
        table.columns = ["months", "no_next_loan", "se", "at_risk", "events"]
        curves[name] = table.set_index("months")
    return curves


def follow_up(histories: pd.DataFrame, horizon: int = 12) -> pd.DataFrame:
    """First vs repeat loans: a next loan within ``horizon`` months, renewal at it, credit-line growth at it,
    and default within ``horizon`` months — each over the loans observed for the whole horizon."""
    seen = histories[histories["months_observed"] >= horizon]
    rows = {}
    for name, group in seen.groupby("first_or_repeat"):
        next_soon = group["next_observed"] & (group["months_to_next"] <= horizon)
        rows[name] = {"loans": len(group),
                      "next_loan_rate": next_soon.mean(),
                      "renewal_rate": (next_soon & group["next_is_renewal"].fillna(False).astype(bool)).mean(),
                      "median_line_growth": group.loc[next_soon, "line_growth"].median(),
                      "default_rate": (group["months_to_default"] <= horizon).mean()}
    return pd.DataFrame(rows).T


def cohorts(histories: pd.DataFrame, bank: Bank, horizons=(6, 12, 24)) -> pd.DataFrame:
    """First-loan borrowers by origination quarter: still a borrower (any balance) 6/12/24 months later,
    and cumulative default by then; NaN where the tape ends before the horizon."""
    first = histories[histories["is_first_loan"]].copy()
    if first.empty:
        return pd.DataFrame()
    present = bank.sql(f"""
        WITH present AS (SELECT DISTINCT borrower_id, {month_index('as_of')} AS m FROM {{loans}} WHERE balance_cny > 0),
             first AS (SELECT loan_id, borrower_id, {month_index('origination_date')} AS m FROM {{originations}}
                       WHERE is_first_loan)
        SELECT f.loan_id, {", ".join(f"coalesce(bool_or(p.m = f.m + {h}), false) AS still_{h}" for h in horizons)}
        FROM first f LEFT JOIN present p ON p.borrower_id = f.borrower_id
                                        AND p.m IN ({", ".join(f"f.m + {h}" for h in horizons)})
        GROUP BY f.loan_id
    """).set_index("loan_id")  # whether each first loan's borrower has a balance h months after its origination
    first["quarter"] = first["origination_date"].dt.to_period("Q").astype(str)
    out = {"borrowers": first.groupby("quarter")["borrower_id"].nunique()}
    for h in horizons:
        observed = first["months_observed"] >= h
        first[f"still_{h}"] = np.where(observed, first["loan_id"].map(present[f"still_{h}"]).astype(bool), np.nan)
        first[f"default_{h}"] = np.where(observed, first["months_to_default"] <= h, np.nan)
        out[f"still_borrower_{h}m"] = first.groupby("quarter")[f"still_{h}"].mean()
        out[f"cumulative_default_{h}m"] = first.groupby("quarter")[f"default_{h}"].mean()
    return pd.DataFrame(out)


def default_odds(histories: pd.DataFrame, horizon: int = 12):
    """Logistic GLM of default within ``horizon`` months on first loan, borrower type and guarantee (notice
    二(三)), standard errors clustered by borrower (a repeat borrower's loans are not independent).
    exp(coefficient of is_first_loan) is the first-loan odds ratio. When a control level is perfectly
    separated the model falls back to first loan alone (``fit.model.formula`` says which), keeping every
    loan. None when the window holds too few loans or defaults."""
    seen = histories[histories["months_observed"] >= horizon]
    seen = seen.assign(defaulted=(seen["months_to_default"] <= horizon).astype(int),
                       is_first_loan=seen["is_first_loan"].astype(int))
    if len(seen) < 100 or seen["defaulted"].sum() < 5:
        return None
    return binomial_glm(seen, "defaulted", ["is_first_loan", "borrower_type", "guarantee"],
                        ["is_first_loan + C(borrower_type) + C(guarantee)", "is_first_loan"])


