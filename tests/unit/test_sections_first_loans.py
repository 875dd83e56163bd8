"""The sections of 03 首贷·优结构 (notice 二(三), 四(七), 六(十三)): findings carry the metrics document's
numbers, tables have no missing-value codes, in Chinese and English."""
from __future__ import annotations

import re

import matplotlib.pyplot as plt
import numpy as np
import pytest

from pucredit.report import context
from pucredit.report.context import pct
from pucredit.report.sections import first_loans as sections

RAW = re.compile(r"\b(nan|NaN|None|inf|Intercept)\b|C\(|\[T\.|is_first_loan|_share\b")


@pytest.fixture(scope="module")
def demo():
    r = context.setup(bank_file="RB01", period="2025H1", lang="zh")
    yield r
    r.close()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from tests.conftest import write_csv
    from tests.unit.test_metrics import ROWS

    folder = tmp_path_factory.mktemp("tiny")
    write_csv(folder / "tape.csv", ROWS)
    (folder / "T1.yaml").write_text('bank_id: "T1"\nname: "测试银行"\ntape: "tape.csv"\n', encoding="utf-8")
    r = context.setup(bank_file=str(folder / "T1.yaml"), period="2024H1", lang="zh")
    yield r
    r.close()


def shown(r, lang, function):
    """The section in ``lang``, checked for raw codes and missing values in everything a reader sees."""
    r.lang = lang
    section = function(r)
    texts = [section.finding, *section.notes]
    for table in section.tables:
        texts += [table.caption, table.note, *map(str, table.frame.columns), *table.frame.astype(str).to_numpy().ravel()]
        assert not table.frame.isna().any().any()
    for text in texts:
        assert not RAW.search(text), text
    for figure in section.figures:
        assert figure.axes[0].get_title() or figure._suptitle is not None
        plt.close(figure)
    return section


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_acquisition_states_the_documents_first_loans(demo, lang):
    f = demo.doc.first_loans
    section = shown(demo, lang, sections.acquisition)
    assert f"{f.first_loan_borrowers:,}" in section.finding and pct(f.first_loan_share, 1) in section.finding
    assert pct(abs(f.first_loan_growth), 1) in section.finding
    assert ("增长" if f.first_loan_growth > 0 else "下降") in section.finding if lang == "zh" else \
        ("more" if f.first_loan_growth > 0 else "fewer") in section.finding


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_breakdown_by_exclusive_group_matches_the_headline(demo, lang):
    f = demo.doc.first_loans
    section = shown(demo, lang, sections.acquisition_breakdowns)
    group = section.tables[0].frame
    row = group[group.iloc[:, 0] == demo.t("inclusive_smb")].iloc[0]
    assert (row.iloc[1], row.iloc[2]) == (f"{f.borrowers_originated:,}", f"{f.first_loan_borrowers:,}")
    assert demo.t("agri_not_smb") in set(group.iloc[:, 0]) and demo.t("inclusive_agri") not in set(group.iloc[:, 0])


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_new_to_bank_is_not_called_borrowers_without_loans(demo, lang):
    section = shown(demo, lang, sections.new_to_bank)
    cover = section.extra["coverage"]
    assert f"{cover['without_loan_at_base']:,}" in section.finding and pct(cover["share"], 1) in section.finding
    assert "无贷户" not in section.finding
    assert ("本行新增客户（上年末无本行贷款）" if lang == "zh" else "new to the bank") in section.finding


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_follow_up(demo, lang):
    section = shown(demo, lang, sections.follow_up)
    follow = section.extra["follow_up"]
    assert pct(follow.loc["first", "next_loan_rate"], 1) in section.finding
    assert pct(follow.loc["repeat", "default_rate"], 1) in section.finding


def test_cohorts(demo):
    """One language on the demo bank (the slowest section); the tiny bank runs it in both."""
    section = shown(demo, "zh", sections.cohorts)
    table = section.extra["cohorts"]
    assert f"{int(table['borrowers'].sum()):,}" in section.finding
    assert pct(table["still_borrower_12m"].dropna().iloc[-1], 1) in section.finding


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_price_and_risk_names_the_model(demo, lang):
    f = demo.doc.first_loans
    section = shown(demo, lang, sections.price_and_risk)
    assert f"{f.first_loan_new_rate_pct:.2f}%" in section.finding and f"{f.repeat_new_rate_pct:.2f}%" in section.finding
    ratio = np.exp(section.extra["odds"].params["is_first_loan"])
    assert f"{ratio:.2f}" in section.finding
    caption = section.tables[0].caption
    assert ("12个月" in caption and "对照：非首贷" in caption) if lang == "zh" else \
        ("12 months" in caption and "reference: repeat loans" in caption)
    assert section.tables[0].frame.iloc[0, 1] == f"{ratio:.2f}"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_structure_reads_the_document(demo, lang):
    f = demo.doc.first_loans
    section = shown(demo, lang, sections.structure)
    assert pct(f.new_credit_share, 1) in section.finding and pct(f.new_renewal_share, 1) in section.finding
    assert section.tables[0].frame.iloc[0, 2] == f"{f.stock_credit_share * 100:.1f}"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_tiny_bank_says_what_it_cannot_show(tiny, lang):
    for function in (sections.acquisition, sections.acquisition_breakdowns, sections.new_to_bank, sections.follow_up,
                     sections.cohorts, sections.price_and_risk, sections.structure):
        shown(tiny, lang, function)
    assert not shown(tiny, lang, sections.follow_up).tables
    assert not shown(tiny, lang, sections.price_and_risk).tables
