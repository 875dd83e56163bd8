"""Sections of issue 17: priority sectors (三(四)) and support groups (三(六)) in report 01, write-offs and 偏离度
in report 04, the annual-report disclosure items (六(十四)) in report 06.

Every number is a key of the metrics document (``r.doc``): the segments' balance, growth and NPL ratio from
volume and risk, new-loan pricing from pricing, the MLT shares and poverty micro-loan checks from priorities.
Text is in ``catalogue/priorities.yaml``.
"""
from __future__ import annotations

import pandas as pd

from pucredit.analyses import priorities
from pucredit.engine.segments import grouped
from pucredit.report.context import Report, yuan_10k
from pucredit.report.labels import label, value_label
from pucredit.report.section import Section, Table, titled
from pucredit.report.sections.volume import DASH, count, pct, segment_label, yi


def _num(value, digits: int = 2) -> str:
    return DASH if value is None or pd.isna(value) else f"{value:.{digits}f}"


def _wan(value) -> str:
    return yuan_10k(value) or DASH


def _missing_columns(r: Report, names: list[str]) -> dict[tuple[str, ...], list[str]]:
    """Segments the tape cannot tell, by the columns it lacks."""
    out: dict[tuple[str, ...], list[str]] = {}
    for name in names:
        if r.bank.segment(name).missing:
            out.setdefault(r.bank.segment(name).missing, []).append(segment_label(r, name))
    return out


def _segment_row(r: Report, name: str) -> dict:
    v, p, k = r.doc.volume, r.doc.pricing, r.doc.risk
    t = r.t
    return {t("pri_col_balance"): _wan(v.of(name, "balance_cny")), t("pri_col_growth"): pct(v.of(name, "growth")),
            t("pri_col_borrowers"): count(v.of(name, "borrowers")),
            t("pri_col_new_amount"): _wan(p.of(name, "new_amount_cny")),
            t("pri_col_new_rate"): _num(p.of(name, "new_rate_pct")), t("pri_col_spread"): _num(p.of(name, "new_spread_pp")),
            t("pri_col_npl"): pct(k.of(name, "npl_ratio"))}


@titled("pri_sectors_heading")
def priority_sectors(r: Report) -> Section:
    """三(四): inclusive small-micro loans in each priority field of the policy (tech SMEs, 专精特新, green, foreign
    trade, and the sectors by GB/T 4754 industry): balance, growth, new-loan pricing, MLT share of new loans."""
    t = r.t
    names = grouped(r.bank.segments, priorities.PRIORITY_SECTORS)
    missing = _missing_columns(r, names)
    shown = [n for n in names if not r.bank.segment(n).missing]
    if not shown:
        columns = sorted({c for cols in missing for c in cols})
        return Section(finding=label("pri_sectors_none", r.lang, columns=", ".join(columns)))
    doc = r.doc
    rows = [{t("pri_col_field"): segment_label(r, "inclusive_smb"), **_segment_row(r, "inclusive_smb"),
             t("pri_col_mlt"): pct(doc.first_loans.new_medium_long_term_share)}]
    rows += [{t("pri_col_field"): segment_label(r, n), **_segment_row(r, n),
              t("pri_col_mlt"): pct(doc.priorities.of(n, "new_mlt_share"))} for n in shown]
    balances = {n: doc.volume.of(n, "balance_cny") or 0.0 for n in shown}
    largest = max(shown, key=lambda n: balances[n])
    smb = doc.volume.inclusive_smb_balance_cny
    shares = [s for n in shown if (s := doc.priorities.of(n, "new_mlt_share")) is not None]
    mlt_range = (DASH if not shares else label("pri_range_one", r.lang, value=pct(shares[0], 1)) if len(shares) == 1
                 else label("pri_range", r.lang, low=pct(min(shares), 1), high=pct(max(shares), 1)))
    finding = label("pri_sectors_finding", r.lang, shown=len(shown), largest=segment_label(r, largest),
                    balance=_wan(balances[largest]), share=pct(balances[largest] / smb if smb else None, 1),
                    mlt_range=mlt_range, mlt_all=pct(doc.first_loans.new_medium_long_term_share, 1))
    notes = tuple(label("pri_sectors_missing", r.lang, columns=", ".join(cols), fields=_join(r, fields))
                  for cols, fields in missing.items())
    table = Table(t("pri_sectors_caption"), pd.DataFrame(rows), note=t("pri_sectors_note"))
    return Section(finding=finding, tables=(table,), notes=notes)


def _join(r: Report, items: list[str]) -> str:
    return ("、" if r.lang == "zh" else ", ").join(items)


def _rules_table(r: Report) -> Table:
    q, rules, pr, t = r.policy.quality, r.policy.poverty_microloan, r.doc.priorities, r.t

    def status(sourced) -> str:
        return t(f"pri_status_{sourced.status}")

    guarantees = _join(r, [value_label("guarantee", g, r.lang) for g in rules.guarantees])
    over = rules.max_rate_over_lpr_1y_pp.value
    limits = {
        "amount": (label("pri_limit_amount", r.lang, value=f"{q.poverty_household_max_amount_cny.value / 1e4:g}"),
                   status(q.poverty_household_max_amount_cny)),
        "term": (label("pri_limit_term", r.lang, value=f"{q.poverty_household_max_term_months.value:g}"),
                 status(q.poverty_household_max_term_months)),
        "guarantee": (label("pri_limit_guarantee", r.lang, value=guarantees), t("pri_status_confirmed")),
        "rate": (label("pri_limit_rate", r.lang, value=f" + {over:g}pp" if over else ""),
                 status(rules.max_rate_over_lpr_1y_pp)),
    }
    rows = [{t("pri_col_rule"): t(f"pri_rule_{rule}"), t("pri_col_limit"): limit,
             t("pri_col_break_share"): pct(pr.get(f"poverty_household_break_{rule}_share")), t("pri_col_status"): st}
            for rule, (limit, st) in limits.items()]
    rows.append({t("pri_col_rule"): t("pri_rule_any"), t("pri_col_limit"): DASH,
                 t("pri_col_break_share"): pct(pr.poverty_household_break_any_share), t("pri_col_status"): DASH})
    return Table(t("pri_rules_caption"), pd.DataFrame(rows), note=t("pri_rules_note"))


@titled("pri_support_heading")
def support_groups(r: Report) -> Section:
    """三(六): 脱贫人口小额信贷 (balance, growth, NPL ratio, the period's new loans against the 2021 notice's rules) and
    the support-group products of the policy (国家助学贷款), each where the tape has them."""
    t, doc = r.t, r.doc
    names = [n for n in (priorities.POVERTY, *grouped(r.bank.segments, priorities.SUPPORT_GROUPS)) if n in r.bank.segments]
    present = [n for n in names if doc.volume.of(n, "balance_cny") is not None]
    if not present:
        return Section(finding=t("pri_support_none"))
    rows = [{t("pri_col_segment"): segment_label(r, n), **_segment_row(r, n),
             t("pri_col_new_loans"): count(doc.pricing.of(n, "new_loans"))} for n in present]
    tables = [Table(t("pri_support_caption"), pd.DataFrame(rows))]
    poverty = priorities.POVERTY
    if poverty in present:
        values = dict(balance=_wan(doc.volume.of(poverty, "balance_cny")), growth=pct(doc.volume.of(poverty, "growth")),
                      npl=pct(doc.risk.of(poverty, "npl_ratio")))
        loans = doc.priorities.poverty_household_new_loans
        if loans:
            finding = label("pri_support_finding", r.lang, loans=f"{loans:,}",
                            breaks=pct(doc.priorities.poverty_household_break_any_share, 1), **values)
            tables.append(_rules_table(r))
        else:
            finding = label("pri_support_finding_stock", r.lang, **values)
    else:
        finding = t("pri_support_no_poverty")
    notes = tuple(t("pri_student_none") for n in ("student_loan",) if n in names and n not in present)
    return Section(finding=finding, tables=tuple(tables), notes=notes)


@titled("pri_writeoffs_heading")
def writeoffs(r: Report) -> Section:
    """四(九): the NPL ratio with the period's write-offs added back beside the reported one (the bank, from the
    totals file; each segment with a tolerance, by its NPL exits, an upper bound), and loans 90+ days past due over
    NPL balance against the policy's limit (偏离度)."""
    t, k = r.t, r.doc.risk
    segments = [s for s in r.policy.tolerances.segments if k.get(f"{s}_dpd90_within_limit") is not None
                or k.get(f"{s}_npl_exits_cny") is not None]
    if not segments:
        return Section(finding=t("pri_writeoffs_none"))
    limit = pct(k.dpd90_to_npl_max_ratio, 0)
    rows = [{t("pri_col_segment"): t("pri_total_loans"), t("risk_col_npl_ratio"): pct(k.total_npl_ratio),
             t("pri_col_npl_exits"): _wan(k.writeoffs_cny), t("pri_col_with_back"): pct(k.total_npl_ratio_with_writeoffs),
             t("pri_col_dpd90"): DASH, t("pri_col_within_limit"): DASH}]
    for s in segments:
        within = k.get(f"{s}_dpd90_within_limit")
        rows.append({t("pri_col_segment"): segment_label(r, s), t("risk_col_npl_ratio"): pct(k.of(s, "npl_ratio")),
                     t("pri_col_npl_exits"): _wan(k.of(s, "npl_exits_cny")),
                     t("pri_col_with_back"): pct(k.of(s, "npl_ratio_with_exits")),
                     t("pri_col_dpd90"): pct(k.of(s, "dpd90_to_npl_ratio"), 1),
                     t("pri_col_within_limit"): DASH if within is None else t("yes" if within else "no")})
    over = [segment_label(r, s) for s in segments if k.get(f"{s}_dpd90_within_limit") is False]
    dpd90 = (label("pri_dpd90_over", r.lang, limit=limit, segments=_join(r, over))
             if over else label("pri_dpd90_within", r.lang, limit=limit))
    if k.writeoffs_cny is None:
        reason = t("pri_writeoffs_incomplete" if r.bank.has_totals else "pri_writeoffs_no_totals")
        finding = label("pri_writeoffs_finding_none", r.lang, reason=reason, dpd90=dpd90)
    else:
        finding = label("pri_writeoffs_finding", r.lang, writeoffs=_wan(k.writeoffs_cny),
                        with_writeoffs=pct(k.total_npl_ratio_with_writeoffs), total=pct(k.total_npl_ratio), dpd90=dpd90)
    status = t(f"pri_status_{r.policy.risk.dpd90_to_npl_max_ratio.status}")
    table = Table(t("pri_writeoffs_caption"), pd.DataFrame(rows),
                  note=label("pri_writeoffs_note", r.lang, limit=limit, status=status))
    return Section(finding=finding, tables=(table,))


@titled("pri_disclosure_heading")
def disclosure(r: Report) -> Section:
    """六(十四) 在年报中公布普惠金融服务网点建设、信贷投放、客户数量、贷款利率: one table from the metrics document,
    the outlets from the bank file (``outlets``); "to be filled by the bank" only for the outlets it does not give."""
    t, doc = r.t, r.doc
    v, p, f = doc.volume, doc.pricing, doc.first_loans
    outlets = r.bank_file.outlets
    items = [
        ("outlets", "pri_ind_outlets", t("pri_to_be_filled") if outlets is None else f"{outlets:,}"),
        ("lending", "pri_ind_smb_balance", yi(v.inclusive_smb_balance_cny)),
        ("lending", "pri_ind_smb_growth", pct(v.inclusive_smb_growth)),
        ("lending", "pri_ind_smb_new", yi(p.inclusive_smb_new_amount_cny)),
        ("lending", "pri_ind_agri_balance", yi(v.inclusive_agri_balance_cny)),
        ("customers", "pri_ind_smb_borrowers", count(v.inclusive_smb_borrowers)),
        ("customers", "pri_ind_agri_borrowers", count(v.inclusive_agri_borrowers)),
        ("customers", "pri_ind_first_loans", count(f.first_loan_borrowers)),
        ("rates", "pri_ind_smb_rate", DASH if p.inclusive_smb_new_rate_pct is None else f"{p.inclusive_smb_new_rate_pct:.2f}%"),
        ("rates", "pri_ind_agri_rate", DASH if p.inclusive_agri_new_rate_pct is None else f"{p.inclusive_agri_new_rate_pct:.2f}%"),
    ]
    frame = pd.DataFrame([{t("pri_col_item"): t(f"pri_item_{item}"), t("pri_col_indicator"): t(key),
                           t("pri_col_value"): value} for item, key, value in items])
    finding = label("pri_disclosure_finding", r.lang,
                    outlets="" if outlets is not None else t("pri_disclosure_outlets_missing"))
    return Section(finding=finding,
                   tables=(Table(t("pri_disclosure_caption"), frame, note=t("pri_disclosure_note")),))
