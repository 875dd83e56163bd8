"""The all-in rate (docs/data-contract.md §17, notice 二(二)): 12 × the monthly IRR at actual-day periods, written out by hand."""
from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import pandas as pd
import pytest

from pucredit.estimators import irr

MONTH = 365 / 12  # days in a month of the actual-day periods


def loan(**kw) -> dict:
    base = dict(amount_cny=1_000_000.0, rate_pct=12.0, origination_date="2025-01-15", maturity_date="2026-01-15",
                repayment="bullet", fee_third_party_cny=0.0, fee_bank_cny=0.0)
    return {**base, **kw}


def allin(**kw) -> float:
    return irr.allin_rates(pd.DataFrame([loan(**kw)])).iloc[0]


def nominal_irr_by_bisection(received: float, flows: list[tuple[dt.date, float]], start: dt.date) -> float:
    """An independent solver: 12 j, percent, with sum(flow_k prod_{m<=k} 1/(1 + j days_m/(365/12))) = received."""
    def npv(j):
        total, factor, previous = 0.0, 1.0, start
        for date, flow in flows:
            factor /= 1 + j * (date - previous).days / MONTH
            total, previous = total + flow * factor, date
        return total - received
    lo, hi = -0.05, 0.2
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if npv(mid) > 0 else (lo, mid)
    return (lo + hi) / 2 * 1200


def test_one_period_bullet_in_closed_form():
    # 2025-02-01 → 2025-03-01 is 28 days, τ = 28 / (365/12) = 0.92055 months; at 12 % the interest is
    # 1,000,000 × 1 % × τ = 9,205.48; the borrower gets 990,000 (1 % fee) and repays 1,009,205.48.
    # 990,000 (1 + j τ) = 1,009,205.48 → j = (1,009,205.48 / 990,000 − 1) / τ = 1.9400 % / 0.92055 = 2.1074 % a month, 25.289 % a year
    tau = 28 / MONTH
    repaid = 1_000_000 * (1 + 0.01 * tau)
    assert repaid == pytest.approx(1_009_205.48, abs=0.01)
    expected = (repaid / 990_000 - 1) / tau * 1200
    assert expected == pytest.approx(25.289, abs=1e-3)
    assert allin(origination_date="2025-02-01", maturity_date="2025-03-01", fee_bank_cny=10_000.0) == \
        pytest.approx(expected, abs=1e-9)


def test_one_year_bullet_at_twelve_percent_with_one_percent_fee():
    # interest on the 15th of each month Feb 2025 .. Jan 2026 at 12 % × days / 365 (31, 28, 31, 30, 31, 30, 31, 31,
    # 30, 31, 30, 31 days: 120,000 in all), principal with the last; fee 10,000 up front, so 990,000 received.
    # Spreading the fee over the year's annuity factor at 1 % a month (11.255) adds 0.01 / 11.255 = 0.0888 % a
    # month, about 1.07 pp a year: about 13.07 %.
    start = dt.date(2025, 1, 15)
    dates = [dt.date(2025 + (k + 1) // 12, (k + 1) % 12 + 1, 15) for k in range(12)]
    days = np.diff([start.toordinal()] + [d.toordinal() for d in dates])
    assert days.tolist() == [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    flows = [(d, 1_000_000 * 0.12 * n / 365) for d, n in zip(dates, days)]
    assert sum(f for _, f in flows) == pytest.approx(120_000)
    flows[-1] = (dates[-1], flows[-1][1] + 1_000_000)
    expected = nominal_irr_by_bisection(990_000.0, flows, start)
    assert 13.0 < expected < 13.15
    assert allin(fee_third_party_cny=6_000.0, fee_bank_cny=4_000.0) == pytest.approx(expected, abs=1e-8)
    assert nominal_irr_by_bisection(1_000_000.0, flows, start) == pytest.approx(12.0, abs=1e-9)  # no fee: 12 %


def test_amortizing_loan_from_the_31st():
    # 120,000 at 6 % over 12 months: instalment 120,000 × 0.005 / (1 − 1.005^−12) = 10,327.97 on the last day of
    # each month from 2024-03-31 (Apr 30, May 31, ..., Feb 28, Mar 31); interest is the balance × 6 % × days / 365,
    # the last payment settles the balance; fee 1,200 (1 %).
    instalment = 120_000 * 0.005 / (1 - 1.005 ** -12)
    assert instalment == pytest.approx(10_327.97, abs=0.01)
    start = dt.date(2024, 3, 31)
    ends = [dt.date(2024, 4, 30), dt.date(2024, 5, 31), dt.date(2024, 6, 30), dt.date(2024, 7, 31),
            dt.date(2024, 8, 31), dt.date(2024, 9, 30), dt.date(2024, 10, 31), dt.date(2024, 11, 30),
            dt.date(2024, 12, 31), dt.date(2025, 1, 31), dt.date(2025, 2, 28), dt.date(2025, 3, 31)]
    flows, balance, previous = [], 120_000.0, start
    for k, date in enumerate(ends):
        interest = balance * 0.06 * (date - previous).days / 365
        payment = balance + interest if k == 11 else instalment
        flows.append((date, payment))
        balance, previous = balance + interest - payment, date
    assert abs(flows[-1][1] - instalment) < 10  # actual days move the last payment by 9.47 yuan
    expected = nominal_irr_by_bisection(118_800.0, flows, start)
    got = allin(amount_cny=120_000.0, rate_pct=6.0, origination_date="2024-03-31", maturity_date="2025-03-31",
                repayment="amortizing", fee_third_party_cny=1_200.0)
    assert got == pytest.approx(expected, abs=1e-8)


def test_equal_principal_schedule():
    # 3 months of one month each, 90,000 at 12 %: principal 30,000 each month, interest 1 % of the balance
    payments = irr.schedule(np.array([90_000.0]), np.array([12.0]), np.array([3]), np.ones((1, 3)), np.array(["equal_principal"]))
    assert payments[0].tolist() == pytest.approx([30_900.0, 30_600.0, 30_300.0])
    # a 15-day first period earns 15 / (365/12) of a month's interest: 90,000 × 1 % × 0.49315 = 443.84
    payments = irr.schedule(np.array([90_000.0]), np.array([12.0]), np.array([3]), np.array([[15 / MONTH, 1, 1]]),
                            np.array(["equal_principal"]))
    assert payments[0, 0] == pytest.approx(30_000 + 90_000 * 0.01 * 15 / MONTH)


ODD_TERMS = [("2024-01-31", "2024-02-29"), ("2024-01-31", "2024-03-15"), ("2024-01-31", "2025-01-31"),
             ("2023-12-31", "2024-12-31"), ("2024-02-29", "2028-02-29"), ("2024-03-31", "2024-04-01"),
             ("2024-01-15", "2024-01-15"), ("2024-05-10", "2026-07-04"), ("2024-08-31", "2054-08-31"),
             ("2025-01-15", "2025-02-14")]


@pytest.mark.parametrize("repayment", ["bullet", "amortizing", "equal_principal", "revolving"])
def test_fee_free_loans_cost_exactly_their_contract_rate(repayment):
    """For every repayment type and term, odd dates included (the 31st, leap days, a maturity off the
    origination day, a one-day and a same-day loan, 30 years), the all-in rate is the contract rate."""
    loans = pd.DataFrame([loan(origination_date=start, maturity_date=end, rate_pct=rate, repayment=repayment)
                          for (start, end), rate in itertools.product(ODD_TERMS, (0.0, 3.45, 12.0, 24.0))])
    got = irr.allin_rates(loans)
    assert np.abs(got - loans["rate_pct"]).max() < 1e-9


def test_revolving_is_costed_as_a_bullet_loan_drawn_in_full():
    assert allin(repayment="revolving", fee_bank_cny=5_000.0) == allin(repayment="bullet", fee_bank_cny=5_000.0)


def test_effective_rate_is_the_nominal_rate_compounded_monthly():
    # 12 % nominal a year is 1 % a month: 1.01^12 − 1 = 12.6825 % effective
    assert irr.effective_pct(12.0) == pytest.approx(12.682503, abs=1e-6)
