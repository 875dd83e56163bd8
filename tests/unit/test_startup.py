"""The command line starts in a blink (issue 16): nothing heavy is imported before a command needs it."""
from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("statsmodels", "matplotlib", "papermill", "nbconvert", "scipy")


def modules_after(argv: list[str]) -> set[str]:
    """The top-level modules loaded by ``pucredit ARGV`` in a fresh interpreter (whatever the exit code)."""
    code = ("import json, sys\nfrom pucredit import cli\ntry:\n    cli.main(%r)\nexcept SystemExit:\n    pass\n"
            "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})), file=sys.__stderr__)" % argv)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    return set(json.loads(run.stderr.strip().splitlines()[-1]))


def test_help_and_argument_errors_import_nothing_heavy():
    for argv in (["--help"], ["validate"], ["metrics", "--period"]):
        loaded = modules_after(argv)
        assert not loaded & {*HEAVY, "pandas", "duckdb", "numpy"}, (argv, loaded & {*HEAVY, "pandas", "duckdb"})


def test_validate_does_not_import_the_analysis_stack(write_tape):
    from tests.unit.test_metrics import ROWS

    loaded = modules_after(["validate", str(write_tape(ROWS))])
    assert "duckdb" in loaded and not loaded & set(HEAVY)


def test_make_lab_runs_jupyterlab_as_root_too():
    """`make lab` as root: JupyterLab refuses root without --allow-root, so the Makefile adds it for uid 0 only."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from pucredit.config.paths import PROJ_ROOT

    venv = Path(sys.executable).parent.parent
    out = subprocess.run(["make", "-n", "lab", f"VENV={venv}"], cwd=PROJ_ROOT, capture_output=True, text=True).stdout
    lab = next(line for line in out.splitlines() if "jupyter lab" in line)
    assert ("--allow-root" in lab) == (os.getuid() == 0)
