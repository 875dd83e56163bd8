"""pucredit: reproducible reports on a bank's inclusive credit (普惠信贷) against the NFRA notice.

The research API, in the order data flows (each function's docstring cites its clause)::

    from pucredit import compute_metrics, open_tape, parse_period, pricing, volume
    period = parse_period("2024H1")
    with open_tape("tape.parquet", "totals.csv") as tape:      # read, pseudonymise, validate
        tape.raise_for_errors()                               # problems: tape.findings
        bank = tape.bank("HB01", "2024")                      # classify by the policy year
        stocks = volume.monthly_stocks(bank)                  # 保量 二(一)
        rates = pricing.monthly_new_rates(bank, period.end)   # 稳价 二(二)
        metrics = compute_metrics(tape, "HB01", period)       # docs/data-contract.md §3

Names are imported on first use, so ``import pucredit`` (and the command line) stays fast.
"""
from importlib import import_module

from pucredit._version import __version__

_API = {
    "compute_metrics": "pucredit.analyses.metrics", "read_metrics": "pucredit.analyses.document",
    "Period": "pucredit.config.periods", "parse_period": "pucredit.config.periods",
    "Policy": "pucredit.config.policy", "load_policy": "pucredit.config.policy",
    "Bank": "pucredit.engine.tape", "Tape": "pucredit.engine.tape", "open_tape": "pucredit.engine.tape",
}
_MODULES = {
    "volume": "pucredit.analyses.volume", "pricing": "pucredit.analyses.pricing",
    "first_loans": "pucredit.analyses.first_loans", "risk": "pucredit.analyses.risk",
    "quality": "pucredit.analyses.quality", "reference": "pucredit.config.reference",
}
__all__ = ["__version__", *sorted(_API), *sorted(_MODULES)]


def __getattr__(name: str):
    if name in _API:
        return getattr(import_module(_API[name]), name)
    if name in _MODULES:
        return import_module(_MODULES[name])
    raise AttributeError(f"module 'pucredit' has no attribute {name!r}")
