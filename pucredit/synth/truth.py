"""The known truth of a generated tape, written to ``<bank>_truth.json``: what the estimators are tested against."""
from __future__ import annotations

from dataclasses import asdict

import numpy as np

from pucredit._version import __version__
from pucredit.config.policy import Policy
from pucredit.synth.dgp import Simulation
from pucredit.synth.months import month_text
from pucredit.synth.params import GROUPS, BankConfig
from pucredit.synth.rows import id_text


def _ytd_growth(series: dict[str, float]) -> dict[str, float | None]:
    """Year-to-date growth (docs/data-contract.md §9): stock at the year's last tape month over the previous December."""
    out = {}
    years = sorted({m[:4] for m in series})
    for year in years:
        base = series.get(f"{int(year) - 1}-12")
        last = max(m for m in series if m.startswith(year))
        out[year] = None if not base else series[last] / base - 1
    return out


def truth_record(cfg: BankConfig, policy: Policy, sim: Simulation, stocks: dict, totals: list[dict], rows: int,
                 paths: dict, conduct: dict | None = None) -> dict:
    """The truth file: the config, the true parameters and the truths the simulation realised."""
    truth = sim.truth
    months = list(stocks)
    balances = {seg: [stocks[m][seg]["balance_cny"] for m in months] for seg in stocks[months[0]]}
    npl = {seg: [stocks[m][seg]["npl_cny"] for m in months] for seg in stocks[months[0]]}
    total_loans = [t["total_loans_cny"] for t in totals] if not cfg.tape_is_complete else balances["tape"]
    total_npl = [t["total_npl_cny"] for t in totals] if not cfg.tape_is_complete else npl["tape"]
    growth = {seg: _ytd_growth(dict(zip(months, values))) for seg, values in balances.items()}
    growth["total_loans"] = _ytd_growth(dict(zip(months, total_loans)))

    ecm = truth.ecm
    hazard = {}
    for g, name in enumerate(GROUPS):
        at_risk, defaults = truth.at_risk[g], truth.defaults[g]
        mult = np.array([1.0, cfg.first_loan_hazard_multiplier])
        hazard[name] = {
            "true_monthly": cfg.hazard_monthly[name],
            "at_risk_loan_months": int(at_risk.sum()), "defaults": int(defaults.sum()),
            "expected_defaults": float((at_risk * mult).sum() * cfg.hazard_monthly[name]),
            "realised_repeat_monthly": _ratio(defaults[0], at_risk[0]),
            "realised_first_monthly": _ratio(defaults[1], at_risk[1]),
        }
    first_by_year = {year: {name: {"new_borrowers": int(c[g].sum()), "first_loan_borrowers": int(c[g, 1]),
                                   "share": _ratio(c[g, 1], c[g].sum())} for g, name in enumerate(GROUPS)}
                     for year, c in sorted(truth.new_borrowers.items())}
    window = sum(truth.new_borrowers.values())
    first_window = {name: {"new_borrowers": int(window[g].sum()), "first_loan_borrowers": int(window[g, 1]),
                           "share": _ratio(window[g, 1], window[g].sum())} for g, name in enumerate(GROUPS)}
    smb_metric = {}
    for year, (ids, first_ids) in sorted(truth.smb_originators.items()):
        n_all, n_first = len(np.unique(np.concatenate(ids))), len(np.unique(np.concatenate(first_ids)))
        smb_metric[year] = {"borrowers_originated": n_all, "first_loan_borrowers": n_first,
                            "first_loan_share": _ratio(n_first, n_all)}
    loans, third_party, bank, amount, paid = truth.fees
    fees = {name: {"loans": int(loans[g]), "share_with_third_party_fee": _ratio(third_party[g], loans[g]),
                   "share_with_bank_fee": _ratio(bank[g], loans[g]), "fees_over_amount": _ratio(paid[g], amount[g])}
            for g, name in enumerate(GROUPS)}
    renewals = {name: {"maturing_operating_loans": int(truth.maturing[g]), "renewed": int(truth.renewed[g]),
                       "share": _ratio(truth.renewed[g], truth.maturing[g])} for g, name in enumerate(GROUPS)}
    return {
        "generator": "pucredit.synth", "pucredit_version": __version__,
        "bank_id": cfg.bank_id, "name": cfg.name, "kind": cfg.kind, "policy": cfg.policy,
        "policy_sha256": policy.sha256,
        "files": {k: (p.name if p is not None else None) for k, p in paths.items()},
        "config": asdict(cfg),
        "rows": rows, "loans": sim.next_loan - 1, "borrowers": sim.next_borrower - 1, "months": months,
        "segments_note": ("inclusive_smb, inclusive_agri: the policy's segments (they overlap); hazard, fee, renewal "
                          "and first-loan truths use the partition inclusive_smb, else inclusive_agri, else other"),
        "passthrough": {
            "long_run": cfg.ecm_theta, "short_run": cfg.ecm_beta, "adjustment_speed": cfg.ecm_gamma,
            "alpha_pct": cfg.ecm_alpha_pct, "sigma_pp": cfg.ecm_sigma_pp,
            "half_life_months": float(np.log(0.5) / np.log(1 + cfg.ecm_gamma)),
            "loan_rate_sd_pp": cfg.loan_rate_sd_pp,
            "series_note": ("x_pct: amount-weighted applicable 1Y LPR of the month's inclusive_smb lpr_1y "
                            "originations; m_pct: the ECM target; r_pct: the same loans' amount-weighted rate "
                            "(m_pct plus loan noise); eps_pp: the ECM shock"),
            **ecm,
        },
        "first_loans": {
            "first_loan_share": cfg.first_loan_share,
            "first_window_borrower_id": id_text("B", np.array([truth.first_window_borrower]))[0].as_py()
            if truth.first_window_borrower else None,
            "new_borrowers_window": first_window,
            "new_borrowers_by_year": first_by_year,
            "inclusive_smb_metric_by_year": smb_metric,
            "note": ("new borrowers: arrivals in the window, by the segment of their first loan here; "
                     "inclusive_smb_metric_by_year follows docs/data-contract.md §17 (all borrowers with an inclusive_smb "
                     "origination in the year)"),
        },
        "default": {"first_loan_hazard_multiplier": cfg.first_loan_hazard_multiplier,
                    "special_mention_monthly": cfg.special_mention_monthly,
                    "writeoff_months": cfg.writeoff_months, "by_segment": hazard,
                    "note": ("months after the first snapshot month; at risk: loans performing (days_past_due "
                             "< 60) at the previous month end that neither matured nor repaid early this month; "
                             "default onset: first row with days_past_due >= 60")},
        "renewals": {"renewal_prob": cfg.renewal_prob, "repeat_prob": cfg.repeat_prob, "by_segment": renewals,
                     "chains": renewal_chains(sim)},
        "fees": {"by_segment": fees},
        "writeoffs_cny": {month_text(t): w for t, w in sorted(truth.writeoffs.items())},  # issue 17
        "conduct": {"columns": list(cfg.conduct_columns), "by_month": conduct or {},
                    "note": ("pucredit.synth.conduct: per month, the inclusive_smb stock with a balance, what of it "
                             "the 五(十) screens flag at the policy's thresholds, the largest 1 %/10 % borrowers' "
                             "shares, and the month's new inclusive_smb loans by payment method and first bank loan; "
                             "computed whether or not the tape carries the columns")},
        "volume": {"annual_growth_true": cfg.annual_growth, "ytd_growth": growth, "balance_cny": balances,
                   "npl_cny": npl, "total_loans_cny": total_loans, "total_npl_cny": total_npl},
    }


def renewal_chains(sim: Simulation, horizon: int = 12) -> dict:
    """Renewal-chain facts of the tape (notice 四(九), 二(三)): renewals linked to a loan in the tape, chains
    (an original loan and its successors), chains whose default is on a renewal (a loan-by-loan view sees
    the original loan repaid), and the share of inclusive_smb first loans of the window, observed for
    ``horizon`` months, that are non-performing (the month after default onset) within the horizon: on the
    loan itself and on the loan or any of its renewals."""
    truth = sim.truth
    pred = {int(new): int(old) for news, olds in truth.links for new, old in zip(news, olds)}
    children: dict[int, list[int]] = {}
    for new, old in pred.items():
        children.setdefault(old, []).append(new)

    def root(loan: int) -> int:
        while loan in pred:
            loan = pred[loan]
        return loan

    npl = {int(loan): t + 1 for loans, t in truth.defaults_seen if t + 1 <= sim.end for loan in loans}
    first = [(int(loan), t) for loans, t in truth.first_smb if t <= sim.end - horizon for loan in loans]
    own = chained = 0
    for loan, t in first:
        members, chain_npl = [loan], []
        while members:
            member = members.pop()
            chain_npl += [npl[member]] if member in npl else []
            members += children.get(member, [])
        own += loan in npl and npl[loan] - t <= horizon
        chained += bool(chain_npl) and min(chain_npl) - t <= horizon
    return {"linked_renewals": len(pred), "chains": len({root(loan) for loan in pred}),
            "defaults_on_renewals": len({root(loan) for loan in pred if loan in npl}),
            "first_loans_followed": len(first), "horizon_months": horizon,
            "first_loan_default_rate_own": _ratio(own, len(first)),
            "first_loan_default_rate_chain": _ratio(chained, len(first)),
            "note": ("linked: renewals whose replaced loan has a row in the tape (originated after the first "
                     "month); defaults on renewals: chains whose first non-performing loan is a renewal (the "
                     "original loan never defaults: defaulted loans are not renewed); first loans: inclusive_smb "
                     "first loans originated in the window at least the horizon before the tape's last month")}


def _ratio(a, b) -> float | None:
    return float(a) / float(b) if b else None
