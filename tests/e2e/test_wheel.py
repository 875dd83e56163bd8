"""The built wheel works outside the checkout (README "Running at scale": installing the package).

The wheel is built from a copy of the sources (so the build writes nothing into the checkout) and installed
with ``--no-deps`` into a scratch venv whose site-packages reach this environment's dependencies through a
``.pth`` line: a plain path line adds the folder to ``sys.path`` without running its ``.pth`` files, so the
checkout's editable install stays out of sight, and the scratch venv's own ``pucredit`` comes first. Building
needs setuptools from the package index (build isolation), as ``pip install .`` does.

From a working folder outside the checkout: ``pucredit synth`` writes a tape where it is told, the user's
``./parameters`` folder adds a bank file and a policy year of its own, ``pucredit metrics`` and ``pucredit run``
(one bank; ``pucredit demo`` runs the same batch for three) write only below that folder, and nothing is
written into the checkout or the installed package.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parents[2]
SOURCES = ("pucredit", "parameters", "data/reference", "notebooks", "pyproject.toml", "setup.py", "MANIFEST.in",
           "README.md")


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts}


def _git_state() -> str:
    return subprocess.run(["git", "-C", str(CHECKOUT), "status", "--porcelain", "--ignored", "--untracked-files=all"],
                          capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    base = tmp_path_factory.mktemp("wheel")
    src = base / "src"
    for name in SOURCES:
        source = CHECKOUT / name
        if source.is_dir():
            shutil.copytree(source, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.ipynb", ".*"))
        else:
            shutil.copyfile(source, src / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(base / "dist"), str(src)],
                   check=True, capture_output=True)
    (wheel,) = (base / "dist").glob("pucredit-*.whl")
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "outer-environment.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel)],
                   check=True, capture_output=True)
    return dict(base=base, venv=venv, site=site)


def test_the_wheel_runs_a_bank_outside_the_checkout_and_writes_only_where_told(installed):
    base, venv, site = installed["base"], installed["venv"], installed["site"]
    work, home = base / "work", base / "home"
    work.mkdir()
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PUCREDIT_PARAMETERS", "VIRTUAL_ENV")}
    # JUPYTER_PATH: nbconvert's templates are data files of the outer environment (share/jupyter), which a
    # real install of the dependencies would put into the scratch venv; the .pth line reaches only its code.
    env.update(HOME=str(home), MPLCONFIGDIR=str(work / ".cache" / "matplotlib"), PATH=f"{venv / 'bin'}:{env['PATH']}",
               JUPYTER_PATH=str(Path(sys.prefix) / "share" / "jupyter"))
    package_before, checkout_before = _files(site / "pucredit"), _git_state()

    def pucredit(*args: str) -> subprocess.CompletedProcess:
        done = subprocess.run([str(venv / "bin" / "pucredit"), *args], cwd=work, env=env, capture_output=True,
                              text=True, timeout=900)
        assert done.returncode == 0, done.stderr[-3000:]
        return done

    where = subprocess.run([str(venv / "bin" / "python"), "-c", "import pucredit.config.paths as p; "
                            "print(p.__file__, p.INSTALLED)"], cwd=work, env=env, capture_output=True, text=True)
    assert where.stdout.split() == [str(site / "pucredit" / "config" / "paths.py"), "True"]

    pucredit("synth", "--bank", "CB01", "--out", "tapes")
    (work / "parameters" / "banks").mkdir(parents=True)
    (work / "parameters" / "banks" / "MY01.yaml").write_text(
        'bank_id: "CB01"\nname: "my bank"\ntape: "../../tapes/cb01.parquet"\npolicy: "2031"\nlang: "en"\n'
        'category: "city_commercial"\n', encoding="utf-8")
    (work / "parameters" / "policy").mkdir()
    shipped_policy = site / "pucredit" / "_shipped" / "parameters" / "policy" / "2024.yaml"
    (work / "parameters" / "policy" / "2031.yaml").write_text(
        shipped_policy.read_text(encoding="utf-8").replace("\nyear: 2024\n", "\nyear: 2031\n"), encoding="utf-8")

    pucredit("metrics", "parameters/banks/MY01.yaml", "--period", "2025H1", "--out", "out/metrics.json")
    metrics = json.loads((work / "out" / "metrics.json").read_text(encoding="utf-8"))
    assert (metrics["bank_id"], metrics["policy"]) == ("CB01", "2031")  # the user's policy year
    done = pucredit("run", "parameters/banks/MY01.yaml", "--period", "2025H1")  # the default root: ./reports
    report = work / "reports" / "CB01" / "2025H1"
    assert str(report) in done.stdout
    assert {"metrics.json", "01_volume.html", "05_quality.ipynb"} <= {p.name for p in report.iterdir()}
    assert (work / "reports" / "_audit" / "CB01" / "2025H1").is_dir()

    assert _git_state() == checkout_before, "the checkout was written to"
    assert _files(site / "pucredit") == package_before, "the installed package was written to"
    assert {p.name for p in work.iterdir()} == {"tapes", "parameters", "out", "reports", ".cache"}
    # IPython makes its profile skeleton in the kernel's HOME (IPYTHONDIR moves it); nothing else goes there
    assert _files(home) <= {".ipython/profile_default/startup/README"}, sorted(_files(home))[:5]
