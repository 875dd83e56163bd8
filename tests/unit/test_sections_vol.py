"""The volume (notice 二(一), 三(五)) and service report (六(十四)) sections: findings carry the metrics
document's numbers, misses before what is met, tables without NaN, in Chinese and English."""
from __future__ import annotations

import copy

import matplotlib
import pytest

from pucredit.report import context as report
from pucredit.report.sections import service, volume
from pucredit.report.sections.volume import pct, yi

matplotlib.use("Agg")

VOLUME = (volume.growth_targets, volume.growth_path, volume.year_end_gap, volume.borrowers, volume.county_ldr,
          volume.structure, volume.national)
SERVICE = (service.filing_due, service.summary, service.volume, service.pricing, service.structure, service.risk,
           service.data_quality)


@pytest.fixture(scope="module")
def rb01():
    """RB01 2025H1 (misses the small-micro and key-county targets) in zh, and the same report in en."""
    zh = report.setup(bank_file="RB01", period="2025H1", lang="zh")
    zh.doc, zh.stocks  # computed once, shared by the English copy
    en = copy.copy(zh)
    en.lang = "en"
    yield {"zh": zh, "en": en}
    zh.close()


@pytest.fixture
def tiny(write_tape, tmp_path):
    """A two-snapshot bank without totals file, branch column or agri book beyond one loan."""
    from tests.unit.test_metrics import ROWS

    write_tape(ROWS)
    (tmp_path / "T1.yaml").write_text('bank_id: "T1"\nname: "测试银行"\ntape: "tape.csv"\n', encoding="utf-8")
    r = report.setup(bank_file=str(tmp_path / "T1.yaml"), period="2024H1", lang="zh")
    yield r
    r.close()


def clean(section) -> None:
    """No NaN, None or inf in what a reader sees."""
    import matplotlib.pyplot as plt

    texts = [section.finding, *section.notes, *(t.caption for t in section.tables), *(t.note for t in section.tables)]
    for table in section.tables:
        assert not table.frame.isna().any().any()
        assert list(table.frame.index) == list(range(len(table.frame)))  # row labels are a column
        texts += [str(c) for c in table.frame.columns] + table.frame.astype(str).to_numpy().ravel().tolist()
    for text in texts:
        assert not {"nan", "NaN", "None", "inf"} & set(str(text).replace("（", " ").replace("(", " ").split()), text
    for figure in section.figures:
        plt.close(figure)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_section_runs_clean(rb01, lang):
    for function in VOLUME + SERVICE:
        clean(function(rb01[lang]))


def test_growth_targets_name_the_misses_first(rb01):
    v = rb01["zh"].doc.volume
    zh, en = volume.growth_targets(rb01["zh"]).finding, volume.growth_targets(rb01["en"]).finding
    key_county = f"重点帮扶县贷款较年初下降{pct(abs(v.key_county_growth))}"
    assert v.key_county_growth < 0 and key_county in zh and "fell 1.56%" in en
    assert f"普惠型小微企业贷款较年初增长{pct(v.inclusive_smb_growth)}" in zh
    # RB01 is a rural bank: small-micro growth below all loans is missed; the key-county target binds policy
    # and large banks only, so its fall is shown for reference, after what binds; agri is judged by the local office
    assert zh.index("未达标") < zh.index("普惠型小微企业贷款") < zh.index("。达标：") < zh.index("普惠型涉农贷款")
    assert zh.index("当地监管局确定的目标") < zh.index("参考（非本行的监管目标）") < zh.index(key_county)
    assert en.index("Missed") < en.index("Met") < en.index("For reference") and "grew -" not in en
    assert pct(v.total_loans_growth) in zh


def test_borrowers_and_county_ratio_come_from_the_metrics(rb01):
    v = rb01["zh"].doc.volume
    assert f"{v.inclusive_smb_borrowers:,}户" in volume.borrowers(rb01["zh"]).finding
    ldr = volume.county_ldr(rb01["en"])  # RB01: 44.30 % at the end of 2024, 43.39 % at 2025-06
    base, change = v.get("county_loan_to_deposit_ratio_base"), v.get("county_loan_to_deposit_ratio_change_pp")
    assert change < 0 and ldr.finding.startswith("The county loan-to-deposit ratio fell")
    for value in (pct(v.county_loan_to_deposit_ratio), pct(base), f"{-change:.2f} pp below 2024-12", "asks for a reasonable rise"):
        assert value in ldr.finding, value
    assert "下降" in volume.county_ldr(rb01["zh"]).finding
    frame = ldr.tables[0].frame
    assert (frame.iloc[0, 0], frame.iloc[0, -1]) == ("2024-12", pct(base))  # the previous year end, the base
    assert frame.iloc[-1, -1] == pct(v.county_loan_to_deposit_ratio)
    low, high = ldr.figures[0].axes[0].get_ylim()
    assert high - low > 0.099 and ldr.figures[0].axes[0].get_ylabel()  # not a 1-pp window, and labelled


def test_national_table_lists_what_the_chart_plots(rb01):
    section = volume.national(rb01["zh"])
    plotted = sum(len(c.get_offsets()) for ax in section.figures[0].axes for c in ax.collections)
    assert plotted == (section.tables[0].frame.iloc[:, 2] == "同比").sum()
    assert len(section.figures[0].axes) == 2  # small multiples, not one tangle


def test_service_summary_and_references(rb01):
    r = rb01["zh"]
    summary = service.summary(r, 0).finding
    assert summary.startswith("未达成") and f"{pct(r.doc.volume.inclusive_smb_growth)}" in summary
    assert f"下降{pct(abs(r.doc.volume.key_county_growth))}" not in summary  # key counties do not bind a rural bank
    assert "报告01" in service.volume(r).finding and not service.volume(r).figures  # the chart is 01's
    assert f"{r.doc.pricing.passthrough.half_life_months:.1f}" in service.pricing(r).finding
    assert yi(r.doc.risk.inclusive_smb_npl_headroom_cny) in service.risk(r).finding
    assert "2025年7月20日" in service.filing_due(r).finding


def test_a_small_bank_says_what_it_cannot_show(tiny):
    assert "不适用" in volume.county_ldr(tiny).finding
    for function in VOLUME + SERVICE:
        clean(function(tiny))
    en = copy.copy(tiny)
    en.lang = "en"
    for function in VOLUME + SERVICE:
        clean(function(en))
