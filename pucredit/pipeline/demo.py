"""``pucredit demo``: build the demo banks' data if missing, run their reports, say where they are (the reports,
the front page, the audit samples)."""
from __future__ import annotations

import sys
from pathlib import Path

from pucredit.pipeline.batch import MANIFEST, failed, run_batch
from pucredit.pipeline.index import INDEX
from pucredit.pipeline.run import AUDITS
from pucredit.config.paths import BANKS_DIR, DEMO_DIR
from pucredit.analyses.peers import run_peers
from pucredit.synth import DEMO_BANKS, build_demo


def run_demo(period: str, jobs: int, out: Path, anonymous: bool = False) -> int:
    """Deterministic demo data (pucredit.synth), the batch over the demo banks, then their peer comparison."""
    build_demo(DEMO_DIR, BANKS_DIR, progress=lambda text: print(text, file=sys.stderr))
    manifest = run_batch([BANKS_DIR / f"{bank_id}.yaml" for bank_id in DEMO_BANKS], period, out, jobs=jobs)
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
