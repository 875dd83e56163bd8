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
    from pathlib import Path

    from pucredit.config.paths import PROJ_ROOT

    venv = Path(sys.executable).parent.parent
    out = subprocess.run(["make", "-n", "lab", f"VENV={venv}"], cwd=PROJ_ROOT, capture_output=True, text=True).stdout
    lab = next(line for line in out.splitlines() if "jupyter lab" in line)
    assert ("--allow-root" in lab) == (os.getuid() == 0)


def test_metrics_does_not_import_the_report_stack(write_tape, tmp_path):
    """``pucredit metrics`` needs statsmodels (the pass-through fit) but no plotting or notebook machinery."""
    from tests.unit.test_metrics import ROWS

    loaded = modules_after(["metrics", "--tape", str(write_tape(ROWS)), "--bank", "T1", "--period", "2024H1",
                            "--out", str(tmp_path / "metrics.json")])
    assert (tmp_path / "metrics.json").exists()
    assert not loaded & {"matplotlib", "papermill", "nbconvert", "jupyter_client", "IPython"}


def test_report_notebooks_other_than_quality_do_not_load_scipy():
    """scipy.stats (a second or more) is imported by the two quality checks that test with it, not by every kernel."""
    code = ("import json, sys\nimport pucredit.report.context\n"
            "from pucredit.analyses import quality\n"
            "from pucredit.report.sections import volume, pricing, first_loans, risk, service, peers\n"
            "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert not set(json.loads(run.stdout.strip().splitlines()[-1])) & {"scipy", "statsmodels"}
