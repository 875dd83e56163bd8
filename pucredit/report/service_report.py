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


def summary_table(metrics: MetricsDocument, quality_findings: int | None = None, lang: str = "zh",
                  outlets: int | None = None) -> pd.DataFrame:
    """The one-page summary: section, indicator, unit, value, target or reference, and whether it is met.

    Every value comes from ``metrics`` (the report's metrics.json); ``quality_findings`` is the number of
    plausibility findings of the quality review up to the period end (a row flagged by two checks counts
    twice), when it was run.
    """
    v, p, f, k, q = metrics.volume, metrics.pricing, metrics.first_loans, metrics.risk, metrics.quality

    def t(key: str, **values) -> str:
        return label(key, lang, **values)

    def met(value):
        return "—" if value is None else t("yes" if value else "no")

    total_growth = _fmt(v.total_loans_growth, "fraction")

    def target(segment: str, notice: str) -> str:
        """What the segment's target asks of this bank (二(一)): the notice's, its local office's, or nothing."""
        basis = v.of(segment, "target_basis")
        if basis == "reference":
            return t("svc_target_reference")
        if basis == "local_office":
            return t("svc_target_local", floor=_fmt(v.of(segment, "target_growth"), "fraction"))
        return t(notice, total=total_growth)
    agri_limit = k.get("inclusive_agri_npl_limit_ratio")
    rows = [
        ("volume", "smb_balance", "100m_cny", v.inclusive_smb_balance_cny, "", "—"),
        ("volume", "smb_growth", "fraction", v.inclusive_smb_growth, target("inclusive_smb", "svc_target_total"),
         met(v.inclusive_smb_target_met)),
        ("volume", "smb_borrowers", "count", v.inclusive_smb_borrowers, "", "—"),
        ("volume", "agri_balance", "100m_cny", v.inclusive_agri_balance_cny, "", "—"),
        ("volume", "agri_growth", "fraction", v.inclusive_agri_growth, target("inclusive_agri", "svc_target_total"),
         met(v.inclusive_agri_target_met)),
        ("volume", "agri_borrowers", "count", v.inclusive_agri_borrowers, "", "—"),
        ("volume", "agri_loans_growth", "fraction", v.of("agri_loans", "growth"),
         target("agri_loans", "svc_target_growing"), met(v.get("agri_loans_balance_growing"))),
        ("volume", "key_county_growth", "fraction", v.of("key_county", "growth"),
         target("key_county", "svc_target_bank_total"), met(v.of("key_county", "target_met"))),
        ("volume", "poverty_area_growth", "fraction", v.of("poverty_area", "growth"),
         target("poverty_area", "svc_target_growing"), met(v.of("poverty_area", "target_met"))),
        ("volume", "county_ldr", "fraction", v.county_loan_to_deposit_ratio,
         t("svc_target_ldr", base=_fmt(v.get("county_loan_to_deposit_ratio_base"), "fraction")),
         met(v.get("county_loan_to_deposit_ratio_rising"))),
        ("pricing", "new_amount", "100m_cny", p.inclusive_smb_new_amount_cny, "", "—"),
        ("pricing", "new_rate", "pct", p.inclusive_smb_new_rate_pct, "", "—"),
        ("pricing", "new_spread", "pp", p.inclusive_smb_new_spread_pp, "", "—"),
        ("pricing", "new_allin", "pct", p.inclusive_smb_new_allin_rate_pct, "", "—"),
        ("pricing", "passthrough", "", None if p.passthrough.long_run is None else round(p.passthrough.long_run, 2),
         "", "—"),
        ("structure", "first_borrowers", "count", f.first_loan_borrowers,
         t("svc_target_first_last_year", before=_fmt(f.first_loan_borrowers_last_year, "count")), "—"),
        ("structure", "first_share", "fraction", f.first_loan_share, "", "—"),
        ("structure", "new_credit", "fraction", f.new_credit_share, "", "—"),
        ("structure", "new_renewal", "fraction", f.new_renewal_share, "", "—"),
        ("structure", "new_medium_long", "fraction", f.new_medium_long_term_share, "", "—"),
        ("risk", "smb_npl", "fraction", k.inclusive_smb_npl_ratio,
         t("svc_target_smb_npl", total=_fmt(k.total_npl_ratio, "fraction"), tolerance=k.tolerance_pp),
         met(k.inclusive_smb_within_tolerance)),
        ("risk", "smb_headroom", "pp", k.inclusive_smb_npl_headroom_pp, "≥ 0", met(k.inclusive_smb_within_tolerance)),
        ("risk", "agri_npl", "fraction", k.inclusive_agri_npl_ratio,
         "—" if k.inclusive_agri_npl_ratio is None else t("svc_target_agri_no_target") if agri_limit is None else
         t("svc_target_agri_npl", tolerance=f"{k.inclusive_agri_tolerance_pp:g}", limit=_fmt(agri_limit, "fraction")),
         met(k.inclusive_agri_within_tolerance)),
        ("disclosure", "outlets", "", t("pri_to_be_filled") if outlets is None else f"{outlets:,}",
         t("svc_outlets_target"), "—"),
        ("quality", "rows", "rows", q.rows, "", "—"),
        ("quality", "errors", "", f"{q.errors} / {q.warnings}", "0 / —", met(q.errors == 0)),
    ]
    if quality_findings is not None:
        rows.append(("quality", "plausibility", "findings", quality_findings, "", "—"))
    table = pd.DataFrame([
        {"section": t(f"svc_area_{area}"), "indicator": t(f"svc_ind_{indicator}"),
         "unit": t(f"svc_unit_{unit}") if unit else "",
         "value": _fmt(value, "count" if unit in ("rows", "findings") else unit) if not isinstance(value, str) else value,
         "target": target, "met": status}
        for area, indicator, unit, value, target, status in rows])
    return table.rename(columns={c: t(f"svc_col_{c}") for c in table.columns})


def export_summary(summary: pd.DataFrame, folder: str | Path, bank_id: str, period: Period) -> Path:
    """Write the summary table as CSV (UTF-8 with BOM for Excel) into ``folder``, replacing an earlier copy
    of the same bank and period (the table is recomputed from the data, nobody edits it)."""
    path = Path(folder) / f"service_report_summary_{bank_id}_{period.label}.csv"
    return write_text_atomic(path, csv_text(summary), encoding="utf-8-sig")
