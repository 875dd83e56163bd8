"""Priority sectors (三(四)) and support groups (三(六)): the segments of the policy file's groups.

Their balance, growth, new-loan pricing and NPL ratio are the volume, pricing and risk keys of every
segment (``<segment>_balance_cny`` ...); this module adds what only these clauses ask: the medium/long-term
share of each priority sector's new loans (三(四) 加大…中长期贷款支持) and the checks of 脱贫人口小额信贷 against
the 2021 notice's rules (amount, term, no collateral or guarantee, rate at or below the 1-year LPR).
"""
from __future__ import annotations

from pucredit.analyses.document import PriorityMetrics
from pucredit.analyses.first_loans import medium_long_term_sql
from pucredit.config.periods import Period
from pucredit.engine.segments import grouped
from pucredit.engine.sql import IN_PERIOD, period_params, sql_quote, sum_cny
from pucredit.engine.tape import Bank

PRIORITY_SECTORS = "priority_sectors"
SUPPORT_GROUPS = "support_groups"
POVERTY = "poverty_household"
RULES = ("amount", "term", "guarantee", "rate")  # the 2021 notice's rules, in its order


def mlt_shares(bank: Bank, period: Period, names: list[str]) -> dict[str, float | None]:
    """Amount share of medium/long-term loans (more than a year) among each segment's new loans of the period;
    None for a segment without new loans."""
    if not names:
        return {}
    mlt = medium_long_term_sql(bank)
    parts = []
    for name in names:
        flow = f"{IN_PERIOD} AND {bank.flag(name)}"
        parts += [f"{sum_cny('amount_cny', flow)} AS {name}_all", f"{sum_cny('amount_cny', f'{flow} AND {mlt}')} AS {name}_mlt"]
    row = bank.sql(f"SELECT {', '.join(parts)} FROM {{originations}}", period_params(period)).iloc[0]
    return {name: float(row[f"{name}_mlt"] / row[f"{name}_all"]) if row[f"{name}_all"] else None for name in names}


def rule_conditions(bank: Bank) -> dict[str, str]:
    """SQL, per rule of 脱贫人口小额信贷, that holds when a new loan breaks it (over ``originations``)."""
    quality, rules = bank.policy.quality, bank.policy.poverty_microloan
    months = int(quality.poverty_household_max_term_months.value)
    guarantees = ", ".join(map(sql_quote, rules.guarantees))
    return {
        "amount": f"amount_cny > {quality.poverty_household_max_amount_cny.value!r}",
        "term": f"maturity_date > origination_date + INTERVAL {months} MONTH",
        "guarantee": f"guarantee NOT IN ({guarantees})",
        "rate": f"rate_pct > lpr_1y_pct + {rules.max_rate_over_lpr_1y_pp.value!r}",
    }


def poverty_rule_breaks(bank: Bank, period: Period) -> dict:
    """The period's new 脱贫人口小额信贷 loans: how many, and the share (by count) breaking each rule and any rule.
    A loan without a known 1-year LPR (originated before 2019-08-20) is not counted for the rate rule."""
    conditions = rule_conditions(bank)
    flow = f"{IN_PERIOD} AND {bank.flag(POVERTY)}"
    parts = [f"count(*) FILTER (WHERE {flow}) AS loans",
             f"count(*) FILTER (WHERE {flow} AND lpr_1y_pct IS NOT NULL) AS rated",
             f"count(*) FILTER (WHERE {flow} AND ({' OR '.join(conditions.values())})) AS any_rule"]
    parts += [f"count(*) FILTER (WHERE {flow} AND {c}) AS {rule}" for rule, c in conditions.items()]
    row = bank.sql(f"SELECT {', '.join(parts)} FROM {{originations}}", period_params(period)).iloc[0]
    loans = int(row["loans"])
    out = {"poverty_household_new_loans": loans}
    for rule in (*RULES, "any_rule"):
        base = int(row["rated"]) if rule == "rate" else loans
        out[f"poverty_household_{'break_any' if rule == 'any_rule' else 'break_' + rule}_share"] = (
            int(row[rule]) / base if base else None)
    return out


def metrics(bank: Bank, period: Period) -> PriorityMetrics:
    """The ``priorities`` section of metrics.json: the MLT share of each priority sector's new loans, and the
    rule checks of the period's new poverty micro-loans; reasons for nulls in ``notes``."""
    notes: dict[str, str] = {}
    values: dict = {}
    for name, share in mlt_shares(bank, period, grouped(bank.segments, PRIORITY_SECTORS)).items():
        values[f"{name}_new_mlt_share"] = share
        if share is None:
            segment = bank.segment(name)
            notes[f"{name}_new_mlt_share"] = (
                f"not applicable: the tape has no {' or '.join(segment.missing)} column" if segment.missing
                else "no such loans originated in the period")
    if POVERTY in bank.segments:
        values.update(poverty_rule_breaks(bank, period))
        missing = bank.segment(POVERTY).missing
        reason = (f"not applicable: the tape has no {' or '.join(missing)} column" if missing
                  else "no poverty-household micro-loans originated in the period")
        for key in [k for k, v in values.items() if k.startswith("poverty_household_break_") and v is None]:
            notes[key] = (reason if not values["poverty_household_new_loans"]
                          else "no new poverty-household micro-loan has a known 1-year LPR (originated before 2019-08-20)")
    return PriorityMetrics(**values, notes=notes)
