"""Volume targets (保量, notice 二(一)): segment balances, year-to-date growth against all loans.

``monthly_stocks`` is one scan of the bank's rows giving every month end's
balances, NPL balances and borrower counts by segment; the volume and risk
metrics read it at the period end and at the previous year end.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from pucredit.contract.errors import InputError, Problem
from pucredit.analyses.document import VolumeMetrics
from pucredit.config.periods import Period
from pucredit.config.policy import REQUIRED_SEGMENTS, BankTerms, Policy, Target
from pucredit.engine.segments import SegmentColumn
from pucredit.engine.sql import sum_cny
from pucredit.engine.tape import Bank

def monthly_stocks(bank: Bank, dates: list[pd.Timestamp] | None = None) -> pd.DataFrame:
    """Per month end (or only at ``dates``): balance and NPL balance of all tape loans and of each segment,
    borrower counts.

    Columns ``tape_total_cny``, ``tape_npl_cny``, ``<segment>_balance_cny``, ``<segment>_npl_cny``,
    ``<segment>_borrowers``; plus, from the totals file when given, ``totals_loans_cny``,
    ``totals_npl_cny``, ``county_loans_cny``, ``county_deposits_cny``; and ``total_loans_cny``,
    ``total_npl_cny`` from the source that applies (docs/data-contract.md §17: totals file, else the tape).
    """
    # Sums per month end; borrowers by one grouping per (month end, borrower) with a flag per segment, where a
    # count(DISTINCT) per segment would build one hash table each.
    known = "borrower_id IS NOT NULL"
    sums = [f"{sum_cny('balance_cny')} AS tape_total_cny", f"{sum_cny('balance_cny', 'is_npl')} AS tape_npl_cny"]
    flags = [f"bool_or(balance_cny > 0) AND {known} AS all_borrowers"]
    counts = ["CAST(count_if(all_borrowers) AS BIGINT) AS all_borrowers"]
    for name, segment in bank.segments.items():
        flag = segment.flag
        sums += [f"{sum_cny('balance_cny', flag)} AS {name}_balance_cny",
                 f"{sum_cny('balance_cny', f'{flag} AND is_npl')} AS {name}_npl_cny"]
        flags.append(f"bool_or({flag} AND balance_cny > 0) AND {known} AS {name}_borrowers")
        counts.append(f"CAST(count_if({name}_borrowers) AS BIGINT) AS {name}_borrowers")
    columns = ["tape_total_cny", "tape_npl_cny", "all_borrowers"]
    columns += [f"{name}_{part}" for name in bank.segments for part in ("balance_cny", "npl_cny", "borrowers")]
    dates = None if dates is None else [d.date() for d in dates]
    where = "true" if dates is None else "list_contains($dates, as_of)"
    stocks = bank.sql(f"""
        WITH sums AS (SELECT as_of, {', '.join(sums)} FROM {{loans}} WHERE {where} GROUP BY as_of),
             borrowers AS (SELECT as_of, {', '.join(flags)} FROM {{loans}} WHERE {where} GROUP BY as_of, borrower_id),
             counts AS (SELECT as_of, {', '.join(counts)} FROM borrowers GROUP BY as_of)
        SELECT as_of, {', '.join(columns)} FROM sums JOIN counts USING (as_of) ORDER BY as_of
    """, {} if dates is None else {"dates": dates})
    stocks["as_of"] = pd.to_datetime(stocks["as_of"])
    stocks = stocks.set_index("as_of")
    stocks = stocks.astype({c: "float64" for c in stocks.columns if c.endswith("_cny")})
    if bank.has_totals:
        replaced = {name: seg.totals_column for name, seg in bank.policy.segments.items() if seg.totals_column}
        extra = "".join(f", {column}" for column in replaced.values())
        totals = bank.con.execute(
            "SELECT as_of, total_loans_cny AS totals_loans_cny, total_npl_cny AS totals_npl_cny, "
            f"county_loans_cny, county_deposits_cny{extra} FROM totals WHERE bank_id = $bank AND {where} ORDER BY as_of",
            {"bank": bank.bank_id, **({} if dates is None else {"dates": dates})}).df()
        totals["as_of"] = pd.to_datetime(totals["as_of"])
        stocks = stocks.join(totals.set_index("as_of"), how="outer")
        stocks["total_loans_cny"] = stocks["totals_loans_cny"]
        stocks["total_npl_cny"] = stocks["totals_npl_cny"]
        for name, column in replaced.items():  # e.g. 涉农贷款余额 when the tape does not hold every agri loan
            given = stocks.pop(column).astype("float64")
            stocks[f"{name}_balance_cny"] = given.where(given.notna(), stocks[f"{name}_balance_cny"])
    else:
        stocks["total_loans_cny"] = stocks["tape_total_cny"]
        stocks["total_npl_cny"] = stocks["tape_npl_cny"]
    return stocks


def totals_source(bank: Bank) -> str:
    """Which source the bank's total loans and total NPL come from (docs/data-contract.md §7)."""
    return "totals_file" if bank.has_totals else "tape"


def stock_at(stocks: pd.DataFrame, date: pd.Timestamp, bank: Bank) -> pd.Series:
    """The month-end row at ``date``; a period end the tape does not reach is bad usage."""
    if date not in stocks.index or pd.isna(stocks.loc[date, "tape_total_cny"]):
        raise InputError(Problem(file=str(bank.tape.path), column="as_of", rule="period_not_in_tape",
                                 value=str(date.date()), message="the tape has no snapshot at the period's last month end",
                                 accepted=f"a period ending between {bank.months[0].date()} and {bank.months[-1].date()}"))
    return stocks.loc[date]


def growth(stocks: pd.DataFrame, column: str, period: Period) -> tuple[float | None, str | None]:
    """Year-to-date growth of a stock column (fraction), or None with the reason."""
    base = period.base_date
    if base not in stocks.index or pd.isna(stocks.loc[base, column]):
        return None, f"no snapshot at the base date {base.date()} (previous year end)"
    start, end = stocks.loc[base, column], stocks.loc[period.end, column]
    if not start:
        return None, f"zero balance at the base date {base.date()}"
    return float(end / start - 1), None


@dataclass(frozen=True)
class TargetAssessment:
    """How a target of notice 二(一) applies to a bank and whether it is met.

    ``basis``: ``notice`` (the notice sets it for the bank's category, or the category is not given),
    ``local_office`` (the bank file's ``targets``: a growth floor set by the local office), or ``reference``
    (it does not bind the bank: shown for information, ``met`` is None and ``reason`` says why).
    ``benchmark``: the growth the segment must reach (a fraction): all-loan growth, zero, or the floor.
    """

    target: Target
    basis: str
    benchmark: float | None
    met: bool | None
    reason: str | None = None

    @property
    def binding(self) -> bool:
        return self.basis != "reference"


def assess_target(target: Target, terms: BankTerms, growth_: float | None, total_growth: float | None,
                  label_en: str) -> TargetAssessment:
    """Notice 二(一): which banks a target binds (``applies_to`` by category; a local office's own target in the
    bank file overrides), the growth it asks for, and whether the segment's growth reaches it."""
    local = terms.targets.get(target.local_key)
    if local == "none":
        return TargetAssessment(target, "reference", None, None,
                                "reference, not a regulatory target for this bank: its local office set none")
    if local is not None:
        benchmark, basis = local / 100, "local_office"
    elif terms.category is None or target.applies_to == "all" or terms.category in target.applies_to:
        benchmark, basis = (total_growth if target.rule == "growth_not_below_total" else 0.0), "notice"
    else:
        whom = ", ".join(c.replace("_", "-") for c in target.applies_to)
        office = "; the local office sets this bank's (bank file targets: " + target.local_key + ")" \
            if target.local_office_sets else ""
        return TargetAssessment(target, "reference", None, None,
                                f"reference, not a regulatory target for this bank: the notice sets it for {whom} "
                                f"banks{office}")
    if growth_ is None or benchmark is None:
        return TargetAssessment(target, basis, benchmark, None, f"no growth of {label_en.lower()} to assess")
    if target.rule == "balance_growing" and local is None:
        return TargetAssessment(target, basis, benchmark, bool(growth_ > 0))
    return TargetAssessment(target, basis, benchmark, bool(growth_ >= benchmark))


def metrics(bank: Bank, period: Period, stocks: pd.DataFrame, terms: BankTerms | None = None) -> VolumeMetrics:
    """The volume section of metrics.json (docs/data-contract.md §3): every segment's balance, growth and
    borrowers, and its target where the policy sets one, as it applies to the bank (``terms``: category and
    local targets from the bank file); the county loan-to-deposit ratio and its change (三(五) 合理提升);
    reasons for every null in ``notes``."""
    terms = terms or BankTerms()
    end = stock_at(stocks, period.end, bank)
    notes: dict[str, str] = {}
    if terms.category is None:
        notes["category"] = ("the bank file gives no category: every target is assessed as binding, as for a large "
                             "bank")

    def grow(column: str, key: str) -> float | None:
        value, reason = growth(stocks, column, period)
        if reason:
            notes[key] = reason
        return value

    total_growth = grow("total_loans_cny", "total_loans_growth")
    base = stocks.loc[period.base_date] if period.base_date in stocks.index else None
    values: dict = {"total_loans_balance_cny": None if pd.isna(end["total_loans_cny"])
                    else round(float(end["total_loans_cny"]), 2),
                    "total_loans_growth": total_growth,
                    "base_date": str(period.base_date.date()), "totals_source": totals_source(bank)}
    for name, segment in bank.segments.items():
        has_balance = bool(stocks[f"{name}_balance_cny"].fillna(0).any())
        if not has_balance and name not in REQUIRED_SEGMENTS:
            notes[name] = _not_applicable(segment)
            continue
        target = bank.policy.target(name)
        seg_growth = grow(f"{name}_balance_cny", f"{name}_growth") if has_balance else None
        if not has_balance:
            notes[name] = (f"not applicable: the bank has no {segment.label_en.lower()} at the base date or the "
                           "period end")
        values.update({f"{name}_balance_cny": round(float(end[f"{name}_balance_cny"]), 2),
                       f"{name}_balance_base_cny": None if base is None else round(float(base[f"{name}_balance_cny"]), 2),
                       f"{name}_growth": seg_growth, f"{name}_borrowers": int(end[f"{name}_borrowers"])})
        if target is None:
            continue
        if target.rule == "growth_not_below_total":
            values[f"{name}_growth_gap_pp"] = (None if seg_growth is None or total_growth is None
                                               else (seg_growth - total_growth) * 100)
        assessed = assess_target(target, terms, seg_growth, total_growth, segment.label_en)
        values[target.key] = assessed.met
        values[f"{name}_target_basis"] = assessed.basis
        values[f"{name}_target_growth"] = assessed.benchmark
        if assessed.reason:
            notes[target.key] = assessed.reason
    values.update(county_loan_to_deposit(stocks, period, notes))
    return VolumeMetrics(**values, notes=notes)


def county_loan_to_deposit(stocks: pd.DataFrame, period: Period, notes: dict[str, str]) -> dict:
    """Notice 三(五) 合理提升县域存贷比水平: the county loan-to-deposit ratio at the period end and at the previous
    year end, its change in pp and whether it rose (from the totals file's county loans and deposits)."""
    def ratio(date):
        if date not in stocks.index or "county_deposits_cny" not in stocks:
            return None
        loans, deposits = stocks.loc[date, "county_loans_cny"], stocks.loc[date, "county_deposits_cny"]
        return None if pd.isna(deposits) or not deposits > 0 or pd.isna(loans) else float(loans / deposits)

    end, base = ratio(period.end), ratio(period.base_date)
    if end is None:
        notes["county_loan_to_deposit_ratio"] = "not applicable: the totals file has no county deposits"
        return {}
    values = {"county_loan_to_deposit_ratio": end, "county_loan_to_deposit_ratio_base": base}
    if base is None:
        notes["county_loan_to_deposit_ratio_rising"] = (f"no county deposits at the base date "
                                                        f"{period.base_date.date()}: the change cannot be judged")
        return values
    return {**values, "county_loan_to_deposit_ratio_change_pp": (end - base) * 100,
            "county_loan_to_deposit_ratio_rising": bool(end > base)}


def _not_applicable(segment: SegmentColumn) -> str:
    if segment.missing:
        return f"not applicable: the tape has no {' or '.join(segment.missing)} column, which tells {segment.label_en.lower()}"
    return f"not applicable: no {segment.label_en.lower()} in the tape"


# ---------------------------------------------------------------- the volume report (notebook 01)

def applicable_segments(stocks: pd.DataFrame) -> list[str]:
    """The segments (policy order) with any balance in the tape: a bank without an agri book shows no agri row."""
    return [c.removesuffix("_balance_cny") for c in stocks.columns
            if c.endswith("_balance_cny") and stocks[c].fillna(0).any()]


def ytd_growth_path(stocks: pd.DataFrame, period: Period) -> pd.DataFrame:
    """Month by month through the period's year: YTD growth of all loans and of each segment."""
    base = period.base_date
    if base not in stocks.index:
        return pd.DataFrame()
    months = stocks.loc[(stocks.index > base) & (stocks.index <= period.end)]
    columns = {"total_loans": "total_loans_cny", **{s: f"{s}_balance_cny" for s in applicable_segments(stocks)}}
    path = pd.DataFrame({name: months[col] / stocks.loc[base, col] - 1 for name, col in columns.items()
                         if stocks.loc[base, col]})
    return path


def extra_needed(stocks: pd.DataFrame, period: Period) -> pd.DataFrame:
    """Balance each segment must add by year end to meet its target if all loans keep their current pace.

    All loans' YTD growth over m months is compounded to a full year, (1 + g)^(12/m) − 1; the
    segment's year-end requirement is its base balance grown at that rate; the extra needed is the
    requirement less the current balance (never below zero). Notice 二(一).
    """
    base = period.base_date
    if base not in stocks.index:
        return pd.DataFrame()
    months = period.end.month
    total, _ = growth(stocks, "total_loans_cny", period)
    if total is None:
        return pd.DataFrame()
    annual = (1 + total) ** (12 / months) - 1
    rows = []
    for segment in ("inclusive_smb", "inclusive_agri", "key_county"):
        if segment not in applicable_segments(stocks):
            continue
        column = f"{segment}_balance_cny"
        required = stocks.loc[base, column] * (1 + annual)
        current = stocks.loc[period.end, column]
        rows.append({"segment": segment, "projected_total_growth": annual, "required_year_end_cny": required,
                     "balance_end_cny": current, "extra_needed_cny": max(0.0, required - current)})
    return pd.DataFrame(rows).set_index("segment") if rows else pd.DataFrame()


def borrower_counts(stocks: pd.DataFrame, period: Period) -> pd.DataFrame:
    """Borrowers with a balance at period end against the same month a year earlier (户数 not below last year)."""
    earlier = period.end - pd.DateOffset(years=1) + pd.offsets.MonthEnd(0)
    rows = []
    for segment in ["all", *[s for s in ("inclusive_smb", "inclusive_agri") if s in applicable_segments(stocks)]]:
        column = f"{segment}_borrowers"
        now = stocks.loc[period.end, column]
        before = stocks[column].get(earlier)
        rows.append({"segment": "total_loans" if segment == "all" else segment, "borrowers": int(now),
                     "borrowers_last_year": None if before is None or pd.isna(before) else int(before),
                     "change": None if before is None or pd.isna(before) else int(now - before)})
    return pd.DataFrame(rows).set_index("segment")


def breakdown(bank: Bank, period: Period, by: str, segment: str = "inclusive_smb") -> pd.DataFrame:
    """A segment's balance at the base date and period end, growth, share and borrowers per ``by`` group
    (branch_id, county_code or borrower_type); empty when the column is absent."""
    if by not in ("branch_id", "county_code", "borrower_type"):
        raise ValueError(f"cannot break down by {by}")
    if not bank.has(by):
        return pd.DataFrame()
    flag = bank.flag(segment)
    frame = bank.sql(f"""
        SELECT coalesce(CAST({by} AS VARCHAR), '(blank)') AS grp,
               {sum_cny('balance_cny', "as_of = $base")} AS balance_base_cny,
               {sum_cny('balance_cny', "as_of = $end")} AS balance_end_cny,
               count(DISTINCT borrower_id) FILTER (WHERE as_of = $end AND balance_cny > 0) AS borrowers
        FROM {{loans}} WHERE {flag} AND as_of IN ($base, $end)
        GROUP BY grp ORDER BY balance_end_cny DESC, grp
    """, {"base": period.base_date.date(), "end": period.end.date()})
    frame = frame.astype({"balance_base_cny": "float64", "balance_end_cny": "float64"}).set_index("grp")
    frame.index.name = by
    frame["growth_ytd"] = (frame["balance_end_cny"] / frame["balance_base_cny"].where(frame["balance_base_cny"] > 0)) - 1
    frame["share"] = frame["balance_end_cny"] / frame["balance_end_cny"].sum() if frame["balance_end_cny"].sum() else None
    return frame


def yoy_growth(stocks: pd.DataFrame, column: str) -> pd.Series:
    """Growth over the same month a year earlier, for comparison with published year-on-year series."""
    shifted = stocks[column].copy()
    shifted.index = shifted.index + pd.DateOffset(years=1) + pd.offsets.MonthEnd(0)
    return (stocks[column] / shifted.reindex(stocks.index) - 1).dropna()


def national_comparison(stocks: pd.DataFrame, period: Period) -> pd.DataFrame:
    """The bank's year-on-year growth beside the published national growth of the same month, both bases apart.

    National rows are PBoC 普惠小微 (credit line below 10 million) and NFRA 普惠型小微企业 (10 million and below)
    as published (see data/reference/README.md); NFRA growth is year-to-date or year-on-year as labelled.
    """
    from pucredit.config.reference import load_national

    national = load_national()
    wanted = {"pboc_inclusive_smb_growth_yoy": "pboc_basis", "nfra_inclusive_smb_growth": "nfra_basis",
              "all_rmb_loans_growth_yoy": "total_loans"}
    national = national[national["series"].isin(wanted) & (national["period_end"] <= period.end)]
    bank_smb = yoy_growth(stocks, "inclusive_smb_balance_cny")
    bank_total = yoy_growth(stocks, "total_loans_cny")
    rows = []
    for _, row in national.iterrows():
        date = row["period_end"]
        bank_series = bank_total if row["series"] == "all_rmb_loans_growth_yoy" else bank_smb
        rows.append({"period_end": date, "series": row["series"], "label": wanted[row["series"]],
                     "measure": row["measure"], "status": row["status"], "national_growth": row["value"] / 100,
                     "bank_growth_yoy": bank_series.get(date)})
    return pd.DataFrame(rows)


def targets_finding(table: pd.DataFrame, lang: str = "zh") -> str:
    """One plain sentence on the growth targets of notice 二(一)."""
    from pucredit.report.labels import label

    parts = []
    total = table.loc["total_loans", "growth_ytd"] if "total_loans" in table.index else None
    for segment in ("inclusive_smb", "inclusive_agri"):
        if segment not in table.index:
            parts.append(f"{label(segment, lang)}：不适用（无此类贷款）" if lang == "zh"
                         else f"{label(segment, lang)}: not applicable (no such loans)")
            continue
        row = table.loc[segment]
        if row["growth_ytd"] is None or pd.isna(row["growth_ytd"]) or total is None or pd.isna(total):
            parts.append(f"{label(segment, lang)}增速无法计算（{row['note']}）" if lang == "zh"
                         else f"{label(segment, lang)} growth cannot be computed ({row['note']})")
            continue
        g, gap = row["growth_ytd"] * 100, row["gap_pp"]
        if lang == "zh":
            verdict = "达到" if row["target_met"] else "未达到"
            side = "高于" if gap >= 0 else "低于"
            parts.append(f"{label(segment, lang)}较年初增长{g:.1f}%，{side}各项贷款增速{abs(gap):.1f}个百分点，{verdict}监管目标")
        else:
            verdict = "meets" if row["target_met"] else "misses"
            side = "above" if gap >= 0 else "below"
            parts.append(f"{label(segment, lang)} grew {g:.1f}% year to date, {abs(gap):.1f} pp {side} all loans: "
                         f"it {verdict} the target")
    return ("；".join(parts) + "。") if lang == "zh" else ("; ".join(parts) + ".")
