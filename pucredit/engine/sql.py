"""Small SQL helpers shared by the analyses. Money is summed as DECIMAL so that totals are
exact and the same on every run (floating sums in parallel differ in the last digits)."""
from __future__ import annotations

import contextlib
import os
import sys

import duckdb

_recorded: list | None = None  # (statement, parameters, calling module) of every connection while ``recording``


class Connection:
    """A DuckDB connection (every method is DuckDB's) whose ``execute`` can be recorded: the one place the engine's
    SQL passes, so that a test sees every statement (and can transpile it to Spark, README "Running at scale")."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self._con = con

    def execute(self, query: str, parameters=None) -> duckdb.DuckDBPyConnection:
        if _recorded is not None:
            _recorded.append((query, parameters, sys._getframe(1).f_globals.get("__name__")))
        return self._con.execute(query, parameters)

    def __getattr__(self, name):
        return getattr(self._con, name)


THREADS_ENV = "PUCREDIT_DUCKDB_THREADS"  # DuckDB's threads; a Dask worker sets its share (pipeline.cluster)


def connect(**config) -> Connection:
    """A DuckDB connection; its threads from $PUCREDIT_DUCKDB_THREADS when set (else every core)."""
    return Connection(duckdb.connect(config={**thread_cap(), **config}))


def thread_cap() -> dict:
    """DuckDB's ``threads`` from $PUCREDIT_DUCKDB_THREADS (a whole number >= 1); unset or empty: every core."""
    from pucredit.contract.errors import InputError, Problem

    text = os.environ.get(THREADS_ENV, "").strip()
    if not text:
        return {}
    if not text.isdigit() or int(text) < 1:
        raise InputError(Problem(file="environment", column=THREADS_ENV, value=text, rule="usage",
                                 message="not a number of threads", accepted="a whole number >= 1, or unset"))
    return {"threads": int(text)}


@contextlib.contextmanager
def recording():
    """Collect (statement, parameters, calling module) of every ``Connection.execute`` in the block into the
    list yielded."""
    global _recorded
    previous, _recorded = _recorded, []
    try:
        yield _recorded
    finally:
        _recorded = previous


def sql_quote(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def sql_ident(text: str) -> str:
    return '"' + str(text).replace('"', '""') + '"'


def sum_cny(value: str, where: str = "true") -> str:
    """Exact sum of a yuan column over the rows where ``where`` holds (0 when none)."""
    return f"coalesce(sum(CAST({value} AS DECIMAL(38, 2))) FILTER (WHERE {where}), 0)"


def weighted_mean(value: str, weight: str, where: str = "true") -> str:
    """Weight-averaged value over the rows where ``where`` holds and value is known (NULL when none)."""
    cond = f"({where}) AND {value} IS NOT NULL AND {weight} > 0"
    num = f"sum(CAST({weight} AS DECIMAL(38, 2)) * CAST({value} AS DECIMAL(18, 6))) FILTER (WHERE {cond})"
    den = f"sum(CAST({weight} AS DECIMAL(38, 2))) FILTER (WHERE {cond})"
    return f"CAST({num} AS DOUBLE) / nullif(CAST({den} AS DOUBLE), 0)"


def month_index(date: str) -> str:
    """A date's month as one integer (year × 12 + month): month differences are differences of indices,
    the same in every SQL engine (DuckDB's date_diff('month', ...) and Spark's DATEDIFF(MONTH, ...) disagree
    across month ends: 2019-09-30 to 2020-02-29 is 5 in one and 4 in the other)."""
    return f"(year({date}) * 12 + month({date}))"


def as_float(value) -> float | None:
    """A SQL result as float, None for NULL or NaN."""
    return None if value is None or value != value else float(value)


IN_PERIOD = "origination_date BETWEEN $start AND $end"  # a flow of the period (bind period_params)


def period_params(period, prefix: str = "") -> dict:
    """Named parameters ``$start`` and ``$end`` (with a prefix: ``$last_start``...) of a period's first and
    last day, for SQL that binds dates instead of splicing them into its text."""
    return {f"{prefix}start": period.start.date(), f"{prefix}end": period.end.date()}
