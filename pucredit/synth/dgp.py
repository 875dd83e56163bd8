"""The simulation of the data-generating process, one month per step (steps 1-7 of the package docstring)."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import numpy as np
import pandas as pd

from pucredit.config.policy import Policy, load_policy
from pucredit.config.reference import LPR_REFORM_DATE, applicable_lpr, load_lpr
from pucredit.contract.schema import PRICING_BASES
from pucredit.synth.months import add_months, as_dates, days_in, first_day, month_end, month_index, month_text
from pucredit.synth.params import SECTOR_FLAGS, GROUPS, GUARANTEE_CODES, REPAYMENT_CODES, TYPES, BankConfig

PRICING_CODES = tuple(PRICING_BASES)
LPR_1Y, LPR_5Y, FIXED = (PRICING_CODES.index(c) for c in ("lpr_1y", "lpr_5y", "fixed"))
BULLET, AMORTIZING, EQUAL_PRINCIPAL, REVOLVING = (REPAYMENT_CODES.index(c) for c in
                                                  ("bullet", "amortizing", "equal_principal", "revolving"))
SMB, AGRI, OTHER = range(3)
DEFAULT_DPD = (60, 90)  # days past due in the default month, drawn uniformly from [60, 90)


# --------------------------------------------------------------------------------------------- policy


def _segment_mask(policy: Policy, name: str, btype, is_business, is_agri, line) -> np.ndarray:
    """The policy's segment rules (notice 二(一)) in numpy, the same predicates as Policy.segment_sql."""
    mask = np.zeros(len(btype), dtype=bool)
    for rule in policy.segments[name].rules:
        hit = np.isin(btype, [TYPES.index(t) for t in rule.borrower_types])
        if rule.is_business is not None:
            hit &= is_business == rule.is_business
        if rule.is_agri is not None:
            hit &= is_agri == rule.is_agri
        if rule.credit_line_max_cny is not None:
            hit &= line <= rule.credit_line_max_cny
        mask |= hit
    return mask


ENTERPRISE_TYPES = ("small_micro_enterprise", "individual_business", "micro_owner", "other_enterprise")  # issue 17


def _smb_types(policy: Policy) -> set[str]:
    return {t for rule in policy.segments["inclusive_smb"].rules for t in rule.borrower_types}


# --------------------------------------------------------------------------------------------- simulation

Book = dict[str, np.ndarray]
BORROWER_FIELDS = {"borrower": np.int64, "btype": np.int8, "line": np.float64, "is_agri": bool,
                   "county": np.int16, "branch": np.int16, "poverty_hh": bool,
                   "sectors": np.int8, "industry": np.int8, "student": bool}  # issue 17: SECTOR_FLAGS bits, index
#                  into the config's industry_probs (-1: blank), student-loan borrower
LOAN_FIELDS = {"loan": np.int64, "is_business": bool, "amount": np.float64, "orig_day": np.int32,
               "orig_month": np.int32, "term": np.int16, "mat_day": np.int32, "rate": np.float64,
               "is_first": bool, "is_renewal": bool, "guarantee": np.int8, "pricing": np.int8,
               "repayment": np.int8, "fee3": np.float64, "feeb": np.float64, "seg_smb": bool, "seg_agri": bool,
               "risk": np.int8, "default_month": np.int32, "default_dpd": np.int16, "default_balance": np.float64,
               "pred": np.int64}
QUEUE_FIELDS = {**BORROWER_FIELDS, "due": np.int32}


def _empty(fields: dict) -> Book:
    return {k: np.empty(0, dtype=v) for k, v in fields.items()}


def _take(book: Book, index) -> Book:
    return {k: v[index] for k, v in book.items()}


def _concat(*books: Book) -> Book:
    return {k: np.concatenate([b[k] for b in books]) for k in books[0]}


def _choice(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One categorical draw per row of a (rows × categories) probability matrix."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random(len(probs))[:, None] * cum[:, -1:]
    return (u >= cum).sum(axis=1).clip(max=probs.shape[1] - 1)


def _tally(shape: tuple[int, ...], weights, *index) -> np.ndarray:
    """Sum of weights by cell of a small grid, e.g. segment × first loan."""
    flat = np.ravel_multi_index([np.asarray(i, dtype=np.int64) for i in index], shape)
    return np.bincount(flat, weights=np.asarray(weights, dtype=np.float64),
                       minlength=int(np.prod(shape))).reshape(shape)


def scheduled_balance(amount, rate, term, repayment, k, utilisation) -> np.ndarray:
    """Performing balance after k monthly instalments (step 5); utilisation applies to revolving loans."""
    k = k.astype(np.float64)
    n = term.astype(np.float64)
    i = rate / 1200.0
    growth_n, growth_k = (1 + i) ** n, (1 + i) ** k
    annuity = np.where(i > 0, amount * (growth_n - growth_k) / np.where(i > 0, growth_n - 1, 1), amount * (1 - k / n))
    balance = np.select([repayment == AMORTIZING, repayment == EQUAL_PRINCIPAL, repayment == REVOLVING],
                        [annuity, amount * (1 - k / n), np.where(k == 0, amount, amount * utilisation)], amount)
    return np.round(np.maximum(balance, 0.0), 2)


class Realised:
    """Realised truths accumulated during the simulation (written to the truth file)."""

    def __init__(self):
        self.ecm = {"month": [], "x_pct": [], "m_pct": [], "eps_pp": [], "r_pct": [], "loans": [], "amount_cny": []}
        self.at_risk = np.zeros((3, 2))   # loan-months at risk by segment × first loan
        self.defaults = np.zeros((3, 2))  # default onsets by segment × first loan
        self.new_borrowers: dict[str, np.ndarray] = {}  # year -> new borrowers by segment × first loan
        self.smb_originators: dict[str, list] = {}      # year -> [borrowers, first-loan borrowers] id arrays
        self.maturing = np.zeros(3)       # maturing performing operating loans by segment
        self.renewed = np.zeros(3)        # of which renewed
        self.fees = np.zeros((5, 3))  # (loans, with third-party fee, with bank fee, amount, fees) × segment
        self.first_window_borrower: int | None = None
        self.writeoffs: dict[int, dict[str, float]] = {}  # issue 17: month -> balance written off, tape and segments
        self.links: list[tuple[np.ndarray, np.ndarray]] = []  # (renewal, loan it replaces) seen in the tape
        self.defaults_seen: list[tuple[np.ndarray, int]] = []  # (loans, default month) from the month before start
        self.first_smb: list[tuple[np.ndarray, int]] = []  # (inclusive_smb first loans, origination month)

    def year(self, t: int) -> str:
        return month_text(t)[:4]


class Simulation:
    """The DGP of the package docstring, one month per call of :meth:`step`."""

    def __init__(self, cfg: BankConfig, policy: Policy, lpr: pd.DataFrame):
        self.cfg, self.policy, self.lpr = cfg, policy, lpr
        self.start, self.end = month_index(cfg.start), month_index(cfg.end)
        events, ecm, rows, attributes = np.random.SeedSequence(cfg.seed).spawn(4)
        self.attr_rng = np.random.default_rng(attributes)  # issue 17: sector flags, industries, student loans
        self.rng = np.random.default_rng(events)
        self.ecm_rng = np.random.default_rng(ecm)
        self.row_rng = np.random.default_rng(rows)
        self.types = [t for t in TYPES if t in cfg.borrower_types]
        params = [cfg.borrower_types[t] for t in self.types]
        self.type_index = np.array([TYPES.index(t) for t in self.types])
        # per-type lookup tables, indexed by the global borrower-type code
        self.rate_offset = np.zeros(len(TYPES))
        self.prepay = np.zeros(len(TYPES))
        self.p_business = np.zeros(len(TYPES))
        for code, p in zip(self.type_index, params):
            self.rate_offset[code], self.prepay[code], self.p_business[code] = (
                p.rate_offset_pp, p.prepay_monthly, p.is_business_prob)
        self.terms = {TYPES.index(t): (np.array(p.term_months), np.array(p.term_probs)) for t, p in zip(self.types, params)}
        self.repayment_probs = np.zeros((len(TYPES), len(REPAYMENT_CODES)))
        self.guarantee_probs = np.zeros((len(TYPES), len(GUARANTEE_CODES)))
        for code, p in zip(self.type_index, params):
            self.repayment_probs[code] = [p.repayment_probs.get(c, 0.0) for c in REPAYMENT_CODES]
            self.guarantee_probs[code] = [p.guarantee_probs.get(c, 0.0) for c in GUARANTEE_CODES]
        self.guarantee_offset = np.array([cfg.guarantee_offset_pp[c] for c in GUARANTEE_CODES])
        self.hazard = np.array([cfg.hazard_monthly[g] for g in GROUPS])
        self.smb_type_codes = [TYPES.index(t) for t in _smb_types(policy)]
        weights = np.array([c.weight for c in cfg.counties], dtype=float)
        self.county_probs = weights / weights.sum()
        self.branch_start = np.cumsum([0] + [c.branches for c in cfg.counties])
        self.poverty_area = np.array([c.is_poverty_area for c in cfg.counties])
        self.reform_day = int((LPR_REFORM_DATE.to_datetime64().astype("datetime64[D]")).astype(np.int64))
        self.book = _empty({**BORROWER_FIELDS, **LOAN_FIELDS})
        self.queue = _empty(QUEUE_FIELDS)
        self.next_loan = 1
        self.next_borrower = 1
        self.truth = Realised()
        self.x_prev = self._lpr_at_month_end(self.start - 1)
        self.m_prev = cfg.ecm_alpha_pct + cfg.ecm_theta * self.x_prev

    def months(self) -> Iterator[int]:
        """Simulate every month; yield the window months after their step, the live book then in self.book."""
        for t in range(self.start - self.cfg.burn_in_months, self.end + 1):
            self.step(t)
            if t >= self.start:
                yield t

    # -- one month ---------------------------------------------------------------------------------

    def step(self, t: int) -> None:
        cfg, rng, book = self.cfg, self.rng, self.book
        n = len(book["loan"])
        observed = t > self.start  # the tape shows the previous month too, so these events can be seen in it
        k = t - book["orig_month"]
        defaulted = book["default_month"] >= 0
        written_off = defaulted & (t - book["default_month"] >= cfg.writeoff_months)
        matured = ~defaulted & (k >= book["term"])
        prepaid = ~defaulted & ~matured & (rng.random(n) < self.prepay[book["btype"]])
        at_risk = ~defaulted & ~matured & ~prepaid
        hazard = self.hazard[book["risk"]] * np.where(book["is_first"], cfg.first_loan_hazard_multiplier, 1.0)
        new_default = at_risk & (rng.random(n) < hazard)
        renewed = matured & book["is_business"] & (rng.random(n) < cfg.renewal_prob)
        repeats = (matured & ~renewed | prepaid) & (rng.random(n) < cfg.repeat_prob)
        gaps = rng.integers(1, cfg.repeat_gap_months_max + 1, size=n)
        if t >= self.start - 1:
            self.truth.defaults_seen.append((book["loan"][new_default], t))
        if observed:
            cells = (book["risk"], book["is_first"])
            self.truth.at_risk += _tally((3, 2), at_risk, *cells)
            self.truth.defaults += _tally((3, 2), new_default, *cells)
            self.truth.maturing += _tally((3,), matured & book["is_business"], book["risk"])
            self.truth.renewed += _tally((3,), renewed, book["risk"])

        d = np.flatnonzero(new_default)
        if len(d):
            utilisation = rng.uniform(cfg.revolving_utilisation_min, 1.0, size=len(d))
            book["default_balance"][d] = scheduled_balance(
                book["amount"][d], book["rate"][d], book["term"][d], book["repayment"][d], k[d], utilisation)
            book["default_month"][d] = t
            book["default_dpd"][d] = rng.integers(*DEFAULT_DPD, size=len(d))

        queued = _take(book, repeats)
        self.queue = _concat(self.queue, {**{f: queued[f] for f in BORROWER_FIELDS},
                                          "due": (t + gaps[repeats]).astype(np.int32)})
        if t >= self.start:  # issue 17: loans written off this month left the tape after their row of month t − 1
            self.truth.writeoffs[t] = {name: float(book["default_balance"][written_off & mask].sum()) for name, mask in
                                       (("tape", np.ones(n, bool)), ("inclusive_smb", book["seg_smb"]),
                                        ("inclusive_agri", book["seg_agri"]))}
        renewals = self._renewals(_take(book, renewed))
        self.book = _take(book, ~(written_off | matured | prepaid))

        due = self.queue["due"] == t
        repeat_borrowers = {f: self.queue[f][due] for f in BORROWER_FIELDS}
        self.queue = _take(self.queue, ~due)
        arrivals = self._arrivals(t)
        new = _concat(renewals,
                      self._new_loans(repeat_borrowers, t, first=np.zeros(len(repeat_borrowers["borrower"]), bool)),
                      self._new_loans(arrivals, t, first=rng.random(len(arrivals["borrower"])) < cfg.first_loan_share))
        new = _take(new, np.argsort(new["orig_day"], kind="stable"))
        new["loan"] = np.arange(self.next_loan, self.next_loan + len(new["loan"]), dtype=np.int64)
        self.next_loan += len(new["loan"])
        self._classify(new)
        self._price(new, t)
        self._fees(new)
        if observed:  # the replaced loan's last row, month t − 1, is in the tape
            self.truth.links.append((new["loan"][new["is_renewal"]], new["pred"][new["is_renewal"]]))
        if t >= self.start:
            self._record_originations(new, arrivals["borrower"], t)
        self.book = _concat(self.book, new)

    # -- arrivals and products ---------------------------------------------------------------------

    def _arrivals(self, t: int) -> Book:
        """New borrowers of month t (step 1, 2): Poisson per type, split into agri and non-agri streams."""
        cfg, rng = self.cfg, self.rng
        years = (t - self.start) / 12
        counts = []
        for name in self.types:
            p = cfg.borrower_types[name]
            group = "inclusive_smb" if TYPES.index(name) in self.smb_type_codes else "other"
            agri_rate = p.new_per_month * p.is_agri_prob * (1 + cfg.annual_growth["inclusive_agri"]) ** years
            rest_rate = p.new_per_month * (1 - p.is_agri_prob) * (1 + cfg.annual_growth[group]) ** years
            counts.append((TYPES.index(name), rng.poisson(agri_rate), rng.poisson(rest_rate)))
        btype = np.concatenate([np.full(a + r, code, np.int8) for code, a, r in counts]) if counts else np.empty(0, np.int8)
        is_agri = np.concatenate([np.r_[np.ones(a, bool), np.zeros(r, bool)] for _, a, r in counts])
        m = len(btype)
        borrower = np.arange(self.next_borrower, self.next_borrower + m, dtype=np.int64)
        self.next_borrower += m
        if t >= self.start and self.truth.first_window_borrower is None:
            self.truth.first_window_borrower = int(borrower[0]) if m else None
        medians = np.array([cfg.borrower_types[TYPES[c]].credit_line_median_cny for c in btype])
        sds = np.array([cfg.borrower_types[TYPES[c]].credit_line_log_sd for c in btype])
        line = np.maximum(np.round(medians * np.exp(sds * rng.standard_normal(m)), -4), 10_000.0)
        county = rng.choice(len(self.county_probs), size=m, p=self.county_probs).astype(np.int16)
        branches = self.branch_start[county + 1] - self.branch_start[county]
        branch = (self.branch_start[county] + (rng.random(m) * branches).astype(int)).astype(np.int16)
        poverty_hh = ((btype == TYPES.index("farmer")) & self.poverty_area[county]
                      & (rng.random(m) < cfg.poverty_household_share))
        line = np.where(poverty_hh, cfg.poverty_loan_max_cny, line)
        return {"borrower": borrower, "btype": btype, "line": line, "is_agri": is_agri | poverty_hh,
                "county": county, "branch": branch, "poverty_hh": poverty_hh, **self._attributes(btype)}

    def _attributes(self, btype: np.ndarray) -> Book:
        """Issue 17 (三(四), 三(六)): sector flags and industry of enterprise-type borrowers, farmers in 门类 A,
        student-loan borrowers among other individuals; from a stream of their own."""
        cfg, rng, m = self.cfg, self.attr_rng, len(btype)
        enterprise = np.isin(btype, [TYPES.index(t) for t in ENTERPRISE_TYPES])
        bits = np.zeros(m, np.int8)
        for i, flag in enumerate(SECTOR_FLAGS):
            bits |= ((enterprise & (rng.random(m) < cfg.sector_flag_probs.get(flag, 0.0))) << i).astype(np.int8)
        industry = np.full(m, -1, np.int8)
        if cfg.industry_probs:
            codes = list(cfg.industry_probs)
            drawn = rng.choice(len(codes), size=m, p=list(cfg.industry_probs.values())).astype(np.int8)
            industry = np.where(enterprise, drawn, industry).astype(np.int8)
            if "A" in codes:
                industry = np.where(btype == TYPES.index("farmer"), codes.index("A"), industry).astype(np.int8)
        student = (btype == TYPES.index("other_individual")) & (rng.random(m) < cfg.student_loan_share)
        return {"sectors": bits, "industry": industry, "student": student}

    def _new_loans(self, borrowers: Book, t: int, first: np.ndarray) -> Book:
        """Fresh loans (not renewals) for these borrowers, originated on a uniform day of month t."""
        cfg, rng = self.cfg, self.rng
        m = len(borrowers["borrower"])
        btype, hh = borrowers["btype"], borrowers["poverty_hh"]
        term = np.zeros(m, np.int16)
        for code, (terms, probs) in self.terms.items():
            rows = np.flatnonzero(btype == code)
            term[rows] = terms[_choice(rng, np.broadcast_to(probs, (len(rows), len(probs))))]
        hh_terms = np.array(cfg.poverty_loan_terms_months)
        term = np.where(hh, hh_terms[rng.integers(0, len(hh_terms), size=m)], term).astype(np.int16)
        repayment = np.where(hh, BULLET, _choice(rng, self.repayment_probs[btype])).astype(np.int8)
        guarantee = np.where(hh, GUARANTEE_CODES.index("credit"), _choice(rng, self.guarantee_probs[btype])).astype(np.int8)
        is_business = hh | (rng.random(m) < self.p_business[btype])
        share = rng.uniform(cfg.amount_to_line_min, 1.0, size=m)
        hh_share = rng.uniform(0.4, 1.0, size=m)
        amount = np.where(hh, np.floor(cfg.poverty_loan_max_cny * hh_share / 1000) * 1000,
                          np.floor(borrowers["line"] * share / 100) * 100)
        orig_day = first_day(t) + (rng.random(m) * days_in(t)).astype(np.int64)
        return self._loans(borrowers, t, orig_day, term, repayment, guarantee, is_business,
                           np.maximum(amount, 100.0), first, np.zeros(m, bool))

    def _renewals(self, old: Book) -> Book:
        """Renewal loans (step 6): same borrower, product and term, originated on the old maturity date;
    ``pred`` is the loan each replaces."""
        m = len(old["loan"])
        amount = np.floor(old["amount"] * np.exp(self.cfg.renewal_amount_log_sd * self.rng.standard_normal(m)) / 100) * 100
        amount = np.clip(amount, 100.0, old["line"])
        t = old["orig_month"] + old["term"]
        new = self._loans({f: old[f] for f in BORROWER_FIELDS}, t, old["mat_day"].astype(np.int64), old["term"],
                          old["repayment"], old["guarantee"], np.ones(m, bool), amount, np.zeros(m, bool), np.ones(m, bool))
        new["pred"] = old["loan"]
        return new

    def _loans(self, borrowers, t, orig_day, term, repayment, guarantee, is_business, amount, first, renewal) -> Book:
        m = len(orig_day)
        orig_month = np.broadcast_to(np.asarray(t, dtype=np.int64), (m,))
        return {**borrowers,
                "loan": np.zeros(m, np.int64), "is_business": is_business, "amount": amount,
                "orig_day": orig_day.astype(np.int32), "orig_month": orig_month.astype(np.int32),
                "term": term.astype(np.int16), "mat_day": add_months(orig_day, orig_month, term).astype(np.int32),
                "rate": np.zeros(m), "is_first": first, "is_renewal": renewal,
                "guarantee": guarantee.astype(np.int8), "pricing": np.zeros(m, np.int8),
                "repayment": repayment.astype(np.int8), "fee3": np.zeros(m), "feeb": np.zeros(m),
                "seg_smb": np.zeros(m, bool), "seg_agri": np.zeros(m, bool), "risk": np.zeros(m, np.int8),
                "default_month": np.full(m, -1, np.int32), "default_dpd": np.zeros(m, np.int16),
                "default_balance": np.zeros(m), "pred": np.zeros(m, np.int64)}

    def _classify(self, new: Book) -> None:
        """Policy segments of the new loans (constant over their rows) and the hazard segment (step 4)."""
        args = (new["btype"], new["is_business"], new["is_agri"], new["line"])
        new["seg_smb"] = _segment_mask(self.policy, "inclusive_smb", *args)
        new["seg_agri"] = _segment_mask(self.policy, "inclusive_agri", *args)
        new["risk"] = np.where(new["seg_smb"], SMB, np.where(new["seg_agri"], AGRI, OTHER)).astype(np.int8)

    # -- pricing (step 3) --------------------------------------------------------------------------

    def _lpr(self, days: np.ndarray, tenor: str) -> np.ndarray:
        return applicable_lpr(as_dates(days), self.lpr, tenor) if len(days) else np.empty(0)

    def _lpr_at_month_end(self, t: int) -> float:
        return float(self._lpr(month_end([t]), "1y")[0])

    def _price(self, new: Book, t: int) -> None:
        cfg, rng = self.cfg, self.rng
        m = len(new["loan"])
        pre_reform = new["orig_day"] < self.reform_day
        lpr1 = np.where(pre_reform, np.nan, self._lpr(np.maximum(new["orig_day"], self.reform_day), "1y"))
        lpr5 = np.where(pre_reform, np.nan, self._lpr(np.maximum(new["orig_day"], self.reform_day), "5y"))
        fixed = pre_reform | (rng.random(m) < cfg.fixed_rate_share)
        pricing = np.where(fixed, FIXED, np.where(new["term"] > 60, LPR_5Y, LPR_1Y))
        pricing = np.where(new["poverty_hh"] & ~pre_reform, LPR_1Y, pricing).astype(np.int8)
        group = new["seg_smb"] & (pricing == LPR_1Y)
        if t >= self.start:
            m_t = self._ecm_step(t, new["amount"][group], lpr1[group])
        else:
            reference = self._lpr_at_month_end(t)
            m_t = cfg.ecm_alpha_pct + cfg.ecm_theta * (cfg.pre_reform_rate_pct if np.isnan(reference) else reference)
        offset = (self.rate_offset[new["btype"]] + self.guarantee_offset[new["guarantee"]]
                  + cfg.first_loan_premium_pp * new["is_first"])
        if group.any():
            offset[group] -= np.average(offset[group], weights=new["amount"][group])
        anchor = m_t + np.where(pricing == LPR_5Y, lpr5 - lpr1 + cfg.lpr_5y_offset_pp, 0.0)
        rate = anchor + offset + cfg.loan_rate_sd_pp * rng.standard_normal(m)
        micro = np.where(pre_reform, cfg.pre_reform_rate_pct, lpr1)
        new["rate"] = np.round(np.where(new["poverty_hh"], micro, rate), 4)
        new["pricing"] = pricing
        if t >= self.start:
            ecm = self.truth.ecm
            ecm["r_pct"].append(float(np.average(new["rate"][group], weights=new["amount"][group])) if group.any() else None)
            ecm["loans"].append(int(group.sum()))
            ecm["amount_cny"].append(round(float(new["amount"][group].sum()), 2))

    def _ecm_step(self, t: int, amount: np.ndarray, lpr1: np.ndarray) -> float:
        """m_t of the ECM; x_t is the month's amount-weighted applicable 1-year LPR of the ECM group."""
        cfg = self.cfg
        x = float(np.average(lpr1, weights=amount)) if len(amount) else self._lpr_at_month_end(t)
        eps = cfg.ecm_sigma_pp * float(self.ecm_rng.standard_normal())
        m = (self.m_prev + cfg.ecm_beta * (x - self.x_prev)
             + cfg.ecm_gamma * (self.m_prev - cfg.ecm_alpha_pct - cfg.ecm_theta * self.x_prev) + eps)
        ecm = self.truth.ecm
        ecm["month"].append(month_text(t))
        ecm["x_pct"].append(x)
        ecm["m_pct"].append(m)
        ecm["eps_pp"].append(eps)
        self.x_prev, self.m_prev = x, m
        return m

    def _fees(self, new: Book) -> None:
        """Origination fees (step 7)."""
        cfg, rng = self.cfg, self.rng
        m = len(new["loan"])
        amount, hh = new["amount"], new["poverty_hh"]
        guarantor = (new["guarantee"] == GUARANTEE_CODES.index("guarantee")) & (rng.random(m) < cfg.guarantor_fee_prob)
        agent = rng.random(m) < cfg.agent_fee_prob
        bank = rng.random(m) < cfg.bank_fee_prob
        fee3 = (guarantor * rng.uniform(*cfg.guarantor_fee_rate, size=m)
                + agent * rng.uniform(*cfg.agent_fee_rate, size=m)) * amount
        feeb = bank * rng.uniform(*cfg.bank_fee_rate, size=m) * amount
        new["fee3"] = np.round(np.where(hh, 0.0, fee3), 2)
        new["feeb"] = np.round(np.where(hh, 0.0, feeb), 2)

    def _record_originations(self, new: Book, arrived: np.ndarray, t: int) -> None:
        truth, year = self.truth, self.truth.year(t)
        newcomer = np.isin(new["borrower"], arrived)
        counts = truth.new_borrowers.setdefault(year, np.zeros((3, 2)))
        counts += _tally((3, 2), newcomer, new["risk"], new["is_first"])
        smb = new["seg_smb"]
        truth.first_smb.append((new["loan"][smb & new["is_first"]], t))
        ids = truth.smb_originators.setdefault(year, [[], []])
        ids[0].append(new["borrower"][smb])
        ids[1].append(new["borrower"][smb & new["is_first"]])
        for row, values in enumerate((np.ones_like(new["amount"]), new["fee3"] > 0, new["feeb"] > 0,
                                      new["amount"], new["fee3"] + new["feeb"])):
            truth.fees[row] += _tally((3,), values, new["risk"])


# --------------------------------------------------------------------------------------------- scaling


def count_rows(config: BankConfig) -> int:
    """Rows the config's tape would have: one simulation without writing anything."""
    sim = Simulation(config, load_policy(config.policy), load_lpr())
    return sum(len(sim.book["loan"]) for _ in sim.months())


def scaled(config: BankConfig, n_rows: int) -> BankConfig:
    """The same DGP with arrivals (and the non-tape book and deposits) scaled so the tape has about n_rows rows.

    Rows are proportional to the arrival rates in expectation, so one pilot
    simulation of ``config`` fixes the factor.
    """
    factor = n_rows / count_rows(config)
    types = {name: replace(p, new_per_month=p.new_per_month * factor) for name, p in config.borrower_types.items()}
    deposits = None if config.county_deposits_cny is None else config.county_deposits_cny * factor
    return replace(config, borrower_types=types, non_tape_loans_cny=config.non_tape_loans_cny * factor,
                   county_deposits_cny=deposits)
