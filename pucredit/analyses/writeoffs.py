"""Write-offs and 偏离度 (notice 四(九), 五(十) 提升不良资产处置效率): what the NPL ratios look like before write-offs.

Write-offs lower the NPL balance and so flatter the tolerance headroom. The bank's write-offs of the
period are the totals file's ``writeoffs_cny`` summed over the period's month ends. A tape cannot tell a
segment's write-offs apart: a loan that leaves the tape while non-performing was written off, sold,
transferred or repaid. Its balance at its last snapshot, summed over the segment's loans that left in the
period (and that no linked renewal replaced), is the segment's *NPL exits*: an upper bound of its write-offs.

偏离度: loans 90 or more days past due over the NPL balance. Loans that far overdue belong in the NPL classes
(《商业银行金融资产风险分类办法》 第十一条), so a ratio above the policy's ``dpd90_to_npl_max_ratio`` means some
are classed performing. docs/data-contract.md §17.
"""
from __future__ import annotations

import pandas as pd

from pucredit.config.periods import Period
from pucredit.engine.sql import sum_cny
from pucredit.engine.tape import Bank


def with_added_back(npl: float, balance: float, added: float) -> float | None:
    """NPL ratio had ``added`` yuan of NPL not left the book: (npl + added) / (balance + added)."""
    return None if not balance + added else float((npl + added) / (balance + added))


def period_writeoffs(bank: Bank, period: Period) -> tuple[float | None, str | None]:
    """The bank's write-offs over the period (the totals file's monthly ``writeoffs_cny``), or None and why."""
    if not bank.has_totals:
        return None, "not applicable: no totals file, which alone gives the bank's write-offs (writeoffs_cny)"
    given, total = bank.con.execute(
        "SELECT count(writeoffs_cny), sum(CAST(writeoffs_cny AS DECIMAL(38, 2))) FROM totals "
        "WHERE bank_id = ? AND as_of BETWEEN ? AND ?", [bank.bank_id, period.start.date(), period.end.date()]).fetchone()
    months = len(pd.date_range(period.start, period.end, freq="ME"))
    if not given:
        return None, "not applicable: the totals file gives no writeoffs_cny for the period's months"
    if given < months:
        return None, f"the totals file gives writeoffs_cny for {given} of the period's {months} month ends"
    return float(total), None


def npl_exits(bank: Bank, period: Period, segments: list[str]) -> dict[str, float]:
    """Per segment: balance at their last snapshot of the segment's loans that left the tape in the period while
    non-performing (last snapshot from the month end before the period to the one before its end), leaving out
    loans a linked renewal replaced (predecessor_loan_id). An upper bound of the segment's write-offs."""
    renewed = ("AND l.loan_id NOT IN (SELECT predecessor_loan_id FROM {loans} WHERE predecessor_loan_id IS NOT NULL)"
               if bank.has("predecessor_loan_id") else "")
    sums = ", ".join(f"{sum_cny('l.balance_cny', bank.flag(s))} AS {s}" for s in segments)
    row = bank.sql(f"""
        SELECT {sums} FROM {{loans}} l
        JOIN loan_facts f ON f.bank_id = $bank AND f.loan_id = l.loan_id AND f.last_as_of = l.as_of
        WHERE l.is_npl AND l.as_of >= $before AND l.as_of < $end {renewed}
    """, {"bank": bank.bank_id, "before": period.opening.date(), "end": period.end.date()}).iloc[0]
    return {s: float(row[s]) for s in segments}


def dpd90_to_npl(bank: Bank, period: Period, segments: list[str]) -> dict[str, tuple[float, float]]:
    """Per segment at the period end: (balance 90+ days past due, NPL balance)."""
    parts = ", ".join(f"{sum_cny('balance_cny', f'{bank.flag(s)} AND days_past_due >= 90')} AS {s}_dpd90, "
                      f"{sum_cny('balance_cny', f'{bank.flag(s)} AND is_npl')} AS {s}_npl" for s in segments)
    row = bank.sql(f"SELECT {parts} FROM {{loans}} WHERE as_of = $end", {"end": period.end.date()}).iloc[0]
    return {s: (float(row[f"{s}_dpd90"]), float(row[f"{s}_npl"])) for s in segments}


def metrics(bank: Bank, period: Period, end: pd.Series, notes: dict[str, str]) -> dict:
    """Keys of the risk section: the bank's write-offs and its NPL ratio with them added back; per segment with a
    tolerance, its NPL exits and NPL ratio with them added back, and its 90+ days to NPL ratio against the limit
    (``end``: the month-end stocks at the period end; reasons for nulls go into ``notes``)."""
    segments = [s for s in bank.policy.tolerances.segments if s in bank.segments and end[f"{s}_balance_cny"] > 0]
    written, reason = period_writeoffs(bank, period)
    values: dict = {"writeoffs_cny": written, "total_npl_ratio_with_writeoffs": None,
                    "dpd90_to_npl_max_ratio": bank.policy.risk.dpd90_to_npl_max_ratio.value}
    if reason:
        notes["writeoffs_cny"] = notes["total_npl_ratio_with_writeoffs"] = reason
    elif pd.isna(end["total_loans_cny"]):
        notes["total_npl_ratio_with_writeoffs"] = "no all-loan balance at the period end"
    else:
        values["total_npl_ratio_with_writeoffs"] = with_added_back(float(end["total_npl_cny"]),
                                                                   float(end["total_loans_cny"]), written)
    exits = npl_exits(bank, period, segments) if segments else {}
    limit = values["dpd90_to_npl_max_ratio"]
    for s, (dpd90, npl) in (dpd90_to_npl(bank, period, segments) if segments else {}).items():
        balance = float(end[f"{s}_balance_cny"])
        values[f"{s}_npl_exits_cny"] = round(exits[s], 2)
        values[f"{s}_npl_ratio_with_exits"] = with_added_back(float(end[f"{s}_npl_cny"]), balance, exits[s])
        ratio = dpd90 / npl if npl else None
        values[f"{s}_dpd90_to_npl_ratio"] = ratio
        values[f"{s}_dpd90_within_limit"] = (bool(ratio <= limit) if ratio is not None
                                             else False if dpd90 else None)  # 90+ overdue and no NPL: over
        if ratio is None:
            notes[f"{s}_dpd90_to_npl_ratio"] = (f"no non-performing {s} balance at {period.end.date()}"
                                                + (", but loans 90+ days past due" if dpd90 else ""))
    return values
