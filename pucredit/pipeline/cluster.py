"""The batch on a Dask cluster (README "Running at scale"): the executor seam of ``pucredit.pipeline.batch``
(``submit``, a picklable ``report``, a context manager) over ``distributed``, an optional extra
(``pip install pucredit[cluster]``).

``--scheduler`` names the cluster: ``tcp://HOST:8786`` (any ``scheme://`` address), a scheduler file written
by ``dask scheduler --scheduler-file``, or ``local:N`` for a ``LocalCluster`` of N single-threaded worker
processes on this machine. Tasks are the batch's own (a bank's preparation, then one task per notebook);
a task whose worker dies is re-run by Dask on another worker (``distributed.scheduler.allowed-failures``),
which the report folders allow: a bank's staging folder is named after the batch process, a re-run notebook
overwrites its own output, and an audit sample equal to the one on disk is left as it is.
"""
from __future__ import annotations

import re
from pathlib import Path

from pucredit.contract.errors import InputError, Problem

PROGRESS_TOPIC = "pucredit-progress"
LOCAL = re.compile(r"^local:(\d+)$")


def check_scheduler(text: str) -> str:
    """argparse type of ``--scheduler``: an address, ``local:N`` (N >= 1) or an existing scheduler file."""
    import argparse
    import importlib.util

    if importlib.util.find_spec("distributed") is None:  # before the manifest lists every bank as pending
        raise argparse.ArgumentTypeError("Dask is not installed: pip install 'pucredit[cluster]', or use --jobs N")
    local = LOCAL.match(text)
    if (local and int(local.group(1)) >= 1) or "://" in text or Path(text).is_file():
        return text
    raise argparse.ArgumentTypeError(f"not a scheduler address (tcp://HOST:8786), local:N or scheduler file: {text!r}")


def _distributed():
    try:
        import distributed
    except ImportError:
        raise InputError(Problem(file="--scheduler", rule="usage", message="Dask is not installed",
                                 accepted="pip install 'pucredit[cluster]', or --jobs N")) from None
    return distributed


class EventReport:
    """Progress from a task on a Dask worker: a ``log_event`` the batch's client subscribes to (crosses hosts,
    unlike a multiprocessing queue)."""

    def __call__(self, bank_id: str, message: str) -> None:
        from distributed import get_worker

        get_worker().log_event(PROGRESS_TOPIC, [bank_id, message])


def _thread_share(distributed):
    """A worker plugin: DuckDB and the BLAS in the worker and in the kernels it starts use the worker's own
    threads (``--nthreads``, one in the deployment the README gives), unless the user set the caps."""

    class ThreadShare(distributed.WorkerPlugin):
        name = "pucredit-threads"

        def setup(self, worker) -> None:
            from pucredit.pipeline.batch import share_threads

            share_threads(worker.state.nthreads)

    return ThreadShare()


class DaskCluster:
    """The executor of a batch on a Dask cluster (same interface as ``batch.LocalProcesses``)."""

    def __init__(self, scheduler: str, printer):
        self.scheduler, self.printer = scheduler, printer
        self.report = EventReport()

    def __enter__(self) -> "DaskCluster":
        distributed = _distributed()
        self._cluster = None
        local = LOCAL.match(self.scheduler)
        if local:
            self._cluster = distributed.LocalCluster(n_workers=int(local.group(1)), threads_per_worker=1,
                                                     processes=True, dashboard_address=":0")
            self.client = distributed.Client(self._cluster)
        elif "://" in self.scheduler:
            self.client = distributed.Client(self.scheduler)
        else:
            self.client = distributed.Client(scheduler_file=self.scheduler)
        self.client.register_plugin(_thread_share(distributed))
        self.client.subscribe_topic(PROGRESS_TOPIC, lambda event: self.printer.update(*event[1]))
        self._executor = self.client.get_executor(pure=False)
        return self

    @property
    def workers(self) -> int:
        """Task threads across the cluster now (for the manifest)."""
        return sum(w["nthreads"] for w in self.client.scheduler_info()["workers"].values())

    def submit(self, fn, *args):
        return self._executor.submit(fn, *args)

    def __exit__(self, *exc) -> None:
        try:
            self.client.unsubscribe_topic(PROGRESS_TOPIC)
            self.client.close()
        finally:
            if self._cluster is not None:
                self._cluster.close()
