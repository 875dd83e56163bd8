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
SPARK_FUNCTIONS = frozenset({"arrays_overlap", "bit_count", "bit_or", "shiftleft", "sha2", "substr", "isnan"})
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


def _spark_spelling(node: exp.Expression) -> exp.Expression:
    """Constructs SQLGlot 30.30 writes for Spark in DuckDB's spelling: list overlap ``&&`` is arrays_overlap."""
    if isinstance(node, exp.ArrayOverlaps):
        return exp.Anonymous(this="arrays_overlap", expressions=[node.this, node.expression])
    return node


def to_spark(query: str, params=None, schema: dict | None = None) -> str:
    """One DuckDB statement of the engine as Spark SQL; ValueError naming what is DuckDB-only in it."""
    tree = bind(sqlglot.parse_one(query, read="duckdb"), params).transform(_spark_spelling)
    if schema and tree.find(exp.Star) is not None:
        tree = qualify(tree, schema=schema, dialect="duckdb", validate_qualify_columns=False, quote_identifiers=False)
    problems = duckdb_only(tree)
    if problems:
        raise ValueError(f"not portable to Spark ({'; '.join(problems)}): {' '.join(query.split())[:200]}")
    return tree.sql("spark", unsupported_level=ErrorLevel.RAISE)


class SparkResult:
    """A Spark query's rows, read as DuckDB's results are (``df``, ``fetchall``, ``fetchone``)."""

    def __init__(self, frame):
        self._frame = frame

    def fetchall(self) -> list[tuple]:
        return [] if self._frame is None else [tuple(row) for row in self._frame.collect()]

    def fetchone(self):
        rows = self.fetchall()
        return rows[0] if rows else None

    def df(self):
        """pandas as DuckDB gives it: DECIMAL as float64, DATE as datetime64."""
        import pandas as pd
        from pyspark.sql import types

        frame = self._frame.toPandas()
        for field in self._frame.schema.fields:
            if isinstance(field.dataType, types.DecimalType):
                frame[field.name] = frame[field.name].astype("float64")
            elif isinstance(field.dataType, types.DateType):
                frame[field.name] = pd.to_datetime(frame[field.name])
        return frame


class SparkConnection:
    """The engine's connection on Spark: ``execute`` takes the DuckDB statement the analyses write, transpiles it
    (:func:`to_spark`) and runs it; a table the engine creates is a cached temporary view."""

    def __init__(self, session):
        self.session = session
        self.schema: dict[str, dict[str, str]] = {}

    def view(self, name: str, frame) -> None:
        """A Spark DataFrame as temporary view ``name`` (a relation the statements read)."""
        frame.createOrReplaceTempView(name)
        self.schema[name] = {f.name: f.dataType.simpleString() for f in frame.schema.fields}

    def execute(self, query: str, parameters=None) -> SparkResult:
        tree = sqlglot.parse_one(query, read="duckdb")
        if isinstance(tree, exp.Create) and tree.args.get("kind") in ("TABLE", "VIEW"):
            name = tree.this.name if isinstance(tree.this, exp.Table) else tree.this.this.name
            if tree.args.get("exists") and name in self.schema:
                return SparkResult(None)
            select = to_spark(tree.expression.sql("duckdb"), parameters, self.schema)
            self.view(name, self.session.sql(select))
            if tree.args["kind"] == "TABLE":
                self.session.sql(f"CACHE TABLE {name}")
            return SparkResult(None)
        return SparkResult(self.session.sql(to_spark(query, parameters, self.schema)))

    def close(self) -> None:
        for name in self.schema:
            self.session.catalog.dropTempView(name)


def session(url: str | None = None):
    """A Spark session: Spark Connect at ``url`` (sc://host:15002; its own configuration), else local[2]; UTC, so
    dates stay dates."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("pucredit").config("spark.sql.session.timeZone", "UTC")
    if url:
        return builder.remote(url).getOrCreate()
    # a local session shuffles into a few partitions, not Spark's default 200 (meant for a cluster)
    builder = builder.master("local[2]").config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "4")
    return builder.getOrCreate()


def on_spark(tape, bank_id: str, folder, spark):
    """The same tape with its connection on Spark: one bank's validated rows, per-loan facts and totals written
    as Parquet by DuckDB (:meth:`Tape.save_prepared`, pseudonyms already applied) and read by Spark as the views the
    statements expect (``tape``, ``tape_plain``, ``loan_facts``, ``totals``, ``lpr_daily``)."""
    import dataclasses
    from pathlib import Path

    from pucredit.config import reference

    tape.save_prepared(bank_id, Path(folder))
    con = SparkConnection(spark)
    for name, file in (("tape_plain", "tape"), ("loan_facts", "loan_facts"), ("totals", "totals")):
        if (Path(folder) / f"{file}.parquet").exists():
            con.view(name, spark.read.parquet(str(Path(folder) / f"{file}.parquet")))
    con.view("tape", spark.table("tape_plain"))
    daily = reference.lpr_daily(tape.lpr)
    con.view("lpr_daily", spark.createDataFrame(daily.assign(day=daily["day"].dt.date)))
    return dataclasses.replace(tape, con=con, plain_has_raw_ids=False, _banks={})
