"""Peer comparison for supervisors: many banks' metrics.json side by side (notice 五(十一) 按季度报告核查情况,
二(一) targets, 二(二) pricing, 二(三) first loans, 四(九) tolerance).

:func:`load` reads ``ROOT/<bank_id>/<period>/metrics.json`` of every bank, :func:`targets` says for each bank and
target whether it is met and by how much, :func:`rankings` ranks banks on each measure, :func:`outliers` finds
values far from the peer median, and :func:`anonymise` replaces bank ids by letters for circulation.
``pucredit peers ROOT --period P`` runs the peer notebook over them (:func:`run_peers`).
"""
from __future__ import annotations

import secrets
import shutil
import string
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from pucredit.analyses.document import read_metrics
from pucredit.config.paths import write_text_atomic
from pucredit.contract.csv_export import csv_text
from pucredit.contract.errors import InputError, Problem, check_model
from pucredit.config.paths import NOTEBOOKS_DIR

PEERS_NOTEBOOK = NOTEBOOKS_DIR / "peers.py"  # its jupytext source; it runs into peers.ipynb
PEERS_EXECUTED = "peers.ipynb"
PEERS_FOLDER = "_peers"
KEY_FILE = "peers_key.csv"
MODIFIED_Z = 3.5  # Iglewicz and Hoaglin's cut-off for the modified z-score
MIN_BANKS_FOR_OUTLIERS = 5

# measure -> (metrics.json path, higher is better?)
MEASURES: dict[str, tuple[str, bool | None]] = {
    "inclusive_smb_growth": ("volume.inclusive_smb_growth", True),
    "total_loans_growth": ("volume.total_loans_growth", None),
    "inclusive_smb_growth_gap_pp": ("volume.inclusive_smb_growth_gap_pp", True),
    "inclusive_agri_growth": ("volume.inclusive_agri_growth", True),
    "inclusive_agri_growth_gap_pp": ("volume.inclusive_agri_growth_gap_pp", True),
    "key_county_growth": ("volume.key_county_growth", True),
    "poverty_area_growth": ("volume.poverty_area_growth", True),
    "inclusive_smb_balance_cny": ("volume.inclusive_smb_balance_cny", None),
    "inclusive_smb_new_rate_pct": ("pricing.inclusive_smb_new_rate_pct", False),
    "inclusive_smb_new_spread_pp": ("pricing.inclusive_smb_new_spread_pp", False),
    "inclusive_smb_new_allin_rate_pct": ("pricing.inclusive_smb_new_allin_rate_pct", False),
    "passthrough_long_run": ("pricing.passthrough.long_run", True),
    "first_loan_share": ("first_loans.first_loan_share", True),
    "first_loan_borrowers": ("first_loans.first_loan_borrowers", True),
    "new_credit_share": ("first_loans.new_credit_share", True),
    "inclusive_smb_npl_ratio": ("risk.inclusive_smb_npl_ratio", None),
    "total_npl_ratio": ("risk.total_npl_ratio", None),
    "inclusive_smb_npl_headroom_pp": ("risk.inclusive_smb_npl_headroom_pp", True),
    "quality_errors": ("quality.errors", False),
    "quality_warnings": ("quality.warnings", False),
}

# target -> (met key, gap: (measure, or a pair whose difference is the gap in pp))
TARGETS = {
    "inclusive_smb": ("volume.inclusive_smb_target_met", "volume.inclusive_smb_growth_gap_pp"),
    "inclusive_agri": ("volume.inclusive_agri_target_met", "volume.inclusive_agri_growth_gap_pp"),
    "key_county": ("volume.key_county_target_met", ("volume.key_county_growth", "volume.total_loans_growth")),
    "poverty_area": ("volume.poverty_area_target_met", ("volume.poverty_area_growth", None)),
    "npl_tolerance": ("risk.inclusive_smb_within_tolerance", "risk.inclusive_smb_npl_headroom_pp"),
    "agri_npl_tolerance": ("risk.inclusive_agri_within_tolerance", "risk.inclusive_agri_npl_headroom_pp"),
}


class PeerParameters(BaseModel):
    """The peer notebook's parameters (papermill ``-p``; pass the period with ``-r`` so it stays text)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    root: str = ""
    period: str
    anonymise: bool = False
    lang: Literal["zh", "en"] = "zh"
    export_dir: str = ""
    key_file: str = ""


def check_parameters(**params) -> PeerParameters:
    from pucredit.config.periods import parse_period

    checked = check_model(PeerParameters, params, "root (text), period (2024, 2024H1, 2024Q3, 2024-05; text), "
                                                  "anonymise (True/False), lang (zh or en), export_dir and key_file (text)")
    return checked.model_copy(update={"period": parse_period(checked.period).label})


def export(frame: pd.DataFrame, key: pd.DataFrame | None, folder: str | Path) -> list[Path]:
    """peers.csv (the table the report shows) and, for an anonymised report, peers_key.csv (code -> bank_id)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = [folder / "peers.csv"]
    write_text_atomic(written[0], csv_text(frame, index=True), encoding="utf-8-sig")
    if key is not None:
        written.append(folder / KEY_FILE)
        write_text_atomic(written[1], csv_text(key), encoding="utf-8-sig")
    return written


def metrics_files(root: str | Path, period: str) -> list[Path]:
    """``ROOT/<bank_id>/<period>/metrics.json`` of every bank; folders starting with _ or . are not banks."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(Problem(file=str(root), rule="missing_folder", message="no such report folder",
                                 accepted="the --out folder of pucredit run or batch (default reports/)"))
    files = sorted(p for p in root.glob(f"*/{period}/metrics.json") if not p.parts[-3].startswith(("_", ".")))
    if not files:
        raise InputError(Problem(file=str(root), rule="no_reports", value=period,
                                 message=f"no <bank_id>/{period}/metrics.json under this folder",
                                 accepted="a report root holding banks' reports for the period"))
    return files


def load(root: str | Path, period: str) -> pd.DataFrame:
    """One row per bank (index bank_id): every measure, target flag and provenance field the peer report uses."""
    from pucredit.config.periods import parse_period

    period = parse_period(period).label
    rows, seen = [], {}
    for path in metrics_files(root, period):
        try:
            metrics = read_metrics(path)
        except (UnicodeDecodeError, ValueError) as exc:  # pydantic's ValidationError is a ValueError
            raise InputError(Problem(file=str(path), rule="bad_metrics", message=f"not a metrics.json: {str(exc)[:300]}",
                                     accepted=f"metrics.json written by pucredit for {period}")) from None
        if metrics.period != period:
            raise InputError(Problem(file=str(path), rule="bad_metrics", value=metrics.period,
                                     message="not a metrics.json of this period",
                                     accepted=f"metrics.json written by pucredit for {period}"))
        bank_id = metrics.bank_id
        if bank_id in seen:
            raise InputError(Problem(file=str(path), rule="duplicate_bank", value=bank_id,
                                     message=f"the same bank_id as {seen[bank_id]}", accepted="one report folder per bank"))
        seen[bank_id] = path
        row = {"bank_id": bank_id, "policy": metrics.policy,
               "pucredit_version": metrics.provenance.pucredit_version,
               "totals_source": metrics.provenance.totals_source}
        row.update({name: metrics.value(path_) for name, (path_, _) in MEASURES.items()})
        for target, (met, gap) in bank_targets(metrics).items():
            row[f"{target}_met"], row[f"{target}_gap_pp"] = met, gap
        rows.append(row)
    frame = pd.DataFrame(rows)
    numeric = [c for c in frame.columns if c in MEASURES or c.endswith("_gap_pp")]
    frame[numeric] = frame[numeric].astype("float64")
    return frame.set_index("bank_id").sort_index()


def bank_targets(metrics) -> dict[str, tuple[bool | None, float | None]]:
    """One bank's targets (a MetricsDocument): met (None when the target does not bind it or it has no such
    book) and the gap in pp, as the peer report and the front page (pucredit.pipeline.index) show them."""
    out = {}
    for target, (met, gap) in TARGETS.items():
        if isinstance(gap, tuple):
            a, b = metrics.value(gap[0]), (metrics.value(gap[1]) if gap[1] else 0.0)
            value = None if a is None or b is None else (a - b) * 100
        else:
            value = metrics.value(gap)
        out[target] = (metrics.value(met), value)
    return out


def targets(frame: pd.DataFrame) -> pd.DataFrame:
    """Per bank and target: met (True/False/None when the bank has no such book) and the gap in pp."""
    rows = []
    for bank_id, row in frame.iterrows():
        for target in TARGETS:
            met = row[f"{target}_met"]
            rows.append({"bank_id": bank_id, "target": target,
                         "met": None if met is None or (isinstance(met, float) and np.isnan(met)) else bool(met),
                         "gap_pp": row[f"{target}_gap_pp"]})
    return pd.DataFrame(rows)


def rankings(frame: pd.DataFrame) -> pd.DataFrame:
    """Rank of each bank on each measure with a direction (1 = best); banks without a value are not ranked."""
    ranked = {name: frame[name].rank(ascending=not higher, method="min")
              for name, (_, higher) in MEASURES.items() if higher is not None and name in frame}
    return pd.DataFrame(ranked).astype("Int64")


def outliers(frame: pd.DataFrame, threshold: float = MODIFIED_Z,
             min_banks: int = MIN_BANKS_FOR_OUTLIERS) -> pd.DataFrame:
    """Values far from the peers: modified z-score 0.6745 (x - median) / MAD above ``threshold`` (Iglewicz and
    Hoaglin). Needs ``min_banks`` banks with a value; with fewer, or a MAD of zero, nothing is flagged."""
    rows = []
    for name in MEASURES:
        values = frame[name].dropna()
        if len(values) < min_banks:
            continue
        median = values.median()
        mad = (values - median).abs().median()
        if not mad > 0:
            continue
        score = 0.6745 * (values - median) / mad
        for bank_id in score.index[score.abs() > threshold]:
            rows.append({"bank_id": bank_id, "measure": name, "value": values[bank_id], "median": median,
                         "modified_z": score[bank_id]})
    return pd.DataFrame(rows, columns=["bank_id", "measure", "value", "median", "modified_z"])


def anonymise(frame: pd.DataFrame, seed: int | None = None,
              known: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Replace bank ids by letters (A, B, …) in a random order (``seed`` for a repeatable order). Every bank
    of ``known`` (an earlier key) keeps its letter, and letters of banks no longer present are not given to
    others, so reports re-run after circulation agree. Returns the anonymised frame and the key (code,
    bank_id: the earlier entries and the new ones), which stays with the supervisor, never in the report."""
    mapping = {} if known is None else dict(zip(known["bank_id"].astype(str), known["code"].astype(str)))
    new = [b for b in frame.index if b not in mapping]
    taken = set(mapping.values())
    free = [c for c in (_code(i) for i in range(len(taken) + len(new))) if c not in taken]
    order = np.random.default_rng(seed if seed is not None else secrets.randbits(64)).permutation(len(new))
    mapping.update({bank_id: free[i] for bank_id, i in zip(new, order)})
    key = pd.DataFrame({"code": list(mapping.values()), "bank_id": list(mapping.keys())})
    out = frame.rename(index=mapping).sort_index()
    out.index.name = "bank_id"
    return out.drop(columns=["pucredit_version"], errors="ignore"), key.sort_values("code").reset_index(drop=True)


def read_key(path: str | Path) -> pd.DataFrame:
    """An earlier peers_key.csv (code, bank_id)."""
    path = Path(path)
    try:
        key = pd.read_csv(path, dtype=str, encoding="utf-8-sig")
    except (OSError, ValueError) as exc:
        raise InputError(Problem(file=str(path), rule="bad_key_file", message=f"not a readable key: {exc}")) from None
    if list(key.columns) != ["code", "bank_id"]:
        raise InputError(Problem(file=str(path), rule="bad_key_file", row=1, value=", ".join(map(str, key.columns)),
                                 message="not a peers key", accepted="the columns code, bank_id"))
    # the CSV-export rule wrote a bank id such as -A1 as '-A1; a bank id never starts with '
    key["bank_id"] = key["bank_id"].str.removeprefix("'")
    return key


def _code(i: int) -> str:
    letters = string.ascii_uppercase
    return letters[i] if i < 26 else letters[i // 26 - 1] + letters[i % 26]


def run_peers(root: str | Path, period: str, out: str | Path | None = None, *, anonymous: bool = False,
              lang: str = "zh", timeout: int | None = 600) -> Path:
    """Execute the peer notebook over ``ROOT``'s reports for ``period`` into ``OUT`` (default
    ROOT/_peers/<period>): peers.ipynb, peers.html without code and peers.csv; with ``anonymous`` the key goes
    beside the folder (:func:`key_path`), and an earlier key there is reused, so circulated letters stay. The
    folder is written beside and moved into place, like a bank's report; a folder that is not a peer report
    is never replaced."""
    from pucredit.config.periods import parse_period
    from pucredit.pipeline.folders import remove_abandoned, replace_folder, working_folder
    from pucredit.pipeline.index import INDEX, report_nav, write_index
    from pucredit.pipeline.run import execute_notebook, export_html, report_title

    period = parse_period(period).label
    root = Path(root).resolve()
    load(root, period)  # bad input stops here, before a kernel starts
    target = Path(out).resolve() if out else root / PEERS_FOLDER / period
    if target.exists() and not (target / PEERS_EXECUTED).is_file():
        raise InputError(Problem(file=str(target), rule="would_overwrite",
                                 message="the folder exists and is not a peer report; it is not replaced",
                                 accepted="a new folder, or a previous peer report's folder"))
    staging = working_folder(target, "staging")
    remove_abandoned(target)
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        executed = staging / PEERS_EXECUTED
        key = key_path(target)  # letters already circulated are kept
        execute_notebook(PEERS_NOTEBOOK, executed, {
            "root": str(root), "period": period, "anonymise": anonymous, "lang": lang, "export_dir": str(staging),
            "key_file": str(key) if anonymous and key.is_file() else ""}, timeout)
        home = target == root / PEERS_FOLDER / period  # its nav leads back to the root's front page
        export_html(executed, executed.with_suffix(".html"), report_title(executed, "", period).lstrip(" ·"), lang,
                    report_nav(lang, [], None, f"../../{INDEX}") if home else "")
        if anonymous:  # the key leaves the folder that is circulated (it holds the earlier entries too)
            (staging / KEY_FILE).replace(key)
        replace_folder(staging, target)
        if home:
            write_index(root)
        return target
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def key_path(report: Path) -> Path:
    """Where the key of an anonymised peer report is kept: beside its folder, not in it."""
    return report.with_name(f"{report.name}.{KEY_FILE}")


def demo_root(period: str) -> Path:
    """A report root with the demo banks' metrics.json for ``period`` (computed, no notebooks), so that the
    peer notebook runs on its own in JupyterLab and CI."""
    import tempfile

    from pucredit.config.banks import load_bank
    from pucredit.analyses.metrics import compute_metrics
    from pucredit.config.policy import BankTerms
    from pucredit.config.paths import BANKS_DIR
    from pucredit.synth import DEMO_BANKS
    from pucredit.engine.tape import open_tape

    root = Path(tempfile.mkdtemp(prefix="pucredit-peers-"))
    for bank_id in DEMO_BANKS:
        bank = load_bank(BANKS_DIR / f"{bank_id}.yaml")
        with open_tape(bank.tape, bank.totals, lpr=bank.lpr) as tape:
            tape.raise_for_errors()
            compute_metrics(tape, bank.bank_id, period, bank.policy, terms=BankTerms.of(bank)).write(
                root / bank_id / period / "metrics.json")
    return root
