"""The report root's folders: every path the pipeline writes or removes lies inside the root, report folders
are swapped in whole, and the leftovers of killed runs are recognised by their owner.

A run's working folders sit beside their target, named ``.<target>.<kind>@<owner>`` (pucredit.ownership:
host, process id and start time of the run that owns them); only those of this host's dead runs are removed.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from pucredit.contract.errors import InputError, Problem
from pucredit.ownership import abandoned, owner

KINDS = ("staging", "context", "old")  # work in progress, the prepared tape, a report set aside for the swap


def inside(root: Path, path: Path) -> Path:
    """``path`` resolved, after checking that it lies inside the report root (a bank id or a period can name
    folders, never leave the root: docs/data-contract.md §14)."""
    root, resolved = root.resolve(), path.resolve()
    if resolved != root and root not in resolved.parents:
        raise InputError(Problem(file=str(path), rule="outside_root", message="would be written outside the report root",
                                 value=str(resolved), accepted=f"a folder inside {root}"))
    return resolved


def working_folder(target: Path, kind: str, by: str | None = None) -> Path:
    """Where the owner ``by`` (default: this process) keeps its ``kind`` of working folder for ``target``."""
    assert kind in KINDS, kind
    return target.with_name(f".{target.name}.{kind}@{by or owner()}")


def remove_abandoned(target: Path) -> None:
    """Leftovers of runs on this host that were killed: working folders are removed, and a previous report
    set aside for the swap is put back if nothing took its place. Called before a run reads anything."""
    for folder in sorted(target.parent.glob(f".{target.name}.*@*")):
        kind, _, token = folder.name[len(target.name) + 2:].partition("@")
        if kind not in KINDS or not abandoned(token):
            continue
        if kind == "old" and not target.exists():
            folder.rename(target)
        else:
            shutil.rmtree(folder, ignore_errors=True)


def replace_folder(staging: Path, target: Path) -> None:
    """Move the finished folder into place; the old one is removed only after the new one is there, and
    put back if the move fails."""
    old = working_folder(target, "old")
    if target.exists():
        target.rename(old)
    try:
        staging.rename(target)
    except BaseException:
        if old.exists() and not target.exists():
            old.rename(target)
        raise
    shutil.rmtree(old, ignore_errors=True)
