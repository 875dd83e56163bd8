"""Hostile inputs (issue 13), generated on demand and never committed as files.

Each case writes one input into a folder and says what validation must report: the rule and, where
it applies, the row (header = row 1) and the column. Every tape carries the borrower id SECRET, which
no message may print (docs/data-contract.md §13). ``python -m tests.hostile.corpus DIR`` writes the whole corpus
into DIR, to try the commands by hand.
"""
from __future__ import annotations

import datetime as dt
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from tests.conftest import tape_rows, typed_table, write_csv

SECRET = "KH-SECRET-7731"  # a raw borrower id: it must never appear in any output
GOOD = [
    dict(as_of="2024-05-31", loan_id="L1", borrower_id=SECRET, origination_date="2024-05-10", is_first_loan="true"),
    dict(as_of="2024-06-30", loan_id="L1", borrower_id=SECRET, origination_date="2024-05-10", is_first_loan="true"),
    dict(as_of="2024-06-30", loan_id="L2", borrower_id="B2", origination_date="2024-06-03"),
]
ROW = 4  # GOOD[2] is spreadsheet row 4: the row each value case changes


@dataclass(frozen=True)
class Case:
    name: str
    write: Callable[[Path], Path]  # writes the input into a folder and returns its path
    rule: str
    row: int | None = None
    column: str | None = None


def changed(**change) -> list[dict]:
    rows = [dict(r) for r in GOOD]
    rows[2].update(change)
    return rows


def csv_case(name: str, change: dict, rule: str, column: str) -> Case:
    """A CSV tape whose row 4 has ``change``; ``rule`` must name that row and ``column``."""
    return Case(name, lambda d: write_csv(d / f"{name}.csv", changed(**change)), rule, ROW, column)


def parquet_case(name: str, column: str, array: pa.Array, rule: str) -> Case:
    """A typed Parquet tape whose ``column`` is ``array`` (three rows, the last one hostile)."""
    def write(folder: Path) -> Path:
        table = typed_table(GOOD)
        table = table.set_column(table.schema.get_field_index(column), column, array)
        pq.write_table(table, folder / f"{name}.parquet")
        return folder / f"{name}.parquet"
    return Case(name, write, rule, ROW, column)


def text_case(name: str, make: Callable[[str], bytes], rule: str, row: int | None = None,
              column: str | None = None) -> Case:
    """A file made from the good CSV's text by ``make`` (encodings, bytes, broken structure)."""
    def write(folder: Path) -> Path:
        text = write_csv(folder / f"{name}.good.csv", GOOD).read_text(encoding="utf-8")
        (folder / f"{name}.good.csv").unlink()
        (folder / f"{name}.csv").write_bytes(make(text))
        return folder / f"{name}.csv"
    return Case(name, write, rule, row, column)


def _lines(text: str) -> list[str]:
    return text.splitlines()


def _joined(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode("utf-8")


def _zh(text: str) -> str:
    return text.replace("small_micro_enterprise", "小微企业").replace("credit", "信用").replace("normal", "正常")


def _duplicate_header(text: str, second: str) -> bytes:
    lines = _lines(text)
    return _joined([lines[0] + f",{second}"] + [line + ",T1" for line in lines[1:]])


def _insert(text: str, index: int, line: str) -> bytes:
    lines = _lines(text)
    lines.insert(index, line)
    return _joined(lines)


def _huge_field_on_row_6(text: str) -> bytes:
    lines = _lines(text)
    lines += [lines[3].replace("L2", "L3"), lines[3].replace("L2", "L" + "9" * (3 << 20)), lines[3].replace("L2", "L4")]
    return _joined(lines)  # header, rows 2-5, the 3 MB field on row 6, row 7


def _nul_after_4_mb(text: str) -> bytes:
    lines = _lines(text)
    body = [lines[3].replace("L2", f"M{i}") for i in range(40_000)]  # about 5 MB
    return _joined(lines + body + [lines[3].replace("L2", "L\x002")])


def _headerless(text: str) -> bytes:
    return _joined(_lines(text)[1:])  # the first data row, with SECRET, is where the header should be


def _dates_in_shanghai(folder: Path, name: str, rows: list[dict]) -> Path:
    """A typed Parquet tape whose dates are midnight timestamps in Asia/Shanghai (UTC+8)."""
    from zoneinfo import ZoneInfo

    table = typed_table(rows)
    for column in ("as_of", "origination_date", "maturity_date"):
        days = table.column(column).to_pylist()
        stamps = [dt.datetime.combine(day, dt.time(), ZoneInfo("Asia/Shanghai")) for day in days]
        table = table.set_column(table.schema.get_field_index(column), column,
                                 pa.array(stamps, pa.timestamp("us", tz="Asia/Shanghai")))
    pq.write_table(table, folder / f"{name}.parquet")
    return folder / f"{name}.parquet"


def _repeated_parquet_column(folder: Path) -> Path:
    table = typed_table(GOOD)
    table = pa.Table.from_arrays(table.columns + [table.column("bank_id")], names=table.column_names + ["bank_id"])
    pq.write_table(table, folder / "repeated_column.parquet")
    return folder / "repeated_column.parquet"


def _excel_number_loan_id(folder: Path) -> Path:
    frame = pd.DataFrame(tape_rows(GOOD)).astype(object)
    frame.loc[2, "loan_id"] = 6222020200012345678  # a number cell: Excel keeps 15 digits
    frame.to_excel(folder / "loan_id_number_cell.xlsx", index=False)
    return folder / "loan_id_number_cell.xlsx"


def _repeated_excel_column(folder: Path) -> Path:
    frame = pd.DataFrame(tape_rows(GOOD))
    frame = pd.concat([frame, frame[["bank_id"]]], axis=1)  # two columns named bank_id
    frame.to_excel(folder / "repeated_column.xlsx", index=False)
    return folder / "repeated_column.xlsx"


# Values that read silently wrong before (a number off by 100, a date in year 1, a Ｙ as yes).
MISREADS = [
    csv_case("decimal_comma_rate", {"rate_pct": "4,35"}, "bad_number", "rate_pct"),
    csv_case("decimal_comma_balance", {"balance_cny": "6955,09"}, "bad_number", "balance_cny"),
    csv_case("separators_not_in_threes", {"amount_cny": "1,2,3,4"}, "bad_number", "amount_cny"),
    csv_case("underscore_separator", {"amount_cny": "1_000"}, "bad_number", "amount_cny"),
    csv_case("mixed_separators", {"credit_line_cny": "1,250 000"}, "bad_number", "credit_line_cny"),
    csv_case("european_number", {"balance_cny": "1.250.000,50"}, "bad_number", "balance_cny"),
    csv_case("full_width_yes", {"is_agri": "Ｙ"}, "bad_bool", "is_agri"),
    csv_case("full_width_digits", {"amount_cny": "１０００"}, "bad_number", "amount_cny"),
    csv_case("full_width_enum", {"guarantee": "ｃｒｅｄｉｔ"}, "bad_enum", "guarantee"),
    csv_case("full_width_bank_id", {"bank_id": "Ｔ1"}, "bad_bank_id", "bank_id"),
    csv_case("year_0000", {"maturity_date": "0000-06-30"}, "bad_date", "maturity_date"),
    csv_case("year_0001", {"origination_date": "0001-01-01"}, "bad_date", "origination_date"),
    csv_case("year_9999", {"maturity_date": "9999-12-31"}, "bad_date", "maturity_date"),
    csv_case("future_snapshot", {"as_of": "2099-12-31"}, "future_snapshot", "as_of"),
    csv_case("bank_id_escapes", {"bank_id": "../../escaped"}, "bad_bank_id", "bank_id"),
    csv_case("bank_id_absolute", {"bank_id": "/etc"}, "bad_bank_id", "bank_id"),
    csv_case("bank_id_underscore", {"bank_id": "_peers"}, "bad_bank_id", "bank_id"),
    csv_case("bank_id_300_chars", {"bank_id": "B" * 300}, "bad_bank_id", "bank_id"),
]

# Values that validation passed and that crashed later (DuckDB conversions, DECIMAL sums).
HUGE = [
    csv_case("days_past_due_1e30", {"days_past_due": "1e30"}, "bad_integer", "days_past_due"),
    csv_case("days_past_due_200_years", {"days_past_due": "73050"}, "out_of_range", "days_past_due"),
    csv_case("balance_1e36", {"balance_cny": "1e36"}, "out_of_range", "balance_cny"),
    csv_case("amount_1e300", {"amount_cny": "1e300"}, "out_of_range", "amount_cny"),
    csv_case("rate_1e12", {"rate_pct": "1e12"}, "out_of_range", "rate_pct"),
    csv_case("credit_line_1e300", {"credit_line_cny": "1e300"}, "out_of_range", "credit_line_cny"),
    parquet_case("days_past_due_uint64_max", "days_past_due", pa.array([0, 0, 2 ** 64 - 1], pa.uint64()),
                 "bad_integer"),
    parquet_case("loan_id_double_1e300", "loan_id", pa.array([1.0, 1.0, 1e300]), "out_of_range"),
    parquet_case("loan_id_double_19_digits", "loan_id", pa.array([1.0, 1.0, 6222020200012345678.0]), "out_of_range"),
    parquet_case("borrower_id_double_1e300", "borrower_id", pa.array([1.0, 1.0, 1e300]), "out_of_range"),
    csv_case("loan_id_as_excel_shows_it", {"loan_id": "6.22202E+18"}, "out_of_range", "loan_id"),
    csv_case("borrower_id_as_excel_shows_it", {"borrower_id": "6.22202E+18"}, "out_of_range", "borrower_id"),
    Case("loan_id_excel_number_cell", _excel_number_loan_id, "out_of_range", ROW, "loan_id"),
    parquet_case("balance_double_1e300", "balance_cny", pa.array([1.0, 1.0, 1e300]), "out_of_range"),
    parquet_case("rate_double_1e12", "rate_pct", pa.array([4.0, 4.0, 1e12]), "out_of_range"),
]

# Files that cannot be read as they are: the reason, at the right row, and nothing of their content.
FILES = [
    text_case("bom_then_gbk", lambda t: b"\xef\xbb\xbf" + _zh(t).encode("gbk"), "not_text"),
    text_case("latin1", lambda t: t.replace("T1", "Zürich").encode("latin-1"), "not_text"),
    text_case("utf8_with_a_gbk_byte", lambda t: _zh(t).encode("utf-8") + "备注".encode("gbk") + b"\n", "not_text"),
    text_case("nul_after_4_mb", _nul_after_4_mb, "not_text"),
    text_case("only_newlines", lambda t: b"\n" * 50, "empty"),
    text_case("only_blank_lines", lambda t: b" \r\n\t\r\n\r\n", "empty"),
    text_case("blank_first_line", lambda t: b"\n" + t.encode(), "missing_column", row=1),
    text_case("huge_field_on_row_6", _huge_field_on_row_6, "unreadable", row=6),
    text_case("repeated_header", lambda t: _duplicate_header(t, "bank_id"), "duplicate_column", 1, "bank_id"),
    text_case("repeated_header_other_case", lambda t: _duplicate_header(t, "BANK_ID"), "duplicate_column", 1, "bank_id"),
    Case("repeated_parquet_column", _repeated_parquet_column, "duplicate_column", 1, "bank_id"),
    Case("repeated_excel_column", _repeated_excel_column, "duplicate_column", 1, "bank_id"),
    text_case("short_row", lambda t: _insert(t, 2, f"T1,2024-05-31,L7,{SECRET}"), "ragged_row", row=3),
    text_case("long_row", lambda t: _insert(t, 2, _lines(t)[1] + f",{SECRET},x"), "ragged_row", row=3),
    text_case("headerless", _headerless, "missing_column", row=1),
    text_case("not_a_tape", lambda t: f"# Notes of {SECRET}\n\nSome text, with a comma\n".encode(), "missing_column", row=1),
]

CASES = MISREADS + HUGE + FILES


def write_all(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = [case.write(folder) for case in CASES]
    paths.append(_dates_in_shanghai(folder, "dates_in_shanghai", GOOD))
    return paths


if __name__ == "__main__":
    for path in write_all(Path(sys.argv[1] if len(sys.argv) > 1 else "hostile-corpus")):
        print(path)
