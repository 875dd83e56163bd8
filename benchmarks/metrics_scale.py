"""Time and peak memory of `pucredit metrics` beside the same metrics as plain DuckDB SQL, from one run.

    python benchmarks/metrics_scale.py [--rows 10000000] [--period 2024] [--bank CB01]

Generates (once, cached under benchmarks/out/) a synthetic tape of about N rows, then runs
each side in its own process, one after the other, and prints seconds, peak RSS and their
ratios. Timings on shared machines are noisy: read the ratios, and run twice.
Goal (issue 2): time ratio <= 1.5 and pucredit peak RSS <= 1.5 GB at 10M rows.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import psutil

from pucredit.config.paths import PROJ_ROOT, REFERENCE_DIR
from pucredit.synth import DEMO_BANKS, generate, scaled

OUT = PROJ_ROOT / "benchmarks" / "out"
REFERENCE_SQL = PROJ_ROOT / "benchmarks" / "reference_metrics.sql"


def measure(cmd: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (GB) of the child process tree, and its stdout."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    watched = psutil.Process(proc.pid)
    while proc.poll() is None:
        try:
            peak = max(peak, sum(p.memory_info().rss for p in [watched, *watched.children(recursive=True)]))
        except psutil.Error:
            pass
        time.sleep(0.05)
    out, err = proc.communicate()
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{cmd[:3]} failed ({proc.returncode}):\n{err[-3000:]}")
    peak = max(peak, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)
    return seconds, peak / 1e9, out


def run_reference(tape: str, bank: str, period: str) -> None:
    """The reference side: execute reference_metrics.sql and print its one result row as JSON."""
    import duckdb

    from pucredit.config.periods import parse_period

    p = parse_period(period)
    sql = REFERENCE_SQL.read_text().format(tape=tape, bank=bank, start=p.start.date(), end=p.end.date(),
                                           base=p.base_date.date(), lpr=REFERENCE_DIR / "lpr.csv")
    sql = "\n".join(line for line in sql.splitlines() if not line.startswith("--"))
    *statements, final = [s for s in sql.split(";") if s.strip()]
    con = duckdb.connect()
    for statement in statements:
        con.execute(statement)
    rel = con.execute(final)
    names = [d[0] for d in rel.description]
    print(json.dumps(dict(zip(names, rel.fetchone())), default=float))


def tape_path(bank: str, rows: int) -> Path:
    """The cached synthetic tape of about ``rows`` rows for a scaled demo bank (generated once)."""
    config = scaled(DEMO_BANKS[bank], rows)
    folder = OUT / f"{bank.lower()}_{rows}"
    tape = folder / f"{config.bank_id.lower()}.parquet"
    if not tape.exists():
        folder.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        generate(config, folder)
        print(f"generated {tape} in {time.perf_counter() - start:.0f} s")
    return tape


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--bank", default="CB01", help="demo bank whose DGP is scaled (its tape is complete)")
    parser.add_argument("--period", default="2024")
    parser.add_argument("--reference-child", nargs=3, metavar=("TAPE", "BANK", "PERIOD"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.reference_child:
        return run_reference(*args.reference_child)

    config = scaled(DEMO_BANKS[args.bank], args.rows)
    tape = tape_path(args.bank, args.rows)
    import duckdb

    rows = duckdb.connect().execute(f"SELECT count(*) FROM read_parquet('{tape}')").fetchone()[0]
    pucredit_cmd = [sys.executable, "-m", "pucredit", "metrics", "--tape", str(tape), "--bank", config.bank_id,
                    "--period", args.period]
    reference_cmd = [sys.executable, __file__, "--reference-child", str(tape), config.bank_id, args.period]
    ref_s, ref_gb, ref_out = measure(reference_cmd)
    pu_s, pu_gb, pu_out = measure(pucredit_cmd)
    ours, theirs = json.loads(pu_out), json.loads(ref_out)
    agree = {
        "inclusive_smb_growth": (ours["volume"]["inclusive_smb_growth"], theirs["inclusive_smb_growth"]),
        "inclusive_smb_new_rate_pct": (ours["pricing"]["inclusive_smb_new_rate_pct"], theirs["inclusive_smb_new_rate_pct"]),
        "first_loan_borrowers": (ours["first_loans"]["first_loan_borrowers"], theirs["first_loan_borrowers"]),
        "total_npl_ratio": (ours["risk"]["total_npl_ratio"], theirs["total_npl_ratio"]),
        "rows": (ours["quality"]["tape_rows"], theirs["rows"]),
    }
    print(f"tape: {rows:,} rows, {tape.stat().st_size / 1e6:.0f} MB Parquet; bank {config.bank_id}, period {args.period}")
    print(f"{'':24}{'seconds':>10}{'peak RSS GB':>14}")
    print(f"{'plain DuckDB SQL':24}{ref_s:>10.1f}{ref_gb:>14.2f}")
    print(f"{'pucredit metrics':24}{pu_s:>10.1f}{pu_gb:>14.2f}")
    print(f"{'ratio':24}{pu_s / ref_s:>10.2f}{pu_gb / ref_gb:>14.2f}")
    for key, (a, b) in agree.items():
        same = a == b or (a is not None and b is not None and abs(a - b) <= 1e-9 * max(1, abs(b)))
        print(f"  {key}: pucredit {a} / SQL {b} {'(same)' if same else '(DIFFERENT)'}")


if __name__ == "__main__":
    main()
