"""Errors a user can cause, and the findings of a validation pass.

Every problem names the file, and where it applies the row (1-based as in a
spreadsheet, header = row 1), the column and the offending value, and says what
would be accepted (docs/data-contract.md §11). The command line prints them and exits 2.
"""
from __future__ import annotations

import reprlib
from dataclasses import dataclass, field, asdict

MAX_VALUE_CHARS = 120  # a value shown in a problem is cut to this length (a 100 MB field is not printed)
_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxdict, _REPR.maxlist, _REPR.maxstring = 2, 6, 6, MAX_VALUE_CHARS


def shorten(text: str, limit: int = MAX_VALUE_CHARS) -> str:
    """``text`` cut to ``limit`` characters, saying how long it was."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def brief(value) -> str:
    """A value for a message: text as it is, anything else as a bounded repr (never ``str()`` of a
    whole structure, which for a YAML bomb takes minutes)."""
    return value if isinstance(value, str) else _REPR.repr(value)


DEFAULT_CAP = 20  # problems listed per rule; counts are always complete


@dataclass(frozen=True)
class Problem:
    """One finding: ``file:row:column: message (value); accepted: ...``; the value is shortened."""

    file: str
    message: str
    rule: str
    severity: str = "error"  # "error" or "warning"
    row: int | None = None
    column: str | None = None
    value: str | None = None
    accepted: str | None = None

    def __post_init__(self) -> None:
        if self.value is not None:
            object.__setattr__(self, "value", shorten(str(self.value)))

    def __str__(self) -> str:
        where = ":".join(str(p) for p in (self.file, self.row, self.column) if p is not None)
        text = f"{where}: {self.severity}: {self.message}"
        if self.value is not None:
            text += f" ({self.value!r})"
        if self.accepted:
            text += f"; accepted: {self.accepted}"
        return text

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Findings:
    """All problems found in one pass, capped per rule; counts are exact."""

    problems: list[Problem] = field(default_factory=list)
    counts: dict[tuple[str, str], int] = field(default_factory=dict)  # (severity, rule) -> n

    def add(self, problem: Problem, count: int = 1) -> None:
        self.problems.append(problem)
        self._count(problem.severity, problem.rule, count)

    def add_count(self, severity: str, rule: str, count: int) -> None:
        """Count problems beyond those listed (the per-rule cap)."""
        self._count(severity, rule, count)

    def _count(self, severity: str, rule: str, count: int) -> None:
        key = (severity, rule)
        self.counts[key] = self.counts.get(key, 0) + count

    def extend(self, other: "Findings") -> None:
        self.problems.extend(other.problems)
        for (sev, rule), n in other.counts.items():
            self._count(sev, rule, n)

    @property
    def n_errors(self) -> int:
        return sum(n for (sev, _), n in self.counts.items() if sev == "error")

    @property
    def n_warnings(self) -> int:
        return sum(n for (sev, _), n in self.counts.items() if sev == "warning")

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    def by_rule(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for (sev, rule), n in sorted(self.counts.items()):
            out.setdefault(sev, {})[rule] = n
        return out


class PucreditError(Exception):
    """Base of the errors the package raises on purpose."""


class InputError(PucreditError):
    """Bad input or bad usage (exit code 2); carries one or more problems."""

    def __init__(self, problems: list[Problem] | Problem | str, findings: Findings | None = None):
        if isinstance(problems, Problem):
            problems = [problems]
        if isinstance(problems, str):
            problems = [Problem(file="", message=problems, rule="usage")]
        self.problems = problems
        self.findings = findings
        super().__init__("\n".join(str(p).lstrip(": ") for p in problems))


class AnalysisError(PucreditError):
    """An analysis could not be carried out on valid input (exit code 1)."""


def check_model(model, params: dict, accepted: str, file: str = "notebook parameters"):
    """Validate ``params`` with a pydantic model; each problem names the parameter, its value and what is accepted."""
    from pydantic import ValidationError

    try:
        return model.model_validate(params)
    except ValidationError as exc:
        raise InputError([Problem(file=file, rule="bad_parameter", column=".".join(map(str, e["loc"])) or None,
                                  message=e["msg"], value=None if e["type"] == "missing" else _REPR.repr(e.get("input")),
                                  accepted=accepted)
                          for e in exc.errors()]) from None
