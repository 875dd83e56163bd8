"""Pricing against the LPR (notice 二(二)): all-in cost by hand, spreads, high-fee counts."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from pucredit.analyses import pricing


def loan(**kw) -> dict:
    base = dict(amount_cny=1_000_000.0, rate_pct=6.0, origination_date="2024-01-15", maturity_date="2025-01-15",
                repayment="bullet", fee_third_party_cny=0.0, fee_bank_cny=0.0)
    return {**base, **kw}


def irr_by_bisection(received: float, flows: list[tuple[dt.date, float]], start: dt.date) -> float:
    """An independent solver for the test: the annual rate x with sum(flow (1+x)^-(days/365)) = received."""
    def npv(x):
        return sum(f * (1 + x) ** (-(d - start).days / 365) for d, f in flows) - received
    lo, hi = -0.5, 2.0
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if npv(mid) > 0 else (lo, mid)
    return (lo + hi) / 2 * 100


def test_one_month_bullet_with_fee_in_closed_form():
    # receive 1,000,000 − 1,000; repay 1,000,000 × (1 + 6 %/12) = 1,005,000 after 31 days (Jan 15 → Feb 15)
    rates = pricing.allin_rates(pd.DataFrame([loan(maturity_date="2024-02-15", fee_third_party_cny=1_000.0)]))
    expected = ((1_005_000 / 999_000) ** (365 / 31) - 1) * 100  # = 8.59 %
    assert rates.iloc[0] == pytest.approx(expected, abs=1e-8)


def test_twelve_month_bullet_with_upfront_fee():
    # interest 5,000 on the 15th of each month Feb 2024 .. Jan 2025, principal with the last; fee 10,000 upfront
    start = dt.date(2024, 1, 15)
    dates = [dt.date(2024 + (1 + k) // 12, (1 + k) % 12 + 1, 15) for k in range(12)]
    flows = [(d, 5_000.0) for d in dates]
    flows[-1] = (dates[-1], 1_005_000.0)
    expected = irr_by_bisection(990_000.0, flows, start)  # about 7.25 %, against 6.17 % effective without the fee
    got = pricing.allin_rates(pd.DataFrame([loan(fee_third_party_cny=6_000.0, fee_bank_cny=4_000.0)])).iloc[0]
    assert got == pytest.approx(expected, abs=1e-7)
    assert 7.0 < got < 7.5


def test_amortizing_loan():
    # 120,000 at 6 % over 12 months: instalment 120,000 × 0.005 / (1 − 1.005^−12) = 10,327.97 on the last day
    # of each month from 2024-03-31 (31 → Apr 30, May 31, ...); fee 1,200 (1 %)
    instalment = 120_000 * 0.005 / (1 - 1.005 ** -12)
    assert instalment == pytest.approx(10_327.97, abs=0.01)
    start = dt.date(2024, 3, 31)
    ends = [dt.date(2024, 4, 30), dt.date(2024, 5, 31), dt.date(2024, 6, 30), dt.date(2024, 7, 31),
            dt.date(2024, 8, 31), dt.date(2024, 9, 30), dt.date(2024, 10, 31), dt.date(2024, 11, 30),
            dt.date(2024, 12, 31), dt.date(2025, 1, 31), dt.date(2025, 2, 28), dt.date(2025, 3, 31)]
    expected = irr_by_bisection(118_800.0, [(d, instalment) for d in ends], start)
    got = pricing.allin_rates(pd.DataFrame([loan(amount_cny=120_000.0, origination_date="2024-03-31",
                                                 maturity_date="2025-03-31", repayment="amortizing",
                                                 fee_third_party_cny=1_200.0)])).iloc[0]
    assert got == pytest.approx(expected, abs=1e-7)


def test_equal_principal_schedule():
    # 3 months, 90,000 at 12 %: principal 30,000 each month, interest 1 % of the balance: 900, 600, 300
    payments = pricing.schedule(np.array([90_000.0]), np.array([12.0]), np.array([3]), np.array(["equal_principal"]))
    assert payments[0].tolist() == pytest.approx([30_900.0, 30_600.0, 30_300.0])


def test_zero_fee_loans_cost_their_contract_rate():
    loans = pd.DataFrame([loan(), loan(repayment="amortizing", rate_pct=4.35),
                          loan(repayment="equal_principal", maturity_date="2027-01-15", rate_pct=3.1),
                          loan(repayment="revolving", rate_pct=5.2)])
    costed = pricing.all_in(loans)
    assert (costed["allin_gap_pp"] == 0).all()
    # effective terms (1 + r/12)^12 − 1; dated flows over a leap year differ by the day count only (< 3 bp)
    assert np.abs(costed["allin_rate_pct"] - pricing.effective_rate_pct(loans["rate_pct"])).max() < 0.03


def test_fees_raise_the_all_in_rate_and_are_counted():
    loans = pd.DataFrame([loan(), loan(fee_third_party_cny=20_000.0), loan(fee_bank_cny=500.0)])
    loans["group"] = "inclusive_smb"
    costed = pricing.all_in(loans)
    assert costed["allin_gap_pp"].iloc[0] == 0
    assert costed["allin_gap_pp"].iloc[1] > 1.5  # 2 % of the amount up front on a one-year loan
    assert costed["has_third_party_fee"].tolist() == [False, True, False]
    high = pricing.high_fee_loans(costed, threshold_pp=1.0)
    assert high.loc["inclusive_smb", "loans"] == 1
    assert high.loc["inclusive_smb", "share_of_loans"] == pytest.approx(1 / 3)


def test_spread_distribution_is_amount_weighted():
    loans = pd.DataFrame({"segment": ["a", "a", "a"], "amount_cny": [100.0, 100.0, 200.0],
                          "spread_pp": [-0.1, 0.5, 1.0]})
    table = pricing.spread_distribution(loans, "segment")
    assert table.loc["a", "mean_pp"] == pytest.approx((100 * -0.1 + 100 * 0.5 + 200 * 1.0) / 400)  # 0.6
    assert table.loc["a", "at_or_below_lpr"] == pytest.approx(100 / 400)
    assert table.loc["a", "loans"] == 3
