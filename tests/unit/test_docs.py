"""docs/data-contract.md stays in step with the code (schema.py, validate.py, read.py, policy).

A column, alias, enum value or validation rule added to the code without a
line in the data contract for bank data teams fails here.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from pucredit.contract import schema
from pucredit.contract import validate
from pucredit.config.policy import load_policy

ROOT = Path(__file__).resolve().parents[2]
DOC_PATH = ROOT / "docs" / "data-contract.md"
PACKAGE = ROOT / "pucredit"


def module_file(name: str):
    """A module of the package by file name, in whichever subpackage it lives."""
    return next(PACKAGE.rglob(name))


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC_PATH.read_text(encoding="utf-8")


def _code_spans(text: str) -> set[str]:
    """Everything written as `code` in the doc."""
    return set(re.findall(r"`([^`\n]+)`", text))


def _rules_in_source(path: Path, patterns: tuple[str, ...]) -> set[str]:
    text = path.read_text(encoding="utf-8")
    found: set[str] = set()
    for pattern in patterns:
        found.update(re.findall(pattern, text))
    return found


RULE_CALL = r'RowRule\(\s*"([a-z0-9_]+)"'
RULE_KEYWORD = r'\brule\s*=\s*"([a-z0-9_]+)"'


def validate_rules() -> set[str]:
    """Every rule name validate.py can emit: RowRule("name", ...), rule="name", and PARSE_RULES."""
    names = _rules_in_source(module_file("validate.py"), (RULE_CALL, RULE_KEYWORD))
    # PARSE_RULES is read from the source too, so a rule added there is seen even before import.
    tree = ast.parse((module_file("validate.py")).read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "PARSE_RULES" for t in node.targets):
            for value in ast.literal_eval(node.value).values():
                names.add(value[0])
    names.update(rule for rule, _message in validate.PARSE_RULES.values())
    return names


def read_rules() -> set[str]:
    return _rules_in_source(module_file("read.py"), (RULE_KEYWORD,))


# Modules that check a bank's inputs or the command line besides the tape and totals files.
INPUT_MODULES = ("banks.py", "cli.py", "errors.py", "periods.py", "policy.py", "reference.py", "tape.py",
                 "volume.py")


def other_rules() -> set[str]:
    """Rule names raised about the other inputs: command line, policy, bank and LPR files."""
    names: set[str] = set()
    for name in INPUT_MODULES:
        names |= _rules_in_source(module_file(name), (RULE_KEYWORD,))
    # reference.py passes the rule positionally: Problem(file, message, "lpr_...")
    names |= _rules_in_source(module_file("reference.py"), (r'Problem\(\s*file,[^\n]*?,\s*"(lpr_[a-z_]+)"',))
    return names


def test_rule_collection_finds_the_known_rules():
    """Guard the parsing itself: if it silently found nothing, every doc check would pass."""
    rules = validate_rules()
    assert {"missing_value", "bad_date", "bad_enum", "not_month_end", "duplicate_key",
            "rate_as_fraction", "first_loan_not_first", "tape_above_totals"} <= rules
    assert {"missing_column", "not_text", "ragged_row", "duplicate_column"} <= read_rules()
    assert len(rules) >= 25


@pytest.mark.parametrize("rule", sorted(validate_rules() | read_rules()))
def test_every_validation_rule_is_documented(doc, rule):
    assert rule in _code_spans(doc), f"rule {rule} can be reported but is not in docs/data-contract.md"


@pytest.mark.parametrize("rule", sorted(other_rules()))
def test_every_other_rule_is_documented(doc, rule):
    assert rule in _code_spans(doc), f"rule {rule} can be reported but is not in docs/data-contract.md"


def test_every_documented_rule_row_has_a_severity(doc):
    """In the rule tables, each rule row says error or warning."""
    rows = [line for line in doc.splitlines() if re.match(r"^\| `[a-z0-9_]+`", line)]
    rule_rows = [r for r in rows if re.search(r"\| (error|warning) \|", r)]
    documented = {m for r in rule_rows for m in re.findall(r"`([a-z0-9_]+)`", r.split("|")[1])}
    missing = (validate_rules() | read_rules()) - documented
    assert not missing, f"rules without a row (with severity) in a rule table: {sorted(missing)}"


def test_documented_severity_matches_code(doc):
    """A RowRule's severity in the doc is the one in validate.py."""
    import pandas as pd

    from pucredit.contract.read import Source

    present = {c.name: "VARCHAR" for c in schema.TAPE_COLUMNS + schema.TOTALS_COLUMNS}
    source = Source(path=Path("t.csv"), fmt="csv", encoding="utf-8", raw_view="raw", columns=present)
    code = {r.rule: r.severity for r in validate.tape_row_rules(source, pd.Timestamp("2026-01-31"))}
    code.update({r.rule: r.severity for r in validate.totals_row_rules(source)})
    for line in doc.splitlines():
        match = re.match(r"^\| `([a-z0-9_]+)` \| (error|warning) \|", line)
        if match and match.group(1) in code:
            assert code[match.group(1)] == match.group(2), line


@pytest.mark.parametrize("column", schema.TAPE_COLUMNS + schema.TOTALS_COLUMNS,
                         ids=lambda c: c.name)
def test_every_column_and_alias_is_documented(doc, column):
    assert f"`{column.name}`" in doc, f"column {column.name} missing from the doc"
    assert column.alias in doc, f"alias {column.alias} of {column.name} missing from the doc"
    # The name and its alias sit on one table row.
    assert any(f"`{column.name}`" in line and column.alias in line and line.startswith("|")
               for line in doc.splitlines()), f"no table row with {column.name} and {column.alias}"


def test_required_and_optional_sections_match_schema(doc):
    required = doc.split("### 4.1 Required columns")[1].split("### 4.2")[0]
    optional = doc.split("### 4.2 Optional columns")[1].split("### 4.3")[0]
    for col in schema.TAPE_COLUMNS:
        section = required if col.required else optional
        assert f"| `{col.name}` |" in section, f"{col.name} is in the wrong section (required={col.required})"


ENUM_VALUES = [(col.name, code, label) for col in schema.TAPE_COLUMNS for code, label in col.enum.items()]


@pytest.mark.parametrize("column, code, label", ENUM_VALUES, ids=[f"{c}.{k}" for c, k, _ in ENUM_VALUES])
def test_every_enum_code_and_label_is_documented(doc, column, code, label):
    row = f"| `{code}` | {label} |"
    assert row in doc, f"enum {column}: no row '{row}'"


SYNONYMS = [(col, spelling, code) for col, spellings in schema.ENUM_SYNONYMS.items()
            for spelling, code in spellings.items()]


@pytest.mark.parametrize("column, spelling, code", SYNONYMS, ids=[f"{c}.{s}" for c, s, _ in SYNONYMS])
def test_every_enum_synonym_is_documented(doc, column, spelling, code):
    rows = [line for line in doc.splitlines() if line.startswith(f"| `{code}` |")]
    assert rows and any(spelling in r.split("|")[3] for r in rows), \
        f"synonym {spelling} -> {code} is not in the 'also accepted' column"


def test_spellings_are_documented(doc):
    spellings = doc.split("## 5. Spellings of values")[1].split("## 6.")[0].lower()
    for word in schema.TRUE_SPELLINGS + schema.FALSE_SPELLINGS:
        assert f"`{word}`" in spellings, f"bool spelling {word} missing"
    for example in ("2024-06-30", "2024/6/30", "20240630"):
        assert example in spellings


def test_pseudonym_key_variable_is_documented(doc):
    from pucredit.contract.read import KEY_ENV

    assert f"`{KEY_ENV}`" in doc


def test_segment_rules_match_the_policy_file(doc):
    policy = load_policy("2024")
    section = doc.split("## 8. How loans are classified")[1].split("## 9.")[0]
    for name, segment in policy.segments.items():
        assert f"`{name}`" in section and segment.label_zh in section and segment.clause in section
        for rule in segment.rules:
            if rule.credit_line_max_cny is not None:
                assert f"{rule.credit_line_max_cny:,.0f}" in section
            for borrower_type in rule.borrower_types or []:
                assert f"`{borrower_type}`" in section
            for column in rule.flags:
                assert f"`{column}`" in section
    for risk_class in policy.npl.risk_classes:
        assert f"`{risk_class}`" in section
    assert policy.tolerances.clause in section


def test_bank_file_keys_are_documented(doc):
    from pucredit.config.banks import BankFile

    section = doc.split("## 14. Bank file (YAML)")[1].split("## 15.")[0]
    for key in BankFile.model_fields:
        if key != "path":
            assert f"{key}:" in section, f"bank-file key {key} missing"


def test_worked_example_validates(doc, tmp_path):
    """The example tape in the doc passes `pucredit validate`."""
    from pucredit.cli import main

    block = doc.split("## 16. Worked example")[1].split("```")[1]
    (tmp_path / "tape.csv").write_text(block.lstrip("\n"), encoding="utf-8")
    assert main(["validate", str(tmp_path / "tape.csv")]) == 0


@pytest.mark.parametrize("rule", sorted(validate_rules() | read_rules()))
def test_every_validation_rule_has_words_for_the_quality_report(rule):
    """Report 05 and the service report name a rule in words, never by its code (issue 14)."""
    from pucredit.report.labels import RULE_LABELS

    assert rule in RULE_LABELS, f"rule {rule} has no entry in pucredit/report/labels.py RULE_LABELS"
