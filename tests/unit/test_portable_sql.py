"""The engine's SQL computes the same in DuckDB and Spark: month arithmetic by month index, no construct that
only DuckDB has (docs: README "Running at scale")."""
from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from pucredit.engine.sql import month_index


@pytest.mark.parametrize("start, end, months", [
    ("2019-09-30", "2020-02-29", 5),  # Spark's DATEDIFF(MONTH, ...) counts 4: the end day is before the start day
    ("2019-09-01", "2020-02-29", 5),
    ("2024-01-31", "2024-02-29", 1),
    ("2024-02-29", "2025-02-28", 12),
    ("2024-12-31", "2025-01-01", 1),
    ("2024-06-30", "2024-06-01", 0),
    ("2025-03-31", "2024-03-31", -12),
])
def test_month_index_differences_count_calendar_months(start, end, months):
    con = duckdb.connect()
    got = con.execute(f"SELECT {month_index('CAST($end AS DATE)')} - {month_index('CAST($start AS DATE)')}",
                      {"start": dt.date.fromisoformat(start), "end": dt.date.fromisoformat(end)}).fetchone()[0]
    assert got == months
