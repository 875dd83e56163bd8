"""Hand-made tapes for unit tests: rows given as dicts over contract defaults."""
from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from pucredit.contract.schema import TAPE_COLUMNS

DEFAULTS = {
    "bank_id": "T1",
    "borrower_type": "small_micro_enterprise",
    "is_business": "true",
    "credit_line_cny": "1000000",
    "amount_cny": "500000",
    "balance_cny": "500000",
    "origination_date": "2023-06-15",
    "maturity_date": "2026-06-15",
    "rate_pct": "4.0",
    "is_agri": "false",
    "is_first_loan": "false",
    "is_renewal": "false",
    "guarantee": "credit",
    "risk_class": "normal",
    "days_past_due": "0",
    "county_code": "110101",
}
HEADER = [c.name for c in TAPE_COLUMNS if c.required]


def tape_rows(rows: list[dict]) -> list[dict]:
    """Fill every required column from DEFAULTS; loan_id and borrower_id must be given."""
    out = []
    for row in rows:
        full = {**DEFAULTS, **{k: str(v) for k, v in row.items()}}
        out.append(full)
    return out


def write_csv(path: Path, rows: list[dict], header: list[str] | None = None, encoding: str = "utf-8") -> Path:
    rows = tape_rows(rows)
    header = header or HEADER + [k for k in rows[0] if k not in HEADER]
    with open(path, "w", newline="", encoding=encoding) as handle:
        writer = csv.DictWriter(handle, fieldnames=header, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def typed_table(rows: list[dict]) -> pa.Table:
    """The rows as a Parquet table with typed columns (dates, numbers, booleans)."""
    frame = pd.DataFrame(tape_rows(rows))
    for col in TAPE_COLUMNS:
        if col.name not in frame:
            continue
        if col.kind == "date":
            frame[col.name] = pd.to_datetime(frame[col.name]).dt.date
        elif col.kind in ("number", "integer"):
            frame[col.name] = pd.to_numeric(frame[col.name])
        elif col.kind == "bool":
            frame[col.name] = frame[col.name] == "true"
    return pa.Table.from_pandas(frame, preserve_index=False)


@pytest.fixture
def write_tape(tmp_path):
    """write_tape(rows, name="tape.csv", **kw) -> path of a CSV tape in a temporary folder."""
    def _write(rows, name="tape.csv", **kwargs):
        return write_csv(tmp_path / name, rows, **kwargs)
    return _write


@pytest.fixture(scope="session")
def demo_tapes():
    """The three demo banks' tapes, opened and validated once per test session: bank_id -> (bank file, tape)."""
    from tools.golden_metrics import BANKS, open_demo_tape

    opened = {bank_id: open_demo_tape(bank_id) for bank_id in BANKS}
    yield opened
    for _, tape in opened.values():
        tape.close()
