"""The half-year service report (notice 六(十四)): the filing deadline and the one-page summary's numbers."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from pucredit.report import service_report
from pucredit.analyses.metrics import compute_metrics
from pucredit.config.periods import parse_period
from pucredit.engine.tape import open_tape
from tests.unit.test_metrics import ROWS


@pytest.mark.parametrize("period, days, due", [
    ("2025H1", 20, dt.date(2025, 7, 20)),    # 30 June + 20 days
    ("2025H2", 20, dt.date(2026, 1, 20)),    # 31 December + 20 days, into the next year
    ("2025", 20, dt.date(2026, 1, 20)),      # a year ends a half-year too
    ("2024Q2", 20, dt.date(2024, 7, 20)),
    ("2025-12", 20, dt.date(2026, 1, 20)),
    ("2025H1", 15, dt.date(2025, 7, 15)),    # the days are a policy parameter
    ("2025Q1", 20, None), ("2025Q3", 20, None), ("2025-05", 20, None),  # not a half-year end
])
def test_due_date(period, days, due):
    assert service_report.due_date(parse_period(period), days) == due


def test_policy_file_gives_twenty_days():
    from pucredit.config.policy import load_policy

    assert load_policy("2024").service_report.due_days_after_half_year == 20


def test_summary_table_shows_the_metrics(write_tape):
    with open_tape(write_tape(ROWS)) as tape:
        metrics = compute_metrics(tape, "T1", "2024H1")
    table = service_report.summary_table(metrics, quality_findings=4, lang="zh").set_index("指标")
    v, k = metrics.to_dict()["volume"], metrics.to_dict()["risk"]
    growth = table.loc["普惠型小微企业贷款较年初增速"]
    assert growth["本期"] == f"{v['inclusive_smb_growth'] * 100:.2f}%"
    assert growth["是否达标"] == ("是" if v["inclusive_smb_target_met"] else "否")
    assert table.loc["普惠型小微企业贷款余额", "本期"] == f"{v['inclusive_smb_balance_cny'] / 1e8:,.2f}"
    assert table.loc["普惠型涉农贷款余额", "本期"] == f"{v['inclusive_agri_balance_cny'] / 1e8:,.2f}"
    assert table.loc["普惠型涉农贷款有余额户数", "本期"] == f"{v['inclusive_agri_borrowers']:,}"
    assert table.loc["普惠型小微企业贷款有余额户数", "本期"] == f"{v['inclusive_smb_borrowers']:,}"
    assert table.loc["普惠型小微企业贷款不良率", "是否达标"] == ("是" if k["inclusive_smb_within_tolerance"] else "否")
    assert table.loc["合理性检查发现", "本期"] == "4"
    english = service_report.summary_table(metrics, lang="en")
    assert list(english.columns) == ["Area", "Indicator", "Unit", "This period", "Target or reference", "Met"]
    assert "Plausibility findings" not in set(english["Indicator"])


def test_summary_export_is_excel_readable(write_tape, tmp_path):
    with open_tape(write_tape(ROWS)) as tape:
        metrics = compute_metrics(tape, "T1", "2024H1")
    path = service_report.export_summary(service_report.summary_table(metrics), tmp_path, "T1", parse_period("2024H1"))
    assert path.name == "service_report_summary_T1_2024H1.csv"
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert "普惠型小微企业贷款较年初增速" in path.read_text(encoding="utf-8-sig")


def test_summary_finding_states_every_miss_with_its_direction_and_size_before_what_is_met():
    """RB01 2025H1 misses two targets: small-micro growth below all-loan growth, and a county LDR that fell
    (44.30 % to 43.39 %) where the notice asks for a rise; both come first, each with its size."""
    from pucredit.report import context
    from pucredit.report.sections import service

    r = context.setup(bank_file="RB01", period="2025H1")
    try:
        zh = service.summary(r, 0).finding
        r.lang = "en"
        en = service.summary(r, 0).finding
    finally:
        r.close()
    assert zh.startswith("未达成：普惠型小微企业贷款较年初增长0.75%，低于各项贷款增速（3.39%）2.64个百分点")
    assert "县域存贷比43.39%，较上年末（44.30%）下降0.91个百分点" in zh and zh.index("未达成") < zh.index("达成：")
    assert en.startswith("Missed: ") and "fell 0.91 pp from 44.30%" in en and en.index("Missed") < en.index("Met: ")
    assert not re.search(r"-\d", en) and not re.search(r"-\d", zh)  # falls said as falls, not as -0.91
