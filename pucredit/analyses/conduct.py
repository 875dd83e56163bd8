"""Conduct screens of notice 五(十) (过度授信, 垒大户, 资金流向) and 无贷户 served (四(七)).

Over-crediting reads the optional bureau columns (credit at all lenders, lender count, revenue), the use of
funds the optional ``payment_method``, 无贷户 the optional ``is_first_bank_loan``; concentration needs only
balances. Every measure is of inclusive small-micro loans (普惠型小微企业贷款): the stock at a month end, or
the loans originated in the period. The thresholds are the policy file's ``conduct`` parameters. SQL is
plain: CASE sums, window functions and integer arithmetic only.
"""
from __future__ import annotations

import pandas as pd

from pucredit.analyses.document import ConductMetrics
from pucredit.config.periods import Period
from pucredit.engine.sql import IN_PERIOD, as_float, period_params, sum_cny
from pucredit.engine.tape import Bank

SEGMENT = "inclusive_smb"
TOP_PERCENTS = (1, 10)  # the largest 1 % and 10 % of borrowers (垒大户)
LENDER_BUCKETS = 5  # lender counts 0..4 shown one by one, then "5 or more"
BUREAU_COLUMNS = ("bureau_lender_count", "bureau_credit_line_cny", "annual_revenue_cny")


def _stock(bank: Bank, where: str = "true") -> str:
    return f"{bank.flag(SEGMENT)} AND balance_cny > 0 AND ({where})"


def _ratio(num, den) -> float | None:
    return float(num) / float(den) if den else None


# ---------------------------------------------------------------- 过度授信 (over-crediting)

def lender_distribution(bank: Bank, end: pd.Timestamp) -> pd.DataFrame:
    """Inclusive small-micro borrowers with a balance at ``end`` by their lender count (授信机构数, a borrower's
    largest count over its loans; 5 and more together): borrowers, balance and their shares."""
    frame = bank.sql(f"""
        WITH b AS (SELECT borrower_id, max(bureau_lender_count) AS lenders, {sum_cny('balance_cny')} AS balance
                   FROM {{loans}} WHERE as_of = $end AND {_stock(bank, 'bureau_lender_count IS NOT NULL')}
                   GROUP BY borrower_id)
        SELECT CASE WHEN lenders >= {LENDER_BUCKETS} THEN {LENDER_BUCKETS} ELSE lenders END AS lenders,
               count(*) AS borrowers, sum(balance) AS balance_cny
        FROM b GROUP BY 1 ORDER BY 1
    """, {"end": end.date()})
    frame["balance_cny"] = frame["balance_cny"].astype("float64")
    frame["borrower_share"] = frame["borrowers"] / frame["borrowers"].sum()
    frame["balance_share"] = frame["balance_cny"] / frame["balance_cny"].sum()
    return frame.set_index("lenders")


def over_crediting(bank: Bank, end: pd.Timestamp) -> dict:
    """Inclusive small-micro balance at ``end`` held by borrowers with credit from ``multi_lender_min_count`` or
    more lenders, and by borrowers whose credit at all lenders exceeds ``over_revenue_multiple`` times their
    revenue, each over the balance where the columns are given (notice 五(十): 防止过度授信)."""
    rules = bank.policy.conduct
    n, multiple = int(rules.multi_lender_min_count.value), rules.over_revenue_multiple.value
    known = "bureau_credit_line_cny IS NOT NULL AND annual_revenue_cny IS NOT NULL"
    over = f"bureau_credit_line_cny > {multiple!r} * annual_revenue_cny"
    row = bank.sql(f"""
        SELECT {sum_cny('balance_cny')} AS balance,
               {sum_cny('balance_cny', 'bureau_lender_count IS NOT NULL')} AS lenders_known,
               {sum_cny('balance_cny', f'bureau_lender_count >= {n}')} AS multi,
               count(DISTINCT CASE WHEN bureau_lender_count >= {n} THEN borrower_id END) AS multi_borrowers,
               {sum_cny('balance_cny', known)} AS revenue_known,
               {sum_cny('balance_cny', f'{known} AND {over}')} AS over,
               count(DISTINCT CASE WHEN {known} AND {over} THEN borrower_id END) AS over_borrowers
        FROM {{loans}} WHERE as_of = $end AND {_stock(bank)}
    """, {"end": end.date()}).iloc[0]
    return {"balance_cny": float(row["balance"]), "lenders_known_cny": float(row["lenders_known"]),
            "multi_lender_cny": float(row["multi"]), "multi_lender_borrowers": int(row["multi_borrowers"]),
            "multi_lender_share": _ratio(row["multi"], row["lenders_known"]),
            "revenue_known_cny": float(row["revenue_known"]), "over_revenue_cny": float(row["over"]),
            "over_revenue_borrowers": int(row["over_borrowers"]),
            "over_revenue_share": _ratio(row["over"], row["revenue_known"]),
            "coverage_share": _ratio(row["lenders_known"], row["balance"]),
            "min_lenders": n, "multiple": multiple}


# ---------------------------------------------------------------- 垒大户 (concentration)

def concentration(bank: Bank, date: pd.Timestamp, by: str | None = None) -> pd.DataFrame:
    """Share of inclusive small-micro balance at ``date`` held by the largest 1 % and 10 % of its borrowers
    (by balance; the largest k = ceil(n × p / 100) of n borrowers, i.e. positions with 100 (pos - 1) < n p), for the bank or within each ``by`` group."""
    group = by if by else "'all'"
    tops = ", ".join(f"{sum_cny('balance', f'100 * (pos - 1) < borrowers * {p}')} AS top{p}" for p in TOP_PERCENTS)
    frame = bank.sql(f"""
        WITH b AS (SELECT {group} AS grp, borrower_id, {sum_cny('balance_cny')} AS balance
                   FROM {{loans}} WHERE as_of = $date AND {_stock(bank)} GROUP BY 1, 2),
             r AS (SELECT grp, balance,
                          row_number() OVER (PARTITION BY grp ORDER BY balance DESC, borrower_id) AS pos,
                          count(*) OVER (PARTITION BY grp) AS borrowers FROM b)
        SELECT grp, max(borrowers) AS borrowers, sum(balance) AS balance_cny, {tops}
        FROM r GROUP BY grp ORDER BY balance_cny DESC, grp
    """, {"date": date.date()})
    for p in TOP_PERCENTS:
        frame[f"top{p}_share"] = frame[f"top{p}"].astype("float64") / frame["balance_cny"].astype("float64")
    frame["balance_cny"] = frame["balance_cny"].astype("float64")
    return frame.drop(columns=[f"top{p}" for p in TOP_PERCENTS]).set_index("grp")


def concentration_change(bank: Bank, period: Period, by: str | None = None) -> pd.DataFrame:
    """:func:`concentration` at the period's start (the month end before it) and end, side by side, with the
    change in percentage points; a group missing at one date has blanks there."""
    start, end = concentration(bank, period.opening, by), concentration(bank, period.end, by)
    frame = start.add_suffix("_start").join(end.add_suffix("_end"), how="outer")
    for p in TOP_PERCENTS:
        frame[f"top{p}_change_pp"] = (frame[f"top{p}_share_end"] - frame[f"top{p}_share_start"]) * 100
    return frame.sort_values("balance_cny_end", ascending=False, na_position="last")


# ---------------------------------------------------------------- 资金流向 (use of funds)

def product_sql() -> str:
    """The product of a loan as the report groups it: guarantee × repayment (还款方式 blank when absent)."""
    return "guarantee || ' / ' || coalesce(repayment, '-')"


def self_paid(bank: Bank, period: Period, by: str | None = None) -> pd.DataFrame:
    """New inclusive small-micro loans of the period with a payment method: loans, amount, and the share of the
    amount the borrower paid out itself (自主支付), for the bank or by ``by`` (``product`` or a column)."""
    group = "'all'" if by is None else product_sql() if by == "product" else by
    flow = f"{IN_PERIOD} AND {bank.flag(SEGMENT)} AND payment_method IS NOT NULL"
    frame = bank.sql(f"""
        SELECT {group} AS grp, count(*) AS loans, {sum_cny('amount_cny')} AS amount_cny,
               {sum_cny('amount_cny', "payment_method = 'self'")} AS self_cny,
               sum(CASE WHEN payment_method = 'self' THEN 1 ELSE 0 END) AS self_loans
        FROM {{originations}} WHERE {flow} GROUP BY 1 ORDER BY amount_cny DESC, grp
    """, period_params(period))
    frame = frame.astype({"amount_cny": "float64", "self_cny": "float64", "self_loans": "int64"})
    frame["self_share"] = frame["self_cny"] / frame["amount_cny"].where(frame["amount_cny"] > 0)
    return frame.set_index("grp")


def self_paid_above(bank: Bank, period: Period) -> pd.DataFrame:
    """New inclusive small-micro loans of the period above the policy's ``self_paid_max_cny`` that the borrower
    paid out itself, largest first (notice 五(十): 资金流向问题线索筛查)."""
    limit = bank.policy.conduct.self_paid_max_cny.value
    branch = "branch_id" if bank.has("branch_id") else "CAST(NULL AS VARCHAR)"
    return bank.sql(f"""
        SELECT loan_id, {branch} AS branch_id, origination_date, amount_cny, {product_sql()} AS product
        FROM {{originations}}
        WHERE {IN_PERIOD} AND {bank.flag(SEGMENT)} AND payment_method = 'self' AND amount_cny > {limit!r}
        ORDER BY amount_cny DESC, loan_id
    """, period_params(period))


# ---------------------------------------------------------------- 无贷户 (borrowers new to banking, 四(七))

def first_bank_loans(bank: Bank, period: Period) -> dict:
    """Inclusive small-micro borrowers originated in the period, and those of them who got their first bank loan
    anywhere (is_first_bank_loan: 无贷户 served, notice 四(七)), with the amount."""
    flow = f"{IN_PERIOD} AND {bank.flag(SEGMENT)}"
    row = bank.sql(f"""
        SELECT count(DISTINCT borrower_id) AS borrowers,
               count(DISTINCT CASE WHEN is_first_bank_loan THEN borrower_id END) AS first_bank,
               {sum_cny('amount_cny', 'is_first_bank_loan')} AS amount
        FROM {{originations}} WHERE {flow}
    """, period_params(period)).iloc[0]
    return {"borrowers": int(row["borrowers"]), "first_bank_loan_borrowers": int(row["first_bank"]),
            "share": _ratio(row["first_bank"], row["borrowers"]), "amount_cny": float(row["amount"])}


# ---------------------------------------------------------------- metrics.json

def missing(bank: Bank, columns: tuple[str, ...]) -> list[str]:
    return [c for c in columns if not bank.has(c)]


def metrics(bank: Bank, period: Period) -> ConductMetrics:
    """The conduct section of metrics.json (docs/data-contract.md §17); a measure whose column is absent is null
    with the reason in ``notes``."""
    rules, notes = bank.policy.conduct, {}
    result = {"multi_lender_min_count": int(rules.multi_lender_min_count.value),
              "over_revenue_multiple": rules.over_revenue_multiple.value,
              "self_paid_max_cny": rules.self_paid_max_cny.value}
    over = over_crediting(bank, period.end)  # an absent optional column is NULL in the view
    for key, value, columns in (("bureau_coverage_share", over.get("coverage_share"), ("bureau_lender_count",)),
                                ("multi_lender_balance_share", over.get("multi_lender_share"), ("bureau_lender_count",)),
                                ("over_revenue_balance_share", over.get("over_revenue_share"),
                                 ("bureau_credit_line_cny", "annual_revenue_cny"))):
        result[key] = value if not missing(bank, columns) else None
        if missing(bank, columns):
            notes[key] = f"the tape has no {' or '.join(missing(bank, columns))} column"
        elif value is None:
            notes[key] = "no inclusive_smb balance with these columns given at the period end"
    shares = concentration_change(bank, period)
    row = shares.iloc[0] if len(shares) else None
    for p in TOP_PERCENTS:
        for when in ("start", "end"):
            value = None if row is None else as_float(row[f"top{p}_share_{when}"])
            result[f"top{p}_{when}_balance_share"] = value
            if value is None:
                notes[f"top{p}_{when}_balance_share"] = f"no inclusive_smb balance at the period {when}"
        change = None if row is None else as_float(row[f"top{p}_change_pp"])
        result[f"top{p}_balance_share_change_pp"] = change
        if change is None:
            notes[f"top{p}_balance_share_change_pp"] = "no inclusive_smb balance at the period start or end"
    if bank.has("payment_method"):
        paid = self_paid(bank, period)
        result["self_paid_amount_share"] = as_float(paid["self_share"].iloc[0]) if len(paid) else None
        if result["self_paid_amount_share"] is None:
            notes["self_paid_amount_share"] = "no inclusive_smb loans with a payment method originated in the period"
        above = self_paid_above(bank, period)
        result["self_paid_above_max_count"] = len(above)
        result["self_paid_above_max_cny"] = round(float(above["amount_cny"].sum()), 2)
    else:
        result.update(self_paid_amount_share=None, self_paid_above_max_count=None, self_paid_above_max_cny=None)
        for key in ("self_paid_amount_share", "self_paid_above_max_count", "self_paid_above_max_cny"):
            notes[key] = "the tape has no payment_method column"
    if bank.has("is_first_bank_loan"):
        first = first_bank_loans(bank, period)
        result["no_bank_loan_borrowers_count"] = first["first_bank_loan_borrowers"]
        result["no_bank_loan_share"] = first["share"]
        if first["share"] is None:
            notes["no_bank_loan_share"] = "no inclusive_smb loans originated in the period"
    else:
        result.update(no_bank_loan_borrowers_count=None, no_bank_loan_share=None)
        for key in ("no_bank_loan_borrowers_count", "no_bank_loan_share"):
            notes[key] = "the tape has no is_first_bank_loan column"
    return ConductMetrics(**result, notes=notes)
