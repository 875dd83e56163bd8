"""Every CSV the package exports goes through the CSV-export rule (docs/data-contract.md §17)."""
from __future__ import annotations

import pandas as pd

from pucredit.analyses.quality import write_audit_sample


def test_the_audit_sample_neutralises_formulas_and_keeps_numbers(tmp_path):
    sample = pd.DataFrame({"loan_id": ['=HYPERLINK("http://x","y")', "L2"], "branch_id": ["@SUM(A1)", "B1"],
                           "balance_cny": [-5.0, 100.0], "audit_note": ["", "+1"]})
    text = write_audit_sample(sample, tmp_path / "audit.csv").read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK" in text and "'@SUM" in text
    assert ",-5.0," in text  # a number stays a number
    assert "\n=" not in text and ",=" not in text


def test_a_peers_key_round_trips_a_bank_id_that_starts_with_a_minus(tmp_path):
    from pucredit.analyses.peers import KEY_FILE, export, read_key

    key = pd.DataFrame({"code": ["A", "B"], "bank_id": ["-A1", "B2"]})
    export(pd.DataFrame({"x": [1.0, 2.0]}, index=pd.Index(["A", "B"], name="bank")), key, tmp_path)
    assert "'-A1" in (tmp_path / KEY_FILE).read_text(encoding="utf-8-sig")  # safe in Excel
    assert read_key(tmp_path / KEY_FILE)["bank_id"].tolist() == ["-A1", "B2"]  # and read back as it was
