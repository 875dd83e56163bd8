"""Which targets of notice 二(一) bind a bank, by its category and its local office's targets."""
from __future__ import annotations

import pytest

from pucredit.analyses.metrics import compute_metrics
from pucredit.analyses.volume import assess_target
from pucredit.config.policy import BankTerms, load_policy
from pucredit.engine.tape import open_tape
from tests.unit.test_metrics import ROWS

POLICY = load_policy("2024")
AGRI, SMB, COUNTY = POLICY.target("inclusive_agri"), POLICY.target("inclusive_smb"), POLICY.target("key_county")


@pytest.mark.parametrize("category, binds", [("large", True), ("joint_stock", True), ("city_commercial", False),
                                             ("rural", False), ("policy", False), (None, True)])
def test_agri_growth_target_binds_large_and_joint_stock_banks(category, binds):
    assessed = assess_target(AGRI, BankTerms(category=category), 0.05, 0.03, "agri")
    assert assessed.binding is binds
    assert assessed.met is (True if binds else None)
    if not binds:
        assert assessed.reason.startswith("reference, not a regulatory target for this bank")


def test_key_county_target_binds_policy_and_large_banks_only():
    assert assess_target(COUNTY, BankTerms(category="policy"), -0.01, 0.03, "county").met is False
    assert assess_target(COUNTY, BankTerms(category="rural"), -0.01, 0.03, "county").met is None


def test_small_micro_target_binds_every_bank():
    assert assess_target(SMB, BankTerms(category="rural"), 0.02, 0.03, "smb").met is False  # 2 % < 3 %


def test_a_local_office_target_overrides():
    """A rural bank whose office set a 5 % floor: 4 % misses it, 6 % meets it, whatever all loans did."""
    terms = BankTerms(category="rural", targets={"inclusive_agri_growth_min_pct": 5.0})
    assert (assess_target(AGRI, terms, 0.04, 0.01, "agri").basis, assess_target(AGRI, terms, 0.04, 0.01, "agri").met) \
        == ("local_office", False)
    assert assess_target(AGRI, terms, 0.06, 0.10, "agri").met is True
    none = BankTerms(category="rural", targets={"inclusive_agri_growth_min_pct": "none"})
    assert assess_target(AGRI, none, 0.06, 0.10, "agri").met is None


def test_metrics_of_a_rural_bank(write_tape):
    with open_tape(write_tape(ROWS)) as tape:
        rural = compute_metrics(tape, "T1", "2024H1", terms=BankTerms(category="rural")).volume
        unknown = compute_metrics(tape, "T1", "2024H1").volume
    assert rural.inclusive_agri_target_met is None and rural.inclusive_agri_target_basis == "reference"
    assert "not a regulatory target for this bank" in rural.notes["inclusive_agri_target_met"]
    assert rural.inclusive_agri_growth == unknown.inclusive_agri_growth  # the growth is still shown
    assert unknown.inclusive_agri_target_met is not None and "category" in unknown.notes
    # 涉农 (all agri loans: L4 and L8, L9): balance growing is a target for every bank
    assert rural.agri_loans_balance_growing is not None


def test_a_totals_file_agri_balance_replaces_the_tapes(write_tape, tmp_path):
    """涉农贷款余额 from the totals file (the tape does not hold every agri loan): 2,000,000 at the base date and
    2,200,000 at the end give growth 10 %, whatever the tape's agri loans sum to."""
    import csv

    totals = tmp_path / "totals.csv"
    with open(totals, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["bank_id", "as_of", "total_loans_cny", "total_npl_cny", "agri_loans_cny"])
        writer.writerow(["T1", "2023-12-31", 20_000_000, 300_000, 2_000_000])
        writer.writerow(["T1", "2024-06-30", 21_000_000, 300_000, 2_200_000])
    with open_tape(write_tape(ROWS), totals) as tape:
        assert tape.ok, [str(p) for p in tape.findings.errors]
        volume = compute_metrics(tape, "T1", "2024H1").volume
    assert volume.agri_loans_balance_cny == 2_200_000 and volume.agri_loans_growth == pytest.approx(0.10)
    assert volume.agri_loans_balance_growing is True
