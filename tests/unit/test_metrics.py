"""Every metric key on a hand-made tape whose answers are worked out by hand below."""
from __future__ import annotations

import json

import pytest

from pucredit.cli import main
from pucredit.analyses.metrics import compute_metrics
from pucredit.engine.tape import open_tape

# Bank T1, snapshots at the base date 2023-12-31 and the period end 2024-06-30 (period 2024H1).
BASE, END = "2023-12-31", "2024-06-30"
SMB = dict(borrower_type="small_micro_enterprise", is_business="true")
ROWS = [
    # at the base date: total 6,300,000; inclusive_smb 1,100,000 (L1, L2); inclusive_agri 200,000 (L4)
    dict(as_of=BASE, loan_id="L1", borrower_id="B1", credit_line_cny=5_000_000, balance_cny=1_000_000,
         amount_cny=1_000_000, **SMB),
    dict(as_of=BASE, loan_id="L2", borrower_id="B2", borrower_type="individual_business", credit_line_cny=400_000,
         balance_cny=100_000, amount_cny=100_000, risk_class="substandard", days_past_due=120),
    dict(as_of=BASE, loan_id="L3", borrower_id="B3", borrower_type="other_enterprise", credit_line_cny=50_000_000,
         balance_cny=5_000_000, amount_cny=5_000_000),
    dict(as_of=BASE, loan_id="L4", borrower_id="B4", borrower_type="farmer", is_agri="true", credit_line_cny=300_000,
         balance_cny=200_000, amount_cny=200_000),
    # at the period end
    dict(as_of=END, loan_id="L1", borrower_id="B1", credit_line_cny=5_000_000, balance_cny=900_000,
         amount_cny=1_000_000, **SMB),
    dict(as_of=END, loan_id="L2", borrower_id="B2", borrower_type="individual_business", credit_line_cny=400_000,
         balance_cny=100_000, amount_cny=100_000, risk_class="substandard", days_past_due=300),
    dict(as_of=END, loan_id="L3", borrower_id="B3", borrower_type="other_enterprise", credit_line_cny=50_000_000,
         balance_cny=5_000_000, amount_cny=5_000_000),
    dict(as_of=END, loan_id="L4", borrower_id="B4", borrower_type="farmer", is_agri="true", credit_line_cny=300_000,
         balance_cny=150_000, amount_cny=200_000, risk_class="doubtful", days_past_due=200),
    # new in 2024H1. L5: first loan, 1Y LPR on 2024-03-15 is 3.45 (fixing of 2024-02-20), spread 0.55
    dict(as_of=END, loan_id="L5", borrower_id="B5", borrower_type="micro_owner", credit_line_cny=2_000_000,
         amount_cny=500_000, balance_cny=500_000, rate_pct=4.0, origination_date="2024-03-15",
         is_first_loan="true", is_business="true"),
    # L6: credit line 12,000,000 is above the 10,000,000 threshold: not inclusive
    dict(as_of=END, loan_id="L6", borrower_id="B6", credit_line_cny=12_000_000, amount_cny=3_000_000,
         balance_cny=3_000_000, rate_pct=3.6, origination_date="2024-05-10", **SMB),
    # L7: repeat borrower B2, 1Y LPR 3.45, spread 1.55
    dict(as_of=END, loan_id="L7", borrower_id="B2", borrower_type="individual_business", credit_line_cny=400_000,
         amount_cny=300_000, balance_cny=300_000, rate_pct=5.0, origination_date="2024-06-05"),
    # L8: farmer line 6,000,000 is above the 5,000,000 farmer threshold: not inclusive agri
    dict(as_of=END, loan_id="L8", borrower_id="B8", borrower_type="farmer", is_agri="true", credit_line_cny=6_000_000,
         amount_cny=1_000_000, balance_cny=1_000_000, rate_pct=4.2, origination_date="2024-04-01"),
    # L9: inclusive agri, new
    dict(as_of=END, loan_id="L9", borrower_id="B9", borrower_type="farmer", is_agri="true", credit_line_cny=100_000,
         amount_cny=100_000, balance_cny=100_000, rate_pct=4.5, origination_date="2024-02-01"),
]


@pytest.fixture
def metrics(write_tape):
    with open_tape(write_tape(ROWS)) as tape:
        assert tape.ok, [str(p) for p in tape.findings.errors]
        return compute_metrics(tape, "T1", "2024H1").to_dict()


def test_header(metrics):
    assert (metrics["bank_id"], metrics["period"], metrics["policy"]) == ("T1", "2024H1", "2024")
    assert (metrics["period_start"], metrics["period_end"]) == ("2024-01-01", "2024-06-30")
    prov = metrics["provenance"]
    assert len(prov["tape_sha256"]) == 64 and len(prov["params_sha256"]) == 64
    assert prov["totals_source"] == "tape"


def test_volume(metrics):
    v = metrics["volume"]
    # end: L1 900k + L2 100k + L5 500k + L7 300k = 1,800,000; base: L1 1,000k + L2 100k = 1,100,000
    assert v["inclusive_smb_balance_cny"] == 1_800_000
    assert v["inclusive_smb_balance_base_cny"] == 1_100_000
    assert v["inclusive_smb_growth"] == pytest.approx(1_800_000 / 1_100_000 - 1)
    # all loans: end 900+100+5000+150+500+3000+300+1000+100 = 11,050k; base 6,300k
    assert v["total_loans_balance_cny"] == 11_050_000
    assert v["total_loans_growth"] == pytest.approx(11_050_000 / 6_300_000 - 1)
    assert v["inclusive_smb_growth_gap_pp"] == pytest.approx((1.8 / 1.1 - 11.05 / 6.3) * 100)  # -11.76 pp
    assert v["inclusive_smb_target_met"] is False
    # agri: end L4 150k + L9 100k = 250k (L8 above the farmer threshold); base L4 200k
    assert v["inclusive_agri_balance_cny"] == 250_000
    assert v["inclusive_agri_growth"] == pytest.approx(0.25)
    assert v["inclusive_agri_target_met"] is False  # 25 % < 75.4 %
    assert v["inclusive_smb_borrowers"] == 3  # B1, B2 (L2 and L7), B5


def test_pricing(metrics):
    p = metrics["pricing"]
    assert p["inclusive_smb_new_amount_cny"] == 800_000  # L5 500k + L7 300k
    assert p["inclusive_smb_new_rate_pct"] == pytest.approx((500_000 * 4.0 + 300_000 * 5.0) / 800_000)  # 4.375
    assert p["inclusive_smb_new_spread_pp"] == pytest.approx((500_000 * 0.55 + 300_000 * 1.55) / 800_000)  # 0.925
    assert p["inclusive_agri_new_rate_pct"] == pytest.approx(4.5)  # L9 only
    pt = p["passthrough"]
    assert pt["long_run"] is None and pt["n_months"] < 24 and "24" in pt["reason"]


def test_first_loans(metrics):
    f = metrics["first_loans"]
    assert f["borrowers_originated"] == 2  # B5 (L5), B2 (L7)
    assert f["first_loan_borrowers"] == 1  # B5
    assert f["first_loan_share"] == 0.5
    assert f["first_loan_amount_cny"] == 500_000
    assert f["first_loan_new_rate_pct"] == pytest.approx(4.0)
    assert f["repeat_new_rate_pct"] == pytest.approx(5.0)


def test_risk(metrics):
    r = metrics["risk"]
    assert r["inclusive_smb_npl_ratio"] == pytest.approx(100_000 / 1_800_000)  # L2
    assert r["total_npl_ratio"] == pytest.approx(250_000 / 11_050_000)  # L2 + L4
    assert r["tolerance_pp"] == 3.0
    headroom = 250_000 / 11_050_000 * 100 + 3 - 100_000 / 1_800_000 * 100  # 2.262 + 3 - 5.556 = -0.293
    assert r["inclusive_smb_npl_headroom_pp"] == pytest.approx(headroom)
    # in yuan the segment's extra NPLs raise the all-loan ratio too: x = (t + k − s)·S·T/(T − S)
    assert r["inclusive_smb_npl_headroom_cny"] == pytest.approx(
        headroom / 100 * 1_800_000 * 11_050_000 / (11_050_000 - 1_800_000), abs=0.01)
    assert r["inclusive_smb_within_tolerance"] is False
    assert r["inclusive_agri_npl_ratio"] == pytest.approx(150_000 / 250_000)  # L4


def test_quality(metrics):
    q = metrics["quality"]
    assert q["rows"] == len(ROWS) and q["errors"] == 0


def test_totals_file_is_used(write_tape, tmp_path):
    totals = tmp_path / "totals.csv"
    totals.write_text("机构编码,数据日期,各项贷款余额,各项贷款不良余额\n"
                      f"T1,{BASE},20000000,200000\nT1,{END},22000000,330000\n", encoding="utf-8")
    with open_tape(write_tape(ROWS), totals) as tape:
        m = compute_metrics(tape, "T1", "2024H1").to_dict()
    assert m["provenance"]["totals_source"] == "totals_file"
    assert m["volume"]["total_loans_growth"] == pytest.approx(22 / 20 - 1)  # 10 %
    assert m["volume"]["inclusive_smb_target_met"] is True  # 63.6 % >= 10 %
    assert m["risk"]["total_npl_ratio"] == pytest.approx(330_000 / 22_000_000)  # 1.5 %


def test_command_writes_json(write_tape, tmp_path, capsys):
    out = tmp_path / "m.json"
    assert main(["metrics", "--tape", str(write_tape(ROWS)), "--bank", "T1", "--period", "2024H1",
                 "--out", str(out)]) == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    for section, keys in {
        "volume": ["inclusive_smb_balance_cny", "inclusive_smb_balance_base_cny", "inclusive_smb_growth",
                   "total_loans_balance_cny", "total_loans_growth", "inclusive_smb_growth_gap_pp",
                   "inclusive_smb_target_met", "inclusive_agri_balance_cny", "inclusive_agri_growth",
                   "inclusive_agri_target_met", "inclusive_smb_borrowers"],
        "pricing": ["inclusive_smb_new_amount_cny", "inclusive_smb_new_rate_pct", "inclusive_smb_new_spread_pp",
                    "inclusive_agri_new_rate_pct", "passthrough"],
        "first_loans": ["borrowers_originated", "first_loan_borrowers", "first_loan_share",
                        "first_loan_amount_cny", "first_loan_new_rate_pct", "repeat_new_rate_pct"],
        "risk": ["inclusive_smb_npl_ratio", "total_npl_ratio", "tolerance_pp", "inclusive_smb_npl_headroom_pp",
                 "inclusive_smb_within_tolerance", "inclusive_agri_npl_ratio"],
        "quality": ["rows", "errors", "warnings"],
        "provenance": ["tape_sha256", "params_sha256", "pucredit_version"],
    }.items():
        assert set(keys) <= set(data[section]), section
    assert set(data["pricing"]["passthrough"]) >= {"long_run", "short_run", "adjustment_speed",
                                                   "half_life_months", "n_months"}
    assert "from the tape" in capsys.readouterr().err
