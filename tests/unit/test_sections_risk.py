"""Report 04's sections (不良容忍度·尽职免责, notice 四(九)) on a small bank: findings quote r.doc.risk, tables
have no missing-value codes, both languages."""
from __future__ import annotations

import pytest

from pucredit.report import context
from pucredit.report.context import pct
from pucredit.report.sections import risk as sections

M0, M1, M2 = "2024-01-31", "2024-02-29", "2024-03-31"
SMB = dict(borrower_type="small_micro_enterprise", is_business="true", credit_line_cny=10_000_000,
           origination_date="2024-01-10", maturity_date="2026-01-10", repayment="bullet")


def _loan(loan_id, balance, months=(M0, M1, M2), classes=(), branch="BR1", **extra):
    fields = {**SMB, **extra}
    return [dict(as_of=m, loan_id=loan_id, borrower_id="B" + loan_id, amount_cny=balance, balance_cny=balance,
                 branch_id=branch, risk_class=(classes[i] if i < len(classes) else "normal"),
                 days_past_due=95 if i < len(classes) and classes[i] != "normal" else 0, **fields)
            for i, m in enumerate(months)]


ROWS = [
    *_loan("L1", 1_000_000),
    *_loan("L2", 2_000_000, classes=("normal", "substandard", "doubtful")),  # non-performing from February
    *_loan("L3", 3_000_000, months=(M0,)),  # repaid after January
    *_loan("L5", 8_000_000, branch="BR2"),
    *_loan("L4", 40_000_000, branch="BR2", borrower_type="other_enterprise", credit_line_cny=50_000_000),
]
BAD = ("nan", "None", "NaN", "inf", "C(", "[T.", "Intercept", "branch_tolerances", ".csv")


def _report(tmp_path, rows, period="2024Q1"):
    from tests.conftest import write_csv

    write_csv(tmp_path / "tape.csv", rows)
    (tmp_path / "T1.yaml").write_text('bank_id: "T1"\nname: "测试银行"\ntape: "tape.csv"\n', encoding="utf-8")
    return context.setup(bank_file=str(tmp_path / "T1.yaml"), period=period)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    r = _report(tmp_path_factory.mktemp("risk"), ROWS)
    yield r
    r.close()


def _text(section) -> str:
    parts = [section.finding, *section.notes]
    for table in section.tables:
        parts += [table.caption, table.note, table.frame.to_string()]
    return "\n".join(parts)


def _each_language(r, function):
    for lang in ("zh", "en"):
        r.lang = lang
        section = function(r)
        text = _text(section)
        assert not [b for b in BAD if b in text], text
        yield lang, section
    r.lang = "zh"


def test_tolerance_quotes_the_metrics_document(report):
    doc = report.doc.risk
    assert doc.inclusive_smb_within_tolerance is False
    for lang, section in _each_language(report, sections.tolerance):
        assert pct(doc.inclusive_smb_npl_ratio) in section.finding and pct(doc.total_npl_ratio) in section.finding
        assert f"{-doc.inclusive_smb_npl_headroom_pp:,.2f}" in section.finding
        assert section.figures and section.tables[0].frame.shape[0] == 2  # both segments with a tolerance


def test_branches_over_tolerance_come_first(report):
    for lang, section in _each_language(report, sections.branches):
        assert "BR1" in section.finding and ("2个分支机构中1个" in section.finding or "1 of 2" in section.finding)
        assert list(section.tables[0].frame.iloc[:, 0]) == ["BR1", "BR2"]


def test_differentiated_branch_tolerances_are_read_but_not_named(report, tmp_path, monkeypatch):
    (tmp_path / "branch_tolerances").mkdir()
    (tmp_path / "branch_tolerances" / "T1.csv").write_text("branch_id,tolerance_pp\nBR1,80\n", encoding="utf-8")
    monkeypatch.setenv("PUCREDIT_PARAMETERS", str(tmp_path))  # the user's parameters folder (config.paths)
    for lang, section in _each_language(report, sections.branches):
        assert "差异化容忍度表" in section.notes[0] or "table of differentiated tolerances" in section.notes[0]
        assert "BR2" in section.finding and ("均在容忍度内" in section.finding or "All 2" in section.finding)


def test_migrations_and_formation(report):
    for lang, section in _each_language(report, sections.migrations):
        assert "14.3%" in section.finding and "21.4%" in section.finding  # of 14m normal in January: 2m NPL, 3m exit
        assert list(section.tables[0].frame.index) == list(range(len(section.tables[0].frame)))
    for lang, section in _each_language(report, sections.formation):
        assert report.doc.risk.inclusive_smb_npl_formation_12m is None
        assert ("不足12个月" in section.finding or "Fewer than 12 months" in section.finding) and section.figures


def test_vintages_drivers_and_stress(report):
    for lang, section in _each_language(report, sections.vintages):
        assert section.figures
    for lang, section in _each_language(report, sections.default_drivers):
        assert not section.tables  # too few loans for a regression
    for lang, section in _each_language(report, sections.stress):
        assert "已超出容忍上限" in section.finding or "already over its limit" in section.finding


def test_due_diligence_is_split_by_tolerance_status_and_guarantee(report):
    for lang, section in _each_language(report, sections.due_diligence):
        assert ("1笔、200.0万元" in section.finding) or ("1 inclusive small-micro NPLs (200.0" in section.finding)
        assert section.tables[0].frame.shape == (1, 4)


def test_nothing_outstanding(tmp_path):
    rows = [dict(as_of=a, loan_id="L1", borrower_id="B1", balance_cny=b) for a, b in (("2023-12-31", 1000), ("2024-06-30", 0))]
    r = _report(tmp_path, rows, "2024H1")
    try:
        for function in (sections.tolerance, sections.branches, sections.due_diligence, sections.stress):
            for lang, section in _each_language(r, function):
                assert not section.tables and not section.figures
    finally:
        r.close()
