"""Volume targets (保量, notice 二(一)): segment balances, year-to-date growth against all loans.

``monthly_stocks`` is one scan of the bank's rows giving every month end's
balances, NPL balances and borrower counts by segment; the volume and risk
metrics read it at the period end and at the previous year end.
"""
from __future__ import annotations

import pandas as pd

from .errors import InputError, Problem
from .periods import Period
from .sql import sum_cny
from .tape import Bank

SEGMENT_FLAGS = {
    "inclusive_smb": "is_inclusive_smb",
    "inclusive_agri": "is_inclusive_agri",
    "key_county": "in_key_county",
    "poverty_area": "in_poverty_area",
    "poverty_household": "is_poverty_household_loan",
}


def monthly_stocks(bank: Bank) -> pd.DataFrame:
    """Per month end: balance and NPL balance of all tape loans and of each segment, borrower counts.

    Columns ``tape_total_cny``, ``tape_npl_cny``, ``<segment>_balance_cny``, ``<segment>_npl_cny``,
    ``<segment>_borrowers``; plus, from the totals file when given, ``totals_loans_cny``,
    ``totals_npl_cny``, ``county_loans_cny``, ``county_deposits_cny``; and ``total_loans_cny``,
    ``total_npl_cny`` from the source that applies (CONTRACT §3: totals file, else the tape).
    """
    parts = [f"{sum_cny('balance_cny')} AS tape_total_cny", f"{sum_cny('balance_cny', 'is_npl')} AS tape_npl_cny",
             "count(DISTINCT borrower_id) FILTER (WHERE balance_cny > 0) AS all_borrowers"]
    for name, flag in SEGMENT_FLAGS.items():
        parts += [f"{sum_cny('balance_cny', flag)} AS {name}_balance_cny",
                  f"{sum_cny('balance_cny', f'{flag} AND is_npl')} AS {name}_npl_cny",
                  f"count(DISTINCT borrower_id) FILTER (WHERE {flag} AND balance_cny > 0) AS {name}_borrowers"]
    stocks = bank.sql(f"SELECT as_of, {', '.join(parts)} FROM {{loans}} GROUP BY as_of ORDER BY as_of")
    stocks["as_of"] = pd.to_datetime(stocks["as_of"])
    stocks = stocks.set_index("as_of")
    stocks = stocks.astype({c: "float64" for c in stocks.columns if c.endswith("_cny")})
    if bank.has_totals:
        totals = bank.con.execute(
            "SELECT as_of, total_loans_cny AS totals_loans_cny, total_npl_cny AS totals_npl_cny, "
            "county_loans_cny, county_deposits_cny FROM totals WHERE bank_id = ? ORDER BY as_of",
            [bank.bank_id]).df()
        totals["as_of"] = pd.to_datetime(totals["as_of"])
        stocks = stocks.join(totals.set_index("as_of"), how="outer")
        stocks["total_loans_cny"] = stocks["totals_loans_cny"]
        stocks["total_npl_cny"] = stocks["totals_npl_cny"]
    else:
        stocks["total_loans_cny"] = stocks["tape_total_cny"]
        stocks["total_npl_cny"] = stocks["tape_npl_cny"]
    return stocks


def totals_source(bank: Bank) -> str:
    """Which source the bank's total loans and total NPL come from (CONTRACT §1.2)."""
    return "totals_file" if bank.has_totals else "tape"


def stock_at(stocks: pd.DataFrame, date: pd.Timestamp, file: str) -> pd.Series:
    """The month-end row at ``date``; a period end the tape does not reach is bad usage."""
    if date not in stocks.index or pd.isna(stocks.loc[date, "tape_total_cny"]):
        months = stocks.dropna(subset=["tape_total_cny"]).index
        raise InputError(Problem(file=file, column="as_of", rule="period_not_in_tape", value=str(date.date()),
                                 message="the tape has no snapshot at the period's last month end",
                                 accepted=f"a period ending between {months.min().date()} and {months.max().date()}"))
    return stocks.loc[date]


def growth(stocks: pd.DataFrame, column: str, period: Period) -> tuple[float | None, str | None]:
    """Year-to-date growth of a stock column (fraction), or None with the reason."""
    base = period.base_date
    if base not in stocks.index or pd.isna(stocks.loc[base, column]):
        return None, f"no snapshot at the base date {base.date()} (previous year end)"
    start, end = stocks.loc[base, column], stocks.loc[period.end, column]
    if not start:
        return None, f"zero balance at the base date {base.date()}"
    return float(end / start - 1), None


def target_met(segment_growth: float | None, total_growth: float | None) -> bool | None:
    """Notice 二(一): segment growth not below all-loan growth."""
    if segment_growth is None or total_growth is None:
        return None
    return bool(segment_growth >= total_growth)


def metrics(bank: Bank, period: Period, stocks: pd.DataFrame) -> dict:
    """The volume section of metrics.json (CONTRACT §3), with reasons for every null in ``notes``."""
    end = stock_at(stocks, period.end, str(bank.tape.path))
    notes: dict[str, str] = {}

    def grow(column: str, key: str) -> float | None:
        value, reason = growth(stocks, column, period)
        if reason:
            notes[key] = reason
        return value

    total_growth = grow("total_loans_cny", "total_loans_growth")
    smb_growth = grow("inclusive_smb_balance_cny", "inclusive_smb_growth")
    has_agri = bool(stocks["inclusive_agri_balance_cny"].fillna(0).any())
    agri_growth = grow("inclusive_agri_balance_cny", "inclusive_agri_growth") if has_agri else None
    if not has_agri:
        notes["inclusive_agri"] = "not applicable: the bank has no inclusive agri loans in the tape"
    base = stocks.loc[period.base_date] if period.base_date in stocks.index else None
    result = {
        "inclusive_smb_balance_cny": round(float(end["inclusive_smb_balance_cny"]), 2),
        "inclusive_smb_balance_base_cny": None if base is None else round(float(base["inclusive_smb_balance_cny"]), 2),
        "inclusive_smb_growth": smb_growth,
        "total_loans_balance_cny": None if pd.isna(end["total_loans_cny"]) else round(float(end["total_loans_cny"]), 2),
        "total_loans_growth": total_growth,
        "inclusive_smb_growth_gap_pp": None if smb_growth is None or total_growth is None
        else (smb_growth - total_growth) * 100,
        "inclusive_smb_target_met": target_met(smb_growth, total_growth),
        "inclusive_agri_balance_cny": round(float(end["inclusive_agri_balance_cny"]), 2),
        "inclusive_agri_growth": agri_growth,
        "inclusive_agri_growth_gap_pp": None if agri_growth is None or total_growth is None
        else (agri_growth - total_growth) * 100,
        "inclusive_agri_target_met": target_met(agri_growth, total_growth),
        "inclusive_smb_borrowers": int(end["inclusive_smb_borrowers"]),
        "inclusive_agri_borrowers": int(end["inclusive_agri_borrowers"]),
        "base_date": str(period.base_date.date()),
        "totals_source": totals_source(bank),
    }
    if bank.has_key_county:
        kc_growth = grow("key_county_balance_cny", "key_county_growth")
        result.update(key_county_balance_cny=round(float(end["key_county_balance_cny"]), 2),
                      key_county_growth=kc_growth, key_county_target_met=target_met(kc_growth, total_growth))
    else:
        notes["key_county"] = "not applicable: no is_key_county column and no key-county codes in the policy file"
    if bank.has_poverty_area:
        pa_growth = grow("poverty_area_balance_cny", "poverty_area_growth")
        result.update(poverty_area_balance_cny=round(float(end["poverty_area_balance_cny"]), 2),
                      poverty_area_growth=pa_growth,
                      poverty_area_target_met=None if pa_growth is None else bool(pa_growth > 0))
    else:
        notes["poverty_area"] = "not applicable: no is_poverty_area column in the tape"
    deposits = end.get("county_deposits_cny")
    if deposits is not None and not pd.isna(deposits) and deposits > 0:
        result["county_loan_to_deposit_ratio"] = float(end["county_loans_cny"] / deposits)
    else:
        notes["county_loan_to_deposit_ratio"] = "not applicable: the totals file has no county deposits"
    result["notes"] = notes
    return result
