"""pucredit: reproducible reports on a bank's inclusive credit (普惠信贷) against the NFRA notice.

The research API, in the order data flows (each function's docstring cites its clause)::

    from pucredit import compute_metrics, open_tape, parse_period, pricing, volume
    period = parse_period("2024H1")
    with open_tape("tape.parquet", "totals.csv") as tape:      # read, pseudonymise, validate
        tape.raise_for_errors()                               # problems: tape.findings
        bank = tape.bank("HB01", "2024")                      # classify by the policy year
        stocks = volume.monthly_stocks(bank)                  # 保量 二(一)
        rates = pricing.monthly_new_rates(bank, period.end)   # 稳价 二(二)
        metrics = compute_metrics(tape, "HB01", period)       # CONTRACT §3
"""
__version__ = "0.1.0"

from . import first_loans, pricing, reference, risk, volume  # noqa: E402
from .metrics import compute_metrics, write_metrics  # noqa: E402
from .periods import Period, parse_period  # noqa: E402
from .policy import Policy, load_policy  # noqa: E402
from .tape import Bank, Tape, open_tape  # noqa: E402

__all__ = [
    "Bank", "Period", "Policy", "Tape", "compute_metrics", "first_loans", "load_policy", "open_tape",
    "parse_period", "pricing", "reference", "risk", "volume", "write_metrics",
]
