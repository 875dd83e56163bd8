"""Issue 17 on a hand-made tape: priority sectors (三(四)), poverty micro-loans and student loans (三(六)), write-offs,
NPL exits and 偏离度 (四(九)), the industry_code check, and the sections with the new columns dropped."""
from __future__ import annotations

import copy

import matplotlib
import pytest

from pucredit.analyses.metrics import compute_metrics
from pucredit.engine.tape import open_tape
from pucredit.report import context as report
from pucredit.report.sections import priorities

matplotlib.use("Agg")

BASE, END = "2023-12-31", "2024-06-30"
FLAGS = dict(industry_code="C", is_tech_sme="false", is_specialized_sme="false", is_green="false",
             is_foreign_trade="false", product="general", predecessor_loan_id="")
SMB = dict(borrower_type="small_micro_enterprise", is_business="true", credit_line_cny=2_000_000)
POOR = dict(borrower_type="farmer", is_agri="true", is_business="true", is_poverty_household="true",
            guarantee="credit", credit_line_cny=60_000)
ROWS = [
    # S1: wholesale (F), tech SME; 400,000 at the base date, 300,000 at the end, originated before the period
    *(dict(as_of=d, loan_id="S1", borrower_id="B1", balance_cny=b, amount_cny=400_000, **SMB,
           **{**FLAGS, "industry_code": "F", "is_tech_sme": "true"}) for d, b in ((BASE, 400_000), (END, 300_000))),
    # S2: retail (52), green; new 2024-03-15 for two years (medium/long term), 4.0 % against the 1Y LPR 3.45
    dict(as_of=END, loan_id="S2", borrower_id="B2", balance_cny=200_000, amount_cny=200_000, rate_pct=4.0,
         origination_date="2024-03-15", maturity_date="2026-03-15", **SMB,
         **{**FLAGS, "industry_code": "52", "is_green": "true"}),
    # S3: catering (H), foreign trade; new 2024-04-10 for exactly one year (short term)
    dict(as_of=END, loan_id="S3", borrower_id="B3", balance_cny=100_000, amount_cny=100_000, rate_pct=5.0,
         origination_date="2024-04-10", maturity_date="2025-04-10", **SMB,
         **{**FLAGS, "industry_code": "H", "is_foreign_trade": "true"}),
    # S4: wholesale and tech, but other_enterprise: not inclusive small-micro, in no sector
    *(dict(as_of=d, loan_id="S4", borrower_id="B4", borrower_type="other_enterprise", is_business="true",
           credit_line_cny=50_000_000, balance_cny=1_000_000, amount_cny=1_000_000,
           **{**FLAGS, "industry_code": "F", "is_tech_sme": "true"}) for d in (BASE, END)),
    # X1: inclusive small-micro, non-performing at the base date, gone at the end: an NPL exit of 80,000
    dict(as_of=BASE, loan_id="X1", borrower_id="B5", balance_cny=80_000, amount_cny=80_000, risk_class="substandard",
         days_past_due=120, **SMB, **FLAGS),
    # R1 non-performing at the base date, replaced by the renewal R2 (predecessor R1): not an exit
    dict(as_of=BASE, loan_id="R1", borrower_id="B6", balance_cny=70_000, amount_cny=70_000, risk_class="substandard",
         days_past_due=95, **SMB, **FLAGS),
    dict(as_of=END, loan_id="R2", borrower_id="B6", balance_cny=70_000, amount_cny=70_000, risk_class="substandard",
         days_past_due=95, is_renewal="true", origination_date="2023-12-31",
         maturity_date="2024-12-31", **SMB, **{**FLAGS, "predecessor_loan_id": "R1"}),
    # D1: 100 days past due but classed special mention: in 90+ days, not in NPL
    dict(as_of=END, loan_id="D1", borrower_id="B7", balance_cny=30_000, amount_cny=30_000,
         risk_class="special_mention", days_past_due=100, **SMB, **FLAGS),
    # P1: poverty micro-loan keeping every rule: 50,000, 36 months, credit, at the 1Y LPR of 2024-02-01 (3.45)
    dict(as_of=END, loan_id="P1", borrower_id="B8", balance_cny=50_000, amount_cny=50_000, rate_pct=3.45,
         origination_date="2024-02-01", maturity_date="2027-02-01", **POOR, **{**FLAGS, "product": "poverty_microloan"}),
    # P2 breaks all four: 60,000, 48 months, guaranteed, 4.0 % > 3.45
    dict(as_of=END, loan_id="P2", borrower_id="B9", balance_cny=60_000, amount_cny=60_000, rate_pct=4.0,
         origination_date="2024-05-01", maturity_date="2028-05-01",
         **{**POOR, "guarantee": "guarantee"}, **{**FLAGS, "product": "poverty_microloan"}),
    # P3: by product only (flag false), compliant: 30,000, 12 months, credit, 3.45
    dict(as_of=END, loan_id="P3", borrower_id="B10", balance_cny=30_000, amount_cny=30_000, rate_pct=3.45,
         origination_date="2024-06-01", maturity_date="2025-06-01",
         **{**POOR, "is_poverty_household": "false"}, **{**FLAGS, "product": "poverty_microloan"}),
    # ST: a student loan, 20,000 at the base date, 15,000 at the end
    *(dict(as_of=d, loan_id="ST", borrower_id="B11", borrower_type="other_individual", is_business="false",
           credit_line_cny=20_000, balance_cny=b, amount_cny=20_000, **{**FLAGS, "product": "student_loan"})
      for d, b in ((BASE, 20_000), (END, 15_000))),
]


def _rows(rows, drop=()):
    """The rows with some of the new columns left out (the CSV then has no such column)."""
    return [{k: v for k, v in row.items() if k not in drop} for row in rows]


@pytest.fixture
def doc(write_tape):
    with open_tape(write_tape(ROWS)) as tape:
        assert tape.ok, [str(p) for p in tape.findings.errors]
        return compute_metrics(tape, "T1", "2024H1")


def test_priority_sectors(doc):
    v, p, s = doc.volume, doc.pricing, doc.priorities
    # wholesale and retail: S1 300,000 + S2 200,000 at the end; S1 400,000 at the base date (S4 is not small-micro)
    assert v.of("smb_wholesale_retail", "balance_cny") == 500_000
    assert v.of("smb_wholesale_retail", "growth") == pytest.approx(500_000 / 400_000 - 1)
    assert v.of("smb_tech_sme", "balance_cny") == 300_000 and v.of("smb_tech_sme", "growth") == pytest.approx(-0.25)
    assert v.of("smb_accommodation_catering", "balance_cny") == 100_000
    assert v.of("smb_accommodation_catering", "growth") is None  # nothing at the base date
    # new wholesale/retail loans: S2 only, 4.0 %, spread 4.0 − 3.45 = 0.55, two years: all medium/long term
    assert p.of("smb_wholesale_retail", "new_rate_pct") == pytest.approx(4.0)
    assert p.of("smb_wholesale_retail", "new_spread_pp") == pytest.approx(0.55)
    assert s.of("smb_wholesale_retail", "new_mlt_share") == 1.0
    assert s.of("smb_green", "new_mlt_share") == 1.0
    assert s.of("smb_accommodation_catering", "new_mlt_share") == 0.0  # exactly one year is short term
    assert s.of("smb_tech_sme", "new_mlt_share") is None and "no such loans" in s.notes["smb_tech_sme_new_mlt_share"]
    assert v.of("smb_culture_tourism", "balance_cny") is None  # no R codes: not applicable


def test_poverty_micro_loans_and_student_loans(doc):
    v, s = doc.volume, doc.priorities
    # poverty micro-loans: P1 50,000 + P2 60,000 + P3 30,000 (P3 by its product only)
    assert v.of("poverty_household", "balance_cny") == 140_000
    assert s.poverty_household_new_loans == 3
    # P2 breaks each rule, P1 and P3 none: 1 of 3 for every rule and for any rule
    for rule in ("amount", "term", "guarantee", "rate", "any"):
        assert s.get(f"poverty_household_break_{rule}_share") == pytest.approx(1 / 3), rule
    assert v.of("student_loan", "balance_cny") == 15_000
    assert v.of("student_loan", "growth") == pytest.approx(15_000 / 20_000 - 1)


def test_npl_exits_and_dpd90(doc):
    k = doc.risk
    # inclusive small-micro at the end: S1 300k + S2 200k + S3 100k + R2 70k + D1 30k = 700,000; NPL R2 70,000
    assert k.inclusive_smb_npl_ratio == pytest.approx(70_000 / 700_000)
    # exits: X1 80,000 (R1 was replaced by the renewal R2)
    assert k.inclusive_smb_npl_exits_cny == 80_000
    assert k.inclusive_smb_npl_ratio_with_exits == pytest.approx((70_000 + 80_000) / (700_000 + 80_000))
    # 90+ days: R2 70,000 + D1 30,000 = 100,000 over NPL 70,000: above the limit of 1
    assert k.inclusive_smb_dpd90_to_npl_ratio == pytest.approx(100_000 / 70_000)
    assert k.inclusive_smb_dpd90_within_limit is False and k.dpd90_to_npl_max_ratio == 1.0
    assert k.writeoffs_cny is None and "no totals file" in k.notes["writeoffs_cny"]


def test_writeoffs_from_the_totals_file(write_tape, tmp_path):
    months = ["2024-01-31", "2024-02-29", "2024-03-31", "2024-04-30", "2024-05-31", END]
    lines = ["bank_id,as_of,total_loans_cny,total_npl_cny,writeoffs_cny", f"T1,{BASE},10000000,200000,0"]
    lines += [f"T1,{m},12000000,300000,10000" for m in months]
    (tmp_path / "totals.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with open_tape(write_tape(ROWS), tmp_path / "totals.csv") as tape:
        k = compute_metrics(tape, "T1", "2024H1").risk
        # six months of 10,000: 60,000; (300,000 + 60,000) / (12,000,000 + 60,000)
        assert k.writeoffs_cny == 60_000
        assert k.total_npl_ratio_with_writeoffs == pytest.approx(360_000 / 12_060_000)
    (tmp_path / "totals.csv").write_text("\n".join(lines[:-2]) + "\n", encoding="utf-8")  # May and June missing
    with open_tape(write_tape(ROWS), tmp_path / "totals.csv") as tape:
        k = compute_metrics(tape, "T1", "2024H1").risk
        assert k.writeoffs_cny is None and "4 of the period's 6" in k.notes["writeoffs_cny"]


def test_industry_code_must_be_a_gbt_4754_code(write_tape):
    rows = [{**ROWS[0], "industry_code": "5211"}, *ROWS[1:]]
    with open_tape(write_tape(rows)) as tape:
        bad = [p for p in tape.findings.errors if p.rule == "industry_code_format"]
    assert bad and bad[0].value == "5211" and bad[0].row == 2 and "2-digit" in bad[0].accepted


NEW_COLUMNS = ("industry_code", "is_tech_sme", "is_specialized_sme", "is_green", "is_foreign_trade", "product")
SECTIONS = (priorities.priority_sectors, priorities.support_groups, priorities.writeoffs, priorities.disclosure)


@pytest.mark.parametrize("drop", [(), *((c,) for c in NEW_COLUMNS), NEW_COLUMNS + ("is_poverty_household",)])
def test_sections_run_with_the_new_columns_dropped(write_tape, tmp_path, drop):
    write_tape(_rows(ROWS, drop))
    (tmp_path / "T1.yaml").write_text('bank_id: "T1"\nname: "测试银行"\ntape: "tape.csv"\noutlets: 12\n',
                                      encoding="utf-8")
    zh = report.setup(bank_file=str(tmp_path / "T1.yaml"), period="2024H1", lang="zh")
    try:
        en = copy.copy(zh)
        en.lang = "en"
        for r in (zh, en):
            shown = {f.__name__: f(r) for f in SECTIONS}
            for section in shown.values():
                assert section.title and section.finding
                text = " ".join([section.finding, *section.notes, *(t.frame.to_string() for t in section.tables)])
                assert "nan" not in text.lower().split() and "None" not in text
        sectors = shown["priority_sectors"]
        if set(drop) >= {"industry_code", "is_tech_sme", "is_specialized_sme", "is_green", "is_foreign_trade"}:
            assert not sectors.tables and "industry_code" in sectors.finding  # one line saying so
        elif drop:
            assert drop[0] in " ".join(sectors.notes) or drop == ("product",)
        if "is_poverty_household" in drop:
            assert not shown["support_groups"].tables
        assert "12" in shown["disclosure"].tables[0].frame.to_string()  # the bank file's outlets
    finally:
        zh.close()
