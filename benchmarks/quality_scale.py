"""Time of the data-quality review (pucredit.quality) on a large tape, beside one plain grouped DuckDB scan.

    python benchmarks/quality_scale.py [--rows 10000000] [--period 2024] [--bank CB01]

Uses the synthetic tape that benchmarks/metrics_scale.py generates and caches under benchmarks/out/
(generated here if missing). The reference is the cheapest pass any per-branch, per-month summary
needs: ``SELECT branch_id, as_of, count(*) ... GROUP BY ALL`` over the Parquet file. Each step of the
review is timed on a tape already opened (reading and validation are timed by metrics_scale.py) and
printed with its ratio to the reference. Timings on shared machines are noisy: read the ratios.
"""
from __future__ import annotations

import argparse
import resource
import time

import duckdb

from pucredit.analyses import quality
from pucredit.config.periods import parse_period
from pucredit.engine.tape import open_tape

from metrics_scale import tape_path  # noqa: E402  (benchmarks/ is the script's folder)


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--period", default="2024")
    parser.add_argument("--bank", default="CB01")
    args = parser.parse_args()
    path = tape_path(args.bank, args.rows)
    period = parse_period(args.period)

    reference, _ = timed(lambda: duckdb.sql(
        f"SELECT branch_id, as_of, count(*) FROM read_parquet('{path}') GROUP BY ALL").fetchall())
    with open_tape(path) as tape:
        bank = tape.bank(args.bank)
        _, rows = timed(lambda: tape.con.execute("SELECT count(*) FROM tape").fetchone()[0])
        steps = {
            "rule_counts (every check by branch and month)": lambda: quality.rule_counts(bank),
            "branch_balances + branch_breaks": lambda: quality.branch_breaks(
                quality.branch_balances(bank), bank.policy.quality.branch_break_z.value),
            "threshold_bunching": lambda: quality.threshold_bunching(bank, period),
            "first_loan_flags_by_branch": lambda: quality.first_loan_flags_by_branch(bank, period),
            "audit_sample (500 loans)": lambda: quality.audit_sample(bank, period, 500, 2024),
        }
        seconds = {name: timed(step)[0] for name, step in steps.items()}
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"tape: {path.name}, {rows:,} rows; period {period.label}")
    print(f"{'step':<50}{'seconds':>9}{'ratio':>8}")
    print(f"{'reference: one grouped scan (plain DuckDB)':<50}{reference:>9.2f}{1:>8.2f}")
    for name, value in seconds.items():
        print(f"{name:<50}{value:>9.2f}{value / reference:>8.2f}")
    total = sum(seconds.values())
    print(f"{'the whole review':<50}{total:>9.2f}{total / reference:>8.2f}")
    print(f"peak RSS of this process: {peak:.2f} GB")
    print("Timings on a shared machine are noisy; compare ratios, and run twice.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
