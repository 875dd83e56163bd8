"""The sections of 07 规范经营 and the 无贷户 section of 03 (notice 五(十), 四(七)): the findings carry the metrics
document's numbers; each runs with each conduct column dropped and with all dropped, saying "not applicable"
in one line where its column is missing; no missing-value codes reach a reader."""
from __future__ import annotations

import re

import pytest

from pucredit.contract.schema import CONDUCT_COLUMNS
from pucredit.report import context
from pucredit.report.context import pct
from pucredit.report.sections import conduct as sections
from tests.conftest import write_csv
from tests.unit.test_conduct import ROWS

RAW = re.compile(r"\b(nan|NaN|None|inf)\b|_share\b")
SECTIONS = {sections.over_crediting: ("bureau_lender_count", "bureau_credit_line_cny", "annual_revenue_cny"),
            sections.concentration: (), sections.use_of_funds: ("payment_method",),
            sections.no_bank_loan: ("is_first_bank_loan",)}
NAMES = [c.name for c in CONDUCT_COLUMNS]


def open_report(folder, dropped: tuple[str, ...], lang: str):
    write_csv(folder / "tape.csv", [{k: v for k, v in row.items() if k not in dropped} for row in ROWS])
    (folder / "T1.yaml").write_text('bank_id: "T1"\nname: "测试银行"\ntape: "tape.csv"\n', encoding="utf-8")
    return context.setup(bank_file=str(folder / "T1.yaml"), period="2024H1", lang=lang)


def shown(section) -> list[str]:
    texts = [section.title, section.finding, *section.notes]
    for table in section.tables:
        assert not table.frame.isna().any().any()
        texts += [table.caption, table.note, *map(str, table.frame.columns), *table.frame.astype(str).to_numpy().ravel()]
    for text in texts:
        assert not RAW.search(text), text
    return texts


@pytest.mark.parametrize("dropped", [(), *((n,) for n in NAMES), tuple(NAMES)], ids=["none", *NAMES, "all"])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_sections_run_with_columns_dropped(tmp_path, dropped, lang):
    r = open_report(tmp_path, dropped, lang)
    try:
        for function, needs in SECTIONS.items():
            section = function(r)
            shown(section)
            assert section.title
            not_applicable = bool(needs) and set(needs) <= set(dropped)
            assert section.finding.startswith("不适用" if lang == "zh" else "Not applicable") == not_applicable
            assert not not_applicable or not section.tables
    finally:
        r.close()


def test_findings_carry_the_documents_numbers(tmp_path):
    r = open_report(tmp_path, (), "en")
    try:
        c = r.doc.conduct
        assert pct(c.multi_lender_balance_share, 1) in sections.over_crediting(r).finding  # 70.0%
        assert pct(c.over_revenue_balance_share, 1) in sections.over_crediting(r).finding  # 66.7%
        assert pct(c.top10_end_balance_share, 1) in sections.concentration(r).finding
        funds = sections.use_of_funds(r)
        assert pct(c.self_paid_amount_share, 1) in funds.finding and "loans above 50 ten-thousand yuan: 1," in funds.finding
        assert [t.frame.iloc[:, 0].tolist() for t in funds.tables][-1] == ["A2"]  # the self-paid loan above the limit
        assert "1 (33.3%)" in sections.no_bank_loan(r).finding
    finally:
        r.close()


def test_a_blank_branch_shows_as_a_dash(tmp_path):
    rows = [dict(row, branch_id="") if row["loan_id"] == "D1" else row for row in ROWS]
    write_csv(tmp_path / "tape.csv", rows)
    (tmp_path / "T1.yaml").write_text('bank_id: "T1"\nname: "测试银行"\ntape: "tape.csv"\n', encoding="utf-8")
    r = context.setup(bank_file=str(tmp_path / "T1.yaml"), period="2024H1", lang="en")
    try:
        for function in (sections.concentration, sections.use_of_funds):
            branch_table = shown(function(r))
            assert "—" in branch_table
    finally:
        r.close()
