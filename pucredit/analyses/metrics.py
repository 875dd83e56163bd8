"""The metrics of docs/data-contract.md §3 for one bank and period, as one typed document.

``pucredit metrics`` and the report pipeline both call :func:`compute_metrics`, so a report's
metrics.json and the command's output are the same numbers (:mod:`pucredit.analyses.document`).
"""
from __future__ import annotations

import datetime as dt
import hashlib

from pucredit._version import __version__
from pucredit.analyses import conduct, first_loans, pricing, priorities, risk, volume
from pucredit.analyses.document import MetricsDocument, QualityMetrics
from pucredit.config.periods import Period, parse_period
from pucredit.config.policy import BankTerms, Policy, load_policy
from pucredit.engine.tape import Tape


def params_sha256(policy: Policy, tape: Tape) -> str:
    """Hash of everything besides the data that decides the numbers: the policy file and the LPR table."""
    digest = hashlib.sha256(policy.sha256.encode())
    digest.update(tape.lpr[["fixing_date", "lpr_1y_pct", "lpr_5y_pct"]].to_csv(index=False).encode())
    return digest.hexdigest()


def compute_metrics(tape: Tape, bank_id: str, period: Period | str, policy: Policy | str | None = None,
                    generated_at: dt.datetime | None = None, terms: BankTerms | None = None) -> MetricsDocument:
    """Every metric of docs/data-contract.md §3 for ``bank_id`` over ``period``; nulls carry a reason in
    ``notes``. ``policy`` defaults to the period's year when a policy file for it exists, else the latest;
    ``terms`` (the bank file's category, NPL target and local targets) decide which targets bind the bank and
    what some tolerances compare with: without them every target is assessed as binding."""
    period = period if isinstance(period, Period) else parse_period(period)
    policy = policy if isinstance(policy, Policy) else load_policy(policy or default_policy_year(period))
    bank = tape.bank(bank_id, policy)
    stocks = volume.monthly_stocks(bank, [period.base_date, period.end])
    bank_rows = tape.con.execute("SELECT count(*) FROM tape WHERE bank_id = ?", [bank_id]).fetchone()[0]
    return MetricsDocument(
        bank_id=bank_id,
        period=period.label,
        period_start=str(period.start.date()),
        period_end=str(period.end.date()),
        policy=str(policy.year),
        provenance={
            "tape_sha256": tape.sha256,
            "totals_sha256": tape.totals_sha256,
            "params_sha256": params_sha256(policy, tape),
            "pucredit_version": __version__,
            "totals_source": volume.totals_source(bank),
            "generated_at": (generated_at or dt.datetime.now(dt.timezone.utc)).isoformat(timespec="seconds"),
        },
        volume=volume.metrics(bank, period, stocks, terms),
        pricing=pricing.metrics(bank, period),
        first_loans=first_loans.metrics(bank, period),
        risk=risk.metrics(bank, period, stocks, terms),
        quality=QualityMetrics(
            rows=int(bank_rows),
            tape_rows=tape.file_rows,
            errors=tape.findings.n_errors,
            warnings=tape.findings.n_warnings,
            by_rule=tape.findings.by_rule(),
        ),
        priorities=priorities.metrics(bank, period),
        conduct=conduct.metrics(bank, period),
    )


def default_policy_year(period: Period) -> str:
    from pucredit.config.policy import available_policies

    years = available_policies()
    return str(period.year) if str(period.year) in years else years[-1]
