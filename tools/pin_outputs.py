"""Refresh the pinned outputs of report notebooks (``make pin``).

Executes each notebook on its default parameters (the demo data) and writes back
the outputs and execution counts of the cells marked ``# NBVAL_CHECK_OUTPUT``
only; every other cell is committed without outputs. nbval compares nothing in a
cell whose execution count is empty, so the counts are kept.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import nbformat

from pucredit.pipeline.run import execute_notebook

MARK = "# NBVAL_CHECK_OUTPUT"


def pin(path: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        executed_path = Path(tmp) / path.name
        execute_notebook(path, executed_path, parameters={}, timeout=600)
        executed = nbformat.read(executed_path, as_version=4)
    notebook = nbformat.read(path, as_version=4)
    # papermill adds no cell when no parameters are passed, so cells line up one to one
    for cell, done in zip(notebook.cells, executed.cells, strict=True):
        if cell.cell_type != "code":
            continue
        if MARK in cell.source:
            cell.outputs, cell.execution_count = done.outputs, done.execution_count
        else:
            cell.outputs, cell.execution_count = [], None
    nbformat.write(notebook, path)
    print(f"pinned {path}")


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        pin(Path(arg))
