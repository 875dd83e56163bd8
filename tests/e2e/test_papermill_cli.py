"""Papermill's own command line on a report notebook, as a user types it (README "Reports for many banks"):
a misspelt parameter fails the notebook (exit non-zero, the name and the accepted ones said), and the kernel's
unencrypted-TCP warning stays out of the log with the environment's kernel config (etc/ipython)."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

from pucredit.config.paths import NOTEBOOKS_DIR, PROJ_ROOT

BIN = Path(sys.executable).parent


def test_papermill_refuses_a_misspelt_parameter_without_the_tcp_warning(tmp_path):
    notebook = tmp_path / "01_volume.ipynb"
    subprocess.run([BIN / "jupytext", "--quiet", "--to", "ipynb", "-o", notebook, NOTEBOOKS_DIR / "01_volume.py"],
                   check=True)
    profile = tmp_path / "ipython" / "profile_default"
    profile.mkdir(parents=True)
    shutil.copyfile(PROJ_ROOT / "etc" / "ipython" / "ipython_kernel_config.py", profile / "ipython_kernel_config.py")
    env = {**os.environ, "IPYTHONDIR": str(tmp_path / "ipython"), "PYTHONPATH": str(PROJ_ROOT)}
    done = subprocess.run([BIN / "papermill", notebook, tmp_path / "out.ipynb", "-r", "bank_fil", "RB01"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode != 0
    assert ("notebook parameters:bank_fil: error: this notebook has no such parameter (misspelt?); "
            "accepted: bank_file, period, lang, policy, context") in done.stderr
    assert "without encryption" not in done.stderr
