"""``pucredit run``: execute every report notebook for one bank and period (README "Commands"; the report folder: docs/data-contract.md §17).

The report folder ``ROOT/<bank_id>/<period>/`` gets each executed notebook,
an HTML copy without code cells (figures embedded, readable offline) and
``metrics.json`` from the same function as ``pucredit metrics``. The folder is
assembled beside the target and moved into place only when everything
succeeded; a failed run leaves the previous report untouched and puts its
partial notebook (with papermill's error marker) under
``ROOT/_failures/<bank_id>/<period>/``. Notebooks run inside this process with
papermill, on kernels that talk over IPC sockets (no TCP ports to clash when
several banks start kernels at once), one warm kernel reused per thread (pipeline.kernels).
"""
from __future__ import annotations

import contextlib
import os
import shutil
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from pucredit.config.banks import load_bank
from pucredit.contract.errors import InputError
from pucredit.config.paths import NOTEBOOKS_DIR, REPORTS_DIR
from pucredit.pipeline.folders import inside, remove_abandoned, replace_folder, working_folder
from pucredit.pipeline.index import INDEX, report_nav, write_index
from pucredit.pipeline.kernels import KERNEL_NAME, kernel_manager_class, warm_enabled, warm_kernel

FAILURES = "_failures"
AUDITS = "_audit"  # audit samples: outside the report folder, which a re-run replaces, and never overwritten
KERNEL_START_TRIES = 3
REMOVE_FROM_HTML_TAG = "remove_cell"  # cells that pin numbers for CI, not for readers

Progress = Callable[[str, str], None] | None  # (bank_id, message)

# nbformat imports jsonschema, which imports rfc3987-syntax when it is installed (jupyter-events asks for it); that
# compiles 38 grammars at import, 2 s in every process that runs or exports a notebook, for the IRI format that no
# notebook schema uses (python-jsonschema/jsonschema#1521). Marked absent, jsonschema leaves that format unchecked.
sys.modules.setdefault("rfc3987_syntax", None)


@dataclass
class RunResult:
    """How one bank's run ended; becomes a manifest entry."""

    bank_id: str
    bank_file: str
    period: str
    status: str  # ok, failed, bad_input (pending in the manifest of a batch still running)
    seconds: float = 0.0
    report_dir: str | None = None
    notebooks: list[str] = field(default_factory=list)
    failed_notebook: str | None = None
    failed_cell: int | None = None
    error: str | None = None
    failure_notebook: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def report_notebooks() -> list[Path]:
    """The analysis notebooks in reading order: their jupytext sources, notebooks/NN_name.py."""
    return sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.py"))


def read_notebook(path: Path):
    """A notebook from its jupytext py:percent source (or an .ipynb), as an nbformat NotebookNode."""
    import jupytext

    return jupytext.read(path)


def executed_name(source: Path) -> str:
    """The executed notebook's file name in a report folder: ``01_volume.py`` runs into ``01_volume.ipynb``."""
    return f"{source.stem}.ipynb"


def declared_parameters(notebook: Path) -> set[str]:
    """Names the notebook's ``parameters`` cell declares (``name: type = value`` or ``name = value``)."""
    import re

    cells = read_notebook(notebook).cells
    source = next((c.source for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])), "")
    return set(re.findall(r"^([A-Za-z_]\w*)\s*[:=]", source, flags=re.M))


def execute_notebook(source: Path, target: Path, parameters: dict, timeout: int | None) -> None:
    """Run one notebook with papermill in this process, on this thread's warm kernel (pipeline.kernels) unless
    $PUCREDIT_WARM_KERNEL is 0. A kernel that fails to start (no cell ran) is retried; a failure inside a
    cell, a cell timeout included, is not. A failure discards the warm kernel."""
    import papermill

    warm = warm_kernel() if warm_enabled() else None
    for attempt in range(1, KERNEL_START_TRIES + 1):
        try:
            km = warm.ready(str(NOTEBOOKS_DIR)) if warm else None
            papermill.execute_notebook(
                read_notebook(source), str(target), parameters=parameters, kernel_name=KERNEL_NAME,
                progress_bar=False, execution_timeout=timeout, cwd=str(NOTEBOOKS_DIR),
                kernel_manager_class=kernel_manager_class(), km=km, log_output=False,
            )
            if warm:
                warm.done()
            return
        except Exception:
            if warm:
                warm.discard()
            if attempt == KERNEL_START_TRIES or _any_cell_ran(target):
                raise
            time.sleep(attempt)


def _any_cell_ran(notebook: Path) -> bool:
    """Whether papermill recorded an executed cell (it saves the notebook as cells run)."""
    import nbformat

    if not notebook.exists():
        return False
    cells = nbformat.read(notebook, as_version=4).cells
    return any(c.get("execution_count") or c.get("metadata", {}).get("papermill", {}).get("start_time")
               for c in cells if c.cell_type == "code")


_exporters = threading.local()


def _html_exporter():
    """This thread's nbconvert HTMLExporter (one a thread: a new one compiles its templates again, 0.2-0.3 s)."""
    if getattr(_exporters, "html", None) is None:
        from nbconvert import HTMLExporter
        from traitlets.config import Config

        config = Config()
        config.HTMLExporter.exclude_input = True
        config.HTMLExporter.exclude_input_prompt = True
        config.HTMLExporter.exclude_output_prompt = True
        config.TagRemovePreprocessor.enabled = True
        config.TagRemovePreprocessor.remove_cell_tags = {REMOVE_FROM_HTML_TAG, "parameters", "injected-parameters"}
        _exporters.html = HTMLExporter(config=config, template_name="lab")
        _exporters.html.mathjax_url = ""
    return _exporters.html


def export_html(notebook: Path, target: Path, title: str, lang: str = "zh", nav: str = "") -> None:
    """HTML without code cells or prompts, figures embedded as data, no script from the internet; the page
    is titled ``title`` (bank, report and period), every figure has alt text, and it is dressed for reading
    and print with the navigation bar ``nav`` (pucredit.report.pages)."""
    from pucredit.report.pages import dress

    import html as html_escape
    import re

    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    nb.metadata["title"] = title
    body, _ = _html_exporter().from_notebook_node(nb)
    figures = iter(range(1, 10_000))
    body = re.sub(r'<img(?![^>]*\balt="[^"]+[^"]*")( alt="[^"]*")?', lambda m: f'<img alt="{html_escape.escape(title)}: '
                  f'{next(figures)}"', body)
    target.write_text(dress(_offline(body), lang, nav), encoding="utf-8")


def report_title(executed: Path, who: str, period: str) -> str:
    """The page title of a report: who (bank name and id), the report's title as its header showed it, the period."""
    import nbformat

    cells = nbformat.read(executed, as_version=4).cells
    titles = (output.get("metadata", {}).get("text/markdown", {}).get("pucredit_title")
              for cell in cells if cell.cell_type == "code" for output in cell.get("outputs", []))
    heading = next((title for title in titles if title), executed.stem)  # the title r.header() showed
    return f"{who} · {heading} · {period}"


def _offline(html: str) -> str:
    """Drop <script src=...> tags that would load code from the internet (require.js, MathJax), and the
    empty one the template leaves when MathJax is switched off."""
    import re

    return re.sub(r'<script[^>]*\bsrc="(https?://[^"]*)?"[^>]*>\s*</script>', "", html)


def _timed_out_cell(notebook: Path) -> int | None:
    """The cell a timeout stopped, as its 1-based position in the partial notebook papermill saved: the last
    cell papermill started (``metadata.papermill.start_time``; the status does not tell, as papermill marks
    cells that never started ``completed`` when it finishes the notebook)."""
    import nbformat

    try:
        cells = nbformat.read(notebook, as_version=4).cells
    except Exception:  # no partial notebook, or an unreadable one
        return None
    started = [i for i, c in enumerate(cells)
               if c.get("metadata", {}).get("papermill", {}).get("start_time")]
    return started[-1] + 1 if started else None


def _timeout_details(exc: Exception, executed: Path, timeout: int | None) -> tuple[int | None, str] | None:
    """A cell timeout (nbclient's CellTimeoutError) as the cell and a one-line error; None for other errors."""
    from nbclient.exceptions import CellTimeoutError

    if not isinstance(exc, CellTimeoutError):
        return None
    cell = _timed_out_cell(executed)
    return cell, f"cell {cell if cell is not None else '?'} timed out after {timeout} s"


def _failure_details(exc: Exception) -> tuple[int | None, str]:
    """The failing cell as its position in the executed notebook (1-based, papermill's injected
    parameters cell included), and the error."""
    index = getattr(exc, "cell_index", None)
    cell = None if index is None else index + 1
    ename, evalue = getattr(exc, "ename", None), getattr(exc, "evalue", None)
    message = f"{ename}: {evalue}" if ename else f"{type(exc).__name__}: {exc}"
    return cell, message.strip()[:2000]


def _write_error(exc: OSError, out_root: Path) -> str | None:
    """An OSError met writing under the report root (a full disk, a read-only folder), as a one-line cause;
    None when it concerns another file (a tape that cannot be read is not a report that cannot be written)."""
    name = getattr(exc, "filename", None)
    if name is None or not Path(os.path.abspath(name)).is_relative_to(out_root):
        return None
    return f"cannot write {name}: {exc.strerror or exc}"


@dataclass
class PreparedBank:
    """A bank whose tape validated, with metrics.json written into its staging folder; the notebooks
    run into the same folder (one after another in ``run_bank``, in parallel in a batch)."""

    result: RunResult
    parameters: dict
    staging: Path
    target: Path
    failures: Path
    audits: Path
    context: Path  # the validated tape and metrics the notebooks read (report.context.setup)
    who: str  # the bank's name and id, for page titles
    started: float  # time.time(): comparable across the batch's processes


@dataclass
class NotebookOutcome:
    name: str
    failed_cell: int | None = None
    error: str | None = None  # None: the notebook ran and its HTML is written


def prepare_bank(bank_yaml: str | Path, period: str, out_root: str | Path = REPORTS_DIR, *,
                 owner: str | None = None, progress: Progress = None) -> PreparedBank | RunResult:
    """Validate the bank file, parameters and tape, compute the metrics and write them into a fresh staging
    folder (named after ``owner``, the process that will move it into place: folders.owner()), and the validated tape into
    the report context beside it, which every notebook reads: the tape is read and validated once per bank.
    A bank that cannot run comes back as its final RunResult: ``bad_input``, or ``failed`` when the metrics
    failed on valid input."""
    from pucredit.analyses.metrics import compute_metrics, default_policy_year
    from pucredit.config.periods import parse_period
    from pucredit.config.policy import BankTerms, load_policy
    from pucredit.report.context import check_parameters
    from pucredit.engine.tape import open_tape
    from pucredit.estimators.passthrough import import_statsmodels_meanwhile

    started = time.time()
    out_root = Path(out_root).resolve()
    result = RunResult(bank_id="?", bank_file=str(bank_yaml), period=str(period), status="bad_input")
    context = None
    try:
        bank = load_bank(bank_yaml)
        result.bank_id = bank.bank_id
        parsed = parse_period(period)
        result.period = parsed.label
        policy = load_policy(bank.policy or default_policy_year(parsed))
        parameters = check_parameters(bank_file=str(bank.path), period=parsed.label, lang=bank.lang,
                                      policy=str(policy.year) if bank.policy is None else bank.policy
                                      ).model_dump(exclude={"context"})  # set per notebook, where declared
        if progress:
            progress(bank.bank_id, "validating tape")
        target = inside(out_root, out_root / bank.bank_id / parsed.label)
        context = working_folder(target, "context", owner)
        remove_abandoned(target)
        shutil.rmtree(context, ignore_errors=True)
        statsmodels = import_statsmodels_meanwhile()  # for the pass-through fit of the metrics
        with open_tape(bank.tape, bank.totals, lpr=bank.lpr) as tape:
            tape.raise_for_errors()
            statsmodels.join()
            metrics = compute_metrics(tape, bank.bank_id, parsed, policy, terms=BankTerms.of(bank))
            tape.save_prepared(bank.bank_id, context)
        metrics.write(context / "metrics.json")
    except InputError as exc:
        result.error = str(exc)[:4000]
    except OSError as exc:
        result.status, result.error = "failed", (_write_error(exc, out_root) or f"metrics: {type(exc).__name__}: {exc}")[:4000]
    except Exception as exc:  # an analysis that failed on valid input: recorded, the batch goes on
        result.status, result.error = "failed", f"metrics: {type(exc).__name__}: {exc}"[:4000]
    if result.error:
        if context is not None:
            shutil.rmtree(context, ignore_errors=True)
        result.seconds = round(time.time() - started, 2)
        return result
    staging = working_folder(target, "staging", owner)
    try:
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        metrics.write(staging / "metrics.json")
    except OSError as exc:  # a full disk or a read-only root: the bank fails with the cause, nothing half-written
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(context, ignore_errors=True)
        result.status, result.error = "failed", f"staging folder: {_write_error(exc, out_root) or exc}"[:4000]
        result.seconds = round(time.time() - started, 2)
        return result
    return PreparedBank(result=result, parameters=parameters, staging=staging, target=target,
                        failures=inside(out_root, out_root / FAILURES / bank.bank_id / parsed.label),
                        audits=inside(out_root, out_root / AUDITS / bank.bank_id / parsed.label), context=context,
                        who=f"{bank.name}（{bank.bank_id}）" if bank.lang == "zh" else f"{bank.name} ({bank.bank_id})",
                        started=started)


def run_report_notebook(prepared: PreparedBank, source: Path, timeout: int | None,
                        progress: Progress = None) -> NotebookOutcome:
    """Execute one report notebook into the bank's staging folder and export its HTML; a failure is
    returned, never raised (the batch goes on)."""
    if progress:
        progress(prepared.result.bank_id, f"running {source.stem}")
    executed = prepared.staging / executed_name(source)
    folders = {"export_dir": prepared.staging, "audit_dir": prepared.audits, "context": prepared.context}
    declared = declared_parameters(source)
    exports = {name: str(folder) for name, folder in folders.items() if name in declared}
    try:
        execute_notebook(source, executed, {**prepared.parameters, **exports}, timeout)
    except Exception as exc:
        return NotebookOutcome(executed.name, *(_timeout_details(exc, executed, timeout) or _failure_details(exc)))
    lang = prepared.parameters.get("lang") or "zh"
    pages = [f"{s.stem}.html" for s in report_notebooks()]
    try:
        export_html(executed, executed.with_suffix(".html"),
                    report_title(executed, prepared.who, prepared.result.period), lang,
                    report_nav(lang, pages, f"{source.stem}.html", f"../../{INDEX}"))
    except OSError as exc:  # a full disk or a read-only root: the bank fails, with the cause, nothing half-done
        return NotebookOutcome(executed.name, None, f"HTML export failed: {exc}")
    return NotebookOutcome(executed.name)


def finish_bank(prepared: PreparedBank, outcomes: list[NotebookOutcome]) -> RunResult:
    """All notebooks ran: move the staging folder into place. One failed (the first in reading order is
    reported): keep its partial notebook under ``_failures`` and leave the previous report untouched. A folder
    that cannot be moved into place fails the bank too (the previous report is put back); never raises."""
    result = prepared.result
    try:
        failed = next((o for o in outcomes if o.error is not None), None)
        if failed is None:
            try:
                replace_folder(prepared.staging, prepared.target)
            except OSError as exc:
                result.status, result.error = "failed", f"report folder not moved into place: {exc}"
                return result
            shutil.rmtree(prepared.failures, ignore_errors=True)  # now stale
            result.status, result.report_dir = "ok", str(prepared.target)
            result.notebooks = [o.name for o in outcomes]
            return result
        result.status, result.failed_notebook = "failed", failed.name
        result.failed_cell, result.error = failed.failed_cell, failed.error
        result.notebooks = [o.name for o in outcomes[:outcomes.index(failed)] if o.error is None]
        executed = prepared.staging / failed.name
        if executed.exists():
            kept = prepared.failures / failed.name
            try:
                kept.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(executed, kept)
                result.failure_notebook = str(kept)
            except OSError as exc:  # a full disk or a read-only root: the error says so, no partial copy stays
                with contextlib.suppress(OSError):
                    kept.unlink(missing_ok=True)
                result.error = f"{result.error} (partial notebook not kept: {exc})"
        return result
    finally:
        shutil.rmtree(prepared.staging, ignore_errors=True)
        shutil.rmtree(prepared.context, ignore_errors=True)
        result.seconds = round(time.time() - prepared.started, 2)


def run_bank(bank_yaml: str | Path, period: str, out_root: str | Path = REPORTS_DIR, *,
             timeout: int | None = 600, progress: Progress = None,
             notebooks: list[Path] | None = None) -> RunResult:
    """Execute every report notebook for one bank and period; never raises for a bank's own failure.

    Bad input (bank file, tape, period) gives status ``bad_input``; a notebook error gives ``failed``
    with the notebook, cell and error, and the partial notebook kept under ``_failures``.
    """
    prepared = prepare_bank(bank_yaml, period, out_root, progress=progress)
    if isinstance(prepared, RunResult):
        return _indexed(out_root, prepared)
    outcomes = []
    try:
        for source in notebooks or report_notebooks():
            outcomes.append(run_report_notebook(prepared, source, timeout, progress))
            if outcomes[-1].error is not None:
                break
    except BaseException:  # interrupted: nothing half-done is moved into place
        shutil.rmtree(prepared.staging, ignore_errors=True)
        shutil.rmtree(prepared.context, ignore_errors=True)
        raise
    return _indexed(out_root, finish_bank(prepared, outcomes))


def _indexed(out_root: str | Path, result: RunResult) -> RunResult:
    """The root's front page rewritten with this run's result; a page that cannot be written is not the
    run's failure (its report is in place)."""
    if Path(out_root).is_dir():
        with contextlib.suppress(OSError):
            write_index(out_root, [result.to_dict()])
    return result
