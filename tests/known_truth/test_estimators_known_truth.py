"""The estimators recover the synthetic generator's true values (pucredit.synth; DESIGN: known-truth tests).

Each test states its tolerance and why. Tapes are generated once per module into a temporary folder:
two demo banks' data-generating processes scaled to about 150,000 rows (a few seconds each).
"""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from pucredit.analyses import first_loans
from pucredit.analyses import renewals
from pucredit.analyses import risk
from pucredit.analyses.metrics import compute_metrics
from pucredit.config import reference
from pucredit.config.periods import parse_period
from pucredit.estimators.passthrough import estimate_passthrough
from pucredit.synth import DEMO_BANKS, generate, scaled
from pucredit.engine.tape import open_tape


@pytest.fixture(scope="module", params=["LB01", "CB01"])
def generated(request, tmp_path_factory):
    config = replace(scaled(DEMO_BANKS[request.param], 150_000), seed=DEMO_BANKS[request.param].seed + 7)
    paths = generate(config, tmp_path_factory.mktemp(request.param))
    truth = json.loads(paths["truth"].read_text(encoding="utf-8"))
    with open_tape(paths["tape"], paths["totals"]) as tape:
        assert tape.ok
        yield config, truth, tape


def test_passthrough_recovers_the_ecm(generated):
    """θ within 0.1, β and γ within 0.2 of the truth, and the 95 % interval of θ covers it. The tolerances are
    about three times the spread of the estimates over seeds measured on the real LPR path (about 0.03 for
    θ and 0.07 for β and γ with 70 months and 12 LPR changes)."""
    config, truth, tape = generated
    fit = compute_metrics(tape, config.bank_id, "2025H1").to_dict()["pricing"]["passthrough"]
    true = truth["passthrough"]
    assert fit["reason"] is None and fit["n_months"] == 70
    assert abs(fit["long_run"] - true["long_run"]) < 0.1
    assert abs(fit["short_run"] - true["short_run"]) < 0.2
    assert abs(fit["adjustment_speed"] - true["adjustment_speed"]) < 0.2
    low, high = fit["long_run_ci"]
    assert low <= true["long_run"] <= high


def test_passthrough_estimator_is_unbiased_on_simulated_series(tmp_path):
    """30 series simulated from the ECM on the real 1Y LPR path: the mean of θ̂ is within 0.02 of θ and
    the 95 % intervals cover θ in at least 80 % of them (a binomial band around 95 % for 30 draws)."""
    lpr = reference.load_lpr()
    months = pd.date_range("2019-09-01", "2025-06-01", freq="MS")
    x = reference.applicable_lpr((months + pd.Timedelta(days=24)).to_numpy(), lpr)
    alpha, theta, beta, gamma, sigma = 1.0, 0.9, 0.4, -0.35, 0.02
    rng = np.random.default_rng(1)
    estimates, covered = [], 0
    for _ in range(30):
        m = np.empty(len(x))
        m[0] = alpha + theta * x[0]
        for t in range(1, len(x)):
            m[t] = m[t - 1] + beta * (x[t] - x[t - 1]) + gamma * (m[t - 1] - alpha - theta * x[t - 1]) + rng.normal(0, sigma)
        fit = estimate_passthrough(pd.DataFrame({"rate_pct": m, "lpr_1y_pct": x}, index=months), lpr)
        estimates.append(fit.long_run)
        covered += fit.long_run_ci[0] <= theta <= fit.long_run_ci[1]
    assert abs(np.mean(estimates) - theta) < 0.02
    assert covered >= 24


def test_lag_selection_finds_the_generating_order():
    """30 series from the one-lag ECM and 30 with a lagged rate change added (φ = 0.5, an ARDL(2, 1)) on the
    real 1Y LPR path: the BIC picks (1, 1) in at least 24 of the first (27 of 30 measured) and a rate order
    of 2 in at least 24 of the second (29 of 30 measured); the orders stay within the bound of 3."""
    lpr = reference.load_lpr()
    months = pd.date_range("2019-09-01", "2025-06-01", freq="MS")
    x = reference.applicable_lpr((months + pd.Timedelta(days=24)).to_numpy(), lpr)
    alpha, theta, beta, gamma, sigma = 1.0, 0.9, 0.4, -0.35, 0.02
    for phi, want in ((0.0, lambda p, q: (p, q) == (1, 1)), (0.5, lambda p, q: p == 2)):
        rng = np.random.default_rng(3)
        hits = 0
        for _ in range(30):
            m = np.empty(len(x))
            m[:2] = alpha + theta * x[:2]
            for t in range(2, len(x)):
                m[t] = (m[t - 1] + beta * (x[t] - x[t - 1]) + gamma * (m[t - 1] - alpha - theta * x[t - 1])
                        + phi * (m[t - 1] - m[t - 2]) + rng.normal(0, sigma))
            fit = estimate_passthrough(pd.DataFrame({"rate_pct": m, "lpr_1y_pct": x}, index=months), lpr)
            assert fit.lag_criterion == "bic" and 1 <= fit.lags_rate <= 3 and 1 <= fit.lags_lpr <= 3
            hits += want(fit.lags_rate, fit.lags_lpr)
        assert hits >= 24


def test_passthrough_refuses_short_windows_and_degenerate_series():
    """Fewer than 24 months, fewer than 2 LPR changes, or rates that never move: every estimate None,
    with the reason."""
    lpr = reference.load_lpr()
    months = pd.date_range("2020-01-01", periods=40, freq="MS")
    short = pd.DataFrame({"rate_pct": np.linspace(5, 4, 12), "lpr_1y_pct": np.linspace(4, 3.5, 12)},
                         index=months[:12])
    assert "24" in estimate_passthrough(short, lpr).reason
    one_fixing = lpr.iloc[:1]  # a table with a single fixing has no change at all
    moving = pd.DataFrame({"rate_pct": np.linspace(5, 4, 40), "lpr_1y_pct": np.linspace(4, 3.5, 40)}, index=months)
    fit = estimate_passthrough(moving, one_fixing)
    assert fit.long_run is None and "change" in fit.reason
    flat = pd.DataFrame({"rate_pct": np.full(40, 4.5), "lpr_1y_pct": np.full(40, 3.85)}, index=months)
    fit = estimate_passthrough(flat, lpr)
    assert fit.long_run is None and fit.reason


def test_first_loan_metrics_equal_the_truth(generated):
    """Same definition on both sides: the contract's first-loan counts for 2024 equal the generator's record
    exactly, and the first-loan share of new borrowers is within 4 binomial standard errors of the truth."""
    config, truth, tape = generated
    got = compute_metrics(tape, config.bank_id, "2024").to_dict()["first_loans"]
    want = truth["first_loans"]["inclusive_smb_metric_by_year"]["2024"]
    for key in ("borrowers_originated", "first_loan_borrowers"):
        assert got[key] == want[key]
    borrowers = truth["first_loans"]["new_borrowers_window"]["inclusive_smb"]
    realised, true = borrowers["first_loan_borrowers"] / borrowers["new_borrowers"], truth["first_loans"]["first_loan_share"]
    assert abs(realised - true) < 4 * np.sqrt(true * (1 - true) / borrowers["new_borrowers"])


def test_growth_equals_the_realised_truth(generated):
    """Year-to-date growth in 2024 equals the generator's realised growth (1e-9), and is within 8 pp of the
    configured annual rate (realised growth is lumpy on a small book with heavy-tailed credit lines: up to
    6 pp off the configured rate in the seeds tried)."""
    config, truth, tape = generated
    volume = compute_metrics(tape, config.bank_id, "2024").to_dict()["volume"]
    realised = truth["volume"]["ytd_growth"]["inclusive_smb"]["2024"]
    assert volume["inclusive_smb_growth"] == pytest.approx(realised, abs=1e-9)
    assert abs(volume["inclusive_smb_growth"] - truth["volume"]["annual_growth_true"]["inclusive_smb"]) < 0.08


def test_default_hazard_and_first_loan_multiplier(generated):
    """The monthly default hazard of inclusive_smb loans, estimated from the tape (onset: first row with
    days_past_due >= 60), is within 4 Poisson standard errors of the truth; the first-loan odds ratio of
    default within 12 months has a 95 % interval covering the true hazard multiplier (for hazards this
    small the odds ratio and the hazard ratio agree to about 1 %)."""
    config, truth, tape = generated
    bank = tape.bank(config.bank_id)
    row = bank.sql("""
        WITH onset AS (SELECT loan_id, min(as_of) AS onset_month FROM {loans} WHERE seg_inclusive_smb AND days_past_due >= 60
                       GROUP BY loan_id),
             months AS (SELECT l.loan_id, l.as_of FROM {loans} l LEFT JOIN onset o USING (loan_id)
                        WHERE l.seg_inclusive_smb AND (o.onset_month IS NULL OR l.as_of < o.onset_month))
        SELECT (SELECT count(*) FROM onset WHERE onset_month > (SELECT min(as_of) FROM {loans})) AS defaults,
               (SELECT count(*) FROM months) AS loan_months
    """).iloc[0]
    true = truth["default"]["by_segment"]["inclusive_smb"]["true_monthly"]
    expected = true * row["loan_months"]
    assert abs(row["defaults"] - expected) < 4 * np.sqrt(expected)
    odds = first_loans.default_odds(first_loans.loan_histories(bank, parse_period("2024").end))
    low, high = np.exp(odds.conf_int().loc["is_first_loan"])
    assert low <= truth["default"]["first_loan_hazard_multiplier"] <= high


def test_renewal_chains_equal_the_truth(generated):
    """Same definitions on both sides, so exact: renewals linked by predecessor_loan_id, chains, chains whose
    default is on a renewal, and the 12-month default rate of inclusive_smb first loans along their chain."""
    config, truth, tape = generated
    chains = truth["renewals"]["chains"]
    bank = tape.bank(config.bank_id)
    facts = renewals.chain_facts(bank)
    assert facts == {"linked_renewals": chains["linked_renewals"], "unlinked_renewals": 0,
                     "chains": chains["chains"], "defaults_on_renewals": chains["defaults_on_renewals"]}
    assert chains["defaults_on_renewals"] > 0
    follow = first_loans.follow_up(first_loans.loan_histories(bank, bank.months[-1])).loc["first"]
    assert follow["loans"] == chains["first_loans_followed"]
    assert follow["default_rate"] == pytest.approx(chains["first_loan_default_rate_chain"], abs=1e-12)
    assert "predecessor_not_in_tape" not in tape.findings.by_rule().get("warning", {})


def test_renewals_without_the_column_are_unlinked(generated, tmp_path):
    """The same tape without predecessor_loan_id: every linked renewal becomes an unlinked one, first loans'
    defaults are their own again, and the migration matrix shows renewed (unlinked) loans, not exits."""
    config, truth, tape = generated
    chains = truth["renewals"]["chains"]
    path = tmp_path / "unlinked.parquet"
    pq.write_table(pq.read_table(tape.path).drop_columns(["predecessor_loan_id"]), path)
    with open_tape(path) as plain:
        bank = plain.bank(config.bank_id)
        facts = renewals.chain_facts(bank)
        assert (facts["linked_renewals"], facts["chains"]) == (0, 0)
        assert facts["unlinked_renewals"] == chains["linked_renewals"]
        follow = first_loans.follow_up(first_loans.loan_histories(bank, bank.months[-1])).loc["first"]
        assert follow["default_rate"] == pytest.approx(chains["first_loan_default_rate_own"], abs=1e-12)
        matrix = risk.migration_matrix(bank, bank.months[-13], bank.months[-1])
        assert matrix.loc["normal", "renewed_unlinked"] > 0
