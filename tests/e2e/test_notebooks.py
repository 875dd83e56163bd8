"""The committed report notebooks: clean, parameterised, and pinned where CI checks numbers."""
from __future__ import annotations

import re

import nbformat
import pytest

from pucredit.pipeline.run import REMOVE_FROM_HTML_TAG, report_notebooks

MARK = "# NBVAL_CHECK_OUTPUT"
NOTEBOOKS = report_notebooks()
PARAMETER_LINE = re.compile(r'^(\w+): (str|int|float|bool) = .+  # .+$')


@pytest.fixture(params=NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def notebook(request):
    return nbformat.read(request.param, as_version=4)


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def test_there_are_report_notebooks():
    assert NOTEBOOKS, "no notebooks/NN_name.ipynb found"


def test_only_pinned_cells_carry_outputs(notebook):
    for cell in code_cells(notebook):
        if MARK in cell.source:
            # nbval compares nothing in a cell whose execution count is empty
            assert cell.outputs and cell.execution_count, f"pinned cell without outputs:\n{cell.source}"
            assert REMOVE_FROM_HTML_TAG in cell.metadata.get("tags", []), "pinned cells stay out of the HTML"
        else:
            assert not cell.outputs and cell.execution_count is None, f"committed outputs:\n{cell.source[:200]}"


def test_each_notebook_pins_its_headline(notebook):
    assert any(MARK in c.source for c in code_cells(notebook))


def test_parameters_cell_is_annotated_and_then_checked(notebook):
    cells = code_cells(notebook)
    tagged = [i for i, c in enumerate(cells) if "parameters" in c.metadata.get("tags", [])]
    assert tagged == [0], "the first code cell, and only it, is tagged parameters"
    lines = [line for line in cells[0].source.splitlines() if line.strip()]
    assert lines and all(PARAMETER_LINE.match(line) for line in lines), cells[0].source
    assert "report.setup(" in cells[1].source, "the cell after the parameters validates them in the package"


def test_papermill_documents_the_parameters():
    import papermill

    for path in NOTEBOOKS:
        params = papermill.inspect_notebook(str(path))
        assert {"bank_file", "period", "lang", "policy"} <= set(params), path.name
        assert all(p["help"] for p in params.values()), path.name


DEMO_BANKS = ("CB01", "RB01")  # LB01, the notebooks' default, runs under nbval in `make test`


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
@pytest.mark.parametrize("bank", DEMO_BANKS)
def test_notebook_runs_on_every_demo_bank(path, bank, tmp_path):
    """Each report runs top to bottom on the other demo banks too (a city bank without agri loans,
    a rural bank with county deposits), in English as well as Chinese."""
    from pucredit.pipeline.run import execute_notebook

    lang = "en" if bank == "RB01" else "zh"
    execute_notebook(path, tmp_path / path.name, {"bank_file": bank, "period": "2024", "lang": lang, "policy": ""},
                     timeout=600)
    executed = nbformat.read(tmp_path / path.name, as_version=4)
    outputs = [o for c in code_cells(executed) for o in c.outputs]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert not [o for o in outputs if o.get("name") == "stderr"], "warnings reach the report"


def run_every_notebook_on(tmp_path, rows: list[dict], lang: str) -> None:
    """Every report notebook on a one-bank tape of ``rows`` for 2024H1: no error, nothing on stderr."""
    from pucredit.pipeline.run import execute_notebook
    from tests.conftest import write_csv

    write_csv(tmp_path / "tape.csv", rows)
    (tmp_path / "T1.yaml").write_text('bank_id: "T1"\nname: "测试银行"\ntape: "tape.csv"\n', encoding="utf-8")
    for path in NOTEBOOKS:
        execute_notebook(path, tmp_path / path.name,
                         {"bank_file": str(tmp_path / "T1.yaml"), "period": "2024H1", "lang": lang, "policy": ""},
                         timeout=600)
        outputs = [o for c in code_cells(nbformat.read(tmp_path / path.name, as_version=4)) for o in c.outputs]
        assert not [o for o in outputs if o.get("name") == "stderr"], path.name


def test_notebooks_run_on_a_tiny_bank(tmp_path):
    """A bank with two snapshots, a handful of loans, no pass-through window and few defaults still gets
    every report, with "not applicable" where an analysis needs more data."""
    from tests.unit.test_metrics import ROWS

    run_every_notebook_on(tmp_path, ROWS, "zh")


def test_notebooks_run_on_a_bank_with_nothing_outstanding_at_the_period_end(tmp_path):
    """One loan, repaid before the period end, no branch column, nothing lent in the period: every report
    says what it cannot show instead of failing."""
    run_every_notebook_on(tmp_path, [dict(as_of=as_of, loan_id="L1", borrower_id="B1", balance_cny=balance)
                                     for as_of, balance in (("2023-12-31", 1000), ("2024-06-30", 0))], "en")
