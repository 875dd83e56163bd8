"""Report batch speed: seconds per bank with --jobs 1 and --jobs 2, and the fixed cost of a notebook.

    cd /work/main && .venv/bin/python benchmarks/batch.py [--period 2025H1] [--repeat 3]

From one run it prints:

1. The demo batch (the banks in parameters/banks/, or those ``--banks`` names; demo data built if
   missing) run with ``run_batch`` into temporary report roots: once with ``jobs=1`` on a new kernel per
   notebook (``PUCREDIT_WARM_KERNEL=0``, as before warm kernels), then as it runs by default (a warm kernel
   per worker, pipeline.kernels) with ``jobs=1``, with ``jobs=2``
   and on a Dask ``LocalCluster`` of two single-threaded workers (``--scheduler local:2``):
   wall seconds per bank and the speed-up ratio. Goal: speed-up >= 1.8 on two cores. The batch
   schedules notebooks, not whole banks, so both workers stay busy until the last notebook; the
   bound printed is tasks / ceil(tasks / 2) for equal tasks. Each bank's own seconds (from its
   validation to its folder moved into place) show a stalled bank (a kernel that did not start).
   Goal (issue 16): speed-up >= 1.85, and seconds per bank with --jobs 1 <= 2.0 x bare kernels
   (a new kernel that imports pandas and matplotlib and runs one cell, once per notebook).
2. The fixed cost every report notebook pays before its first analysis line: a one-cell
   notebook that imports the report stack (the union of the import lines of the report
   notebooks) run with ``pucredit.run.execute_notebook``, beside the bare cost of a kernel
   (a one-cell notebook with ``pass``) plus the same imports timed in a fresh interpreter, each on a
   new kernel. Goal: ratio <= 1.5 (starting the stack inside a kernel costs little more than its parts).
   Beside it, the same notebook on the warm kernel: what a notebook of a batch pays now.

Each fixed-cost figure is the median of ``--repeat`` runs, after one warm-up (papermill's own
import, about 2 s, is paid once per process and left out). Timings on a shared machine are
noisy (other jobs, disk cache, CPU frequency): read the ratios rather than the seconds, and
run it twice before believing a change of less than about 10 %. Nothing is written outside
temporary folders; the reports of the timed batches are deleted afterwards.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from pucredit.pipeline.batch import run_batch
from pucredit.pipeline.kernels import WARM_ENV
from pucredit.config.paths import BANKS_DIR
from pucredit.pipeline.run import execute_notebook, read_notebook, report_notebooks

SPEEDUP_GOAL = 1.85
FIXED_COST_GOAL = 1.5
BANK_GOAL = 2.0  # seconds per bank / six bare kernels
BARE_KERNEL = "import pandas\nimport matplotlib.pyplot"  # the bare kernel: pandas, matplotlib, one cell


def report_imports() -> list[str]:
    """The import lines of the report notebooks, in first-seen order."""
    lines: list[str] = []
    for path in report_notebooks():
        for cell in read_notebook(path).cells:
            if cell.cell_type == "code":
                lines += [line for line in cell.source.splitlines()
                          if line.startswith(("import ", "from ")) and line not in lines]
    return lines


def one_cell_notebook(path: Path, source: str) -> Path:
    nb = new_notebook(cells=[new_code_cell(source)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


@contextlib.contextmanager
def cold_kernels(cold: bool = True):
    """A new kernel for every notebook inside the block (PUCREDIT_WARM_KERNEL=0), as before warm kernels."""
    before = os.environ.get(WARM_ENV)
    if cold:
        os.environ[WARM_ENV] = "0"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(WARM_ENV, None)
        else:
            os.environ[WARM_ENV] = before


def time_notebook(path: Path, repeat: int, cold: bool = True) -> list[float]:
    """Seconds to run a notebook ``repeat`` times: each on a new kernel (``cold``), or on this process's warm
    kernel (the first run, which starts it, is not timed)."""
    times = []
    with cold_kernels(cold):
        if not cold:
            execute_notebook(path, path.with_name(f"{path.stem}-out-warm.ipynb"), {}, 600)
        for i in range(repeat):
            start = time.perf_counter()
            execute_notebook(path, path.with_name(f"{path.stem}-out-{i}.ipynb"), {}, 600)
            times.append(time.perf_counter() - start)
    return times


def time_fresh_import(source: str, repeat: int) -> list[float]:
    """Seconds the imports take in a new interpreter (timed inside it, interpreter start-up excluded)."""
    code = f"import time\nt = time.perf_counter()\n{source}\nprint(time.perf_counter() - t)"
    return [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
            for _ in range(repeat)]


def time_batch(banks: list[Path], period: str, jobs: int, root: Path, scheduler: str | None = None,
               cold: bool = False) -> tuple[float, dict]:
    """Wall seconds of one batch; with ``scheduler`` (local:2), the Dask cluster's start-up and shut-down
    are counted too, as a user of ``--scheduler local:N`` pays them; ``cold``: a kernel per notebook."""
    start = time.perf_counter()
    with open(root.parent / f"progress-{scheduler or jobs}.log", "w") as log, cold_kernels(cold):
        manifest = run_batch(banks, period, root, jobs=jobs, stream=log, scheduler=scheduler)
    return time.perf_counter() - start, manifest


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--period", default="2025H1")
    parser.add_argument("--repeat", type=int, default=3, help="runs per fixed-cost figure (median)")
    parser.add_argument("--banks", nargs="*", help="demo bank ids to run (default: all)")
    args = parser.parse_args()

    from pucredit.synth import build_demo

    build_demo()
    banks = sorted(b for b in BANKS_DIR.glob("*.yaml") if not args.banks or b.stem in args.banks)
    notebooks = report_notebooks()
    imports = report_imports()
    print(f"{len(banks)} banks ({', '.join(b.stem for b in banks)}), {len(notebooks)} notebooks "
          f"({', '.join(n.stem for n in notebooks)}), period {args.period}", flush=True)

    with tempfile.TemporaryDirectory(prefix="pucredit-bench-") as tmp:
        tmp = Path(tmp)
        # fixed cost per notebook
        bare = one_cell_notebook(tmp / "bare.ipynb", "pass")
        stack = one_cell_notebook(tmp / "stack.ipynb", "\n".join(imports))
        plain = one_cell_notebook(tmp / "plain.ipynb", BARE_KERNEL)
        time_notebook(bare, 1)  # warm-up: papermill, nbconvert and the kernel spec are loaded once
        kernel = statistics.median(time_notebook(bare, args.repeat))
        plain_kernel = statistics.median(time_notebook(plain, args.repeat))
        in_kernel = statistics.median(time_notebook(stack, args.repeat))
        in_warm_kernel = statistics.median(time_notebook(stack, args.repeat, cold=False))
        fresh = statistics.median(time_fresh_import("\n".join(imports), args.repeat))
        print(f"fixed cost measured ({args.repeat} runs each, median)", flush=True)

        # the batch: on a new kernel per notebook (before issue 16's warm kernels), then as it runs now
        root = tmp / "cold1" / "reports"
        root.parent.mkdir()
        cold = time_batch(banks, args.period, 1, root, cold=True)
        print(f"batch --jobs 1, a kernel per notebook: {cold[0]:.1f} s", flush=True)
        runs = {}
        for jobs in (1, 2):
            root = tmp / f"jobs{jobs}" / "reports"
            root.parent.mkdir()
            runs[jobs] = time_batch(banks, args.period, jobs, root)
            print(f"batch --jobs {jobs}: {runs[jobs][0]:.1f} s", flush=True)
        root = tmp / "dask" / "reports"
        root.parent.mkdir()
        dask = time_batch(banks, args.period, 2, root, scheduler="local:2")  # pucredit[cluster]
        print(f"batch --scheduler local:2: {dask[0]:.1f} s", flush=True)

    print()
    print("report stack imported in each notebook:")
    for line in imports:
        print(f"    {line}")
    print()
    print("batch (demo banks)")
    print(f"{'':<26}{'jobs 1':>10}{'jobs 2':>10}")
    per_bank = {jobs: seconds / len(banks) for jobs, (seconds, _) in runs.items()}
    print(f"{'wall seconds':<26}{runs[1][0]:>10.1f}{runs[2][0]:>10.1f}")
    print(f"{'seconds per bank':<26}{per_bank[1]:>10.1f}{per_bank[2]:>10.1f}")
    print(f"{'  jobs 1, cold kernels':<26}{cold[0] / len(banks):>10.1f}  (a new kernel per notebook)")
    for bank in banks:
        cells = []
        for jobs in (1, 2):
            entry = next(e for e in runs[jobs][1]["banks"] if e["bank_file"] == str(bank.resolve()))
            cells.append(f"{entry['seconds']:.1f}" + ("" if entry["status"] == "ok" else f" {entry['status']}"))
        print(f"{'  ' + bank.stem + ' (own seconds)':<26}{cells[0]:>10}{cells[1]:>10}")
    print(f"{'Dask local:2 wall seconds':<26}{'':>10}{dask[0]:>10.1f}"
          f"  ({dask[0] / runs[2][0] - 1:+.0%} against --jobs 2)")
    speedup = runs[1][0] / runs[2][0]
    print()
    print(f"{'figure':<44}{'seconds':>9}")
    print(f"{'kernel start, bare (pass)':<44}{kernel:>9.2f}")
    print(f"{'kernel start importing pandas + matplotlib':<44}{plain_kernel:>9.2f}")
    print(f"{'report stack import, fresh interpreter':<44}{fresh:>9.2f}")
    print(f"{'  sum (reference)':<44}{kernel + fresh:>9.2f}")
    print(f"{'kernel start + report stack in the kernel':<44}{in_kernel:>9.2f}")
    print(f"{'report stack on the warm kernel (cleaned)':<44}{in_warm_kernel:>9.2f}")
    print()
    print(f"{'ratio':<44}{'value':>9}{'goal':>10}")
    ratio = in_kernel / (kernel + fresh)
    print(f"{'speed-up, jobs 2 over jobs 1':<44}{speedup:>9.2f}{'>= ' + str(SPEEDUP_GOAL):>10}"
          f"  {'ok' if speedup >= SPEEDUP_GOAL else 'MISSED'}")
    tasks = len(banks) * len(notebooks)
    bound = tasks / -(-tasks // 2)
    print(f"{'  bound: tasks / ceil(tasks / 2), notebooks':<44}{bound:>9.2f}")
    print(f"{'fixed cost / (bare kernel + fresh import)':<44}{ratio:>9.2f}{'<= ' + str(FIXED_COST_GOAL):>10}"
          f"  {'ok' if ratio <= FIXED_COST_GOAL else 'MISSED'}")
    bank_ratio = per_bank[1] / (len(notebooks) * plain_kernel)
    label = f"seconds per bank (jobs 1) / {len(notebooks)} such kernels"
    print(f"{label:<44}{bank_ratio:>9.2f}{'<= ' + str(BANK_GOAL):>10}"
          f"  {'ok' if bank_ratio <= BANK_GOAL else 'MISSED'}")
    label = f"  the same before warm kernels"
    print(f"{label:<44}{cold[0] / len(banks) / (len(notebooks) * plain_kernel):>9.2f}")
    print(f"{'fixed cost share of a bank (jobs 1)':<44}{in_warm_kernel * len(notebooks) / per_bank[1]:>9.2f}")
    print(f"{'seconds per notebook, jobs 1':<44}{runs[1][0] / tasks:>9.2f}")
    failed = [e for run in (*runs.values(), dask, cold) for e in run[1]["banks"] if e["status"] != "ok"]
    for entry in failed:
        print(f"note: {entry['bank_id']} {entry['status']}: {entry['failed_notebook']} {entry['error']}")
    print("\nTimings on a shared machine are noisy; compare ratios, and run twice.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
