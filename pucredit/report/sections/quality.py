"""The data-quality report (notice 五(十一): 切实加强普惠信贷数据质量管理，开展内部抽查和审计，确保数据真实可靠).

One function per section of notebooks/05_quality.py; each returns a :class:`Section` whose text comes from
catalogue/quality.yaml. The counts come from :func:`pucredit.analyses.quality.rule_counts` (the notebook
computes them once and passes them on), the headline numbers from the metrics document ``r.doc.quality``.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from pucredit.analyses import quality
from pucredit.contract.schema import COLUMNS_BY_NAME
from pucredit.report import plotting
from pucredit.report.context import Report, pct, yes_no, yuan_10k, yuan_100m
from pucredit.report.labels import label, rule_label, value_label
from pucredit.report.section import Section, Table, titled

MAX_ROWS = 10  # rows of a branch table; the note says how many there are
MONTHS_SHOWN = 12
RISK_ORDER = ("normal", "special_mention", "substandard", "doubtful", "loss")


def _t(r: Report, key: str, **values) -> str:
    return label(key, r.lang, **values)


def _count(n) -> str:
    return f"{int(n):,}"


def _column(r: Report, name) -> str:
    """A tape column as a reader knows it: its Chinese header (zh) or its words (en)."""
    if not isinstance(name, str) or not name:
        return "—"
    column = COLUMNS_BY_NAME.get(name)
    if column is not None and r.lang == "zh":
        return column.alias
    return name.removesuffix("_cny").removesuffix("_pct").replace("_", " ")


def _cut_note(r: Report, shown: int, total: int, key: str) -> str:
    """"Shows 10 of 14 branches" when rows were cut, else nothing."""
    return _t(r, key, shown=shown, total=total) if total > shown else ""


def _frame(r: Report, columns: dict[str, pd.Series]) -> pd.DataFrame:
    """A reader's table: headers from the catalogue, no index."""
    return pd.DataFrame({_t(r, key): values.to_numpy() for key, values in columns.items()})


@titled("qual_validation_heading")
def validation(r: Report, counts: pd.DataFrame) -> Section:
    """Every validation finding and every row check with its share of rows affected (五(十一) 确保数据真实可靠)."""
    q = r.doc.quality
    by_rule = quality.summarise(counts)
    hit = by_rule[by_rule["flagged"] > 0]
    plaus = hit[hit["kind"] == "plausibility"]
    finding = _t(r, "qual_validation_finding", tape_rows=_count(q.tape_rows), rows=_count(q.rows), errors=q.errors,
                 warnings=q.warnings, hit=len(hit), checks=len(by_rule))
    if len(plaus):
        finding += _t(r, "qual_validation_plausibility", n=len(plaus), rows=_count(plaus["flagged"].sum()))
    tables = []
    found = quality.findings_table(r.tape)
    if not found.empty:
        tables.append(Table(_t(r, "qual_findings_caption"), _frame(r, {
            "qual_severity": found["severity"].map(lambda s: _t(r, f"qual_severity_{s}")),
            "qual_rule": found["rule"].map(lambda x: rule_label(x, r.lang)),
            "qual_rows": found["count"].map(_count),
            "qual_example_row": found["example_row"].map(lambda x: "—" if pd.isna(x) else _count(x)),
            "qual_example_column": found["example_column"].map(lambda x: _column(r, x)),
            "qual_example_value": found["example_value"].map(lambda x: "—" if x is None or pd.isna(x) else str(x)),
        }), note=_t(r, "qual_findings_note")))
    shown = by_rule.sort_values(["flagged", "kind", "rule"], ascending=[False, True, True])
    tables.append(Table(_t(r, "qual_checks_caption"), _frame(r, {
        "qual_check": shown["rule"].map(lambda x: rule_label(x, r.lang)),
        "qual_kind": shown["kind"].map(lambda k: _t(r, f"qual_kind_{k}")),
        "qual_column": shown["column"].map(lambda x: _column(r, x)),
        "qual_population": shown["population"].map(lambda p: _t(r, f"qual_population_{p}")),
        "qual_flagged": shown["flagged"].map(_count),
        "qual_checked": shown["checked"].map(_count),
        "qual_share": shown["share"].map(lambda x: pct(x, 3) or "—"),
    }), note=_t(r, "qual_checks_note")))
    return Section(finding, tuple(tables), notes=(_t(r, "qual_thresholds_note"),))


@titled("qual_branch_heading")
def by_branch_and_month(r: Report, counts: pd.DataFrame) -> Section:
    """Where and when the findings are: the share of rows flagged per month, per check and per branch."""
    monthly = quality.summarise(counts, "month", rules=False)
    branches = quality.summarise(counts, "branch_id", rules=False)
    rows = branches[branches["population"] == "rows"].sort_values(["share", "branch_id"], ascending=[False, True])
    if rows.empty or rows["flagged"].sum() == 0:
        return Section(_t(r, "qual_branch_none"))
    worst = rows.iloc[0]
    finding = _t(r, "qual_branch_finding", branch=worst["branch_id"], share=pct(worst["share"], 3))
    fig, ax = plt.subplots()
    for population, color in (("rows", plotting.COLORS["total_loans"]), ("originations", plotting.COLORS["inclusive_smb"])):
        part = monthly[(monthly["population"] == population) & monthly["share"].notna()]
        ax.plot(part["month"], part["share"], color=color, label=_t(r, f"qual_line_{population}"))
    plotting.percent_axis(ax, 2)
    ax.set_ylim(bottom=0)
    ax.set_title(_t(r, "qual_monthly_title"))
    ax.set_xlabel(_t(r, "month"))
    ax.set_ylabel(_t(r, "qual_share"))
    ax.legend(loc="upper left", bbox_to_anchor=(1, 1))
    fig.tight_layout()
    tables = []
    hits = counts[(counts["rule"] != "any") & (counts["flagged"] > 0)]
    grid = hits.pivot_table(index="rule", columns="month", values="flagged", aggfunc="sum", fill_value=0)
    months = sorted(grid.columns)[-MONTHS_SHOWN:]
    grid = grid[months]
    table = pd.DataFrame({_t(r, "qual_check"): [rule_label(x, r.lang) for x in grid.index]})
    for month in months:
        table[f"{month:%Y-%m}"] = grid[month].map(_count).to_numpy()
    tables.append(Table(_t(r, "qual_grid_caption", months=len(months)), table))
    top = rows.head(MAX_ROWS)
    tables.append(Table(_t(r, "qual_branch_caption"), _frame(r, {
        "branch_id": top["branch_id"], "qual_flagged": top["flagged"].map(_count),
        "qual_snapshot_rows": top["checked"].map(_count), "qual_share": top["share"].map(lambda x: pct(x, 3) or "—"),
    }), note=_cut_note(r, len(top), len(rows), "qual_cut_branches")))
    return Section(finding, tuple(tables), (fig,))


@titled("qual_bunching_heading")
def threshold_bunching(r: Report) -> Section:
    """Credit lines bunched at or just under a segment's limit: lines set to fit the definition? (五(十一))."""
    bunching = quality.threshold_bunching(r.bank, r.period)
    if bunching.empty:
        return Section(_t(r, "qual_bunching_none_tested"))
    if not bunching[["below", "at", "above"]].to_numpy().sum():
        return Section(_t(r, "qual_bunching_none_near"))
    band = r.policy.quality.threshold_band.value
    suspicious = bunching[bunching["p_value"].fillna(1) < 0.01]
    finding = (_t(r, "qual_bunching_none") if suspicious.empty else
               _t(r, "qual_bunching_finding", n=len(suspicious)))
    sep = "、" if r.lang == "zh" else ", "
    table = _frame(r, {
        "segment": bunching["segment"].map(lambda s: value_label("segment", s, r.lang)),
        "borrower_type": bunching["borrower_types"].map(
            lambda s: sep.join(value_label("borrower_type", t, r.lang) for t in s.split(", "))),
        "qual_limit_10k": (bunching["limit_cny"] / 1e4).map("{:,.0f}".format),
        "qual_p_value": bunching["p_value"].map(lambda x: "—" if pd.isna(x) else f"{x:.3g}"),
    })
    table.insert(3, _t(r, "qual_below", band=f"{band:.0%}"), bunching["below"].map(_count).to_numpy())
    table.insert(4, _t(r, "qual_at"), bunching["at"].map(_count).to_numpy())
    table.insert(5, _t(r, "qual_above", band=f"{band:.0%}"), bunching["above"].map(_count).to_numpy())
    table.insert(6, _t(r, "qual_share_at_or_below"),
                 bunching["share_at_or_below"].map(lambda x: pct(x, 1) or "—").to_numpy())
    notes = (_t(r, "qual_p_missing"),) if bunching["p_value"].isna().any() else ()
    return Section(finding, (Table(_t(r, "qual_bunching_caption"), table),), notes=notes)


@titled("qual_breaks_heading")
def branch_breaks(r: Report) -> Section:
    """Months in which a branch's balance breaks from its own pattern (reorganisation, bulk move, data error)."""
    balances = quality.branch_balances(r.bank)
    balances = balances[balances.index <= r.period.end]
    z = r.policy.quality.branch_break_z.value
    breaks = quality.branch_breaks(balances, z)
    if breaks.empty:
        return Section(_t(r, "qual_breaks_none"))
    finding = _t(r, "qual_breaks_finding", months=len(breaks), branches=breaks["branch_id"].nunique(), z=f"{z:g}")
    table = _frame(r, {
        "branch_id": breaks["branch_id"], "month": breaks["month"].dt.strftime("%Y-%m"),
        "qual_balance_before": breaks["balance_before_cny"].map(yuan_100m),
        "qual_balance_month": breaks["balance_cny"].map(yuan_100m),
        "qual_change": breaks["change"].map(lambda x: pct(x, 1)),
        "qual_robust_z": breaks["robust_z"].map("{:.1f}".format),
    })
    drawn = list(breaks["branch_id"].unique()[:6])
    fig, ax = plt.subplots()
    for branch in drawn:
        ax.plot(balances.index, balances[branch] / 1e8, label=branch)
        hits = breaks[breaks["branch_id"] == branch]
        ax.scatter(hits["month"], hits["balance_cny"] / 1e8, color="black", zorder=3)
    ax.set_xlabel(_t(r, "month"))
    ax.set_ylabel(_t(r, "balance") + r.unit("unit_100m_cny"))
    ax.set_title(_t(r, "qual_breaks_title"))
    ax.legend(title=_t(r, "branch_id"), loc="upper left", bbox_to_anchor=(1, 1))
    fig.tight_layout()
    notes = (_cut_note(r, len(drawn), breaks["branch_id"].nunique(), "qual_cut_branches_drawn"),)
    return Section(finding, (Table(_t(r, "qual_breaks_caption"), table),), (fig,), tuple(n for n in notes if n))


@titled("qual_flags_heading")
def first_loan_flags(r: Report) -> Section:
    """Branches whose 首贷 flags on new inclusive small-micro loans stand out from the rest of the bank (二(三), 五(十一))."""
    flags = quality.first_loan_flags_by_branch(r.bank, r.period)
    if flags.empty:
        return Section(_t(r, "qual_flags_none"))
    odd = flags[flags["outlier"]]
    sep = "、" if r.lang == "zh" else ", "
    finding = (_t(r, "qual_flags_within") if odd.empty else
               _t(r, "qual_flags_finding", n=len(odd), branches=sep.join(odd["branch_id"])))
    shown = flags.sort_values(["p_value", "branch_id"]).head(MAX_ROWS)
    table = _frame(r, {
        "branch_id": shown["branch_id"], "qual_borrowers_originated": shown["borrowers"].map(_count),
        "first_loan_borrowers": shown["first_loan_borrowers"].map(_count),
        "first_loan_share": shown["share"].map(lambda x: pct(x, 1)),
        "qual_not_first": shown["not_first_borrowers"].map(_count),
        "qual_rest_share": shown["rest_share"].map(lambda x: pct(x, 1)),
        "qual_p_value": shown["p_value"].map(lambda x: f"{x:.3g}"),
        "qual_stands_out": shown["outlier"].map(lambda x: yes_no(x, r.lang)),
    })
    return Section(finding, (Table(_t(r, "qual_flags_caption"), table,
                                   note=_cut_note(r, len(shown), len(flags), "qual_cut_branches")),),
                   notes=(_t(r, "qual_not_first_note"), _t(r, "qual_flags_ref")))


@titled("qual_audit_heading")
def audit_sample(r: Report, audit: quality.AuditParameters) -> Section:
    """The stratified sample for manual re-checking (五(十一) 开展内部抽查和审计), exported when audit_dir is set."""
    sample = quality.audit_sample(r.bank, r.period, audit.audit_size, audit.audit_seed)
    if sample.empty:
        return Section(_t(r, "qual_audit_none"))
    strata = sample.groupby(list(quality.STRATA))["stratum_loans"].first()
    finding = _t(r, "qual_audit_finding", population=_count(strata.sum()), n=len(sample), strata=len(strata),
                 seed=audit.audit_seed)
    overview = sample.pivot_table(index="segment", columns="risk_class", values="loan_id", aggfunc="count", fill_value=0)
    overview = overview.reindex(columns=[c for c in RISK_ORDER if c in overview.columns])
    grid = pd.DataFrame({_t(r, "group"): [value_label("segment", s, r.lang) for s in overview.index]})
    for c in overview.columns:
        grid[value_label("risk_class", c, r.lang)] = overview[c].map(_count).to_numpy()
    preview = sample.head(8)
    listing = _frame(r, {
        "branch_id": preview["branch_id"], "group": preview["segment"].map(lambda s: value_label("segment", s, r.lang)),
        "qual_risk_class": preview["risk_class"].map(lambda c: value_label("risk_class", c, r.lang)),
        "qual_loan_id": preview["loan_id"], "qual_borrower_pseudonym": preview["borrower_id"],
        "qual_balance_10k": preview["balance_cny"].map(yuan_10k), "qual_weight": preview["weight"].map("{:.1f}".format),
    })
    if audit.audit_dir:
        path = quality.export_audit_sample(r.tape, r.bank, r.period, sample, audit)
        exported = _t(r, "qual_audit_exported", file=path.name)
    else:
        exported = _t(r, "qual_audit_not_exported")
    return Section(finding, (
        Table(_t(r, "qual_audit_overview_caption"), grid),
        Table(_t(r, "qual_audit_preview_caption"), listing,
              note=_cut_note(r, len(preview), len(sample), "qual_cut_loans")),
    ), notes=(_t(r, "qual_audit_method"), exported))
