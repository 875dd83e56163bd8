"""Warm kernels (pipeline.kernels, issue 16): a notebook on a reused kernel sees what a fresh kernel shows it, and
a bank's reports are the same on warm and cold kernels."""
from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from pucredit.config.paths import BANKS_DIR
from pucredit.pipeline.kernels import FRESH, RECORD, WARM_ENV, WarmKernel
from pucredit.pipeline.run import execute_notebook, run_bank

pytestmark = pytest.mark.slow


def notebook(path: Path, *sources: str) -> Path:
    nb = new_notebook()
    nb.cells = [new_code_cell(s) for s in sources]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def run(source: Path, tmp_path: Path) -> tuple[int | None, str]:
    """(execution count, printed text) of the notebook's last cell."""
    target = tmp_path / "out.ipynb"
    execute_notebook(source, target, {}, 60)
    cell = nbformat.read(target, as_version=4).cells[-1]
    return cell.execution_count, "".join(o.get("text", "") for o in cell.outputs).strip()


def test_a_reused_kernel_is_fresh_for_each_notebook(tmp_path, monkeypatch):
    monkeypatch.delenv(WARM_ENV, raising=False)
    dirty = notebook(tmp_path / "dirty.ipynb",
                     "import os, matplotlib, matplotlib.pyplot as plt\nleak = 1\nplt.figure()\n"
                     "matplotlib.rcParams['lines.linewidth'] = 9\nprint(os.getpid())")
    probe = notebook(tmp_path / "probe.ipynb", "x = 1",
                     "import os, matplotlib, matplotlib.pyplot as plt\n"
                     "print(os.getpid(), 'leak' in dir(), len(plt.get_fignums()), matplotlib.rcParams['lines.linewidth'])")
    _, pid = run(dirty, tmp_path)
    count, seen = run(probe, tmp_path)
    fresh_linewidth = str(__import__("matplotlib").rcParamsDefault["lines.linewidth"])
    assert seen == f"{pid} False 0 {fresh_linewidth}"  # the same kernel, nothing left of the first notebook
    assert count == 2  # the cell counter starts at 1 again, as in a fresh kernel


def test_a_failed_notebook_takes_its_kernel_with_it(tmp_path, monkeypatch):
    monkeypatch.delenv(WARM_ENV, raising=False)
    pid_of = notebook(tmp_path / "pid.ipynb", "import os\nprint(os.getpid())")
    fails = notebook(tmp_path / "fails.ipynb", "raise ValueError('no')")
    _, before = run(pid_of, tmp_path)
    with pytest.raises(Exception, match="no"):
        run(fails, tmp_path)
    assert run(pid_of, tmp_path)[1] != before


def test_a_changed_environment_starts_a_new_kernel(tmp_path, monkeypatch):
    monkeypatch.delenv(WARM_ENV, raising=False)
    probe = notebook(tmp_path / "env.ipynb", "import os\nprint(os.getpid(), os.environ.get('PUCREDIT_TEST_MARK'))")
    pid, mark = run(probe, tmp_path)[1].split()
    monkeypatch.setenv("PUCREDIT_TEST_MARK", "changed")
    pid2, mark2 = run(probe, tmp_path)[1].split()
    assert (mark, mark2) == ("None", "changed") and pid2 != pid


def comparable(folder: Path, root: Path) -> dict[str, str]:
    """A report folder's files as text, without what differs between any two runs: run times and papermill's
    timestamps (metrics.json's generated_at, the reports' time of making, each cell's start and end), the random
    cell ids, and the report root."""
    files = {}
    for path in sorted(folder.iterdir()):
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".ipynb":
            nb = json.loads(text)
            nb["metadata"].pop("papermill", None)
            for cell in nb["cells"]:
                cell.pop("id", None)
                cell["metadata"].pop("papermill", None)
                cell["metadata"].pop("execution", None)
            text = json.dumps(nb, sort_keys=True)
        text = re.sub(r'id="cell-id=[0-9a-f-]+"|\d{4}[\\-]+\d\d[\\-]+\d\d \d\d:\d\d UTC', "", text.replace(str(root), "ROOT"))
        files[path.name] = re.sub(r'"generated_at": "[^"]+"', "", text)
    return files


def test_reports_on_warm_kernels_equal_reports_on_cold_kernels(tmp_path, monkeypatch):
    """One demo bank's whole report set, once with a new kernel per notebook and once on one warm kernel."""
    from pucredit.synth import build_demo

    build_demo()
    bank = BANKS_DIR / "RB01.yaml"
    monkeypatch.setenv(WARM_ENV, "0")
    cold = run_bank(bank, "2025H1", tmp_path / "cold")
    monkeypatch.delenv(WARM_ENV)
    runs = []  # (code run in the warm kernel) before each notebook
    real = WarmKernel._run
    monkeypatch.setattr(WarmKernel, "_run", lambda self, code: runs.append(code) or real(self, code))
    warm = run_bank(bank, "2025H1", tmp_path / "warm")
    assert runs.count(RECORD) <= 1 and runs.count(FRESH) >= 6  # the notebooks shared one kernel
    assert (cold.status, warm.status) == ("ok", "ok"), (cold.error, warm.error)
    cold_files = comparable(Path(cold.report_dir), tmp_path / "cold")
    warm_files = comparable(Path(warm.report_dir), tmp_path / "warm")
    assert cold_files.keys() == warm_files.keys() and len(cold_files) > 10
    different = [name for name in cold_files if cold_files[name] != warm_files[name]]
    assert not different
