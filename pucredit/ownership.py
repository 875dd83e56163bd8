"""Who owns a working folder: this host, process id and process start time (a leaf module, imported from
every layer).

A folder named after its owner can be recognised as abandoned when its owner is a process of this host
that no longer runs (or whose pid now belongs to a process started at another time); a folder of another
host sharing the disk is never taken for abandoned, so a live run elsewhere keeps its work.
"""
from __future__ import annotations

import os
import re
import socket
from functools import cache


@cache
def owner() -> str:
    """This process as an owner: ``<host>.<pid>.<start>`` (start time in whole seconds)."""
    import psutil

    host = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname()) or "host"
    return f"{host}.{os.getpid()}.{int(psutil.Process().create_time())}"


def abandoned(token: str) -> bool:
    """Whether the owner named by ``token`` is a process of this host that no longer runs."""
    import psutil

    host, _, rest = token.partition(".")
    pid, _, start = rest.partition(".")
    if host != owner().partition(".")[0] or not pid.isdigit() or not start.isdigit():
        return False  # another host's, or not ours at all: left alone
    try:
        return int(psutil.Process(int(pid)).create_time()) != int(start)  # the pid was reused
    except psutil.NoSuchProcess:
        return True
