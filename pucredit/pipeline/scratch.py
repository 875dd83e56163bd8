"""Node-local scratch of this process: the folder for its kernels' IPC sockets, in TMPDIR (never on the
shared filesystem a cluster's report root is on), removed when the process exits; one left by a process of
this host that was killed (a Dask worker SIGKILLed mid-notebook) is removed by the next one that starts."""
from __future__ import annotations

import atexit
import shutil
import tempfile
from functools import cache
from pathlib import Path

from pucredit.ownership import abandoned, owner

PREFIX = "pucredit-kernels@"


@cache
def kernel_socket_dir() -> Path:
    """``$TMPDIR/pucredit-kernels@<owner>/``, created on first use (pucredit.ownership names the owner)."""
    tmp = Path(tempfile.gettempdir())
    for left in tmp.glob(f"{PREFIX}*"):
        if abandoned(left.name[len(PREFIX):]):
            shutil.rmtree(left, ignore_errors=True)
    folder = tmp / f"{PREFIX}{owner()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder
