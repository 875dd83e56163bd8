"""The committed report notebooks: clean, parameterised, and pinned where CI checks numbers."""
from __future__ import annotations

import re

import nbformat
import pytest

from pucredit.analyses.peers import PEERS_NOTEBOOK
from pucredit.pipeline.run import executed_name, read_notebook, report_notebooks

NOTEBOOKS = report_notebooks()
PARAMETER_LINE = re.compile(r'^(\w+): (str|int|float|bool) = .+  # .+$')
MAX_CELL_LINES = 10  # a cell is a call and a sentence; logic belongs in the package
MAX_CODE_LINES = 300  # all notebooks together


@pytest.fixture(params=NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def notebook(request):
    return read_notebook(request.param)


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def code_lines(cell) -> list[str]:
    return [line for line in cell.source.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def test_there_are_report_notebooks():
    assert NOTEBOOKS, "no notebooks/NN_name.py found"


def test_parameters_cell_is_annotated_and_then_checked(notebook):
    cells = code_cells(notebook)
    tagged = [i for i, c in enumerate(cells) if "parameters" in c.metadata.get("tags", [])]
    assert tagged == [0], "the first code cell, and only it, is tagged parameters"
    lines = [line for line in cells[0].source.splitlines() if line.strip()]
    assert lines and all(PARAMETER_LINE.match(line) for line in lines), cells[0].source
    assert "report.setup(" in cells[1].source, "the cell after the parameters validates them in the package"


def test_papermill_documents_the_parameters(tmp_path):
    import nbformat
    import papermill

    for path in NOTEBOOKS:
        nbformat.write(read_notebook(path), tmp_path / "nb.ipynb")
        params = papermill.inspect_notebook(str(tmp_path / "nb.ipynb"))
        assert {"bank_file", "period", "lang", "policy"} <= set(params), path.name
        assert all(p["help"] for p in params.values()), path.name


def test_notebook_cells_are_short_and_the_logic_is_in_the_package():
    """Every code cell is a few lines (issue 11: at most about 10), all notebooks together under 300."""
    total = 0
    for path in [*NOTEBOOKS, PEERS_NOTEBOOK]:
        for cell in code_cells(read_notebook(path)):
            lines = code_lines(cell)
            assert len(lines) <= MAX_CELL_LINES, f"{path.name}: a cell of {len(lines)} lines:\n{cell.source}"
            total += len(lines)
    assert total < MAX_CODE_LINES, f"{total} lines of notebook code"


def test_generated_notebooks_are_in_sync(tmp_path):
    """The .ipynb twins (make notebooks) hold the same cells as their text sources, where they exist."""
    for path in [*NOTEBOOKS, PEERS_NOTEBOOK]:
        twin = path.with_suffix(".ipynb")
        if twin.exists():
            generated = [(c.cell_type, c.source) for c in read_notebook(twin).cells]
            assert generated == [(c.cell_type, c.source) for c in read_notebook(path).cells], \
                f"{twin.name} is out of date: run make notebooks"


DEMO_BANKS = ("CB01", "RB01")  # LB01, the notebooks' default, runs under nbval in `make test`


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
@pytest.mark.parametrize("bank", DEMO_BANKS)
def test_notebook_runs_on_every_demo_bank(path, bank, tmp_path):
    """Each report runs top to bottom on the other demo banks too (a city bank without agri loans,
    a rural bank with county deposits), in English as well as Chinese."""
    from pucredit.pipeline.run import execute_notebook

    lang = "en" if bank == "RB01" else "zh"
    executed_path = tmp_path / executed_name(path)
    execute_notebook(path, executed_path, {"bank_file": bank, "period": "2024", "lang": lang, "policy": ""},
                     timeout=600)
    executed = nbformat.read(executed_path, as_version=4)
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
        executed = tmp_path / executed_name(path)
        execute_notebook(path, executed,
                         {"bank_file": str(tmp_path / "T1.yaml"), "period": "2024H1", "lang": lang, "policy": ""},
                         timeout=600)
        outputs = [o for c in code_cells(nbformat.read(executed, as_version=4)) for o in c.outputs]
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
