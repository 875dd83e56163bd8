"""Sections of the half-year service report (notice 六(十四): 各中资银行要于每半年后20日内报送普惠信贷服务报告).

The summary table (:func:`pucredit.report.service_report.summary_table`) holds the filing's numbers, all read
from the metrics document; the sections after it add only what the table does not show and refer to the
report that has the detail (01 volume, 02 pricing, 03 first loans, 04 risk, 05 data quality). Text is in
``catalogue/service.yaml``.
"""
from __future__ import annotations

import pandas as pd

from pucredit.report import service_report
from pucredit.report.context import Report
from pucredit.report.labels import label
from pucredit.report.section import Section, Table, titled
from pucredit.report.sections import volume as volume_sections
from pucredit.report.sections.volume import pct, yi


def filing_due(r: Report) -> Section:
    """The filing deadline: the policy's days after the half-year end (notice 六(十四))."""
    days = r.policy.service_report.due_days_after_half_year
    due = service_report.due_date(r.period, days)
    if due is None:
        return Section(finding=label("svc_not_half_year", r.lang, period=r.period.label))
    return Section(finding=label("svc_due", r.lang, due=due, end=r.period.end, days=days))


def missed_targets(r: Report) -> list[str]:
    """Every target the bank missed, each with its direction and size against what was asked: the growth
    targets (二(一), worded as report 01 words them), the county LDR (三(五)), the NPL tolerances (四(九)) and
    validation errors (五(十一)); all from the metrics document."""
    v, k, q = r.doc.volume, r.doc.risk, r.doc.quality
    missed = list(volume_sections.growth_verdicts(r)[0]["missed"]) if v.total_loans_growth is not None else []
    if v.get("county_loan_to_deposit_ratio_rising") is False:
        missed.append(label("svc_ldr_missed", r.lang, end=pct(v.county_loan_to_deposit_ratio),
                            base=pct(v.get("county_loan_to_deposit_ratio_base")),
                            change=f"{abs(v.get('county_loan_to_deposit_ratio_change_pp')):.2f}"))
    for segment in ("inclusive_smb", "inclusive_agri"):
        if k.of(segment, "within_tolerance") is False:
            missed.append(label("svc_npl_missed", r.lang, segment=r.t(segment) if r.lang == "zh" else r.t(segment).lower(), ratio=pct(k.of(segment, "npl_ratio")),
                                excess=f"{-k.of(segment, 'npl_headroom_pp'):.2f}"))
    if q.errors:
        missed.append(label("svc_errors_missed", r.lang, errors=f"{q.errors:,}"))
    return missed


@titled("svc_summary_heading")
def summary(r: Report, plausibility: int | None = None, export_dir: str = "") -> Section:
    """The one-page summary for the filing: every target missed first, with its direction and size, then those
    met; written as CSV into ``export_dir`` when given."""
    table = service_report.summary_table(r.doc, plausibility, r.lang, outlets=r.bank_file.outlets)
    indicator, met = table.columns[1], table.columns[5]
    sep = r.t("svc_list_sep")
    met_items = sep.join(table.loc[table[met] == r.t("yes"), indicator])
    missed = missed_targets(r)
    parts = [label("svc_missed", r.lang, items=sep.join(missed))] if missed else []
    if met_items:
        parts.append(label("svc_met" if missed else "svc_all_met", r.lang, items=met_items))
    notes = ()
    if export_dir:
        path = service_report.export_summary(table, export_dir, r.bank.bank_id, r.period)
        notes = (label("svc_exported", r.lang, name=path.name),)
    return Section(finding=" ".join(parts) if r.lang == "en" else "".join(parts),
                   tables=(Table(r.t("svc_summary_caption"), table, note=r.t("svc_summary_note")),), notes=notes)


@titled("svc_volume_heading")
def volume(r: Report) -> Section:
    """保量 (notice 二(一)): the targets are in the summary; the growth chart is report 01's, not drawn twice."""
    return Section(finding=r.t("svc_volume"))


@titled("svc_pricing_heading")
def pricing(r: Report) -> Section:
    """稳价 (notice 二(二)): the speed of the LPR pass-through, beside the summary's rates."""
    p = r.doc.pricing
    if p.inclusive_smb_new_rate_pct is None:
        return Section(finding=r.t("svc_pricing_none"))
    pt = p.passthrough
    if pt.long_run is None or pt.half_life_months is None:
        return Section(finding=r.t("svc_pricing_no_passthrough"))
    return Section(finding=label("svc_pricing", r.lang, half_life=f"{pt.half_life_months:.1f}", months=pt.n_months,
                                 first=pt.first_month, last=pt.last_month))


@titled("svc_structure_heading")
def structure(r: Report) -> Section:
    """优结构 (notice 二(三)): borrowers served in the period and the structure of the stock at the period end."""
    f = r.doc.first_loans
    if not f.borrowers_originated:
        return Section(finding=r.t("svc_structure_none"))
    kinds = ("credit", "renewal", "medium_long_term", "small_credit")
    shares = [f.of("stock", f"{k}_share") for k in kinds]
    frame = pd.DataFrame({r.t("svc_kind"): [r.t(f"svc_{k}") for k in kinds],
                          r.t("svc_stock_share"): [pct(s, 1) for s in shares]})
    note = r.t("svc_stock_note") if any(s is None for s in shares) else ""
    return Section(finding=label("svc_structure", r.lang, borrowers=f"{f.borrowers_originated:,}"),
                   tables=(Table(r.t("svc_stock_caption"), frame, note=note),))


@titled("svc_risk_heading")
def risk(r: Report) -> Section:
    """不良容忍度 (notice 四(九)): the headroom in yuan and the NPL formation, beside the summary's ratios."""
    k = r.doc.risk
    if k.inclusive_smb_npl_ratio is None or k.inclusive_smb_npl_headroom_cny is None:
        return Section(finding=r.t("svc_risk_none"))
    key = "svc_risk_within" if k.inclusive_smb_within_tolerance else "svc_risk_over"
    formation = k.inclusive_smb_npl_formation_12m
    return Section(finding=label(key, r.lang, amount=yi(abs(k.inclusive_smb_npl_headroom_cny)),
                                 formation="" if formation is None else label("svc_formation", r.lang, value=pct(formation))))


@titled("svc_quality_heading")
def data_quality(r: Report) -> Section:
    """数据质量 (notice 五(十一)): the summary carries the counts; report 05 the detail."""
    return Section(finding=r.t("svc_quality"))
