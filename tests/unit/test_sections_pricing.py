"""The pricing report's sections (notice 二(二)): findings quote r.doc.pricing, tables have no missing cells."""
from __future__ import annotations

import re

import matplotlib.pyplot as plt
import pytest

from pucredit.report import context
from pucredit.report.context import yuan_100m
from pucredit.report.sections import pricing as sections
from tests.conftest import write_csv
from tests.unit.test_metrics import ROWS

SECTIONS = (sections.new_rates, sections.spreads, sections.passthrough, sections.all_in_cost, sections.spread_drivers)
RAW = re.compile(r"\b(nan|NaN|None|inf)\b|C\(|\[T\.|Intercept|lpr_change_pp|inclusive_smb|agri_not_smb")


@pytest.fixture(scope="module")
def demo():
    """RB01 2025H1, each section run once per language (the report's metrics computed once)."""
    r = context.setup(bank_file="RB01", period="2025H1")
    shown = {}
    for lang in ("zh", "en"):
        r.lang = lang
        shown[lang] = {f.__name__: f(r) for f in SECTIONS}
    plt.close("all")
    yield r, shown
    r.close()


def texts(section) -> list[str]:
    out = [section.finding, *section.notes]
    for table in section.tables:
        out += [table.caption, table.note, *map(str, table.frame.columns), *table.frame.astype(str).to_numpy().ravel()]
    return out


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_nothing_raw_or_missing_is_shown(demo, lang):
    _, shown = demo
    for name, section in shown[lang].items():
        assert section.tables, name
        for table in section.tables:
            assert table.frame.notna().all().all(), (name, table.caption)
            assert list(table.frame.index) == list(range(len(table.frame))), (name, table.caption)
        for text in texts(section):
            assert not RAW.search(text), (name, text)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_new_rates_quote_the_metrics_document(demo, lang):
    r, shown = demo
    p = r.doc.pricing
    section = shown[lang]["new_rates"]
    for value in (yuan_100m(p.inclusive_smb_new_amount_cny), f"{p.inclusive_smb_new_rate_pct:.2f}",
                  f"{p.inclusive_smb_new_spread_pp:.2f}", f"{p.inclusive_smb_new_loans:,}"):
        assert value in section.finding
    rows = section.tables[0].frame.set_index(section.tables[0].frame.columns[0])
    agri = rows.iloc[1]  # the regulatory (overlapping) inclusive agri row, as in metrics.json
    assert list(agri) == [f"{p.inclusive_agri_new_loans:,}", yuan_100m(p.inclusive_agri_new_amount_cny),
                                   f"{p.inclusive_agri_new_rate_pct:.2f}", f"{p.inclusive_agri_new_spread_pp:.2f}"]
    assert ("2,164" in section.notes[0]) and ("102" in section.notes[0])


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_passthrough_and_all_in_cost_quote_the_metrics_document(demo, lang):
    r, shown = demo
    p = r.doc.pricing
    passthrough = shown[lang]["passthrough"].finding
    assert f"{p.passthrough.long_run:.2f}" in passthrough and f"{p.passthrough.short_run:.2f}" in passthrough
    assert f"{p.passthrough.half_life_months:.1f}" in passthrough
    cost = shown[lang]["all_in_cost"].finding
    assert f"{p.inclusive_smb_new_allin_rate_pct:.2f}" in cost and f"{p.inclusive_smb_allin_gap_pp:.2f}" in cost
    assert f"{p.inclusive_smb_third_party_fee_share * 100:.1f}%" in cost


def test_bands_read_in_order_and_units(demo):
    _, shown = demo
    captions = {t.caption: t.frame for t in shown["zh"]["spreads"].tables}
    tenor = next(f for c, f in captions.items() if "原始期限" in c)
    assert list(tenor.iloc[:, 0]) == ["6个月及以下", "7至12个月", "13至36个月", "37至60个月"]
    line = next(f for c, f in captions.items() if "单户授信额度" in c)
    assert list(line.iloc[:, 0])[0] == "100万元及以下"
    drivers = shown["en"]["spread_drivers"].tables[0].frame.iloc[:, 0]
    assert "First loan (against repeat borrower)" in list(drivers)
    assert any("(against 13 to 36 months)" in d for d in drivers)  # patsy's reference, 1–3y


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_tiny_bank_gets_one_line_where_there_is_nothing_to_show(tmp_path, lang):
    write_csv(tmp_path / "tape.csv", ROWS)
    (tmp_path / "T1.yaml").write_text('bank_id: "T1"\nname: "测试银行"\ntape: "tape.csv"\n', encoding="utf-8")
    r = context.setup(bank_file=str(tmp_path / "T1.yaml"), period="2024H1", lang=lang)
    try:
        shown = [f(r) for f in SECTIONS]
    finally:
        plt.close("all")
        r.close()
    rates, _, passthrough, cost, drivers = shown
    assert yuan_100m(r.doc.pricing.inclusive_smb_new_amount_cny) in rates.finding
    assert "24" in passthrough.finding  # fewer months than the policy's minimum, said in words
    assert not cost.tables and not drivers.tables and not passthrough.tables
    for section in shown:
        for text in texts(section):
            assert not RAW.search(text), text


def test_each_driver_is_read_against_the_category_without_a_coefficient(demo):
    """Patsy takes the first level in text order as the reference (1–3y, 1–5m), not the first band: a row
    never reads "up to 6 months (against up to 6 months)", and every band but the reference has its row."""
    _, shown = demo
    frame = shown["zh"]["spread_drivers"].tables[0].frame
    factors = list(frame.iloc[:, 0])
    pairs = [re.match(r"^(.+)：(.+)（相对于(.+)）$", f).groups() for f in factors if "：" in f]
    assert pairs and all(level != reference for _, level, reference in pairs), factors
    by_variable = {}
    for variable, level, reference in pairs:
        by_variable.setdefault((variable, reference), []).append(level)
    assert ("原始期限", "13至36个月") in by_variable and ("单户授信额度", "100万至500万元") in by_variable
    assert by_variable[("原始期限", "13至36个月")] == ["6个月及以下", "7至12个月", "37至60个月"]


def test_each_section_has_its_heading_in_the_report_language(demo):
    _, shown = demo
    zh, en = ([s.title for s in shown[lang].values()] for lang in ("zh", "en"))
    assert zh[0] == "1. 新发放贷款利率" and en[0] == "1. New-loan rates against the LPR"
    assert all(zh) and all(en) and not any(re.search(r"[\u3400-\u9fff]", t) for t in en)
