"""The batch on a Dask LocalCluster (README "Running at scale"): the same manifest and metrics as the process
pool, and a worker killed mid-notebook re-run by Dask to the same report and audit sample.

Short on purpose: tiny banks (tests/e2e/test_pipeline.tiny_rows) and the demo bank CB01 for real metrics,
with one-cell notebooks in the equivalence test and the real quality notebook in the kill test.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import tempfile
import threading
import time
from pathlib import Path

import psutil
import pytest

from tests.conftest import write_csv
from tests.e2e.test_pipeline import (BANK_FILE, PERIOD, TINY_PERIOD, demo_data, make_notebook, snapshot,  # noqa: F401
                                     tiny_rows, write_bank)
from pucredit.config.paths import NOTEBOOKS_DIR
from pucredit.pipeline import batch
from pucredit.pipeline.run import AUDITS

pytest.importorskip("distributed")


def _timeless(metrics: Path) -> bytes:
    """metrics.json's bytes but for its one wall-clock line (provenance.generated_at), which must be there."""
    lines = metrics.read_bytes().splitlines(keepends=True)
    stamped = [i for i, line in enumerate(lines) if line.lstrip().startswith(b'"generated_at": "')]
    assert len(stamped) == 1
    return b"".join(lines[:stamped[0]] + lines[stamped[0] + 1:])


def _statuses(manifest: dict) -> dict:
    return {e["bank_id"]: e["status"] for e in manifest["banks"]}


def test_local_cluster_gives_the_manifest_and_metrics_of_the_process_pool(tmp_path, monkeypatch, demo_data):
    write_csv(tmp_path / "a.csv", tiny_rows("A1"))
    write_csv(tmp_path / "bad.csv", tiny_rows("X1", balance_cny="abc"))
    banks = [BANK_FILE, write_bank(tmp_path, "A1", "a.csv", name="A1.yaml"),
             write_bank(tmp_path, "X1", "bad.csv", name="X1.yaml")]
    notebooks = [make_notebook(tmp_path / f"0{i}_ok.ipynb", f"x = {i}") for i in (1, 2)]
    monkeypatch.setattr(batch, "report_notebooks", lambda: notebooks)
    pool = batch.run_batch(banks, TINY_PERIOD, tmp_path / "pool", jobs=2, stream=io.StringIO())
    progress = io.StringIO()
    dask = batch.run_batch(banks, TINY_PERIOD, tmp_path / "dask", scheduler="local:2", stream=progress)
    assert _statuses(dask) == _statuses(pool) == {"CB01": "ok", "A1": "ok", "X1": "bad_input"}
    assert (dask["scheduler"], dask["jobs"]) == ("local:2", 2)
    for bank in ("CB01", "A1"):
        assert (_timeless(tmp_path / "dask" / bank / TINY_PERIOD / "metrics.json")
                == _timeless(tmp_path / "pool" / bank / TINY_PERIOD / "metrics.json"))
    # progress came back from the workers through Dask events
    assert "CB01: running 01_ok" in progress.getvalue() and "A1: validating tape" in progress.getvalue()


def test_a_worker_killed_mid_notebook_is_rerun_to_the_same_report(tmp_path, monkeypatch, demo_data):
    """The real quality notebook writes its audit sample, then (first attempt only) its kernel reports the
    worker's pid and waits; the test SIGKILLs that worker. Dask re-runs the notebook on the restarted or
    the other worker: the bank ends ok, with its whole report and the one audit sample the killed attempt wrote."""
    mark = tmp_path / "worker.pid"
    quality = (NOTEBOOKS_DIR / "05_quality.py").read_text(encoding="utf-8")
    killable = tmp_path / "05_quality.py"
    killable.write_text(quality + f"\n# %%\nimport os, pathlib, time\nmark = pathlib.Path({str(mark)!r})\n"
                        "if not mark.exists():\n    mark.write_text(f'{os.getppid()} {os.getpid()}')\n    time.sleep(300)\n",
                        encoding="utf-8")
    killed, killed_worker, before_kill = [], [], []
    root = tmp_path / "dask"
    audit = root / AUDITS / "CB01" / PERIOD / f"audit_sample_CB01_{PERIOD}.csv"

    def kill_when_marked():
        while not ended.is_set() and not killed:
            if mark.exists() and mark.read_text():
                before_kill.append(audit.read_bytes())  # written by the notebook's cells before the mark
                worker, kernel = map(int, mark.read_text().split())
                os.kill(worker, signal.SIGKILL)
                killed.append(kernel)
                killed_worker.append(worker)
            time.sleep(0.2)

    ended = threading.Event()
    watcher = threading.Thread(target=kill_when_marked, daemon=True)
    watcher.start()
    monkeypatch.setattr(batch, "report_notebooks", lambda: [killable])
    try:
        manifest = batch.run_batch([BANK_FILE], PERIOD, root, scheduler="local:2", stream=io.StringIO())
    finally:
        ended.set()
        watcher.join()
    assert killed, "the worker was never killed"
    (entry,) = manifest["banks"]
    assert {k: v for k, v in entry.items() if k != "seconds"} == {
        "bank_id": "CB01", "bank_file": str(BANK_FILE), "period": PERIOD, "status": "ok",
        "report_dir": str(root / "CB01" / PERIOD), "notebooks": ["05_quality.ipynb"], "failed_notebook": None,
        "failed_cell": None, "error": None, "failure_notebook": None}
    report = root / "CB01" / PERIOD
    assert sorted(p.name for p in report.iterdir()) == ["05_quality.html", "05_quality.ipynb", "metrics.json"]
    assert list((root / AUDITS / "CB01" / PERIOD).iterdir()) == [audit]  # no audit_sample_CB01_2025H1-2.csv
    assert not [p for p in (root / "CB01").iterdir() if p.name.startswith(".")], "no working folder left"
    # the re-run drew the sample the killed attempt had written, so it was left as it was
    assert audit.read_bytes() == before_kill[0]
    # the killed worker's socket folder was removed by the worker that re-ran the notebook, the others' on exit
    assert not list(Path(tempfile.gettempdir()).glob(f"pucredit-kernels@*.{killed_worker[0]}.*"))
    # the killed worker's kernel did not outlive it (ipykernel's parent poller)
    with contextlib.suppress(psutil.NoSuchProcess):
        psutil.Process(killed[0]).wait(timeout=10)


def test_scheduler_option_checks_its_value(capsys):
    from pucredit import cli

    with pytest.raises(SystemExit) as info:
        cli.main(["batch", str(BANK_FILE), "--period", PERIOD, "--scheduler", "nowhere"])
    assert info.value.code == 2 and "scheduler" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["batch", str(BANK_FILE), "--period", PERIOD, "--scheduler", "local:2", "--jobs", "2"])
