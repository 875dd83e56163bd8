"""Write the golden metrics files the golden test compares against (on purpose only: say why in the commit).

    .venv/bin/python tools/golden_metrics.py
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

GOLDEN_DIR = Path(__file__).resolve().parents[1] / "tests" / "unit" / "golden"
BANKS = ("LB01", "CB01", "RB01")
PERIODS = ("2024", "2025H1")
CASES = [(bank, period) for bank in BANKS for period in PERIODS]
GENERATED_AT = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


def open_demo_tape(bank_id: str):
    from pucredit.config.banks import load_bank
    from pucredit.config.paths import BANKS_DIR
    from pucredit.engine.tape import open_tape

    bank = load_bank(BANKS_DIR / f"{bank_id}.yaml")
    return bank, open_tape(bank.tape, bank.totals, lpr=bank.lpr)


def compute_case(tapes: dict, bank_id: str, period: str) -> str:
    """metrics.json of a demo bank and period, as the pipeline writes it (``tapes``: bank_id -> (bank, tape))."""
    from pucredit.analyses.metrics import compute_metrics
    from pucredit.config.policy import BankTerms

    bank, tape = tapes[bank_id]
    return compute_metrics(tape, bank_id, period, bank.policy, generated_at=GENERATED_AT,
                           terms=BankTerms.of(bank)).to_json()


def main() -> None:
    GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
    for bank_id in BANKS:
        bank, tape = open_demo_tape(bank_id)
        with tape:
            for period in PERIODS:
                path = GOLDEN_DIR / f"{bank_id}_{period}.json"
                path.write_text(compute_case({bank_id: (bank, tape)}, bank_id, period), encoding="utf-8")
                print(path)


if __name__ == "__main__":
    main()
