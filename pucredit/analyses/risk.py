"""Risk tolerance (不良容忍度, notice 四(九)): segment NPL ratios against their tolerance limits.

A segment's limit is its comparator plus its tolerance (policy file ``tolerances``): the bank's actual
all-loan NPL ratio t (普惠型小微, 重点帮扶县), or the bank's annual target τ for it (涉农, the bank
file's ``npl_target_ratio``). headroom_pp = limit × 100 − segment NPL ratio × 100 (docs/data-contract.md §3).
Headroom in yuan is the extra segment NPL balance x at which the tolerance is breached; against the actual
ratio, x raises the all-loan ratio too: (sS + x)/S = (tT + x)/T + k, so x = (t + k − s)·S·T/(T − S).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from pucredit.analyses import renewals, writeoffs
from pucredit.analyses.document import RiskMetrics
from pucredit.analyses.volume import stock_at
from pucredit.config.periods import Period
from pucredit.config.policy import REQUIRED_SEGMENTS, BankTerms, Tolerance
from pucredit.engine.sql import month_index, sum_cny
from pucredit.engine.tape import Bank
from pucredit.estimators.glm import binomial_glm


def npl_ratio(npl: float, balance: float) -> float | None:
    return None if not balance else float(npl / balance)


def tolerance_limit(tolerance: Tolerance, total_ratio: float | None,
                    terms: BankTerms) -> tuple[float | None, str | None]:
    """The NPL ratio a segment may reach (its comparator plus the tolerance), or None with the reason."""
    k = tolerance.value_pp / 100
    if tolerance.comparator == "target_total_npl_ratio":
        if terms.npl_target_ratio is None:
            return None, ("not assessable: the bank file gives no npl_target_ratio, the bank's annual target for "
                          "its all-loan NPL ratio, which this tolerance is measured against")
        return terms.npl_target_ratio + k, None
    return (None, "no all-loan NPL ratio at the period end") if total_ratio is None else (total_ratio + k, None)


def headroom_pp(segment_ratio: float | None, limit: float | None) -> float | None:
    return None if segment_ratio is None or limit is None else (limit - segment_ratio) * 100


def headroom_cny(tolerance: Tolerance, segment_ratio: float | None, limit: float | None, segment_cny: float,
                 total_cny: float | None) -> float | None:
    """Extra NPL balance x (yuan) of the segment at which its tolerance is breached (negative: already over).

    Against the actual all-loan ratio the segment's own NPLs raise it as well:
    x = (t + k − s)·S·T/(T − S), None when the segment is the whole book (T ≤ S: it can never exceed itself);
    against a fixed target τ: x = (τ + k − s)·S.
    """
    if segment_ratio is None or limit is None:
        return None
    room = (limit - segment_ratio) * segment_cny
    if tolerance.comparator == "target_total_npl_ratio":
        return room
    if total_cny is None or not total_cny > segment_cny:
        return None
    return room * total_cny / (total_cny - segment_cny)


def metrics(bank: Bank, period: Period, stocks: pd.DataFrame, terms: BankTerms | None = None) -> RiskMetrics:
    """The risk section of metrics.json (docs/data-contract.md §3): every segment's NPL ratio, and for those
    with a tolerance in the policy its limit, headroom in pp and yuan and whether it is within (``terms``: the
    bank's NPL target from its bank file); the migration-based 12-month NPL formation rate of inclusive_smb."""
    terms = terms or BankTerms()
    end = stock_at(stocks, period.end, bank)
    tolerances = bank.policy.tolerances.segments
    total = npl_ratio(end["total_npl_cny"], end["total_loans_cny"])
    total_cny = None if pd.isna(end["total_loans_cny"]) else float(end["total_loans_cny"])
    notes = {}
    result = {"total_npl_ratio": total, "tolerance_pp": tolerances["inclusive_smb"].value_pp}
    for segment in bank.segments:
        balance = float(end[f"{segment}_balance_cny"])
        ratio = npl_ratio(end[f"{segment}_npl_cny"], balance)
        if ratio is None:
            notes[f"{segment}_npl_ratio"] = f"not applicable: no {segment} balance at {period.end.date()}"
            if segment not in REQUIRED_SEGMENTS:
                continue
        result[f"{segment}_npl_ratio"] = ratio
        if segment not in tolerances:
            continue
        tolerance = tolerances[segment]
        limit, reason = tolerance_limit(tolerance, total, terms)
        room, room_cny = headroom_pp(ratio, limit), headroom_cny(tolerance, ratio, limit, balance, total_cny)
        within = None if room is None or tolerance.reference_only else bool(room >= 0)
        result.update({f"{segment}_npl_limit_ratio": limit, f"{segment}_npl_headroom_pp": room,
                       f"{segment}_npl_headroom_cny": None if room_cny is None else round(room_cny, 2),
                       f"{segment}_within_tolerance": within, f"{segment}_tolerance_pp": tolerance.value_pp})
        if reason:
            notes[f"{segment}_within_tolerance"] = reason
        elif tolerance.reference_only:
            notes[f"{segment}_within_tolerance"] = ("reference only: no numeric tolerance rule was found; the "
                                                    f"{tolerance.value_pp:g} pp is an assumption, not assessed")
    result.update(writeoffs.metrics(bank, period, end, notes))  # write-offs and 偏离度 (issue 17)
    formation = monthly_formation(bank, since=period.end - pd.DateOffset(months=12))
    result["inclusive_smb_npl_formation_12m"] = formation_12m(formation, period.end)
    if result["inclusive_smb_npl_formation_12m"] is None:
        notes["inclusive_smb_npl_formation_12m"] = "fewer than 12 months of migrations before the period end"
    return RiskMetrics(**result, notes=notes)


# ---------------------------------------------------------------- the risk report (notebook 04)

RISK_ORDER = ("normal", "special_mention", "substandard", "doubtful", "loss")


def tolerance_path(stocks: pd.DataFrame, bank: Bank, terms: BankTerms | None = None) -> pd.DataFrame:
    """Month by month: the all-loan NPL ratio and, per segment with a balance and a tolerance, its NPL ratio,
    its limit (comparator plus tolerance) and the headroom in pp and in yuan (notice 四(九)); a segment whose
    comparator the bank file does not give has no limit columns."""
    terms = terms or BankTerms()
    out = pd.DataFrame(index=stocks.index)
    out["total_npl_ratio"] = stocks["total_npl_cny"] / stocks["total_loans_cny"]
    for segment, tolerance in bank.policy.tolerances.segments.items():
        balance = stocks[f"{segment}_balance_cny"]
        if not balance.fillna(0).any():
            continue
        ratio = stocks[f"{segment}_npl_cny"] / balance.where(balance > 0)
        out[f"{segment}_npl_ratio"] = ratio
        if tolerance.comparator == "target_total_npl_ratio" and terms.npl_target_ratio is None:
            continue
        comparator = (out["total_npl_ratio"] if tolerance.comparator == "actual_total_npl_ratio"
                      else pd.Series(terms.npl_target_ratio, index=out.index))
        limit = comparator + tolerance.value_pp / 100
        out[f"{segment}_limit"] = limit
        out[f"{segment}_headroom_pp"] = (limit - ratio) * 100
        room = (limit - ratio) * balance
        if tolerance.comparator == "actual_total_npl_ratio":
            total = stocks["total_loans_cny"]
            room = room * total / (total - balance).where(total > balance)
        out[f"{segment}_headroom_cny"] = room
    return out.dropna(subset=["total_npl_ratio"])


def branch_tolerance(bank: Bank, period: Period, total_npl_ratio: float, total_loans_cny: float,
                     tolerances: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per branch: inclusive_smb balance, NPL balance and ratio against the bank's all-loan NPL ratio plus
    the branch's tolerance — the policy's, or a differentiated one from ``tolerances`` (branch_id,
    tolerance_pp), as banks may set per region (尽职免责); headroom in yuan counts that the branch's extra NPLs
    raise the bank's all-loan ratio too (:func:`headroom_cny`)."""
    if not bank.has("branch_id"):
        return pd.DataFrame()
    frame = bank.sql(f"""
        SELECT branch_id, {sum_cny('balance_cny')} AS balance_cny, {sum_cny('balance_cny', 'is_npl')} AS npl_cny
        FROM {{loans}} WHERE {bank.flag('inclusive_smb')} AND as_of = $end
        GROUP BY branch_id ORDER BY branch_id
    """, {"end": period.end.date()}).astype({"balance_cny": "float64", "npl_cny": "float64"}).set_index("branch_id")
    frame["tolerance_pp"] = bank.policy.tolerances.segments["inclusive_smb"].value_pp
    if tolerances is not None and not tolerances.empty:
        given = tolerances.set_index("branch_id")["tolerance_pp"]
        frame.loc[frame.index.isin(given.index), "tolerance_pp"] = given
    frame["npl_ratio"] = frame["npl_cny"] / frame["balance_cny"].where(frame["balance_cny"] > 0)
    frame["headroom_pp"] = total_npl_ratio * 100 + frame["tolerance_pp"] - frame["npl_ratio"] * 100
    frame["headroom_cny"] = (frame["headroom_pp"] / 100 * frame["balance_cny"] * total_loans_cny
                             / (total_loans_cny - frame["balance_cny"]).where(total_loans_cny > frame["balance_cny"]))
    frame["within_tolerance"] = frame["headroom_pp"] >= 0
    return frame


def migration_matrix(bank: Bank, start: pd.Timestamp, end: pd.Timestamp, segment: str = "inclusive_smb",
                     weight: str = "balance") -> pd.DataFrame:
    """Five-class migration from ``start`` to ``end`` (notice 四(九)): rows the class at start, columns the
    class at end plus ``exit`` (repaid or written off); shares of the start balance (or count) in each row
    (roll rates). A loan replaced by a linked renewal (续贷, 借新还旧) is followed along its chain to the
    worst class of its successors at ``end``: a rolled-over loan is not an exit. A loan that left while
    its borrower got an unlinked renewal is ``renewed_unlinked`` (column shown only when there are any)."""
    value = "s.balance_cny" if weight == "balance" else "1"
    chains = renewals.chain_table(bank)
    classes = "[" + ", ".join(f"'{c}'" for c in RISK_ORDER) + "]"
    frame = bank.sql(f"""
        WITH s AS (SELECT loan_id, risk_class, balance_cny FROM {{loans}}
                   WHERE {bank.flag(segment)} AND as_of = $start AND balance_cny > 0),
             e AS (SELECT c.ancestor AS loan_id, max(list_position({classes}, l.risk_class)) AS rank
                   FROM {{loans}} l JOIN {chains} c USING (loan_id) WHERE l.as_of = $end GROUP BY ALL)
        SELECT s.risk_class AS start,
               CASE WHEN e.rank IS NOT NULL THEN {classes}[e.rank]
                    WHEN s.loan_id IN (SELECT loan_id FROM {renewals.unlinked_renewal_exits(bank)}) THEN 'renewed_unlinked'
                    ELSE 'exit' END AS finish,
               sum({value}) AS value
        FROM s LEFT JOIN e USING (loan_id) GROUP BY ALL
    """, {"start": start.date(), "end": end.date()})
    matrix = frame.pivot_table(index="start", columns="finish", values="value", aggfunc="sum", fill_value=0.0)
    unlinked = ("renewed_unlinked",) if "renewed_unlinked" in matrix.columns else ()
    matrix = matrix.reindex(index=[c for c in RISK_ORDER if c in matrix.index],
                            columns=[*RISK_ORDER, "exit", *unlinked], fill_value=0.0)
    return matrix.div(matrix.sum(axis=1), axis=0)


def monthly_formation(bank: Bank, segment: str = "inclusive_smb", since: pd.Timestamp | None = None) -> pd.DataFrame:
    """Per month (from ``since`` on): performing balance at the previous month end, the part of it that is
    non-performing this month (NPL formation), and last month's NPL balance that performs again (cure), by
    renewal chain (notice 四(九)): a renewal that continues a loan is not a new loan, a default on it is
    the chain's, and an NPL replaced by a performing renewal (借新还旧) is not a cure. A chain's previous
    row must be the previous month end; chains that left the tape count as not formed."""
    window = "true" if since is None else "as_of >= $since"
    params = {} if since is None else {"since": (since - pd.DateOffset(months=1)).date()}
    chains = renewals.chain_table(bank)
    # Only chains with a non-performing row can form or cure, so the chain-level work (per chain and month,
    # and each month against the previous month end) runs on those chains alone; the stock is per month.
    frame = bank.sql(f"""
        WITH loan_rows AS (
            SELECT loan_id, as_of, is_npl, balance_cny FROM {{loans}} WHERE {bank.flag(segment)} AND {window}
        ), members AS (
            SELECT loan_id, chain_id FROM {chains} WHERE depth = 0
        ), npl_chains AS (
            SELECT DISTINCT m.chain_id FROM loan_rows r JOIN members m USING (loan_id) WHERE r.is_npl
        ), touched AS (
            SELECT m.chain_id, r.* FROM loan_rows r JOIN members m USING (loan_id) SEMI JOIN npl_chains USING (chain_id)
        ), chain_rows AS (
            SELECT chain_id, as_of, bool_or(is_npl) AS is_npl, sum(balance_cny) AS balance_cny
            FROM touched GROUP BY chain_id, as_of
        ), kept AS (  -- chain months that still hold a loan non-performing at the previous month end
            SELECT DISTINCT cur.chain_id, cur.as_of FROM touched cur
            JOIN touched prev ON prev.loan_id = cur.loan_id AND prev.as_of = last_day(cur.as_of - INTERVAL 1 MONTH)
            WHERE prev.is_npl
        ), moved AS (
            SELECT cur.as_of, {sum_cny('prev.balance_cny', 'NOT prev.is_npl AND cur.is_npl')} AS formed_cny,
                   {sum_cny('prev.balance_cny', 'prev.is_npl AND NOT cur.is_npl AND k.chain_id IS NOT NULL')}
                       AS cured_cny
            FROM chain_rows cur
            JOIN chain_rows prev ON prev.chain_id = cur.chain_id AND prev.as_of = last_day(cur.as_of - INTERVAL 1 MONTH)
            LEFT JOIN kept k ON k.chain_id = cur.chain_id AND k.as_of = cur.as_of
            GROUP BY cur.as_of
        ), stock AS (
            SELECT last_day(as_of + INTERVAL 1 MONTH) AS as_of,
                   {sum_cny('balance_cny', 'NOT is_npl AND balance_cny > 0')} AS performing_cny,
                   {sum_cny('balance_cny', 'is_npl')} AS npl_cny
            FROM loan_rows GROUP BY as_of
        )
        SELECT as_of, performing_cny, coalesce(formed_cny, 0) AS formed_cny, npl_cny,
               coalesce(cured_cny, 0) AS cured_cny
        FROM stock LEFT JOIN moved USING (as_of)
        WHERE as_of <= (SELECT max(as_of) FROM loan_rows) ORDER BY as_of
    """, params)
    frame = frame.astype({c: "float64" for c in frame.columns if c.endswith("_cny")})
    frame["as_of"] = pd.to_datetime(frame["as_of"])
    frame = frame.set_index("as_of")
    frame["formation_rate"] = frame["formed_cny"] / frame["performing_cny"].where(frame["performing_cny"] > 0)
    frame["cure_rate"] = frame["cured_cny"] / frame["npl_cny"].where(frame["npl_cny"] > 0)
    return frame


def formation_12m(formation: pd.DataFrame, end: pd.Timestamp) -> float | None:
    """The 12-month NPL formation rate ending at ``end``: 1 − Π(1 − monthly formation rate), from migrations."""
    window = formation.loc[(formation.index > end - pd.DateOffset(months=12)) & (formation.index <= end),
                           "formation_rate"].dropna()
    if len(window) < 12:
        return None
    return float(1 - np.prod(1 - window))


def vintage_curves(bank: Bank, segment: str = "inclusive_smb", definition: str = "npl",
                   max_months: int = 36) -> pd.DataFrame:
    """Cumulative default by months on book per origination quarter, by amount: default is the first month
    classed substandard or worse (``npl``) or 90+ days past due (``dpd90``). NaN beyond what is observed.
    By renewal chain (notice 四(九)): a chain is in its original loan's vintage with that loan's amount and
    segment, and defaults when any of its loans does; renewals are not vintages of their own."""
    bad = "is_npl" if definition == "npl" else "days_past_due >= 90"
    chains = renewals.chain_table(bank)
    frame = bank.sql(f"""
        WITH first_bad AS (SELECT c.chain_id, min(l.as_of) AS bad_month
                           FROM {{loans}} l JOIN {chains} c ON c.loan_id = l.loan_id AND c.depth = 0
                           WHERE {bad} GROUP BY c.chain_id),
             originals AS (SELECT loan_id FROM {chains} WHERE depth = 0 AND chain_id = loan_id)
        SELECT o.loan_id, o.month, o.amount_cny, f.bad_month FROM {{originations}} o SEMI JOIN originals USING (loan_id)
        LEFT JOIN first_bad f ON f.chain_id = o.loan_id WHERE {bank.flag(segment)}
    """)
    last = bank.months[-1]
    frame["month"] = pd.to_datetime(frame["month"])
    frame["bad_month"] = pd.to_datetime(frame["bad_month"])
    age = lambda a, b: (b.dt.year - a.dt.year) * 12 + b.dt.month - a.dt.month  # noqa: E731
    frame["default_age"] = age(frame["month"], frame["bad_month"])
    frame["observed"] = age(frame["month"], pd.Series(last, index=frame.index))
    frame["quarter"] = frame["month"].dt.to_period("Q").astype(str)
    rows = {}
    for quarter, group in frame.groupby("quarter"):
        observed = group["observed"].min()
        total = group["amount_cny"].sum()
        rows[quarter] = [group.loc[group["default_age"] <= k, "amount_cny"].sum() / total if k <= observed else np.nan
                         for k in range(max_months + 1)]
    return pd.DataFrame.from_dict(rows, orient="index", columns=range(max_months + 1))


def stress_to_breach(stocks: pd.DataFrame, formation: dict[str, float], period: Period,
                     bank: Bank, terms: BankTerms | None = None) -> pd.DataFrame:
    """For each segment with a tolerance: the uniform multiplier on its monthly NPL formation rate, and the
    additive shift in that rate (pp a month), that would put its NPL ratio at its tolerance limit by year end.
    The room is :func:`headroom_cny` (new segment NPLs raise the all-loan ratio too, the rest of the book held
    as it is). Months left = to December; no cures or write-offs (conservative)."""
    terms = terms or BankTerms()
    months_left = 12 - period.end.month
    end = stocks.loc[period.end]
    if not end["total_loans_cny"] > 0:  # nothing outstanding: no ratio to stress
        return pd.DataFrame()
    total_ratio = end["total_npl_cny"] / end["total_loans_cny"]
    rows = []
    for segment, tolerance in bank.policy.tolerances.segments.items():
        balance, npl = end[f"{segment}_balance_cny"], end[f"{segment}_npl_cny"]
        rate = formation.get(segment)
        limit, _ = tolerance_limit(tolerance, total_ratio, terms)
        if not balance or rate is None or months_left == 0 or limit is None:
            continue
        room = headroom_cny(tolerance, npl / balance, limit, balance, float(end["total_loans_cny"]))
        if room is None:
            continue
        performing = balance - npl
        # new NPL by year end ≈ performing × months_left × rate × multiplier
        expected = performing * months_left * rate
        rows.append({"segment": segment, "monthly_formation_rate": rate, "months_left": months_left,
                     "room_cny": room, "expected_new_npl_cny": expected,
                     "breach_multiplier": room / expected if expected > 0 else np.inf,
                     "breach_shift_pp_per_month": (room / (performing * months_left) - rate) * 100})
    return pd.DataFrame(rows).set_index("segment") if rows else pd.DataFrame()


def due_diligence(bank: Bank, period: Period, branches: pd.DataFrame) -> pd.DataFrame:
    """Inclusive_smb NPLs at the period end by branch and product (guarantee × repayment), counts and
    amounts only, marked within or outside the branch's tolerance — the basis for 尽职免责 review."""
    if branches.empty:
        return pd.DataFrame()
    frame = bank.sql(f"""
        SELECT branch_id, guarantee, coalesce(repayment, 'unknown') AS repayment, count(*) AS npl_loans,
               {sum_cny('balance_cny')} AS npl_cny
        FROM {{loans}} WHERE {bank.flag('inclusive_smb')} AND is_npl AND as_of = $end
        GROUP BY ALL ORDER BY ALL
    """, {"end": period.end.date()}).astype({"npl_cny": "float64"})
    frame["within_tolerance"] = frame["branch_id"].map(branches["within_tolerance"])
    return frame


def default_drivers(bank: Bank, end: pd.Timestamp, horizon: int = 12):
    """Logistic GLM of default within ``horizon`` months (first NPL month) on segment, borrower type, guarantee,
    first loan and credit-line band (notice 四(九)), standard errors clustered by borrower; a perfectly separated
    level drops its factor (fewer controls), never loans. Odds ratios with CIs via
    exp(params), exp(conf_int()). None with too few loans or defaults."""
    frame = bank.sql(f"""
        WITH bad AS (SELECT loan_id, min(as_of) AS bad_month FROM {{loans}} WHERE is_npl GROUP BY loan_id)
        SELECT borrower_id,
               CASE WHEN {bank.flag('inclusive_smb')} THEN 'inclusive_smb'
                    WHEN {bank.flag('inclusive_agri')} THEN 'agri_not_smb' ELSE 'other' END AS "group",
               borrower_type, guarantee, CAST(is_first_loan AS INTEGER) AS is_first_loan,
               CASE WHEN credit_line_cny <= 1e6 THEN '≤1m' WHEN credit_line_cny <= 5e6 THEN '1–5m'
                    WHEN credit_line_cny <= 1e7 THEN '5–10m' ELSE '>10m' END AS line_band,
               CAST(coalesce({month_index('bad.bad_month')} - {month_index('month')} <= {horizon}, false) AS INTEGER) AS defaulted
        FROM {{originations}} o LEFT JOIN bad USING (loan_id)
        WHERE {month_index('CAST($last AS DATE)')} - {month_index('month')} >= {horizon} AND origination_date <= $end
    """, {"last": bank.months[-1].date(), "end": end.date()})
    if len(frame) < 100 or frame["defaulted"].sum() < 10:
        return None
    return binomial_glm(frame, "defaulted", ["group", "borrower_type", "guarantee", "is_first_loan", "line_band"], [
        "C(group) + C(borrower_type) + C(guarantee) + is_first_loan + C(line_band)",
        "C(group) + C(borrower_type) + C(guarantee) + is_first_loan",
        "C(group) + C(guarantee) + is_first_loan",
        "is_first_loan"])
