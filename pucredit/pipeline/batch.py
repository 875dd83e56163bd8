"""``pucredit batch``: many banks in parallel worker processes (README "Reports for many banks"), scheduled notebook by notebook.

One bank's failure never stops the others. ``ROOT/manifest.json`` records for
each bank what ran, how it ended (failing notebook, cell and error), how long
it took and where its reports are. Progress (bank × notebook) is a status line
on a terminal and plain timestamped log lines otherwise. ``only_failed``
re-runs just the banks the previous manifest marked as not ok.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import multiprocessing
import os
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from pathlib import Path

from pucredit.contract.errors import AnalysisError, InputError, Problem
from pucredit.config.paths import write_text_atomic
from pucredit.ownership import owner
from pucredit.pipeline.index import write_index
from pucredit.pipeline.run import (NotebookOutcome, PreparedBank, RunResult, executed_name, finish_bank, prepare_bank,
                                   report_notebooks, run_report_notebook)

MANIFEST = "manifest.json"
INDEX_EVERY_S = 10.0  # the front page is rebuilt as banks end, at most this often (and once at the end)


def expand_bank_files(items: list[str | Path]) -> list[Path]:
    """Folders give their *.yaml files (sorted); files are taken as they are."""
    files: list[Path] = []
    for item in map(Path, items):
        if item.is_dir():
            files += sorted(item.glob("*.yaml")) + sorted(item.glob("*.yml"))
        elif item.is_file():
            files.append(item)
        else:
            raise InputError(Problem(file=str(item), rule="missing_file", message="no such bank file or folder"))
    if not files:
        raise InputError(Problem(file=" ".join(map(str, items)), rule="missing_file", message="no bank files found",
                                 accepted="bank YAML files or folders holding them"))
    return [f.resolve() for f in files]


def read_manifest(root: Path) -> dict:
    path = root / MANIFEST
    if not path.is_file():
        raise InputError(Problem(file=str(path), rule="missing_file", message="no manifest to take failures from",
                                 accepted="run the batch once without --only-failed"))
    return json.loads(path.read_text(encoding="utf-8"))


def write_manifest(root: Path, manifest: dict) -> Path:
    return write_text_atomic(root / MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")


class ProgressPrinter:
    """Bank × notebook progress: one rewritten status line on a terminal, log lines elsewhere."""

    def __init__(self, banks: int, notebooks: int, stream=None):
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.total, self.notebooks = banks, notebooks
        self.done = 0
        self.current: dict[str, str] = {}

    def update(self, bank_id: str, message: str) -> None:
        if self.tty:
            self.current[bank_id] = message
            status = " | ".join(f"{b}: {m}" for b, m in sorted(self.current.items()))
            self.stream.write(f"\r\033[K[{self.done}/{self.total} banks] {status}"[:200])
        else:
            self.stream.write(f"{dt.datetime.now():%Y-%m-%d %H:%M:%S} {bank_id}: {message}\n")
        self.stream.flush()

    def finished(self, result: RunResult) -> None:
        self.done += 1
        self.current.pop(result.bank_id, None)
        where = result.report_dir if result.status == "ok" else (
            f"{result.failed_notebook or ''} cell {result.failed_cell}: {result.error}" if result.failed_notebook
            else result.error)
        line = f"[{self.done}/{self.total}] {result.bank_id} {result.status} in {result.seconds:.0f} s: {where}"
        self.stream.write(("\r\033[K" if self.tty else "") + line.splitlines()[0][:300] + "\n")
        self.stream.flush()


def _prepare(bank_file: str, period: str, root: str, owner: str, report) -> PreparedBank | RunResult:
    return prepare_bank(bank_file, period, root, owner=owner, progress=report)


def _notebook(prepared: PreparedBank, source: Path, timeout: int | None, report) -> NotebookOutcome:
    return run_report_notebook(prepared, source, timeout, progress=report)


class _QueueReport:
    """Progress from a worker process: (bank, message) onto a multiprocessing queue the batch drains."""

    def __init__(self, queue):
        self.queue = queue

    def __call__(self, bank_id: str, message: str) -> None:
        self.queue.put((bank_id, message))


def share_threads(threads: int) -> None:
    """DuckDB and the BLAS of this worker and of the kernels it starts use ``threads`` (its share of the
    machine), unless the user set them: workers that each take every core slow each other down (the demo
    batch with two workers spent 3-10 % more CPU time)."""
    from pucredit.engine.sql import THREADS_ENV  # read where DuckDB connections are opened

    for name in (THREADS_ENV, "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, str(max(1, threads)))


def start_worker(threads: int) -> None:
    """Worker initializer: its thread share, and on Linux, the kernel ends this process when the batch that
    started it dies, even by kill -9 (prctl PR_SET_PDEATHSIG), so no worker outlives its batch; its kernels
    follow their parent."""
    import ctypes
    import signal

    share_threads(threads)
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


class LocalProcesses:
    """The executor of a batch on this machine: ``jobs`` spawned worker processes (concurrent.futures), and a
    progress channel back from them. The scheduler sees only :meth:`submit`, ``report`` (a picklable
    callable the tasks call with progress) and the context manager; a distributed executor offers the same."""

    def __init__(self, jobs: int, printer: ProgressPrinter):
        self.jobs, self.printer = max(1, jobs), printer

    def __enter__(self) -> "LocalProcesses":
        self._manager = multiprocessing.Manager()
        queue = self._manager.Queue()
        self.report = _QueueReport(queue)
        self._listener = threading.Thread(target=_drain, args=(queue, self.printer), daemon=True)
        self._listener.start()
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        self._pool = ProcessPoolExecutor(max_workers=self.jobs, mp_context=multiprocessing.get_context("spawn"),
                                         initializer=start_worker, initargs=(cores // self.jobs,))
        return self

    def submit(self, fn, *args) -> Future:
        return self._pool.submit(fn, *args)

    def __exit__(self, *exc) -> None:
        self._pool.shutdown()
        self.report.queue.put(None)
        self._listener.join()
        self._manager.shutdown()


class _Scheduler:
    """Work in notebook-sized tasks over an executor: each bank's tape is validated and its metrics written
    first; then its notebooks run in parallel with the other banks' (three banks on two workers keep both busy
    to the end); the bank's folder is moved into place when its last notebook ends. A failing notebook
    cancels its bank's notebooks that have not started."""

    def __init__(self, executor, label: str, root: Path, timeout: int | None, done):
        self.executor, self.label, self.root, self.timeout, self.done = executor, label, root, timeout, done
        self.notebooks = report_notebooks()
        self.tasks: dict = {}  # future -> (bank_file, notebook source or None for the preparation)
        self.banks: dict[Path, dict] = {}

    def run(self, files: list[Path]) -> None:
        for bank_file in files:
            self._submit((bank_file, None), _prepare, str(bank_file), self.label, str(self.root), owner(),
                         self.executor.report)
        while self.tasks:
            finished, _ = wait(self.tasks, return_when=FIRST_COMPLETED)
            for future in finished:
                bank_file, source = self.tasks.pop(future)
                if source is None:
                    self._prepared(bank_file, future)
                else:
                    self._notebook_ended(bank_file, source, future)

    def _submit(self, key, fn, *args) -> Future:
        try:
            future = self.executor.submit(fn, *args)
        except Exception as exc:  # the pool broke (a worker was killed): this task fails, the rest go on
            future = Future()
            future.set_exception(exc)
        self.tasks[future] = key
        return future

    def _prepared(self, bank_file: Path, future) -> None:
        try:
            prepared = future.result()
        except Exception as exc:  # a worker that died; the batch goes on
            prepared = RunResult(bank_id=bank_file.stem, bank_file=str(bank_file), period=self.label,
                                 status="failed", error=f"worker failed: {type(exc).__name__}: {exc}")
        if isinstance(prepared, RunResult):
            self.done(bank_file, prepared)
            return
        if not self.notebooks:
            self.done(bank_file, finish_bank(prepared, []))
            return
        self.banks[bank_file] = {"prepared": prepared, "outcomes": {}, "open": {
            self._submit((bank_file, source), _notebook, prepared, source, self.timeout, self.executor.report)
            for source in self.notebooks}}

    def _notebook_ended(self, bank_file: Path, source: Path, future) -> None:
        state = self.banks[bank_file]
        state["open"].discard(future)
        if not future.cancelled():
            try:
                outcome = future.result()
            except Exception as exc:
                outcome = NotebookOutcome(executed_name(source), None, f"worker failed: {type(exc).__name__}: {exc}")
            state["outcomes"][source.name] = outcome
            if outcome.error is not None:
                for other in state["open"]:
                    other.cancel()
        if not state["open"]:
            ordered = [state["outcomes"][s.name] for s in self.notebooks if s.name in state["outcomes"]]
            self.done(bank_file, finish_bank(state["prepared"], ordered))


def make_executor(jobs: int, scheduler: str | None, printer: ProgressPrinter):
    """Where the tasks run: ``jobs`` local worker processes, or the Dask cluster ``scheduler`` names
    (pucredit.pipeline.cluster)."""
    if scheduler is None:
        return LocalProcesses(jobs, printer)
    from pucredit.pipeline.cluster import DaskCluster

    return DaskCluster(scheduler, printer)


def run_batch(items: list[str | Path], period: str, root: str | Path, *, jobs: int = 1,
              timeout: int | None = 600, only_failed: bool = False, stream=None,
              scheduler: str | None = None) -> dict:
    """Run every bank; returns the manifest (also written to ROOT/manifest.json). ``scheduler``: a Dask
    cluster instead of ``jobs`` local processes (README "Running at scale")."""
    from pucredit.config.periods import parse_period

    root = Path(root).resolve()
    label = parse_period(period).label
    files = expand_bank_files(items)
    previous: dict[str, dict] = {}
    if only_failed:
        manifest = read_manifest(root)
        if manifest["period"] != label:
            raise InputError(Problem(file=str(root / MANIFEST), rule="bad_period", value=label,
                                     message=f"the manifest is for period {manifest['period']}",
                                     accepted=f"--period {manifest['period']} with --only-failed"))
        previous = {entry["bank_file"]: entry for entry in manifest["banks"]}
        files = [f for f in files if previous.get(str(f), {}).get("status") != "ok"]
    _refuse_shared_bank_ids(files)
    root.mkdir(parents=True, exist_ok=True)
    started = dt.datetime.now(dt.timezone.utc)
    printer = ProgressPrinter(len(files), len(report_notebooks()), stream)
    # The manifest is rewritten as each bank ends, so a batch that is killed still says what ended and
    # what is pending (--only-failed re-runs the pending banks too).
    entries = {**previous, **{str(f): RunResult(bank_id=f.stem, bank_file=str(f), period=label,
                                                status="pending").to_dict() for f in files}}
    manifest = {"period": label, "started_at": started.isoformat(timespec="seconds"), "finished_at": None,
                "jobs": jobs, "banks": []}
    if scheduler is not None:
        manifest["scheduler"] = scheduler

    indexed = [0.0]  # when the front page was last rebuilt (monotonic seconds)

    def record(final: bool = False, index: bool = True) -> None:
        manifest["banks"] = [entries[key] for key in sorted(entries)]
        try:
            write_manifest(root, manifest)
        except OSError as exc:  # a full disk or a read-only root: exit 1 with the cause, not a traceback
            raise AnalysisError(f"cannot write the manifest {root / MANIFEST}: {exc.strerror or exc}") from None
        # the front page follows the manifest (the record), at most every INDEX_EVERY_S seconds: it reads
        # every bank's metrics, which for thousands of banks costs seconds a time
        if final or (index and time.monotonic() - indexed[0] >= INDEX_EVERY_S):
            with contextlib.suppress(OSError):
                write_index(root)
            indexed[0] = time.monotonic()

    # before any bank starts: a root that cannot take the manifest ends the batch here; the front page waits for
    # the first bank (building it costs a second the workers would wait for)
    record(index=False)

    def done(bank_file: Path, result: RunResult) -> None:
        entries[str(bank_file)] = result.to_dict()
        try:
            record()
        except AnalysisError:  # the other banks still finish (and clean up); the final write decides the exit
            pass
        printer.finished(result)

    with make_executor(jobs, scheduler, printer) as executor:
        if scheduler is not None:
            manifest["jobs"] = executor.workers
        _Scheduler(executor, label, root, timeout, done).run(files)
    manifest["finished_at"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    record(final=True)  # raises AnalysisError (exit 1) when the final manifest cannot be written either
    return manifest


def _refuse_shared_bank_ids(files: list[Path]) -> None:
    """Two bank files with one bank_id would write into the same report folder."""
    from pucredit.config.banks import load_bank

    seen: dict[str, Path] = {}
    problems = []
    for path in files:
        try:
            bank_id = load_bank(path).bank_id
        except InputError:
            continue  # reported by that bank's own run
        if bank_id in seen:
            problems.append(Problem(file=str(path), column="bank_id", rule="duplicate_bank", value=bank_id,
                                    message=f"the same bank_id as {seen[bank_id]}",
                                    accepted="one bank file per bank_id in a batch"))
        seen.setdefault(bank_id, path)
    if problems:
        raise InputError(problems)


def _drain(queue, printer: ProgressPrinter) -> None:
    while (item := queue.get()) is not None:
        printer.update(*item)


def failed(manifest: dict) -> list[dict]:
    return [entry for entry in manifest["banks"] if entry["status"] != "ok"]
