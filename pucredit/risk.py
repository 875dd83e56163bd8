"""Risk tolerance (不良容忍度, notice 四(九)): segment NPL ratios against the all-loan ratio plus tolerance.

headroom_pp = (total_npl_ratio × 100 + tolerance_pp) − segment_npl_ratio × 100 (CONTRACT §3);
headroom in yuan is how much more non-performing balance the segment could carry
at its current balance before the tolerance is breached.
"""
from __future__ import annotations

import pandas as pd

from .periods import Period
from .tape import Bank
from .volume import stock_at


def npl_ratio(npl: float, balance: float) -> float | None:
    return None if not balance else float(npl / balance)


def headroom_pp(segment_ratio: float | None, total_ratio: float | None, tolerance_pp: float) -> float | None:
    if segment_ratio is None or total_ratio is None:
        return None
    return total_ratio * 100 + tolerance_pp - segment_ratio * 100


def headroom_cny(segment_ratio: float | None, total_ratio: float | None, tolerance_pp: float,
                 balance: float) -> float | None:
    """Extra NPL balance (yuan) the segment can take at its current balance before breaching tolerance."""
    room = headroom_pp(segment_ratio, total_ratio, tolerance_pp)
    return None if room is None else room / 100 * balance


def metrics(bank: Bank, period: Period, stocks: pd.DataFrame) -> dict:
    """The risk section of metrics.json (CONTRACT §3)."""
    end = stock_at(stocks, period.end, bank)
    tolerance = bank.policy.tolerance
    total = npl_ratio(end["total_npl_cny"], end["total_loans_cny"])
    notes = {}
    result = {"total_npl_ratio": total, "tolerance_pp": tolerance.inclusive_smb_pp.value}
    for segment, tol in (("inclusive_smb", tolerance.inclusive_smb_pp.value),
                         ("inclusive_agri", tolerance.inclusive_agri_pp.value)):
        balance = float(end[f"{segment}_balance_cny"])
        ratio = npl_ratio(end[f"{segment}_npl_cny"], balance)
        room = headroom_pp(ratio, total, tol)
        result[f"{segment}_npl_ratio"] = ratio
        result[f"{segment}_npl_headroom_pp"] = room
        room_cny = headroom_cny(ratio, total, tol, balance)
        result[f"{segment}_npl_headroom_cny"] = None if room_cny is None else round(room_cny, 2)
        result[f"{segment}_within_tolerance"] = None if room is None else bool(room >= 0)
        if ratio is None:
            notes[f"{segment}_npl_ratio"] = f"not applicable: no {segment} balance at {period.end.date()}"
    result["inclusive_agri_tolerance_pp"] = tolerance.inclusive_agri_pp.value
    result["notes"] = notes
    return result
