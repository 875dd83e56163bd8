"""Nothing is written outside the report root (issue 13): the check every pipeline path goes through."""
from __future__ import annotations

import pytest

from pucredit.contract.errors import InputError
from pucredit.pipeline.folders import inside, working_folder


@pytest.mark.parametrize("relative", ["../../escaped/2025H1", "/etc/pucredit", "A/../../x", "link/2025H1"])
def test_paths_that_leave_the_root_are_refused(tmp_path, relative):
    root = tmp_path / "reports"
    root.mkdir()
    (root / "link").symlink_to(tmp_path)  # a symlink inside the root that points out of it
    with pytest.raises(InputError, match="outside the report root"):
        inside(root, root / relative)


def test_paths_inside_the_root_pass(tmp_path):
    assert inside(tmp_path, tmp_path / "B1" / "2025H1") == (tmp_path / "B1" / "2025H1").resolve()


def test_working_folders_name_their_owner(tmp_path):
    target = tmp_path / "B1" / "2025H1"
    assert working_folder(target, "staging", "host.1.2").name == ".2025H1.staging@host.1.2"
    assert working_folder(target, "context").parent == target.parent


def test_scratch_folders_of_killed_readers_are_removed_at_the_next_start(tmp_path, monkeypatch):
    """Converted copies hold raw ids: a killed reader's scratch folder goes at the next start on this host;
    a live reader's, and another host's on a shared disk, stay (issue 13)."""
    import subprocess
    import sys
    import tempfile

    import psutil

    from pucredit.contract.read import WORKDIR_PREFIX, make_workdir
    from pucredit.ownership import owner

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    start = int(psutil.Process(dead.pid).create_time())
    dead.wait()
    host = owner().partition(".")[0]
    stale = tmp_path / f"{WORKDIR_PREFIX}{host}.{dead.pid}.{start}-abc"
    other = tmp_path / f"{WORKDIR_PREFIX}elsewhere.{dead.pid}.{start}-abc"
    for folder in (stale, other):
        (folder / "tape.raw.parquet").parent.mkdir()
        (folder / "tape.raw.parquet").write_text("raw ids")
    mine = make_workdir()
    assert not stale.exists() and other.exists() and mine.exists()
    make_workdir()
    assert mine.exists()  # a live reader's folder stays


def test_batch_workers_die_with_their_batch(tmp_path):
    """kill -9 of a batch leaves no worker behind (issue 13): workers carry a parent-death signal."""
    import os
    import signal
    import subprocess
    import sys
    import time

    import psutil

    script = tmp_path / "batch.py"
    script.write_text(
        "import multiprocessing, time\n"
        "from concurrent.futures import ProcessPoolExecutor\n"
        "from pucredit.pipeline.batch import start_worker\n"
        "if __name__ == '__main__':\n"
        "    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context('spawn'), initializer=start_worker, initargs=(1,))\n"
        "    print(pool.submit(__import__('os').getpid).result(), flush=True)\n"
        "    pool.submit(time.sleep, 60)\n"
        "    time.sleep(60)\n")
    batch = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    worker = int(batch.stdout.readline())
    os.kill(batch.pid, signal.SIGKILL)
    batch.wait()
    deadline = time.monotonic() + 10
    while psutil.pid_exists(worker) and psutil.Process(worker).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, "the worker outlived its batch"
        time.sleep(0.1)


def _thread_env() -> tuple:
    import os

    return tuple(os.environ.get(n) for n in ("PUCREDIT_DUCKDB_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"))


def test_local_batch_workers_share_the_cores_unless_the_user_chose(monkeypatch):
    import io
    import os

    from pucredit.pipeline.batch import LocalProcesses, ProgressPrinter

    for name in ("PUCREDIT_DUCKDB_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    share = str(max(1, len(os.sched_getaffinity(0)) // 2))
    with LocalProcesses(2, ProgressPrinter(1, 1, io.StringIO())) as pool:
        assert pool.submit(_thread_env).result() == (share, share, share)
    monkeypatch.setenv("PUCREDIT_DUCKDB_THREADS", "3")
    with LocalProcesses(2, ProgressPrinter(1, 1, io.StringIO())) as pool:
        assert pool.submit(_thread_env).result() == ("3", share, share)
