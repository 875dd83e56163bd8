"""First loans and structure (notice 二(三)) on a hand-made tape; answers worked out below."""
from __future__ import annotations

import pandas as pd
import pytest

from pucredit.analyses import first_loans
from pucredit.config.periods import parse_period
from pucredit.engine.tape import open_tape

BASE, MID, END = "2023-12-31", "2024-03-31", "2024-06-30"
SMB = dict(borrower_type="small_micro_enterprise", is_business="true", credit_line_cny=2_000_000)
ROWS = [
    # B1 got its first loan ever in 2023-06, before the tape's first month (2023-12): not a first loan of the window
    dict(as_of=BASE, loan_id="A1", borrower_id="B1", origination_date="2023-06-10", is_first_loan="true",
         amount_cny=400_000, balance_cny=400_000, **SMB),
    # ... and a second loan in 2024-02: a repeat loan, a credit loan of 2 years (medium/long term), 600,000
    dict(as_of=MID, loan_id="A2", borrower_id="B1", origination_date="2024-02-10", maturity_date="2026-02-10",
         amount_cny=600_000, balance_cny=600_000, guarantee="credit", **SMB),
    dict(as_of=END, loan_id="A2", borrower_id="B1", origination_date="2024-02-10", maturity_date="2026-02-10",
         amount_cny=600_000, balance_cny=550_000, guarantee="credit", **SMB),
    # B2: a first loan in 2024-03, guaranteed, one year, 300,000
    dict(as_of=MID, loan_id="C1", borrower_id="B2", origination_date="2024-03-05", maturity_date="2025-03-05",
         amount_cny=300_000, balance_cny=300_000, guarantee="guarantee", is_first_loan="true", **SMB),
    dict(as_of=END, loan_id="C1", borrower_id="B2", origination_date="2024-03-05", maturity_date="2025-03-05",
         amount_cny=300_000, balance_cny=300_000, guarantee="guarantee", is_first_loan="true", **SMB),
    # B3: a renewal in 2024-05, one year, collateral, 100,000 (first loan flag false)
    dict(as_of=END, loan_id="D1", borrower_id="B3", origination_date="2024-05-20", maturity_date="2025-05-20",
         amount_cny=100_000, balance_cny=100_000, guarantee="collateral", is_renewal="true", **SMB),
]


@pytest.fixture
def bank(write_tape):
    with open_tape(write_tape(ROWS)) as tape:
        assert tape.ok, [str(p) for p in tape.findings.errors]
        yield tape.bank("T1")


def test_first_loan_before_the_window_is_not_counted(bank):
    m = first_loans.metrics(bank, parse_period("2024H1"))
    # originated in 2024H1: A2 (B1, repeat), C1 (B2, first), D1 (B3, renewal) -> 3 borrowers, 1 first
    assert m.borrowers_originated == 3
    assert m.first_loan_borrowers == 1
    assert m.first_loan_share == pytest.approx(1 / 3)
    assert m.first_loan_amount_cny == 300_000
    # the tape starts in 2023-12: 2023H1 is not covered, so there is no growth on last year
    assert m.first_loan_growth is None and "2023-01-01" in m.notes["first_loan_growth"]


def test_structure_shares_of_new_loans_and_stock(bank):
    shares = first_loans.structure_shares(bank, parse_period("2024H1"))
    new_total = 600_000 + 300_000 + 100_000
    assert shares["new"]["credit_share"] == pytest.approx(600_000 / new_total)  # A2
    assert shares["new"]["renewal_share"] == pytest.approx(100_000 / new_total)  # D1
    assert shares["new"]["medium_long_term_share"] == pytest.approx(600_000 / new_total)  # A2: 24 months
    # small credit loans: credit and a line of at most 1,000,000; the lines here are 2,000,000
    assert shares["new"]["small_credit_share"] == 0
    stock_total = 550_000 + 300_000 + 100_000  # at 2024-06-30
    assert shares["stock"]["credit_share"] == pytest.approx(550_000 / stock_total)


def test_new_to_bank(bank):
    cover = first_loans.new_to_bank(bank, parse_period("2024H1"))
    # at the end: B1, B2, B3 have balances; at the base only B1 had a loan -> 2 of 3 are new to the bank
    assert (cover["borrowers"], cover["without_loan_at_base"]) == (3, 2)
    assert cover["share"] == pytest.approx(2 / 3)


def test_histories_follow_each_borrower(bank):
    histories = first_loans.loan_histories(bank, parse_period("2024H1").end).set_index("loan_id")
    # A1 predates the window; A2, C1, D1 are each the borrower's only loan in the window: no next loan seen
    assert set(histories.index) == {"A2", "C1", "D1"}
    assert not histories["next_observed"].any()
    assert histories.loc["C1", "first_or_repeat"] == "first"
    assert histories.loc["C1", "months_observed"] == 3  # 2024-03 to the tape's last month, 2024-06


# Medium/long term (中长期, 贷款通则 第九条): maturity later than origination plus one year. "Plus one year" is the same
# day a year later, or that month's last day where there is none: 2024-02-29 + 1 year = 2025-02-28 (民法典 第二百零二条,
# and DuckDB's date arithmetic), so a loan of 2024-02-29 -> 2025-02-28 runs exactly one year and is short term.
TERMS = [  # loan_id, origination, maturity, amount, medium/long term, pricing tenor band
    ("T1", "2024-01-01", "2025-01-01", 100_000, False, "7–12m"),  # exactly one year: short
    ("T2", "2024-01-01", "2025-01-02", 200_000, True, "1–3y"),  # one day more: medium/long
    ("T3", "2024-01-01", "2025-01-31", 400_000, True, "1–3y"),  # 12 calendar months apart, yet more than a year
    ("T4", "2024-02-29", "2025-02-28", 800_000, False, "7–12m"),  # one year from a leap day
    ("T5", "2024-02-29", "2025-03-01", 1_600_000, True, "1–3y"),
    ("T6", "2024-03-31", "2024-09-30", 3_200_000, False, "≤6m"),  # six months to a shorter month's end
]


@pytest.fixture
def terms_bank(write_tape):
    # a snapshot at the end of each loan's origination month (so the tape sees it originate) and at 2024-03-31
    rows = [dict(as_of=as_of, loan_id=loan_id, borrower_id=f"B{loan_id}", origination_date=start,
                 maturity_date=end, amount_cny=amount, balance_cny=amount, **SMB)
            for loan_id, start, end, amount, _, _ in TERMS
            for as_of in sorted({str(pd.Timestamp(start) + pd.offsets.MonthEnd(0))[:10], "2024-03-31"})]
    with open_tape(write_tape(rows)) as tape:
        assert tape.ok, [str(p) for p in tape.findings.errors]
        yield tape.bank("T1")


def test_medium_long_term_is_more_than_one_year(terms_bank):
    shares = first_loans.structure_shares(terms_bank, parse_period("2024Q1"))
    total = sum(t[3] for t in TERMS)  # 6,300,000, all originated in 2024Q1 and outstanding at 2024-03-31
    medium_long = 200_000 + 400_000 + 1_600_000  # T2, T3, T5
    assert medium_long == sum(amount for _, _, _, amount, longer, _ in TERMS if longer)
    assert shares["new"]["medium_long_term_share"] == pytest.approx(medium_long / total)
    assert shares["stock"]["medium_long_term_share"] == pytest.approx(medium_long / total)


def test_pricing_tenor_bands_split_where_medium_long_term_starts(terms_bank):
    from pucredit.analyses import pricing

    bands = pricing.new_loans(terms_bank, parse_period("2024Q1")).set_index("loan_id")["tenor_band"]
    assert bands.to_dict() == {loan_id: band for loan_id, *_, band in TERMS}
