"""Sections of the first-loan and structure report, 03 首贷·优结构 (notice 二(三), 四(七), 六(十三)).

Headline numbers (首贷户数, 首贷户占比, 新发放信用贷款占比 ...) are read from ``r.doc.first_loans``;
breakdowns, follow-ups and models come from :mod:`pucredit.analyses.first_loans` and are labelled with
their own scope (exclusive groups, borrowers new to this bank, horizon and controls of a model).
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from pucredit.analyses import first_loans, renewals
from pucredit.report import plotting
from pucredit.report.context import Report, pct, yuan_100m
from pucredit.report.labels import label, value_label
from pucredit.report.section import Section, Table, titled

HORIZON = 12  # months: the follow-up and default horizon of first_loans.follow_up and default_odds
TOP = 10  # counties and branches shown


def _fmt(value, digits: int = 1) -> str:
    """A fraction in percent, "—" when missing."""
    return pct(value, digits) or "—"


def _pct_cell(value, digits: int = 1) -> str:
    """A fraction as a percent number for a column whose header carries the %."""
    return "—" if value is None or pd.isna(value) else f"{value * 100:.{digits}f}"


def _count(value) -> str:
    return "—" if value is None or pd.isna(value) else f"{int(value):,}"


# ---------------------------------------------------------------- §1 首贷拓展

@titled("fl_acquisition_heading")
def acquisition(r: Report) -> Section:
    """First-loan borrowers of the period's inclusive small-micro loans, their share and change on last
    year (from ``r.doc.first_loans``), and month by month (notice 二(三): 加大首贷投放; 六(十三): 首贷获客)."""
    f, lang = r.doc.first_loans, r.lang
    if not f.borrowers_originated:
        return Section(label("fl_acquisition_none", lang))
    before = f.first_loan_borrowers_last_year
    if f.first_loan_growth is None:
        versus = label("fl_versus_unknown", lang)
    else:
        kind = "fl_versus_rose" if f.first_loan_growth > 0 else "fl_versus_fell" if f.first_loan_growth < 0 else "fl_versus_flat"
        versus = label(kind, lang, before=f"{before:,}", change=_fmt(abs(f.first_loan_growth)))
    finding = label("fl_acquisition_finding", lang, first=f"{f.first_loan_borrowers:,}", share=_fmt(f.first_loan_share),
                    borrowers=f"{f.borrowers_originated:,}", versus=versus)
    rows = [(label("fl_borrowers_originated", lang), f"{f.borrowers_originated:,}"),
            (label("first_loan_borrowers", lang), f"{f.first_loan_borrowers:,}"),
            (label("first_loan_share", lang), _fmt(f.first_loan_share)),
            (label("fl_first_borrowers_last_year", lang), _count(before)),
            (label("fl_first_growth", lang), "—" if f.first_loan_growth is None else f"{f.first_loan_growth * 100:+.1f}%"),
            (label("fl_first_amount", lang), yuan_100m(f.first_loan_amount_cny))]
    table = Table(label("fl_headline_caption", lang),
                  pd.DataFrame(rows, columns=[label("fl_measure", lang), label("fl_value", lang)]),
                  note=label("fl_no_last_year_note", lang) if before is None else "")
    return Section(finding, tables=(table,),
                   figures=(_monthly_figure(r),), extra={"first_loans": f})


def _monthly_figure(r: Report):
    monthly = first_loans.monthly_acquisition(r.bank, r.period.end)
    fig, ax = plt.subplots()
    ax.bar(monthly.index, monthly["first_borrowers"], width=20, color=plotting.COLORS["inclusive_smb"],
           label=r.t("first_loan_borrowers"))
    ax.set_ylabel(label("fl_borrowers_axis", r.lang))
    ax.set_xlabel(label("fl_month_axis", r.lang))
    twin = ax.twinx()
    twin.plot(monthly.index, monthly["first_share"], color=plotting.COLORS["total_loans"], label=r.t("first_loan_share"))
    plotting.percent_axis(twin)
    twin.grid(False)
    twin.set_ylabel(r.t("first_loan_share"))
    ax.set_title(label("fl_monthly_title", r.lang))
    fig.legend(loc="upper center", bbox_to_anchor=(0.5, 0), ncol=2)
    fig.tight_layout()
    return fig


@titled("fl_breakdown_heading")
def acquisition_breakdowns(r: Report) -> Section:
    """First-loan borrowers among all the period's new loans by exclusive group (inclusive_smb /
    agri_not_smb / other, not the overlapping regulatory segments), borrower type, county and branch, against
    the same period last year (notice 二(三), 六(十三))."""
    lang = r.lang
    tables, notes, leader = [], [], None
    for by, top in (("group", None), ("borrower_type", None), ("county_code", TOP), ("branch_id", TOP)):
        frame = first_loans.acquisition_by(r.bank, r.period, by)
        if frame.empty and by != "group":
            notes.append(label("fl_missing_column", lang, column=r.t(by)))
            continue
        frame = frame[frame["borrowers"] > 0].head(top)
        if frame.empty:
            return Section(label("fl_breakdown_none", lang))
        names = [label("fl_blank", lang) if v == "(blank)" else value_label(by, v, lang) for v in frame.index]
        shown = pd.DataFrame({r.t(by): names,
                              label("fl_col_borrowers", lang): frame["borrowers"].map(_count).to_numpy(),
                              label("fl_col_first", lang): frame["first_borrowers"].map(_count).to_numpy(),
                              label("fl_col_first_share", lang): frame["first_share"].map(_pct_cell).to_numpy(),
                              label("fl_col_first_last_year", lang): frame["first_last_year"].map(_count).to_numpy()})
        if by == "borrower_type" and frame["first_borrowers"].iloc[0]:
            leader = dict(type=names[0], first=_count(frame["first_borrowers"].iloc[0]),
                          share=_fmt(frame["first_share"].iloc[0]))
        note = label("fl_by_group_note", lang) if by == "group" and "agri_not_smb" in frame.index else ""
        if frame["first_last_year"].isna().any():
            note = " ".join(filter(None, [note, label("fl_no_last_year_note", lang)]))
        tables.append(Table(label(f"fl_by_{by}_caption", lang, top=top), shown, note=note))
    return Section(label("fl_breakdown_finding", lang, **leader) if leader else label("fl_breakdown_no_first", lang),
                   tables=tuple(tables), notes=tuple(notes))


# ---------------------------------------------------------------- §2 本行新增客户

@titled("fl_new_to_bank_heading")
def new_to_bank(r: Report) -> Section:
    """Borrowers with a balance at the period end who had no loan with this bank at the previous year end: new to
    the bank (首次在本行获得贷款), which is not 无贷户 (notice 四(七)); that is :func:`conduct.no_bank_loan`."""
    lang = r.lang
    cover = first_loans.new_to_bank(r.bank, r.period)
    if not cover:
        return Section(label("fl_new_to_bank_none", lang))
    if not cover["borrowers"]:
        return Section(label("fl_new_to_bank_empty", lang))
    finding = label("fl_new_to_bank_finding", lang, borrowers=f"{cover['borrowers']:,}",
                    new=f"{cover['without_loan_at_base']:,}", share=_fmt(cover["share"]),
                    smb=f"{cover['inclusive_smb_borrowers']:,}", smb_new=f"{cover['inclusive_smb_without_loan_at_base']:,}",
                    smb_share=_fmt(cover["inclusive_smb_share"]))
    shown = pd.DataFrame({
        label("fl_col_population", lang): [label("fl_all_borrowers", lang), r.t("inclusive_smb")],
        label("fl_col_with_balance", lang): [_count(cover["borrowers"]), _count(cover["inclusive_smb_borrowers"])],
        label("fl_col_new_to_bank", lang): [_count(cover["without_loan_at_base"]),
                                            _count(cover["inclusive_smb_without_loan_at_base"])],
        r.t("share") + " (%)": [_pct_cell(cover["share"]), _pct_cell(cover["inclusive_smb_share"])]})
    table = Table(label("fl_new_to_bank_caption", lang), shown, note=label("fl_new_to_bank_note", lang))
    return Section(finding, tables=(table,), extra={"coverage": cover})


# ---------------------------------------------------------------- §3 首贷之后

def _histories(r: Report) -> pd.DataFrame:
    return first_loans.loan_histories(r.bank, r.period.end)


@titled("fl_follow_heading")
def follow_up(r: Report) -> Section:
    """First against repeat inclusive small-micro loans: a next loan, renewal, line growth and default within
    12 months, and the Kaplan-Meier time to a next loan (notice 二(三): 加大首贷、续贷投放)."""
    lang = r.lang
    histories = _histories(r)
    curves = first_loans.time_to_next_loan(histories)
    follow = first_loans.follow_up(histories, HORIZON)
    if len(curves) < 2 or not {"first", "repeat"} <= set(follow.index):
        return Section(label("fl_follow_none", lang))
    fl, rp = follow.loc["first"], follow.loc["repeat"]
    finding = label("fl_follow_finding", lang, first_next=_fmt(fl["next_loan_rate"]), repeat_next=_fmt(rp["next_loan_rate"]),
                    first_default=_fmt(fl["default_rate"]), repeat_default=_fmt(rp["default_rate"]))
    follow = follow.loc[["first", "repeat"]]
    shown = pd.DataFrame({
        label("fl_col_loan_kind", lang): [label(f"fl_kind_{k}", lang) for k in follow.index],
        label("fl_col_loans", lang): follow["loans"].map(_count).to_numpy(),
        label("fl_col_next_loan", lang): follow["next_loan_rate"].map(_pct_cell).to_numpy(),
        label("fl_col_renewal", lang): follow["renewal_rate"].map(_pct_cell).to_numpy(),
        label("fl_col_line_growth", lang): follow["median_line_growth"].map(_pct_cell).to_numpy(),
        label("fl_col_default", lang): follow["default_rate"].map(_pct_cell).to_numpy()})
    note = label("fl_follow_note", lang) if follow["median_line_growth"].isna().any() else ""
    fig, ax = plt.subplots()
    for name in ("first", "repeat"):
        table = curves[name]
        ax.step(table.index, 1 - table["no_next_loan"], where="post", label=label(f"fl_kind_{name}", lang),
                color=plotting.COLORS["inclusive_smb" if name == "first" else "total_loans"])
    plotting.percent_axis(ax)
    ax.set_xlabel(label("fl_km_x", lang))
    ax.set_ylabel(label("fl_km_y", lang))
    ax.set_title(label("fl_km_title", lang))
    ax.legend(loc="upper left", bbox_to_anchor=(1, 1))
    fig.tight_layout()
    linked = "linked" if renewals.linked(r.bank) else "unlinked"
    return Section(finding,
                   tables=(Table(label("fl_follow_caption", lang), shown, note=note),), figures=(fig,),
                   notes=(label("fl_km_note", lang), label(f"fl_renewals_{linked}", lang)),
                   extra={"follow_up": follow})


@titled("fl_cohorts_heading")
def cohorts(r: Report) -> Section:
    """First-loan borrowers by origination quarter: still a borrower and cumulative default after 6, 12 and
    24 months (notice 二(三), 六(十三): whether first-loan acquisition lasts)."""
    lang = r.lang
    table = first_loans.cohorts(_histories(r), r.bank)
    if table.empty:
        return Section(label("fl_cohorts_none", lang))
    seen = table[f"still_borrower_{HORIZON}m"].dropna()
    values = dict(quarters=len(table), borrowers=f"{int(table['borrowers'].sum()):,}")
    if seen.empty:
        finding = label("fl_cohorts_finding_short", lang, **values)
    else:
        quarter = seen.index[-1]
        finding = label("fl_cohorts_finding", lang, **values, quarter=quarter, still=_fmt(seen.iloc[-1]),
                        default=_fmt(table.loc[quarter, f"cumulative_default_{HORIZON}m"]))
    shown = {label("fl_col_quarter", lang): table.index.to_numpy(),
             label("first_loan_borrowers", lang): table["borrowers"].map(_count).to_numpy()}
    for column in table.columns[1:]:
        kind, months = column.split("_")[0], column.rsplit("_", 1)[-1].rstrip("m")
        header = label("fl_col_still" if kind == "still" else "fl_col_cum_default", lang, months=months)
        shown[header] = table[column].map(_pct_cell).to_numpy()
    return Section(finding,
                   tables=(Table(label("fl_cohorts_caption", lang), pd.DataFrame(shown),
                                 note=label("fl_cohorts_note", lang) if table.isna().any().any() else ""),),
                   extra={"cohorts": table})


# ---------------------------------------------------------------- §4 首贷的价格与风险

@titled("fl_price_risk_heading")
def price_and_risk(r: Report) -> Section:
    """First against repeat loans: the period's new inclusive small-micro rates (``r.doc.first_loans``) and
    the odds of default within 12 months (first_loans.default_odds). This is the reports' one first-loan
    default odds ratio (the 04 risk report refers to it); the first-loan spread difference holding other
    terms fixed is report 02's (spread drivers) and is referred to here (notice 二(二), 二(三), 四(九))."""
    lang, f = r.lang, r.doc.first_loans
    if f.first_loan_new_rate_pct is None or f.repeat_new_rate_pct is None:
        parts = [label("fl_rates_none", lang)]
    else:
        parts = [label("fl_rates_finding", lang, first_rate=f"{f.first_loan_new_rate_pct:.2f}%",
                       repeat_rate=f"{f.repeat_new_rate_pct:.2f}%")]
    parts.append(label("fl_premium_see_pricing", lang))
    odds = first_loans.default_odds(_histories(r), HORIZON)
    if odds is None:
        parts.append(label("fl_odds_none", lang))
        return Section("".join(parts))
    ratio, (low, high) = np.exp(odds.params["is_first_loan"]), np.exp(odds.conf_int().loc["is_first_loan"])
    parts.append(label("fl_odds_finding", lang, ratio=f"{ratio:.2f}", low=f"{low:.2f}", high=f"{high:.2f}"))
    controlled = "C(" in odds.model.formula
    table = Table(label("fl_odds_caption", lang, controls=label("fl_controls_full" if controlled else "fl_controls_none", lang)),
                  _odds_table(odds, lang), note=label("fl_odds_note", lang))
    notes = () if controlled else (label("fl_odds_fallback_note", lang),)
    return Section("".join(parts), tables=(table,), notes=notes,
                   extra={"odds": odds})


def _odds_table(odds, lang: str) -> pd.DataFrame:
    """Odds ratios with plain term names; the intercept (baseline odds, not a ratio) is left out."""
    data, ci = odds.model.data.frame, np.exp(odds.conf_int())
    rows = []
    for term in odds.params.index.drop("Intercept"):
        if term == "is_first_loan":
            name = label("fl_term_first", lang)
        else:
            column, level = term[2:].split(")[T.")
            reference = sorted(data[column].unique())[0]
            name = label("fl_term_level", lang, column=label(column, lang), level=value_label(column, level.rstrip("]"), lang),
                         reference=value_label(column, reference, lang))
        rows.append((name, f"{np.exp(odds.params[term]):.2f}", f"{ci.loc[term, 0]:.2f}", f"{ci.loc[term, 1]:.2f}",
                     f"{odds.pvalues[term]:.3f}"))
    columns = [label(k, lang) for k in ("fl_col_term", "fl_col_odds_ratio", "fl_col_low", "fl_col_high", "fl_col_p")]
    first = [i for i, row in enumerate(rows) if row[0] == label("fl_term_first", lang)]
    return pd.DataFrame([rows[i] for i in first] + [row for i, row in enumerate(rows) if i not in first], columns=columns)


# ---------------------------------------------------------------- §5 优结构

STRUCTURE = ("credit_share", "renewal_share", "medium_long_term_share", "revolving_share", "small_credit_share")


@titled("fl_structure_heading")
def structure(r: Report) -> Section:
    """Credit, renewal, medium/long-term, revolving and small credit loans in the period's new inclusive
    small-micro lending and in its stock (``r.doc.first_loans``), and month by month (notice 二(三):
    小额信用贷款, 随借随还的循环贷)."""
    lang, f, rules = r.lang, r.doc.first_loans, r.policy.structure
    has_repayment = r.bank.has("repayment")
    names = {k: label(f"fl_{k}", lang) for k in STRUCTURE}
    limit = rules.small_credit_loan_max_cny.value
    names["small_credit_share"] = label("fl_small_credit_share", lang, limit=f"{limit / 1e4:,.0f}" if lang == "zh" else f"{limit:,.0f}")

    def value(part: str, key: str):
        return None if key == "revolving_share" and not has_repayment else getattr(f, f"{part}_{key}")

    if f.new_credit_share is not None:
        finding = label("fl_structure_finding" if has_repayment else "fl_structure_finding_no_repayment", lang,
                        credit=_fmt(f.new_credit_share), renewal=_fmt(f.new_renewal_share),
                        medium_long=_fmt(f.new_medium_long_term_share), revolving=_fmt(value("new", "revolving_share")))
    elif f.stock_credit_share is not None:
        finding = label("fl_structure_stock_only", lang, credit=_fmt(f.stock_credit_share),
                        medium_long=_fmt(f.stock_medium_long_term_share))
    else:
        return Section(label("fl_structure_none", lang))
    shown = pd.DataFrame({label("fl_structure_part", lang): list(names.values()),
                          label("fl_structure_new", lang): [_pct_cell(value("new", k)) for k in STRUCTURE],
                          label("fl_structure_stock", lang): [_pct_cell(value("stock", k)) for k in STRUCTURE]})
    blank = (shown == "—").any().any()
    table = Table(label("fl_structure_caption", lang), shown,
                  note=label("fl_structure_note" if blank else "fl_structure_term_note", lang,
                             years=f"{rules.medium_long_term_above_years.value:g}"))
    return Section(finding, tables=(table,),
                   figures=(_structure_figure(r, names, has_repayment),))


def _structure_figure(r: Report, names: dict[str, str], has_repayment: bool):
    by_month = first_loans.structure_by_month(r.bank, r.period.end)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, part in zip(axes, ("new", "stock")):
        for colour, (key, name) in zip(colours, names.items()):
            series = by_month[(part, key)].dropna()
            if (key != "revolving_share" or has_repayment) and not series.empty:
                ax.plot(series.index, series, label=name, color=colour)
        ax.set_title(label(f"fl_structure_{part}_title", r.lang))
        ax.set_xlabel(label("month", r.lang))
        plotting.percent_axis(ax)
    axes[0].set_ylabel(r.t("share"))
    handles, labels_ = axes[1].get_legend_handles_labels()
    fig.legend(handles, labels_, loc="upper center", bbox_to_anchor=(0.5, 0), ncol=3)
    fig.suptitle(label("fl_structure_title", r.lang))
    fig.tight_layout()
    return fig
