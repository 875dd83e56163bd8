"""The pricing report (稳价, notice 二(二)): new-loan rates against the LPR, spreads, pass-through, the all-in
cost and what drives the spread. One function per section of notebook 02; figures under a regulatory label
come from the metrics document (``r.doc.pricing``), exclusive breakdowns carry their own labels.
"""
from __future__ import annotations

import math
import re

import matplotlib.pyplot as plt
import pandas as pd

from pucredit.analyses import pricing
from pucredit.config import reference
from pucredit.engine.segments import ungrouped
from pucredit.report import plotting
from pucredit.report.context import Report, pct, yuan_100m
from pucredit.report.labels import catalogue, label, value_label
from pucredit.report.section import Section, Table, titled

DASH = "—"
TENOR_KEYS = {band: f"pr_tenor_{i}" for i, (_, _, band) in enumerate(pricing.TENOR_BANDS, 1)}
LINE_KEYS = {band: f"pr_line_{i}" for i, band in enumerate(("≤1m", "1–5m", "5–10m", ">10m"), 1)}
FIRST_KEYS = {"first": "pr_first", "repeat": "pr_repeat"}
SPREAD_BREAKDOWNS = (("group", None), ("borrower_type", None), ("tenor_band", None), ("guarantee", None),
                     ("first_or_repeat", None), ("line_band", None), ("branch_id", 10), ("month", None))
TOP_BRANCHES = 10


def num(value, digits: int = 2) -> str:
    """A number to ``digits`` decimals, or — when it is missing or not finite."""
    return DASH if value is None or not math.isfinite(value) else f"{value:,.{digits}f}"


def segment_label(r: Report, name: str) -> str:
    """A policy segment's name: the report's base label when there is one, else the policy file's."""
    if name in catalogue():
        return r.t(name)
    segment = r.bank.segment(name)
    return segment.label_zh if r.lang == "zh" else segment.label_en


def level_label(r: Report, column: str, value) -> str:
    """A breakdown's value in words: tenor in months, credit lines in 万元, codes in the report's language."""
    keys = {"tenor_band": TENOR_KEYS, "line_band": LINE_KEYS, "first_or_repeat": FIRST_KEYS}.get(column)
    return (label(keys[value], r.lang) if value in keys else DASH) if keys else value_label(column, value, r.lang)


def capitalized(r: Report, text: str) -> str:
    """English labels that open a cell start with a capital ("Credit", not "credit")."""
    return text[:1].upper() + text[1:] if r.lang == "en" else text


def level_order(column: str, values) -> list:
    """Band values in the order of their bounds (not as text); other values sorted."""
    keys = {"tenor_band": list(TENOR_KEYS), "line_band": list(LINE_KEYS)}.get(column)
    return sorted(values, key=lambda v: keys.index(v) if v in keys else len(keys)) if keys else sorted(values)


def fixed_rate_note(r: Report, loans: pd.DataFrame) -> str:
    return label("pr_fixed_rate_note", r.lang, loans=f"{len(loans):,}",
                 fixed=f"{int((loans['pricing_base'] == 'fixed').sum()):,}")


# ---------------------------------------------------------------- 1. new-loan rates


@titled("pr_rates_heading")
def new_rates(r: Report) -> Section:
    """New loans of every policy segment (regulatory, overlapping definitions) from ``r.doc.pricing``: amount,
    count, weighted rate and spread over the LPR, with the monthly rates against the 1Y LPR (二(二))."""
    p, t = r.doc.pricing, r.t
    loans = pricing.new_loans(r.bank, r.period)
    if loans.empty:
        return Section(label("pr_rates_nothing", r.lang))
    if p.inclusive_smb_new_rate_pct is None:
        finding = label("pr_rates_none", r.lang)
    else:
        values = dict(amount=yuan_100m(p.inclusive_smb_new_amount_cny), loans=f"{p.inclusive_smb_new_loans:,}",
                      rate=num(p.inclusive_smb_new_rate_pct))
        finding = (label("pr_rates_finding_fixed", r.lang, **values) if p.inclusive_smb_new_spread_pp is None else
                   label("pr_rates_finding", r.lang, spread=num(p.inclusive_smb_new_spread_pp), **values))
    rows = [{t("pr_col_segment_regulatory"): segment_label(r, name),
             t("pr_col_loans"): f"{p.of(name, 'new_loans'):,}",
             t("pr_col_amount"): yuan_100m(p.of(name, "new_amount_cny")),
             t("pr_col_rate"): num(p.of(name, "new_rate_pct")),
             t("pr_col_spread"): num(p.of(name, "new_spread_pp"))} for name in ungrouped(r.bank.segments)]
    table = Table(t("pr_rates_caption"), pd.DataFrame(rows), note=t("pr_rates_missing_note"))
    return Section(finding, tables=(table,), figures=(_rates_chart(r),), notes=(fixed_rate_note(r, loans),))


def _rates_chart(r: Report):
    rates = pricing.monthly_segment_rates(r.bank, r.period.end)
    fig, ax = plt.subplots(figsize=(9, 5.5))
    for name in ("inclusive_smb", "inclusive_agri"):
        if rates[f"{name}_rate_pct"].notna().any():
            ax.plot(rates.index, rates[f"{name}_rate_pct"], color=plotting.COLORS[name], label=segment_label(r, name))
    lpr = r.tape.lpr.set_index("fixing_date")["lpr_1y_pct"]
    lpr = lpr[(lpr.index <= r.period.end) & (lpr.index >= rates.index.min() - pd.offsets.MonthBegin(1))]
    lpr = pd.concat([lpr, pd.Series([lpr.iloc[-1]], index=[r.period.end])])  # the last fixing holds to the end
    ax.step(lpr.index, lpr, where="post", color=plotting.COLORS["total_loans"], label=r.t("pr_lpr_1y"))
    national = reference.load_national()
    for series, marker, basis in (("nfra_inclusive_smb_new_rate_avg", "s", "nfra_basis"),
                                  ("pboc_inclusive_smb_new_rate_month", "o", "pboc_basis")):
        points = national[(national["series"] == series) & (national["period_end"] >= rates.index.min())
                          & (national["period_end"] <= r.period.end)]
        if not points.empty:
            ax.scatter(points["period_end"], points["value"], marker=marker, color=plotting.COLORS["national"],
                       zorder=3, label=label("pr_national_rate", r.lang, basis=r.t(basis)))
    ax.set(title=r.t("pr_chart_rates_title"), xlabel=r.t("pr_chart_month_axis"), ylabel=r.t("pr_chart_rate_axis"))
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- 2. spreads


@titled("pr_spreads_heading")
def spreads(r: Report) -> Section:
    """The distribution of new loans' spreads over the applicable LPR (amount-weighted), by exclusive group and
    by borrower type, term, guarantee, first loan, credit line, branch and month (二(二))."""
    loans = pricing.new_loans(r.bank, r.period)
    by_group = pricing.spread_distribution(loans, "group")
    if by_group.empty:
        return Section(label("pr_spreads_none", r.lang))
    if "inclusive_smb" in by_group.index:
        s = by_group.loc["inclusive_smb"]
        finding = label("pr_spreads_finding", r.lang, p50=num(s["p50_pp"]), p10=num(s["p10_pp"]),
                        p90=num(s["p90_pp"]), below=pct(s["at_or_below_lpr"], 1))
    else:
        finding = label("pr_spreads_finding_no_smb", r.lang)
    tables = []
    for by, top in SPREAD_BREAKDOWNS:
        if by == "branch_id" and not r.bank.has("branch_id"):
            continue
        table = by_group if by == "group" else pricing.spread_distribution(loans, by)
        if table.empty:
            continue
        if top:
            table = table.sort_values("amount_cny", ascending=False).head(top)
        else:
            table = table.loc[level_order(by, table.index)]
        caption = (label("pr_spreads_caption_top", r.lang, by=r.t(f"pr_by_{by}"), top=top) if top else
                   label("pr_spreads_caption", r.lang, by=r.t(f"pr_by_{by}")))
        tables.append(Table(caption, _spread_frame(r, by, table),
                            note=r.t("pr_spreads_group_note") if by == "group" else ""))
    return Section(finding, tables=tuple(tables), notes=(fixed_rate_note(r, loans),))


def _spread_frame(r: Report, by: str, table: pd.DataFrame) -> pd.DataFrame:
    t = r.t
    heading = t("pr_col_group") if by == "group" else capitalized(r, label(f"pr_by_{by}", r.lang))
    frame = pd.DataFrame({heading: [capitalized(r, level_label(r, by, v)) for v in table.index],
                          t("pr_col_loans"): [f"{n:,}" for n in table["loans"]],
                          t("pr_col_amount"): table["amount_cny"].map(yuan_100m).to_list(),
                          t("pr_col_mean_pp"): table["mean_pp"].map(num).to_list()})
    for q in ("p10", "p25", "p50", "p75", "p90"):
        frame[t(f"pr_col_{q}")] = table[f"{q}_pp"].map(num).to_list()
    frame[t("pr_col_at_or_below")] = table["at_or_below_lpr"].map(lambda x: pct(x, 1)).to_list()
    return frame


# ---------------------------------------------------------------- 3. pass-through


@titled("pr_passthrough_heading")
def passthrough(r: Report) -> Section:
    """LPR pass-through (二(二) 根据LPR合理确定利率水平): the inclusive small-micro headline from
    ``r.doc.pricing.passthrough``, the other segments from :func:`pricing.passthrough_by_segment`, and the
    new-loan rates around each 1Y LPR change."""
    main = r.doc.pricing.passthrough
    if main.long_run is None:
        finding = label("pr_pass_none", r.lang, reason=_reason(r, main))
    else:
        values = dict(long_run=num(main.long_run), short_run=num(main.short_run), first=main.first_month,
                      last=main.last_month, months=main.n_months, changes=main.lpr_changes)
        finding = (label("pr_pass_finding_no_half_life", r.lang, **values) if main.half_life_months is None else
                   label("pr_pass_finding", r.lang, half_life=num(main.half_life_months, 1), **values))
    fits = {**pricing.passthrough_by_segment(r.bank, r.period), "inclusive_smb": main}
    names = [*ungrouped(r.bank.segments), "all"]
    events = pricing.lpr_event_view(pricing.monthly_new_rates(r.bank, r.period.end), r.tape.lpr)
    if events.empty and all(fits[name].long_run is None for name in names):
        return Section(finding)  # no segment can be estimated and no LPR change to look at: the one line says why
    tables = [Table(r.t("pr_pass_caption"), pd.DataFrame([_fit_row(r, name, fits[name]) for name in names]),
                    note=r.t("pr_pass_note"))]
    if events.empty:
        return Section(finding, tables=tuple(tables), notes=(r.t("pr_events_none"),))
    tables.append(Table(r.t("pr_events_caption"), _events_frame(r, events), note=r.t("pr_events_note")))
    return Section(finding, tables=tuple(tables), figures=(_events_chart(r, events),))


def _reason(r: Report, fit) -> str:
    """Why a pass-through fit was refused, in the report's language (the thresholds of the policy file)."""
    policy = r.policy.passthrough
    if fit.n_months < policy.min_months:
        return label("pr_reason_months", r.lang, months=fit.n_months, needed=policy.min_months)
    if fit.lpr_changes < policy.min_lpr_changes:
        return label("pr_reason_changes", r.lang, changes=fit.lpr_changes, needed=policy.min_lpr_changes)
    return r.t("pr_reason_fit")


def _with_ci(value, ci, digits: int = 2) -> str:
    if value is None:
        return DASH
    return num(value, digits) + ("" if ci is None else f" [{num(ci[0], digits)}, {num(ci[1], digits)}]")


def _fit_row(r: Report, name: str, fit) -> dict:
    t = r.t
    return {t("pr_col_segment_regulatory"): t("pr_all_new_loans") if name == "all" else segment_label(r, name),
           t("pr_col_long_run"): _with_ci(fit.long_run, fit.long_run_ci),
           t("pr_col_short_run"): _with_ci(fit.short_run, fit.short_run_ci),
           t("pr_col_speed"): _with_ci(fit.adjustment_speed, fit.adjustment_speed_ci),
           t("pr_col_half_life"): _with_ci(fit.half_life_months, fit.half_life_ci, 1),
           t("pr_col_bounds"): DASH if fit.bounds_test_f is None else
           f"{num(fit.bounds_test_f, 1)} ({num(fit.bounds_test_p, 3)})",
           t("pr_col_window"): f"{fit.n_months} / {fit.lpr_changes}",
           t("pr_col_lags"): DASH if fit.lags_rate is None else f"{fit.lags_rate}, {fit.lags_lpr}",
           t("pr_col_note"): DASH if fit.long_run is not None else _reason(r, fit)}


def _event_months(events: pd.DataFrame) -> list[int]:
    return [c for c in events.columns if isinstance(c, int)]


def _events_frame(r: Report, events: pd.DataFrame) -> pd.DataFrame:
    frame = pd.DataFrame({r.t("pr_col_fixing"): [str(d) for d in events.index],
                          r.t("pr_col_lpr_change"): events["lpr_change_pp"].map(num).to_list()})
    for k in _event_months(events):
        frame[label("pr_col_event_month", r.lang, k=f"{k:+d}".replace("-", "−") if k else "0")] = events[k].map(
            lambda v: num(v, 3)).to_list()
    return frame


def _events_chart(r: Report, events: pd.DataFrame):
    months = _event_months(events)
    per_cut = events[months].div(-events["lpr_change_pp"], axis=0)
    fig, ax = plt.subplots()
    for i, (_, row) in enumerate(per_cut.iterrows()):
        ax.plot(months, row, color=plotting.COLORS["national"], alpha=0.35, linewidth=1,
                label=r.t("pr_chart_events_each") if i == 0 else None)
    ax.plot(months, per_cut.mean(), color=plotting.COLORS["inclusive_smb"], linewidth=2.5,
            label=r.t("pr_chart_events_mean"))
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set(title=r.t("pr_chart_events_title"), xlabel=r.t("pr_chart_events_x"), ylabel=r.t("pr_chart_events_y"))
    ax.legend(loc="upper left", bbox_to_anchor=(1, 1))
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- 4. all-in cost


@titled("pr_cost_heading")
def all_in_cost(r: Report) -> Section:
    """The borrower's real financing cost (实际承担的融资成本) and fees (规范与第三方合作, 收费过高), 二(二): the
    small-micro headline from ``r.doc.pricing``, the cost by product and the high-fee loans by group and branch."""
    p, t = r.doc.pricing, r.t
    if not (r.bank.has("fee_third_party_cny") or r.bank.has("fee_bank_cny")):
        return Section(t("pr_cost_no_fees"))
    if p.inclusive_smb_new_allin_rate_pct is None:
        return Section(t("pr_cost_no_smb"))
    threshold = r.policy.pricing.high_fee_threshold_pp.value
    costed = pricing.all_in(pricing.new_loans(r.bank, r.period))
    high = pricing.high_fee_loans(costed, threshold)
    finding = label("pr_cost_finding", r.lang, allin=num(p.inclusive_smb_new_allin_rate_pct),
                    gap=num(p.inclusive_smb_allin_gap_pp), share=pct(p.inclusive_smb_third_party_fee_share, 1),
                    high=f"{int(high.loc['inclusive_smb', 'loans']):,}", threshold=num(threshold, 1))
    missing_repayment = costed["repayment"].isna().any()
    disclosure = pricing.disclosure_table(costed.fillna({"repayment": DASH}))
    frame = pd.DataFrame({
        t("pr_col_group"): [value_label("group", g, r.lang) for g, _ in disclosure.index],
        t("pr_col_repayment"): [capitalized(r, level_label(r, "repayment", k)) for _, k in disclosure.index],
        t("pr_col_loans"): [f"{n:,}" for n in disclosure["loans"]],
        t("pr_col_amount"): disclosure["amount_cny"].map(yuan_100m).to_list(),
        t("pr_col_contract_rate"): disclosure["contract_rate_pct"].map(num).to_list(),
        t("pr_col_allin_rate"): disclosure["allin_rate_pct"].map(num).to_list(),
        t("pr_col_allin_gap"): disclosure["allin_gap_pp"].map(num).to_list(),
        t("pr_col_third_party_share"): disclosure["third_party_fee_share"].map(lambda x: pct(x, 1)).to_list(),
        t("pr_col_third_party_per_100"): disclosure["third_party_fees_per_100"].map(num).to_list(),
        t("pr_col_bank_per_100"): disclosure["bank_fees_per_100"].map(num).to_list()})
    tables = [Table(t("pr_cost_caption"), frame, note=t("pr_repayment_missing_note") if missing_repayment else ""),
              Table(label("pr_high_caption", r.lang, threshold=num(threshold, 1)),
                    _high_frame(r, t("pr_col_group"), [value_label("group", g, r.lang) for g in high.index], high),
                    note=label("pr_high_threshold_note", r.lang, threshold=num(threshold, 1)))]
    if r.bank.has("branch_id"):
        by_branch = pricing.high_fee_loans(costed, threshold, by="branch_id")
        by_branch = by_branch.sort_values("loans", ascending=False).head(TOP_BRANCHES)
        tables.append(Table(label("pr_high_branch_caption", r.lang, threshold=num(threshold, 1), top=TOP_BRANCHES),
                            _high_frame(r, t("pr_col_branch"), [str(b) for b in by_branch.index], by_branch)))
    paid = costed[["fee_third_party_cny", "fee_bank_cny"]].fillna(0).sum(axis=1) > 0
    gaps = costed.loc[paid, "allin_gap_pp"]
    figures = (_fees_chart(r, gaps, threshold),) if len(gaps) else ()
    return Section(finding, tables=tuple(tables), figures=figures, notes=(t("pr_cost_method"),))


def _high_frame(r: Report, heading: str, labels: list[str], high: pd.DataFrame) -> pd.DataFrame:
    t = r.t
    return pd.DataFrame({heading: labels, t("pr_col_loans"): [f"{int(n):,}" for n in high["loans"]],
                         t("pr_col_amount"): high["amount_cny"].map(yuan_100m).to_list(),
                         t("pr_col_share_loans"): high["share_of_loans"].map(lambda x: pct(x, 1)).to_list(),
                         t("pr_col_share_amount"): high["share_of_amount"].map(lambda x: pct(x, 1)).to_list()})


def _fees_chart(r: Report, gaps: pd.Series, threshold: float):
    fig, ax = plt.subplots()
    ax.hist(gaps, bins=40, color=plotting.COLORS["total_loans"])  # every new loan with fees, all groups
    ax.axvline(threshold, color="black", linestyle="--",
               label=label("pr_chart_fees_threshold", r.lang, threshold=num(threshold, 1)))
    ax.set(title=r.t("pr_chart_fees_title"), xlabel=r.t("pr_chart_fees_x"), ylabel=r.t("pr_chart_fees_y"))
    ax.legend(loc="upper left", bbox_to_anchor=(1, 1))
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- 5. spread drivers

TERM = re.compile(r"^C\((\w+)\)\[T\.(.+)\]$")
DRIVER_VARIABLES = ("group", "borrower_type", "guarantee", "tenor_band", "line_band")
MIN_REGRESSION_LOANS = 50  # pricing.spread_drivers refuses fewer


@titled("pr_drivers_heading")
def spread_drivers(r: Report) -> Section:
    """What moves the spread over the LPR once the other factors are held fixed (:func:`pricing.spread_drivers`,
    二(二)); every coefficient in words, against its named reference category."""
    loans = pricing.new_loans(r.bank, r.period)
    fit = pricing.spread_drivers(loans)
    if fit is None:
        return Section(label("pr_drivers_none", r.lang, needed=MIN_REGRESSION_LOANS))
    data = loans.dropna(subset=["spread_pp"])
    ci = fit.conf_int()
    rows, terms = [], {}
    for term in fit.params.index:
        match = TERM.match(term)
        if match and match.group(1) in DRIVER_VARIABLES:
            terms.setdefault(match.group(1), {})[match.group(2)] = term
    for variable in DRIVER_VARIABLES:
        levels = terms.get(variable, {})
        # the reference is the level without a coefficient (patsy's first in text order, not the band order)
        reference_level = next(v for v in level_order(variable, data[variable].unique()) if v not in levels)
        for level in level_order(variable, levels):
            rows.append((label("pr_term", r.lang, variable=capitalized(r, r.t(f"pr_by_{variable}")),
                               level=level_label(r, variable, level),
                               reference=level_label(r, variable, reference_level)), levels[level]))
    rows.append((r.t("pr_term_first_loan"), "is_first_loan"))
    t = r.t
    frame = pd.DataFrame({t("pr_col_factor"): [name for name, _ in rows],
                          t("pr_col_coef"): [num(fit.params[k], 3) for _, k in rows],
                          t("pr_col_se"): [num(fit.bse[k], 3) for _, k in rows],
                          t("pr_col_p"): [num(fit.pvalues[k], 3) for _, k in rows],
                          t("pr_col_low"): [num(ci.loc[k, 0], 3) for _, k in rows],
                          t("pr_col_high"): [num(ci.loc[k, 1], 3) for _, k in rows]})
    coef, low, high = fit.params["is_first_loan"], ci.loc["is_first_loan", 0], ci.loc["is_first_loan", 1]
    finding = label("pr_drivers_finding", r.lang, direction=t("pr_higher" if coef > 0 else "pr_lower"),
                    size=num(abs(coef)), low=num(low), high=num(high))
    has_missing = (frame == DASH).any().any()
    table = Table(t("pr_drivers_caption"), frame, note=t("pr_drivers_missing_note") if has_missing else "")
    note = label("pr_drivers_note", r.lang, n=f"{int(fit.nobs):,}", r2=num(fit.rsquared))
    return Section(finding, tables=(table,), notes=(note, fixed_rate_note(r, loans)))
