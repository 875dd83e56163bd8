"""五(十) conduct screens and 无贷户 (pucredit.analyses.conduct) on a hand-made tape; answers worked out below.

2024H1. Inclusive small-micro stock at 2024-06-30 (lines 2,000,000, within the 10-million limit):
  B1  600,000  4 lenders, credit at all lenders 5,000,000, revenue 2,000,000 (over 1x), branch X, A2 self-paid
  B2  300,000  1 lender,  2,000,000 against revenue 3,000,000 (not over),                branch X, C1 entrusted,
               first bank loan anywhere
  B3  100,000  3 lenders, 2,500,000, revenue not given,                                  branch Y, D1 self-paid
  B4 1,000,000 a line of 20,000,000: not inclusive small-micro, in no measure
At 2023-12-31 (the start): B1 400,000 (A1) and B5 200,000 (E1, repaid).
"""
from __future__ import annotations

import pytest

from pucredit.analyses import conduct
from pucredit.config.periods import parse_period
from pucredit.engine.tape import open_tape

PERIOD = parse_period("2024H1")
BASE, MID, END = "2023-12-31", "2024-03-31", "2024-06-30"
SMB = dict(borrower_type="small_micro_enterprise", is_business="true", credit_line_cny=2_000_000)
B1 = dict(borrower_id="B1", bureau_lender_count=4, bureau_credit_line_cny=5_000_000, annual_revenue_cny=2_000_000,
          branch_id="X", **SMB)
ROWS = [
    dict(as_of=BASE, loan_id="A1", origination_date="2023-06-10", amount_cny=400_000, balance_cny=400_000,
         payment_method="entrusted", is_first_bank_loan="false", **B1),
    dict(as_of=BASE, loan_id="E1", borrower_id="B5", origination_date="2023-07-10", amount_cny=200_000,
         balance_cny=200_000, branch_id="Y", **SMB),
    dict(as_of=MID, loan_id="A2", origination_date="2024-02-10", amount_cny=600_000, balance_cny=600_000,
         payment_method="自主支付", guarantee="credit", **B1),
    dict(as_of=END, loan_id="A2", origination_date="2024-02-10", amount_cny=600_000, balance_cny=600_000,
         payment_method="自主支付", guarantee="credit", **B1),
    dict(as_of=END, loan_id="C1", borrower_id="B2", origination_date="2024-03-05", amount_cny=300_000,
         balance_cny=300_000, guarantee="guarantee", payment_method="受托支付", is_first_bank_loan="是",
         is_first_loan="true", bureau_lender_count=1, bureau_credit_line_cny=2_000_000,
         annual_revenue_cny=3_000_000, branch_id="X", **SMB),
    dict(as_of=END, loan_id="D1", borrower_id="B3", origination_date="2024-05-20", amount_cny=100_000,
         balance_cny=100_000, guarantee="collateral", payment_method="self", bureau_lender_count=3,
         bureau_credit_line_cny=2_500_000, branch_id="Y", **SMB),
    dict(as_of=END, loan_id="F1", borrower_id="B4", origination_date="2024-04-01", amount_cny=1_000_000,
         balance_cny=1_000_000, borrower_type="small_micro_enterprise", is_business="true",
         credit_line_cny=20_000_000, payment_method="self", is_first_bank_loan="true", bureau_lender_count=9,
         bureau_credit_line_cny=90_000_000, annual_revenue_cny=1, branch_id="Y"),
]


@pytest.fixture
def bank(write_tape):
    with open_tape(write_tape(ROWS)) as tape:
        assert tape.ok, [str(p) for p in tape.findings.errors]
        yield tape.bank("T1")


def test_metrics(bank):
    m = conduct.metrics(bank, PERIOD)
    assert m.bureau_coverage_share == 1.0
    assert m.multi_lender_balance_share == pytest.approx(700_000 / 1_000_000)  # B1 and B3 have 3 or more lenders
    assert m.over_revenue_balance_share == pytest.approx(600_000 / 900_000)  # B1 of B1 + B2 (B3 has no revenue)
    # start: B1 400,000 and B5 200,000, n = 2, the largest 1 % and 10 % are ceil(0.02) = ceil(0.2) = 1 borrower
    assert m.top1_start_balance_share == m.top10_start_balance_share == pytest.approx(400_000 / 600_000)
    assert m.top1_end_balance_share == m.top10_end_balance_share == pytest.approx(600_000 / 1_000_000)
    assert m.top10_balance_share_change_pp == pytest.approx((0.6 - 2 / 3) * 100)
    assert m.self_paid_amount_share == pytest.approx(700_000 / 1_000_000)  # A2 and D1 of A2, C1, D1
    assert (m.self_paid_above_max_count, m.self_paid_above_max_cny) == (1, 600_000)  # A2 only (D1 is 100,000)
    assert (m.no_bank_loan_borrowers_count, m.no_bank_loan_share) == (1, pytest.approx(1 / 3))  # B2 of B1-B3
    assert m.notes == {}


def test_lender_distribution(bank):
    dist = conduct.lender_distribution(bank, PERIOD.end)
    assert dist["borrowers"].to_dict() == {1: 1, 3: 1, 4: 1}
    assert dist["balance_cny"].to_dict() == {1: 300_000, 3: 100_000, 4: 600_000}


def test_concentration_by_branch(bank):
    frame = conduct.concentration_change(bank, PERIOD, "branch_id")
    assert frame.loc["X", "top1_share_end"] == pytest.approx(600_000 / 900_000)
    assert frame.loc["Y", "top1_share_end"] == 1.0 and frame.loc["Y", "top1_share_start"] == 1.0  # B3; B5
    assert frame.loc["X", "top10_change_pp"] == pytest.approx((600_000 / 900_000 - 1) * 100)


def test_self_paid_by_product_and_the_loans_above_the_limit(bank):
    by_product = conduct.self_paid(bank, PERIOD, "product")["self_share"].to_dict()
    assert by_product == {"credit / -": 1.0, "guarantee / -": 0.0, "collateral / -": 1.0}
    above = conduct.self_paid_above(bank, PERIOD)
    assert above["loan_id"].tolist() == ["A2"] and above["branch_id"].tolist() == ["X"]


def test_largest_percent_is_rounded_up(write_tape):
    """11 borrowers of 1..11 (x 10,000): the largest 1 % is ceil(0.11) = 1 borrower, the largest 10 % ceil(1.1) = 2."""
    rows = [dict(as_of=END, loan_id=f"L{i}", borrower_id=f"B{i}", amount_cny=i * 10_000, balance_cny=i * 10_000)
            for i in range(1, 12)]
    with open_tape(write_tape(rows)) as tape:
        frame = conduct.concentration(tape.bank("T1"), PERIOD.end)
    assert frame["top1_share"].iloc[0] == pytest.approx(11 / 66)
    assert frame["top10_share"].iloc[0] == pytest.approx(21 / 66)


@pytest.mark.parametrize("column, keys", [
    ("bureau_lender_count", ["bureau_coverage_share", "multi_lender_balance_share"]),
    ("annual_revenue_cny", ["over_revenue_balance_share"]),
    ("payment_method", ["self_paid_amount_share", "self_paid_above_max_count", "self_paid_above_max_cny"]),
    ("is_first_bank_loan", ["no_bank_loan_borrowers_count", "no_bank_loan_share"]),
])
def test_an_absent_column_gives_nulls_with_reasons(write_tape, column, keys):
    rows = [{k: v for k, v in row.items() if k != column} for row in ROWS]
    with open_tape(write_tape(rows)) as tape:
        m = conduct.metrics(tape.bank("T1"), PERIOD)
    assert set(m.notes) == set(keys) and all(column in m.notes[k] for k in keys)
    assert all(m.get(k) is None for k in keys)
    assert m.top10_end_balance_share == pytest.approx(0.6)  # concentration needs balances only


@pytest.mark.parametrize("change, rule, severity", [
    ({"bureau_lender_count": -1}, "negative_bureau_value", "error"),
    ({"annual_revenue_cny": -5}, "negative_bureau_value", "error"),
    ({"bureau_lender_count": 2.5}, "bad_integer", "error"),
    ({"payment_method": "cash"}, "bad_enum", "error"),
    ({"is_first_bank_loan": "maybe"}, "bad_bool", "error"),
    ({"bureau_credit_line_cny": 1_000_000}, "bureau_line_below_own_line", "warning"),  # the line here is 2,000,000
])
def test_validation_of_the_conduct_columns(write_tape, change, rule, severity):
    rows = [dict(ROWS[0], **change), *ROWS[1:]]
    with open_tape(write_tape(rows)) as tape:
        found = [p for p in tape.findings.problems if p.rule == rule]
    assert found and found[0].severity == severity and found[0].row == 2


def test_chinese_headers_are_read(write_tape):
    from pucredit.contract.schema import CONDUCT_COLUMNS

    aliases = {c.name: c.alias for c in CONDUCT_COLUMNS}
    rows = [{aliases.get(k, k): v for k, v in row.items()} for row in ROWS]
    with open_tape(write_tape(rows)) as tape:
        assert tape.ok and set(aliases) <= tape.columns
        assert conduct.metrics(tape.bank("T1"), PERIOD).self_paid_amount_share == pytest.approx(0.7)


def test_nothing_outstanding_at_the_period_end(write_tape):
    rows = [dict(as_of=as_of, loan_id="L1", borrower_id="B1", balance_cny=balance, payment_method="self",
                 is_first_bank_loan="true", bureau_lender_count=3) for as_of, balance in ((BASE, 1000), (END, 0))]
    with open_tape(write_tape(rows)) as tape:
        m = conduct.metrics(tape.bank("T1"), PERIOD)
    assert m.top1_start_balance_share == 1.0 and m.top1_end_balance_share is None
    assert m.top10_balance_share_change_pp is None and "start or end" in m.notes["top10_balance_share_change_pp"]
    assert m.multi_lender_balance_share is None and "no inclusive_smb balance" in m.notes["multi_lender_balance_share"]
    assert (m.self_paid_amount_share, m.self_paid_above_max_count, m.no_bank_loan_share) == (None, 0, None)
    assert set(m.notes) >= {"self_paid_amount_share", "no_bank_loan_share"}
