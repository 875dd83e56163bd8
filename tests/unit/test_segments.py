"""A segment added only in a policy file shows up in the volume, pricing and risk results (issue 11, 二(三)).

The segment here is credit (信用) loans to inclusive small-micro borrowers: ``within: inclusive_smb`` and
``guarantees: [credit]``, with a 3 pp tolerance. No code knows its name.
"""
from __future__ import annotations

import pytest
import yaml

from pucredit.analyses.metrics import compute_metrics
from pucredit.config.paths import POLICY_DIR
from pucredit.config.policy import load_policy
from pucredit.engine.segments import registry
from pucredit.engine.tape import open_tape
from tests.unit.test_metrics import ROWS

SMB_CREDIT = {"label_zh": "普惠型小微企业信用贷款", "label_en": "Credit loans to inclusive small-micro borrowers",
              "clause": "二(三)", "basis": "inclusive_smb loans without collateral or guarantee",
              "source": "test", "status": "unconfirmed",
              "rules": [{"within": "inclusive_smb", "guarantees": ["credit"]}]}


@pytest.fixture
def policy_file(tmp_path):
    data = yaml.safe_load((POLICY_DIR / "2024.yaml").read_text(encoding="utf-8"))
    data["segments"]["smb_credit"] = SMB_CREDIT
    data["tolerances"]["segments"]["smb_credit"] = {"value_pp": 3.0, "comparator": "actual_total_npl_ratio",
                                                     "source": "test", "status": "unconfirmed"}
    path = tmp_path / "2024-with-smb-credit.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_a_policy_file_segment_appears_in_volume_pricing_and_risk(write_tape, policy_file):
    # L1 (inclusive small-micro, 1,000,000 at the base date, 900,000 at the end) is collateralised: not credit
    rows = [{**row, "guarantee": "collateral"} if row["loan_id"] == "L1" else row for row in ROWS]
    with open_tape(write_tape(rows)) as tape:
        doc = compute_metrics(tape, "T1", "2024H1", load_policy(policy_file))
    v, p, k = doc.volume, doc.pricing, doc.risk
    # credit small-micro loans: base L2 100,000; end L2 100,000 + L5 500,000 + L7 300,000 = 900,000
    assert v.of("smb_credit", "balance_base_cny") == 100_000
    assert v.of("smb_credit", "balance_cny") == 900_000
    assert v.of("smb_credit", "growth") == pytest.approx(900_000 / 100_000 - 1)
    # new in 2024H1: L5 500,000 at 4.0 % and L7 300,000 at 5.0 % -> (2,000,000 + 1,500,000) / 800,000 = 4.375 %
    assert p.of("smb_credit", "new_amount_cny") == 800_000 and p.of("smb_credit", "new_loans") == 2
    assert p.of("smb_credit", "new_rate_pct") == pytest.approx(4.375)
    # non-performing at the end: L2 (substandard) 100,000 of 900,000
    assert k.of("smb_credit", "npl_ratio") == pytest.approx(100_000 / 900_000)
    assert k.of("smb_credit", "npl_headroom_pp") == pytest.approx(k.total_npl_ratio * 100 + 3.0 - 100 / 9)
    assert '"smb_credit_new_rate_pct"' in doc.to_json()


def test_a_segment_the_tape_cannot_tell_is_not_applicable(write_tape):
    """poverty_household needs the optional is_poverty_household column: without it, a note, not a number."""
    with open_tape(write_tape(ROWS)) as tape:
        segments = registry(load_policy("2024"), tape.columns)
        doc = compute_metrics(tape, "T1", "2024H1")
    assert segments["poverty_household"].missing == ("is_poverty_household", "product")  # flag or product (issue 17)
    assert doc.volume.of("poverty_household", "balance_cny") is None
    assert "is_poverty_household" in doc.volume.notes["poverty_household"]


def test_policy_file_refuses_a_target_on_an_unknown_segment(tmp_path):
    from pucredit.contract.errors import InputError

    data = yaml.safe_load((POLICY_DIR / "2024.yaml").read_text(encoding="utf-8"))
    data["targets"]["targets"].append({**data["targets"]["targets"][0], "segment": "nonexistent"})
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(InputError, match="nonexistent"):
        load_policy(path)
