"""The optional 五(十) and 四(七) columns of a synthetic tape, and their truth (step 10 of the package docstring).

The values are functions of the bank's seed and the borrower or loan number (a hash), not draws from the
simulation's random streams: a bank that writes these columns has the same other columns as one that does
not. Per borrower: the lender count (1 + a draw from ``lender_count_probs``), the revenue (a lognormal
multiple of the line) and the credit at all lenders (the line here plus 0.5-1.5 lines per other lender).
Per loan: the payment method (``self`` with ``self_paid_prob``, or ``self_paid_prob_above_max`` for loans
above the policy's ``self_paid_max_cny``) and, on a borrower's first loan ever (is_first_loan), whether it is
the first bank loan anywhere (``first_bank_loan_share``).

The truth, per month, is computed in numpy from the rows written: the inclusive small-micro stock and what
of it the screens of :mod:`pucredit.analyses.conduct` flag, the largest-borrower shares, and the month's
new loans by payment method and first bank loan.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
from scipy.special import ndtri

from pucredit.config.policy import Policy
from pucredit.contract.schema import CONDUCT_COLUMNS
from pucredit.synth.params import BankConfig

CONDUCT_NAMES = tuple(c.name for c in CONDUCT_COLUMNS)
TOP_PERCENTS = (1, 10)
_MASK = np.uint64(0xFFFFFFFFFFFFFFFF)


def uniform(seed: int, stream: int, numbers: np.ndarray) -> np.ndarray:
    """A uniform (0, 1) number per id, the same for the same seed, stream and id (splitmix64)."""
    with np.errstate(over="ignore"):
        z = (np.asarray(numbers, np.uint64) * np.uint64(0x9E3779B97F4A7C15)
             + np.uint64((seed * 1000 + stream) & 0xFFFFFFFF) * np.uint64(0xBF58476D1CE4E5B9)) & _MASK
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return ((z >> np.uint64(11)).astype(np.float64) + 0.5) / float(1 << 53)


def columns(cfg: BankConfig, policy: Policy, book: dict, balance: np.ndarray, t: int) -> tuple[dict, dict]:
    """The configured conduct columns of the month's rows (``cfg.conduct_columns``), and the month's truth."""
    borrower, loan, line, amount = book["borrower"], book["loan"], book["line"], book["amount"]
    probs = np.cumsum(cfg.lender_count_probs)
    lenders = 1 + np.searchsorted(probs / probs[-1], uniform(cfg.seed, 1, borrower), side="right").astype(np.int64)
    revenue = np.round(line * cfg.revenue_to_line_median * np.exp(cfg.revenue_log_sd *
                                                                  ndtri(uniform(cfg.seed, 2, borrower))), 2)
    bureau = np.round(line * (1 + (lenders - 1) * (0.5 + uniform(cfg.seed, 3, borrower))), 2)
    limit = policy.conduct.self_paid_max_cny.value
    p_self = np.where(amount > limit, cfg.self_paid_prob_above_max, cfg.self_paid_prob)
    is_self = uniform(cfg.seed, 4, loan) < p_self
    first_bank = book["is_first"] & (uniform(cfg.seed, 5, borrower) < cfg.first_bank_loan_share)
    values = {"bureau_credit_line_cny": pa.array(bureau), "bureau_lender_count": pa.array(lenders),
              "annual_revenue_cny": pa.array(revenue),
              "payment_method": pa.array(np.where(is_self, "self", "entrusted")),
              "is_first_bank_loan": pa.array(first_bank)}
    rules = policy.conduct
    smb = book["seg_smb"] & (balance > 0)
    new = book["seg_smb"] & (book["orig_month"] == t)
    above = new & is_self & (amount > limit)
    truth = {
        "smb_balance_cny": float(balance[smb].sum()),
        "multi_lender_cny": float(balance[smb & (lenders >= rules.multi_lender_min_count.value)].sum()),
        "over_revenue_cny": float(balance[smb & (bureau > rules.over_revenue_multiple.value * revenue)].sum()),
        **top_shares(borrower[smb], balance[smb]),
        "new_smb_amount_cny": float(amount[new].sum()), "new_smb_self_cny": float(amount[new & is_self].sum()),
        "self_above_max_count": int(above.sum()), "self_above_max_cny": float(amount[above].sum()),
        "first_bank_loan_borrowers": int(len(np.unique(borrower[new & first_bank]))),
    }
    return {name: values[name] for name in CONDUCT_NAMES if name in cfg.conduct_columns}, truth


def top_shares(borrower: np.ndarray, balance: np.ndarray) -> dict:
    """Share of the balance held by the largest 1 % and 10 % of borrowers (k = ceil(n p / 100))."""
    ids, index = np.unique(borrower, return_inverse=True)
    by_borrower = np.sort(np.bincount(index, weights=balance, minlength=len(ids)))[::-1]
    total = by_borrower.sum()
    return {f"top{p}_share": float(by_borrower[:(len(ids) * p + 99) // 100].sum() / total) if total else None
            for p in TOP_PERCENTS}


def schema_fields(cfg: BankConfig) -> list[pa.Field]:
    """The Arrow fields of the configured conduct columns, in the contract's order."""
    from pucredit.synth.rows import arrow_type

    return [pa.field(c.name, arrow_type(c)) for c in CONDUCT_COLUMNS if c.name in cfg.conduct_columns]
