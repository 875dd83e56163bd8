"""Reporting periods (docs/data-contract.md §9): 2024, 2024H1, 2024Q3, 2024-05.

A period runs from its first to its last day; stocks are read at its last
month end; growth is year to date, against the previous year end.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from pucredit.contract.errors import InputError, Problem
from pucredit.contract.schema import YEAR_MAX, YEAR_MIN

_FORMS = (
    (re.compile(r"^(\d{4})$"), "year"),
    (re.compile(r"^(\d{4})H([12])$", re.I), "half"),
    (re.compile(r"^(\d{4})Q([1-4])$", re.I), "quarter"),
    (re.compile(r"^(\d{4})-(\d{1,2})$"), "month"),
)
ACCEPTED = f"2024 (year), 2024H1/2024H2, 2024Q1..2024Q4, 2024-05 (month); years {YEAR_MIN} to {YEAR_MAX}"


@dataclass(frozen=True)
class Period:
    label: str
    kind: str
    start: pd.Timestamp
    end: pd.Timestamp  # last day, also the month end at which stocks are read

    @property
    def year(self) -> int:
        return self.end.year

    @property
    def base_date(self) -> pd.Timestamp:
        """Previous year end: the base of year-to-date growth."""
        return pd.Timestamp(self.end.year - 1, 12, 31)

    @property
    def opening(self) -> pd.Timestamp:
        """The month end before the period: the stock at its start."""
        return self.start - pd.Timedelta(days=1)

    def shifted_years(self, years: int) -> "Period":
        """The same period ``years`` earlier (e.g. last year's first half)."""
        start = self.start - pd.DateOffset(years=years)
        end = (self.end - pd.DateOffset(years=years)) + pd.offsets.MonthEnd(0)
        return Period(f"{self.label}{years:+d}y", self.kind, start, end)


def parse_period(text: str) -> Period:
    text = str(text).strip()
    for pattern, kind in _FORMS:
        match = pattern.match(text)
        if not match:
            continue
        year = int(match.group(1))
        if not YEAR_MIN <= year <= YEAR_MAX:  # the tape's date range (docs/data-contract.md §17); pandas ends at 2262
            break
        if kind == "year":
            start, months = pd.Timestamp(year, 1, 1), 12
        elif kind == "half":
            start, months = pd.Timestamp(year, 6 * (int(match.group(2)) - 1) + 1, 1), 6
        elif kind == "quarter":
            start, months = pd.Timestamp(year, 3 * (int(match.group(2)) - 1) + 1, 1), 3
        else:
            month = int(match.group(2))
            if not 1 <= month <= 12:
                break
            start, months = pd.Timestamp(year, month, 1), 1
        end = start + pd.DateOffset(months=months) - pd.Timedelta(days=1)
        label = {"year": f"{year}", "half": f"{year}H{match.group(2) if kind == 'half' else ''}",
                 "quarter": f"{year}Q{match.group(2) if kind == 'quarter' else ''}",
                 "month": f"{year}-{start.month:02d}"}[kind]
        return Period(label, kind, start, end)
    raise InputError(Problem(file="--period", rule="bad_period", message="not a period", value=text, accepted=ACCEPTED))
