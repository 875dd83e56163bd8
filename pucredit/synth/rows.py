"""The rows of a window month: the live book in the contract's columns (steps 4, 5 and 8 of the package docstring)."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pucredit.config.policy import Policy
from pucredit.contract.schema import PRODUCTS, RISK_CLASSES, TAPE_COLUMNS
from pucredit.synth import conduct
from pucredit.synth.dgp import PRICING_CODES, Book, scheduled_balance
from pucredit.synth.months import month_end, month_text
from pucredit.synth.params import SECTOR_FLAGS, GUARANTEE_CODES, REPAYMENT_CODES, TYPES, BankConfig

RISK_CODES = tuple(RISK_CLASSES)
PRODUCT_CODES = tuple(PRODUCTS)
ID_DIGITS = 9  # loan_id "L" + 9 digits, borrower_id "B" + 9 digits: fixed width, so text order = number order
TRANSIENT_DPD = (1, 60)  # days past due of a special-mention month that cures
DPD_CLASS_BOUNDS = (60, 90, 180, 360)  # special_mention from 60 (defaulted), substandard 90, doubtful 180, loss 360

_ARROW_TYPES = {"text": pa.string(), "enum": pa.string(), "date": pa.date32(), "number": pa.float64(),
                "integer": pa.int32(), "bool": pa.bool_()}


def arrow_type(col) -> pa.DataType:
    return _ARROW_TYPES[col.kind]


# the contract's columns but the 五(十)/四(七) ones, which pucredit.synth.conduct adds when a bank lists them
TAPE_SCHEMA = pa.schema([pa.field(c.name, arrow_type(c), nullable=c.name in ("predecessor_loan_id", "industry_code"))
                         for c in TAPE_COLUMNS if c.name not in conduct.CONDUCT_NAMES])


def tape_schema(cfg: BankConfig) -> pa.Schema:
    """The columns a bank's tape has: every contract column but the issue-17 ones its config does not draw
    (the conduct columns follow, those the bank lists)."""
    left_out = set()
    if not cfg.sector_flag_probs:
        left_out |= set(SECTOR_FLAGS)
    if not cfg.industry_probs:
        left_out.add("industry_code")
    if not (cfg.student_loan_share or cfg.poverty_household_share):
        left_out.add("product")
    return pa.schema([f for f in TAPE_SCHEMA if f.name not in left_out] + conduct.schema_fields(cfg))


class Tables:
    """Turns the live book of a window month into the contract's columns (steps 4, 5, 8)."""

    def __init__(self, cfg: BankConfig, policy: Policy, rng: np.random.Generator):
        self.cfg, self.rng, self.policy = cfg, rng, policy
        self.conduct_truth: dict[str, dict] = {}  # month -> the truth of pucredit.synth.conduct.columns
        self.counties = pa.array([c.code for c in cfg.counties], pa.string())
        self.branches = pa.array([f"{cfg.bank_id}-{c.code}-{j + 1:02d}" for c in cfg.counties
                                  for j in range(c.branches)], pa.string())
        self.key_county = np.array([c.is_key_county or c.code in policy.key_counties.county_codes
                                    for c in cfg.counties])
        self.key_county_flag = np.array([c.is_key_county for c in cfg.counties])
        self.poverty_area = np.array([c.is_poverty_area for c in cfg.counties])
        self.county_area = np.array([c.is_county_area for c in cfg.counties])
        self.npl_codes = [RISK_CODES.index(c) for c in policy.npl.risk_classes]
        self.schema = tape_schema(cfg)
        self.industries = pa.array(list(cfg.industry_probs) or [""], pa.string())
        # issue 17: per policy segment with an industry rule, which of the config's industry codes it takes
        codes = list(cfg.industry_probs)
        self.industry_segments = {name: np.array([any(c in (rule.industry_codes or ()) for rule in seg.rules)
                                                  for c in codes] + [False])
                                  for name, seg in policy.segments.items()
                                  if any(rule.industry_codes for rule in seg.rules)}

    def snapshot(self, book: Book, t: int) -> tuple[pa.Table, dict]:
        """The month's rows as an Arrow table, and the month's balances by segment."""
        cfg, rng = self.cfg, self.rng
        n = len(book["loan"])
        k = t - book["orig_month"]
        defaulted = book["default_month"] >= 0
        transient = ~defaulted & (rng.random(n) < cfg.special_mention_monthly)
        dpd = np.where(defaulted, book["default_dpd"] + 30 * (t - book["default_month"]),
                       np.where(transient, rng.integers(*TRANSIENT_DPD, size=n), 0)).astype(np.int32)
        risk_class = np.select([transient, dpd >= DPD_CLASS_BOUNDS[3], dpd >= DPD_CLASS_BOUNDS[2],
                                dpd >= DPD_CLASS_BOUNDS[1], dpd >= DPD_CLASS_BOUNDS[0]],
                               [RISK_CODES.index(c) for c in
                                ("special_mention", "loss", "doubtful", "substandard", "special_mention")],
                               RISK_CODES.index("normal"))
        utilisation = rng.uniform(cfg.revolving_utilisation_min, 1.0, size=n)
        balance = np.where(defaulted, book["default_balance"],
                           scheduled_balance(book["amount"], book["rate"], book["term"], book["repayment"], k,
                                              utilisation))
        county = book["county"]
        columns = {
            "bank_id": pa.array([cfg.bank_id], pa.string()).take(np.zeros(n, np.int64)),
            "as_of": pa.array(np.full(n, month_end([t])[0], np.int32)).cast(pa.date32()),
            "loan_id": id_text("L", book["loan"]),
            "borrower_id": id_text("B", book["borrower"]),
            "borrower_type": _codes(TYPES, book["btype"]),
            "is_business": pa.array(book["is_business"]),
            "credit_line_cny": pa.array(book["line"]),
            "amount_cny": pa.array(book["amount"]),
            "balance_cny": pa.array(balance),
            "origination_date": pa.array(book["orig_day"]).cast(pa.date32()),
            "maturity_date": pa.array(book["mat_day"]).cast(pa.date32()),
            "rate_pct": pa.array(book["rate"]),
            "is_agri": pa.array(book["is_agri"]),
            "is_first_loan": pa.array(book["is_first"]),
            "is_renewal": pa.array(book["is_renewal"]),
            "guarantee": _codes(GUARANTEE_CODES, book["guarantee"]),
            "risk_class": _codes(RISK_CODES, risk_class),
            "days_past_due": pa.array(dpd),
            "county_code": self.counties.take(county),
            "pricing_base": _codes(PRICING_CODES, book["pricing"]),
            "fee_third_party_cny": pa.array(book["fee3"]),
            "fee_bank_cny": pa.array(book["feeb"]),
            "repayment": _codes(REPAYMENT_CODES, book["repayment"]),
            "branch_id": self.branches.take(book["branch"]),
            "is_poverty_area": pa.array(self.poverty_area[county]),
            "is_key_county": pa.array(self.key_county_flag[county]),
            "is_poverty_household": pa.array(book["poverty_hh"]),
            "predecessor_loan_id": pc.if_else(pa.array(book["pred"] > 0), id_text("L", book["pred"]), None),
        }
        # issue 17 (三(四), 三(六)): borrower attributes, written when the config draws them
        for i, flag in enumerate(SECTOR_FLAGS):
            columns[flag] = pa.array((book["sectors"] >> i) & 1 == 1)
        industry = book["industry"]
        columns["industry_code"] = pc.if_else(pa.array(industry >= 0), self.industries.take(np.maximum(industry, 0)), None)
        columns["product"] = _codes(PRODUCT_CODES, np.select([book["poverty_hh"], book["student"]],
                                                             [PRODUCT_CODES.index("poverty_microloan"),
                                                              PRODUCT_CODES.index("student_loan")], 0))
        extra, self.conduct_truth[month_text(t)] = conduct.columns(cfg, self.policy, book, balance, t)
        columns.update(extra)
        columns = {name: columns[name] for name in self.schema.names}
        npl = np.isin(risk_class, self.npl_codes)
        masks = {"inclusive_smb": book["seg_smb"], "inclusive_agri": book["seg_agri"],
                 "key_county": self.key_county[county], "poverty_area": self.poverty_area[county],
                 "poverty_household": book["poverty_hh"], "tape": np.ones(n, bool),
                 "student_loan": book["student"],
                 **{f"smb_{flag.removeprefix('is_')}": book["seg_smb"] & ((book["sectors"] >> i) & 1 == 1)
                    for i, flag in enumerate(SECTOR_FLAGS)},
                 **{name: book["seg_smb"] & takes[industry] for name, takes in self.industry_segments.items()}}
        stocks = {name: {"balance_cny": float(balance[mask].sum()), "npl_cny": float(balance[mask & npl].sum()),
                         "loans": int(mask.sum())} for name, mask in masks.items()}
        stocks["tape"]["county_area_cny"] = float(balance[self.county_area[county]].sum())
        return pa.Table.from_pydict(columns, schema=self.schema), stocks


def id_text(prefix: str, numbers: np.ndarray) -> pa.Array:
    text = pc.utf8_lpad(pc.cast(pa.array(numbers, pa.int64()), pa.string()), ID_DIGITS, "0")
    return pc.binary_join_element_wise(prefix, text, "")


def _codes(codes: tuple[str, ...], index: np.ndarray) -> pa.Array:
    return pa.array(codes, pa.string()).take(np.asarray(index, dtype=np.int64))
