"""The engine's DuckDB SQL on Spark: each statement transpiled by SQLGlot (``read="duckdb", write="spark"``),
``* REPLACE`` expanded by ``qualify`` against the relations' schema; DuckDB stays the reference dialect and there
is no second copy of the SQL (README "Running at scale"). Needs the optional extra ``pucredit[spark]``."""
from __future__ import annotations

import datetime as dt
import decimal

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel
from sqlglot.optimizer.qualify import qualify

# Functions SQLGlot passes through by name that Spark SQL has too (the rest of its unknown names are not portable).
SPARK_FUNCTIONS = frozenset({"bit_count", "bit_or", "shiftleft", "sha2", "substr", "isnan"})
_DUCKDB_TYPES = {exp.DataType.Type.INT128, exp.DataType.Type.UINT128, exp.DataType.Type.UBIGINT,
                 exp.DataType.Type.UINT, exp.DataType.Type.USMALLINT, exp.DataType.Type.UTINYINT,
                 exp.DataType.Type.LIST, exp.DataType.Type.UNION}


def literal(value) -> exp.Expression:
    """A bound parameter as a SQL literal (Spark SQL has no DuckDB-style ``$name`` or ``?`` binding)."""
    if value is None:
        return exp.null()
    if isinstance(value, bool):
        return exp.true() if value else exp.false()
    if isinstance(value, (int, float, decimal.Decimal)):
        return exp.Literal.number(value)
    if isinstance(value, dt.datetime):
        return exp.cast(exp.Literal.string(value.isoformat(sep=" ")), "TIMESTAMP")
    if isinstance(value, dt.date):
        return exp.cast(exp.Literal.string(value.isoformat()), "DATE")
    if isinstance(value, (list, tuple)):
        return exp.Array(expressions=[literal(v) for v in value])
    return exp.Literal.string(str(value))


def bind(tree: exp.Expression, params) -> exp.Expression:
    """Replace ``?`` (a list of parameters, in order) and ``$name`` (a dict) by literals."""
    if not params:
        return tree
    positional = iter(params) if isinstance(params, (list, tuple)) else None

    def replace(node):
        if isinstance(node, exp.Placeholder):
            return literal(next(positional) if node.name in ("", "?") else params[node.name])
        return node
    return tree.transform(replace)


def duckdb_only(tree: exp.Expression) -> list[str]:
    """The constructs of a parsed DuckDB statement that Spark does not have, or computes differently."""
    found = []
    for node in tree.walk():
        if isinstance(node, exp.Join) and "ASOF" in (node.args.get("kind") or "").upper() + str(node.args.get("method") or "").upper():
            found.append("ASOF JOIN")
        elif isinstance(node, exp.Star) and (node.args.get("replace") or node.args.get("except") or node.args.get("rename")):
            found.append("* REPLACE/EXCLUDE (not expanded: no schema)")
        elif isinstance(node, exp.DataType) and node.this in _DUCKDB_TYPES:
            found.append(f"type {node.this.name}")
        elif isinstance(node, exp.Slice):
            found.append("list slice [a:b]")
        elif isinstance(node, (exp.DateDiff, exp.DatetimeDiff, exp.TimestampDiff)) and node.text("unit").upper() in (
                "MONTH", "QUARTER", "YEAR"):
            found.append("month difference by date_diff (differs in Spark: use sql.month_index)")
        elif isinstance(node, exp.Placeholder):
            found.append(f"unbound parameter {node.name}")
        elif isinstance(node, exp.Anonymous) and node.name.lower() not in SPARK_FUNCTIONS:
            found.append(f"function {node.name}")
        elif isinstance(node, exp.AggFunc) and node.find(exp.Order) is not None:
            found.append(f"ordered aggregate {node.sql('duckdb')[:40]}")
    return sorted(set(found))


def to_spark(query: str, params=None, schema: dict | None = None) -> str:
    """One DuckDB statement of the engine as Spark SQL; ValueError naming what is DuckDB-only in it."""
    tree = bind(sqlglot.parse_one(query, read="duckdb"), params)
    if schema and tree.find(exp.Star) is not None:
        tree = qualify(tree, schema=schema, dialect="duckdb", validate_qualify_columns=False, quote_identifiers=False)
    problems = duckdb_only(tree)
    if problems:
        raise ValueError(f"not portable to Spark ({'; '.join(problems)}): {' '.join(query.split())[:200]}")
    return tree.sql("spark", unsupported_level=ErrorLevel.RAISE)
