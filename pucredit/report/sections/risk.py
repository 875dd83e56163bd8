"""Report 04, NPL tolerance and due-diligence exemption (不良容忍度·尽职免责, notice 四(九)): one function per
section. Headline ratios, headroom and tolerance flags are read from the metrics document (``r.doc.risk``);
tables and charts come from :mod:`pucredit.analyses.risk`.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from pucredit.analyses import renewals, risk
from pucredit.config.paths import parameter_file
from pucredit.report import plotting
from pucredit.report.context import Report, pct, yes_no, yuan_10k
from pucredit.report.labels import label, value_label
from pucredit.report.section import Section, Table, titled

DASH = "—"
OTHER_COLORS = ("#2980b9", "#e67e22", "#f1c40f", "#95a5a6")  # segments without a house colour, in turn
LINE_BANDS = {"≤1m": "risk_line_le_1m", "1–5m": "risk_line_1_5m", "5–10m": "risk_line_5_10m", ">10m": "risk_line_gt_10m"}
SHOWN_BRANCHES = 15


def _segment(r: Report, segment: str) -> str:
    """A segment's name as the policy file gives it."""
    column = r.bank.segments[segment]
    return column.label_zh if r.lang == "zh" else column.label_en


def _colors(segments: list[str]) -> dict[str, str]:
    others = iter(OTHER_COLORS * len(segments))
    return {s: plotting.COLORS[s] if s in plotting.COLORS else next(others) for s in segments}


def _num(value, digits: int = 2) -> str:
    return DASH if value is None or not np.isfinite(value) else f"{value:,.{digits}f}"


def _dash(text: str) -> str:
    return text or DASH


def _path(r: Report) -> pd.DataFrame:
    path = risk.tolerance_path(r.stocks, r.bank, r.terms)
    return path[path.index <= r.period.end]


def _tolerance_segments(r: Report) -> list[str]:
    """Segments with a tolerance in the policy and an NPL ratio key in the metrics document."""
    return [s for s in r.policy.tolerances.segments if s in r.bank.segments and r.doc.risk.of(s, "tolerance_pp") is not None]


@titled("risk_tolerance_heading")
def tolerance(r: Report) -> Section:
    """Each segment's NPL ratio at the period end against its limit, the all-loan NPL ratio plus the segment's
    tolerance (notice 四(九)); breaches first. Values from ``r.doc.risk``; the monthly path in a chart."""
    doc, lang = r.doc.risk, r.lang
    segments = [s for s in _tolerance_segments(r) if doc.of(s, "npl_ratio") is not None]
    path = _path(r)
    if doc.total_npl_ratio is None or not segments or r.period.end not in path.index:
        return Section(label("risk_no_balance", lang))
    limit = {s: doc.of(s, "npl_limit_ratio") for s in segments}
    assessed = [s for s in segments if doc.of(s, "within_tolerance") is not None]
    over = sorted((s for s in assessed if not doc.of(s, "within_tolerance")), key=lambda s: doc.of(s, "npl_headroom_pp"))
    within = sorted((s for s in assessed if s not in over), key=lambda s: doc.of(s, "npl_headroom_pp"))
    details = [label("risk_over", lang, segment=_segment(r, s), ratio=pct(doc.of(s, "npl_ratio")), limit=pct(limit[s]),
                     excess=_num(-doc.of(s, "npl_headroom_pp")), excess_cny=yuan_10k(-doc.of(s, "npl_headroom_cny")))
               for s in over]
    details += [label("risk_within", lang, segment=_segment(r, s), ratio=pct(doc.of(s, "npl_ratio")), limit=pct(limit[s]),
                      headroom=_num(doc.of(s, "npl_headroom_pp")), headroom_cny=yuan_10k(doc.of(s, "npl_headroom_cny")))
                for s in within]
    details += [label("risk_not_assessed", lang, segment=_segment(r, s), ratio=pct(doc.of(s, "npl_ratio")),
                      reason=_not_assessed_reason(r, s))
                for s in segments if s not in assessed]
    finding = label("risk_tolerance_finding", lang, total=pct(doc.total_npl_ratio), details="；".join(details)
                    if lang == "zh" else "; ".join(details))
    rows = []
    for s in _tolerance_segments(r):
        has = doc.of(s, "npl_ratio") is not None
        rows.append({label("segment", lang): _segment(r, s),
                     label("risk_col_npl_ratio", lang): _dash(pct(doc.of(s, "npl_ratio"))),
                     label("risk_col_tolerance_pp", lang): _num(doc.of(s, "tolerance_pp"), 1),
                     label("risk_col_limit", lang): _dash(pct(doc.of(s, "npl_limit_ratio"))),
                     label("risk_col_headroom_pp", lang): _num(doc.of(s, "npl_headroom_pp")),
                     label("risk_col_headroom_10k", lang): _dash(yuan_10k(doc.of(s, "npl_headroom_cny"))),
                     label("risk_col_within", lang): DASH if doc.of(s, "within_tolerance") is None
                     else yes_no(doc.of(s, "within_tolerance"), lang)})
    table = pd.DataFrame(rows)
    notes = [label("risk_total_source_note", lang, source=label("totals_file" if r.bank.has_totals else "tape", lang))]
    note = label("risk_no_ratio_note", lang) if len(rows) > len(segments) else ""
    return Section(finding, tables=(Table(label("risk_tolerance_caption", lang), table, note),),
                   figures=(_tolerance_chart(r, path, segments),), notes=tuple(notes))


def _not_assessed_reason(r: Report, segment: str) -> str:
    """Why a tolerance is shown without a verdict: reference only (no rule found), or no NPL target to compare."""
    tolerance = r.policy.tolerances.segments[segment]
    if tolerance.reference_only:
        return label("risk_reason_reference", r.lang, tolerance=_num(tolerance.value_pp, 1))
    return label("risk_reason_no_target", r.lang)


def _tolerance_chart(r: Report, path: pd.DataFrame, segments: list[str]):
    lang = r.lang
    fig, ax = plt.subplots()
    ax.plot(path.index, path["total_npl_ratio"], color=plotting.COLORS["total_loans"], label=label("total_loans", lang))
    colors = _colors(segments)
    for s in segments:
        ax.plot(path.index, path[f"{s}_npl_ratio"], color=colors[s], label=_segment(r, s))
    for s in segments:
        if f"{s}_limit" in path and not r.policy.tolerances.segments[s].reference_only:
            ax.plot(path.index, path[f"{s}_limit"], color=colors[s], linestyle="--",
                    label=label("risk_chart_limit", lang, segment=_segment(r, s)))
    plotting.percent_axis(ax)
    ax.set_title(label("risk_chart_title", lang))
    ax.set_xlabel(label("risk_axis_month", lang))
    ax.set_ylabel(label("risk_axis_npl_ratio", lang))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    fig.tight_layout()
    return fig


def _branches(r: Report) -> tuple[pd.DataFrame, bool]:
    """Branch tolerances, with the bank's table of differentiated tolerances (columns branch_id, tolerance_pp)
    when the bank has one; and whether it has."""
    table_file = parameter_file("branch_tolerances", f"{r.bank.bank_id}.csv")
    given = pd.read_csv(table_file, dtype={"branch_id": str}) if table_file.exists() else None
    return (risk.branch_tolerance(r.bank, r.period, r.doc.risk.total_npl_ratio, r.doc.volume.total_loans_balance_cny,
                                  given), given is not None)


@titled("risk_branches_heading")
def branches(r: Report) -> Section:
    """Per branch: the inclusive small-micro NPL ratio against the all-loan ratio plus the branch's tolerance,
    differentiated where the bank sets one (尽职免责, notice 四(九)); branches over tolerance first."""
    lang = r.lang
    if not r.bank.has("branch_id"):
        return Section(label("risk_no_branches", lang))
    if r.doc.risk.total_npl_ratio is None:
        return Section(label("risk_no_total_ratio", lang))
    frame, differentiated = _branches(r)
    frame = frame.sort_values("headroom_pp")
    outside = frame[frame["headroom_pp"] < 0]
    rated = frame.dropna(subset=["headroom_pp"])
    if rated.empty:
        return Section(label("risk_no_total_ratio", lang))
    if len(outside):
        finding = label("risk_branches_over", lang, count=len(frame), over=len(outside), worst=outside.index[0],
                        excess=_num(-outside["headroom_pp"].iloc[0]), within=len(rated) - len(outside))
    else:
        finding = label("risk_branches_all_within", lang, count=len(frame), tightest=rated.index[0],
                        headroom=_num(rated["headroom_pp"].iloc[0]))
    shown = frame.head(SHOWN_BRANCHES)
    table = pd.DataFrame({
        label("branch_id", lang): shown.index,
        label("balance", lang) + r.unit("unit_10k_cny"): shown["balance_cny"].map(yuan_10k),
        label("risk_col_npl_ratio", lang): shown["npl_ratio"].map(pct).map(_dash),
        label("risk_col_tolerance_pp", lang): shown["tolerance_pp"].map(lambda x: _num(x, 1)),
        label("risk_col_headroom_pp", lang): shown["headroom_pp"].map(_num),
        label("risk_col_headroom_10k", lang): shown["headroom_cny"].map(yuan_10k).map(_dash),
        label("risk_col_within", lang): [yes_no(w, lang) if np.isfinite(h) else DASH
                                         for w, h in zip(shown["within_tolerance"], shown["headroom_pp"])]})
    policy_pp = _num(r.policy.tolerances.segments["inclusive_smb"].value_pp, 1)
    note = label("risk_branches_no_balance_note", lang) if shown["npl_ratio"].isna().any() else ""
    source = label("risk_branches_differentiated" if differentiated else "risk_branches_policy", lang, tolerance=policy_pp)
    return Section(finding, tables=(Table(label("risk_branches_caption", lang, shown=SHOWN_BRANCHES), table, note),),
                   notes=(source,))


def _migration_table(r: Report, matrix: pd.DataFrame) -> pd.DataFrame:
    lang = r.lang
    table = matrix.map(lambda x: pct(x, 1))
    table.columns = [label(f"risk_col_{c}", lang) if c in ("exit", "renewed_unlinked") else value_label("risk_class", c, lang)
                     for c in table.columns]
    table.insert(0, label("risk_col_start_class", lang), [value_label("risk_class", i, lang) for i in matrix.index])
    return table.reset_index(drop=True)


@titled("risk_migration_heading")
def migrations(r: Report) -> Section:
    """Five-class migration of inclusive small-micro loans from the start of the period (and over its last
    month) to its end: roll rates by starting balance (notice 四(九))."""
    lang = r.lang
    start = r.period.base_date if r.period.base_date in r.stocks.index else r.bank.months[0]
    matrix = risk.migration_matrix(r.bank, start, r.period.end)
    if matrix.empty:
        return Section(label("risk_migration_none", lang))
    dates = {"start": f"{start:%Y-%m}", "end": f"{r.period.end:%Y-%m}"}
    if "normal" in matrix.index:
        row = matrix.loc["normal"]
        finding = label("risk_migration_finding", lang, **dates, to_npl=pct(row[r.policy.npl.risk_classes].sum(), 1),
                        to_exit=pct(row["exit"], 1))
    else:
        finding = label("risk_migration_no_normal", lang, **dates)
    tables = [Table(label("risk_migration_caption", lang, **dates), _migration_table(r, matrix))]
    previous = r.period.end - pd.offsets.MonthEnd(1)
    if previous in r.stocks.index and previous > start:
        monthly = risk.migration_matrix(r.bank, previous, r.period.end)
        if not monthly.empty:
            tables.append(Table(label("risk_migration_caption", lang, start=f"{previous:%Y-%m}", end=dates["end"]),
                                _migration_table(r, monthly)))
    linked = "linked" if renewals.linked(r.bank) else "unlinked"
    return Section(finding, tables=tuple(tables), notes=(label(f"risk_renewals_{linked}", lang),))


@titled("risk_formation_heading")
def formation(r: Report) -> Section:
    """The 12-month NPL formation rate of inclusive small-micro loans (from ``r.doc.risk``) and the monthly
    formation and cure rates behind it (notice 四(九))."""
    lang = r.lang
    monthly = risk.monthly_formation(r.bank)
    monthly = monthly[monthly.index <= r.period.end].dropna(subset=["formation_rate"])
    if monthly.empty:
        return Section(label("risk_formation_none", lang))
    rate = r.doc.risk.inclusive_smb_npl_formation_12m
    finding = label("risk_formation_short", lang) if rate is None else label("risk_formation_12m", lang, rate=pct(rate))
    lines = {name: monthly[f"{name}_rate"] for name in ("formation", "cure") if monthly[f"{name}_rate"].fillna(0).any()}
    notes = () if "cure" in lines else (label("risk_no_cures", lang),)
    if not lines:
        return Section(finding, notes=(label("risk_no_formation", lang),))
    fig, ax = plt.subplots()
    for name, series in lines.items():
        ax.plot(series.index, series, color=plotting.COLORS["inclusive_smb" if name == "formation" else "inclusive_agri"],
                label=label(f"risk_{name}_rate", lang))
    plotting.percent_axis(ax)
    ax.set_title(label("risk_formation_title", lang))
    ax.set_xlabel(label("risk_axis_month", lang))
    ax.set_ylabel(label("risk_axis_share", lang))
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), fontsize=8)
    fig.tight_layout()
    return Section(finding, figures=(fig,), notes=notes)


@titled("risk_vintage_heading")
def vintages(r: Report) -> Section:
    """Cumulative default of inclusive small-micro loans by months on book, per origination quarter, by amount
    (default as the policy defines it for vintages: substandard or worse, or 90+ days past due)."""
    lang = r.lang
    definition = r.policy.risk.vintage_default
    curves = risk.vintage_curves(r.bank, definition=definition)
    curves = curves[curves.index.astype(str) <= str(r.period.end.to_period("Q"))].dropna(axis=1, how="all")
    if curves.empty:
        return Section(label("risk_vintage_none", lang))
    at12 = curves[12].dropna() if 12 in curves else pd.Series(dtype=float)
    if at12.empty:
        finding = label("risk_vintage_young", lang)
    else:
        finding = label("risk_vintage_finding", lang, low=pct(at12.min()), high=pct(at12.max()),
                        quarter=at12.index[-1], latest=pct(at12.iloc[-1]))
    if not curves.fillna(0).to_numpy().any():
        return Section(finding, notes=(label("risk_vintage_no_default", lang),))
    drawn = curves.iloc[::2] if len(curves) > 8 else curves
    fig, ax = plt.subplots()
    cmap = plt.get_cmap("viridis")
    for i, (quarter, row) in enumerate(drawn.iterrows()):
        ax.plot(row.index, row.values, color=cmap(i / max(1, len(drawn) - 1)), linewidth=1.4, label=quarter)
    plotting.percent_axis(ax)
    ax.set_xlabel(label("risk_axis_months_on_book", lang))
    ax.set_ylabel(label("risk_axis_cum_default", lang))
    ax.set_title(label(f"risk_vintage_title_{definition}", lang))
    ax.legend(title=label("risk_vintage_legend", lang), loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=9,
              ncol=1 if len(drawn) <= 12 else 2)
    fig.tight_layout()
    notes = (label("risk_vintage_every_other", lang),) if len(drawn) < len(curves) else ()
    return Section(finding, figures=(fig,), notes=notes)


def _factor_names(lang: str) -> dict[str, str]:
    return {"group": label("group", lang), "borrower_type": label("borrower_type", lang),
            "guarantee": label("guarantee", lang), "line_band": label("risk_line_band", lang)}


def _level(factor: str, value: str, lang: str) -> str:
    if factor == "line_band":
        return label(LINE_BANDS[value], lang)
    if factor == "guarantee":
        return label(f"risk_guarantee_{value}", lang)
    return value_label(factor, value, lang)


def _odds_ratios(fit, lang: str) -> pd.DataFrame:
    """The fit's categorical terms as odds ratios, each with its factor, category and reference category in
    words (first loans left out: report 03 shows them)."""
    terms = [t[2:-1].split(")[T.") for t in fit.params.index if t.startswith("C(")]
    frame = fit.model.data.frame
    references = {}
    for factor in {f for f, _ in terms}:
        # treatment coding: the reference is the one category present in the data without a term of its own
        missing = sorted(set(frame[factor]) - {v for f, v in terms if f == factor})
        references[factor] = missing[0]
    low, high = np.exp(fit.conf_int()[0]), np.exp(fit.conf_int()[1])
    names = _factor_names(lang)
    rows = []
    for (factor, value), term in zip(terms, [t for t in fit.params.index if t.startswith("C(")]):
        # the intercept and is_first_loan are not shown (first loans: report 03)
        rows.append({"factor": factor, "odds_ratio": float(np.exp(fit.params[term])), "p": float(fit.pvalues[term]),
                     label("risk_col_factor", lang): names[factor],
                     label("risk_col_level", lang): _level(factor, value, lang),
                     label("risk_col_reference", lang): _level(factor, references[factor], lang),
                     label("risk_col_odds_ratio", lang): f"{np.exp(fit.params[term]):.2f}",
                     label("risk_col_low", lang): f"{low[term]:.2f}", label("risk_col_high", lang): f"{high[term]:.2f}",
                     label("risk_col_p", lang): f"{fit.pvalues[term]:.3f}"})
    return pd.DataFrame(rows)


@titled("risk_drivers_heading")
def default_drivers(r: Report) -> Section:
    """What drives default within 12 months of origination: a binomial GLM on segment group (exclusive),
    borrower type, guarantee and credit line, shown as odds ratios against named reference categories
    (notice 四(九)). The first-loan effect is controlled for and reported in report 03."""
    lang = r.lang
    fit = risk.default_drivers(r.bank, r.period.end)
    frame = _odds_ratios(fit, lang) if fit is not None else pd.DataFrame()
    if frame.empty:
        return Section(label("risk_drivers_none", lang))
    level, reference = label("risk_col_level", lang), label("risk_col_reference", lang)
    significant = frame[frame["p"] < 0.05].sort_values("odds_ratio", ascending=False)
    listed = [label("risk_drivers_item", lang, level=row[level], reference=row[reference], odds=f"{row['odds_ratio']:.2f}")
              for _, row in significant.iterrows()]
    finding = (label("risk_drivers_finding", lang, items=("；" if lang == "zh" else "; ").join(listed)) if listed
               else label("risk_drivers_none_significant", lang))
    table = frame.drop(columns=["factor", "odds_ratio", "p"])
    notes = [label("risk_drivers_method", lang)]
    if "is_first_loan" in fit.params.index:
        notes.append(label("risk_drivers_first_loans", lang))
    return Section(finding, tables=(Table(label("risk_drivers_caption", lang), table),), notes=tuple(notes))


@titled("risk_stress_heading")
def stress(r: Report) -> Section:
    """How much worse NPL formation may get before each segment with a tolerance reaches its limit by year end
    (all-loan ratio held, no cures or write-offs; notice 四(九)); segments closest to a breach first."""
    lang = r.lang
    months = 12 - r.period.end.month
    if months == 0:
        return Section(label("risk_stress_december", lang))
    if r.period.end not in r.stocks.index:
        return Section(label("risk_stress_none", lang))
    recent = {}
    for segment in _tolerance_segments(r):
        monthly = risk.monthly_formation(r.bank, segment, since=r.period.end - pd.DateOffset(months=12))
        rates = monthly.loc[monthly.index <= r.period.end, "formation_rate"].dropna()
        if len(rates):
            recent[segment] = float(rates.mean())
    frame = risk.stress_to_breach(r.stocks, recent, r.period, r.bank, r.terms)
    if frame.empty:
        return Section(label("risk_stress_none", lang))
    frame = frame.sort_values("breach_multiplier")
    details = []
    for segment, row in frame.iterrows():
        name = _segment(r, segment)
        if row["room_cny"] < 0:
            details.append(label("risk_stress_over", lang, segment=name))
        elif row["breach_multiplier"] < 1:
            details.append(label("risk_stress_breach_at_pace", lang, segment=name, multiplier=_num(row["breach_multiplier"], 2)))
        elif np.isfinite(row["breach_multiplier"]):
            details.append(label("risk_stress_multiplier", lang, segment=name, months=months,
                                 multiplier=_num(row["breach_multiplier"], 1), shift=_num(row["breach_shift_pp_per_month"])))
        else:
            details.append(label("risk_stress_no_formation", lang, segment=name))
    table = pd.DataFrame({
        label("segment", lang): [_segment(r, s) for s in frame.index],
        label("risk_col_formation", lang): frame["monthly_formation_rate"].map(lambda x: pct(x, 3)),
        label("risk_col_room", lang): frame["room_cny"].map(yuan_10k),
        label("risk_col_expected", lang): frame["expected_new_npl_cny"].map(yuan_10k),
        label("risk_col_multiplier", lang): frame["breach_multiplier"].map(_num),
        label("risk_col_shift", lang): frame["breach_shift_pp_per_month"].map(lambda x: _num(x, 3))})
    finding = label("risk_stress_finding", lang, details=("；" if lang == "zh" else "; ").join(details))
    return Section(finding, tables=(Table(label("risk_stress_caption", lang), table),),
                   notes=(label("risk_stress_assumption", lang),))


@titled("risk_dd_heading")
def due_diligence(r: Report) -> Section:
    """Inclusive small-micro NPLs at the period end by whether their branch is within tolerance, and by
    guarantee: counts and amounts only, the basis for 尽职免责 review (notice 四(九))."""
    lang = r.lang
    if not r.bank.has("branch_id"):
        return Section(label("risk_dd_no_branches", lang))
    if r.doc.risk.total_npl_ratio is None:
        return Section(label("risk_dd_no_npl", lang))
    review = risk.due_diligence(r.bank, r.period, _branches(r)[0])
    if review.empty:
        return Section(label("risk_dd_no_npl", lang))
    review["within"] = review["within_tolerance"].eq(True)
    within, outside = review[review["within"]], review[~review["within"]]
    finding = label("risk_dd_finding", lang, loans=int(review["npl_loans"].sum()), amount=yuan_10k(review["npl_cny"].sum()),
                    outside_loans=int(outside["npl_loans"].sum()), outside_amount=yuan_10k(outside["npl_cny"].sum()),
                    within_loans=int(within["npl_loans"].sum()), within_amount=yuan_10k(within["npl_cny"].sum()))
    summary = (review.groupby(["within", "guarantee"]).agg(npl_loans=("npl_loans", "sum"), npl_cny=("npl_cny", "sum"))
               .sort_index(level=0).reset_index())
    table = pd.DataFrame({
        label("risk_dd_status", lang): summary["within"].map({True: label("risk_dd_within", lang),
                                                               False: label("risk_dd_outside", lang)}),
        label("guarantee", lang): summary["guarantee"].map(lambda g: _level("guarantee", g, lang)),
        label("risk_col_loans", lang): summary["npl_loans"].astype(int),
        label("risk_col_amount_10k", lang): summary["npl_cny"].map(yuan_10k)})
    return Section(finding, tables=(Table(label("risk_dd_caption", lang), table),), notes=(label("risk_dd_note", lang),))
