"""First loans (首贷, notice 二(三), 六(十三)): how many inclusive small-micro borrowers got their first loan.

Counts follow CONTRACT §3: among distinct borrowers with an inclusive_smb loan
originated in the period, those with is_first_loan on such a loan.
"""
from __future__ import annotations

from .periods import Period
from .pricing import in_period
from .sql import as_float, sum_cny, weighted_mean
from .tape import Bank


def metrics(bank: Bank, period: Period) -> dict:
    """The first_loans section of metrics.json (CONTRACT §3)."""
    flow = f"{in_period(period)} AND is_inclusive_smb"
    row = bank.sql(f"""
        SELECT count(DISTINCT borrower_id) FILTER (WHERE {flow}) AS borrowers,
               count(DISTINCT borrower_id) FILTER (WHERE {flow} AND is_first_loan) AS first_borrowers,
               {sum_cny('amount_cny', f'{flow} AND is_first_loan')} AS first_amount,
               {weighted_mean('rate_pct', 'amount_cny', f'{flow} AND is_first_loan')} AS first_rate,
               {weighted_mean('rate_pct', 'amount_cny', f'{flow} AND NOT is_first_loan')} AS repeat_rate
        FROM {{originations}}
    """).iloc[0]
    borrowers, first = int(row["borrowers"]), int(row["first_borrowers"])
    notes = {}
    if not borrowers:
        notes["first_loan_share"] = "no inclusive_smb loans originated in the period"
    return {
        "borrowers_originated": borrowers,
        "first_loan_borrowers": first,
        "first_loan_share": first / borrowers if borrowers else None,
        "first_loan_amount_cny": round(float(row["first_amount"]), 2),
        "first_loan_new_rate_pct": as_float(row["first_rate"]),
        "repeat_new_rate_pct": as_float(row["repeat_rate"]),
        "notes": notes,
    }
