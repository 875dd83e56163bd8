"""Issue 17 against the generator's truth: priority-sector balances and growth (三(四)), student loans and the
poverty micro-loan rules (三(六)), write-offs and NPL exits, and 偏离度 (四(九)).

Tapes are generated once per module: CB01 (sector flags and industries) and RB01 (poverty micro-loans, student
loans, a totals file with write-offs), each scaled to about 150,000 rows with another seed than the demo's.
These measures are sums, not estimates: the tolerance is a cent.
"""
from __future__ import annotations

import json
from dataclasses import replace

import pytest

from pucredit.analyses.metrics import compute_metrics
from pucredit.engine.segments import grouped
from pucredit.engine.tape import open_tape
from pucredit.synth import DEMO_BANKS, generate, scaled

PERIOD, END, BASE = "2025H1", "2025-06", "2024-12"
PERIOD_MONTHS = [f"2025-{m:02d}" for m in range(1, 7)]


def _generate(bank_id: str, folder):
    config = replace(scaled(DEMO_BANKS[bank_id], 150_000), seed=DEMO_BANKS[bank_id].seed + 7)
    paths = generate(config, folder)
    truth = json.loads(paths["truth"].read_text(encoding="utf-8"))
    tape = open_tape(paths["tape"], paths["totals"])
    assert tape.ok
    return config, truth, tape, compute_metrics(tape, bank_id, PERIOD)


@pytest.fixture(scope="module")
def cb01(tmp_path_factory):
    config, truth, tape, doc = _generate("CB01", tmp_path_factory.mktemp("CB01"))
    yield truth, tape, doc
    tape.close()


@pytest.fixture(scope="module")
def rb01(tmp_path_factory):
    config, truth, tape, doc = _generate("RB01", tmp_path_factory.mktemp("RB01"))
    yield truth, tape, doc
    tape.close()


def _truth_balance(truth: dict, segment: str, month: str) -> float:
    return truth["volume"]["balance_cny"][segment][truth["months"].index(month)]


def test_priority_sector_balances_and_growth_are_the_generators(cb01):
    """Every priority sector of the policy (flags and GB/T 4754 industries, within inclusive small-micro) has the
    balance the generator put in it at the period end and the base date, so its growth too."""
    truth, tape, doc = cb01
    sectors = grouped(tape.bank("CB01", "2024").segments, "priority_sectors")
    assert len(sectors) == 8
    for name in sectors:
        end, base = _truth_balance(truth, name, END), _truth_balance(truth, name, BASE)
        assert end > 0, name
        assert doc.volume.of(name, "balance_cny") == pytest.approx(end, abs=0.01), name
        assert doc.volume.of(name, "balance_base_cny") == pytest.approx(base, abs=0.01), name
        assert doc.volume.of(name, "growth") == pytest.approx(end / base - 1, rel=1e-9), name
        assert 0 <= doc.priorities.of(name, "new_mlt_share") <= 1


def test_student_loans_and_poverty_rules(rb01):
    """Student loans have the generator's balance; the generator's poverty micro-loans keep every rule of the 2021
    notice (at most 50,000 yuan, 1-3 years, credit, at the 1-year LPR), so no loan breaks one."""
    truth, tape, doc = rb01
    assert doc.volume.of("student_loan", "balance_cny") == pytest.approx(_truth_balance(truth, "student_loan", END),
                                                                         abs=0.01)
    assert doc.volume.of("poverty_household", "balance_cny") == pytest.approx(
        _truth_balance(truth, "poverty_household", END), abs=0.01)
    p = doc.priorities
    assert p.poverty_household_new_loans > 0
    assert (p.poverty_household_break_amount_share, p.poverty_household_break_term_share,
            p.poverty_household_break_guarantee_share, p.poverty_household_break_rate_share,
            p.poverty_household_break_any_share) == (0, 0, 0, 0, 0)


def test_writeoffs_npl_exits_and_dpd90(rb01):
    """The period's write-offs are the generator's (totals file); in the generator a non-performing loan leaves the
    tape only when written off, so the NPL exits of inclusive small-micro loans equal its write-offs; every loan
    90+ days past due is classed non-performing and back, so 偏离度 is exactly 1."""
    truth, tape, doc = rb01
    k = doc.risk
    written = truth["writeoffs_cny"]
    assert k.writeoffs_cny == pytest.approx(sum(written[m]["tape"] for m in PERIOD_MONTHS), abs=0.05)
    smb = sum(written[m]["inclusive_smb"] for m in PERIOD_MONTHS)
    assert smb > 0
    assert k.inclusive_smb_npl_exits_cny == pytest.approx(smb, abs=0.05)
    index = truth["months"].index(END)
    npl, balance = truth["volume"]["npl_cny"]["inclusive_smb"][index], truth["volume"]["balance_cny"]["inclusive_smb"][index]
    assert k.inclusive_smb_npl_ratio_with_exits == pytest.approx((npl + smb) / (balance + smb), rel=1e-9)
    total_npl, total = truth["volume"]["total_npl_cny"][index], truth["volume"]["total_loans_cny"][index]
    assert k.total_npl_ratio_with_writeoffs == pytest.approx((total_npl + k.writeoffs_cny) / (total + k.writeoffs_cny),
                                                             rel=1e-9)
    assert k.inclusive_smb_dpd90_to_npl_ratio == 1.0 and k.inclusive_smb_dpd90_within_limit is True
