"""Check a tape and a totals file against the contract in one pass (docs/data-contract.md §10; notice 五(十一)).

Each rule is one SQL condition over the raw and normalised values of a row;
all rules run in a single scan and report exact counts plus the first rows
of each rule (the cap). Cross-row rules (duplicate keys, first-loan flags
against the borrower's history, origination facts that change between
snapshots) and column rules (rates given as fractions) run as separate
aggregate queries. Errors fail a run; warnings are printed and pass.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import pandas as pd

from pucredit.contract.errors import DEFAULT_CAP, Findings, Problem
from pucredit.contract.read import (BIGINT_TYPES, EXACT_BELOW, Source, is_text_type, normalised_sql, spelling_map,
                                   trimmed_text)
from pucredit.engine.sql import month_index, sql_quote
from pucredit.contract.schema import (INDUSTRY_CODE_PATTERN, BANK_ID_ACCEPTED, BANK_ID_MAX_LENGTH, BANK_ID_PATTERN, TAPE_COLUMNS, TOTALS_COLUMNS, Column,
                                      accepted_text, value_limit)



@dataclass(frozen=True)
class RowRule:
    rule: str
    column: str
    condition: str  # SQL over normalised columns (by name) and raw columns (r_<name>)
    message: str
    severity: str = "error"
    accepted: str | None = None
    value: str | None = None  # SQL for the value shown; default the raw column


PARSE_RULES = {
    "date": ("bad_date", "not a date (or an impossible or implausible one)"),
    "number": ("bad_number", "not a number"),
    "integer": ("bad_integer", "not a whole number (or beyond 9e18)"),
    "bool": ("bad_bool", "not a yes/no value"),
    "enum": ("bad_enum", "not an accepted value"),
}


def _parse_rules(columns: tuple[Column, ...], source: Source) -> list[RowRule]:
    """Missing and unreadable values; rules that cannot fire for a column's type are left out
    (a Parquet DATE is always a date), and for enum and yes/no text the unknown spellings are known."""
    rules = []
    for col in columns:
        if col.name not in source.columns:
            continue
        raw, raw_type = f"r_{col.name}", source.columns[col.name]
        text = is_text_type(raw_type)
        blank = f"({trimmed_text(raw)} IS NULL)" if text else f"({raw} IS NULL)"
        if col.required:
            rules.append(RowRule("missing_value", col.name, blank, "value missing", accepted=accepted_text(col)))
        if col.kind not in PARSE_RULES or not can_fail(col, raw_type):
            continue
        rule, message = PARSE_RULES[col.kind]
        condition = f"NOT {blank} AND {col.name} IS NULL"
        if col.name in source.spellings and col.kind in ("enum", "bool"):
            unknown = [v for v, mapped in spelling_map(col, source.spellings[col.name]).items()
                       if mapped is None and v.strip()]
            if not unknown:
                continue
            condition = f"{raw} IN ({', '.join(sql_quote(v) for v in unknown)})"
        rules.append(RowRule(rule, col.name, condition, message, accepted=accepted_text(col), value=raw))
    return rules


def can_fail(col: Column, raw_type: str) -> bool:
    """Whether a value of this raw type can fail to read as the column's kind (a DATE can, by its year)."""
    upper = raw_type.upper()
    if col.kind == "integer":
        return upper not in BIGINT_TYPES
    if col.kind == "bool":
        return upper != "BOOLEAN"
    return True


FUTURE_GRACE_DAYS = 1  # the bank's calendar day may be ahead of the host's (Beijing is UTC+8)


def input_safety_rules(columns: tuple[Column, ...], source: Source) -> list[RowRule]:
    """Values that parse but cannot be right, in tapes and totals (issue 13): a bank_id that cannot
    name a folder (docs/data-contract.md §14), a snapshot date in the future, magnitudes beyond
    ``value_limit`` (they overflow sums), and codes that lost digits: stored as floating-point numbers too
    large to be exact, or written in scientific notation (6.22202E+18, as Excel shows a long number)."""
    future = dt.date.today() + dt.timedelta(days=FUTURE_GRACE_DAYS)
    rules = [
        RowRule("bad_bank_id", "bank_id", f"NOT regexp_full_match(bank_id, {sql_quote(BANK_ID_PATTERN)})"
                                          f" OR length(bank_id) > {BANK_ID_MAX_LENGTH}",
                "not a usable bank id", accepted=BANK_ID_ACCEPTED),
        RowRule("future_snapshot", "as_of", f"as_of > DATE '{future}'", "snapshot date is in the future",
                accepted=f"a month end up to today ({dt.date.today()})"),
    ]
    for col in columns:
        raw_type = source.columns.get(col.name, "").upper()
        hidden = "NULL" if col.name == "borrower_id" else None  # a raw borrower id is never shown
        if col.kind == "text" and raw_type in EXACT_BELOW:
            rules.append(RowRule("out_of_range", col.name, f"NOT abs(r_{col.name}) < {EXACT_BELOW[raw_type]}",
                                 f"a code stored as a {raw_type} number this large has lost digits",
                                 accepted="codes as text (a string column)", value=hidden))
        elif col.kind == "text":
            scientific = "'[0-9](\\.[0-9]+)?[eE]\\+[0-9]+'"  # the regex only where a '+' is (it is slow)
            rules.append(RowRule("out_of_range", col.name, f"CASE WHEN contains({col.name}, '+') THEN "
                                                           f"regexp_full_match({col.name}, {scientific}) ELSE false END",
                                 "a code in scientific notation has lost digits",
                                 accepted="codes as text with every digit (format the column as text before exporting)",
                                 value=hidden))
        limit = value_limit(col)
        if limit is not None:
            rules.append(RowRule("out_of_range", col.name, f"abs({col.name}) > {limit}",
                                 "too large to be real: a misread or a unit error", accepted=f"at most {limit:,.0f}"))
    return [r for r in rules if r.column in source.columns]


def tape_row_rules(source: Source, coverage_end: pd.Timestamp | None) -> list[RowRule]:
    """The contract's row rules for a loan tape (docs/data-contract.md §4, §2 validate)."""
    present = source.columns
    rules = _parse_rules(TAPE_COLUMNS, source) + input_safety_rules(TAPE_COLUMNS, source)
    rules += [
        RowRule("not_month_end", "as_of", "as_of <> last_day(as_of)", "snapshot date is not a month end",
                accepted="the last day of a month, e.g. 2024-06-30"),
        RowRule("negative_balance", "balance_cny", "balance_cny < 0", "balance is negative", accepted="a number >= 0"),
        RowRule("nonpositive_amount", "amount_cny", "amount_cny <= 0", "amount at origination is not positive",
                accepted="a number > 0"),
        RowRule("negative_credit_line", "credit_line_cny", "credit_line_cny < 0", "credit line is negative",
                accepted="a number >= 0"),
        RowRule("negative_days_past_due", "days_past_due", "days_past_due < 0", "days past due is negative",
                accepted="a whole number >= 0"),
        RowRule("maturity_before_origination", "maturity_date", "maturity_date < origination_date",
                "maturity date is before the origination date", accepted="a date on or after origination_date",
                value="CAST(r_maturity_date AS VARCHAR) || ' < ' || CAST(r_origination_date AS VARCHAR)"),
        RowRule("originated_after_snapshot", "origination_date", "origination_date > as_of",
                "loan originated after the snapshot date", accepted="a date on or before as_of",
                value="CAST(r_origination_date AS VARCHAR) || ' > ' || CAST(r_as_of AS VARCHAR)"),
        RowRule("negative_rate", "rate_pct", "rate_pct < 0", "rate is negative", accepted="percent per year, e.g. 3.95"),
        RowRule("rate_implausible", "rate_pct", "rate_pct > 36", "rate above 36 % a year is implausible",
                severity="warning", accepted="percent per year, e.g. 3.95"),
        RowRule("rate_below_one_pct", "rate_pct", "rate_pct > 0 AND rate_pct < 1",
                "rate below 1 % a year; was it given as a fraction?", severity="warning",
                accepted="percent per year, e.g. 3.95"),
        RowRule("balance_above_credit_line", "balance_cny", "balance_cny > credit_line_cny",
                "balance above the borrower's total credit line", severity="warning",
                accepted="balance <= credit_line_cny",
                value="CAST(r_balance_cny AS VARCHAR) || ' > ' || CAST(r_credit_line_cny AS VARCHAR)"),
        RowRule("amount_above_credit_line", "amount_cny", "amount_cny > credit_line_cny",
                "amount above the borrower's total credit line", severity="warning",
                accepted="amount <= credit_line_cny",
                value="CAST(r_amount_cny AS VARCHAR) || ' > ' || CAST(r_credit_line_cny AS VARCHAR)"),
        RowRule("risk_class_vs_days_past_due", "risk_class",
                "days_past_due >= 90 AND risk_class IN ('normal', 'special_mention')",
                "90 or more days past due but classed as performing", severity="warning",
                accepted="substandard, doubtful or loss once 90 days past due",
                value="CAST(r_risk_class AS VARCHAR) || ', ' || CAST(r_days_past_due AS VARCHAR) || ' days'"),
        RowRule("farmer_business_not_agri", "is_agri", "borrower_type = 'farmer' AND is_business AND NOT is_agri",
                "a farmer's operating loan not flagged agri-related (farmers' loans are 涉农 in the PBoC classification)",
                severity="warning", accepted="is_agri true for farmers' operating loans",
                value="CAST(r_borrower_type AS VARCHAR) || ', is_agri ' || CAST(r_is_agri AS VARCHAR)"),
        RowRule("enterprise_not_business", "is_business",
                "borrower_type IN ('small_micro_enterprise', 'other_enterprise', 'agri_organization') AND NOT is_business",
                "an enterprise's loan not flagged as an operating loan", severity="warning",
                accepted="is_business true for enterprises and agri organisations",
                value="CAST(r_borrower_type AS VARCHAR) || ', is_business ' || CAST(r_is_business AS VARCHAR)"),
        RowRule("county_code_format", "county_code",
                "length(county_code) <> 6 OR county_code[1] = '0' OR try_cast(county_code AS INTEGER) IS NULL",
                "not a 6-digit county code", severity="warning", accepted="6 digits, e.g. 110101"),
        # 三(四) priority sectors (issue 17): the sector segments of the policy file match these codes
        RowRule("industry_code_format", "industry_code",
                f"NOT regexp_full_match(industry_code, {sql_quote(INDUSTRY_CODE_PATTERN)})",
                "not a GB/T 4754 industry code",
                accepted="a 门类 letter A-T (e.g. F) or a 2-digit 大类 code 01-97 (e.g. 52; cut longer codes to "
                         "their first two digits)"),
    ]
    if coverage_end is not None:
        rules.append(RowRule(
            "after_lpr_table", "origination_date", f"origination_date > DATE '{coverage_end.date()}'",
            f"loan originated after the month of the latest known LPR fixing ({coverage_end.date():%Y-%m})",
            accepted="extend the LPR table with your own file of fixings (--lpr FILE with columns "
                     "fixing_date, lpr_1y_pct, lpr_5y_pct)"))
    for name in ("fee_third_party_cny", "fee_bank_cny"):
        if name in present:
            rules.append(RowRule("negative_fee", name, f"{name} < 0", "fee is negative", accepted="a number >= 0"))
    rules += conduct_row_rules()
    return [r for r in rules if r.column in present]


def conduct_row_rules() -> list[RowRule]:
    """Rules of the optional 五(十) columns (docs/data-contract.md §10.2); a rule applies when its column is there."""
    rules = [RowRule("negative_bureau_value", name, f"{name} < 0", "value is negative", accepted="a number >= 0")
             for name in ("bureau_credit_line_cny", "bureau_lender_count", "annual_revenue_cny")]
    rules.append(RowRule("bureau_line_below_own_line", "bureau_credit_line_cny",
                         "bureau_credit_line_cny < credit_line_cny",
                         "the credit at all lenders is below this bank's own line", severity="warning",
                         accepted="bureau_credit_line_cny >= credit_line_cny (it includes this bank's line)",
                         value="CAST(r_bureau_credit_line_cny AS VARCHAR) || ' < ' || CAST(r_credit_line_cny AS VARCHAR)"))
    return rules


def totals_row_rules(source: Source) -> list[RowRule]:
    present = source.columns
    rules = _parse_rules(TOTALS_COLUMNS, source) + input_safety_rules(TOTALS_COLUMNS, source)
    rules += [
        RowRule("not_month_end", "as_of", "as_of <> last_day(as_of)", "date is not a month end",
                accepted="the last day of a month"),
        RowRule("negative_total", "total_loans_cny", "total_loans_cny < 0", "total loans negative",
                accepted="a number >= 0"),
        RowRule("npl_above_total", "total_npl_cny", "total_npl_cny > total_loans_cny",
                "non-performing loans above total loans", accepted="total_npl_cny <= total_loans_cny"),
        RowRule("negative_writeoffs", "writeoffs_cny", "writeoffs_cny < 0", "write-offs negative",
                accepted="a number >= 0 (loans written off in the month, yuan)"),
    ]
    return [r for r in rules if r.column in present]


def _row_scan(con: duckdb.DuckDBPyConnection, source: Source, columns: tuple[Column, ...],
              rules: list[RowRule], findings: Findings, cap: int, extra: tuple[str, ...] = ()) -> list:
    """Count every row rule in one scan of the raw view, then list the first rows of the rules that hit.

    The same scan notes which text columns hold blank or space-padded values (only those are
    trimmed later) and which columns hold values that do not read (the others are used as they are),
    and returns the values of the ``extra`` aggregates.
    """
    inner = ["_row"]
    for col in columns:
        if col.name in source.columns:
            inner.append(f"{col.name} AS r_{col.name}")
            expr = normalised_sql(col, col.name, source.columns[col.name], source.spellings.get(col.name))
            inner.append(f"{expr} AS {col.name}")
    rows = f"(SELECT {', '.join(inner)} FROM {source.raw_view})"
    text_columns = [c.name for c in columns if c.kind == "text" and is_text_type(source.columns.get(c.name, ""))]
    padded = [f"count_if({trimmed_text('r_' + n)} IS DISTINCT FROM r_{n})" for n in text_columns]
    counts = con.execute(
        "SELECT " + ", ".join([f"count_if({r.condition})" for r in rules] + padded + list(extra)) + f" FROM {rows}"
    ).fetchone()
    source.untrimmed = {name for name, n in zip(text_columns, counts[len(rules):]) if n}
    parse_rules = {rule for rule, _ in PARSE_RULES.values()}
    source.unreadable = {r.column for r, n in zip(rules, counts) if n and r.rule in parse_rules}
    for rule, count in zip(rules, counts[:len(rules)]):
        if not count:
            continue
        examples = con.execute(
            f"SELECT _row, CAST({rule.value or 'r_' + rule.column} AS VARCHAR) FROM {rows}"
            f" WHERE {rule.condition} ORDER BY _row LIMIT {cap}"
        ).fetchall()
        for row, value in examples:
            findings.add(Problem(file=str(source.path), row=int(row), column=rule.column, rule=rule.rule,
                                 severity=rule.severity, message=rule.message, value=value,
                                 accepted=rule.accepted), count=0)
        findings.add_count(rule.severity, rule.rule, int(count))
    return list(counts[len(rules) + len(text_columns):])


MONTH_MASK_BITS = 126  # months two BIGINT bitmasks hold (63 bits each; a HUGEINT one would not run in Spark)


def _distinct_months(month: str) -> str:
    """The number of distinct months of ``month`` (an index) among a group's rows, exact when they span fewer
    than MONTH_MASK_BITS months: as fast as count(*), where count(DISTINCT ...) needs a second hash table."""
    half = (f"coalesce(bit_count(bit_or(CAST(1 AS BIGINT) << CAST({month} % 63 AS INTEGER))"
            f" FILTER (WHERE {month} % {MONTH_MASK_BITS} {{}} 63)), 0)")
    return f"{half.format('<')} + {half.format('>=')}"

# Origination facts that must not change between a loan's snapshots: (column, loan_facts min, loan_facts max)
ORIGINATION_FACTS = (("origination_date", "orig", "orig_hi"), ("amount_cny", "amount", "amount_hi"),
                     ("borrower_id", "borrower_id", "borrower_id_hi"))

# A rate column is taken as fractions when this share of its positive values is below 1.
FRACTION_SHARE = 0.99
RATE_SHAPE = ("count_if(rate_pct > 0 AND rate_pct < 1)", "count_if(rate_pct > 0)")


def _rates_as_fractions(con, source: Source, below_one: int, positive: int, findings: Findings) -> None:
    """A rate column whose values are (nearly) all below 1 was given as fractions (0.0395), not percent."""
    if not positive or below_one < FRACTION_SHARE * positive:
        return
    row, value = con.execute(
        f"SELECT _row, rate_pct FROM tape_plain WHERE rate_pct > 0 ORDER BY _row LIMIT 1").fetchone()
    findings.add(Problem(
        file=str(source.path), row=int(row), column="rate_pct", rule="rate_as_fraction",
        message=f"rates look like fractions ({below_one:,} of {positive:,} positive rates are below 1); "
                "rate_pct is percent per year", value=f"{value}",
        accepted="percent: multiply the column by 100 (0.0395 -> 3.95)"))


def _duplicates(con, source: Source, view: str, findings: Findings, cap: int, keys: tuple[str, ...]) -> None:
    key_list = ", ".join(keys)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _dups AS
        WITH keys AS (SELECT {key_list} FROM {view} GROUP BY {key_list} HAVING count(*) > 1)
        SELECT {key_list}, min(_row) AS first_row, list(_row ORDER BY _row)[2:] AS rows
        FROM {view} SEMI JOIN keys USING ({key_list}) GROUP BY {key_list}
    """)
    total = con.execute("SELECT coalesce(sum(len(rows)), 0) FROM _dups").fetchone()[0]
    rows = con.execute(f"""
        SELECT first_row, row, {key_list} FROM (SELECT *, unnest(rows[:{cap}]) AS row FROM _dups)
        ORDER BY row LIMIT {cap}
    """).fetchall()
    con.execute("DROP TABLE _dups")
    if not total:
        return
    for first_row, dup_row, *key in rows:
        findings.add(Problem(file=str(source.path), row=int(dup_row), column=keys[-1], rule="duplicate_key",
                             message=f"duplicate ({', '.join(keys)}), first seen on row {first_row}",
                             value=" / ".join(str(k) for k in key), accepted=f"one row per ({key_list})"), count=0)
    findings.add_count("error", "duplicate_key", int(total))


# Operating loans flagged 首贷 whose borrower already had an earlier operating loan in the tape (docs/data-contract.md §10.3: a
# warning, the metrics count the flags as given). A 首贷户 flag is about business credit, so consumer and housing
# loans (is_business false) neither carry nor contradict it. Over ``loan_facts``; the quality report counts it too.
FIRST_LOAN_NOT_FIRST = """
    WITH earliest AS (
        SELECT bank_id, borrower_id, min(orig) AS orig, arg_min(loan_id, orig) AS loan_id
        FROM loan_facts WHERE borrower_id IS NOT NULL AND business GROUP BY bank_id, borrower_id
    )
    SELECT l.*, e.loan_id AS earlier_loan_id, e.orig AS earlier_orig
    FROM loan_facts l JOIN earliest e USING (bank_id, borrower_id)
    WHERE l.first AND l.business AND l.orig > e.orig
"""


def _loan_checks(con, source: Source, view: str, findings: Findings, cap: int) -> None:
    """Per loan, over all its snapshots: duplicate snapshots, origination facts that change, and
    first-loan flags (首贷) on a borrower who already had an earlier operating loan in the tape. One aggregation
    serves all three, and its table ``loan_facts`` (first and last snapshot date per loan) is kept for
    building originations, renewal chains and NPL exits (``pred``: the predecessor loan named on the first snapshot)."""
    month = month_index("as_of")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE loan_facts AS
        SELECT bank_id, loan_id, min(as_of) AS first_as_of, max(as_of) AS last_as_of, arg_min(_row, as_of) AS first_row,
               count(*) AS rows,
               {_distinct_months(month)} AS months,
               max({month}) - min({month}) AS span,
               min(borrower_id) AS borrower_id, max(borrower_id) AS borrower_id_hi,
               min(origination_date) AS orig, max(origination_date) AS orig_hi,
               min(amount_cny) AS amount, max(amount_cny) AS amount_hi,
               arg_min(is_business, as_of) AS business,
               bool_or(is_first_loan) AS first, min(_row) AS row, max(_row) AS last_row,
               arg_min(predecessor_loan_id, as_of) AS pred
        FROM {view} WHERE loan_id IS NOT NULL AND as_of IS NOT NULL GROUP BY bank_id, loan_id
    """)
    # A loan's rows cover as many distinct months as it has rows unless a (bank_id, as_of, loan_id)
    # repeats; the month bitmask decides that without a second aggregation, and is exact for loans
    # spanning fewer than MONTH_MASK_BITS months. Only when it fires, or cannot decide, is the
    # key-by-key duplicate query run.
    suspect = con.execute(
        f"SELECT count(*) FROM loan_facts WHERE rows <> months OR span >= {MONTH_MASK_BITS}").fetchone()[0]
    if suspect:
        _duplicates(con, source, view, findings, cap, ("bank_id", "as_of", "loan_id"))
    for column, lo, hi in ORIGINATION_FACTS:
        total = con.execute(f"SELECT count(*) FROM loan_facts WHERE {lo} <> {hi}").fetchone()[0]
        shown = "" if column == "borrower_id" else f", {lo}, {hi}"
        for row, loan_id, *values in con.execute(
                f"SELECT last_row, loan_id{shown} FROM loan_facts WHERE {lo} <> {hi} ORDER BY last_row LIMIT {cap}"
        ).fetchall():
            findings.add(Problem(
                file=str(source.path), row=int(row), column=column, rule="origination_changed", severity="warning",
                message=f"loan {loan_id} has a different {column} in different snapshots; the first snapshot's is used",
                value=" .. ".join(map(str, values)) or None, accepted="the same origination facts on every snapshot"),
                count=0)
        if total:
            findings.add_count("warning", "origination_changed", int(total))
    rows = con.execute(f"SELECT count(*) OVER (), row, loan_id, orig, earlier_loan_id, earlier_orig "
                       f"FROM ({FIRST_LOAN_NOT_FIRST}) ORDER BY row LIMIT {cap}").fetchall()
    for total, row, loan_id, orig, earlier_id, earlier in rows:
        findings.add(Problem(
            file=str(source.path), row=int(row), column="is_first_loan", rule="first_loan_not_first",
            message=f"operating loan {loan_id} of {orig} is flagged as a first loan, but the same borrower already had "
                    f"operating loan {earlier_id} of {earlier} in the tape", value="true",
            severity="warning", accepted="is_first_loan true only on the borrower's earliest operating loan"),
            count=0)
    if rows:
        findings.add_count("warning", "first_loan_not_first", int(rows[0][0]))


def _predecessor_check(con, source: Source, view: str, findings: Findings, cap: int) -> None:
    """A predecessor_loan_id (上笔借据号) that names no loan of the same bank in the tape: the renewal chain
    breaks there (notice 四(九)). Loans originated on or before the bank's first snapshot are left out: what
    they replaced may have ended before the tape begins."""
    rows = con.execute(f"""
        WITH firsts AS (SELECT bank_id, min(first_as_of) AS first_as_of FROM loan_facts GROUP BY bank_id)
        SELECT count(*) OVER (), min(t._row), t.loan_id, t.predecessor_loan_id
        FROM {view} t JOIN firsts f USING (bank_id)
        WHERE t.predecessor_loan_id IS NOT NULL AND t.origination_date > f.first_as_of
          AND NOT EXISTS (SELECT 1 FROM loan_facts l WHERE l.bank_id = t.bank_id AND l.loan_id = t.predecessor_loan_id)
        GROUP BY t.bank_id, t.loan_id, t.predecessor_loan_id ORDER BY 2 LIMIT {cap}
    """).fetchall()
    for total, row, loan_id, predecessor in rows:
        findings.add(Problem(
            file=str(source.path), row=int(row), column="predecessor_loan_id", rule="predecessor_not_in_tape",
            severity="warning", message=f"loan {loan_id} replaces loan {predecessor}, which is not in the tape for "
                                        "this bank; its renewal chain starts here", value=str(predecessor),
            accepted="the loan_id of a loan of the same bank in the tape"), count=0)
    if rows:
        findings.add_count("warning", "predecessor_not_in_tape", int(rows[0][0]))


def _file_findings(source: Source) -> Findings:
    """Rows the CSV reader rejected and headers not in the contract."""
    findings = Findings()
    for problem in source.rejected:
        findings.add(problem)
    if source.ignored:
        findings.add(Problem(file=str(source.path), row=1, rule="unknown_columns", severity="warning",
                             message="columns not in the contract are ignored: " + ", ".join(map(str, source.ignored[:30]))))
    return findings


def check_tape_rows(con, source: Source, coverage_end: pd.Timestamp | None,
                    cap: int = DEFAULT_CAP) -> tuple[Findings, list]:
    """Every row rule in one scan of the raw tape (docs/data-contract.md §10); also returns the
    rate shape that :func:`check_tape_consistency` needs, from the same scan."""
    findings = _file_findings(source)
    extra = RATE_SHAPE if "rate_pct" in source.columns else ()
    shape = _row_scan(con, source, TAPE_COLUMNS, tape_row_rules(source, coverage_end), findings, cap, extra)
    return findings, shape


def check_tape_consistency(con, source: Source, view: str, findings: Findings, rate_shape: list,
                           cap: int = DEFAULT_CAP) -> None:
    """Column and cross-row rules over the normalised tape: rates as fractions, and per loan duplicate
    keys, first-loan flags against the borrower's history, origination facts that change; predecessor loans
    (上笔借据号) missing from the tape."""
    if rate_shape:
        _rates_as_fractions(con, source, *rate_shape, findings)
    _loan_checks(con, source, view, findings, cap)
    if "predecessor_loan_id" in source.columns:
        _predecessor_check(con, source, view, findings, cap)


def check_totals(con, source: Source, normalised_view: str, cap: int = DEFAULT_CAP) -> Findings:
    findings = _file_findings(source)
    _row_scan(con, source, TOTALS_COLUMNS, totals_row_rules(source), findings, cap)
    _duplicates(con, source, normalised_view, findings, cap, ("bank_id", "as_of"))
    return findings


def check_tape_against_totals(con, tape_path: str, totals_path: str, findings: Findings) -> None:
    """The tape cannot hold more loans than the bank has; every tape month should have totals."""
    rows = con.execute("""
        WITH t AS (SELECT bank_id, as_of, sum(balance_cny) AS bal FROM tape GROUP BY ALL)
        SELECT t.bank_id, t.as_of, t.bal, o.total_loans_cny
        FROM t LEFT JOIN totals o USING (bank_id, as_of) ORDER BY t.bank_id, t.as_of
    """).fetchall()
    for bank_id, as_of, balance, total in rows:
        if total is None:
            findings.add(Problem(file=totals_path, column="as_of", rule="totals_month_missing", severity="warning",
                                 message=f"no totals row for bank {bank_id} at {as_of}; the tape's own total is not used "
                                         "in its place", value=str(as_of)))
        elif balance > total * (1 + 1e-9):
            findings.add(Problem(file=totals_path, column="total_loans_cny", rule="tape_above_totals",
                                 message=f"bank {bank_id} at {as_of}: the tape's balance {balance:,.2f} exceeds "
                                         f"total loans {total:,.2f}", value=f"{total}",
                                 accepted="total_loans_cny >= the tape's balance for the same bank and month"))

