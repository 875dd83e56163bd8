"""The peer comparison for supervisors (notice 五(十一) 按季度报告核查情况; targets 二(一), pricing 二(二), first
loans 二(三), NPL tolerance 四(九)).

One function per section of notebooks/peers.py; each reads the banks' metrics.json as loaded by
:func:`pucredit.analyses.peers.load` (one row per bank, shown by name and id: the names from the
manifest's bank files or the report pages, as on the front page; letters when anonymised) and returns a :class:`Section` with text from catalogue/peers.yaml.
"""
from __future__ import annotations

import dataclasses
import functools
import inspect
from dataclasses import dataclass

import matplotlib.pyplot as plt
import pandas as pd

from pucredit.analyses import peers
from pucredit.report import plotting
from pucredit.report.context import key_value_table
from pucredit.report.labels import label
from pucredit.report.section import Section, Table

RANKED = ("inclusive_smb_new_rate_pct", "inclusive_smb_new_spread_pp", "inclusive_smb_new_allin_rate_pct",
          "passthrough_long_run", "first_loan_share", "new_credit_share", "inclusive_smb_npl_headroom_pp")
CHARTED = (("inclusive_smb_new_spread_pp", "inclusive_smb"), ("first_loan_share", "inclusive_agri"),
           ("inclusive_smb_npl_headroom_pp", "total_loans"))
MISSED = {"poverty_area": "peer_missed_poverty_area", "npl_tolerance": "peer_missed_npl_tolerance",
          "agri_npl_tolerance": "peer_missed_agri_npl_tolerance"}  # else growth
SPREAD = ("inclusive_smb_growth_gap_pp", "inclusive_smb_new_spread_pp", "inclusive_smb_npl_headroom_pp")


@dataclass(frozen=True)
class PeerReport:
    """The peer notebook's checked parameters, the banks' metrics (anonymised when asked), the key, the targets."""

    params: peers.PeerParameters
    frame: pd.DataFrame
    key: pd.DataFrame | None
    outcome: pd.DataFrame

    def header(self):
        return header(self.frame, self.params)


def header(frame: pd.DataFrame, params: peers.PeerParameters):
    """Markdown block opening the peer report: period, banks, policy years, versions, anonymised or not."""
    lang = params.lang
    rows = [(label("peer_h_period", lang), params.period),
            (label("peer_h_banks", lang), f"{len(frame)}"),
            (label("peer_h_policy", lang), ", ".join(sorted(map(str, frame["policy"].dropna().unique())))),
            (label("peer_h_anonymised", lang), label("yes" if params.anonymise else "no", lang))]
    if "pucredit_version" in frame:
        rows.append((label("peer_h_version", lang),
                     ", ".join(sorted(map(str, frame["pucredit_version"].dropna().unique())))))
    return key_value_table(rows, title=label("peer_report_title", lang), lead=label("peer_report_lead", lang))


def titled(key: str):
    """A peer section's heading (the catalogue text of ``key`` in the function's ``lang``), as
    :func:`pucredit.report.section.titled` gives the bank reports theirs."""
    def decorate(function):
        signature = inspect.signature(function)

        @functools.wraps(function)
        def section(*args, **kwargs) -> Section:
            lang = signature.bind(*args, **kwargs).arguments["lang"]
            return dataclasses.replace(function(*args, **kwargs), title=label(key, lang))
        return section
    return decorate


def setup(**parameters) -> PeerReport:
    """Check the peer notebook's parameters and load every bank's metrics.json for the period (the demo banks'
    when ``root`` is empty); anonymised, letters replace bank ids and earlier letters in ``key_file`` are kept."""
    from pucredit.pipeline.index import bank_names
    from pucredit.report.context import refuse_unknown_parameters

    refuse_unknown_parameters()
    params = peers.check_parameters(**parameters)
    frame = peers.load(params.root or peers.demo_root(params.period), params.period)
    key = None
    if params.anonymise:
        frame, key = peers.anonymise(frame, known=peers.read_key(params.key_file) if params.key_file else None)
    elif params.root:
        frame = named(frame, bank_names(params.root, params.period), params.lang)
    plotting.setup()
    return PeerReport(params=params, frame=frame, key=key, outcome=peers.targets(frame))


def named(frame: pd.DataFrame, names: dict[str, str], lang: str) -> pd.DataFrame:
    """Banks shown by name and id (某农村商业银行（RB01）) where the name is known; the id stays a column (peers.csv)."""
    shown = {b: (f"{names[b]}（{b}）" if lang == "zh" else f"{names[b]} ({b})") if b in names else b for b in frame.index}
    out = frame.rename(index=shown)
    out.insert(0, "bank_id", list(frame.index))
    out.index.name = "bank"
    return out


def _chart_text(text) -> str:
    """A bank's name on a chart: a $ would start matplotlib's mathtext."""
    return str(text).replace("$", r"\$")


def _bank_column(lang: str, index) -> dict:
    return {label("peer_bank", lang): list(index)}


def _value(column: str, v) -> str:
    if pd.isna(v):
        return "—"
    return f"{v * 100:.1f}%" if column.endswith("share") else f"{v:.2f}"


def _title(column: str, lang: str) -> str:
    """A measure's label; shares get their unit (the other labels carry theirs)."""
    return label(column, lang) + (label("peer_unit_pct", lang) if column.endswith("share") else "")


@titled("peer_targets_heading")
def targets(frame: pd.DataFrame, outcome: pd.DataFrame, lang: str) -> Section:
    """Each bank against each target: met, missed or not applicable, and the gap in pp; misses first (二(一), 四(九))."""
    missed = outcome[outcome["met"].eq(False)]
    said = [label(MISSED.get(row.target, "peer_missed_growth"), lang, bank=row.bank_id, gap=f"{abs(row.gap_pp):.2f}",
                  target=label(row.target, lang) if lang == "zh" else label(row.target, lang).lower())
            for row in missed.itertuples()]
    smb = outcome[outcome["target"] == "inclusive_smb"]["met"].eq(True).sum()
    npl = outcome[outcome["target"] == "npl_tolerance"]["met"].eq(True).sum()
    summary = label("peer_targets_met", lang, banks=len(frame), smb=int(smb), npl=int(npl))
    sep = "；" if lang == "zh" else "; "
    first = (label("peer_targets_missed", lang, n=len(said), which=sep.join(said)) if said else
             label("peer_targets_none_missed", lang))
    finding = first + ("" if lang == "zh" else " ") + summary

    def cell(met, gap) -> str:
        if met is None:
            return label("not_applicable", lang)
        gap_text = "—" if pd.isna(gap) else f"{gap:+.2f}"
        return label("peer_met" if met else "peer_missed", lang, gap=gap_text)

    table = pd.DataFrame(_bank_column(lang, frame.index))
    for target in peers.TARGETS:
        part = outcome[outcome["target"] == target].set_index("bank_id").reindex(frame.index)
        table[label(target, lang)] = [cell(m, g) for m, g in zip(part["met"], part["gap_pp"])]
    return Section(finding, (Table(label("peer_targets_caption", lang), table, note=label("peer_targets_note", lang)),))


@titled("peer_pricing_heading")
def pricing_and_headroom(frame: pd.DataFrame, lang: str) -> Section:
    """Pricing, first loans and NPL headroom side by side, with each bank's rank (二(二), 二(三), 四(九))."""
    spreads = frame["inclusive_smb_new_spread_pp"].dropna()
    first = frame["first_loan_share"].dropna()
    if spreads.empty and first.empty:
        return Section(label("peer_pricing_none", lang))
    parts = []
    if len(spreads):
        parts.append(label("peer_pricing_finding", lang, low=spreads.idxmin(), low_value=f"{spreads.min():.2f}",
                           high=spreads.idxmax(), high_value=f"{spreads.max():.2f}"))
    if len(first):
        parts.append(label("peer_first_finding", lang, bank=first.idxmax(), share=f"{first.max() * 100:.1f}%"))
    ranks = peers.rankings(frame)
    table = pd.DataFrame(_bank_column(lang, frame.index))
    for c in RANKED:
        rank = ranks[c] if c in ranks else pd.Series(pd.NA, index=frame.index)
        table[_title(c, lang)] = [
            _value(c, v) + ("" if pd.isna(n) else label("peer_rank", lang, rank=int(n))) for v, n in zip(frame[c], rank)]
    notes = (label("peer_missing_note", lang),) if frame[list(RANKED)].isna().any().any() else ()
    figures = []
    drawn = [(c, colour) for c, colour in CHARTED if frame[c].notna().any()]
    height = max(3.8, 1.6 + 0.32 * len(frame))  # a bar per bank, each name readable
    fig, axes = plt.subplots(1, len(drawn), figsize=(4 * len(drawn), height), squeeze=False)
    for ax, (column, colour) in zip(axes[0], drawn):
        values = frame[column].dropna().sort_values()
        ax.barh([_chart_text(b) for b in values.index], values.to_numpy() * (100 if column.endswith("share") else 1),
                color=plotting.COLORS[colour])
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_title(_title(column, lang), fontsize=10)
        ax.set_xlabel(label("peer_axis_pct" if column.endswith("share") else "peer_axis_pp", lang))
    fig.tight_layout()
    figures.append(fig)
    sep = "；" if lang == "zh" else "; "
    return Section(sep.join(parts) + ("。" if lang == "zh" else "."),
                   (Table(label("peer_pricing_caption", lang), table, note=label("peer_rank_note", lang)),),
                   tuple(figures), notes)


@titled("peer_distributions_heading")
def distributions(frame: pd.DataFrame, lang: str) -> Section:
    """How the banks spread on three measures in pp, and values far from the peer median (modified z-score)."""
    shown = [c for c in SPREAD if frame[c].notna().any()]
    few = len(frame) < peers.MIN_BANKS_FOR_OUTLIERS
    found = peers.outliers(frame)
    if few:
        finding = label("peer_outliers_few", lang, n=len(frame), min=peers.MIN_BANKS_FOR_OUTLIERS)
    elif found.empty:
        finding = label("peer_outliers_none", lang, z=f"{peers.MODIFIED_Z:g}")
    else:
        finding = label("peer_outliers_found", lang, n=len(found), z=f"{peers.MODIFIED_Z:g}")
    figures = ()
    if shown:
        fig, ax = plt.subplots(figsize=(9, 3.6))
        data = [frame[c].dropna() for c in shown]
        if not few:
            ax.boxplot([d.to_numpy() for d in data], orientation="horizontal", widths=0.5)
        for i, values in enumerate(data, start=1):
            ax.scatter(values.to_numpy(), [i] * len(values), color=plotting.COLORS["inclusive_smb"], zorder=3, s=24)
            if few:  # a dot per bank, named: a box of three or four values says nothing; names above and
                # below in turn (by value), so that two banks close together do not write over each other
                for k, (bank, v) in enumerate(values.sort_values().items()):
                    ax.annotate(_chart_text(bank), (v, i), xytext=(0, 6 if k % 2 == 0 else -7), textcoords="offset points",
                                ha="center", va="bottom" if k % 2 == 0 else "top", fontsize=8)
        ax.set_yticks(range(1, len(shown) + 1), [label(c, lang) for c in shown])
        ax.set_ylim(0.5, len(shown) + 0.7)
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_xlabel(label("peer_axis_pp", lang))
        ax.set_title(label("peer_dots_title" if few else "peer_box_title", lang))
        fig.tight_layout()
        figures = (fig,)
    tables = ()
    if not found.empty:
        table = pd.DataFrame({
            label("peer_bank", lang): found["bank_id"].to_numpy(),
            label("peer_measure", lang): found["measure"].map(lambda m: label(m, lang)).to_numpy(),
            label("peer_value", lang): [_value(m, v) for m, v in zip(found["measure"], found["value"])],
            label("peer_median", lang): [_value(m, v) for m, v in zip(found["measure"], found["median"])],
            label("peer_modified_z", lang): found["modified_z"].map("{:.1f}".format).to_numpy(),
        })
        tables = (Table(label("peer_outliers_caption", lang), table),)
    return Section(finding, tables, figures)


@titled("peer_provenance_heading")
def provenance(frame: pd.DataFrame, lang: str) -> Section:
    """Each bank's validation errors and warnings, where its total loans came from and its policy year (五(十一))."""
    errors = frame["quality_errors"].fillna(0).any()
    table = pd.DataFrame({
        **_bank_column(lang, frame.index),
        label("peer_errors", lang): frame["quality_errors"].map(lambda v: "—" if pd.isna(v) else f"{int(v):,}").to_numpy(),
        label("peer_warnings", lang): frame["quality_warnings"].map(lambda v: "—" if pd.isna(v) else f"{int(v):,}").to_numpy(),
        label("report_totals", lang): frame["totals_source"].map(
            lambda s: label("totals_file" if s == "totals_file" else "tape", lang)).to_numpy(),
        label("report_policy", lang): frame["policy"].astype(str).to_numpy(),
    })
    return Section(label("peer_quality_errors" if errors else "peer_quality_clean", lang),
                   (Table(label("peer_provenance_caption", lang), table),))


def export(frame: pd.DataFrame, key: pd.DataFrame | None, export_dir: str, lang: str) -> Section:
    """peers.csv (and the key when anonymised) into the export folder; the reader sees file names only."""
    if not export_dir:
        return Section(label("peer_not_exported", lang))
    written = peers.export(frame, key, export_dir)
    return Section(label("peer_exported", lang, files=", ".join(p.name for p in written)))
