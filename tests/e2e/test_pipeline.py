"""The report pipeline (README "Commands"; the report folder: docs/data-contract.md §17): parameters, run_bank, HTML, failures, batch.

Real notebooks are slow (a kernel start is 2-4 s, a report notebook about 10 s per bank), so
one real run of one demo bank (``good_report``, module scope) serves every test that reads a
finished report, and one batch (``first_batch``) serves the batch tests. Failures are injected
with tiny purpose-made notebooks written to tmp_path and passed as ``run_bank(..., notebooks=[...])``.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from tests.conftest import write_csv
from pucredit import cli
from pucredit.config.banks import load_bank
from pucredit.contract.errors import InputError
from pucredit.analyses.metrics import compute_metrics
from pucredit.config.paths import BANKS_DIR, NOTEBOOKS_DIR
from pucredit.config.policy import BankTerms, load_policy
from pucredit.report.context import check_parameters
from pucredit.pipeline.run import FAILURES, REMOVE_FROM_HTML_TAG, declared_parameters, executed_name, report_notebooks, run_bank
from pucredit.engine.tape import open_tape

BANK = "CB01"  # the demo bank without a totals file: the quickest real run
BANK_FILE = BANKS_DIR / f"{BANK}.yaml"
PERIOD = "2025H1"
TINY_PERIOD = "2024H1"
TIMESTAMP_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (\S+): (.+)$")


# ---------------------------------------------------------------- helpers

@pytest.fixture(scope="session")
def demo_data():
    """The demo tapes (data/demo, git-ignored); built once if missing."""
    from pucredit.synth import build_demo

    build_demo()
    return load_bank(BANK_FILE)


def make_notebook(path: Path, *sources: str) -> Path:
    """A notebook with the report parameters cell, then one code cell per source."""
    nb = new_notebook()
    params = new_code_cell('bank_file: str = ""  # bank file\nperiod: str = ""  # period\n'
                           'lang: str = ""  # zh or en\npolicy: str = ""  # policy year')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, *map(new_code_cell, sources)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def tiny_rows(bank_id: str = "0102", **override) -> list[dict]:
    """A valid three-loan tape at 2023-12-31, 2024-03-31 and 2024-06-30 (enough for metrics of 2024H1)."""
    rows = []
    for as_of in ("2023-12-31", "2024-03-31", "2024-06-30"):
        rows += [
            dict(bank_id=bank_id, as_of=as_of, loan_id="L1", borrower_id="B1", balance_cny=400_000),
            dict(bank_id=bank_id, as_of=as_of, loan_id="L2", borrower_id="B2", borrower_type="other_enterprise",
                 credit_line_cny=50_000_000, amount_cny=5_000_000, balance_cny=5_000_000),
            dict(bank_id=bank_id, as_of=as_of, loan_id="L3", borrower_id="B3", borrower_type="farmer",
                 is_agri="true", credit_line_cny=300_000, amount_cny=200_000, balance_cny=200_000),
        ]
    rows[0].update(override)
    return rows


def write_bank(folder: Path, bank_id: str, tape: str, name: str = "bank.yaml", **extra: str) -> Path:
    lines = [f'bank_id: "{bank_id}"', 'name: "test bank"', f'tape: "{tape}"'] + [f'{k}: "{v}"' for k, v in extra.items()]
    path = folder / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under folder, by relative path, with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def expected_files(bank: str = BANK) -> set[str]:
    """Notebooks and their HTML, metrics.json, and the filing table the service report exports."""
    return ({"metrics.json", f"service_report_summary_{bank}_{PERIOD}.csv"}
            | {f"{nb.stem}{ext}" for nb in report_notebooks() for ext in (".ipynb", ".html")})


def copy_report_root(good_report, dest: Path) -> Path:
    """A private copy of the good report root, for tests that run against an existing report."""
    root, _ = good_report
    shutil.copytree(root, dest, symlinks=True)
    return dest


# ---------------------------------------------------------------- parameters and bank files

@pytest.mark.parametrize("params, name", [
    (dict(bank_file=102, period="2024"), "bank_file"),      # papermill -p bank_file 0102 gives int 102
    (dict(bank_file="CB01", period=2024), "period"),        # -p period 2024 gives int 2024
    (dict(bank_file="CB01", period="2024", policy=2024), "policy"),
    (dict(bank_file="CB01", period="2024", colour="red"), "colour"),
    (dict(bank_file="CB01", period="2024", lang="fr"), "lang"),
    (dict(period="2024"), "bank_file"),
])
def test_check_parameters_rejects_and_names_the_parameter(params, name):
    with pytest.raises(InputError) as info:
        check_parameters(**params)
    assert [p.column for p in info.value.problems] == [name]
    assert f"notebook parameters:{name}:" in str(info.value)


@pytest.mark.parametrize("period", ["2024H3", "2024Q5", "24H1", "2024-13"])
def test_check_parameters_rejects_bad_period(period):
    with pytest.raises(InputError) as info:
        check_parameters(bank_file="CB01", period=period)
    # the period parser's own problem comes through; it names the period (as "--period", see report)
    assert "period" in str(info.value) and period in str(info.value)


def test_int_parameter_error_says_how_to_keep_codes_as_text():
    with pytest.raises(InputError) as info:
        check_parameters(bank_file=102, period="2024")
    assert "must be text, got int 102" in str(info.value) and "-r" in str(info.value)


def test_codes_given_as_text_stay_text():
    params = check_parameters(bank_file="0102", period="2024", policy="2024", lang="en")
    assert params.model_dump() == {"bank_file": "0102", "period": "2024", "lang": "en", "policy": "2024", "context": ""}


def test_load_bank_rejects_unquoted_numeric_bank_id_and_unknown_key(tmp_path):
    tape = write_csv(tmp_path / "tape.csv", tiny_rows())
    path = tmp_path / "bank.yaml"
    path.write_text(f'bank_id: 0102\nname: "x"\ntape: "{tape.name}"\ncolour: "red"\n', encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_bank(path)
    problems = {p.column: p for p in info.value.problems}
    assert set(problems) == {"bank_id", "colour"}
    assert all(p.file == str(path) for p in problems.values())
    assert "quoted" in problems["bank_id"].message and "66" in problems["bank_id"].message  # YAML 1.1 octal
    assert f"{path}:bank_id:" in str(info.value) and f"{path}:colour:" in str(info.value)


def test_load_bank_rejects_missing_tape(tmp_path):
    path = write_bank(tmp_path, "0102", "no_such_tape.csv")
    with pytest.raises(InputError) as info:
        load_bank(path)
    [problem] = info.value.problems
    assert (problem.file, problem.column) == (str(path), "tape")
    assert problem.value == str(tmp_path / "no_such_tape.csv")


def test_load_bank_keeps_quoted_code_and_resolves_paths(tmp_path):
    write_csv(tmp_path / "tape.csv", tiny_rows())
    bank = load_bank(write_bank(tmp_path, "0102", "tape.csv", lang="en"))
    assert bank.bank_id == "0102" and bank.tape == tmp_path / "tape.csv" and bank.lang == "en"


# ---------------------------------------------------------------- a successful run

@pytest.fixture(scope="module")
def good_report(demo_data, tmp_path_factory):
    """One real run of the demo bank: (root, RunResult)."""
    root = tmp_path_factory.mktemp("reports")
    result = run_bank(BANK_FILE, PERIOD, root)
    assert result.status == "ok", result
    return root, result


def test_run_result(good_report):
    root, result = good_report
    assert (result.bank_id, result.period, result.status) == (BANK, PERIOD, "ok")
    assert result.report_dir == str(root / BANK / PERIOD)
    assert result.notebooks == [executed_name(nb) for nb in report_notebooks()]
    assert result.failed_notebook is result.failed_cell is result.error is result.failure_notebook is None
    assert result.seconds > 0


def test_report_folder_holds_exactly_the_report(good_report):
    root, _ = good_report
    target = root / BANK / PERIOD
    assert {p.name for p in target.iterdir()} == expected_files()
    assert [p.name for p in (root / BANK).iterdir()] == [PERIOD]  # no staging or .old folder beside it
    # no _failures; the audit sample lives outside the report folder, which a re-run replaces
    assert sorted(p.name for p in root.iterdir()) == sorted(["_audit", BANK, "index.html"])
    assert [p.name for p in (root / "_audit" / BANK / PERIOD).iterdir()] == [f"audit_sample_{BANK}_{PERIOD}.csv"]


def test_executed_notebooks_ran_with_the_bank_parameters(good_report):
    root, _ = good_report
    for source in report_notebooks():
        nb = nbformat.read(root / BANK / PERIOD / executed_name(source), as_version=4)
        meta = nb.metadata.papermill
        assert meta.exception in (None, False)
        expected = {"bank_file": str(BANK_FILE), "period": PERIOD, "lang": "zh", "policy": "2024"}
        for folder in ("export_dir", "audit_dir", "context"):  # given only to the notebooks that declare them
            if folder in meta.parameters:
                assert folder in declared_parameters(source)
                expected[folder] = meta.parameters[folder]
        assert meta.parameters == expected
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(c.execution_count for c in code), source.name
        assert not [o for c in code for o in c.outputs if o.output_type == "error"], source.name


def test_metrics_json_equals_compute_metrics(good_report, demo_data):
    root, _ = good_report
    written = json.loads((root / BANK / PERIOD / "metrics.json").read_text(encoding="utf-8"))
    with open_tape(demo_data.tape, demo_data.totals, lpr=demo_data.lpr) as tape:
        expected = json.loads(compute_metrics(tape, BANK, PERIOD, load_policy(demo_data.policy),
                                              terms=BankTerms.of(demo_data)).to_json())
    for metrics in (written, expected):
        assert metrics["provenance"].pop("generated_at")
    assert written == expected


# ---------------------------------------------------------------- the HTML

def html_reports(good_report) -> list[tuple[Path, str, nbformat.NotebookNode]]:
    root, _ = good_report
    folder = root / BANK / PERIOD
    return [(folder / f"{nb.stem}.html", (folder / f"{nb.stem}.html").read_text(encoding="utf-8"),
             nbformat.read(folder / executed_name(nb), as_version=4)) for nb in report_notebooks()]


def cells_of(html: str) -> list[str]:
    """The HTML of each notebook cell (lab template: <div class="jp-Cell ...">)."""
    return re.split(r'(?=<div class="jp-Cell )', html)[1:]


def test_html_has_no_code(good_report):
    for path, html, nb in html_reports(good_report):
        code_cells = [c for c in cells_of(html) if "jp-CodeCell" in c.split(">", 1)[0]]
        assert code_cells, path.name
        assert not [c for c in code_cells if "jp-InputArea" in c], f"{path.name}: a code cell shows its input"
        assert "report.setup" not in html, path.name
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            for line in cell.source.splitlines():  # no line of code shows up as text
                line = line.strip()
                if len(line) > 30 and not line.startswith("#"):
                    assert line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") not in html, \
                        f"{path.name}: {line}"


def test_html_pages_say_what_they_are_and_describe_their_figures(good_report):
    """Issue 14: a <title> naming the bank, the report and the period (not "Notebook"), alt text on every
    figure, no pandas default index, no NaN or regression internals in what a reader sees."""
    name = load_bank(BANK_FILE).name
    for path, html, nb in html_reports(good_report):
        title = re.search(r"<title>(.*?)</title>", html, re.S).group(1)
        assert name in title and PERIOD in title and path.stem[:2] in title, (path.name, title)  # tests/e2e/test_reading.py reads more
        assert all(re.search(r'\balt="[^"]+"', tag) for tag in re.findall(r"<img[^>]*>", html)), path.name
        text = re.sub(r"<[^>]+>", " ", html)
        for bad in (" NaN ", " nan ", " None ", "C(", "[T.", "Intercept"):
            assert bad not in text, (path.name, bad)
        assert not re.search(r"<tr[^>]*>\s*<th>0</th>", html), f"{path.name}: a pandas default index column"


def test_html_has_no_tracebacks(good_report):
    for path, html, _ in html_reports(good_report):
        assert "Traceback" not in html and "ename" not in html and "jp-OutputArea-error" not in html, path.name


def test_html_images_are_embedded_and_nothing_loads_from_the_internet(good_report):
    images = 0
    for path, html, _ in html_reports(good_report):
        sources = re.findall(r'<img[^>]*\bsrc="([^"]*)"', html)
        assert all(src.startswith("data:image/") for src in sources), path.name
        images += len(sources)
        assert not re.search(r'<script[^>]*\bsrc="(https?:|")', html), path.name
        assert not re.search(r'<(link|img|iframe)[^>]*\b(href|src)="https?:', html), path.name
    assert images, "the reports have figures"


def test_html_leaves_out_parameter_cells(good_report):
    for path, html, nb in html_reports(good_report):
        dropped = [c for c in nb.cells
                   if {REMOVE_FROM_HTML_TAG, "parameters", "injected-parameters"} & set(c.metadata.get("tags", []))]
        for cell in dropped:
            assert f'id="cell-id={cell.id}"' not in html, (path.name, cell.source[:80])
            for output in cell.outputs:
                for line in output.get("text", "").splitlines():
                    if line.strip():
                        assert line.strip() not in html, (path.name, line)
        assert "injected-parameters" not in html, path.name
        kept = [c for c in nb.cells if c.cell_type == "markdown" or c not in dropped]
        assert all(f'id="cell-id={c.id}"' in html for c in kept), path.name


# ---------------------------------------------------------------- failures

@pytest.fixture(scope="module")
def failed_run(good_report, tmp_path_factory):
    """The demo bank run again into a copy of the good root, with a notebook that raises in its 3rd cell."""
    base = tmp_path_factory.mktemp("failed")
    root = copy_report_root(good_report, base / "reports")
    before = snapshot(root / BANK / PERIOD)
    notebook = make_notebook(base / "fails.ipynb", "x = 1", 'raise ValueError("boom in the third cell")',
                             "y = 2  # never runs")
    result = run_bank(BANK_FILE, PERIOD, root, notebooks=[notebook])
    return root, result, before


def test_failed_run_result(failed_run):
    root, result, _ = failed_run
    assert (result.status, result.bank_id, result.period) == ("failed", BANK, PERIOD)
    assert result.failed_notebook == "fails.ipynb"
    assert result.error == "ValueError: boom in the third cell"
    assert result.report_dir is None and result.notebooks == []
    assert result.failure_notebook == str(root / FAILURES / BANK / PERIOD / "fails.ipynb")
    # failed_cell is papermill's execution count, as shown ("In [4]") in the kept notebook: the
    # injected-parameters cell papermill adds after the parameters cell counts, so the 3rd cell is 4.
    nb = nbformat.read(result.failure_notebook, as_version=4)
    [raised] = [c for c in nb.cells if c.cell_type == "code" and any(o.output_type == "error" for o in c.outputs)]
    assert "boom in the third cell" in raised.source and result.failed_cell == raised.execution_count == 4


def test_failed_run_keeps_partial_notebook_with_error_marker(failed_run):
    root, result, _ = failed_run
    kept = root / FAILURES / BANK / PERIOD
    assert [p.name for p in kept.iterdir()] == ["fails.ipynb"]
    nb = nbformat.read(kept / "fails.ipynb", as_version=4)
    assert nb.metadata.papermill.exception is True
    assert any(c.cell_type == "markdown" and "An Exception was encountered" in c.source for c in nb.cells)
    assert "papermill-error-cell" in (kept / "fails.ipynb").read_text(encoding="utf-8")
    [error] = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert (error.ename, error.evalue) == ("ValueError", "boom in the third cell")
    assert nb.cells[-1].execution_count is None  # the cell after the failure never ran


def test_failed_run_leaves_previous_report_byte_identical(failed_run):
    root, _, before = failed_run
    assert snapshot(root / BANK / PERIOD) == before
    assert sorted(p.name for p in (root / BANK).iterdir()) == [PERIOD]  # staging removed


def test_next_good_run_replaces_whole_folder_and_clears_stale_failure(good_report, tmp_path):
    root = copy_report_root(good_report, tmp_path / "reports")
    stale = root / FAILURES / BANK / PERIOD / "old.ipynb"
    stale.parent.mkdir(parents=True)
    stale.write_text("{}")
    notebook = make_notebook(tmp_path / "tiny.ipynb", "print(bank_file, period)")
    result = run_bank(BANK_FILE, PERIOD, root, notebooks=[notebook])
    assert result.status == "ok", result
    target = root / BANK / PERIOD
    # nothing else from the previous run (its four notebooks) is left once a run finishes
    assert {p.name for p in target.iterdir()} == {"tiny.ipynb", "tiny.html", "metrics.json"}
    assert not (root / FAILURES / BANK / PERIOD).exists()
    assert [p.name for p in (root / BANK).iterdir()] == [PERIOD]


def _kernels_of(parent: int) -> dict[int, Path]:
    """The ipykernel children of a process, with their connection files (from their command lines)."""
    kernels = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError, ValueError, IndexError):
            ppid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
            args = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
            if ppid == parent and any("ipykernel" in a for a in args) and "-f" in args:
                kernels[int(pid)] = Path(args[args.index("-f") + 1])
    return kernels


def _end_orphaned_kernels(kernels: dict[int, Path]) -> None:
    """After a killed run: SIGKILL its kernels (by their own pids) and remove the files a clean shutdown
    would have removed (the connection file and the IPC sockets)."""
    for pid, connection_file in kernels.items():
        with contextlib.suppress(OSError):
            if str(connection_file) in Path(f"/proc/{pid}/cmdline").read_bytes().decode():
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(OSError, ValueError, KeyError):
            info = json.loads(connection_file.read_text())
            if info.get("transport") == "ipc":
                base = Path(info["ip"]) if Path(info["ip"]).is_absolute() else NOTEBOOKS_DIR / info["ip"]
                for key in ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port"):
                    Path(f"{base}-{info[key]}").unlink(missing_ok=True)
        connection_file.unlink(missing_ok=True)


def test_killed_run_leaves_previous_report_intact(good_report, tmp_path):
    root = copy_report_root(good_report, tmp_path / "reports")
    before = snapshot(root / BANK / PERIOD)
    marker = tmp_path / "notebook.running"
    notebook = make_notebook(tmp_path / "sleeps.ipynb", "x = 1",
                             f"import pathlib, time\npathlib.Path({str(marker)!r}).write_text('running')\n"
                             "time.sleep(120)")
    code = ("import sys; from pathlib import Path; from pucredit.pipeline.run import run_bank; "
            "run_bank(sys.argv[1], sys.argv[2], sys.argv[3], notebooks=[Path(sys.argv[4])])")
    with open(tmp_path / "stderr.txt", "wb") as err:
        proc = subprocess.Popen([sys.executable, "-c", code, str(BANK_FILE), PERIOD, str(root), str(notebook)],
                                stdout=subprocess.DEVNULL, stderr=err)
    kernels: dict[int, Path] = {}
    try:
        deadline = time.monotonic() + 120
        while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert proc.poll() is None, (tmp_path / "stderr.txt").read_text()
        assert marker.exists(), "the notebook never started"
        time.sleep(0.2)
        kernels = _kernels_of(proc.pid)
        assert kernels, "the run's kernel"
        # the notebook is running; the staging folder is being written beside the report
        assert [p for p in (root / BANK).iterdir() if ".staging@" in p.name]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        _end_orphaned_kernels(kernels)
    assert proc.returncode == -signal.SIGKILL
    target = root / BANK / PERIOD
    assert snapshot(target) == before
    assert {p.name for p in target.iterdir()} == expected_files()  # complete
    assert not (root / FAILURES).exists()
    # only hidden leftovers (the dead run's staging folder) beside the report, never a half-written PERIOD
    assert [p.name for p in (root / BANK).iterdir() if not p.name.startswith(".")] == [PERIOD]


# ---------------------------------------------------------------- bad input and exit codes

@pytest.fixture
def broken_bank(tmp_path):
    """A bank file whose tape has validation errors (a balance that is not a number)."""
    write_csv(tmp_path / "tape.csv", tiny_rows(balance_cny="abc"))
    return write_bank(tmp_path, "0102", "tape.csv")


def test_run_bank_bad_tape_is_bad_input(broken_bank, tmp_path):
    root = tmp_path / "reports"
    result = run_bank(broken_bank, TINY_PERIOD, root)
    assert (result.status, result.bank_id) == ("bad_input", "0102")
    assert str(tmp_path / "tape.csv") in result.error and "balance_cny" in result.error
    assert result.report_dir is None and result.failed_notebook is None
    assert not root.exists() or not any(root.rglob("*"))  # nothing written


def test_cli_run_bad_tape_exits_2(broken_bank, tmp_path, capsys):
    code = cli.main(["run", str(broken_bank), "--period", TINY_PERIOD, "--out", str(tmp_path / "reports")])
    err = capsys.readouterr().err
    assert code == 2
    assert "0102 2024H1: bad_input" in err and f"{tmp_path / 'tape.csv'}:2:balance_cny" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("args", [
    ["run", "no/such/bank.yaml", "--period", TINY_PERIOD],
    ["run", str(BANK_FILE), "--period", "2024H3"],
    ["batch", "no/such/folder", "--period", TINY_PERIOD],
])
def test_cli_bad_usage_exits_2(args, tmp_path, capsys):
    assert cli.main([*args, "--out", str(tmp_path / "reports")]) == 2
    err = capsys.readouterr().err
    assert err.strip() and "Traceback" not in err


def test_cli_run_failing_notebook_exits_1(tmp_path, monkeypatch, capsys):
    import pucredit.pipeline.run

    write_csv(tmp_path / "tape.csv", tiny_rows())
    bank = write_bank(tmp_path, "0102", "tape.csv")
    notebook = make_notebook(tmp_path / "fails.ipynb", "x = 1", "1 / 0")
    monkeypatch.setattr(pucredit.pipeline.run, "report_notebooks", lambda: [notebook])
    root = tmp_path / "reports"
    code = cli.main(["run", str(bank), "--period", TINY_PERIOD, "--out", str(root)])
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert "0102 2024H1: failed in fails.ipynb cell 4: ZeroDivisionError: division by zero" in err
    assert f"partial notebook: {root / FAILURES / '0102' / TINY_PERIOD / 'fails.ipynb'}" in err
    assert not (root / "0102").exists() or not any((root / "0102").iterdir())


# ---------------------------------------------------------------- batch

@pytest.fixture(scope="module")
def first_batch(demo_data, tmp_path_factory):
    """`pucredit batch` over the demo bank and a bank whose tape is broken, progress to a non-TTY stream."""
    base = tmp_path_factory.mktemp("batch")
    write_csv(base / "rb01_broken.csv", tiny_rows(bank_id="RB01", balance_cny="abc"))
    bad = write_bank(base, "RB01", "rb01_broken.csv", name="RB01.yaml")
    root = base / "reports"
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        code = cli.main(["batch", str(BANK_FILE), str(bad), "--period", PERIOD, "--jobs", "2", "--out", str(root)])
    manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    return dict(base=base, root=root, bad=bad, code=code, stderr=err.getvalue(), stdout=out.getvalue(),
                manifest=manifest)


def test_batch_exits_1_when_a_bank_failed(first_batch):
    assert first_batch["code"] == 1
    assert f"1 of 2 banks ok; manifest: {first_batch['root'] / 'manifest.json'}" in first_batch["stdout"]


def test_batch_manifest_lists_every_bank(first_batch):
    manifest, root = first_batch["manifest"], first_batch["root"]
    assert manifest["period"] == PERIOD and manifest["jobs"] == 2
    assert manifest["started_at"] <= manifest["finished_at"]
    entries = {e["bank_id"]: e for e in manifest["banks"]}
    assert set(entries) == {BANK, "RB01"}
    good, bad = entries[BANK], entries["RB01"]
    assert (good["status"], good["bank_file"]) == ("ok", str(BANK_FILE))
    assert good["report_dir"] == str(root / BANK / PERIOD) and good["seconds"] > 0
    assert good["notebooks"] == [executed_name(nb) for nb in report_notebooks()]
    assert {p.name for p in (root / BANK / PERIOD).iterdir()} == expected_files()
    assert (bad["status"], bad["bank_file"], bad["report_dir"]) == ("bad_input", str(first_batch["bad"]), None)
    assert "rb01_broken.csv" in bad["error"] and "balance_cny" in bad["error"] and bad["seconds"] >= 0
    assert not (root / "RB01").exists()


def test_batch_front_page_and_report_navigation(first_batch):
    root = first_batch["root"]
    page = (root / "index.html").read_text(encoding="utf-8")
    rows = dict(re.findall(r"<small>(\w+)</small></td><td>(.*?)</tr>", page, re.S))
    assert set(rows) == {BANK, "RB01"} and "输入有误" in rows["RB01"] and "href" not in rows["RB01"]
    for nb in report_notebooks():
        assert f'href="{BANK}/{PERIOD}/{nb.stem}.html"' in rows[BANK]
    assert re.search(r"(达标|未达标|不适用)", rows[BANK])
    report = (root / BANK / PERIOD / "02_pricing.html").read_text(encoding="utf-8")
    nav = re.search(r'<nav class="pucredit-nav".*?</nav>', report, re.S).group(0)
    assert '<a href="../../index.html">' in nav and '<a href="01_volume.html">' in nav and 'aria-current="page"' in nav
    assert (root / BANK / PERIOD / "01_volume.html").is_file() and "@font-face" in report


def test_batch_progress_is_timestamped_lines_off_a_terminal(first_batch):
    text = first_batch["stderr"]
    assert "\r" not in text and "\033" not in text
    lines = text.splitlines()
    progress = [m.groups() for m in map(TIMESTAMP_LINE.match, lines) if m]
    for nb in report_notebooks():
        assert (BANK, f"running {nb.stem}") in progress
    assert (BANK, "validating tape") in progress and ("RB01", "validating tape") in progress
    finished = [line for line in lines if re.match(r"^\[\d/2\] ", line)]
    assert len(finished) == 2
    assert any(line.startswith(f"[") and f" {BANK} ok in " in line for line in finished)
    assert any(" RB01 bad_input in " in line and "rb01_broken.csv" in line for line in finished)


def test_batch_only_failed_reruns_just_the_failed_bank(first_batch, demo_data):
    root, bad = first_batch["root"], first_batch["bad"]
    good_dir = root / BANK / PERIOD
    before = snapshot(good_dir)
    stat = good_dir.stat()
    old_good = next(e for e in first_batch["manifest"]["banks"] if e["bank_id"] == BANK)
    # fix the broken bank: point it at the demo tape
    rb01 = load_bank(BANKS_DIR / "RB01.yaml")
    bad.write_text(f'bank_id: "RB01"\nname: "fixed"\ntape: "{rb01.tape}"\ntotals: "{rb01.totals}"\npolicy: "2024"\n',
                   encoding="utf-8")
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        code = cli.main(["batch", str(BANK_FILE), str(bad), "--period", PERIOD, "--only-failed", "--out", str(root)])
    assert code == 0, err.getvalue()
    manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    entries = {e["bank_id"]: e for e in manifest["banks"]}
    assert {k: e["status"] for k, e in entries.items()} == {BANK: "ok", "RB01": "ok"}
    assert entries[BANK] == old_good  # carried over from the previous manifest
    assert entries["RB01"]["report_dir"] == str(root / "RB01" / PERIOD)
    assert {p.name for p in (root / "RB01" / PERIOD).iterdir()} == expected_files("RB01")
    # the good bank was not rebuilt
    assert snapshot(good_dir) == before
    assert (good_dir.stat().st_ino, good_dir.stat().st_mtime_ns) == (stat.st_ino, stat.st_mtime_ns)
    banks_seen = {m.group(1) for m in map(TIMESTAMP_LINE.match, err.getvalue().splitlines()) if m}
    assert banks_seen == {"RB01"}


def test_only_failed_needs_a_manifest(tmp_path, capsys):
    code = cli.main(["batch", str(BANK_FILE), "--period", PERIOD, "--only-failed", "--out", str(tmp_path)])
    assert code == 2 and "no manifest" in capsys.readouterr().err


def test_manifest_says_what_is_pending_while_the_batch_runs(tmp_path, monkeypatch):
    """Written before any bank ends and after each one, so a killed batch leaves an honest manifest."""
    from pucredit.pipeline import batch

    bad = tmp_path / "XX01.yaml"
    bad.write_text('bank_id: "XX01"\ntape: "missing.parquet"\n', encoding="utf-8")
    written = []
    real = batch.write_manifest
    monkeypatch.setattr(batch, "write_manifest", lambda root, m: (written.append(json.loads(json.dumps(m))), real(root, m))[1])
    batch.run_batch([bad], PERIOD, tmp_path / "out", stream=io.StringIO())
    assert [[e["status"] for e in m["banks"]] for m in written] == [["pending"], ["bad_input"], ["bad_input"]]
    assert written[0]["finished_at"] is None and written[-1]["finished_at"]


def test_batch_schedules_notebooks_and_fails_a_bank_by_its_first_failing_notebook(tmp_path, monkeypatch):
    """Notebooks of several banks run side by side; a bank whose notebook fails keeps no report and its
    partial notebook, the others' reports are whole."""
    from pucredit.pipeline import batch

    write_csv(tmp_path / "a.csv", tiny_rows("A1"))
    write_csv(tmp_path / "b.csv", tiny_rows("B1"))
    banks = [write_bank(tmp_path, "A1", "a.csv", name="A1.yaml"), write_bank(tmp_path, "B1", "b.csv", name="B1.yaml")]
    good = [make_notebook(tmp_path / f"{i}_ok.ipynb", "x = 1") for i in ("01", "03")]
    failing = make_notebook(tmp_path / "02_fails.ipynb", "x = 1", "assert bank_file.endswith('B1.yaml') is False")
    monkeypatch.setattr(batch, "report_notebooks", lambda: [good[0], failing, good[1]])
    root = tmp_path / "reports"
    manifest = batch.run_batch(banks, TINY_PERIOD, root, jobs=2, stream=io.StringIO())
    entries = {e["bank_id"]: e for e in manifest["banks"]}
    assert entries["A1"]["status"] == "ok"
    assert entries["A1"]["notebooks"] == ["01_ok.ipynb", "02_fails.ipynb", "03_ok.ipynb"]
    assert {p.name for p in (root / "A1" / TINY_PERIOD).iterdir()} == {
        "metrics.json", *(f"{n}{x}" for n in ("01_ok", "02_fails", "03_ok") for x in (".ipynb", ".html"))}
    failed = entries["B1"]
    assert (failed["status"], failed["failed_notebook"], failed["failed_cell"]) == ("failed", "02_fails.ipynb", 4)
    assert "AssertionError" in failed["error"] and Path(failed["failure_notebook"]).is_file()
    assert not (root / "B1" / TINY_PERIOD).exists()
    assert not [p for p in (root / "B1").iterdir()], "no staging folder left behind"


def test_a_failed_swap_puts_the_previous_report_back(tmp_path):
    from pucredit.pipeline.folders import replace_folder

    target = tmp_path / BANK / PERIOD
    target.mkdir(parents=True)
    (target / "metrics.json").write_text("old", encoding="utf-8")
    with pytest.raises(OSError):
        replace_folder(tmp_path / "no-such-staging", target)
    assert (target / "metrics.json").read_text(encoding="utf-8") == "old"
    assert [p.name for p in (tmp_path / BANK).iterdir()] == [PERIOD]


def test_a_folder_that_cannot_be_moved_into_place_fails_the_bank_without_raising(tmp_path):
    from pucredit.pipeline.run import NotebookOutcome, PreparedBank, RunResult, finish_bank

    target = tmp_path / BANK / PERIOD
    target.mkdir(parents=True)
    prepared = PreparedBank(result=RunResult(bank_id=BANK, bank_file="b.yaml", period=PERIOD, status="bad_input"),
                            parameters={}, staging=tmp_path / BANK / "gone", target=target,
                            failures=tmp_path / FAILURES, audits=tmp_path / "_audit", context=tmp_path / "context", who=BANK,
                            started=time.time())
    result = finish_bank(prepared, [NotebookOutcome("01_volume.ipynb")])
    assert result.status == "failed" and "not moved into place" in result.error
    assert target.is_dir() and result.report_dir is None


def test_a_report_set_aside_by_a_killed_swap_is_put_back(tmp_path):
    """Folders of a dead process on this host are cleared (its set-aside report put back); those of a live
    process, of a pid now used by another process, or of another host sharing the disk are left alone."""
    import psutil

    from pucredit.ownership import owner
    from pucredit.pipeline.folders import remove_abandoned

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    start = int(psutil.Process(dead.pid).create_time())
    dead.wait()
    host = owner().partition(".")[0]
    folder = tmp_path / BANK
    (folder / f".{PERIOD}.old@{host}.{dead.pid}.{start}").mkdir(parents=True)
    (folder / f".{PERIOD}.old@{host}.{dead.pid}.{start}" / "metrics.json").write_text("old", encoding="utf-8")
    (folder / f".{PERIOD}.staging@{host}.{dead.pid}.{start}").mkdir()
    live, reused, other_host = (f".{PERIOD}.staging@{owner()}", f".{PERIOD}.context@{host}.{os.getpid()}.{start - 1000}",
                                f".{PERIOD}.staging@otherhost.{dead.pid}.{start}")
    for name in (live, reused, other_host):
        (folder / name).mkdir()
    remove_abandoned(folder / PERIOD)
    assert sorted(p.name for p in folder.iterdir()) == sorted([PERIOD, live, other_host])
    assert (folder / PERIOD / "metrics.json").read_text(encoding="utf-8") == "old"


# ---------------------------------------------------------------- kernels: timeouts and sockets

def test_cell_timeout_is_enforced_once(tmp_path, monkeypatch):
    """A cell running past the timeout fails the run once: a timeout is not a kernel that failed to start."""
    import papermill

    write_csv(tmp_path / "tape.csv", tiny_rows())
    bank = write_bank(tmp_path, "0102", "tape.csv")
    notebook = make_notebook(tmp_path / "slow.ipynb", "import time; time.sleep(4)")
    calls = []
    real = papermill.execute_notebook
    monkeypatch.setattr(papermill, "execute_notebook", lambda *a, **k: calls.append(1) or real(*a, **k))
    result = run_bank(bank, TINY_PERIOD, tmp_path / "reports", notebooks=[notebook], timeout=1)
    assert result.status == "failed" and "timed out" in result.error
    assert len(calls) == 1
    # the cell is named as its position in the executed notebook (parameters, injected parameters, the sleep)
    assert (result.failed_notebook, result.failed_cell, result.error) == ("slow.ipynb", 3, "cell 3 timed out after 1 s")
    assert Path(result.failure_notebook).is_file()


def test_cell_timeout_keeps_kernel_noise_out_of_the_log(tmp_path, capfd):
    """A timeout closes the kernel while it still replies; its zmq tracebacks stay out of what the run prints."""
    write_csv(tmp_path / "tape.csv", tiny_rows())
    bank = write_bank(tmp_path, "0102", "tape.csv")
    notebook = make_notebook(tmp_path / "slow.ipynb", "x = 1", "import time; time.sleep(4)", "y = 2")
    result = run_bank(bank, TINY_PERIOD, tmp_path / "reports", notebooks=[notebook], timeout=1)
    assert (result.failed_cell, result.error) == (4, "cell 4 timed out after 1 s")
    err = capfd.readouterr().err
    assert "Traceback" not in err and "zmq" not in err


def test_kernel_that_dies_fails_the_run_promptly_and_once(tmp_path, monkeypatch):
    """A kernel killed mid-notebook (OOM killer, a crash in C code) ends the run; it is not a hang or a retry."""
    import papermill

    write_csv(tmp_path / "tape.csv", tiny_rows())
    bank = write_bank(tmp_path, "0102", "tape.csv")
    notebook = make_notebook(tmp_path / "dies.ipynb", "x = 1", "import os; os._exit(1)")
    calls = []
    real = papermill.execute_notebook
    monkeypatch.setattr(papermill, "execute_notebook", lambda *a, **k: calls.append(1) or real(*a, **k))
    started = time.monotonic()
    result = run_bank(bank, TINY_PERIOD, tmp_path / "reports", notebooks=[notebook], timeout=600)
    assert time.monotonic() - started < 60
    assert (result.status, result.failed_notebook) == ("failed", "dies.ipynb")
    assert "DeadKernelError" in result.error and len(calls) == 1
    assert Path(result.failure_notebook).is_file()


def test_kernels_started_at_once_get_distinct_ipc_sockets(tmp_path, monkeypatch):
    """Kernels started at once (batch --jobs 2, or two users) never share IPC sockets."""
    from pucredit.pipeline.kernels import kernel_manager_class

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    managers = [kernel_manager_class()(kernel_name="python3") for _ in range(2)]
    try:
        for km in managers:
            km.write_connection_file()
        sockets = [{f"{km.ip}-{km.shell_port}", f"{km.ip}-{km.iopub_port}"} for km in managers]
        assert not sockets[0] & sockets[1]
    finally:
        for km in managers:
            km.cleanup_connection_file()


def test_batch_refuses_two_bank_files_with_one_bank_id(tmp_path, capsys):
    write_csv(tmp_path / "tape.csv", tiny_rows())
    first = write_bank(tmp_path, "0102", "tape.csv")
    second = tmp_path / "again.yaml"
    second.write_text(Path(first).read_text(encoding="utf-8"), encoding="utf-8")
    code = cli.main(["batch", str(first), str(second), "--period", TINY_PERIOD, "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2 and "duplicate_bank" not in err and "the same bank_id" in err and "again.yaml" in err


def test_the_tape_is_read_and_validated_once_per_bank(tmp_path):
    """The run validates the tape before the first notebook; the notebooks read the prepared copy. The tape
    is replaced by one that fails validation as soon as the first notebook starts: every report must still
    be made, from the copy."""
    write_csv(tmp_path / "tape.csv", tiny_rows())
    bank = write_bank(tmp_path, "0102", "tape.csv")
    broken = []

    def progress(bank_id, message):
        if message.startswith("running") and not broken:
            write_csv(tmp_path / "tape.csv", tiny_rows(balance_cny=-1))  # a negative balance is an error
            broken.append(message)

    result = run_bank(bank, TINY_PERIOD, tmp_path / "reports", progress=progress)
    assert broken and result.status == "ok", result.error
    assert result.notebooks == [executed_name(nb) for nb in report_notebooks()]
    assert not list((tmp_path / "reports" / "0102").glob(".*")), "the prepared copy is removed"


# ---------------------------------------------------------------- full disks and read-only roots

def _previous_report(root: Path, bank_id: str = "0102") -> Path:
    report = root / bank_id / TINY_PERIOD
    report.mkdir(parents=True)
    (report / "metrics.json").write_text("{}\n", encoding="utf-8")
    return report


@contextlib.contextmanager
def _read_only(folder: Path):
    """``folder`` made read-only; the test is skipped where that does not stop writes (running as root)."""
    folder.chmod(0o555)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("chmod does not stop this user's writes (root): see the full-disk tests")
        yield folder
    finally:
        folder.chmod(0o755)


def _disk_full_for(monkeypatch, name_starts: str) -> list[Path]:
    """Path.write_text of files whose name starts with ``name_starts`` writes a little and fails as a full disk."""
    import errno
    import pathlib

    real, hit = pathlib.Path.write_text, []

    def write_text(self, data, *args, **kwargs):
        if self.name.startswith(name_starts):
            hit.append(self)
            real(self, data[:10], *args, **kwargs)
            raise OSError(errno.ENOSPC, "No space left on device", str(self))
        return real(self, data, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "write_text", write_text)
    return hit


def test_write_text_atomic_on_a_full_disk_leaves_no_temporary_file(tmp_path, monkeypatch):
    from pucredit.config.paths import write_text_atomic

    (tmp_path / "a.json").write_text("old\n", encoding="utf-8")
    hit = _disk_full_for(monkeypatch, ".a.json.tmp")
    with pytest.raises(OSError):
        write_text_atomic(tmp_path / "a.json", "new\n")
    assert hit and sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]
    assert (tmp_path / "a.json").read_text(encoding="utf-8") == "old\n"


def test_run_on_a_full_disk_fails_with_the_cause_and_keeps_the_previous_report(tmp_path, monkeypatch, capsys):
    """The staging folder's metrics.json (the context's is written first) cannot be written: exit 1 naming the cause, no traceback, nothing
    half-written beside the report, the previous report as it was."""
    write_csv(tmp_path / "tape.csv", tiny_rows())
    bank = write_bank(tmp_path, "0102", "tape.csv")
    root = tmp_path / "reports"
    before = snapshot(_previous_report(root))
    import errno
    import pathlib

    real_write, hit = pathlib.Path.write_text, []

    def write_text(self, data, *args, **kwargs):
        if self.name == ".metrics.json.tmp" and ".staging@" in self.parent.name:
            hit.append(self)
            real_write(self, data[:10], *args, **kwargs)
            raise OSError(errno.ENOSPC, "No space left on device", str(self))
        return real_write(self, data, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "write_text", write_text)
    code = cli.main(["run", str(bank), "--period", TINY_PERIOD, "--out", str(root)])
    err = capsys.readouterr().err
    assert hit and code == 1
    assert "failed: staging folder: cannot write" in err and "No space left on device" in err
    assert "Traceback" not in err
    assert snapshot(root / "0102" / TINY_PERIOD) == before
    assert sorted(p.name for p in (root / "0102").iterdir()) == [TINY_PERIOD]  # no staging or context left
    assert not (root / FAILURES).exists()


def test_run_on_a_read_only_root_fails_with_the_cause_and_keeps_the_previous_report(tmp_path, capsys):
    write_csv(tmp_path / "tape.csv", tiny_rows())
    bank = write_bank(tmp_path, "0102", "tape.csv")
    root = tmp_path / "reports"
    before = snapshot(_previous_report(root))
    with _read_only(root / "0102"):
        code = cli.main(["run", str(bank), "--period", TINY_PERIOD, "--out", str(root)])
    err = capsys.readouterr().err
    assert code == 1 and "cannot write" in err and "Traceback" not in err
    assert snapshot(root / "0102" / TINY_PERIOD) == before
    assert sorted(p.name for p in (root / "0102").iterdir()) == [TINY_PERIOD]


def test_batch_on_a_full_disk_ends_with_exit_1_and_no_half_written_manifest(tmp_path, monkeypatch, capsys):
    write_csv(tmp_path / "tape.csv", tiny_rows())
    bank = write_bank(tmp_path, "0102", "tape.csv")
    root = tmp_path / "reports"
    root.mkdir()
    hit = _disk_full_for(monkeypatch, ".manifest.json.tmp")
    code = cli.main(["batch", str(bank), "--period", TINY_PERIOD, "--out", str(root)])
    err = capsys.readouterr().err
    assert hit and code == 1
    assert f"cannot write the manifest {root / 'manifest.json'}: No space left on device" in err
    assert list(root.iterdir()) == []


def test_batch_on_a_read_only_root_ends_with_exit_1(tmp_path, capsys):
    write_csv(tmp_path / "tape.csv", tiny_rows())
    bank = write_bank(tmp_path, "0102", "tape.csv")
    root = tmp_path / "reports"
    root.mkdir()
    with _read_only(root):
        code = cli.main(["batch", str(bank), "--period", TINY_PERIOD, "--out", str(root)])
    err = capsys.readouterr().err
    assert code == 1 and "cannot write the manifest" in err
    assert list(root.iterdir()) == []
