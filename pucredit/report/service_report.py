"""The half-year inclusive credit service report (notice 六(十四): 各中资银行要于每半年后20日内报送普惠信贷服务报告).

Built from the metrics the analyses compute (:func:`pucredit.analyses.metrics.compute_metrics`) and the quality
review, never by re-running notebooks: :func:`summary_table` is the one-page table for the filing, and
:func:`due_date` the filing deadline.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from pucredit.analyses.document import MetricsDocument
from pucredit.report.labels import label
from pucredit.config.paths import write_text_atomic
from pucredit.config.periods import Period
from pucredit.contract.csv_export import csv_text
from pucredit.report.context import pct, pp, yuan_100m


def due_date(period: Period, days_after: int) -> dt.date | None:
    """Filing deadline: ``days_after`` days after the half-year end the period closes on (30 June or
    31 December); None for a period that does not end a half-year (a quarter, most months)."""
    end = period.end.date()
    if (end.month, end.day) not in ((6, 30), (12, 31)):
        return None
    return end + dt.timedelta(days=days_after)


def _fmt(value, unit: str) -> str:
    """A value of the summary table in its unit, the report's own formats; a dash when there is none."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "—"
    formats = {"100m_cny": yuan_100m, "fraction": pct, "pp": pp, "pct": lambda v: f"{v:.2f}%",
               "count": lambda v: f"{int(v):,}"}
    return formats.get(unit, str)(value)


UNITS = {"100m_cny": ("亿元", "100m yuan"), "fraction": ("%", "%"), "pct": ("%（年化）", "% a year"),
         "pp": ("百分点", "pp"), "count": ("户", "borrowers"), "rows": ("行", "rows"),
         "findings": ("处", "findings"), "": ("", "")}


def summary_table(metrics: MetricsDocument, quality_findings: int | None = None, lang: str = "zh") -> pd.DataFrame:
    """The one-page summary: section, indicator, unit, value, target or reference, and whether it is met.

    Every value comes from ``metrics`` (the report's metrics.json); ``quality_findings`` is the number of
    plausibility findings of the quality review up to the period end (a row flagged by two checks counts
    twice), when it was run.
    """
    v, p, f, k, q = metrics.volume, metrics.pricing, metrics.first_loans, metrics.risk, metrics.quality
    zh = lang == "zh"
    yes, no = label("yes", lang), label("no", lang)

    def met(value):
        return "—" if value is None else (yes if value else no)

    total_growth = _fmt(v.total_loans_growth, "fraction")

    def target(segment: str, notice_zh: str, notice_en: str) -> str:
        """What the segment's target asks of this bank (二(一)): the notice's, its local office's, or nothing."""
        basis = v.of(segment, "target_basis")
        if basis == "reference":
            return "参考，非本行监管目标" if zh else "reference, not a target for this bank"
        if basis == "local_office":
            floor = _fmt(v.of(segment, "target_growth"), "fraction")
            return (f"不低于当地监管局目标 {floor}" if zh else f"not below the local office's {floor}")
        return notice_zh if zh else notice_en
    rows = [
        ("保量", "Volume", "普惠型小微企业贷款余额", "Inclusive small-micro balance", "100m_cny",
         v.inclusive_smb_balance_cny, "", "—"),
        ("保量", "Volume", "普惠型小微企业贷款较年初增速", "Inclusive small-micro growth (YTD)", "fraction",
         v.inclusive_smb_growth, target("inclusive_smb", f"不低于各项贷款增速 {total_growth}",
                                        f"not below all loans, {total_growth}"), met(v.inclusive_smb_target_met)),
        ("保量", "Volume", "普惠型小微企业贷款有余额户数", "Inclusive small-micro borrowers", "count",
         v.inclusive_smb_borrowers, "", "—"),
        ("保量", "Volume", "普惠型涉农贷款余额", "Inclusive agri balance", "100m_cny",
         v.inclusive_agri_balance_cny, "", "—"),
        ("保量", "Volume", "普惠型涉农贷款较年初增速", "Inclusive agri growth (YTD)", "fraction",
         v.inclusive_agri_growth, target("inclusive_agri", f"不低于各项贷款增速 {total_growth}",
                                         f"not below all loans, {total_growth}"), met(v.inclusive_agri_target_met)),
        ("保量", "Volume", "普惠型涉农贷款有余额户数", "Inclusive agri borrowers", "count",
         v.inclusive_agri_borrowers, "", "—"),
        ("保量", "Volume", "涉农贷款较年初增速", "Agri-related loan growth (YTD)", "fraction",
         v.of("agri_loans", "growth"), target("agri_loans", "余额增长", "balance growing"),
         met(v.get("agri_loans_balance_growing"))),
        ("保量", "Volume", "重点帮扶县贷款较年初增速", "Key assistance county growth (YTD)", "fraction",
         v.of("key_county", "growth"), target("key_county", f"不低于本行各项贷款增速 {total_growth}",
                                              f"not below the bank's, {total_growth}"), met(v.of("key_county", "target_met"))),
        ("保量", "Volume", "脱贫地区贷款较年初增速", "Poverty-area growth (YTD)", "fraction",
         v.of("poverty_area", "growth"), target("poverty_area", "余额增长", "balance growing"),
         met(v.of("poverty_area", "target_met"))),
        ("保量", "Volume", "县域存贷比", "County loan-to-deposit ratio", "fraction", v.county_loan_to_deposit_ratio,
         ("较年初提升（上年末 " if zh else "rising (previous year end ") + _fmt(v.get("county_loan_to_deposit_ratio_base"),
                                                                          "fraction") + ("）" if zh else ")"),
         met(v.get("county_loan_to_deposit_ratio_rising"))),
        ("稳价", "Pricing", "新发放普惠型小微企业贷款金额", "New inclusive small-micro loans", "100m_cny",
         p.inclusive_smb_new_amount_cny, "", "—"),
        ("稳价", "Pricing", "新发放普惠型小微企业贷款加权平均利率", "Their weighted average rate", "pct",
         p.inclusive_smb_new_rate_pct, "", "—"),
        ("稳价", "Pricing", "较LPR加点", "Spread over the LPR", "pp", p.inclusive_smb_new_spread_pp, "", "—"),
        ("稳价", "Pricing", "含收费的综合融资成本", "All-in cost including fees", "pct",
         p.inclusive_smb_new_allin_rate_pct, "", "—"),
        ("稳价", "Pricing", "LPR长期传导系数", "Long-run LPR pass-through", "",
         None if p.passthrough.long_run is None else round(p.passthrough.long_run, 2), "", "—"),
        ("优结构", "Structure", "首贷户数", "First-loan borrowers", "count", f.first_loan_borrowers,
         ("上年同期 " if zh else "a year earlier: ") + _fmt(f.first_loan_borrowers_last_year, "count")
         + ("（参考：2024年通知未设首贷户目标）" if zh else " (reference: the 2024 notice sets no first-loan target)"), "—"),
        ("优结构", "Structure", "首贷户占比", "First-loan share of borrowers", "fraction", f.first_loan_share, "", "—"),
        ("优结构", "Structure", "新发放信用贷款占比", "Credit loans in new lending", "fraction", f.new_credit_share, "", "—"),
        ("优结构", "Structure", "新发放续贷占比", "Renewals in new lending", "fraction", f.new_renewal_share, "", "—"),
        ("优结构", "Structure", "新发放中长期贷款占比", "Medium/long term in new lending", "fraction",
         f.new_medium_long_term_share, "", "—"),
        ("风险", "Risk", "普惠型小微企业贷款不良率", "Inclusive small-micro NPL ratio", "fraction",
         k.inclusive_smb_npl_ratio,
         ("不高于各项贷款不良率 " if zh else "at most all loans' ") + _fmt(k.total_npl_ratio, "fraction")
         + f" + {k.tolerance_pp}" + (" 个百分点" if zh else " pp"), met(k.inclusive_smb_within_tolerance)),
        ("风险", "Risk", "容忍度余量", "Headroom to the tolerance", "pp", k.inclusive_smb_npl_headroom_pp, "≥ 0",
         met(k.inclusive_smb_within_tolerance)),
        ("风险", "Risk", "普惠型涉农贷款不良率", "Inclusive agri NPL ratio", "fraction", k.inclusive_agri_npl_ratio,
         "—" if k.inclusive_agri_npl_ratio is None else
         (("未评价：银行文件未给出不良率年度目标" if zh else "not assessed: the bank file gives no NPL target")
          if k.get("inclusive_agri_npl_limit_ratio") is None else
          ("不高于不良率年度目标加 " if zh else "at most the NPL target plus ") + f"{k.inclusive_agri_tolerance_pp:g}"
          + (" 个百分点（" if zh else " pp (") + _fmt(k.get("inclusive_agri_npl_limit_ratio"), "fraction")
          + ("）" if zh else ")")),
         met(k.inclusive_agri_within_tolerance)),
        ("披露", "Disclosure", "普惠金融服务网点", "Inclusive finance outlets", "", "由本行填写" if zh else "filled in by the bank",
         "不在贷款明细中（通知六（十四））" if zh else "not in the loan tape (notice VI(14))", "—"),
        ("数据质量", "Data quality", "报送数据行数", "Rows in the tape", "rows", q.rows, "", "—"),
        ("数据质量", "Data quality", "校验错误与警告", "Validation errors and warnings", "",
         f"{q.errors} / {q.warnings}", "0 / —", met(q.errors == 0)),
    ]
    if quality_findings is not None:
        rows.append(("数据质量", "Data quality", "合理性检查发现", "Plausibility findings", "findings", quality_findings,
                     "", "—"))
    table = pd.DataFrame([
        {"section": zh_s if zh else en_s, "indicator": zh_i if zh else en_i,
         "unit": UNITS.get(unit, ("", ""))[0 if zh else 1],
         "value": _fmt(value, "count" if unit in ("rows", "findings") else unit) if not isinstance(value, str) else value,
         "target": target, "met": status}
        for zh_s, en_s, zh_i, en_i, unit, value, target, status in rows])
    headers = {"section": ("方面", "Area"), "indicator": ("指标", "Indicator"), "unit": ("单位", "Unit"),
               "value": ("本期", "This period"), "target": ("目标或参照", "Target or reference"),
               "met": ("是否达标", "Met")}
    return table.rename(columns={c: h[0 if zh else 1] for c, h in headers.items()})


def export_summary(summary: pd.DataFrame, folder: str | Path, bank_id: str, period: Period) -> Path:
    """Write the summary table as CSV (UTF-8 with BOM for Excel) into ``folder``, replacing an earlier copy
    of the same bank and period (the table is recomputed from the data, nobody edits it)."""
    path = Path(folder) / f"service_report_summary_{bank_id}_{period.label}.csv"
    return write_text_atomic(path, csv_text(summary), encoding="utf-8-sig")
