"""Read a loan tape or a totals file into DuckDB (CONTRACT §1.1, §1.2).

Any accepted format (CSV in UTF-8, UTF-8 with BOM or GBK/GB18030; Parquet;
Excel) becomes a *raw* DuckDB view with canonical column names and a ``_row``
column (1-based as in a spreadsheet, header = row 1), then a *normalised*
view whose values follow the contract: dates parsed, numbers and booleans in
any accepted spelling, enums as English codes, borrower ids pseudonymised.
Nothing is read into pandas; tapes of tens of millions of rows stay in DuckDB.

Problems that stop a file from being read at all (missing file, not text, no
rows, missing columns) raise :class:`InputError` at once; problems in values
are collected by :mod:`pucredit.validate`.
"""
from __future__ import annotations

import codecs
import datetime as dt
import hashlib
import os
import secrets
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from pucredit.contract.errors import InputError, Problem
from pucredit.engine.sql import sql_ident, sql_quote
from pucredit.contract.schema import (
    DATE_FORMATS,
    FALSE_SPELLINGS,
    TRUE_SPELLINGS,
    Column,
    enum_lookup,
    header_lookup,
    normalise_header,
)

CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".ods"}
PARQUET_SUFFIXES = {".parquet", ".pq"}
KEY_ENV = "PUCREDIT_PSEUDONYM_KEY"
_SESSION_KEY = secrets.token_hex(16)


@dataclass
class Source:
    """A readable file as DuckDB sees it: raw view name, its columns and their types."""

    path: Path
    fmt: str  # csv, excel, parquet
    encoding: str | None
    raw_view: str
    columns: dict[str, str]  # canonical name -> DuckDB type of the raw column
    ignored: list[str] = field(default_factory=list)  # headers not in the contract
    rejected: list[Problem] = field(default_factory=list)  # CSV rows DuckDB could not parse
    spellings: dict[str, list[str]] = field(default_factory=dict)  # enum/yes-no text column -> distinct values
    untrimmed: set[str] | None = None  # text columns with blank or space-padded values (None: not yet known)


def pseudonym_key(key: str | None = None) -> str:
    """Key for the borrower-id hash: the argument, else $PUCREDIT_PSEUDONYM_KEY, else a per-process random key."""
    return key or os.environ.get(KEY_ENV) or _SESSION_KEY


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# ---------------------------------------------------------------- file formats


def detect_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        return "parquet"
    if suffix in EXCEL_SUFFIXES:
        return "excel"
    with open(path, "rb") as handle:
        head = handle.read(8)
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"PK\x03\x04") or head.startswith(b"\xd0\xcf\x11\xe0"):
        return "excel"
    return "csv"


def detect_encoding(path: Path, sample_bytes: int = 4 << 20) -> str:
    """utf-8 (with or without BOM) or gb18030 (a superset of GBK); anything else is not a text tape."""
    with open(path, "rb") as handle:
        sample = handle.read(sample_bytes)
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8"
    if b"\x00" in sample:
        raise InputError(Problem(file=str(path), rule="not_text",
                                 message="file is not text (it contains NUL bytes); is it a binary file with a .csv name?",
                                 accepted="CSV in UTF-8, UTF-8 with BOM or GBK/GB18030; Parquet; Excel .xlsx"))
    for encoding in ("utf-8", "gb18030"):
        try:
            codecs.getincrementaldecoder(encoding)().decode(sample, final=len(sample) < sample_bytes)
            return encoding
        except UnicodeDecodeError:
            continue
    raise InputError(Problem(file=str(path), rule="not_text", message="file is neither UTF-8 nor GBK/GB18030 text",
                             accepted="CSV in UTF-8, UTF-8 with BOM or GBK/GB18030; Parquet; Excel .xlsx"))


def _transcode_to_utf8(path: Path, encoding: str, workdir: Path) -> Path:
    """Stream a GB18030 file into a UTF-8 copy (DuckDB reads UTF-8 only without extensions)."""
    target = workdir / (path.stem + ".utf8.csv")
    decoder = codecs.getincrementaldecoder(encoding)()
    with open(path, "rb") as src, open(target, "w", encoding="utf-8", newline="") as dst:
        for block in iter(lambda: src.read(16 << 20), b""):
            try:
                dst.write(decoder.decode(block))
            except UnicodeDecodeError as exc:
                raise InputError(Problem(file=str(path), rule="not_text",
                                         message=f"bytes that are not {encoding} text near byte {exc.start}",
                                         accepted="one encoding for the whole file: UTF-8 or GBK/GB18030")) from None
        dst.write(decoder.decode(b"", final=True))
    return target


def _csv_to_parquet(con: duckdb.DuckDBPyConnection, path: Path, workdir: Path) -> tuple[Path, list[Problem], str]:
    """Read a CSV as text columns into Parquet, keeping rows DuckDB rejected (ragged, bad bytes) as problems."""
    encoding = detect_encoding(path)
    readable = path if encoding == "utf-8" else _transcode_to_utf8(path, encoding, workdir)
    target = workdir / (path.stem + ".raw.parquet")
    keep_order = con.execute("SELECT current_setting('preserve_insertion_order')").fetchone()[0]
    con.execute("SET preserve_insertion_order = true")  # row numbers come from the copy's order
    try:
        con.execute(
            f"COPY (SELECT * FROM read_csv({sql_quote(str(readable))}, all_varchar=true, header=true,"
            " store_rejects=true, null_padding=false, auto_detect=true))"
            f" TO {sql_quote(str(target))} (FORMAT parquet)"
        )
        rejects = con.execute(
            "SELECT line, arg_min(error_type, column_idx), any_value(csv_line), arg_min(error_message, column_idx)"
            " FROM reject_errors GROUP BY line ORDER BY line"  # one problem per line, not per missing field
        ).fetchall()
    except duckdb.Error as exc:
        raise InputError(Problem(file=str(path), rule="unreadable", message=f"cannot be read as CSV: {_first_line(exc)}",
                                 accepted="comma-, semicolon- or tab-separated text with one header row")) from None
    finally:
        con.execute(f"SET preserve_insertion_order = {str(keep_order).lower()}")
    problems = [
        Problem(file=str(path), row=int(line), rule="ragged_row", message=f"{error_type.lower()}: {message}",
                value=(text or "")[:120], accepted="every row has as many fields as the header")
        for line, error_type, text, message in rejects
    ]
    return target, problems, encoding


def _excel_to_parquet(path: Path, workdir: Path, sheet: str | None) -> Path:
    """Read an Excel sheet as text cells (dates as ISO, whole numbers without '.0') into Parquet."""
    from python_calamine import CalamineWorkbook

    try:
        book = CalamineWorkbook.from_path(str(path))
        rows = (book.get_sheet_by_name(sheet) if sheet else book.get_sheet_by_index(0)).to_python(skip_empty_area=False)
    except Exception as exc:  # calamine raises its own error types for broken or protected files
        names = ""
        try:
            names = ", ".join(CalamineWorkbook.from_path(str(path)).sheet_names)
        except Exception:
            pass
        raise InputError(Problem(file=str(path), rule="unreadable", message=f"cannot be read as Excel: {exc}",
                                 accepted="an .xlsx/.xls workbook" + (f" with a sheet among: {names}" if names else ""))) from None
    while rows and all(cell in ("", None) for cell in rows[-1]):
        rows.pop()
    if not rows:
        raise InputError(Problem(file=str(path), rule="empty", message="the sheet is empty",
                                 accepted="a header row and at least one data row"))
    header = [_cell_text(c) or f"column_{i + 1}" for i, c in enumerate(rows[0])]
    body = rows[1:]
    columns = {name: pa.array([_cell_text(r[i]) if i < len(r) else None for r in body], pa.string())
               for i, name in enumerate(header)}
    target = workdir / (path.stem + ".raw.parquet")
    pq.write_table(pa.table(columns), target)
    return target


def _cell_text(cell) -> str | None:
    if cell is None or cell == "":
        return None
    if isinstance(cell, bool):
        return "true" if cell else "false"
    if isinstance(cell, dt.datetime):
        return cell.date().isoformat() if cell.time() == dt.time() else cell.isoformat(sep=" ")
    if isinstance(cell, dt.date):
        return cell.isoformat()
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell)


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0][:300]


def open_source(con: duckdb.DuckDBPyConnection, path: str | Path, columns: tuple[Column, ...], view: str,
                workdir: Path, sheet: str | None = None) -> Source:
    """Make ``view``: the file's contract columns under canonical names, plus ``_row``."""
    path = Path(path)
    if not path.exists():
        raise InputError(Problem(file=str(path), rule="missing_file", message="no such file"))
    if path.is_dir():
        raise InputError(Problem(file=str(path), rule="missing_file", message="is a folder, not a file",
                                 accepted="one CSV, Parquet or Excel file"))
    if path.stat().st_size == 0:
        raise InputError(Problem(file=str(path), rule="empty", message="file is empty",
                                 accepted="a header row and at least one data row"))
    fmt = detect_format(path)
    encoding, rejected = None, []
    if fmt == "csv":
        parquet, rejected, encoding = _csv_to_parquet(con, path, workdir)
    elif fmt == "excel":
        parquet = _excel_to_parquet(path, workdir, sheet)
    else:
        parquet = path
    try:
        described = con.execute(
            f"DESCRIBE SELECT * FROM read_parquet({sql_quote(str(parquet))})"
        ).fetchall()
    except duckdb.Error as exc:
        raise InputError(Problem(file=str(path), rule="unreadable", message=f"cannot be read as Parquet: {_first_line(exc)}",
                                 accepted="a Parquet file, a CSV or an Excel workbook")) from None
    lookup = header_lookup(columns)
    mapped: dict[str, tuple[str, str]] = {}
    ignored, problems = [], []
    for raw_name, raw_type, *_ in described:
        canonical = lookup.get(normalise_header(raw_name))
        if canonical is None:
            ignored.append(raw_name)
        elif canonical in mapped:
            problems.append(Problem(file=str(path), rule="duplicate_column", column=canonical, value=raw_name,
                                    message=f"column given twice (also as {mapped[canonical][0]!r})",
                                    accepted="each column once, in English or Chinese"))
        else:
            mapped[canonical] = (raw_name, raw_type)
    for col in columns:
        if col.required and col.name not in mapped:
            problems.append(Problem(file=str(path), row=1, column=col.name, rule="missing_column",
                                    message=f"required column missing ({col.name} / {col.alias})",
                                    accepted=f"a header named {col.name} or {col.alias}"))
    if problems:
        if ignored:
            problems.append(Problem(file=str(path), row=1, rule="unknown_columns", severity="warning",
                                    message="headers not in the contract: " + ", ".join(map(str, ignored[:30]))))
        raise InputError(problems)
    # Record k of any format is row k + 1, as in a spreadsheet with one header row; for a CSV,
    # lines DuckDB rejected are skipped in the Parquet copy, so later rows shift back into place.
    row_sql = "file_row_number + 2"
    if rejected:
        shifts = [line - 2 - i for i, line in enumerate(p.row for p in rejected)]
        row_sql += f" + len(list_filter({shifts}, lambda s: s <= file_row_number))"
    select = ", ".join(f"{sql_ident(raw)} AS {name}" for name, (raw, _) in mapped.items())
    con.execute(
        f"CREATE OR REPLACE VIEW {view} AS SELECT CAST({row_sql} AS BIGINT) AS _row, {select}"
        f" FROM read_parquet({sql_quote(str(parquet))}, file_row_number=true)"
    )
    n_rows = con.execute(f"SELECT count(*) FROM {view}").fetchone()[0]
    if n_rows == 0:
        raise InputError(rejected + [Problem(file=str(path), rule="empty", message="no data rows below the header",
                                             accepted="a header row and at least one data row")])
    spellings = {}
    for col in columns:
        if col.kind in ("enum", "bool") and col.name in mapped and is_text_type(mapped[col.name][1]):
            values = [r[0] for r in con.execute(
                f"SELECT DISTINCT {col.name} FROM {view} WHERE {col.name} IS NOT NULL LIMIT {MAX_SPELLINGS + 1}"
            ).fetchall()]
            if len(values) <= MAX_SPELLINGS:
                spellings[col.name] = values
    return Source(path=path, fmt=fmt, encoding=encoding, raw_view=view,
                  columns={name: typ for name, (_, typ) in mapped.items()}, ignored=ignored, rejected=rejected,
                  spellings=spellings)


# ---------------------------------------------------------------- normalisation

MAX_SPELLINGS = 1000  # distinct raw values of an enum or yes/no column mapped in Python, not per row
NUMERIC_TYPES = ("DOUBLE", "FLOAT", "REAL")
INTEGER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
                 "UBIGINT")
DATE_TYPES = ("DATE", "TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S", "TIMESTAMP WITH TIME ZONE")


def is_text_type(raw_type: str) -> bool:
    return raw_type.upper().startswith("VARCHAR")


def _is_numeric(raw_type: str) -> bool:
    upper = raw_type.upper()
    return upper in NUMERIC_TYPES or upper.startswith("DECIMAL")


def _trimmed(raw: str) -> str:
    return f"nullif(trim(CAST({raw} AS VARCHAR)), '')"


def spelling_map(col: Column, values: list[str]) -> dict[str, object]:
    """Each raw spelling present in the file mapped to its value (enum code or bool); unknown ones to None."""
    if col.kind == "enum":
        lookup = enum_lookup(col)
        return {v: lookup.get(normalise_header(v)) for v in values}
    truth = {s: True for s in TRUE_SPELLINGS} | {s: False for s in FALSE_SPELLINGS}
    return {v: truth.get(normalise_header(v)) for v in values}


def _mapped(raw: str, mapping: dict[str, object]) -> str:
    """CASE over the spellings actually present; the raw column itself when they are already the codes."""
    if all(k == v for k, v in mapping.items()):
        return raw
    whens = " ".join(f"WHEN {sql_quote(k)} THEN {'NULL' if v is None else sql_quote(v) if isinstance(v, str) else str(v).lower()}"
                     for k, v in sorted(mapping.items()))
    return f"CASE {raw} {whens} END"


def normalised_sql(col: Column, raw: str, raw_type: str, spellings: list[str] | None = None,
                   trimmed: bool = False) -> str:
    """SQL turning the raw column into the contract's type; NULL where the value cannot be read.

    Typed Parquet columns pass through with a cast; text is parsed. For enum and yes/no text
    columns with few distinct values (``spellings``), the mapping is decided once per spelling;
    text known to hold no blank or space-padded value (``trimmed``) is used as it is.
    """
    numeric, integral = _is_numeric(raw_type), raw_type.upper() in INTEGER_TYPES
    text = _trimmed(raw)
    if col.kind == "text":
        if numeric:
            return (f"CASE WHEN {raw} = floor({raw}) THEN CAST(CAST({raw} AS HUGEINT) AS VARCHAR) "
                    f"ELSE CAST({raw} AS VARCHAR) END")
        return raw if trimmed and is_text_type(raw_type) else text
    if col.kind == "date":
        if raw_type.upper() in DATE_TYPES:
            return f"CAST({raw} AS DATE)"
        formats = list(DATE_FORMATS) + ["%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y年%m月%d日"]
        tries = ", ".join(f"try_strptime({text}, {sql_quote(f)})" for f in formats)
        return f"CAST(COALESCE({tries}) AS DATE)"
    if col.kind in ("number", "integer"):
        if numeric or integral:
            value = f"CAST({raw} AS DOUBLE)"
        else:
            strip = "[,，\\s¥￥%]" if col.name == "rate_pct" else "[,，\\s¥￥]"
            value = f"try_cast(regexp_replace({text}, {sql_quote(strip)}, '', 'g') AS DOUBLE)"
        if not integral:
            value = f"CASE WHEN isfinite({value}) THEN {value} END"
        if col.kind == "integer":
            return f"CAST({raw} AS BIGINT)" if integral else f"CASE WHEN {value} = floor({value}) THEN CAST({value} AS BIGINT) END"
        return value
    if col.kind == "bool":
        if raw_type.upper() == "BOOLEAN":
            return raw
        if numeric or integral:
            return f"CASE WHEN {raw} = 1 THEN true WHEN {raw} = 0 THEN false END"
        if spellings is not None:
            return _mapped(raw, spelling_map(col, spellings))
        low = f"lower({text})"
        return (f"CASE WHEN {low} IN ({', '.join(map(sql_quote, TRUE_SPELLINGS))}) THEN true "
                f"WHEN {low} IN ({', '.join(map(sql_quote, FALSE_SPELLINGS))}) THEN false END")
    if col.kind == "enum":
        if spellings is not None and is_text_type(raw_type):
            return _mapped(raw, spelling_map(col, spellings))
        key_sql = f"lower(replace(replace({text}, ' ', ''), '　', ''))"
        whens = " ".join(f"WHEN {sql_quote(k)} THEN {sql_quote(v)}" for k, v in sorted(enum_lookup(col).items()))
        return f"CASE {key_sql} {whens} END"
    raise ValueError(f"unknown column kind {col.kind}")


def pseudonym_sql(value: str, key: str | None = None) -> str:
    """Keyed hash of a borrower id (SHA-256 of key and id, 20 hex digits): the only form analyses see."""
    return f"substr(sha256({sql_quote(pseudonym_key(key) + '|')} || {value}), 1, 20)"


SQL_TYPES = {"text": "VARCHAR", "date": "DATE", "number": "DOUBLE", "integer": "BIGINT", "bool": "BOOLEAN",
             "enum": "VARCHAR"}


def normalised_select(source: Source, columns: tuple[Column, ...]) -> str:
    """SELECT list of every contract column (absent optional columns as typed NULLs), plus _row."""
    parts = ["_row"]
    for col in columns:
        if col.name in source.columns:
            trimmed = source.untrimmed is not None and col.name not in source.untrimmed
            expr = normalised_sql(col, col.name, source.columns[col.name], source.spellings.get(col.name), trimmed)
            parts.append(f"{expr} AS {col.name}")
        else:
            parts.append(f"CAST(NULL AS {SQL_TYPES[col.kind]}) AS {col.name}")
    return ", ".join(parts)


def make_workdir() -> Path:
    """A private scratch folder for converted copies; removed by the owner of the tape."""
    return Path(tempfile.mkdtemp(prefix="pucredit-"))

