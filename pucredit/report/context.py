"""What every report notebook shares: parameter checks, the opened tape, the header, findings, tables.

A notebook's parameters cell is followed by one call, :func:`setup`, which
checks the parameters (unknown or mistyped ones fail with a clear message;
codes stay text), reads the bank file and the tape, and returns a
:class:`Report` holding everything the sections need.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, field_validator

from pucredit._version import __version__
from pucredit.report import plotting
from pucredit.analyses import volume
from pucredit.config.banks import BankFile, load_bank
from pucredit.contract.errors import check_model
from pucredit.report.labels import label
from pucredit.analyses.document import MetricsDocument, read_metrics
from pucredit.analyses.metrics import compute_metrics, default_policy_year
from pucredit.config.paths import parameter_file
from pucredit.config.periods import Period, parse_period
from pucredit.config.policy import BankTerms, Policy, load_policy
from pucredit.engine.tape import Bank, Tape, open_prepared, open_tape


class NotebookParameters(BaseModel):
    """The parameters every report notebook takes (papermill ``-p``; use ``-r`` for codes like 0102)."""

    model_config = ConfigDict(extra="forbid")

    bank_file: str
    period: str
    lang: Literal["", "zh", "en"] = ""
    policy: str = ""
    context: str = ""  # set by pucredit run: the prepared tape and metrics of this bank and period

    @field_validator("bank_file", "period", "policy", "context", mode="before")
    @classmethod
    def _text(cls, value):
        if not isinstance(value, str):
            raise ValueError(f"must be text, got {type(value).__name__} {value!r} (with papermill, pass it with "
                             "-r NAME VALUE so that 0102 or 2024 stay text)")
        return value

    @field_validator("period")
    @classmethod
    def _period(cls, value):
        parse_period(value)
        return value


PAPERMILL_CELL = "# Parameters\n"  # how papermill's Python translator opens the cell it injects


def refuse_unknown_parameters() -> None:
    """A parameter papermill injected (``-p``/``-r NAME VALUE``) that the notebook's parameters cell does not
    declare is refused, naming it and the accepted names: papermill itself only warns and runs the defaults
    (a misspelt ``-r bank_fil RB01`` would report the default bank). Papermill runs the parameters cell, then
    its injected cell, so both are the last two such entries of the kernel's input history (``In``); outside
    papermill (JupyterLab, nbval) there is no injected cell and nothing to check."""
    import ast

    from IPython import get_ipython

    shell = get_ipython()
    history = list(shell.user_ns.get("In", [])) if shell is not None else []
    injected = [i for i, source in enumerate(history) if i > 0 and source.startswith(PAPERMILL_CELL)]
    if not injected:
        return

    def names(source: str) -> list[str]:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            return []
        targets = [t for node in tree.body if isinstance(node, (ast.Assign, ast.AnnAssign))
                   for t in (node.targets if isinstance(node, ast.Assign) else [node.target])]
        return [t.id for t in targets if isinstance(t, ast.Name)]

    declared = names(history[injected[-1] - 1])
    unknown = [name for name in names(history[injected[-1]]) if name not in declared]
    if unknown:
        from pucredit.contract.errors import InputError, Problem

        raise InputError([Problem(file="notebook parameters", rule="unknown_parameter", column=name,
                                  message="this notebook has no such parameter (misspelt?)",
                                  accepted=", ".join(declared)) for name in unknown])


def check_parameters(**params) -> NotebookParameters:
    return check_model(NotebookParameters, params, "bank_file (text), period (2024, 2024H1, 2024Q3, 2024-05), "
                                                   "lang (zh or en), policy (year or file), context (a folder)")


def bank_file_path(name: str) -> Path:
    """A bare name (``LB01``) is a file in parameters/banks/ (the user's, else the shipped one); anything else
    is a path."""
    path = Path(name)
    if path.suffix.lower() in (".yaml", ".yml") or path.parent != Path("."):
        return path
    return parameter_file("banks", f"{name}.yaml")


@dataclass
class Report:
    """One bank and period, opened for a report notebook."""

    bank_file: BankFile
    period: Period
    policy: Policy
    lang: str
    tape: Tape
    bank: Bank
    generated_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc))

    def t(self, key: str) -> str:
        return label(key, self.lang)

    def bracket(self, text: str) -> str:
        """Text to append in brackets: full-width in Chinese, ASCII in English ("（亿元）", " (100 million yuan)")."""
        return f"（{text}）" if self.lang == "zh" else f" ({text})"

    def unit(self, key: str) -> str:
        return self.bracket(self.t(key))

    def say(self, zh: str, en: str) -> str:
        return zh if self.lang == "zh" else en

    @property
    def terms(self) -> BankTerms:
        """How the policy applies to this bank: its category, NPL target and local targets (the bank file)."""
        return BankTerms.of(self.bank_file)

    @cached_property
    def doc(self) -> MetricsDocument:
        """The same metrics as ``pucredit metrics`` and the report's metrics.json."""
        return compute_metrics(self.tape, self.bank.bank_id, self.period, self.policy, self.generated_at,
                               terms=self.terms)


    @cached_property
    def stocks(self) -> pd.DataFrame:
        return volume.monthly_stocks(self.bank)

    def header(self, report: str):
        """Markdown block opening every report: its title and the notice's clauses it covers (catalogue keys
        ``<report>_report_title`` and ``<report>_report_clauses``), then bank, period, policy, data hash,
        version, time."""
        totals = self.t("totals_file") if self.bank.has_totals else self.t("tape")
        rows = [
            (self.t("report_bank"), self.bank_file.name + self.bracket(self.bank.bank_id)),
            (self.t("report_period"),
             self.period.label + self.bracket(f"{self.period.start.date()} – {self.period.end.date()}")),
            (self.t("report_policy"), f"{self.policy.year}: {self.policy.title if self.lang == 'zh' else self.policy.title_en}"),
            (self.t("report_totals"), totals),
            (self.t("report_tape"), self.tape.sha256),
            (self.t("report_version"), __version__),
            (self.t("report_generated"), self.generated_at.strftime("%Y-%m-%d %H:%M UTC")),
        ]
        return key_value_table(rows, title=self.t(f"{report}_report_title"),
                               lead=self.t(f"{report}_report_clauses"))

    def finding(self, zh: str, en: str):
        """The one-line plain-language finding that opens a section."""
        return finding(self.say(zh, en))

    def close(self) -> None:
        self.tape.close()


def setup(bank_file: str, period: str, lang: str = "", policy: str = "", context: str = "") -> Report:
    """Check a notebook's parameters, open the bank's tape (validated) and classify it. Notice 五(十一).

    With ``context`` (a folder ``pucredit run`` prepared), the tape is the validated copy there and the
    metrics the run's own metrics.json: no notebook reads or validates the tape again.
    """
    refuse_unknown_parameters()
    params = check_parameters(bank_file=bank_file, period=period, lang=lang, policy=policy, context=context)
    bank_file = load_bank(bank_file_path(params.bank_file))
    period = parse_period(params.period)
    policy = load_policy(params.policy or bank_file.policy or default_policy_year(period))
    if params.context:
        tape, doc = open_prepared(params.context), read_metrics(Path(params.context) / "metrics.json")
    else:
        tape, doc = open_tape(bank_file.tape, bank_file.totals, lpr=bank_file.lpr), None
        tape.raise_for_errors()
    plotting.setup()
    report = Report(bank_file=bank_file, period=period, policy=policy, lang=params.lang or bank_file.lang,
                    tape=tape, bank=tape.bank(bank_file.bank_id, policy))
    if doc is not None:
        report.__dict__["doc"] = doc  # the cached value of Report.doc: the run's metrics.json itself
    return report


# ---------------------------------------------------------------- table formatting

def key_value_table(rows: list[tuple[str, str]], title: str = "", lead: str = ""):
    """A two-column Markdown table without headings (the block that opens a report), after the report's
    title (a level-1 heading) and a lead line when given; every cell is escaped, so a bank name from a
    user's file shows as text (no markup, links or broken table)."""
    from IPython.display import Markdown

    from pucredit.report.section import escape_markdown

    opening = ([f"# {escape_markdown(title)}", ""] if title else []) + ([escape_markdown(lead), ""] if lead else [])
    cells = [f"| {escape_markdown(k)} | {escape_markdown(v)} |" for k, v in rows]
    # the title, unescaped, also in the output's metadata: where the HTML export finds the page title
    return Markdown("\n".join([*opening, "| | |", "|---|---|", *cells]),
                    metadata={"pucredit_title": title} if title else None)


def finding(text: str):
    """A section's plain-language finding, in bold."""
    from IPython.display import Markdown

    return Markdown(f"**{text}**")


def yuan_100m(value) -> str:
    """Yuan shown in 亿元 (100 million yuan) with two decimals."""
    return "" if value is None or pd.isna(value) else f"{value / 1e8:,.2f}"


def yuan_10k(value) -> str:
    return "" if value is None or pd.isna(value) else f"{value / 1e4:,.1f}"


def pct(value, digits: int = 2) -> str:
    return "" if value is None or pd.isna(value) else f"{value * 100:.{digits}f}%"


def pp(value, digits: int = 2) -> str:
    return "" if value is None or pd.isna(value) else f"{value:+.{digits}f}"


def yes_no(value, lang: str) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return label("not_applicable", lang)
    return label("yes" if value else "no", lang)
