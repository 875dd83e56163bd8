"""Read a loan tape or a totals file into DuckDB (docs/data-contract.md §4, §1.2).

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
import csv
import datetime as dt
import hashlib
import itertools
import os
import re
import secrets
import shutil
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from pucredit.ownership import abandoned, owner
from pucredit.contract.errors import InputError, Problem, shorten
from pucredit.engine.sql import sql_ident, sql_quote
from pucredit.contract.schema import (
    DATE_FORMATS,
    FALSE_SPELLINGS,
    NUMBER_PATTERN,
    TRUE_SPELLINGS,
    YEAR_MAX,
    YEAR_MIN,
    Column,
    enum_lookup,
    header_lookup,
    normalise_header,
    normalise_value,
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
    unreadable: set[str] | None = None  # columns with a value that did not read as its kind (None: not yet known)


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
    """utf-8 (with or without BOM) or gb18030 (a superset of GBK); anything else is not a text tape.

    Decided on the first ``sample_bytes``; the whole file is checked for NUL bytes. A BOM followed by
    bytes that are not UTF-8, UTF-8 text with stray bytes, and bytes that read as GB18030 only as
    garble (Latin-1, Windows-1252, UTF-8 with a bad byte) are errors, not guesses.
    """
    with open(path, "rb") as handle:
        sample = handle.read(sample_bytes)
    _refuse_nul(path, sample)
    whole = len(sample) < sample_bytes
    text, bad_at = _decode(sample, "utf-8-sig", whole)
    if bad_at is None:
        return "utf-8"
    if sample.startswith(codecs.BOM_UTF8):
        raise _not_text(path, f"starts with a UTF-8 byte-order mark but holds bytes that are not UTF-8 near byte "
                              f"{bad_at:,} (GBK text saved with a BOM?)")
    if 2 * text.count("\ufffd") < _non_ascii(text):  # mostly valid UTF-8: stray bytes, not another encoding
        raise _not_text(path, f"UTF-8 text with bytes that are not UTF-8 near byte {bad_at:,} (mixed encodings)")
    text, bad_at = _decode(sample, "gb18030", whole)
    if bad_at is not None:
        raise _not_text(path, "file is neither UTF-8 nor GBK/GB18030 text")
    uncommon = len(text.encode("gb2312", "replace")) - len(text.encode("gb2312", "ignore"))
    if 2 * uncommon > _non_ascii(text):  # real GBK text is nearly all in GB2312's common characters
        raise _not_text(path, f"read as GBK/GB18030, {uncommon:,} of its {_non_ascii(text):,} non-ASCII characters "
                              "are rare or private-use ones, as when Latin-1 or Windows-1252 bytes are misread")
    return "gb18030"


def _decode(sample: bytes, encoding: str, whole: bool) -> tuple[str, int | None]:
    """The sample decoded (bad bytes replaced) and the offset of its first bad byte, or None."""
    try:
        return codecs.getincrementaldecoder(encoding)().decode(sample, final=whole), None
    except UnicodeDecodeError as exc:
        return codecs.getincrementaldecoder(encoding)("replace").decode(sample, final=whole), exc.start


def _non_ascii(text: str) -> int:
    return len(text) - len(text.encode("ascii", "ignore"))


def _not_text(path: Path, message: str) -> InputError:
    return InputError(Problem(file=str(path), rule="not_text", message=message,
                              accepted="CSV in one encoding (UTF-8, UTF-8 with BOM or GBK/GB18030); Parquet; Excel .xlsx"))


def _refuse_nul(path: Path, sample: bytes) -> None:
    """A NUL byte anywhere in a CSV, also beyond the sample, means it is not text."""
    offset, lines = 0, 0
    with open(path, "rb") as handle:
        handle.seek(len(sample))
        for block in itertools.chain([sample], iter(lambda: handle.read(16 << 20), b"")):
            at = block.find(b"\x00")
            if at >= 0:
                line = lines + block.count(b"\n", 0, at) + 1
                raise _not_text(path, f"file is not text: a NUL byte on line {line:,} (byte {offset + at:,}); "
                                      "is it a binary file with a .csv name?")
            offset, lines = offset + len(block), lines + block.count(b"\n")


def _transcode_to_utf8(path: Path, encoding: str, target: Path) -> Path:
    """Stream a GB18030 file into a UTF-8 copy (DuckDB reads UTF-8 only without extensions)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0
    with open(path, "rb") as src, open(target, "w", encoding="utf-8", newline="") as dst:
        for block in iter(lambda: src.read(16 << 20), b""):
            try:
                dst.write(decoder.decode(block))
            except UnicodeDecodeError as exc:
                raise InputError(Problem(file=str(path), rule="not_text",
                                         message=f"bytes that are not {encoding} text near byte {offset + exc.start:,}",
                                         accepted="one encoding for the whole file: UTF-8 or GBK/GB18030")) from None
            offset += len(block)
        dst.write(decoder.decode(b"", final=True))
    return target


MAX_LINE_BYTES = 2 << 20  # a CSV line beyond this is refused (DuckDB's own limit, named here for the message)
REJECTED_LINES = {  # DuckDB's error type of a rejected line -> what the problem says (never the line itself)
    "MISSING COLUMNS": "fewer fields than the header",
    "TOO MANY COLUMNS": "more fields than the header",
    "UNQUOTED VALUE": "a quote inside an unquoted field",
    "INVALID UNICODE": "bytes that are not UTF-8 (mixed encodings)",
    "LINE SIZE OVER MAXIMUM": f"longer than {MAX_LINE_BYTES:,} bytes",
}


def _csv_to_parquet(con: duckdb.DuckDBPyConnection, path: Path, workdir: Path,
                    view: str) -> tuple[Path, list[Problem], str, list[str] | None]:
    """Read a CSV as text columns into Parquet; lines DuckDB rejected become problems naming the line
    and its field count, never its content (docs/data-contract.md §13: no raw input line in a message). Returns the
    copy, those problems, the encoding and the header's fields as written."""
    encoding = detect_encoding(path)
    readable = path if encoding == "utf-8" else _transcode_to_utf8(path, encoding, workdir / f"{view}.utf8.csv")
    _refuse_blank_start(path, readable)
    target = workdir / f"{view}.parquet"
    keep_order = con.execute("SELECT current_setting('preserve_insertion_order')").fetchone()[0]
    con.execute("SET preserve_insertion_order = true")  # row numbers come from the copy's order
    try:
        con.execute(
            f"COPY (SELECT * FROM read_csv({sql_quote(str(readable))}, all_varchar=true, header=true, skip=0,"
            f" max_line_size={MAX_LINE_BYTES}, store_rejects=true, rejects_table='{view}_rejects',"
            f" rejects_scan='{view}_scans', null_padding=false, auto_detect=true))"
            f" TO {sql_quote(str(target))} (FORMAT parquet)"
        )
        rejects = con.execute(  # one problem per line, not per missing or extra field (column_idx counts them)
            "SELECT line, arg_min(error_type, column_idx), min(column_idx), max(column_idx)"
            f" FROM {view}_rejects GROUP BY line ORDER BY line"
        ).fetchall()
        n_columns = len(con.execute(f"DESCRIBE SELECT * FROM read_parquet({sql_quote(str(target))})").fetchall())
    except duckdb.Error as exc:
        if "Maximum line size" in str(exc):
            raise InputError(_long_line(path, readable)) from None
        raise InputError(Problem(file=str(path), rule="unreadable", message=f"cannot be read as CSV: {_first_line(exc)}",
                                 accepted="comma-, semicolon- or tab-separated text with one header row")) from None
    finally:
        con.execute(f"SET preserve_insertion_order = {str(keep_order).lower()}")
    problems = []
    for line, error_type, first, last in rejects:
        message = REJECTED_LINES.get(error_type, error_type.lower())
        if error_type in ("MISSING COLUMNS", "TOO MANY COLUMNS"):
            message += f" ({first if error_type == 'MISSING COLUMNS' else last} fields, the header has {n_columns})"
        problems.append(Problem(file=str(path), row=int(line), rule="ragged_row", message=message,
                                accepted="every row has as many fields as the header"))
    return target, problems + _blank_lines(path, readable), encoding, _csv_header(readable, n_columns)


def _blank_lines(path: Path, readable: Path) -> list[Problem]:
    """Empty lines below the header, which DuckDB skips: warnings at their own line, so that the rows
    after them keep their spreadsheet numbers (a line of spaces is a ragged row instead)."""
    lines: set[int] = set()
    newlines, carry = 0, b""  # newlines before ``carry``; carry: the previous block's last two bytes
    with open(readable, "rb") as handle:
        for block in iter(lambda: handle.read(16 << 20), b""):
            data, counted, at = carry + block, newlines, 0
            for match in re.finditer(rb"\n(?=\r?\n)", data):
                counted += data.count(b"\n", at, match.end())
                at = match.end()
                lines.add(counted + 1)  # the line after this newline is empty
            newlines += data.count(b"\n", 0, len(data) - 2 if len(data) > 2 else 0)
            carry = data[-2:] if len(data) > 2 else data
    if carry.endswith(b"\n"):  # blank lines at the very end shift nothing: not worth a warning
        last = newlines + carry.count(b"\n")
        while last in lines:
            lines.discard(last)
            last -= 1
    return [Problem(file=str(path), row=line, rule="blank_line", severity="warning", message="blank line, skipped")
            for line in sorted(lines)]


def _refuse_blank_start(path: Path, readable: Path) -> None:
    """A file of blank lines is empty; a blank first line is a missing header (DuckDB would skip it
    and number every row one off)."""
    with open(readable, "rb") as handle:
        first = handle.readline(MAX_LINE_BYTES).removeprefix(codecs.BOM_UTF8)
        if first.strip():
            return
        if any(block.strip() for block in iter(lambda: handle.read(16 << 20), b"")):
            raise InputError(Problem(file=str(path), row=1, rule="missing_column", message="row 1 is blank",
                                     accepted="the header as the first row"))
    raise InputError(Problem(file=str(path), rule="empty", message="the file holds only blank lines",
                             accepted="a header row and at least one data row"))


def _long_line(path: Path, readable: Path) -> Problem:
    """The problem for a line beyond MAX_LINE_BYTES, at its own line (DuckDB's message says line 1)."""
    line, length = 1, 0
    with open(readable, "rb") as handle:
        for block in iter(lambda: handle.read(16 << 20), b""):
            for i, part in enumerate(block.split(b"\n")):
                if i:  # a newline ends the line before this part
                    line, length = line + 1, 0
                length += len(part)
                if length > MAX_LINE_BYTES:
                    return Problem(file=str(path), row=line, rule="unreadable", message=REJECTED_LINES["LINE SIZE OVER MAXIMUM"],
                                   accepted="fields of ordinary length: is this a binary file or a broken export?")
    return Problem(file=str(path), rule="unreadable", message="a line is " + REJECTED_LINES["LINE SIZE OVER MAXIMUM"])


def _csv_header(path: Path, n_columns: int) -> list[str] | None:
    """The header's fields as written (DuckDB renames a repeated name, bank_id to bank_id_1): the split
    of the first row that gives DuckDB's number of columns, or None if none does."""
    for delimiter in (",", ";", "\t", "|"):
        with open(path, encoding="utf-8-sig", newline="") as handle:
            try:
                fields = next(csv.reader(handle, delimiter=delimiter), [])
            except csv.Error:  # a header field beyond the csv module's size limit
                return None
        if len(fields) == n_columns:
            return fields
    return None


def _excel_to_parquet(path: Path, target: Path, sheet: str | None) -> tuple[Path, list[str]]:
    """Read an Excel sheet as text cells (dates as ISO, whole numbers without '.0') into Parquet;
    returns the copy and the header as written (a repeated name stays repeated)."""
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
    columns = [pa.array([_cell_text(r[i]) if i < len(r) else None for r in body], pa.string())
               for i in range(len(header))]
    pq.write_table(pa.Table.from_arrays(columns, names=header), target)
    return target, header


def _cell_text(cell) -> str | None:
    if cell is None or cell == "":
        return None
    if isinstance(cell, bool):
        return "true" if cell else "false"
    if isinstance(cell, dt.datetime):
        return cell.date().isoformat() if cell.time() == dt.time() else cell.isoformat(sep=" ")
    if isinstance(cell, dt.date):
        return cell.isoformat()
    if isinstance(cell, float) and cell.is_integer() and abs(cell) < 2 ** 53:  # beyond, digits are lost: say so
        return str(int(cell))
    return str(cell)


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0][:300]


def _check_path(path: Path) -> None:
    """A regular, non-empty file; a missing file, a link loop, a folder or a device is a clear error."""
    try:
        info = path.stat()
    except OSError as exc:  # missing, dangling or looping symbolic link, no access to a folder
        raise InputError(Problem(file=str(path), rule="missing_file", message=f"cannot open: {exc.strerror or exc}",
                                 accepted="one CSV, Parquet or Excel file")) from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(Problem(file=str(path), rule="missing_file", message="is a folder, not a file",
                                 accepted="one CSV, Parquet or Excel file"))
    if not stat.S_ISREG(info.st_mode):
        raise InputError(Problem(file=str(path), rule="missing_file", message="not a regular file (a device or a pipe?)",
                                 accepted="one CSV, Parquet or Excel file"))
    if info.st_size == 0:
        raise InputError(Problem(file=str(path), rule="empty", message="file is empty",
                                 accepted="a header row and at least one data row"))


def _parquet_header(path: Path) -> tuple[list[str] | None, dict[str, str]]:
    """A Parquet file's column names as written, and the time zone of each zoned timestamp column."""
    try:
        schema = pq.read_schema(path)
    except (pa.ArrowException, OSError):  # DuckDB says what is wrong with the file
        return None, {}
    return schema.names, {f.name: f.type.tz for f in schema if pa.types.is_timestamp(f.type) and f.type.tz}


def wall_clock_sql(raw: str, zone: str) -> str:
    """A zoned timestamp as the wall-clock time in its own zone, so that a Shanghai midnight is that
    calendar day whatever the host's zone (docs/data-contract.md §17: timestamps with a zone)."""
    offset = re.fullmatch(r"([+-])(\d{2}):(\d{2})", zone)
    if offset:
        sign, hours, minutes = offset.groups()
        return f"(timezone('UTC', CAST({raw} AS TIMESTAMPTZ)) {sign} INTERVAL {int(hours) * 60 + int(minutes)} MINUTE)"
    return f"timezone({sql_quote(zone)}, CAST({raw} AS TIMESTAMPTZ))"


def open_source(con: duckdb.DuckDBPyConnection, path: str | Path, columns: tuple[Column, ...], view: str,
                workdir: Path, sheet: str | None = None) -> Source:
    """Make ``view``: the file's contract columns under canonical names, plus ``_row``."""
    path = Path(path)
    _check_path(path)
    encoding, rejected, zones = None, [], {}
    try:
        fmt = detect_format(path)
        if fmt == "csv":
            parquet, rejected, encoding, header = _csv_to_parquet(con, path, workdir, view)
        elif fmt == "excel":
            parquet, header = _excel_to_parquet(path, workdir / f"{view}.parquet", sheet)
        else:
            parquet = path
            header, zones = _parquet_header(path)
    except OSError as exc:
        raise InputError(Problem(file=str(path), rule="unreadable", message=f"cannot be read: {exc.strerror or exc}",
                                 accepted="a file this user may read")) from None
    try:
        described = con.execute(
            f"DESCRIBE SELECT * FROM read_parquet({sql_quote(str(parquet))})"
        ).fetchall()
        for zone in set(zones.values()):
            con.execute(f"SELECT {wall_clock_sql('TIMESTAMPTZ ' + sql_quote('2000-01-01 00:00:00+00'), zone)}")
    except duckdb.Error as exc:
        raise InputError(Problem(file=str(path), rule="unreadable", message=f"cannot be read as Parquet: {_first_line(exc)}",
                                 accepted="a Parquet file, a CSV or an Excel workbook")) from None
    if header is None or len(header) != len(described):
        header = [name for name, *_ in described]
    lookup = header_lookup(columns)
    mapped: dict[str, tuple[str, str, str]] = {}  # canonical -> (DuckDB's name, type, name as written)
    ignored, problems = [], []
    for (raw_name, raw_type, *_), written in zip(described, header):
        canonical = lookup.get(normalise_header(written))
        if canonical is None:
            ignored.append(shorten(written, 40))
        elif canonical in mapped:
            problems.append(Problem(file=str(path), row=1, rule="duplicate_column", column=canonical, value=written,
                                    message=f"column given twice (also as {shorten(mapped[canonical][2], 40)!r})",
                                    accepted="each column once, in English or Chinese"))
        else:
            mapped[canonical] = (raw_name, "TIMESTAMP" if written in zones else raw_type, written)
    if not mapped:  # row 1 is not a header: say nothing of what it holds (it may be data or another file)
        raise InputError(Problem(file=str(path), row=1, rule="missing_column",
                                 message=f"none of the contract's columns in row 1 ({len(header)} fields): is this "
                                         "the right file, with its header as the first row?",
                                 accepted="the headers of docs/data-contract.md, in English or Chinese"))
    for col in columns:
        if col.required and col.name not in mapped:
            problems.append(Problem(file=str(path), row=1, column=col.name, rule="missing_column",
                                    message=f"required column missing ({col.name} / {col.alias})",
                                    accepted=f"a header named {col.name} or {col.alias}"))
    if problems:
        if ignored:
            problems.append(Problem(file=str(path), row=1, rule="unknown_columns", severity="warning",
                                    message="headers not in the contract: " + ", ".join(ignored[:30])))
        raise InputError(problems)
    # Record k of any format is row k + 1, as in a spreadsheet with one header row; for a CSV,
    # lines DuckDB rejected or skipped (blank) are not in the Parquet copy, so later rows shift back into place.
    row_sql = "file_row_number + 2"
    if rejected:
        shifts = [line - 2 - i for i, line in enumerate(sorted(p.row for p in rejected))]
        row_sql += f" + len(list_filter({shifts}, lambda s: s <= file_row_number))"
    select = ", ".join(f"{wall_clock_sql(sql_ident(raw), zones[written]) if written in zones else sql_ident(raw)} AS {name}"
                       for name, (raw, _, written) in mapped.items())
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
                  columns={name: typ for name, (_, typ, _) in mapped.items()}, ignored=ignored, rejected=rejected,
                  spellings=spellings)


# ---------------------------------------------------------------- normalisation

MAX_SPELLINGS = 1000  # distinct raw values of an enum or yes/no column mapped in Python, not per row
NUMERIC_TYPES = ("DOUBLE", "FLOAT", "REAL")
EXACT_BELOW = {"DOUBLE": 2 ** 53, "FLOAT": 2 ** 24, "REAL": 2 ** 24}  # every whole number below is exact
BIGINT_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER")
INTEGER_TYPES = BIGINT_TYPES + ("HUGEINT", "UBIGINT", "UHUGEINT")
DATE_TYPES = ("DATE", "TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S", "TIMESTAMP WITH TIME ZONE")


def is_text_type(raw_type: str) -> bool:
    return raw_type.upper().startswith("VARCHAR")


def _is_numeric(raw_type: str) -> bool:
    upper = raw_type.upper()
    return upper in NUMERIC_TYPES or upper.startswith("DECIMAL")


def trimmed_text(raw: str) -> str:
    """A raw value as text without the spaces ``trim`` removes (ASCII and Unicode space separators such as the
    full-width U+3000), NULL when blank. ``trim`` copies every string, so it runs only on the values it can
    change: empty or starting below '!', ending in a space, or holding a non-ASCII character."""
    text = f"CAST({raw} AS VARCHAR)"
    changeable = f"{text} < '!' OR suffix({text}, ' ') OR strlen({text}) <> length({text})"
    return f"CASE WHEN {changeable} THEN nullif(trim({text}), '') ELSE {text} END"


def spelling_map(col: Column, values: list[str]) -> dict[str, object]:
    """Each raw spelling present in the file mapped to its value (enum code or bool); unknown ones to None."""
    if col.kind == "enum":
        lookup = enum_lookup(col)
        return {v: lookup.get(normalise_value(v)) for v in values}
    truth = {s: True for s in TRUE_SPELLINGS} | {s: False for s in FALSE_SPELLINGS}
    return {v: truth.get(normalise_value(v)) for v in values}


def _mapped(raw: str, mapping: dict[str, object]) -> str:
    """CASE over the spellings actually present; the raw column itself when they are already the codes."""
    if all(k == v for k, v in mapping.items()):
        return raw
    whens = " ".join(f"WHEN {sql_quote(k)} THEN {'NULL' if v is None else sql_quote(v) if isinstance(v, str) else str(v).lower()}"
                     for k, v in sorted(mapping.items()))
    return f"CASE {raw} {whens} END"


def normalised_sql(col: Column, raw: str, raw_type: str, spellings: list[str] | None = None,
                   trimmed: bool = False, readable: bool = False) -> str:
    """SQL turning the raw column into the contract's type; NULL where the value cannot be read.

    Typed Parquet columns pass through with a cast; text is parsed. For enum and yes/no text
    columns with few distinct values (``spellings``), the mapping is decided once per spelling;
    text known to hold no blank or space-padded value (``trimmed``), and typed dates and numbers known to read
    (``readable``: the row scan found none out of range or not finite), are used as they are. A number in
    text follows NUMBER_PATTERN (docs/data-contract.md §17 numbers); a date outside YEAR_MIN..YEAR_MAX, or a whole
    number beyond BIGINT, is NULL (unreadable), never an error of DuckDB's.
    """
    upper = raw_type.upper()
    numeric, integral = _is_numeric(raw_type), upper in INTEGER_TYPES
    text = trimmed_text(raw)
    if readable and (col.kind, upper) in (("date", "DATE"), ("number", "DOUBLE")):
        return raw  # every value reads as itself: no CASE, so filters on the column reach the Parquet scan
    if col.kind == "text":
        if numeric:  # a code stored as a number: whole numbers without '.0' where they are exact
            return (f"CASE WHEN {raw} = floor({raw}) AND abs({raw}) < {EXACT_BELOW.get(upper, 1e38)}"
                    f" THEN CAST(CAST({raw} AS HUGEINT) AS VARCHAR) ELSE CAST({raw} AS VARCHAR) END")
        return raw if trimmed and is_text_type(raw_type) else text
    if col.kind == "date":
        if upper in DATE_TYPES:
            value = f"CAST({raw} AS DATE)"
        else:
            formats = list(DATE_FORMATS) + ["%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y年%m月%d日"]
            tries = ", ".join(f"try_strptime({text}, {sql_quote(f)})" for f in formats)
            value = f"CAST(COALESCE({tries}) AS DATE)"
        return f"CASE WHEN year({value}) BETWEEN {YEAR_MIN} AND {YEAR_MAX} THEN {value} END"
    if col.kind in ("number", "integer"):
        if integral:
            return f"TRY_CAST({raw} AS BIGINT)" if col.kind == "integer" else f"CAST({raw} AS DOUBLE)"
        if numeric:
            value = f"CAST({raw} AS DOUBLE)"
        else:
            pattern = NUMBER_PATTERN + ("%?" if col.name == "rate_pct" else "")
            value = (f"CASE WHEN regexp_full_match({text}, {sql_quote(pattern)})"
                     f" THEN try_cast(regexp_replace({text}, '[^0-9.eE+-]', '', 'g') AS DOUBLE) END")
        value = f"CASE WHEN isfinite({value}) THEN {value} END"
        if col.kind == "integer":
            return f"CASE WHEN {value} = floor({value}) AND abs({value}) < 9e18 THEN CAST({value} AS BIGINT) END"
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
            readable = source.unreadable is not None and col.name not in source.unreadable
            expr = normalised_sql(col, col.name, source.columns[col.name], source.spellings.get(col.name), trimmed,
                                  readable)
            parts.append(f"{expr} AS {col.name}")
        else:
            parts.append(f"CAST(NULL AS {SQL_TYPES[col.kind]}) AS {col.name}")
    return ", ".join(parts)


WORKDIR_PREFIX = "pucredit-"


def make_workdir() -> Path:
    """A private scratch folder for converted copies (they hold raw ids), named after its owner; removed by the
    owner of the tape on every exit path, and by the next run on this host if the owner was killed."""
    remove_stale_workdirs()
    return Path(tempfile.mkdtemp(prefix=f"{WORKDIR_PREFIX}{owner()}-"))


def remove_stale_workdirs() -> None:
    """Scratch folders of this host's tape readers that were killed (never a live one's, nor another host's)."""
    for folder in Path(tempfile.gettempdir()).glob(f"{WORKDIR_PREFIX}*.*.*-*"):
        token = folder.name[len(WORKDIR_PREFIX):].rpartition("-")[0]
        if folder.is_dir() and abandoned(token):
            shutil.rmtree(folder, ignore_errors=True)

