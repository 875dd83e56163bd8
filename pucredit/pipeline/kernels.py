"""The Jupyter kernels report notebooks run on (issue 16): IPC sockets, and one warm kernel per worker thread.

A kernel start and the report stack's imports cost a few seconds per notebook, most of a bank's run. A process
(a batch worker, a Dask worker thread, ``pucredit run``) keeps one kernel and runs its notebooks on it, one after
another. Before each notebook the kernel is made what a fresh one is for it: every name of the previous notebook
deleted, figures closed, matplotlib's settings as they were at the kernel's start, the cell counter at 1. Imported
modules stay imported: that is the saving. A notebook that fails, times out or kills its kernel takes the kernel
with it; the next notebook gets a new one. ``PUCREDIT_WARM_KERNEL=0`` gives every notebook a kernel of its own.
``tests/e2e/test_kernels.py`` checks that the reports of warm and cold kernels are the same.
"""
from __future__ import annotations

import atexit
import os
import subprocess
import threading
import uuid

from pucredit.pipeline.scratch import kernel_socket_dir

WARM_ENV = "PUCREDIT_WARM_KERNEL"  # "0": a new kernel for every notebook
READY_TIMEOUT = 60  # seconds for a kernel to start or to be cleaned
KERNEL_NAME = "python3"
IN_MEMORY_HISTORY = "--HistoryManager.hist_file=:memory:"  # as nbclient starts kernels: nothing written to $HOME

# Run in the kernel (pipeline.fresh): at its start, and before each notebook but the first.
RECORD = "import pucredit.pipeline.fresh as _fresh\n_fresh.record()\ndel _fresh"
FRESH = "import pucredit.pipeline.fresh as _fresh\n_fresh.prepare(get_ipython())"


def kernel_manager_class():
    """A kernel manager on IPC sockets: no ports to clash and no unencrypted-TCP warning. Each kernel gets its
    own socket path prefix in this process's node-local scratch folder (pipeline.scratch), so kernels started
    at once never share sockets. Asynchronous, as nbclient expects, so that cell timeouts are enforced. It keeps
    the clients nbclient makes, for :class:`WarmKernel` to close after each notebook."""
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    class IPCKernelManager(AsyncKernelManager):
        @default("transport")
        def _default_transport(self):
            return "ipc"

        @default("ip")
        def _default_ip(self):
            return str(kernel_socket_dir() / uuid.uuid4().hex[:12])  # node-local, removed on exit

        async def _async_launch_kernel(self, kernel_cmd, **kw):
            # The kernel's own stderr is noise in the run's log: a cell timeout closes its sockets while it
            # still replies (zmq tracebacks). What went wrong in a cell is in the notebook and the manifest.
            kw.setdefault("stderr", subprocess.DEVNULL)
            return await super()._async_launch_kernel(kernel_cmd, **kw)

        def client(self, **kwargs):
            kc = super().client(**kwargs)
            self.__dict__.setdefault("_clients", []).append(kc)
            return kc

        def close_clients(self) -> None:
            for kc in self.__dict__.pop("_clients", []):
                kc.stop_channels()

    return IPCKernelManager


def warm_enabled() -> bool:
    return os.environ.get(WARM_ENV, "1").strip() != "0"


class WarmKernel:
    """This thread's kernel, started on first use and cleaned before each later notebook."""

    def __init__(self) -> None:
        self.km = None
        self.used = False
        self.started_with: tuple = ()  # the environment and folder the kernel was started with

    def ready(self, cwd: str):
        """The kernel manager to hand to papermill (``km=``): a live kernel, fresh for the next notebook. A kernel
        started with other environment variables or in another folder is replaced (the kernel inherits both)."""
        from jupyter_core.utils import run_sync

        wanted = (sorted(os.environ.items()), cwd)
        if self.km is not None and (wanted != self.started_with or not run_sync(self.km.is_alive)()):
            self.discard()
        if self.km is None:
            km = kernel_manager_class()(kernel_name=KERNEL_NAME)
            run_sync(km.start_kernel)(cwd=cwd, extra_arguments=[IN_MEMORY_HISTORY])
            self.km, self.used, self.started_with = km, False, wanted
            self._run(RECORD)
        elif self.used:
            self._run(FRESH)
        self.used = True
        return self.km

    def _run(self, code: str) -> None:
        """Run ``code`` in the kernel, silently (no cell counted); a failure discards the kernel and raises."""
        from jupyter_client.blocking import BlockingKernelClient

        kc = BlockingKernelClient(connection_file=self.km.connection_file)
        kc.load_connection_file()
        kc.start_channels()
        try:
            kc.wait_for_ready(timeout=READY_TIMEOUT)
            reply = kc.execute_interactive(code, silent=True, store_history=False, timeout=READY_TIMEOUT)
        finally:
            kc.stop_channels()
        if reply["content"]["status"] != "ok":
            self.discard()
            raise RuntimeError(f"the warm kernel could not be cleaned: {reply['content'].get('evalue')}")

    def done(self) -> None:
        """The notebook ended well: close the clients it used, keep the kernel."""
        if self.km is not None:
            self.km.close_clients()

    def discard(self) -> None:
        """Shut the kernel down (after a failure, or at exit)."""
        from jupyter_core.utils import run_sync

        km, self.km = self.km, None
        if km is None:
            return
        try:
            km.close_clients()
            run_sync(km.shutdown_kernel)(now=True)
        except Exception:  # a kernel that is already gone
            pass


_threads = threading.local()
_all: list[WarmKernel] = []  # every thread's, shut down when the process exits


def warm_kernel() -> WarmKernel:
    """This thread's warm kernel (one per thread: a Dask worker may run notebooks in several threads)."""
    if getattr(_threads, "kernel", None) is None:
        if not _all:
            atexit.register(_discard_all)
        _threads.kernel = WarmKernel()
        _all.append(_threads.kernel)
    return _threads.kernel


def _discard_all() -> None:
    for kernel in list(_all):
        kernel.discard()
