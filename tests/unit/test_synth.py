"""The synthetic generator (pucredit.synth): contract shape, invariants, and that the tapes carry the truths.

Statistical checks use tolerances of about 4 standard errors: the tapes are
seeded, so each check is deterministic, and a correct generator would fail one
under another seed with probability of order 1e-4.
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, replace
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from pucredit import synth
from pucredit.engine.segments import segment_predicate
from pucredit.contract.errors import InputError
from pucredit.config.paths import BANKS_DIR, DEMO_DIR
from pucredit.config.policy import load_policy
from pucredit.config.reference import applicable_lpr, load_lpr
from pucredit.contract.schema import TAPE_COLUMNS
from pucredit.synth.params import DEMO_CONFIG_DIR, load_config
from pucredit.synth.rows import tape_schema

ALL_COLUMNS = {c.name for c in TAPE_COLUMNS}
POLICY = load_policy("2024")
SMALL_ROWS = 30_000
ARROW = {"text": pa.string(), "enum": pa.string(), "date": pa.date32(), "number": pa.float64(),
         "integer": pa.int32(), "bool": pa.bool_()}
# What pucredit/synth/banks/<BANK>.yaml gives the generator: the sha256 of the config as the truth file records
# it (JSON of every field, integers kept), and the rows of the tape scaled to about SMALL_ROWS. A bank file
# changes them only on purpose, together with the demo data and the golden metrics.
# issue 17: new config fields (sector flags, industries, student loans; conduct columns) in every config
DEMO_CONFIG_SHA256 = {"LB01": "6a1b2c4d7f4d25f61f0137a9fa460360208e3c2e5d02e3d3ca700d975e892f03",
                      "CB01": "edec010186554397fce4fe307b94d4c4fa32041eaaa282b7102669225de1dde5",
                      "RB01": "7070b927e4f15fcfefd3e635354ee412bc24f92222682835c0072df2331a4392"}
SMALL_TAPE_ROWS = {"LB01": 31_272, "CB01": 29_954, "RB01": 28_788}


@pytest.fixture(scope="session")
def small(tmp_path_factory) -> dict[str, tuple[synth.BankConfig, dict]]:
    """Each demo bank scaled to about 30,000 rows: bank_id -> (config, written paths)."""
    out = tmp_path_factory.mktemp("small")
    result = {}
    for bank_id, config in synth.DEMO_BANKS.items():
        config = synth.scaled(config, SMALL_ROWS)
        result[bank_id] = (config, synth.generate(config, out))
    return result


@pytest.fixture(scope="session")
def rb01_full(tmp_path_factory) -> tuple[synth.BankConfig, dict]:
    """RB01 at demo size (about 340,000 rows) for the default-rate check."""
    config = synth.DEMO_BANKS["RB01"]
    return config, synth.generate(config, tmp_path_factory.mktemp("rb01"))


def sql(query: str) -> pd.DataFrame:
    return duckdb.connect().sql(query).df()


def truth(paths: dict) -> dict:
    return json.loads(paths["truth"].read_text(encoding="utf-8"))


def segment_case() -> str:
    """The partition the hazards and first-loan truths use: inclusive_smb, else inclusive_agri, else other."""
    return (f"CASE WHEN {segment_predicate(POLICY, 'inclusive_smb', ALL_COLUMNS)} THEN 'inclusive_smb' "
            f"WHEN {segment_predicate(POLICY, 'inclusive_agri', ALL_COLUMNS)} THEN 'inclusive_agri' ELSE 'other' END")


def test_same_seed_gives_identical_bytes(small, tmp_path):
    config, paths = small["RB01"]
    again = synth.generate(config, tmp_path)
    for key in ("tape", "totals", "truth"):
        assert again[key].read_bytes() == paths[key].read_bytes(), key
    other = synth.generate(replace(config, seed=config.seed + 1), tmp_path / "other")
    assert other["tape"].read_bytes() != paths["tape"].read_bytes()


def test_every_contract_column_with_its_parquet_type(small):
    """Every contract column but the 五(十)/四(七) ones, which only a bank listing them in conduct_columns has."""
    conduct = {"bureau_credit_line_cny", "bureau_lender_count", "annual_revenue_cny", "payment_method",
               "is_first_bank_loan"}
    assert [small[b][0].conduct_columns for b in ("LB01", "CB01", "RB01")] == [
        ("bureau_credit_line_cny", "bureau_lender_count", "annual_revenue_cny", "payment_method",
         "is_first_bank_loan"), ("payment_method",), ()]
    for config, paths in small.values():
        schema = pq.read_schema(paths["tape"])
        # every contract column, but the issue-17 ones the bank's config does not draw, in the contract's order
        assert schema.names == [c.name for c in TAPE_COLUMNS if c.name in tape_schema(config).names]
        assert ALL_COLUMNS - set(schema.names) <= conduct | {
            "industry_code", "is_tech_sme", "is_specialized_sme", "is_green", "is_foreign_trade", "product"}
        assert conduct & set(schema.names) == set(config.conduct_columns)
        for col in TAPE_COLUMNS:
            if col.name in schema.names:
                assert schema.field(col.name).type == ARROW[col.kind], col.name
        assert pq.ParquetFile(paths["tape"]).metadata.num_row_groups == 70  # one per month end, 2019-09..2025-06


@pytest.mark.parametrize("bank_id", list(synth.DEMO_BANKS))
def test_invariants(small, bank_id):
    config, paths = small[bank_id]
    tape = f"read_parquet('{paths['tape']}')"
    checks = sql(f"""
        SELECT count(*) FILTER (WHERE balance_cny <= 0) AS nonpositive_balance,
               count(*) FILTER (WHERE maturity_date < origination_date) AS maturity_before_origination,
               count(*) FILTER (WHERE origination_date > as_of) AS originated_after_snapshot,
               count(*) FILTER (WHERE as_of <> last_day(as_of)) AS not_month_end,
               count(*) FILTER (WHERE credit_line_cny < amount_cny) AS line_below_amount,
               count(*) FILTER (WHERE balance_cny > credit_line_cny) AS balance_above_line,
               count(*) FILTER (WHERE rate_pct < 1 OR rate_pct > 36) AS implausible_rate,
               count(*) FILTER (WHERE NOT regexp_full_match(county_code, '[1-9][0-9]{{5}}')) AS bad_county,
               count(*) FILTER (WHERE days_past_due >= 90 AND risk_class IN ('normal', 'special_mention'))
                   AS npl_days_but_performing,
               count(*) FILTER (WHERE days_past_due > 0 AND risk_class = 'normal') AS overdue_normal,
               count(*) FILTER (WHERE is_poverty_household AND (amount_cny > {config.poverty_loan_max_cny}
                   OR maturity_date > origination_date + INTERVAL 36 MONTH OR guarantee <> 'credit'))
                   AS poverty_loan_terms,
               count(*) - count(DISTINCT (bank_id, as_of, loan_id)) AS duplicate_keys
        FROM {tape}
    """).iloc[0]
    assert (checks == 0).all(), checks[checks != 0].to_dict()

    # rows sorted by (as_of, loan_id); origination attributes constant across a loan's rows
    order = pq.read_table(paths["tape"], columns=["as_of", "loan_id"]).to_pandas()
    assert order.equals(order.sort_values(["as_of", "loan_id"], ignore_index=True))
    drift = sql(f"""
        SELECT count(*) AS n FROM (
            SELECT loan_id FROM {tape} GROUP BY loan_id
            HAVING count(DISTINCT (borrower_id, borrower_type, is_business, credit_line_cny, amount_cny,
                   origination_date, maturity_date, rate_pct, is_agri, is_first_loan, is_renewal, guarantee,
                   county_code, pricing_base, fee_third_party_cny, fee_bank_cny, repayment, branch_id)) > 1)
    """)
    assert drift["n"].iloc[0] == 0

    # is_first_loan only on the borrower's earliest loan, and at most once per borrower
    first = sql(f"""
        WITH loans AS (SELECT DISTINCT borrower_id, loan_id, origination_date, is_first_loan FROM {tape}),
        ranked AS (SELECT *, row_number() OVER (PARTITION BY borrower_id ORDER BY origination_date, loan_id) AS k
                   FROM loans)
        SELECT count(*) FILTER (WHERE is_first_loan AND k > 1) AS later_first,
               count(*) FILTER (WHERE is_first_loan AND is_renewal) AS first_renewal
        FROM ranked JOIN (SELECT DISTINCT loan_id, is_renewal FROM {tape}) USING (loan_id)
    """).iloc[0]
    assert first["later_first"] == 0 and first["first_renewal"] == 0


def test_first_loan_share_of_new_borrowers(small):
    """Borrowers arriving in the window: share with is_first_loan on their earliest loan.

    Tolerance: 4 binomial standard errors, 4·sqrt(f(1−f)/n), per segment with
    at least 100 new borrowers. The tape's counts must also equal the truth
    file's realised counts exactly.
    """
    for config, paths in small.values():
        t = truth(paths)
        since = t["first_loans"]["first_window_borrower_id"]
        got = sql(f"""
            WITH loans AS (SELECT DISTINCT ON (loan_id) * FROM read_parquet('{paths['tape']}') ORDER BY loan_id, as_of),
            earliest AS (SELECT DISTINCT ON (borrower_id) * FROM loans WHERE borrower_id >= '{since}'
                         ORDER BY borrower_id, origination_date, loan_id)
            SELECT {segment_case()} AS segment, count(*) AS n, count(*) FILTER (WHERE is_first_loan) AS first
            FROM earliest GROUP BY segment
        """).set_index("segment")
        f = config.first_loan_share
        for segment, row in got.iterrows():
            realised = t["first_loans"]["new_borrowers_window"][segment]
            assert (row["n"], row["first"]) == (realised["new_borrowers"], realised["first_loan_borrowers"])
            if row["n"] >= 100:
                assert abs(row["first"] / row["n"] - f) <= 4 * math.sqrt(f * (1 - f) / row["n"]), (segment, row)


def test_monthly_default_rate_matches_hazard(rb01_full):
    """Default onsets (first row with days_past_due >= 60) over loans performing the month before.

    Expected defaults = Σ at-risk loan-months × h_segment × (multiplier if first
    loan); tolerance 4·sqrt(expected) (Poisson), per segment and first/repeat
    cell with at least 20 expected. The tape's counts equal the truth file's.
    """
    config, paths = rb01_full
    cells = sql(f"""
        WITH rows AS (
            SELECT loan_id, as_of, days_past_due, is_first_loan, {segment_case()} AS segment,
                   lag(days_past_due) OVER w AS prev_dpd, lag(as_of) OVER w AS prev_as_of
            FROM read_parquet('{paths['tape']}') WINDOW w AS (PARTITION BY loan_id ORDER BY as_of))
        SELECT segment, is_first_loan, count(*) AS at_risk, count(*) FILTER (WHERE days_past_due >= 60) AS defaults
        FROM rows WHERE prev_dpd < 60 AND prev_as_of = last_day(as_of - INTERVAL 1 MONTH)
        GROUP BY ALL
    """)
    t = truth(paths)["default"]["by_segment"]
    for segment, group in cells.groupby("segment"):
        assert group["at_risk"].sum() == t[segment]["at_risk_loan_months"]
        assert group["defaults"].sum() == t[segment]["defaults"]
    checked = 0
    for row in cells.itertuples():
        h = config.hazard_monthly[row.segment] * (config.first_loan_hazard_multiplier if row.is_first_loan else 1)
        expected = row.at_risk * h
        if expected >= 20:
            assert abs(row.defaults - expected) <= 4 * math.sqrt(expected), row
            checked += 1
    assert checked >= 3


def test_cb01_lends_no_agri():
    types = synth.DEMO_BANKS["CB01"].borrower_types
    assert all(p.is_agri_prob == 0 for p in types.values())
    assert not {"farmer", "agri_organization"} & set(types)


def test_cb01_tape_has_no_agri_rows(small):
    _, paths = small["CB01"]
    got = sql(f"""SELECT count(*) FILTER (WHERE is_agri) AS agri,
                         count(*) FILTER (WHERE {segment_predicate(POLICY, 'inclusive_agri', ALL_COLUMNS)}) AS inclusive_agri
                  FROM read_parquet('{paths['tape']}')""").iloc[0]
    assert got["agri"] == 0 and got["inclusive_agri"] == 0


def test_inclusive_smb_rate_is_ecm_target_plus_loan_noise(small):
    """Amount-weighted rate of each window month's inclusive_smb lpr_1y originations vs m_t.

    r_t − m_t is the amount-weighted loan noise, sd s·sqrt(Σw²) with s =
    loan_rate_sd_pp; tolerance 4.5 of those plus 1e-4 for the 4-decimal
    rounding of rates. x_t recomputed from the tape with the LPR table equals
    the truth file's x_t.
    """
    lpr = load_lpr()
    for config, paths in small.values():
        t = truth(paths)["passthrough"]
        loans = sql(f"""
            SELECT DISTINCT ON (loan_id) origination_date, amount_cny, rate_pct
            FROM read_parquet('{paths['tape']}')
            WHERE {segment_predicate(POLICY, 'inclusive_smb', ALL_COLUMNS)} AND pricing_base = 'lpr_1y'
              AND origination_date >= DATE '{config.start}-01'
            ORDER BY loan_id, as_of
        """)
        loans["lpr"] = applicable_lpr(loans["origination_date"], lpr, "1y")
        loans["month"] = loans["origination_date"].dt.strftime("%Y-%m")
        series = pd.DataFrame({"month": t["month"], "m": t["m_pct"], "x": t["x_pct"]}).set_index("month")
        for month, group in loans.groupby("month"):
            w = group["amount_cny"] / group["amount_cny"].sum()
            r, x = float((w * group["rate_pct"]).sum()), float((w * group["lpr"]).sum())
            tolerance = 4.5 * config.loan_rate_sd_pp * math.sqrt(float((w ** 2).sum())) + 1e-4
            assert abs(r - series.loc[month, "m"]) <= tolerance, (config.bank_id, month)
            assert x == pytest.approx(series.loc[month, "x"], abs=1e-9)


def test_growth_truth_matches_tape(small):
    """The truth file's year-to-date growth is what the policy's segment SQL gives on the tape."""
    for config, paths in small.values():
        stocks = sql(f"""
            SELECT strftime(as_of, '%Y-%m') AS month, sum(balance_cny) AS tape,
                   sum(balance_cny) FILTER (WHERE {segment_predicate(POLICY, 'inclusive_smb', ALL_COLUMNS)}) AS smb,
                   sum(balance_cny) FILTER (WHERE {segment_predicate(POLICY, 'inclusive_agri', ALL_COLUMNS)}) AS agri
            FROM read_parquet('{paths['tape']}') GROUP BY month ORDER BY month
        """).set_index("month").fillna(0.0)
        growth = truth(paths)["volume"]["ytd_growth"]
        for column, segment in (("tape", "tape"), ("smb", "inclusive_smb"), ("agri", "inclusive_agri")):
            for year in ("2022", "2024"):
                base = stocks.loc[f"{int(year) - 1}-12", column]
                if base:
                    expected = stocks.loc[f"{year}-12", column] / base - 1
                    assert growth[segment][year] == pytest.approx(expected, rel=1e-9), (config.bank_id, segment, year)
                else:
                    assert growth[segment][year] is None


def test_totals_file(small):
    config, paths = small["RB01"]
    totals = pd.read_csv(paths["totals"], dtype={"bank_id": str})
    assert list(totals.columns) == ["bank_id", "as_of", "total_loans_cny", "total_npl_cny",
                                    "county_loans_cny", "county_deposits_cny", "writeoffs_cny"]
    tape = sql(f"""SELECT strftime(as_of, '%Y-%m-%d') AS as_of, sum(balance_cny) AS balance
                   FROM read_parquet('{paths['tape']}') GROUP BY ALL ORDER BY 1""")
    assert list(totals["as_of"]) == list(tape["as_of"])
    outside = totals["total_loans_cny"] - tape["balance"]
    expected = config.non_tape_loans_cny * (1 + config.non_tape_growth) ** (np.arange(len(totals)) / 12)
    assert np.allclose(outside, expected, atol=0.02)
    assert (totals["total_npl_cny"] < totals["total_loans_cny"]).all()
    assert (totals["county_loans_cny"] <= totals["total_loans_cny"]).all()
    lb_totals = pd.read_csv(small["LB01"][1]["totals"])
    assert list(lb_totals.columns) == ["bank_id", "as_of", "total_loans_cny", "total_npl_cny", "writeoffs_cny"]
    assert small["CB01"][1]["totals"] is None


def test_demo_bank_files_give_the_generator_its_parameters(small, rb01_full):
    assert list(synth.DEMO_BANKS) == ["LB01", "CB01", "RB01"]
    for bank_id, config in synth.DEMO_BANKS.items():
        record = json.dumps(asdict(config), ensure_ascii=False, sort_keys=True)
        assert hashlib.sha256(record.encode("utf-8")).hexdigest() == DEMO_CONFIG_SHA256[bank_id], bank_id
        assert pq.ParquetFile(small[bank_id][1]["tape"]).metadata.num_rows == SMALL_TAPE_ROWS[bank_id], bank_id
    assert truth(rb01_full[1])["rows"] == 340_164


@pytest.mark.parametrize("edit,message", [
    (lambda d: d.update(seeds=1), "seeds\n  Unexpected keyword argument"),
    (lambda d: d["borrower_types"]["micro_owner"].update(new_per_mnth=3),
     "borrower_types.micro_owner.new_per_mnth\n  Unexpected keyword argument"),
    (lambda d: d["counties"][0].update(code=320102), "counties.0.code\n  Input should be a valid string"),
    (lambda d: d.pop("seed"), "seed\n  Field required"),
    (lambda d: d.update(ecm_gamma=0.1), "ecm_gamma must be negative"),
], ids=["unknown key", "unknown nested key", "unquoted code", "missing key", "failed check"])
def test_load_config_rejects_a_bad_bank_file(tmp_path, edit, message):
    data = yaml.safe_load((DEMO_CONFIG_DIR / "CB01.yaml").read_text(encoding="utf-8"))
    path = tmp_path / "CB01.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert load_config(path) == synth.DEMO_BANKS["CB01"]
    edit(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValueError) as raised:
        load_config(path)
    assert str(raised.value).startswith(f"{path}: ") and message in str(raised.value)


def test_scaled_hits_the_row_count():
    config = synth.scaled(synth.DEMO_BANKS["CB01"], 200_000)
    assert 150_000 <= synth.count_rows(config) <= 250_000


def test_csv_output_matches_parquet(small, tmp_path):
    config, paths = small["CB01"]
    written = synth.generate(config, tmp_path, fmt="csv")
    assert written["tape"].suffix == ".csv"
    from_csv = duckdb.connect().sql(f"SELECT * FROM read_csv('{written['tape']}', all_varchar = true)").df()
    from_parquet = pq.read_table(paths["tape"])
    assert list(from_csv.columns) == from_parquet.column_names
    assert len(from_csv) == from_parquet.num_rows
    assert from_csv["county_code"].str.fullmatch(r"\d{6}").all()


def test_bank_files_follow_the_contract():
    for bank_id, config in synth.DEMO_BANKS.items():
        path = BANKS_DIR / f"{bank_id}.yaml"
        text = path.read_text(encoding="utf-8")
        assert f'bank_id: "{bank_id}"' in text  # quoted, so codes stay text
        data = yaml.safe_load(text)
        expected = {"bank_id", "name", "tape", "policy", "lang"} | (set() if config.tape_is_complete else {"totals"})
        assert expected <= set(data) <= expected | {"category", "npl_target_ratio", "targets", "outlets"} and "category" in data
        assert data["name"] == config.name and data["policy"] == "2024" and data["lang"] == "zh"
        paths = synth.output_paths(config, DEMO_DIR)
        assert (path.parent / data["tape"]).resolve() == paths["tape"].resolve()
        if "totals" in data:
            assert (path.parent / data["totals"]).resolve() == paths["totals"].resolve()


def test_build_demo_keeps_existing_files_and_needs_bank_files(tmp_path):
    for config in synth.DEMO_BANKS.values():
        for path in synth.output_paths(config, tmp_path).values():
            if path is not None:
                path.write_text("")
    paths = synth.build_demo(out_dir=tmp_path)
    assert len(paths) == 8 and all(p.stat().st_size == 0 for p in paths)  # nothing regenerated
    with pytest.raises(InputError, match="demo bank file missing"):
        synth.build_demo(out_dir=tmp_path, banks_dir=tmp_path / "nowhere")


def test_synth_command_rejects_bad_usage(tmp_path):
    with pytest.raises(InputError, match="unknown demo bank"):
        synth.synth_command("XX01", tmp_path)
    with pytest.raises(InputError, match="unknown format"):
        synth.synth_command("CB01", tmp_path, fmt="xlsx")
    with pytest.raises(InputError, match="must be positive"):
        synth.synth_command("CB01", tmp_path, rows=0)


def test_synth_command_writes_a_scaled_bank(tmp_path):
    written = synth.synth_command("cb01", tmp_path, rows=5_000, fmt="parquet", seed=7)
    assert [p.name for p in written] == ["cb01.parquet", "cb01_truth.json"]
    t = json.loads(written[1].read_text(encoding="utf-8"))
    assert t["config"]["seed"] == 7
    assert 2_500 <= pq.ParquetFile(written[0]).metadata.num_rows <= 7_500
