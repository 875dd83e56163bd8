"""``pucredit demo``: build the demo banks' data if missing, run their reports, say where they are (the reports,
the front page, the audit samples)."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

from pucredit.pipeline.batch import MANIFEST, failed, run_batch
from pucredit.pipeline.index import INDEX
from pucredit.pipeline.run import AUDITS
from pucredit.config.paths import BANKS_DIR, DEMO_DIR, INSTALLED
from pucredit.analyses.peers import run_peers
from pucredit.synth import DEMO_BANKS, build_demo

DEMO_WORKSPACE = "_demo"  # inside the report root, for an installed package


def demo_places(out: Path) -> tuple[Path, Path]:
    """Where the demo's bank files and tapes are: the checkout's parameters/banks and data/demo (make demo),
    or, for an installed package, copies of the shipped bank files in ``OUT/_demo/parameters/banks`` with
    their tapes in ``OUT/_demo/data/demo`` (the bank files name their tapes as ``../../data/demo/...``)."""
    if not INSTALLED:
        return BANKS_DIR, DEMO_DIR
    workspace = out / DEMO_WORKSPACE
    banks = workspace / "parameters" / "banks"
    banks.mkdir(parents=True, exist_ok=True)
    for bank_id in DEMO_BANKS:
        if not (banks / f"{bank_id}.yaml").is_file():
            shutil.copyfile(BANKS_DIR / f"{bank_id}.yaml", banks / f"{bank_id}.yaml")
    return banks, workspace / "data" / "demo"


def run_demo(period: str, jobs: int, out: Path, anonymous: bool = False) -> int:
    """Deterministic demo data (pucredit.synth), the batch over the demo banks, then their peer comparison."""
    banks, data = demo_places(out)
    build_demo(data, banks, progress=lambda text: print(text, file=sys.stderr))
    manifest = run_batch([banks / f"{bank_id}.yaml" for bank_id in DEMO_BANKS], period, out, jobs=jobs)
    for entry in manifest["banks"]:
        print(f"{entry['bank_id']} {entry['period']}: {entry['status']}  {entry['report_dir'] or entry['error']}")
    root = out.resolve()
    print(f"reports: {root}  (manifest: {root / MANIFEST})")
    print(f"audit samples: {root / AUDITS}")
    if failed(manifest):
        print(f"front page: {root / INDEX}")
        return 1
    print(f"peer comparison: {run_peers(out, period, anonymous=anonymous)}")  # rewrites the front page with the peer report's link
    print(f"front page: {root / INDEX}  (open it in a browser)")
    return 0
