"""Writing a bank's tape, totals (step 9) and truth files; the demo banks for ``make demo`` and ``pucredit synth``."""
from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from pucredit.config.paths import BANKS_DIR, DEMO_DIR
from pucredit.config.policy import load_policy
from pucredit.config.reference import load_lpr
from pucredit.contract.errors import InputError, Problem
from pucredit.synth.dgp import Simulation, scaled
from pucredit.synth.months import as_dates, month_end, month_index, month_text
from pucredit.synth.params import DEMO_BANKS, BankConfig
from pucredit.synth.rows import Tables
from pucredit.synth.truth import truth_record

Progress = Callable[[str], None] | None

FORMATS = ("parquet", "csv")
ROW_GROUP_ROWS = 1 << 20  # at most one month end per row group, and at most this many rows


def output_paths(config: BankConfig, out_dir: Path, fmt: str = "parquet") -> dict[str, Path | None]:
    """Where :func:`generate` writes: tape, totals (None for a complete tape) and truth."""
    stem = Path(out_dir) / config.bank_id.lower()
    return {"tape": stem.with_name(f"{stem.name}.{fmt}"),
            "totals": None if config.tape_is_complete else stem.with_name(f"{stem.name}_totals.csv"),
            "truth": stem.with_name(f"{stem.name}_truth.json")}


def generate(config: BankConfig, out_dir: str | Path, *, fmt: str = "parquet", progress: Progress = None) -> dict:
    """Write one bank's tape, totals (partial tapes only) and truth file; return their paths.

    Files: ``<bank_id_lower>.parquet`` (or ``.csv``, UTF-8), ``<bank_id_lower>_totals.csv``
    and ``<bank_id_lower>_truth.json`` in ``out_dir``. The same config gives
    byte-identical files. Each file is written beside its target and then moved
    into place, so an interrupted run leaves no half-written file.
    """
    if fmt not in FORMATS:
        raise InputError(Problem(file="", message=f"unknown format {fmt!r}", rule="usage", accepted=", ".join(FORMATS)))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = output_paths(config, out_dir, fmt)
    policy = load_policy(config.policy)
    sim = Simulation(config, policy, load_lpr())
    tables = Tables(config, policy, sim.row_rng)
    stocks: dict[str, dict] = {}
    rows = 0
    tmp_tape = paths["tape"].with_name(paths["tape"].name + ".tmp")
    writer = (pq.ParquetWriter(tmp_tape, tables.schema, compression="zstd") if fmt == "parquet"
              else pacsv.CSVWriter(tmp_tape, tables.schema))
    try:
        for t in sim.months():
            table, stocks[month_text(t)] = tables.snapshot(sim.book, t)
            if fmt == "parquet":
                writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
            else:
                writer.write_table(table)
            rows += table.num_rows
            if progress and month_text(t).endswith("12"):
                progress(f"{config.bank_id}: {month_text(t)}, {rows:,} rows")
    finally:
        writer.close()
    os.replace(tmp_tape, paths["tape"])
    totals = _totals(config, stocks, sim.truth.writeoffs)
    if paths["totals"] is not None:
        _write_totals(paths["totals"], config, totals)
    truth = truth_record(config, policy, sim, stocks, totals, rows, paths, tables.conduct_truth)
    _replace_text(paths["truth"], json.dumps(truth, ensure_ascii=False, indent=1, sort_keys=True) + "\n")
    if progress:
        progress(f"{config.bank_id}: wrote {rows:,} rows to {paths['tape']}")
    return paths


def _replace_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _totals(cfg: BankConfig, stocks: dict[str, dict], writeoffs: dict[int, dict[str, float]]) -> list[dict]:
    """Month-end totals (step 9): the tape plus the non-tape book; write-offs are the tape's (the non-tape book
    writes nothing off)."""
    out = []
    start = month_index(cfg.start)
    for month, s in stocks.items():
        years = (month_index(month) - start) / 12
        outside = cfg.non_tape_loans_cny * (1 + cfg.non_tape_growth) ** years
        row = {"bank_id": cfg.bank_id, "as_of": str(as_dates(month_end([month_index(month)]))[0]),
               "total_loans_cny": round(s["tape"]["balance_cny"] + outside, 2),
               "total_npl_cny": round(s["tape"]["npl_cny"] + outside * cfg.non_tape_npl_ratio, 2)}
        if cfg.county_deposits_cny is not None:
            row["county_loans_cny"] = round(s["tape"]["county_area_cny"] + outside * cfg.non_tape_county_share, 2)
            row["county_deposits_cny"] = round(cfg.county_deposits_cny * (1 + cfg.county_deposit_growth) ** years, 2)
        row["writeoffs_cny"] = round(writeoffs.get(month_index(month), {}).get("tape", 0.0), 2)  # issue 17
        out.append(row)
    return out


def _write_totals(path: Path, cfg: BankConfig, totals: list[dict]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(totals[0]), lineterminator="\n")
        writer.writeheader()
        for row in totals:
            writer.writerow({k: f"{v:.2f}" if isinstance(v, float) else v for k, v in row.items()})
    os.replace(tmp, path)


def build_demo(out_dir: Path = DEMO_DIR, banks_dir: Path = BANKS_DIR, force: bool = False,
               progress: Progress = None) -> list[Path]:
    """Write the three demo banks (skipping a bank whose files all exist unless ``force``); return their paths.

    The bank files parameters/banks/<BANK>.yaml are committed with the
    repository; this only checks that they are there.
    """
    missing = [banks_dir / f"{b}.yaml" for b in DEMO_BANKS if not (Path(banks_dir) / f"{b}.yaml").is_file()]
    if missing:
        raise InputError([Problem(file=str(p), message="demo bank file missing; restore it from the repository",
                                  rule="demo_bank_file") for p in missing])
    written = []
    for config in DEMO_BANKS.values():
        paths = [p for p in output_paths(config, Path(out_dir)).values() if p is not None]
        if force or not all(p.is_file() for p in paths):
            generate(config, out_dir, progress=progress)
        elif progress:
            progress(f"{config.bank_id}: demo files exist, kept")
        written += paths
    return written


def synth_command(bank: str | None, out: Path, rows: int | None = None, fmt: str = "parquet",
                  seed: int | None = None, progress: Progress = None) -> list[Path]:
    """``pucredit synth [--bank LB01] [--rows N] [--out DIR] [--format parquet|csv] [--seed S]``.

    Writes one demo bank (all three without ``bank``), optionally scaled to
    about ``rows`` rows and with another seed; returns the written paths.
    """
    if bank is not None and bank.upper() not in DEMO_BANKS:
        raise InputError(Problem(file="", message=f"unknown demo bank {bank!r}", rule="usage", column="--bank",
                                 accepted=", ".join(DEMO_BANKS)))
    if fmt not in FORMATS:
        raise InputError(Problem(file="", message=f"unknown format {fmt!r}", rule="usage", column="--format",
                                 accepted=", ".join(FORMATS)))
    if rows is not None and rows < 1:
        raise InputError(Problem(file="", message=f"--rows must be positive, got {rows}", rule="usage",
                                 column="--rows", accepted="a whole number >= 1"))
    configs = [DEMO_BANKS[bank.upper()]] if bank is not None else list(DEMO_BANKS.values())
    written = []
    for config in configs:
        if seed is not None:
            config = replace(config, seed=seed)
        if rows is not None:
            config = scaled(config, rows)
        written += [p for p in generate(config, out, fmt=fmt, progress=progress).values() if p is not None]
    return written
