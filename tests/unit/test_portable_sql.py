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


def test_month_bitmasks_count_distinct_months_across_the_63_bit_boundary():
    from pucredit.contract.validate import MONTH_MASK_BITS, _distinct_months

    con = duckdb.connect()
    # groups of month indices with repeats, around the two masks' boundaries (index % 126 = 0, 62, 63, 125)
    groups = {1: [24252, 24253, 24253, 24314, 24315, 24316], 2: [24377, 24378, 24378, 24378],
              3: list(range(24200, 24200 + MONTH_MASK_BITS - 1)) * 2, 4: [24315]}
    con.execute("CREATE TABLE m (g INTEGER, m INTEGER)")
    con.executemany("INSERT INTO m VALUES (?, ?)", [(g, v) for g, values in groups.items() for v in values])
    got = dict(con.execute(f"SELECT g, {_distinct_months('m')} FROM m GROUP BY g").fetchall())
    assert got == {g: len(set(values)) for g, values in groups.items()}
