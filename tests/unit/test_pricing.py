"""Pricing against the LPR (notice 二(二)): all-in gaps, spreads, high-fee counts (the IRR itself: test_irr.py)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pucredit.analyses import pricing


def loan(**kw) -> dict:
    base = dict(amount_cny=1_000_000.0, rate_pct=6.0, origination_date="2024-01-15", maturity_date="2025-01-15",
                repayment="bullet", fee_third_party_cny=0.0, fee_bank_cny=0.0)
    return {**base, **kw}


def test_zero_fee_loans_cost_their_contract_rate():
    loans = pd.DataFrame([loan(), loan(repayment="amortizing", rate_pct=4.35),
                          loan(repayment="equal_principal", maturity_date="2027-01-15", rate_pct=3.1),
                          loan(repayment="revolving", rate_pct=5.2)])
    costed = pricing.all_in(loans)
    assert np.abs(costed["allin_gap_pp"]).max() < 1e-9
    # the effective column is the same rate compounded monthly: 6 % nominal is 6.1678 % effective
    assert costed["allin_effective_rate_pct"].iloc[0] == pytest.approx((1.005 ** 12 - 1) * 100, abs=1e-9)


def test_fees_raise_the_all_in_rate_and_are_counted():
    loans = pd.DataFrame([loan(), loan(fee_third_party_cny=20_000.0), loan(fee_bank_cny=500.0)])
    loans["group"] = "inclusive_smb"
    costed = pricing.all_in(loans)
    assert abs(costed["allin_gap_pp"].iloc[0]) < 1e-9
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
