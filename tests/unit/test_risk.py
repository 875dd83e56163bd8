"""Risk tolerance (notice 四(九)) on a hand-made tape: migrations, vintages, headroom arithmetic."""
from __future__ import annotations

import pandas as pd
import pytest

from pucredit.analyses import risk
from pucredit.analyses import volume
from pucredit.config.periods import parse_period
from pucredit.config.policy import load_policy
from pucredit.engine.tape import open_tape

M0, M1, M2 = "2024-01-31", "2024-02-29", "2024-03-31"
SMB = dict(borrower_type="small_micro_enterprise", is_business="true", credit_line_cny=2_000_000,
           origination_date="2024-01-10", maturity_date="2026-01-10", branch_id="BR1")
ROWS = [
    # L1 stays normal: 100
    *[dict(as_of=m, loan_id="L1", borrower_id="B1", amount_cny=100, balance_cny=100, **SMB) for m in (M0, M1, M2)],
    # L2 normal -> substandard in Feb (NPL formation of 200 from a performing 600 in Feb) -> doubtful in Mar
    dict(as_of=M0, loan_id="L2", borrower_id="B2", amount_cny=200, balance_cny=200, **SMB),
    dict(as_of=M1, loan_id="L2", borrower_id="B2", amount_cny=200, balance_cny=200, risk_class="substandard",
         days_past_due=95, **SMB),
    dict(as_of=M2, loan_id="L2", borrower_id="B2", amount_cny=200, balance_cny=200, risk_class="doubtful",
         days_past_due=125, **SMB),
    # L3 normal in Jan, repaid before Feb (exit)
    dict(as_of=M0, loan_id="L3", borrower_id="B3", amount_cny=300, balance_cny=300, **SMB),
]


@pytest.fixture
def bank(write_tape):
    with open_tape(write_tape(ROWS)) as tape:
        assert tape.ok, [str(p) for p in tape.findings.errors]
        yield tape.bank("T1")


def test_migration_matrix_by_balance(bank):
    m = risk.migration_matrix(bank, pd.Timestamp(M0), pd.Timestamp(M2))
    # start balance 600, all normal: L1 100 stays normal, L2 200 ends doubtful, L3 300 exits
    assert m.loc["normal", "normal"] == pytest.approx(100 / 600)
    assert m.loc["normal", "doubtful"] == pytest.approx(200 / 600)
    assert m.loc["normal", "exit"] == pytest.approx(300 / 600)
    assert m.loc["normal"].sum() == pytest.approx(1.0)


def test_monthly_formation_and_cure(bank):
    f = risk.monthly_formation(bank)
    # Feb: performing at Jan end 600 (L1, L2, L3); L2's 200 became NPL: formation 1/3; Mar: performing 100, none
    assert f.loc["2024-02-29", "formation_rate"] == pytest.approx(200 / 600)
    assert f.loc["2024-03-31", "formation_rate"] == 0
    assert f.loc["2024-03-31", "cure_rate"] == 0  # L2 stayed non-performing


def test_vintage_curve(bank):
    v = risk.vintage_curves(bank, max_months=2)
    # all three loans originated in 2024Q1 (amount 600); L2 (200) is NPL from month 1 (Feb) on
    assert v.loc["2024Q1", 0] == 0
    assert v.loc["2024Q1", 1] == pytest.approx(200 / 600)
    assert v.loc["2024Q1", 2] == pytest.approx(200 / 600)


def test_tolerance_and_headroom_arithmetic(bank):
    period = parse_period("2024Q1")
    stocks = volume.monthly_stocks(bank)
    path = risk.tolerance_path(stocks, bank).loc[period.end]
    # at 2024-03-31: balance 100 + 200, NPL 200 -> ratio 2/3 for both all loans and inclusive_smb
    assert path["total_npl_ratio"] == pytest.approx(200 / 300)
    assert path["inclusive_smb_limit"] == pytest.approx(200 / 300 + 0.03)
    assert path["inclusive_smb_headroom_pp"] == pytest.approx(3.0)  # (2/3 × 100 + 3) − 2/3 × 100
    # the segment is the whole book: its NPLs move the all-loan ratio one for one, it can never breach
    assert pd.isna(path["inclusive_smb_headroom_cny"])


def test_headroom_in_yuan_counts_that_the_segment_raises_the_all_loan_ratio():
    """S = 100, T = 400, s = 4 %, t = 2 %, k = 3 pp: x = (0.02 + 0.03 − 0.04) · 100 · 400 / 300 = 4/3.
    Check: s' = (4 + 4/3) / 100 = 5.333 %, t' = (8 + 4/3) / 400 = 2.333 %, t' + k = 5.333 % = s'.
    Holding t fixed would give (0.05 − 0.04) · 100 = 1, a third too little."""
    actual = load_policy("2024").tolerances.segments["inclusive_smb"]
    assert risk.headroom_cny(actual, 0.04, 0.02 + 0.03, 100, 400) == pytest.approx(4 / 3)
    assert risk.headroom_cny(actual, 0.04, 0.05, 100, 100) is None  # the whole book
    # against a fixed target τ = 2 % with k = 2 pp: x = (0.02 + 0.02 − 0.05) · 100 = −1 (already 1 yuan over)
    target = load_policy("2024").tolerances.segments["agri_loans"]
    assert risk.headroom_cny(target, 0.05, 0.02 + 0.02, 100, 400) == pytest.approx(-1.0)


def test_tolerance_limits_by_comparator():
    from pucredit.config.policy import BankTerms

    policy = load_policy("2024").tolerances.segments
    assert risk.tolerance_limit(policy["inclusive_smb"], 0.015, BankTerms()) == (pytest.approx(0.045), None)
    limit, reason = risk.tolerance_limit(policy["inclusive_agri"], 0.015, BankTerms())
    assert limit is None and "npl_target_ratio" in reason  # never the actual ratio instead
    assert risk.tolerance_limit(policy["inclusive_agri"], 0.015, BankTerms(npl_target_ratio=0.025))[0] == \
        pytest.approx(0.045)  # 2.5 % + 2 pp


def test_branch_tolerance_with_a_differentiated_table(bank):
    period = parse_period("2024Q1")
    default = risk.branch_tolerance(bank, period, total_npl_ratio=0.02, total_loans_cny=1000.0)
    # BR1: NPL 200 of 300 -> 66.7 %; limit 2 % + 3 pp: far outside
    assert bool(default.loc["BR1", "within_tolerance"]) is False
    wide = risk.branch_tolerance(bank, period, 0.02, 1000.0, pd.DataFrame({"branch_id": ["BR1"], "tolerance_pp": [70.0]}))
    assert wide.loc["BR1", "tolerance_pp"] == 70.0 and bool(wide.loc["BR1", "within_tolerance"]) is True
    # S = 300 of T = 1000: room (2 % + 70 pp − 66.67 %) = 5.333 % of 300 = 16, times 1000 / 700
    assert wide.loc["BR1", "headroom_cny"] == pytest.approx((0.02 + 0.70 - 200 / 300) * 300 * 1000 / 700)


def test_stress_multiplier():
    index = pd.to_datetime(["2024-06-30"])
    stocks = pd.DataFrame({"total_npl_cny": [10.0], "total_loans_cny": [1000.0],
                           **{f"{s}_balance_cny": [0.0] for s in load_policy("2024").tolerances.segments},
                           **{f"{s}_npl_cny": [0.0] for s in load_policy("2024").tolerances.segments}}, index=index)
    stocks.loc[index, "inclusive_smb_balance_cny"] = 500.0
    stocks.loc[index, "inclusive_smb_npl_cny"] = 10.0

    bank = type("B", (), {"policy": load_policy("2024")})
    table = risk.stress_to_breach(stocks, {"inclusive_smb": 0.001}, parse_period("2024H1"), bank)
    # limit 1 % + 3 pp = 4 %, s = 2 %: room x = (0.04 − 0.02) · 500 · 1000 / 500 = 20 (then s' = 6 % = t' + k = 3 % + 3 pp);
    # expected 490 × 6 months × 0.001 = 2.94
    row = table.loc["inclusive_smb"]
    assert row["room_cny"] == pytest.approx(20.0)
    assert row["expected_new_npl_cny"] == pytest.approx(2.94)
    assert row["breach_multiplier"] == pytest.approx(20 / 2.94)
