"""Data-quality review of one bank's tape (notice 五(十一): internal sampling and audit; quarterly re-checks).

- :func:`rule_counts`: every check by branch and month, with all the rows of that branch and month, so that
  the share of rows affected is exact. Checks are the contract's row rules (docs/data-contract.md §10) and plausibility checks beyond the
  contract whose thresholds live in the policy file's ``quality`` section.
- :func:`threshold_bunching`, :func:`branch_breaks`, :func:`first_loan_flags_by_branch`: checks of whole series
  (credit lines at or just under a segment's limit, sudden breaks in a branch's balance, branches whose first-loan
  flags stand out).
- :func:`audit_sample`: a stratified sample (branch x segment x risk class) for manual re-checking, the same for
  the same seed on any machine; :func:`restore_ids` puts raw borrower ids back only for the holder of the
  pseudonymisation key.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from pucredit.contract.errors import InputError, Problem, check_model
from pucredit.config.paths import write_text_atomic
from pucredit.config.periods import Period
from pucredit.engine.segments import rule_sql
from pucredit.contract.read import pseudonym_sql
from pucredit.config.reference import lpr_coverage_end
from pucredit.contract.csv_export import csv_text
from pucredit.engine.sql import IN_PERIOD, period_params, sql_quote
from pucredit.engine.tape import Bank, Tape
from pucredit.contract.validate import FIRST_LOAN_NOT_FIRST, ORIGINATION_FACTS, tape_row_rules

RAW_COLUMN = re.compile(r"\br_\w+")  # row rules that read raw values run in validation only
ROBUST_SD = 1.4826  # MAD to standard deviation under normality
STRATA = ("branch_id", "segment", "risk_class")
NO_BRANCH = "—"


@dataclass(frozen=True)
class Check:
    """One row-level check: a SQL condition over a bank's snapshot rows or its originations."""

    rule: str
    column: str
    condition: str
    population: str  # "rows" (snapshot rows, by as_of) or "originations" (by origination month)
    kind: str  # "validation" (a contract rule) or "plausibility" (beyond the contract)
    severity: str = "warning"


def checks(bank: Bank) -> list[Check]:
    """The contract's row rules that read normalised values, and the plausibility checks of the policy file."""
    q = bank.policy.quality
    found = [Check(r.rule, r.column, r.condition, "rows", "validation", r.severity)
             for r in tape_row_rules(bank.tape.source, lpr_coverage_end(bank.tape.lpr))
             if not RAW_COLUMN.search(r.condition)]
    found += [
        Check("rate_far_below_lpr", "rate_pct",
              f"pricing_base <> 'fixed' AND rate_pct < lpr_pct - {q.rate_floor_below_lpr_pp.value!r}",
              "originations", "plausibility"),
        Check("rate_above_lpr_multiple", "rate_pct", f"rate_pct > {q.rate_ceiling_lpr_multiple.value!r} * lpr_1y_pct",
              "originations", "plausibility"),
    ]
    if bank.has("is_poverty_household"):
        found.append(Check(
            "poverty_household_over_limit", "is_poverty_household",
            f"is_poverty_household AND (amount_cny > {q.poverty_household_max_amount_cny.value!r} OR maturity_date > "
            f"origination_date + INTERVAL {int(q.poverty_household_max_term_months.value)} MONTH)",
            "originations", "plausibility"))
    return found


def _branch(bank: Bank, table: str = "") -> str:
    """SQL for a row's branch; tapes without branch_id are one branch."""
    column = f"{table}.branch_id" if table else "branch_id"
    return f"coalesce({column}, '{NO_BRANCH}')" if bank.has("branch_id") else f"'{NO_BRANCH}'"


def rule_counts(bank: Bank, until: pd.Timestamp | None = None) -> pd.DataFrame:
    """Per check, branch and month (up to ``until`` when given): rows flagged and rows checked — all snapshot
    rows (by as_of) or all new loans (by origination month) of the branch and month, so that a share is of
    all rows (long form; zero counts kept).

    Also the pseudo-check ``any`` per population (rows flagged by at least one check) and the contract's
    cross-row warnings ``origination_changed`` (counted on the loan's last snapshot row) and
    ``first_loan_not_first`` (counted among new loans, by the flagged loan's branch and origination month).
    """
    frames, checked = [], {}
    every_check = checks(bank)
    for population, table, month in (("rows", "{loans}", "as_of"),
                                     ("originations", "{originations}", "last_day(origination_date)")):
        group = [c for c in every_check if c.population == population]
        counts = [f"count_if({c.condition}) AS c{i}" for i, c in enumerate(group)]
        counts.append(f"count_if({' OR '.join(f'coalesce({c.condition}, false)' for c in group)}) AS c_any")
        wide = bank.sql(f"SELECT {_branch(bank)} AS branch_id, {month} AS month, count(*) AS checked, "
                        f"{', '.join(counts)} FROM {table} GROUP BY ALL")
        checked[population] = wide[["branch_id", "month", "checked"]]
        for i, check in enumerate([*group, Check("any", "", "", population, "any")]):
            part = wide[["branch_id", "month", "checked"]].copy()
            part["flagged"] = wide[f"c{i}" if check.rule != "any" else "c_any"]
            part[["rule", "kind", "severity", "column", "population"]] = (
                check.rule, check.kind, check.severity, check.column, population)
            frames.append(part)
    bank_id = sql_quote(bank.bank_id)
    cross_row = (
        ("origination_changed", "origination_date", "rows", f"""
            SELECT {_branch(bank, 'p')} AS branch_id, p.as_of AS month, count(*) AS flagged
            FROM loan_facts f JOIN tape_plain p ON p._row = f.last_row
            WHERE f.bank_id = {bank_id} AND ({" OR ".join(f"f.{lo} <> f.{hi}" for _, lo, hi in ORIGINATION_FACTS)})
            GROUP BY ALL"""),
        ("first_loan_not_first", "is_first_loan", "originations", f"""
            SELECT {_branch(bank, 'p')} AS branch_id, last_day(p.origination_date) AS month, count(*) AS flagged
            FROM ({FIRST_LOAN_NOT_FIRST}) f JOIN tape_plain p ON p._row = f.first_row
            WHERE f.bank_id = {bank_id} GROUP BY ALL"""),
    )
    for rule, column, population, query in cross_row:
        part = checked[population].merge(bank.sql(query), on=["branch_id", "month"], how="left").fillna({"flagged": 0})
        part[["rule", "kind", "severity", "column", "population"]] = (rule, "validation", "warning", column, population)
        frames.append(part)
    out = pd.concat(frames, ignore_index=True)
    out["month"] = pd.to_datetime(out["month"])
    out["flagged"] = out["flagged"].astype("int64")
    if until is not None:
        out = out[out["month"] <= until].reset_index(drop=True)
    return out[["rule", "kind", "severity", "column", "population", "branch_id", "month", "flagged", "checked"]]


def plausibility_findings(counts: pd.DataFrame) -> int:
    """Findings of the plausibility checks in :func:`rule_counts` (a row flagged by two checks counts twice)."""
    return int(counts.loc[counts["kind"] == "plausibility", "flagged"].sum())


def summarise(counts: pd.DataFrame, by: str | list[str] = "rule", rules: bool = True) -> pd.DataFrame:
    """Rows flagged, rows checked and the share affected, grouped ``by`` (rule, branch_id, month...).

    ``rules=True`` keeps the individual checks (without ``any``); ``False`` keeps only ``any``, the share
    of rows with at least one finding.
    """
    by = [by] if isinstance(by, str) else list(by)
    part = counts[(counts["rule"] != "any") if rules else (counts["rule"] == "any")]
    keys = ["rule", "kind", "severity", "column", "population"] if rules else ["population"]
    table = part.groupby([*dict.fromkeys([*keys, *by])], dropna=False)[["flagged", "checked"]].sum()
    table["share"] = table["flagged"] / table["checked"].where(table["checked"] > 0)
    return table.reset_index()


def findings_table(tape: Tape) -> pd.DataFrame:
    """Every finding of the tape's validation by severity and rule, with its count and first example (its
    spreadsheet row, column and value; the file is not named, a report may be circulated)."""
    first = {}
    for problem in tape.findings.problems:
        first.setdefault((problem.severity, problem.rule), problem)
    rows = [{"severity": sev, "rule": rule, "count": n,
             **{f"example_{k}": getattr(first.get((sev, rule)), k, None) for k in ("row", "column", "value")}}
            for (sev, rule), n in sorted(tape.findings.counts.items())]
    return pd.DataFrame(rows, columns=["severity", "rule", "count", "example_row", "example_column", "example_value"])


# ------------------------------------------------------------------ series checks

def threshold_bunching(bank: Bank, period: Period) -> pd.DataFrame:
    """Per segment rule with a credit-line limit: borrowers with a line just under the limit, exactly at it, and just
    over it (notice 五(十一); the limits are inclusive, 1000万元（含）以下).

    ``below`` is [limit − w, limit), ``at`` the limit itself, ``above`` (limit, limit + w], with w the policy's
    ``threshold_band`` of the limit: mirror images, each holding as many round amounts. The test is of what the
    definition takes in against what it leaves out: with no sorting around the limit about half of the borrowers
    are at or below it, and ``p_value`` is the one-sided binomial test of more than that. A line exactly at the limit
    is the likeliest fitted line, but also a round amount: ``at`` is shown apart so that a heap there can be seen.
    """
    from scipy import stats  # imported here: a second or more, and only the quality report needs it
    band = bank.policy.quality.threshold_band.value
    as_of = _last_snapshot(bank, period)
    rows = []
    for segment, definition in bank.policy.segments.items():
        for rule in definition.rules:
            limit = rule.credit_line_max_cny
            if limit is None:
                continue
            width = limit * band
            counted = bank.sql(f"""
                SELECT count(DISTINCT borrower_id) FILTER (WHERE credit_line_cny >= {limit - width!r}
                                                          AND credit_line_cny < {limit!r}) AS below,
                       count(DISTINCT borrower_id) FILTER (WHERE credit_line_cny = {limit!r}) AS at,
                       count(DISTINCT borrower_id) FILTER (WHERE credit_line_cny > {limit!r}
                                                          AND credit_line_cny <= {limit + width!r}) AS above
                FROM {{loans}} WHERE as_of = $as_of AND balance_cny > 0
                  AND {rule_sql(rule, bank.policy, bank.tape.columns, with_credit_line=False) or "false"}
            """, {"as_of": as_of.date()}).iloc[0]
            below, at, above = int(counted["below"]), int(counted["at"]), int(counted["above"])
            inside, near = below + at, below + at + above
            rows.append({"segment": segment, "borrower_types": ", ".join(rule.borrower_types or []), "limit_cny": limit,
                         "below": below, "at": at, "above": above,
                         "share_at_or_below": inside / near if near else None,
                         "p_value": stats.binomtest(inside, near, 0.5, "greater").pvalue if near else None})
    return pd.DataFrame(rows)


def _last_snapshot(bank: Bank, period: Period) -> pd.Timestamp:
    """The stock date of a period: its last month end the tape holds."""
    as_of = max((m for m in bank.months if m <= period.end), default=None)
    if as_of is None:
        raise InputError(Problem(file=str(bank.tape.path), column="as_of", rule="period_not_in_tape",
                                 message=f"no snapshot on or before {period.end.date()}", value=period.label))
    return as_of


def branch_balances(bank: Bank) -> pd.DataFrame:
    """All-loan balance by month end (rows) and branch (columns), yuan."""
    frame = bank.sql(f"SELECT {_branch(bank)} AS branch_id, as_of, sum(balance_cny) AS balance "
                     "FROM {loans} GROUP BY ALL")
    return frame.pivot(index="as_of", columns="branch_id", values="balance").sort_index()


def branch_breaks(balances: pd.DataFrame, z: float, min_change: float = 0.1) -> pd.DataFrame:
    """Months in which a branch's balance jumps: a log change more than ``z`` robust standard deviations
    (1.4826 MAD) from the branch's own median change, and at least ``min_change`` (10 %) either way.

    ``balances`` is :func:`branch_balances`' shape. A branch needs six changes to judge; the MAD is floored
    at half a percent so that a very smooth branch does not flag ordinary months.
    """
    rows = []
    for branch in balances.columns:
        series = balances[branch].where(balances[branch] > 0)
        change = np.log(series).diff().dropna()
        if len(change) < 6:
            continue
        median = change.median()
        spread = max(ROBUST_SD * (change - median).abs().median(), 0.005)
        score = (change - median) / spread
        for month in change.index[(score.abs() > z) & (change.abs() >= math.log1p(min_change))]:
            before = balances[branch].shift(1).loc[month]
            rows.append({"branch_id": branch, "month": month, "balance_before_cny": before,
                         "balance_cny": balances[branch].loc[month], "change": math.expm1(change.loc[month]),
                         "robust_z": score.loc[month]})
    return pd.DataFrame(rows, columns=["branch_id", "month", "balance_before_cny", "balance_cny", "change", "robust_z"])


def first_loan_flags_by_branch(bank: Bank, period: Period, alpha: float = 0.01) -> pd.DataFrame:
    """Per branch: inclusive small-micro borrowers originated in the period, those flagged 首贷, those of them whose
    flag the tape's history contradicts (``not_first_borrowers``: validation's warning first_loan_not_first, an
    earlier operating loan), and whether the branch's share differs from the rest of the bank's beyond chance
    (two-sided binomial test, Bonferroni over branches at ``alpha``). Flags no history can confirm are what
    supervisors re-check first (notice 五(十一))."""
    from scipy import stats  # imported here: a second or more, and only the quality report needs it
    not_first = f"SELECT loan_id FROM ({FIRST_LOAN_NOT_FIRST}) WHERE bank_id = {sql_quote(bank.bank_id)}"
    frame = bank.sql(f"""
        SELECT {_branch(bank)} AS branch_id, count(DISTINCT borrower_id) AS borrowers,
               count(DISTINCT borrower_id) FILTER (WHERE is_first_loan) AS first_loan_borrowers,
               count(DISTINCT borrower_id) FILTER (WHERE is_first_loan AND loan_id IN ({not_first}))
                   AS not_first_borrowers
        FROM {{originations}}
        WHERE {bank.flag('inclusive_smb')} AND {IN_PERIOD}
        GROUP BY ALL ORDER BY 1
    """, period_params(period))
    frame = frame[frame["borrowers"] > 0].reset_index(drop=True)  # a tape without branch_id gives one empty group
    if frame.empty:
        return frame.assign(share=[], rest_share=[], p_value=[], outlier=[])
    total_b, total_f = frame["borrowers"].sum(), frame["first_loan_borrowers"].sum()
    frame["share"] = frame["first_loan_borrowers"] / frame["borrowers"]
    rest_b, rest_f = total_b - frame["borrowers"], total_f - frame["first_loan_borrowers"]
    frame["rest_share"] = (rest_f / rest_b.where(rest_b > 0)).fillna(total_f / total_b)
    frame["p_value"] = [stats.binomtest(int(f), int(b), min(max(p, 1e-9), 1 - 1e-9)).pvalue
                        for f, b, p in zip(frame["first_loan_borrowers"], frame["borrowers"], frame["rest_share"])]
    frame["outlier"] = frame["p_value"] < alpha / len(frame)
    return frame


# ------------------------------------------------------------------ audit sample

def allocate(sizes: pd.Series, n: int) -> pd.Series:
    """Sample size per stratum: one from every non-empty stratum, the rest in proportion to the stratum's size
    (largest remainders), never more than the stratum holds. Asking for fewer than the strata gives one each."""
    sizes = sizes[sizes > 0].astype("int64")
    take = pd.Series(1, index=sizes.index, dtype="int64")
    remaining = min(n, int(sizes.sum())) - len(sizes)
    while remaining > 0:
        room = sizes - take
        open_ = room > 0
        quota = remaining * sizes[open_] / sizes[open_].sum()
        add = np.minimum(np.floor(quota), room[open_]).astype("int64")
        if add.sum() == 0:  # hand out the last units by largest remainder
            order = (quota - np.floor(quota)).sort_values(ascending=False, kind="stable").index
            add = pd.Series(0, index=quota.index, dtype="int64")
            add[order[:remaining]] = 1
        take = take.add(add, fill_value=0).astype("int64")
        remaining -= int(add.sum())
    return take


def audit_sample(bank: Bank, period: Period, size: int = 200, seed: int = 2024) -> pd.DataFrame:
    """A stratified random sample of the loans outstanding at the period end, for manual re-checking (五(十一)).

    Strata are branch x exclusive group (inclusive_smb, agri_not_smb: inclusive agri loans not also small-micro,
    other) x risk class; every stratum is
    covered (:func:`allocate`). Within a stratum, loans are ranked by a hash of the seed and the loan id, so
    the sample depends only on the data, the size and the seed — not on row order, engine or machine.
    ``weight`` is the stratum's loans over its sampled loans (for estimating error rates from the audit).
    Borrower ids stay pseudonymised; ``source_row`` is the loan's row in the tape file.
    """
    if size < 1:
        raise InputError(Problem(file="notebook parameters", column="audit_size", rule="bad_parameter",
                                 message="sample size must be positive", value=str(size), accepted="a whole number >= 1"))
    as_of = _last_snapshot(bank, period)
    segment = (f"CASE WHEN {bank.flag('inclusive_smb')} THEN 'inclusive_smb' WHEN {bank.flag('inclusive_agri')} "
               "THEN 'agri_not_smb' ELSE 'other' END")
    population = (f"(SELECT *, {_branch(bank)} AS stratum_branch, {segment} AS segment FROM {{loans}} "
                  "WHERE as_of = $as_of AND balance_cny > 0)")
    params = {"as_of": as_of.date()}
    sizes = bank.sql(f"SELECT stratum_branch AS branch_id, segment, risk_class, count(*) AS n FROM {population} "
                     "GROUP BY ALL ORDER BY ALL", params).set_index(list(STRATA))["n"]
    allocation = allocate(sizes, size).rename("stratum_sample").reset_index()
    allocation["stratum_loans"] = sizes.loc[pd.MultiIndex.from_frame(allocation[list(STRATA)])].to_numpy()
    name = "_audit_allocation"
    bank.con.register(name, allocation)
    try:
        sample = bank.sql(f"""
            WITH ranked AS (
                SELECT p.*, row_number() OVER (PARTITION BY stratum_branch, segment, risk_class
                                               ORDER BY sha256({sql_quote(f'{seed}|')} || loan_id), loan_id) AS draw
                FROM {population} p
            )
            SELECT r.bank_id, r.as_of, a.branch_id, r.segment, r.risk_class, r.loan_id, r.borrower_id,
                   r._row AS source_row, r.borrower_type, r.is_business, r.is_agri, r.is_first_loan, r.is_renewal,
                   r.guarantee, r.credit_line_cny, r.amount_cny, r.balance_cny, r.origination_date,
                   r.maturity_date, r.rate_pct, r.days_past_due, r.county_code,
                   a.stratum_loans, a.stratum_sample, a.stratum_loans / a.stratum_sample AS weight
            FROM ranked r JOIN {name} a
              ON a.branch_id = r.stratum_branch AND a.segment = r.segment AND a.risk_class = r.risk_class
            WHERE r.draw <= a.stratum_sample
            ORDER BY a.branch_id, r.segment, r.risk_class, r.loan_id
        """, params)
    finally:
        bank.con.unregister(name)
    for column in ("as_of", "origination_date", "maturity_date"):
        sample[column] = pd.to_datetime(sample[column]).dt.date
    sample["audit_result"] = ""  # for the auditor: ok, or what was found
    sample["audit_note"] = ""
    return sample


class AuditParameters(BaseModel):
    """The quality notebook's own parameters (papermill ``-p``)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    audit_size: int = Field(200, ge=1)
    audit_seed: int = Field(2024, ge=0)
    audit_dir: str = ""
    pseudonym_key_file: str = ""


def check_audit_parameters(**params) -> AuditParameters:
    """Check the audit parameters; raw ids go only into an export, so a key file needs an export folder."""
    checked = check_model(AuditParameters, params, "audit_size (whole number >= 1), audit_seed (whole number >= 0), "
                                                    "audit_dir and pseudonym_key_file (text)")
    if checked.pseudonym_key_file and not checked.audit_dir:
        raise InputError(Problem(file="notebook parameters", rule="bad_parameter", column="pseudonym_key_file",
                                 message="raw borrower ids are only written into the exported sample",
                                 accepted="audit_dir set as well"))
    return checked


def export_audit_sample(tape: Tape, bank: Bank, period: Period, sample: pd.DataFrame,
                        params: AuditParameters) -> Path:
    """Write the sample into ``params.audit_dir``; with a key file, raw borrower ids restored (and the file
    name says so)."""
    with_ids = bool(params.pseudonym_key_file)
    if with_ids:
        sample = restore_ids(tape, sample, read_key(params.pseudonym_key_file))
    return write_audit_sample(sample, Path(params.audit_dir) / audit_file_name(bank, period, with_ids))


def read_key(path: str | Path) -> str:
    """The pseudonymisation key from a file the user holds (the key itself never goes into a notebook)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(Problem(file=str(path), rule="key_file_missing", message="no such key file",
                                 accepted="a text file holding the key used as PUCREDIT_PSEUDONYM_KEY"))
    key = path.read_text(encoding="utf-8").strip()
    if not key:
        raise InputError(Problem(file=str(path), rule="key_file_empty", message="the key file is empty"))
    return key


def restore_ids(tape: Tape, sample: pd.DataFrame, key: str) -> pd.DataFrame:
    """The sample with raw borrower ids (``borrower_id_raw``), for the holder of the pseudonymisation key only.

    The key must reproduce every pseudonymised id of the sample from the tape's raw id on the same row;
    otherwise it is not the key the tape was read with, and nothing is restored.
    """
    if not tape.plain_has_raw_ids:
        raise InputError(Problem(file="pseudonym_key_file", rule="no_raw_ids", message="raw ids are not in a run's "
                                 "prepared tape", accepted="run the quality notebook on the tape itself, without context"))
    rows = pd.DataFrame({"_row": sample["source_row"].astype("int64").unique()})
    name = "_audit_rows"
    tape.con.register(name, rows)
    try:
        raw = tape.con.execute(f"SELECT _row, borrower_id, {pseudonym_sql('borrower_id', key)} AS pseudonym "
                               f"FROM tape_plain SEMI JOIN {name} USING (_row)").df()
    finally:
        tape.con.unregister(name)
    merged = sample.merge(raw.rename(columns={"_row": "source_row", "borrower_id": "borrower_id_raw"}),
                          on="source_row", how="left", validate="many_to_one")
    wrong = merged["pseudonym"] != merged["borrower_id"]
    if wrong.any():
        first = merged[wrong].iloc[0]
        raise InputError(Problem(
            file="pseudonymisation key", rule="wrong_key", row=int(first["source_row"]), column="borrower_id",
            message=f"the key does not reproduce {int(wrong.sum())} of {len(merged)} pseudonymised borrower ids: "
                    "it is not the key this tape was read with; no id restored",
            accepted="the key that was in PUCREDIT_PSEUDONYM_KEY when the sample was drawn"))
    columns = list(sample.columns)
    columns.insert(columns.index("borrower_id") + 1, "borrower_id_raw")
    return merged[columns]


def write_audit_sample(sample: pd.DataFrame, path: str | Path) -> Path:
    """Write the sample as CSV (UTF-8 with BOM, so Excel shows Chinese) and return where it went. An existing
    file is never replaced (auditors may have filled it in): the same sample again is left as it is, a
    different one goes beside it as ``<name>-2.csv``, ``<name>-3.csv``…"""
    path = Path(path)
    text = csv_text(sample)
    candidate, n = path, 1
    while candidate.exists():
        if candidate.read_text(encoding="utf-8-sig") == text:
            return candidate
        n += 1
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
    return write_text_atomic(candidate, text, encoding="utf-8-sig")


def audit_file_name(bank: Bank, period: Period, with_ids: bool = False) -> str:
    return f"audit_sample_{bank.bank_id}_{period.label}{'_with_ids' if with_ids else ''}.csv"
