"""Every statement the engine and the analyses send to DuckDB, logged while the demo banks' metrics are computed,
transpiles to Spark SQL (SQLGlot, ``* REPLACE`` expanded against the schema) without a DuckDB-only construct.
Reading and validating a file (pucredit.contract) stay DuckDB's: they are the reader, not the metrics' SQL."""
from __future__ import annotations

import re

import pytest
import sqlglot

from pucredit.engine.spark import duckdb_only, to_spark
from pucredit.engine.sql import recording

CHECKED = ("pucredit.engine.", "pucredit.analyses.", "pucredit.config.")  # modules whose statements must port
NOT_QUERIES = ("SET ", "COPY ", "DESCRIBE ")  # settings and Parquet files written: each engine has its own
READER = re.compile(r"\bFROM (tape|totals)_raw\b")  # the views that type a file's raw cells: the reader's own


def ported(query: str, module: str) -> bool:
    return (module.startswith(CHECKED) and not query.lstrip().upper().startswith(NOT_QUERIES)
            and not READER.search(query))


@pytest.fixture(scope="module")
def logged():
    from tools.golden_metrics import BANKS, compute_case, open_demo_tape

    statements, schema = [], {}
    for bank_id in BANKS:
        with recording() as sent:
            bank, tape = open_demo_tape(bank_id)
            with tape:
                compute_case({bank_id: (bank, tape)}, bank_id, "2025H1")
                for table, column, kind in tape.con.execute(
                        "SELECT table_name, column_name, data_type FROM information_schema.columns").fetchall():
                    schema.setdefault(table, {})[column] = kind
        statements += sent
    return statements, schema


def test_every_metrics_statement_transpiles_to_spark(logged):
    statements, schema = logged
    checked = [(q, p) for q, p, module in statements if ported(q, module)]
    assert len(checked) > 40  # the Bank's views and tables and every metric query of three banks
    failures = []
    for query, params in checked:
        try:
            assert "ASOF" not in to_spark(query, params, schema).upper()
        except Exception as exc:  # noqa: BLE001 (collect all, report all)
            failures.append(str(exc))
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("query, problem", [
    ("SELECT o.*, l.x FROM o ASOF LEFT JOIN l ON o.d >= l.d", "ASOF JOIN"),
    ("SELECT bit_or(CAST(1 AS HUGEINT) << 3) FROM t", "type INT128"),
    ("SELECT * REPLACE (1 AS a) FROM t", "* REPLACE/EXCLUDE (not expanded: no schema)"),
    ("SELECT date_diff('month', a, b) FROM t", "month difference by date_diff (differs in Spark: use sql.month_index)"),
    ("SELECT list(x)[2:] FROM t", "list slice [a:b]"),
    ("SELECT isfinite(x) FROM t", "function isfinite"),
])
def test_duckdb_only_constructs_are_named(query, problem):
    assert problem in duckdb_only(sqlglot.parse_one(query, read="duckdb"))


def test_parameters_are_bound_and_star_replace_expanded():
    import datetime as dt

    got = to_spark("SELECT * REPLACE (upper(a) AS a) FROM t WHERE d BETWEEN $start AND $end",
                   {"start": dt.date(2025, 1, 1), "end": dt.date(2025, 6, 30)}, {"t": {"a": "VARCHAR", "d": "DATE"}})
    assert got == ("SELECT UPPER(t.a) AS a, t.d AS d FROM t AS t "
                   "WHERE t.d BETWEEN CAST('2025-01-01' AS DATE) AND CAST('2025-06-30' AS DATE)")
    assert to_spark("SELECT a FROM t WHERE b = ? AND list_contains(?, c)", ["x'y", [1, 2]]) == (
        "SELECT a FROM t WHERE b = 'x\\'y' AND ARRAY_CONTAINS(ARRAY(1, 2), c)")


def test_list_overlap_is_written_as_spark_spells_it():
    assert to_spark("SELECT a && b FROM t") == "SELECT ARRAYS_OVERLAP(a, b) FROM t"  # SQLGlot 30.30 writes a && b
