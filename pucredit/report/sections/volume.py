"""Sections of the volume report (保量, notice 二(一); county loan-to-deposit ratio, 三(五)).

Every figure shown under a regulatory label is read from the metrics document ``r.doc.volume``; tables
and charts come from :mod:`pucredit.analyses.volume`. Text is in ``catalogue/volume.yaml``.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from pucredit.analyses import volume
from pucredit.report import plotting
from pucredit.report.context import Report
from pucredit.report.labels import catalogue, label, value_label
from pucredit.report.section import Section, Table, titled

DASH = "—"


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and pd.isna(value))


def pct(value, digits: int = 2) -> str:
    """A fraction in percent; a dash when there is none."""
    return DASH if _missing(value) else f"{value * 100:.{digits}f}%"


def yi(value) -> str:
    """Yuan in 亿元 (100 million yuan); a dash when there is none."""
    return DASH if _missing(value) else f"{value / 1e8:,.2f}"


def count(value) -> str:
    return DASH if _missing(value) else f"{int(value):,}"


def segment_label(r: Report, name: str) -> str:
    """A segment's name: the base label (labels.LABELS) or, for a segment a policy file adds, its own."""
    if name in catalogue() or name not in r.bank.segments:
        return label(name, r.lang)
    return r.bank.segments[name].label(r.lang)


def _col(r: Report, key: str, unit: str | None = None) -> str:
    return r.t(key) + (r.unit(unit) if unit else "")


def _targeted(r: Report) -> list[str]:
    """Segments the policy sets a growth target for, in the policy's order."""
    return [t.segment for t in r.policy.targets.targets]


def _sentences(r: Report, parts: list[str]) -> str:
    """Clauses joined into sentences, each closed with a full stop (。 or .)."""
    end = r.t("vol_sentence_end")
    return end.join(parts) + end.strip()


def _figure_legend(ax) -> None:
    ax.legend(loc="upper left", bbox_to_anchor=(1, 1))


# ---------------------------------------------------------------- 1. growth targets, notice 二(一)

def growth_verdicts(r: Report) -> tuple[dict[str, list[str]], list[dict]]:
    """Notice 二(一): each targeted segment's year-to-date growth against its target, in words (direction and
    size, against what) under missed, met, unknown, reference and not applicable; and the table's rows."""
    v, lang = r.doc.volume, r.lang
    total = v.total_loans_growth
    missed, met, unknown, absent, reference, rows = [], [], [], [], [], []
    for name in _targeted(r):
        seg, target = segment_label(r, name), r.policy.target(name)
        if name in v.notes:  # the bank has no such loans (reason in the metrics' notes)
            absent.append(seg)
            continue
        growth, gap, ok = v.of(name, "growth"), v.of(name, "growth_gap_pp"), v.get(target.key)
        basis, floor = v.of(name, "target_basis"), v.of(name, "target_growth")
        direction = label("vol_rose" if (growth or 0) >= 0 else "vol_fell", lang)
        if growth is None:
            unknown.append(label("vol_growth_unknown", lang, segment=seg))
        elif basis == "reference":
            reference.append(label("vol_reference_item", lang, segment=seg, direction=direction,
                                   growth=pct(abs(growth))))
        elif basis == "local_office":
            (met if ok else missed).append(label(
                "vol_vs_floor", lang, segment=seg, direction=direction, growth=pct(abs(growth)),
                side=label("vol_above" if growth >= floor else "vol_below", lang), floor=pct(floor)))
        elif target.rule == "growth_not_below_total":
            (met if ok else missed).append(label(
                "vol_vs_total", lang, segment=seg, direction=direction, growth=pct(abs(growth)),
                side=label("vol_above" if gap >= 0 else "vol_below", lang), total=pct(total), gap=f"{abs(gap):.2f}"))
        else:
            (met if ok else missed).append(label("vol_vs_zero", lang, segment=seg, direction=direction,
                                                 growth=pct(abs(growth))))
        rule_text = {"reference": "vol_target_reference", "local_office": "vol_target_local"}.get(
            basis, "vol_target_not_below_total" if target.rule == "growth_not_below_total" else "vol_target_growing")
        rows.append({
            _col(r, "segment"): seg,
            _col(r, "balance_base", "unit_100m_cny"): yi(v.of(name, "balance_base_cny")),
            _col(r, "balance_end", "unit_100m_cny"): yi(v.of(name, "balance_cny")),
            _col(r, "growth_ytd"): pct(growth),
            _col(r, "vol_target"): label(rule_text, lang, floor=pct(floor)) if basis == "local_office" else r.t(rule_text),
            _col(r, "gap_pp"): DASH if _missing(gap) or basis == "reference" else f"{gap:+.2f}",
            _col(r, "target_met"): DASH if ok is None else r.t("yes" if ok else "no"),
        })
    return {"missed": missed, "met": met, "unknown": unknown, "reference": reference, "absent": absent}, rows


@titled("vol_targets_heading")
def growth_targets(r: Report) -> Section:
    """Notice 二(一): each targeted segment's year-to-date growth against its target; misses first."""
    v, lang = r.doc.volume, r.lang
    total = v.total_loans_growth
    if total is None:
        return Section(finding=r.t("vol_no_targets"))
    verdicts, rows = growth_verdicts(r)
    parts = [label(f"vol_{kind}" if kind != "absent" else "vol_not_applicable_list", lang,
                   items=r.t("vol_list_sep").join(items)) for kind, items in verdicts.items() if items]
    total_row = {_col(r, "segment"): r.t("total_loans"),
                 _col(r, "balance_base", "unit_100m_cny"): yi(r.stocks["total_loans_cny"].get(r.period.base_date)),
                 _col(r, "balance_end", "unit_100m_cny"): yi(v.total_loans_balance_cny),
                 _col(r, "growth_ytd"): pct(total)}
    frame = pd.DataFrame([total_row, *rows]).fillna(DASH)
    return Section(finding=_sentences(r, parts),
                   tables=(Table(r.t("vol_targets_caption"), frame, note=r.t("vol_dash_note")),))


# ---------------------------------------------------------------- 2. month by month

@titled("vol_path_heading")
def growth_path(r: Report) -> Section:
    """Year-to-date growth month by month through the period's year, all loans and each targeted segment
    (notice 二(一) is judged at the year end; the path shows the pace)."""
    path = volume.ytd_growth_path(r.stocks, r.period)
    path = path[[c for c in path.columns if c == "total_loans" or c in _targeted(r)]]
    if path.empty or "total_loans" not in path:
        return Section(finding=r.t("vol_path_none"))
    if "inclusive_smb" in path:
        finding = label("vol_path_finding", r.lang, months=len(path),
                        below=int((path["inclusive_smb"] < path["total_loans"]).sum()))
    else:
        finding = r.t("vol_path_finding_plain")
    fig, ax = plt.subplots()
    for name in path.columns:
        ax.plot(path.index, path[name], marker="o", label=segment_label(r, name),
                color=plotting.COLORS.get(name), linewidth=2.5 if name == "total_loans" else 1.8)
    plotting.percent_axis(ax)
    plotting.month_labels(ax, path.index)
    ax.set_title(label("vol_path_title", r.lang, year=r.period.year))
    ax.set_xlabel(r.t("month"))
    ax.set_ylabel(r.t("growth_ytd"))
    _figure_legend(ax)
    fig.tight_layout()
    return Section(finding=finding, figures=(fig,))


# ---------------------------------------------------------------- 3. what the year end needs

@titled("vol_year_end_heading")
def year_end_gap(r: Report) -> Section:
    """Balance each segment must add by year end if all loans keep their pace (notice 二(一) is a
    full-year target)."""
    need = volume.extra_needed(r.stocks, r.period)
    if need.empty:
        return Section(finding=r.t("vol_year_end_none"))
    growth = pct(need["projected_total_growth"].iloc[0], 1)
    short = [label("vol_year_end_item", r.lang, segment=segment_label(r, s), amount=yi(x))
             for s, x in need["extra_needed_cny"].items() if x > 0]
    done = [segment_label(r, s) for s, x in need["extra_needed_cny"].items() if x <= 0]
    if short:
        parts = [label("vol_year_end_needed", r.lang, growth=growth, items=r.t("vol_list_sep").join(short))]
        if done:
            parts.append(label("vol_year_end_done", r.lang, items=r.t("vol_list_sep").join(done)))
        finding = _sentences(r, parts)
    else:
        finding = _sentences(r, [label("vol_year_end_all_done", r.lang, growth=growth)])
    frame = pd.DataFrame({
        _col(r, "segment"): [segment_label(r, s) for s in need.index],
        _col(r, "vol_required_year_end", "unit_100m_cny"): need["required_year_end_cny"].map(yi).values,
        _col(r, "extra_needed", "unit_100m_cny"): need["extra_needed_cny"].map(yi).values,
    })
    return Section(finding=finding, tables=(Table(label("vol_year_end_caption", r.lang, growth=growth), frame,
                                 note=r.t("vol_year_end_note")),))


# ---------------------------------------------------------------- 4. borrowers

@titled("vol_borrowers_heading")
def borrowers(r: Report) -> Section:
    """Borrowers with a balance at the period end against a year earlier (notice 二(一): 客户数量)."""
    counts = volume.borrower_counts(r.stocks, r.period)
    v = r.doc.volume
    now = {"total_loans": counts.loc["total_loans", "borrowers"],
           **{s: v.of(s, "borrowers") for s in counts.index if s != "total_loans"}}
    smb, change = v.inclusive_smb_borrowers, counts["change"].get("inclusive_smb")
    if _missing(change):
        finding = label("vol_borrowers_finding_plain", r.lang, count=count(smb))
    else:
        finding = label("vol_borrowers_finding", r.lang, count=count(smb), change=count(abs(change)),
                        direction=r.t("vol_more" if change >= 0 else "vol_fewer"))
    frame = pd.DataFrame({
        _col(r, "segment"): [r.t("vol_all_borrowers") if s == "total_loans" else segment_label(r, s)
                             for s in counts.index],
        _col(r, "borrowers"): [count(now[s]) for s in counts.index],
        _col(r, "borrowers_last_year"): counts["borrowers_last_year"].map(count).values,
        _col(r, "change"): [DASH if _missing(c) else f"{int(c):+,}" for c in counts["change"]],
    })
    note = r.t("vol_borrowers_note") if counts["change"].map(_missing).any() else ""
    return Section(finding=finding, tables=(Table(r.t("vol_borrowers_caption"), frame, note=note),))


# ---------------------------------------------------------------- 5. county loan-to-deposit ratio, 三(五)

@titled("vol_ldr_heading")
def county_ldr(r: Report) -> Section:
    """Notice 三(五) 合理提升县域存贷比: the ratio at the period end against the previous year end, both and the
    change from the metrics document (one number, one place), with the months between from the totals file."""
    v = r.doc.volume
    end, base, change = (v.county_loan_to_deposit_ratio, v.get("county_loan_to_deposit_ratio_base"),
                         v.get("county_loan_to_deposit_ratio_change_pp"))
    if end is None:
        return Section(finding=r.t("vol_ldr_none"))
    s = r.stocks
    months = s[(s.index >= r.period.base_date) & (s.index <= r.period.end)
               & (s["county_deposits_cny"] > 0)][["county_loans_cny", "county_deposits_cny"]]
    ratio = months["county_loans_cny"] / months["county_deposits_cny"]
    end_date, base_date = f"{r.period.end:%Y-%m}", f"{r.period.base_date:%Y-%m}"
    if change is None:
        finding = label("vol_ldr_finding_level", r.lang, end=pct(end), end_date=end_date, base_date=base_date)
    else:
        finding = label("vol_ldr_rose" if change > 0 else "vol_ldr_fell" if change < 0 else "vol_ldr_flat", r.lang, end=pct(end), end_date=end_date,
                        base=pct(base), base_date=base_date, change=f"{abs(change):.2f}")
    frame = pd.DataFrame({
        _col(r, "month"): [f"{d:%Y-%m}" for d in months.index],
        _col(r, "county_loans", "unit_100m_cny"): months["county_loans_cny"].map(yi).values,
        _col(r, "county_deposits", "unit_100m_cny"): months["county_deposits_cny"].map(yi).values,
        _col(r, "county_ldr"): ratio.map(pct).values,
    })
    fig, ax = plt.subplots()
    ax.plot(ratio.index, ratio, marker="o", color=plotting.COLORS["county_ldr"], label=r.t("county_ldr"))
    plotting.percent_axis(ax, digits=0)
    middle, half = (ratio.max() + ratio.min()) / 2, max(0.05, (ratio.max() - ratio.min()) / 2 + 0.01)
    ax.set_ylim(max(0.0, middle - half), middle + half)  # at least 10 pp, so a change reads at its true size
    plotting.month_labels(ax, ratio.index)
    ax.set_title(r.t("vol_ldr_title"))
    ax.set_xlabel(r.t("month"))
    ax.set_ylabel(r.t("county_ldr") + r.unit("unit_pct"))
    fig.tight_layout()
    return Section(finding=finding, tables=(Table(r.t("vol_ldr_caption"), frame),), figures=(fig,))


# ---------------------------------------------------------------- 6. structure

@titled("vol_structure_heading")
def structure(r: Report, top: int = 10) -> Section:
    """Where the inclusive small-micro book is, by borrower type, branch and county (the largest ``top``)."""
    tables, notes, largest = [], [], None
    for by in ("borrower_type", "branch_id", "county_code"):
        table = volume.breakdown(r.bank, r.period, by)
        if table.empty:
            notes.append(label("vol_structure_missing", r.lang, by=r.t(by)))
            continue
        groups = [r.t("vol_blank_group") if g == "(blank)" else value_label(by, g, r.lang) for g in table.index]
        if by == "borrower_type" and table["balance_end_cny"].sum() > 0:
            largest = (groups[0], pct(table["share"].iloc[0], 1))
        frame = pd.DataFrame({
            _col(r, by): groups,
            _col(r, "balance_base", "unit_100m_cny"): table["balance_base_cny"].map(yi).values,
            _col(r, "balance_end", "unit_100m_cny"): table["balance_end_cny"].map(yi).values,
            _col(r, "growth_ytd"): table["growth_ytd"].map(pct).values,
            _col(r, "share"): table["share"].map(lambda x: pct(x, 1)).values if "share" in table else DASH,
            _col(r, "borrowers"): table["borrowers"].map(count).values,
        }).head(top)
        note = [label("vol_structure_top", r.lang, top=top, count=len(table))] if len(table) > top else []
        if table["growth_ytd"].head(top).isna().any():
            note.append(r.t("vol_structure_dash"))
        tables.append(Table(label("vol_structure_caption", r.lang, by=r.t(by) if r.lang == "zh" else r.t(by).lower()), frame, note=" ".join(note)))
    if largest is None:
        return Section(finding=r.t("vol_structure_none"), notes=tuple(notes))
    return Section(finding=label("vol_structure_finding", r.lang, group=largest[0], share=largest[1]),
                   tables=tuple(tables), notes=tuple(notes))


# ---------------------------------------------------------------- 7. national comparison

@titled("vol_national_heading")
def national(r: Report) -> Section:
    """The bank's year-on-year growth beside the published national figures (PBoC and NFRA bases apart),
    in two panels: inclusive small-micro loans, all loans."""
    nat = volume.national_comparison(r.stocks, r.period)
    nat = nat.dropna(subset=["bank_growth_yoy"]).sort_values(["period_end", "label"]) if not nat.empty else nat
    smb = nat[nat["label"] != "total_loans"] if not nat.empty else nat
    if smb.empty:
        return Section(finding=r.t("vol_national_none"))
    latest = smb.sort_values("period_end").iloc[-1]
    finding = label("vol_national_finding", r.lang, month=f"{latest['period_end']:%Y-%m}",
                    direction=r.t("vol_rose" if latest["bank_growth_yoy"] >= 0 else "vol_fell"),
                    bank=pct(abs(latest["bank_growth_yoy"]), 1), basis=r.t(f"vol_{latest['label']}_short"),
                    national=pct(latest["national_growth"], 1))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    start = nat["period_end"].min() - pd.offsets.MonthEnd(1)
    for ax, panel, column, keys in (
            (axes[0], "vol_national_smb_panel", "inclusive_smb_balance_cny", ("pboc_basis", "nfra_basis")),
            (axes[1], "vol_national_total_panel", "total_loans_cny", ("total_loans",))):
        bank = volume.yoy_growth(r.stocks, column)
        bank = bank[(bank.index >= start) & (bank.index <= r.period.end)]
        ax.plot(bank.index, bank, color=plotting.COLORS["bank"], label=r.t("vol_bank_yoy"))
        for key, marker in zip(keys, ("o", "s")):
            points = nat[(nat["label"] == key) & (nat["measure"] == "yoy")]
            ax.scatter(points["period_end"], points["national_growth"], marker=marker, zorder=3,
                       color=plotting.COLORS["national_nfra" if key == "nfra_basis" else "national"],
                       label=r.t("vol_national_all_loans") if key == "total_loans" else r.t(key))
        plotting.percent_axis(ax)
        ax.set_title(r.t(panel))
        ax.set_xlabel(r.t("month"))
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), fontsize=8)
    axes[0].set_ylabel(r.t("growth_yoy"))
    fig.suptitle(r.t("vol_national_title"))
    fig.tight_layout()
    ytd = int((nat["measure"] != "yoy").sum())
    left_out = label("vol_national_left_out", r.lang, count=ytd) if ytd else ""
    frame = pd.DataFrame({
        _col(r, "month"): nat["period_end"].dt.strftime("%Y-%m").values,
        _col(r, "basis"): [r.t("vol_national_all_loans") if k == "total_loans" else r.t(k) for k in nat["label"]],
        _col(r, "measure"): [r.t(f"vol_measure_{m}") for m in nat["measure"]],
        _col(r, "status"): [r.t(f"vol_status_{s}") for s in nat["status"]],
        _col(r, "national_growth"): nat["national_growth"].map(lambda x: pct(x, 1)).values,
        _col(r, "bank_growth_yoy"): nat["bank_growth_yoy"].map(lambda x: pct(x, 1)).values,
    })
    return Section(finding=finding, tables=(Table(r.t("vol_national_caption"), frame,
                                                 note=label("vol_national_note", r.lang, left_out=left_out)),),
                   figures=(fig,))
