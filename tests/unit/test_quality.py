"""Data-quality review (notice 五(十一)): checks counted by branch and month on a hand-made tape, series checks
on series with a known break, and the audit sample: reproducible, every stratum covered, ids restored
only with the key."""
from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from pucredit.analyses import quality
from pucredit.contract.errors import InputError
from pucredit.config.periods import parse_period
from pucredit.engine.tape import open_tape
from tests.conftest import write_csv

END = "2024-06-30"
NEW = "2024-06-10"  # June 2024: the applicable 1Y LPR is 3.45 (fixing of 2024-02-20)
EXTRA = {"branch_id": "B01", "is_poverty_household": "false"}


def rows(*loans: dict) -> list[dict]:
    return [{"as_of": END, **EXTRA, **loan} for loan in loans]


CHECKED = rows(
    dict(loan_id="L1", borrower_id="C1", origination_date=NEW, maturity_date="2027-06-10"),  # clean
    # 2.0 < 3.45 - 1.0: priced far below the LPR
    dict(loan_id="L2", borrower_id="C2", origination_date=NEW, maturity_date="2027-06-10", rate_pct=2.0),
    # 14.0 > 4 x 3.45 = 13.8
    dict(loan_id="L3", borrower_id="C3", origination_date=NEW, maturity_date="2027-06-10", rate_pct=14.0, branch_id="B02"),
    dict(loan_id="L4", borrower_id="C4", borrower_type="farmer", branch_id="B02"),  # farmer's operating loan, not agri
    dict(loan_id="L5", borrower_id="C5", borrower_type="other_enterprise", is_business="false", branch_id="B02"),
    # poverty-household micro-loans: 60,000 > 50,000; 48 months > 36; exactly 36 months is within
    dict(loan_id="L6", borrower_id="C6", borrower_type="farmer", is_agri="true", is_poverty_household="true",
         origination_date=NEW, maturity_date="2025-06-10", amount_cny=60_000, balance_cny=60_000, credit_line_cny=60_000),
    dict(loan_id="L7", borrower_id="C7", borrower_type="farmer", is_agri="true", is_poverty_household="true",
         origination_date=NEW, maturity_date="2028-06-10", amount_cny=30_000, balance_cny=30_000, credit_line_cny=30_000),
    dict(loan_id="L8", borrower_id="C8", borrower_type="farmer", is_agri="true", is_poverty_household="true",
         origination_date=NEW, maturity_date="2027-06-10", amount_cny=30_000, balance_cny=30_000, credit_line_cny=30_000),
    dict(loan_id="L9", borrower_id="C9", balance_cny=1_200_000, branch_id="B02"),  # balance above the 1,000,000 line
)


@pytest.fixture
def checked_bank(tmp_path):
    with open_tape(write_csv(tmp_path / "tape.csv", CHECKED)) as tape:
        yield tape.bank("T1")


def flagged(counts: pd.DataFrame, rule: str) -> dict:
    part = counts[(counts["rule"] == rule) & (counts["flagged"] > 0)]
    return dict(zip(part["branch_id"], part["flagged"]))


def test_each_check_counts_its_rows_by_branch(checked_bank):
    counts = quality.rule_counts(checked_bank)
    assert flagged(counts, "rate_far_below_lpr") == {"B01": 1}
    assert flagged(counts, "rate_above_lpr_multiple") == {"B02": 1}
    assert flagged(counts, "poverty_household_over_limit") == {"B01": 2}  # L6 by amount, L7 by term; not L8
    assert flagged(counts, "farmer_business_not_agri") == {"B02": 1}
    assert flagged(counts, "enterprise_not_business") == {"B02": 1}
    assert flagged(counts, "balance_above_credit_line") == {"B02": 1}
    assert flagged(counts, "negative_balance") == {}


def test_shares_are_of_all_snapshot_rows_or_all_new_loans(checked_bank):
    counts = quality.rule_counts(checked_bank)
    by_rule = quality.summarise(counts).set_index("rule")
    # snapshot-row checks: 9 rows; origination checks: the 6 loans originated in June 2024 (L1-L3, L6-L8)
    assert by_rule.loc["farmer_business_not_agri", ["flagged", "checked"]].tolist() == [1, 9]
    assert by_rule.loc["poverty_household_over_limit", ["flagged", "checked"]].tolist() == [2, 6]
    assert by_rule.loc["poverty_household_over_limit", "share"] == pytest.approx(2 / 6)
    anyflag = quality.summarise(counts, ["branch_id"], rules=False).set_index(["population", "branch_id"])
    # B02's snapshot rows: L3, L4, L5, L9, three of them flagged (L4, L5, L9); B01's none
    assert anyflag.loc[("rows", "B02"), ["flagged", "checked"]].tolist() == [3, 4]
    assert anyflag.loc[("rows", "B01"), "flagged"] == 0
    # B01's originations: L1, L2, L6, L7, L8; flagged L2, L6, L7
    assert anyflag.loc[("originations", "B01"), ["flagged", "checked"]].tolist() == [3, 5]
    monthly = quality.summarise(counts, "month", rules=False)
    assert monthly.loc[monthly["population"] == "rows", "month"].tolist() == [pd.Timestamp(END)]


def test_a_tape_without_branch_or_poverty_columns_is_one_branch(tmp_path):
    plain = [{k: v for k, v in row.items() if k not in EXTRA} for row in CHECKED]
    with open_tape(write_csv(tmp_path / "tape.csv", plain)) as tape:
        counts = quality.rule_counts(tape.bank("T1"))
    assert set(counts["branch_id"]) == {quality.NO_BRANCH}
    assert "poverty_household_over_limit" not in set(counts["rule"])


def test_branch_break_is_found_where_it_was_put():
    months = pd.date_range("2022-01-31", periods=30, freq="ME")
    rng = np.random.default_rng(1)
    smooth = 1e8 * np.exp(np.cumsum(0.01 + rng.normal(0, 0.003, 30)))
    broken = smooth.copy()
    broken[18:] *= 1.5  # a bulk transfer into the branch in month 19
    balances = pd.DataFrame({"A": smooth, "B": broken}, index=months)
    breaks = quality.branch_breaks(balances, z=5)
    assert breaks["branch_id"].tolist() == ["B"]
    assert breaks["month"].tolist() == [months[18]]
    assert breaks["change"].iloc[0] == pytest.approx(broken[18] / broken[17] - 1)


def test_credit_lines_bunched_at_or_under_the_limit(tmp_path):
    # small-micro borrowers' lines around the 10,000,000 limit (band 5 %: 9,500,000 .. 10,500,000):
    # below [9.5m, 10m): 9,500,000, 9,800,000, 9,999,999.99; at: 10,000,000 twice; above (10m, 10.5m]:
    # 10,000,000.01, 10,500,000; outside the bands: 9,499,999.99, 10,500,000.01, and 5,000,000
    lines = [9_499_999.99, 9_500_000, 9_800_000, 9_999_999.99, 10_000_000, 10_000_000, 10_000_000.01, 10_500_000,
             10_500_000.01, 5_000_000]
    loans = [dict(loan_id=f"L{i}", borrower_id=f"C{i}", credit_line_cny=line, amount_cny=400_000,
                  balance_cny=400_000) for i, line in enumerate(lines)]
    with open_tape(write_csv(tmp_path / "tape.csv", rows(*loans))) as tape:
        table = quality.threshold_bunching(tape.bank("T1"), parse_period("2024H1"))
    smb = table[table["segment"] == "inclusive_smb"].iloc[0]
    assert (smb["below"], smb["at"], smb["above"]) == (3, 2, 2)
    # tested: at or below (3 + 2 = 5, in the segment) against above (2, out of it), of 7
    assert smb["share_at_or_below"] == pytest.approx(5 / 7)
    assert smb["p_value"] == pytest.approx(stats.binomtest(5, 7, 0.5, "greater").pvalue)  # 29/128
    assert smb["p_value"] == pytest.approx(29 / 128)  # P(X >= 5), X ~ Bin(7, 1/2): (21 + 7 + 1) / 128


def test_branch_flagging_every_borrower_first_stands_out(tmp_path):
    loans = [dict(loan_id=f"A{i}", borrower_id=f"A{i}", branch_id="B01", origination_date=NEW,
                  is_first_loan="true") for i in range(12)]
    loans += [dict(loan_id=f"Z{i}", borrower_id=f"Z{i}", branch_id="B02", origination_date=NEW,
                   is_first_loan="true" if i < 3 else "false") for i in range(60)]
    with open_tape(write_csv(tmp_path / "tape.csv", rows(*loans))) as tape:
        table = quality.first_loan_flags_by_branch(tape.bank("T1"), parse_period("2024H1")).set_index("branch_id")
    assert table.loc["B01", ["borrowers", "first_loan_borrowers"]].tolist() == [12, 12]
    assert table.loc["B01", "rest_share"] == pytest.approx(3 / 60)
    assert table["outlier"].tolist() == [True, True]  # each differs from the other beyond chance



def test_first_loan_flags_the_history_contradicts_by_branch(tmp_path):
    consumer = dict(borrower_type="other_individual", is_business="false")
    loans = [
        # C1: an operating loan in 2023, then a new one in B02 flagged 首贷: contradicted, counted in B02
        dict(as_of="2023-12-31", loan_id="L1", borrower_id="C1", origination_date="2023-11-05"),
        dict(loan_id="L2", borrower_id="C1", origination_date=NEW, is_first_loan="true", branch_id="B02"),
        # C2: a housing loan first, then its first operating loan flagged 首贷: consistent
        dict(as_of="2023-12-31", loan_id="L3", borrower_id="C2", origination_date="2023-11-05", **consumer),
        dict(loan_id="L4", borrower_id="C2", origination_date=NEW, is_first_loan="true"),
        # C3: an operating loan first, then a consumer loan flagged 首贷: not an operating loan, not checked
        dict(as_of="2023-12-31", loan_id="L5", borrower_id="C3", origination_date="2023-11-05"),
        dict(loan_id="L6", borrower_id="C3", origination_date=NEW, is_first_loan="true", **consumer),
    ]
    with open_tape(write_csv(tmp_path / "tape.csv", rows(*loans))) as tape:
        assert tape.ok and tape.findings.by_rule()["warning"]["first_loan_not_first"] == 1
        bank = tape.bank("T1")
        counts = quality.rule_counts(bank)
        table = quality.first_loan_flags_by_branch(bank, parse_period("2024H1")).set_index("branch_id")
    found = counts[counts["rule"] == "first_loan_not_first"]
    assert set(found["population"]) == {"originations"} and set(found["severity"]) == {"warning"}
    assert flagged(counts, "first_loan_not_first") == {"B02": 1}
    assert found.loc[found["flagged"] > 0, "month"].tolist() == [pd.Timestamp(END)]  # L2's origination month
    # new inclusive small-micro loans in 2024H1: L2 (B02, contradicted) and L4 (B01); L6 is a consumer loan
    assert table[["first_loan_borrowers", "not_first_borrowers"]].to_dict("index") == {
        "B01": {"first_loan_borrowers": 1, "not_first_borrowers": 0},
        "B02": {"first_loan_borrowers": 1, "not_first_borrowers": 1}}


# ---------------------------------------------------------------- the audit sample

@pytest.mark.parametrize("sizes, n", [([100, 10, 1], 20), ([5, 5, 5], 2), ([3, 2], 50), ([40, 30, 20, 10], 10)])
def test_allocation_covers_every_stratum_within_its_size(sizes, n):
    sizes = pd.Series(sizes, index=[f"s{i}" for i in range(len(sizes))])
    take = quality.allocate(sizes, n)
    assert (take >= 1).all() and (take <= sizes).all()
    assert take.sum() == min(max(n, len(sizes)), sizes.sum())


def test_allocation_is_proportional_beyond_the_first_loan():
    take = quality.allocate(pd.Series([300, 100, 100], index=list("abc")), 53)
    assert take.tolist() == [31, 11, 11]  # 1 each, then 50 split 30/10/10


def audit_loans() -> list[dict]:
    """60 loans at the period end over 2 branches x 3 segments x 2 risk classes (12 strata)."""
    kinds = [dict(borrower_type="small_micro_enterprise"),  # inclusive_smb
             dict(borrower_type="farmer", is_agri="true", credit_line_cny=300_000),  # inclusive_agri
             dict(borrower_type="other_enterprise", credit_line_cny=50_000_000)]  # other
    loans = []
    for i in range(60):
        loans.append(dict(loan_id=f"L{i:03d}", borrower_id=f"C{i:03d}", branch_id=f"B0{i % 2 + 1}",
                          risk_class="substandard" if i % 5 == 0 else "normal", **kinds[i % 3]))
    return rows(*loans)


@pytest.fixture
def audit_tape(tmp_path):
    def _open(loans=None, name="tape.csv", key="k-secret"):
        return open_tape(write_csv(tmp_path / name, loans or audit_loans()), key=key)
    return _open


def test_audit_sample_is_the_same_for_a_seed_and_covers_every_stratum(audit_tape):
    period = parse_period("2024H1")
    with audit_tape() as tape:
        bank = tape.bank("T1")
        first = quality.audit_sample(bank, period, size=20, seed=7)
        again = quality.audit_sample(bank, period, size=20, seed=7)
        other = quality.audit_sample(bank, period, size=20, seed=8)
        strata = tape.con.execute("SELECT count(DISTINCT (branch_id, is_agri, borrower_type, risk_class)) "
                                  "FROM tape").fetchone()[0]
    pd.testing.assert_frame_equal(first, again)
    assert len(first) == 20 and first["loan_id"].is_unique
    assert first.groupby(list(quality.STRATA)).ngroups == strata == 12
    assert set(first["loan_id"]) != set(other["loan_id"])
    assert (first["weight"] == first["stratum_loans"] / first["stratum_sample"]).all()
    # the weights add up to the population: every loan at the period end
    assert first.groupby(list(quality.STRATA))["weight"].sum().sum() == pytest.approx(60)


def test_audit_sample_does_not_depend_on_row_order(audit_tape):
    shuffled = audit_loans()
    random.Random(3).shuffle(shuffled)
    period = parse_period("2024H1")
    with audit_tape() as tape:
        first = quality.audit_sample(tape.bank("T1"), period, size=20, seed=7)
    with audit_tape(shuffled, "shuffled.csv") as tape:
        second = quality.audit_sample(tape.bank("T1"), period, size=20, seed=7)
    columns = ["loan_id", "borrower_id", "branch_id", "segment", "risk_class", "weight"]
    pd.testing.assert_frame_equal(first[columns], second[columns])


def test_raw_ids_come_back_only_with_the_key(audit_tape, tmp_path):
    period = parse_period("2024H1")
    with audit_tape() as tape:
        sample = quality.audit_sample(tape.bank("T1"), period, size=12, seed=1)
        assert not sample["borrower_id"].str.startswith("C").any()  # pseudonyms only
        restored = quality.restore_ids(tape, sample, "k-secret")
        with pytest.raises(InputError, match="not the key"):
            quality.restore_ids(tape, sample, "a guess")
    # the raw id of each sampled loan is the one the tape gave it (C + the loan number)
    assert (restored["borrower_id_raw"] == "C" + restored["loan_id"].str[1:]).all()
    assert restored.columns.tolist().index("borrower_id_raw") == restored.columns.tolist().index("borrower_id") + 1


def test_export_writes_raw_ids_only_with_a_key_file_and_never_overwrites(audit_tape, tmp_path):
    period = parse_period("2024H1")
    key_file = tmp_path / "key.txt"
    key_file.write_text("k-secret\n", encoding="utf-8")
    out = tmp_path / "out"
    with audit_tape() as tape:
        bank = tape.bank("T1")
        sample = quality.audit_sample(bank, period, size=12, seed=1)
        plain = quality.export_audit_sample(tape, bank, period, sample,
                                            quality.check_audit_parameters(audit_dir=str(out)))
        with_ids = quality.export_audit_sample(
            tape, bank, period, sample,
            quality.check_audit_parameters(audit_dir=str(out), pseudonym_key_file=str(key_file)))
    assert plain.name == "audit_sample_T1_2024H1.csv" and with_ids.name == "audit_sample_T1_2024H1_with_ids.csv"
    assert "borrower_id_raw" not in pd.read_csv(plain, encoding="utf-8-sig").columns
    assert pd.read_csv(with_ids, encoding="utf-8-sig")["borrower_id_raw"].str.startswith("C").all()
    assert plain.read_bytes().startswith(b"\xef\xbb\xbf")  # BOM: Excel reads the Chinese
    # an auditor fills the file in; the same sample again, or a different one, never replaces it
    filled = plain.read_text(encoding="utf-8-sig").replace(",,\n", ",ok,\n", 1)
    plain.write_text(filled, encoding="utf-8-sig")
    assert quality.write_audit_sample(sample, plain) == plain.with_name("audit_sample_T1_2024H1-2.csv")
    assert quality.write_audit_sample(sample, plain) == plain.with_name("audit_sample_T1_2024H1-2.csv")  # once
    assert quality.write_audit_sample(sample.head(3), plain) == plain.with_name("audit_sample_T1_2024H1-3.csv")
    assert plain.read_text(encoding="utf-8-sig") == filled


@pytest.mark.parametrize("params, column", [
    (dict(audit_size=0), "audit_size"), (dict(audit_size="200"), "audit_size"), (dict(audit_seed=-1), "audit_seed"),
    (dict(pseudonym_key_file="key.txt"), "pseudonym_key_file"), (dict(export_dir="x"), "export_dir"),
])
def test_audit_parameters_are_checked(params, column):
    with pytest.raises(InputError) as err:
        quality.check_audit_parameters(**params)
    assert err.value.problems[0].column == column


def test_missing_key_file_is_named(tmp_path):
    with pytest.raises(InputError, match="no such key file"):
        quality.read_key(tmp_path / "nope.txt")


# ---------------------------------------------------------------- known truth at scale

@pytest.fixture(scope="module")
def seeded_defects(tmp_path_factory):
    """The rural demo bank's tape (no findings) with defects put into chosen rows; returns the tape path and
    what was put where, worked out in pandas, apart from the SQL under test."""
    from pucredit.config.paths import DEMO_DIR
    from pucredit.synth import build_demo

    build_demo()
    tape = pd.read_parquet(DEMO_DIR / "rb01.parquet")
    rng = np.random.default_rng(11)
    truth = {}
    # a bulk transfer for one month: branch 02's loans booked in branch 01 at 2023-06-30
    month = pd.Timestamp("2023-06-30").date()
    moved = (tape["as_of"] == month) & (tape["branch_id"] == "RB01-520502-02")
    tape.loc[moved, "branch_id"] = "RB01-520502-01"
    truth["break"] = {("RB01-520502-01", pd.Timestamp("2023-06-30")), ("RB01-520502-01", pd.Timestamp("2023-07-31"))}
    # balance above the credit line on 37 rows
    rows = rng.choice(tape.index[tape["balance_cny"] > 0], 37, replace=False)
    tape.loc[rows, "balance_cny"] = tape.loc[rows, "credit_line_cny"] * 1.5
    truth["balance_above_credit_line"] = tape.loc[rows, "branch_id"].value_counts()
    # farmers' operating loans not flagged agri: every row of 23 loans
    farmers = tape.loc[(tape["borrower_type"] == "farmer") & tape["is_business"] & tape["is_agri"], "loan_id"].unique()
    chosen = tape["loan_id"].isin(rng.choice(farmers, 23, replace=False))
    tape.loc[chosen, "is_agri"] = False
    truth["farmer_business_not_agri"] = tape.loc[chosen, "branch_id"].value_counts()
    # poverty-household loans made five-year loans: 11 loans, counted once each, at origination
    poor = tape.loc[tape["is_poverty_household"] & (tape["origination_date"] >= pd.Timestamp("2019-09-01").date()), "loan_id"].unique()
    chosen = tape["loan_id"].isin(rng.choice(poor, 11, replace=False))
    tape.loc[chosen, "maturity_date"] = (pd.to_datetime(tape.loc[chosen, "origination_date"]) + pd.DateOffset(months=60)).dt.date
    truth["poverty_household_over_limit"] = tape[chosen].drop_duplicates("loan_id")["branch_id"].value_counts()
    path = tmp_path_factory.mktemp("defects") / "rb01_defects.parquet"
    tape.to_parquet(path, index=False)
    return path, truth


def test_checks_find_exactly_the_defects_put_into_a_demo_tape(seeded_defects):
    path, truth = seeded_defects
    with open_tape(path) as tape:
        bank = tape.bank("RB01")
        counts = quality.rule_counts(bank)
        breaks = quality.branch_breaks(quality.branch_balances(bank), bank.policy.quality.branch_break_z.value)
        by_rule = tape.findings.by_rule().get("warning", {})
    found = quality.summarise(counts, "branch_id")
    for rule in ("balance_above_credit_line", "farmer_business_not_agri", "poverty_household_over_limit"):
        part = found[(found["rule"] == rule) & (found["flagged"] > 0)].set_index("branch_id")["flagged"]
        pd.testing.assert_series_equal(part.sort_index(), truth[rule].sort_index(), check_names=False,
                                       check_index_type=False, check_dtype=False)
    others = found[~found["rule"].isin(truth) & (found["flagged"] > 0)]
    assert others.empty, others  # nothing else is flagged
    # validation counts the same rows over the whole file
    assert by_rule["balance_above_credit_line"] == truth["balance_above_credit_line"].sum()
    assert by_rule["farmer_business_not_agri"] == truth["farmer_business_not_agri"].sum()
    assert truth["break"] <= set(zip(breaks["branch_id"], breaks["month"]))


def test_a_period_without_new_loans_or_balances_gives_empty_results(tmp_path):
    """No branch column, nothing lent in the period and nothing outstanding at its end: empty tables, no error."""
    loans = [dict(as_of=a, loan_id="L1", borrower_id="B1", balance_cny=b) for a, b in (("2023-12-31", 1000), (END, 0))]
    with open_tape(write_csv(tmp_path / "tape.csv", loans)) as tape:
        bank, period = tape.bank("T1"), parse_period("2024H1")
        assert quality.first_loan_flags_by_branch(bank, period).empty
        assert quality.audit_sample(bank, period, size=10, seed=1).empty
        assert (quality.threshold_bunching(bank, period)[["below", "at", "above"]] == 0).all().all()
