"""Time and peak memory of `pucredit metrics` beside two plain DuckDB SQL references, alternated in one run.

    python benchmarks/metrics_scale.py [--rows 1e7] [--rounds 3] [--period 2024] [--bank CB01]
    python benchmarks/metrics_scale.py --tape PATH --bank ID --period P   # a tape you bring

Three sides, each in its own child process, run in turn ``--rounds`` times (so a noisy moment
of the shared machine hits all of them alike):

- **bare metrics SQL** (reference_metrics.sql): only the contract's deterministic metrics, no validation;
- **reference with checks** (reference_checks.sql, then reference_metrics.sql): the README's reference,
  the same metrics plus the row rules, duplicate keys and first-loan history;
- **pucredit metrics**: read, pseudonymise, validate every rule, classify, every metric.

It prints each round's seconds and peak RSS (``ru_maxrss`` of that child, from ``wait4``), the median
ratios, and checks that the sides agree on shared figures. Without ``--tape`` it generates (once,
cached under benchmarks/out/) a synthetic tape of about N rows: the city bank CB01's DGP scaled up,
which is the project's own generator; hand in a bank's real tape with ``--tape`` where you can.
Goals (issue 16): <= 2.0x the bare metrics SQL, <= 1.3x the reference with checks, <= 1.5 GB at 10M
rows; <= 1.3x and <= 3 GB at 100M (``--rows 1e8``; about 2.3 GB of Parquet and minutes per side).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pucredit.config.paths import PROJ_ROOT, REFERENCE_DIR

OUT = PROJ_ROOT / "benchmarks" / "out"
METRICS_SQL = PROJ_ROOT / "benchmarks" / "reference_metrics.sql"
CHECKS_SQL = PROJ_ROOT / "benchmarks" / "reference_checks.sql"
GOALS_10M, GOALS_100M = (2.0, 1.3, 1.5), (None, 1.3, 3.0)  # ratio to bare SQL, ratio to reference, GB


def measure(cmd: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (GB, ``ru_maxrss`` of this child alone) and stdout of ``cmd``."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        if proc.returncode != 0:
            sys.exit(f"{cmd[:4]} failed ({proc.returncode}):\n{err.read()[-3000:]}")
        return seconds, usage.ru_maxrss * 1024 / 1e9, out.read()


def run_reference(tape: str, bank: str, period: str, checks: bool) -> None:
    """A reference side: run the SQL files and print the merged result rows as one JSON object."""
    import duckdb

    from pucredit.config.periods import parse_period

    p = parse_period(period)
    con = duckdb.connect()
    result = {}
    for path in ([CHECKS_SQL] if checks else []) + [METRICS_SQL]:
        sql = path.read_text().format(tape=tape, bank=bank, start=p.start.date(), end=p.end.date(),
                                      base=p.base_date.date(), lpr=REFERENCE_DIR / "lpr.csv")
        sql = "\n".join(line for line in sql.splitlines() if not line.startswith("--"))
        *statements, final = [s for s in sql.split(";") if s.strip()]
        for statement in statements:
            con.execute(statement)
        rel = con.execute(final)
        result.update(zip([d[0] for d in rel.description], rel.fetchone()))
    print(json.dumps(result, default=float))


def tape_path(bank: str, rows: int) -> Path:
    """The cached synthetic tape of about ``rows`` rows for a scaled demo bank (generated once)."""
    from pucredit.synth import DEMO_BANKS, generate, scaled

    folder = OUT / f"{bank.lower()}_{rows}"
    tapes = sorted(folder.glob("*.parquet"))
    if tapes:
        return tapes[0]
    config = scaled(DEMO_BANKS[bank], rows)
    folder.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    generate(config, folder)
    print(f"generated {folder} in {time.perf_counter() - start:.0f} s", flush=True)
    return folder / f"{config.bank_id.lower()}.parquet"


def agreement(ours: dict, bare: dict, checked: dict) -> list[str]:
    """Shared figures side by side (the benchmark is void if they differ)."""
    pairs = {
        "inclusive_smb_growth": (ours["volume"]["inclusive_smb_growth"], bare["inclusive_smb_growth"]),
        "inclusive_smb_new_rate_pct": (ours["pricing"]["inclusive_smb_new_rate_pct"],
                                       bare["inclusive_smb_new_rate_pct"]),
        "first_loan_borrowers": (ours["first_loans"]["first_loan_borrowers"], bare["first_loan_borrowers"]),
        "total_npl_ratio": (ours["risk"]["total_npl_ratio"], bare["total_npl_ratio"]),
        "rows": (ours["quality"]["tape_rows"], checked["rows"]),
    }
    lines = []
    for key, (a, b) in pairs.items():
        same = a == b or (a is not None and b is not None and abs(a - b) <= 1e-9 * max(1, abs(b)))
        lines.append(f"  {key}: pucredit {a} / SQL {b} {'(same)' if same else '(DIFFERENT)'}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=lambda s: int(float(s)), default=10_000_000, help="e.g. 1e7 or 1e8")
    parser.add_argument("--bank", default="CB01", help="demo bank whose DGP is scaled, or the bank_id of --tape")
    parser.add_argument("--tape", help="a Parquet tape to use instead of the generated one")
    parser.add_argument("--period", default="2024")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--reference-child", nargs=4, metavar=("TAPE", "BANK", "PERIOD", "CHECKS"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.reference_child:
        tape, bank, period, checks = args.reference_child
        return run_reference(tape, bank, period, checks == "checks")

    import duckdb

    if args.tape:
        tape, bank = Path(args.tape).resolve(), args.bank
    else:
        from pucredit.synth import DEMO_BANKS

        tape, bank = tape_path(args.bank, args.rows), DEMO_BANKS[args.bank].bank_id
    rows = duckdb.connect().execute(f"SELECT count(*) FROM read_parquet('{tape}')").fetchone()[0]
    sides = {
        "bare metrics SQL": [sys.executable, __file__, "--reference-child", str(tape), bank, args.period, "bare"],
        "reference with checks": [sys.executable, __file__, "--reference-child", str(tape), bank, args.period,
                                  "checks"],
        "pucredit metrics": [sys.executable, "-m", "pucredit", "metrics", "--tape", str(tape), "--bank", bank,
                             "--period", args.period],
    }
    print(f"tape: {tape} ({rows:,} rows, {tape.stat().st_size / 1e6:.0f} MB Parquet); bank {bank}, "
          f"period {args.period}; {args.rounds} rounds, sides alternated", flush=True)
    times: dict[str, list[float]] = {side: [] for side in sides}
    peaks: dict[str, list[float]] = {side: [] for side in sides}
    outputs: dict[str, str] = {}
    for round_ in range(1, args.rounds + 1):
        for side, cmd in sides.items():
            seconds, gb, outputs[side] = measure(cmd)
            times[side].append(seconds)
            peaks[side].append(gb)
            print(f"round {round_}: {side:<22}{seconds:>8.1f} s{gb:>8.2f} GB", flush=True)

    ours = json.loads(outputs["pucredit metrics"])
    median = {side: statistics.median(t) for side, t in times.items()}
    pu = "pucredit metrics"
    print()
    print(f"{'':<24}{'median s':>10}{'min s':>8}{'max s':>8}{'peak RSS GB':>13}")
    for side in sides:
        print(f"{side:<24}{median[side]:>10.1f}{min(times[side]):>8.1f}{max(times[side]):>8.1f}"
              f"{max(peaks[side]):>13.2f}")
    bare_goal, ref_goal, gb_goal = GOALS_100M if rows > 30_000_000 else GOALS_10M
    rounds_ratio = {ref: [p / r for p, r in zip(times[pu], times[ref])]
                    for ref in ("bare metrics SQL", "reference with checks")}
    print()
    print(f"{'ratio (median; per round)':<40}{'value':>7}{'goal':>9}")

    def verdict(value: float, goal: float | None) -> str:
        return "" if goal is None else f"{'<= ' + str(goal):>9}  {'met' if value <= goal else 'MISSED'}"

    for ref, goal in (("bare metrics SQL", bare_goal), ("reference with checks", ref_goal)):
        value = median[pu] / median[ref]
        per_round = ", ".join(f"{r:.2f}" for r in rounds_ratio[ref])
        print(f"{'pucredit / ' + ref:<40}{value:>7.2f}{verdict(value, goal)}   ({per_round})")
    print(f"{'pucredit peak RSS, GB':<40}{max(peaks[pu]):>7.2f}{verdict(max(peaks[pu]), gb_goal)}")
    for line in agreement(ours, json.loads(outputs["bare metrics SQL"]), json.loads(outputs["reference with checks"])):
        print(line)
    print("\nThe machine may be shared: read the ratios of one run, not the seconds.")


if __name__ == "__main__":
    main()
