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
