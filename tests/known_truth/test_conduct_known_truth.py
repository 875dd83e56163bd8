"""The 五(十) conduct screens and 无贷户 (pucredit.analyses.conduct) recover the generator's truth
(pucredit.synth.conduct): LB01's process, which writes every conduct column, scaled to about 60,000 rows.

The truth is computed in numpy from the rows the generator wrote, by the same definitions; sums of yuan
differ only by the analyses' rounding of each balance to the fen, hence the relative tolerance of 1e-9.
"""
from __future__ import annotations

import json
from dataclasses import replace

import pytest

from pucredit.analyses import conduct
from pucredit.analyses.metrics import compute_metrics
from pucredit.config.periods import parse_period
from pucredit.engine.tape import open_tape
from pucredit.synth import DEMO_BANKS, generate, scaled

PERIOD = parse_period("2025H1")
MONTHS = [f"2025-{m:02d}" for m in range(1, 7)]


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    config = replace(scaled(DEMO_BANKS["LB01"], 60_000), seed=DEMO_BANKS["LB01"].seed + 11)
    paths = generate(config, tmp_path_factory.mktemp("LB01"))
    truth = json.loads(paths["truth"].read_text(encoding="utf-8"))["conduct"]
    with open_tape(paths["tape"], paths["totals"]) as tape:
        assert tape.ok
        yield truth, tape.bank("LB01"), compute_metrics(tape, "LB01", PERIOD).conduct


def test_over_crediting_shares(generated):
    truth, _, doc = generated
    end = truth["by_month"]["2025-06"]
    assert doc.bureau_coverage_share == 1.0
    assert doc.multi_lender_balance_share == pytest.approx(end["multi_lender_cny"] / end["smb_balance_cny"], rel=1e-9)
    assert doc.over_revenue_balance_share == pytest.approx(end["over_revenue_cny"] / end["smb_balance_cny"], rel=1e-9)
    assert 0 < doc.multi_lender_balance_share < 1 and 0 < doc.over_revenue_balance_share < 1


def test_lender_distribution_adds_up(generated):
    truth, bank, _ = generated
    frame = conduct.lender_distribution(bank, PERIOD.end)
    assert frame["balance_cny"].sum() == pytest.approx(truth["by_month"]["2025-06"]["smb_balance_cny"], rel=1e-9)
    assert frame.loc[frame.index >= 3, "balance_cny"].sum() == pytest.approx(
        truth["by_month"]["2025-06"]["multi_lender_cny"], rel=1e-9)


def test_concentration_at_start_and_end(generated):
    truth, _, doc = generated
    start, end = truth["by_month"]["2024-12"], truth["by_month"]["2025-06"]
    for p in (1, 10):
        assert doc.get(f"top{p}_start_balance_share") == pytest.approx(start[f"top{p}_share"], rel=1e-9)
        assert doc.get(f"top{p}_end_balance_share") == pytest.approx(end[f"top{p}_share"], rel=1e-9)
        assert doc.get(f"top{p}_balance_share_change_pp") == pytest.approx(
            (end[f"top{p}_share"] - start[f"top{p}_share"]) * 100, abs=1e-9)


def test_self_paid_share_and_loans_above_the_limit(generated):
    truth, _, doc = generated
    months = [truth["by_month"][m] for m in MONTHS]
    assert doc.self_paid_amount_share == pytest.approx(
        sum(m["new_smb_self_cny"] for m in months) / sum(m["new_smb_amount_cny"] for m in months), rel=1e-9)
    assert doc.self_paid_above_max_count == sum(m["self_above_max_count"] for m in months) > 0
    assert doc.self_paid_above_max_cny == pytest.approx(sum(m["self_above_max_cny"] for m in months), rel=1e-9)


def test_borrowers_new_to_banking(generated):
    truth, bank, doc = generated
    expected = sum(truth["by_month"][m]["first_bank_loan_borrowers"] for m in MONTHS)
    assert doc.no_bank_loan_borrowers_count == expected > 0
    assert doc.no_bank_loan_share == pytest.approx(expected / conduct.first_bank_loans(bank, PERIOD)["borrowers"])
