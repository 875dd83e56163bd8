"""Reference data shipped in data/reference (docs/data-contract.md §15): the LPR history and
the published national aggregates.

The LPR is the price the 2024 notice tells banks to set inclusive loans against
(clause 二(二): "根据贷款市场报价利率（LPR），合理确定普惠型小微企业贷款、涉农贷款利率水平").
The LPR that applies to a loan is the latest fixing on or before its
origination date. The table reaches to the month of the latest fixing known;
a later date is an error that says how to extend the table, never a silent
carry-forward. data/reference/README.md documents both files.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from pucredit.contract.errors import InputError, Problem
from pucredit.config.paths import REFERENCE_DIR
from pucredit.contract.schema import DATE_FORMATS, normalise_header

LPR_CSV = REFERENCE_DIR / "lpr.csv"
NATIONAL_CSV = REFERENCE_DIR / "national.csv"

LPR_REFORM_DATE = pd.Timestamp("2019-08-20")  # first fixing of the reformed LPR (PBoC Announcement No.15 [2019])
LPR_REQUIRED = ("fixing_date", "lpr_1y_pct", "lpr_5y_pct")
LPR_OPTIONAL = ("kind", "status", "source", "note")
LPR_KINDS = ("change", "unchanged")
LPR_STATUSES = ("confirmed", "implied", "user")
LPR_TENORS = {"1y": "lpr_1y_pct", "5y": "lpr_5y_pct"}

LPR_DESCR = """
LPR (贷款市场报价利率) history since the 2019-08-20 reform, data/reference/lpr.csv
(docs/data-contract.md §15; notice clause 二(二) prices inclusive loans against the LPR).

One row per fixing at which the 1-year or the 5-year-plus rate changed, plus
fixings documented as leaving both unchanged; the latest row decides how far
the table reaches (lpr_coverage_end: the last day of its month).

fixing_date  date of the fixing (the 20th, or the next working day)
lpr_1y_pct   1-year LPR, percent per year (3.10 means 3.10 %)
lpr_5y_pct   5-year-and-above LPR, percent per year
kind         change: either rate moved at this fixing (the 2019-08-20 start
             counts as a change); unchanged: a documented fixing that left both
status       confirmed: stated by the source; implied: inferred from a later
             report (2019-08-20 5Y, 2019-09-20 1Y); user: a row from a user file
             that gave no status
source       URL(s) of the source, several separated by " ; "
note         what the source says, derived dates, caveats
"""

NATIONAL_DESCR = """
Published national aggregates, data/reference/national.csv (docs/data-contract.md §15),
long form: one published value per row.

series      one of NATIONAL_SERIES
basis       statistical basis; never mixed within a series:
            pboc_lt_10m (PBoC 普惠小微贷款, credit line below 10 million yuan),
            nfra_le_10m (NFRA/CBIRC 普惠型小微企业贷款, 10 million and below),
            pboc_all_loans (PBoC RMB loans, 各项贷款),
            nfra_inclusive_agri (NFRA 普惠型涉农贷款),
            nfra_commercial_banks (all loans of commercial banks)
publisher   PBoC, NFRA, CBIRC (NFRA's predecessor, before May 2023) or CBA
            (China Banking Association)
period_end  last day of the period (datetime); the period's start, where it is
            not obvious (averages), is in note
value       the number as published (float)
unit        cny_tn (RMB trillion), pct (percent: growth and NPL ratios as
            published, 23.3 means 23.3 %, not a fraction), pct_per_year (rates)
measure     stock (balance at period_end), ratio (NPL ratio at period_end),
            yoy / ytd / unknown (growth: year-on-year, year-to-date, not known),
            ytd_average / quarter_average (average new-loan rate from January,
            or over the quarter, to period_end), month_average (the month's
            weighted average)
status      confirmed, derived (arithmetic on sourced numbers, shown in note),
            unconfirmed, inconsistent (kept, but do not use: see note)
source      URL(s) of the source, several separated by " ; "
note        derivations, caveats and context

Use the published yoy growth; do not recompute growth from levels across years
(the PBoC series appear re-based in 2024-2025).
"""

NATIONAL_SERIES = {
    "pboc_inclusive_smb_balance": {"zh": "普惠小微贷款余额（人民银行口径，万亿元）", "en": "Inclusive small-micro loans, PBoC basis (RMB tn)"},
    "pboc_inclusive_smb_growth_yoy": {"zh": "普惠小微贷款同比增速（人民银行口径，%）", "en": "Inclusive small-micro loans growth yoy, PBoC basis (%)"},
    "all_rmb_loans_balance": {"zh": "人民币各项贷款余额（万亿元）", "en": "All RMB loans (RMB tn)"},
    "all_rmb_loans_growth_yoy": {"zh": "人民币各项贷款同比增速（%）", "en": "All RMB loans growth yoy (%)"},
    "nfra_inclusive_smb_balance": {"zh": "普惠型小微企业贷款余额（金融监管总局口径，万亿元）", "en": "Inclusive small-micro business loans, NFRA basis (RMB tn)"},
    "nfra_inclusive_smb_growth": {"zh": "普惠型小微企业贷款增速（金融监管总局口径，%）", "en": "Inclusive small-micro business loans growth, NFRA basis (%)"},
    "nfra_inclusive_smb_new_rate_avg": {"zh": "新发放普惠型小微企业贷款平均利率（%）", "en": "Average rate on new inclusive small-micro business loans, NFRA (%)"},
    "pboc_inclusive_smb_new_rate_month": {"zh": "新发放普惠小微贷款加权平均利率（当月，%）", "en": "Weighted average rate on new inclusive small-micro loans, PBoC, month (%)"},
    "nfra_inclusive_agri_balance": {"zh": "普惠型涉农贷款余额（万亿元）", "en": "Inclusive agriculture-related loans, NFRA (RMB tn)"},
    "commercial_bank_npl_ratio": {"zh": "商业银行不良贷款率（%）", "en": "Commercial banks' NPL ratio (%)"},
    "nfra_inclusive_smb_npl_ratio": {"zh": "普惠型小微企业贷款不良率（%）", "en": "Inclusive small-micro business loans NPL ratio, NFRA (%)"},
}

_EXTEND_HELP = (
    "to extend the table, write a CSV with columns fixing_date,lpr_1y_pct,lpr_5y_pct "
    "holding every later fixing (an unchanged one too), and pass it as load_lpr(extra=...)"
)


def load_lpr(extra: str | Path | None = None) -> pd.DataFrame:
    """The LPR history, one row per fixing date, sorted (docs/data-contract.md §15; notice 二(二)).

    ``extra`` is a user CSV (UTF-8, with or without BOM) with the columns
    fixing_date, lpr_1y_pct, lpr_5y_pct (kind, status, source, note optional)
    whose rows are added to the shipped table. A user row on a shipped date must
    repeat its values. Every problem in either file is collected and raised as
    one InputError naming file, row (header = row 1), column and value.
    Columns: fixing_date (datetime64[ns]), lpr_1y_pct, lpr_5y_pct, kind, status, source.
    """
    problems: list[Problem] = []
    table = _read_lpr_csv(LPR_CSV, problems)
    if extra is not None:
        user = _read_lpr_csv(Path(extra), problems)
        _check_conflicts(table, user, str(extra), problems)
        table = pd.concat([table, user[~user["fixing_date"].isin(table["fixing_date"])]])
    if problems:
        raise InputError(problems)
    table = table.astype({"lpr_1y_pct": float, "lpr_5y_pct": float}).sort_values("fixing_date", ignore_index=True)
    moved = table[["lpr_1y_pct", "lpr_5y_pct"]].diff().abs().sum(axis=1).gt(0) | (table.index == 0)
    table["kind"] = table["kind"].fillna(moved.map({True: "change", False: "unchanged"}))
    table = table.drop(columns=["row", "note"])
    table["fixing_date"] = table["fixing_date"].astype("datetime64[ns]")
    return table


def _read_lpr_csv(path: Path, problems: list[Problem]) -> pd.DataFrame:
    """Read and check one LPR file; problems are appended, bad rows dropped."""
    file = str(path)
    columns = ["row", *LPR_REQUIRED, *LPR_OPTIONAL]
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig").fillna("")
    except FileNotFoundError:
        problems.append(Problem(file, "file not found", "lpr_file"))
        return pd.DataFrame(columns=columns)
    except IsADirectoryError:
        problems.append(Problem(file, "a folder, not a file", "lpr_file", accepted="the path of a CSV file"))
        return pd.DataFrame(columns=columns)
    except PermissionError:
        problems.append(Problem(file, "the file cannot be read (permission denied)", "lpr_file"))
        return pd.DataFrame(columns=columns)
    except UnicodeDecodeError:
        problems.append(Problem(file, "cannot read the file as text", "lpr_file", accepted="UTF-8 or UTF-8 with BOM"))
        return pd.DataFrame(columns=columns)
    except (pd.errors.EmptyDataError, pd.errors.ParserError) as exc:
        problems.append(Problem(file, f"not a readable CSV file: {exc}", "lpr_file",
                                accepted="a CSV file with a header row"))
        return pd.DataFrame(columns=columns)

    raw.columns = [normalise_header(c) for c in raw.columns]
    known = (*LPR_REQUIRED, *LPR_OPTIONAL)
    accepted_cols = f"{', '.join(LPR_REQUIRED)} (required); {', '.join(LPR_OPTIONAL)} (optional)"
    for col in raw.columns:
        if col not in known:
            problems.append(Problem(file, "unknown column", "lpr_columns", row=1, column=col, accepted=accepted_cols))
    missing = [c for c in LPR_REQUIRED if c not in raw.columns]
    for col in missing:
        problems.append(Problem(file, "missing column", "lpr_columns", row=1, column=col, accepted=accepted_cols))
    if missing:
        return pd.DataFrame(columns=columns)

    records = []
    seen: dict[pd.Timestamp, int] = {}
    for i, rec in enumerate(raw.to_dict("records")):
        row = i + 2  # header is row 1
        before = len(problems)
        date = _parse_date(rec["fixing_date"].strip())
        if date is None:
            problems.append(Problem(file, "not a date", "lpr_date", row=row, column="fixing_date",
                                    value=rec["fixing_date"], accepted="2024-10-21, 2024/10/21 or 20241021"))
        elif date < LPR_REFORM_DATE:
            problems.append(Problem(file, "fixing before the 2019-08-20 LPR reform", "lpr_date", row=row,
                                    column="fixing_date", value=rec["fixing_date"], accepted="dates from 2019-08-20"))
        elif date in seen:
            problems.append(Problem(file, f"fixing date repeats row {seen[date]}", "lpr_date", row=row,
                                    column="fixing_date", value=rec["fixing_date"], accepted="one row per fixing date"))
        else:
            seen[date] = row
        rates = {col: _parse_rate(file, row, col, rec[col], problems) for col in ("lpr_1y_pct", "lpr_5y_pct")}
        kind, status = rec.get("kind", "").strip(), rec.get("status", "").strip()
        if kind and kind not in LPR_KINDS:
            problems.append(Problem(file, "unknown kind", "lpr_kind", row=row, column="kind", value=kind,
                                    accepted=", ".join(LPR_KINDS)))
        if status and status not in LPR_STATUSES:
            problems.append(Problem(file, "unknown status", "lpr_status", row=row, column="status", value=status,
                                    accepted=", ".join(LPR_STATUSES)))
        if len(problems) == before:
            records.append({"row": row, "fixing_date": date, **rates, "kind": kind or None,
                            "status": status or "user", "source": rec.get("source", "").strip() or file,
                            "note": rec.get("note", "")})
    return pd.DataFrame(records, columns=columns)


def _parse_date(text: str) -> pd.Timestamp | None:
    for fmt in DATE_FORMATS:
        try:
            return pd.Timestamp(datetime.strptime(text, fmt))
        except ValueError:
            continue
    return None


def _parse_rate(file: str, row: int, column: str, text: str, problems: list[Problem]) -> float | None:
    accepted = "a rate in percent per year, e.g. 3.10 for 3.10 %"
    try:
        value = float(text)
    except ValueError:
        problems.append(Problem(file, "not a number", "lpr_value", row=row, column=column, value=text, accepted=accepted))
        return None
    if not np.isfinite(value) or value <= 0:
        problems.append(Problem(file, "not a positive rate", "lpr_value", row=row, column=column, value=text, accepted=accepted))
        return None
    if value < 1:
        problems.append(Problem(file, "looks like a fraction, not a percent", "lpr_value", row=row, column=column,
                                value=text, accepted=f"{accepted}; multiply fractions such as 0.031 by 100"))
        return None
    return value


def _check_conflicts(table: pd.DataFrame, user: pd.DataFrame, file: str, problems: list[Problem]) -> None:
    """A user row on a shipped fixing date must repeat the shipped values."""
    shipped = table.set_index("fixing_date")
    for rec in user[user["fixing_date"].isin(shipped.index)].to_dict("records"):
        for col in ("lpr_1y_pct", "lpr_5y_pct"):
            known = shipped.at[rec["fixing_date"], col]
            if not np.isclose(rec[col], known):
                problems.append(Problem(
                    file, f"differs from the shipped LPR of {rec['fixing_date']:%Y-%m-%d}", "lpr_conflict",
                    row=rec["row"], column=col, value=f"{rec[col]:g}",
                    accepted=f"{known:.2f} (the shipped value, {LPR_CSV.name}), or leave the date out"))


def lpr_coverage_end(lpr: pd.DataFrame) -> pd.Timestamp:
    """Last day of the month of the latest known fixing: the last date the table covers.

    docs/data-contract.md §15: a loan originated after the month of the latest known fixing
    is an error, never a silent carry-forward.
    """
    return (lpr["fixing_date"].max() + pd.offsets.MonthEnd(0)).normalize()


def applicable_lpr(dates, lpr: pd.DataFrame, tenor: str = "1y") -> np.ndarray:
    """The LPR (percent) that applies on each date: the latest fixing on or before it.

    ``dates`` is array-like (Series, Index, list, array). NaN for dates before
    the first fixing (2019-08-20) and for missing dates. A date after
    lpr_coverage_end raises InputError saying how to extend the table
    (docs/data-contract.md §15; notice 二(二)).
    """
    column = _tenor_column(tenor)
    when = pd.to_datetime(pd.Series(dates)).dt.normalize().to_numpy("datetime64[ns]")
    end = lpr_coverage_end(lpr)
    late = when > end.to_datetime64()
    if late.any():
        latest = lpr["fixing_date"].max()
        raise InputError(Problem(
            "", f"{late.sum()} date(s) after {end:%Y-%m-%d}, the end of the month of the latest known "
            f"LPR fixing ({latest:%Y-%m-%d}); the LPR is never carried forward silently", "lpr_coverage",
            value=f"{pd.Timestamp(when[late].min()):%Y-%m-%d}",
            accepted=f"dates up to {end:%Y-%m-%d}; {_EXTEND_HELP}"))
    fixings = lpr["fixing_date"].to_numpy("datetime64[ns]")
    values = lpr[column].to_numpy(float)
    pos = np.searchsorted(fixings, when, side="right") - 1
    out = np.where(pos >= 0, values[pos.clip(0)], np.nan)
    out[np.isnat(when)] = np.nan
    return out


def lpr_daily(lpr: pd.DataFrame) -> pd.DataFrame:
    """The applicable fixing of every day from the first fixing to lpr_coverage_end: day, lpr_1y_pct, lpr_5y_pct."""
    days = pd.DataFrame({"day": pd.date_range(lpr["fixing_date"].min(), lpr_coverage_end(lpr), freq="D")})
    return pd.merge_asof(days, lpr[["fixing_date", "lpr_1y_pct", "lpr_5y_pct"]].sort_values("fixing_date"),
                         left_on="day", right_on="fixing_date")[["day", "lpr_1y_pct", "lpr_5y_pct"]]


def register_lpr(con, lpr: pd.DataFrame, name: str = "lpr_daily") -> None:
    """Create (or replace) table ``name`` in a DuckDB connection: the applicable LPR of every day from the first
    fixing to lpr_coverage_end (the latest fixing on or before that day), for an equality join that every SQL
    engine runs alike (an ASOF join does not):

    Columns: day DATE, lpr_1y_pct DOUBLE, lpr_5y_pct DOUBLE. Example:
    ``... LEFT JOIN lpr_daily l ON l.day = loans.origination_date``.
    """
    con.register("_lpr_frame", lpr_daily(lpr))
    try:
        con.execute(
            f'CREATE OR REPLACE TABLE "{name}" AS SELECT CAST(day AS DATE) AS day, '
            "CAST(lpr_1y_pct AS DOUBLE) AS lpr_1y_pct, CAST(lpr_5y_pct AS DOUBLE) AS lpr_5y_pct "
            "FROM _lpr_frame ORDER BY day"
        )
    finally:
        con.unregister("_lpr_frame")


def lpr_changes(lpr: pd.DataFrame, start, end, tenor: str = "1y") -> pd.DataFrame:
    """Fixings in [start, end] at which the tenor's LPR moved.

    Columns: fixing_date, old_pct, new_pct, change_bp (integer basis points,
    negative for a cut). The first fixing (2019-08-20) has no predecessor in the
    reformed LPR and is not counted as a change.
    """
    column = _tenor_column(tenor)
    out = pd.DataFrame({
        "fixing_date": lpr["fixing_date"],
        "old_pct": lpr[column].shift(),
        "new_pct": lpr[column],
    })
    moved = out["old_pct"].notna() & ~np.isclose(out["new_pct"], out["old_pct"].fillna(out["new_pct"]))
    inside = out["fixing_date"].between(pd.Timestamp(start), pd.Timestamp(end))
    out = out[moved & inside].reset_index(drop=True)
    out["change_bp"] = ((out["new_pct"] - out["old_pct"]) * 100).round().astype(int)
    return out


def _tenor_column(tenor: str) -> str:
    if tenor not in LPR_TENORS:
        raise InputError(Problem("", "unknown LPR tenor", "usage", column="tenor", value=str(tenor),
                                 accepted=", ".join(LPR_TENORS)))
    return LPR_TENORS[tenor]


def load_national(series: str | None = None) -> pd.DataFrame:
    """Published national aggregates in long form (docs/data-contract.md §15), see NATIONAL_DESCR.

    ``series`` selects one of NATIONAL_SERIES; None returns all. PBoC and NFRA
    bases are separate series: never compute one growth rate across them.
    """
    if series is not None and series not in NATIONAL_SERIES:
        raise InputError(Problem(str(NATIONAL_CSV), "unknown national series", "usage", column="series",
                                 value=series, accepted=", ".join(NATIONAL_SERIES)))
    table = pd.read_csv(NATIONAL_CSV, dtype={"value": float}, keep_default_na=False, encoding="utf-8")
    table["period_end"] = pd.to_datetime(table["period_end"], format="%Y-%m-%d").astype("datetime64[ns]")
    if series is not None:
        table = table[table["series"] == series].reset_index(drop=True)
    return table
