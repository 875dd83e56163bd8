"""One test per bad-input case: exit code 2 and the problem names the row and column (docs/data-contract.md §10-§12)."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from pucredit.cli import main
from tests.conftest import HEADER

GOOD = [
    dict(as_of="2024-05-31", loan_id="L1", borrower_id="B1", origination_date="2024-05-10", is_first_loan="true"),
    dict(as_of="2024-06-30", loan_id="L1", borrower_id="B1", origination_date="2024-05-10", is_first_loan="true"),
    dict(as_of="2024-06-30", loan_id="L2", borrower_id="B2", origination_date="2024-06-03"),
]


def validate(path, capsys, *extra) -> tuple[int, dict]:
    code = main(["validate", str(path), "--format", "json", *extra])
    return code, json.loads(capsys.readouterr().out)


def problem(report: dict, rule: str) -> dict:
    found = [p for p in report["problems"] if p["rule"] == rule]
    assert found, f"no {rule} in {report['problems']}"
    return found[0]


def test_good_tape_passes(write_tape, capsys):
    code, report = validate(write_tape(GOOD), capsys)
    assert code == 0 and report["errors"] == 0


def with_row(change: dict, index: int = 2) -> list[dict]:
    rows = [dict(r) for r in GOOD]
    rows[index].update(change)
    return rows


# (case, change to data row 3 of the file (index 2), rule, column, the value shown)
ROW_CASES = [
    ("non-numeric number", {"balance_cny": "12O00"}, "bad_number", "balance_cny", "12O00"),
    ("impossible date", {"maturity_date": "2025-02-30"}, "bad_date", "maturity_date", "2025-02-30"),
    ("unknown enum", {"guarantee": "担保公司"}, "bad_enum", "guarantee", "担保公司"),
    ("unknown bool", {"is_agri": "maybe"}, "bad_bool", "is_agri", "maybe"),
    ("missing value", {"loan_id": ""}, "missing_value", "loan_id", None),
    ("only spaces", {"loan_id": "  "}, "missing_value", "loan_id", None),
    ("only full-width spaces", {"loan_id": "\u3000\u3000"}, "missing_value", "loan_id", None),
    ("balance < 0", {"balance_cny": "-1"}, "negative_balance", "balance_cny", "-1"),
    ("days_past_due < 0", {"days_past_due": "-5"}, "negative_days_past_due", "days_past_due", "-5"),
    ("days_past_due not whole", {"days_past_due": "3.5"}, "bad_integer", "days_past_due", "3.5"),
    ("maturity before origination", {"maturity_date": "2024-01-01"}, "maturity_before_origination",
     "maturity_date", "2024-01-01 < 2024-06-03"),
    ("as_of not a month end", {"as_of": "2024-06-28"}, "not_month_end", "as_of", "2024-06-28"),
    ("originated after the snapshot", {"origination_date": "2024-07-02"}, "originated_after_snapshot",
     "origination_date", "2024-07-02 > 2024-06-30"),
    ("amount not positive", {"amount_cny": "0"}, "nonpositive_amount", "amount_cny", "0"),
]


@pytest.mark.parametrize("case, change, rule, column, value", ROW_CASES, ids=[c[0] for c in ROW_CASES])
def test_row_problem(write_tape, capsys, case, change, rule, column, value):
    code, report = validate(write_tape(with_row(change)), capsys)
    assert code == 2
    found = problem(report, rule)
    assert (found["row"], found["column"], found["severity"]) == (4, column, "error")  # header row 1, GOOD[2] row 4
    if value is not None:
        assert found["value"] == value
    assert found["accepted"]


@pytest.mark.parametrize("padding", [" ", "\u3000", "\u00a0"], ids=["space", "full-width", "no-break"])
def test_padded_ids_are_trimmed(tmp_path, padding):
    """An id padded with a space of any kind is the same id (trim's spaces; docs/data-contract.md §17): loan L1's
    second snapshot, padded, is still L1 (no duplicate loan, no changed origination)."""
    from pucredit.engine.tape import open_tape
    from tests.conftest import write_csv

    rows = [dict(r) for r in GOOD]
    rows[1]["loan_id"] = f"{padding}L1{padding}"
    rows[1]["borrower_id"] = f"{padding}B1"
    with open_tape(write_csv(tmp_path / "tape.csv", rows)) as tape:
        assert tape.ok and not tape.findings.by_rule().get("origination_changed")
        ids = tape.con.execute("SELECT DISTINCT loan_id FROM tape_plain ORDER BY 1").fetchall()
        assert ids == [("L1",), ("L2",)]
        assert tape.con.execute("SELECT count(*) FROM loan_facts WHERE loan_id = 'L1'").fetchone()[0] == 1


def _after_lpr_table() -> list[dict]:
    """A loan made in the month after the shipped LPR table ends (a past month, not a future snapshot)."""
    from pucredit.config.reference import load_lpr, lpr_coverage_end

    month_end = lpr_coverage_end(load_lpr()) + pd.offsets.MonthEnd(1)
    assert month_end <= pd.Timestamp.today(), "the shipped LPR table reaches this month: no past month follows it"
    made = month_end.replace(day=5)
    return [dict(as_of=f"{month_end.date()}", loan_id="L9", borrower_id="B9", origination_date=f"{made.date()}",
                 maturity_date=f"{(made + pd.DateOffset(years=1)).date()}")]


def test_loan_after_last_lpr_fixing(write_tape, capsys):
    rows = _after_lpr_table()
    code, report = validate(write_tape(rows), capsys)
    found = problem(report, "after_lpr_table")
    assert code == 2 and found["row"] == 2 and found["column"] == "origination_date"
    assert "--lpr" in found["accepted"]


def test_extra_lpr_file_covers_the_loan(write_tape, tmp_path, capsys):
    rows = _after_lpr_table()
    lpr = tmp_path / "lpr_more.csv"
    fixing = rows[0]["origination_date"][:8] + "01"
    lpr.write_text(f"fixing_date,lpr_1y_pct,lpr_5y_pct\n{fixing},2.80,3.30\n", encoding="utf-8")
    code, report = validate(write_tape(rows), capsys, "--lpr", str(lpr))
    assert code == 0, report["problems"]


def test_duplicate_key(write_tape, capsys):
    rows = GOOD + [dict(GOOD[2])]
    code, report = validate(write_tape(rows), capsys)
    found = problem(report, "duplicate_key")
    assert code == 2 and found["row"] == 5 and "row 4" in found["message"]


def test_first_loan_flag_on_borrower_with_earlier_loan_is_a_warning(write_tape, capsys):
    rows = GOOD + [dict(as_of="2024-06-30", loan_id="L3", borrower_id="B1", origination_date="2024-06-20",
                        is_first_loan="true")]
    code, report = validate(write_tape(rows), capsys)
    found = problem(report, "first_loan_not_first")
    assert code == 0 and found["severity"] == "warning" and found["row"] == 5 and found["column"] == "is_first_loan"
    assert "L1" in found["message"] and report["warnings"] == 1


def test_first_loan_flag_is_checked_on_operating_loans_only(write_tape, capsys):
    consumer = dict(borrower_type="other_individual", is_business="false")
    rows = GOOD + [
        # B2's consumer loan after its operating loan L2, flagged 首贷: not an operating loan, not checked
        dict(as_of="2024-06-30", loan_id="L3", borrower_id="B2", origination_date="2024-06-20", is_first_loan="true",
             **consumer),
        # B4 had a housing loan first; its first operating loan is rightly its 首贷
        dict(as_of="2024-06-30", loan_id="L4", borrower_id="B4", origination_date="2024-05-02", **consumer),
        dict(as_of="2024-06-30", loan_id="L5", borrower_id="B4", origination_date="2024-06-12", is_first_loan="true"),
    ]
    code, report = validate(write_tape(rows), capsys)
    assert code == 0 and not [p for p in report["problems"] if p["rule"] == "first_loan_not_first"]


def test_rates_as_fractions(write_tape, capsys):
    rows = [dict(r, rate_pct="0.0395") for r in GOOD]
    code, report = validate(write_tape(rows), capsys)
    found = problem(report, "rate_as_fraction")
    assert code == 2 and found["column"] == "rate_pct" and "100" in found["accepted"]


def test_missing_column(write_tape, capsys):
    header = [h for h in HEADER if h != "risk_class"]
    code, report = validate(write_tape(GOOD, header=header), capsys)
    found = problem(report, "missing_column")
    assert code == 2 and found["column"] == "risk_class" and "五级分类" in found["message"]


def test_missing_file(tmp_path, capsys):
    code, report = validate(tmp_path / "nope.csv", capsys)
    assert code == 2 and problem(report, "missing_file")


def test_empty_file(tmp_path, capsys):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    code, report = validate(path, capsys)
    assert code == 2 and problem(report, "empty")


def test_header_only(tmp_path, capsys):
    path = tmp_path / "header.csv"
    path.write_text(",".join(HEADER) + "\n", encoding="utf-8")
    code, report = validate(path, capsys)
    assert code == 2 and problem(report, "empty")


def test_ragged_row(write_tape, capsys):
    path = write_tape(GOOD)
    lines = path.read_text(encoding="utf-8").splitlines()
    lines.insert(2, "T1,2024-05-31,L7")  # a short row as file row 3
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, report = validate(path, capsys)
    found = problem(report, "ragged_row")
    assert code == 2 and found["row"] == 3
    # rows after the ragged one keep their own numbers: break GOOD[2], now on file row 5
    lines[4] = lines[4].replace("2024-06-30", "2024-06-29", 1)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, report = validate(path, capsys)
    assert problem(report, "not_month_end")["row"] == 5


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_blank_lines_keep_later_row_numbers(write_tape, capsys, newline):
    lines = write_tape(GOOD).read_text(encoding="utf-8").splitlines()
    lines.insert(2, "")  # a blank file row 3; GOOD[2] moves to file row 5
    lines[4] = lines[4].replace("2024-06-30", "2024-06-29", 1)
    path = write_tape(GOOD)
    path.write_bytes((newline.join(lines) + newline * 3).encode())  # and blank lines at the end
    code, report = validate(path, capsys)
    assert problem(report, "not_month_end")["row"] == 5
    assert [p["row"] for p in report["problems"] if p["rule"] == "blank_line"] == [3]


def test_garbage_bytes(tmp_path, capsys):
    path = tmp_path / "garbage.csv"
    path.write_bytes(bytes(range(256)) * 40)
    code, report = validate(path, capsys)
    assert code == 2 and problem(report, "not_text")


def test_unreadable_parquet(tmp_path, capsys):
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"PAR1 this is not really parquet")
    code, report = validate(path, capsys)
    assert code == 2 and problem(report, "unreadable")


def test_unreadable_excel(tmp_path, capsys):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04 not a workbook")
    code, report = validate(path, capsys)
    assert code == 2 and problem(report, "unreadable")


def test_folder_instead_of_file(tmp_path, capsys):
    code, report = validate(tmp_path, capsys)
    assert code == 2 and problem(report, "missing_file")


def test_every_problem_in_one_pass(write_tape, capsys):
    rows = with_row({"balance_cny": "-1", "guarantee": "??", "as_of": "2024-06-15"})
    code, report = validate(write_tape(rows), capsys)
    rules = {p["rule"] for p in report["problems"]}
    assert {"negative_balance", "bad_enum", "not_month_end"} <= rules


def test_cap_lists_few_but_counts_all(write_tape, capsys):
    rows = [dict(as_of="2024-06-30", loan_id=f"L{i}", borrower_id=f"B{i}", guarantee="??") for i in range(50)]
    code, report = validate(write_tape(rows), capsys, "--cap", "5")
    listed = [p for p in report["problems"] if p["rule"] == "bad_enum"]
    assert code == 2 and len(listed) == 5 and report["by_rule"]["error"]["bad_enum"] == 50


def test_warnings_only_exit_zero(write_tape, capsys):
    rows = with_row({"balance_cny": "2000000", "amount_cny": "500000", "credit_line_cny": "1000000"})
    code, report = validate(write_tape(rows), capsys)
    assert code == 0 and report["errors"] == 0
    assert problem(report, "balance_above_credit_line")["severity"] == "warning"


@pytest.mark.parametrize("row, rule, column", [
    ({"borrower_type": "farmer", "is_business": "true", "is_agri": "false"}, "farmer_business_not_agri", "is_agri"),
    ({"borrower_type": "other_enterprise", "is_business": "false"}, "enterprise_not_business", "is_business"),
])
def test_segment_flags_against_borrower_type_warn(write_tape, capsys, row, rule, column):
    code, report = validate(write_tape(with_row(row)), capsys)
    found = problem(report, rule)
    assert code == 0 and found["severity"] == "warning" and found["column"] == column and found["row"] == 4  # header is row 1


def test_text_output_names_file_row_column(write_tape, capsys):
    path = write_tape(with_row({"balance_cny": "abc"}))
    assert main(["validate", str(path)]) == 2
    out = capsys.readouterr().out
    assert f"{path}:4:balance_cny: error: not a number ('abc'); accepted:" in out
    assert "Traceback" not in out


def test_totals_problems(write_tape, tmp_path, capsys):
    totals = tmp_path / "totals.csv"
    totals.write_text("bank_id,as_of,total_loans_cny,total_npl_cny\nT1,2024-06-30,100,500\nT1,2024-05-31,x,1\n",
                      encoding="utf-8")
    code, report = validate(write_tape(GOOD), capsys, "--totals", str(totals))
    assert code == 2
    assert problem(report, "npl_above_total")["row"] == 2
    assert problem(report, "bad_number")["row"] == 3


def test_tape_above_totals(write_tape, tmp_path, capsys):
    totals = tmp_path / "totals.csv"
    totals.write_text("bank_id,as_of,total_loans_cny,total_npl_cny\nT1,2024-05-31,100,0\nT1,2024-06-30,100,0\n",
                      encoding="utf-8")
    code, report = validate(write_tape(GOOD), capsys, "--totals", str(totals))
    assert code == 2 and problem(report, "tape_above_totals")


def test_metrics_unknown_bank_and_period(write_tape, capsys):
    path = str(write_tape(GOOD))
    assert main(["metrics", "--tape", path, "--bank", "XX", "--period", "2024H1"]) == 2
    assert "XX" in capsys.readouterr().err
    assert main(["metrics", "--tape", path, "--bank", "T1", "--period", "2024H3"]) == 2
    assert "2024H1/2024H2" in capsys.readouterr().err
    assert main(["metrics", "--tape", path, "--bank", "T1", "--period", "2025"]) == 2
    assert "period_not_in_tape" not in capsys.readouterr().err  # the message says what is accepted instead


def test_metrics_refuses_tape_with_errors(write_tape, capsys):
    path = str(write_tape(with_row({"balance_cny": "-1"})))
    assert main(["metrics", "--tape", path, "--bank", "T1", "--period", "2024H1"]) == 2
    assert ":4:balance_cny:" in capsys.readouterr().err


def test_unknown_command_is_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["frobnicate"])
    assert exc.value.code == 2




def test_origination_facts_changing_between_snapshots_warn(write_tape, capsys):
    rows = with_row({"amount_cny": "600000"}, index=1)  # L1's second snapshot says another amount
    code, report = validate(write_tape(rows), capsys)
    found = problem(report, "origination_changed")
    assert code == 0 and found["row"] == 3 and found["column"] == "amount_cny"
