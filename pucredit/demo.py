"""``pucredit demo``: build the demo banks' data if missing and report on them."""
from __future__ import annotations

import sys

from .banks import load_bank
from .paths import BANKS_DIR, DEMO_DIR
from .synth import DEMO_BANKS, build_demo

DEMO_PERIODS = ("2024", "2025H1")


def run_demo() -> int:
    """Build the demo data (deterministic) and print each demo bank's headline metrics."""
    from .metrics import compute_metrics
    from .tape import open_tape

    build_demo(DEMO_DIR, BANKS_DIR, progress=lambda text: print(text, file=sys.stderr))
    for bank_id in DEMO_BANKS:
        bank = load_bank(BANKS_DIR / f"{bank_id}.yaml")
        with open_tape(bank.tape, bank.totals, lpr=bank.lpr) as tape:
            tape.raise_for_errors()
            for period in DEMO_PERIODS:
                m = compute_metrics(tape, bank.bank_id, period, bank.policy)
                print(headline(bank.name, m))
    return 0


def _pct(value, digits=2) -> str:
    return "n/a" if value is None else f"{value * 100:.{digits}f}%"


def headline(name: str, m: dict) -> str:
    """A few lines a person can read: targets, price, first loans, NPL headroom."""
    v, p, f, r = m["volume"], m["pricing"], m["first_loans"], m["risk"]
    pt = p["passthrough"]
    met = {True: "met", False: "NOT met", None: "n/a"}
    return "\n".join([
        f"{m['bank_id']} {name} {m['period']} (totals from {m['provenance']['totals_source']})",
        f"  inclusive_smb growth {_pct(v['inclusive_smb_growth'])} vs all loans {_pct(v['total_loans_growth'])}:"
        f" target {met[v['inclusive_smb_target_met']]}; agri growth {_pct(v['inclusive_agri_growth'])}:"
        f" target {met[v['inclusive_agri_target_met']]}",
        f"  new inclusive_smb rate {p['inclusive_smb_new_rate_pct'] or float('nan'):.2f}% "
        f"(spread {p['inclusive_smb_new_spread_pp'] or float('nan'):.2f} pp over LPR);"
        f" pass-through long-run {pt['long_run'] if pt['long_run'] is None else round(pt['long_run'], 2)}",
        f"  first-loan share {_pct(f['first_loan_share'], 1)} of {f['borrowers_originated']} borrowers;"
        f" NPL {_pct(r['inclusive_smb_npl_ratio'])} vs all {_pct(r['total_npl_ratio'])},"
        f" headroom {r['inclusive_smb_npl_headroom_pp'] if r['inclusive_smb_npl_headroom_pp'] is None else round(r['inclusive_smb_npl_headroom_pp'], 2)} pp",
    ])
