"""Hostile tapes (issue 13): every case of the corpus is exit 2 from `validate` and `metrics`, with the
rule at its row and column, no traceback, and no raw borrower id or input line in any message."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pucredit.cli import main
from tests.hostile.corpus import CASES, GOOD, SECRET, _dates_in_shanghai, changed

ROOT = Path(__file__).resolve().parents[2]


def run(capsys, *args) -> tuple[int, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_validate_names_the_problem(tmp_path, capsys, case):
    path = case.write(tmp_path)
    code, out = run(capsys, "validate", str(path), "--format", "json")
    assert code == 2, out
    report = json.loads(out)
    found = [p for p in report["problems"] if p["rule"] == case.rule and p["severity"] == "error"]
    assert found, f"no {case.rule} error in {report['problems']}"
    assert (found[0]["row"], found[0]["column"]) == (case.row, case.column)
    assert found[0]["file"] == str(path)
    assert SECRET not in out and "Traceback" not in out
    if case.column == "borrower_id":  # not even a garbled raw id is shown
        assert found[0]["value"] is None


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_text_output_prints_no_raw_id(tmp_path, capsys, case):
    code, out = run(capsys, "validate", str(case.write(tmp_path)))
    assert code == 2 and SECRET not in out


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_metrics_refuses_the_input(tmp_path, capsys, case):
    """Values too large to sum among them: `metrics` stops at the same problem, before any analysis."""
    path = case.write(tmp_path)
    code, out = run(capsys, "metrics", "--tape", str(path), "--bank", "T1", "--period", "2024H1")
    assert code == 2 and "Traceback" not in out and SECRET not in out
    assert ":".join(str(p) for p in (path, case.row, case.column) if p is not None) + ":" in out


def test_accepted_spellings_still_read(write_tape, capsys):
    """The stricter number rule keeps every spelling the contract accepts."""
    rows = changed(credit_line_cny="3,000,000", amount_cny="1,250,000.50", balance_cny="1 000 000",
                   fee_bank_cny="¥1,000", rate_pct="4.35%")
    code, out = run(capsys, "validate", str(write_tape(rows)))
    assert code == 0, out


def test_a_long_value_is_shortened_in_messages(write_tape, capsys):
    code, out = run(capsys, "validate", str(write_tape(changed(balance_cny="9x" * 50_000))))
    assert code == 2 and "(100,000 characters)" in out and len(out) < 2_000


def test_totals_file_does_not_repeat_the_tapes_rejected_lines(tmp_path, capsys):
    path = next(c for c in CASES if c.name == "short_row").write(tmp_path)
    totals = tmp_path / "totals.csv"
    totals.write_text("bank_id,as_of,total_loans_cny,total_npl_cny\nT1,2024-05-31,9000000,0\nT1,2024-06-30,9000000,0\n",
                      encoding="utf-8")
    code, out = run(capsys, "validate", str(path), "--totals", str(totals), "--format", "json")
    assert [p["file"] for p in json.loads(out)["problems"]] == [str(path)]


def _validate_in_zone(path: Path, zone: str) -> dict:
    """`pucredit validate` in a process whose local time zone is ``zone`` (DuckDB reads it at start)."""
    env = {**os.environ, "TZ": zone, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "pucredit", "validate", str(path), "--format", "json"],
                          capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    return json.loads(done.stdout)


@pytest.mark.parametrize("zone", ["America/Los_Angeles", "UTC"])
def test_zoned_timestamps_are_read_in_their_own_zone(tmp_path, zone):
    """Shanghai midnights are that calendar day, whatever the host's zone: month ends stay month ends."""
    report = _validate_in_zone(_dates_in_shanghai(tmp_path, "shanghai", GOOD), zone)
    assert report["errors"] == 0, report["problems"]


def test_zoned_origination_after_its_snapshot_is_caught(tmp_path):
    rows = changed(as_of="2019-09-30", origination_date="2019-10-01", maturity_date="2020-10-01")
    rows = [rows[2]]
    report = _validate_in_zone(_dates_in_shanghai(tmp_path, "shanghai", rows), "America/New_York")
    assert [p["rule"] for p in report["problems"] if p["severity"] == "error"] == ["originated_after_snapshot"]
