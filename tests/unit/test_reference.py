"""Reference data (docs/data-contract.md §15): the shipped LPR table and national aggregates.

Expected values are copied by hand from the domain notes (§3 LPR history,
§4 published aggregates), not from the CSV files under test.
"""
import duckdb
import numpy as np
import pandas as pd
import pytest

from pucredit.contract.errors import InputError
from pucredit.config.reference import (
    NATIONAL_SERIES,
    applicable_lpr,
    load_lpr,
    load_national,
    lpr_changes,
    lpr_coverage_end,
    register_lpr,
)

# (fixing date, 1Y, 5Y, kind, status) as in domain notes §3.
EXPECTED_LPR = [
    ("2019-08-20", 4.25, 4.85, "change", "implied"),  # note a: 5Y implied
    ("2019-09-20", 4.20, 4.85, "change", "implied"),  # note b: 1Y implied
    ("2019-11-20", 4.15, 4.80, "change", "confirmed"),
    ("2020-02-20", 4.05, 4.75, "change", "confirmed"),
    ("2020-04-20", 3.85, 4.65, "change", "confirmed"),
    ("2020-09-21", 3.85, 4.65, "unchanged", "confirmed"),  # "september remains unchanged"; the 20th was a Sunday
    ("2021-12-20", 3.80, 4.65, "change", "confirmed"),
    ("2022-01-20", 3.70, 4.60, "change", "confirmed"),
    ("2022-05-20", 3.70, 4.45, "change", "confirmed"),
    ("2022-08-22", 3.65, 4.30, "change", "confirmed"),
    ("2023-06-20", 3.55, 4.20, "change", "confirmed"),
    ("2023-08-21", 3.45, 4.20, "change", "confirmed"),
    ("2024-02-20", 3.45, 3.95, "change", "confirmed"),
    ("2024-07-22", 3.35, 3.85, "change", "confirmed"),
    ("2024-10-21", 3.10, 3.60, "change", "confirmed"),
    ("2025-05-20", 3.00, 3.50, "change", "confirmed"),
    ("2025-09-22", 3.00, 3.50, "unchanged", "confirmed"),  # the 20th was a Saturday
    ("2025-12-22", 3.00, 3.50, "unchanged", "confirmed"),
    ("2026-01-20", 3.00, 3.50, "unchanged", "confirmed"),
]


@pytest.fixture(scope="module")
def lpr():
    return load_lpr()


def write(tmp_path, text, name="my_lpr.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return path


def test_shipped_lpr_equals_the_notes(lpr):
    got = [(f"{d:%Y-%m-%d}", y1, y5, k, s) for d, y1, y5, k, s in
           lpr[["fixing_date", "lpr_1y_pct", "lpr_5y_pct", "kind", "status"]].itertuples(index=False)]
    assert got == EXPECTED_LPR
    assert list(lpr.columns) == ["fixing_date", "lpr_1y_pct", "lpr_5y_pct", "kind", "status", "source"]
    assert lpr["fixing_date"].dtype == "datetime64[ns]"
    assert lpr["source"].str.startswith("http").all()


def test_kind_matches_the_values(lpr):
    moved = lpr[["lpr_1y_pct", "lpr_5y_pct"]].diff().abs().sum(axis=1).gt(0)
    moved.iloc[0] = True  # the reform's first fixing
    assert (lpr["kind"] == moved.map({True: "change", False: "unchanged"})).all()


def test_coverage_ends_with_the_month_of_the_latest_fixing(lpr):
    assert lpr_coverage_end(lpr) == pd.Timestamp("2026-01-31")  # latest fixing 2026-01-20


def test_lookup_before_at_after_a_fixing(lpr):
    dates = ["2019-08-19", "2019-08-20", "2019-10-31", "2024-10-20", "2024-10-21", "2026-01-31"]
    got = applicable_lpr(dates, lpr)
    # before the reform: NaN; 2019-10-31 still the 2019-09-20 fixing; the 2024-10-21 cut 3.35 -> 3.10
    np.testing.assert_array_equal(got, [np.nan, 4.25, 4.20, 3.35, 3.10, 3.00])
    np.testing.assert_array_equal(applicable_lpr(pd.Series(dates[3:5]), lpr, tenor="5y"), [3.85, 3.60])


def test_lookup_of_missing_date_is_nan(lpr):
    assert np.isnan(applicable_lpr([None], lpr)[0])


def test_lookup_after_coverage_is_an_error_saying_how_to_extend(lpr):
    with pytest.raises(InputError) as err:
        applicable_lpr(["2025-06-30", "2026-02-02"], lpr)
    text = str(err.value)
    assert "2026-02-02" in text and "2026-01-31" in text
    assert "load_lpr(extra=" in text and "fixing_date,lpr_1y_pct,lpr_5y_pct" in text


def test_extra_file_extends_the_table(tmp_path, lpr):
    path = write(tmp_path, "fixing_date,lpr_1y_pct,lpr_5y_pct\n2026-01-20,3.00,3.50\n20260224,3.00,3.50\n",
                 encoding="utf-8-sig")  # BOM; the first row repeats a shipped fixing with the same values
    extended = load_lpr(extra=path)
    assert len(extended) == len(lpr) + 1
    last = extended.iloc[-1]
    assert (last["fixing_date"], last["kind"], last["status"]) == (pd.Timestamp("2026-02-24"), "unchanged", "user")
    assert lpr_coverage_end(extended) == pd.Timestamp("2026-02-28")
    assert applicable_lpr(["2026-02-27"], extended)[0] == 3.00


def test_conflicting_extra_row_names_file_row_and_column(tmp_path):
    path = write(tmp_path, "fixing_date,lpr_1y_pct,lpr_5y_pct\n2026-02-24,3.00,3.50\n2024-10-21,3.10,3.85\n")
    with pytest.raises(InputError) as err:
        load_lpr(extra=path)
    (problem,) = err.value.problems
    assert (problem.file, problem.row, problem.column, problem.value) == (str(path), 3, "lpr_5y_pct", "3.85")
    assert "3.60" in problem.accepted


def test_fraction_and_bad_rows_are_all_reported(tmp_path):
    path = write(tmp_path, "fixing_date,lpr_1y_pct,lpr_5y_pct\n2026-02-24,0.03,3.50\n2026-13-01,3.00,abc\n")
    with pytest.raises(InputError) as err:
        load_lpr(extra=path)
    found = {(p.row, p.column): p.message for p in err.value.problems}
    assert "fraction" in found[(2, "lpr_1y_pct")]
    assert (3, "fixing_date") in found and (3, "lpr_5y_pct") in found


def test_missing_column_is_reported(tmp_path):
    path = write(tmp_path, "fixing_date,lpr_1y_pct\n2026-02-24,3.00\n")
    with pytest.raises(InputError) as err:
        load_lpr(extra=path)
    assert [(p.row, p.column) for p in err.value.problems] == [(1, "lpr_5y_pct")]


def test_lpr_changes_in_a_window(lpr):
    got = lpr_changes(lpr, "2024-01-01", "2025-12-31")
    assert list(got["fixing_date"].dt.strftime("%Y-%m-%d")) == ["2024-07-22", "2024-10-21", "2025-05-20"]
    assert list(got["change_bp"]) == [-10, -25, -10]
    five = lpr_changes(lpr, "2024-01-01", "2024-12-31", tenor="5y")
    assert list(five["change_bp"]) == [-25, -10, -25]  # 4.20 -> 3.95 -> 3.85 -> 3.60
    # all 1Y changes since the reform: 4.25 -> 3.00 is -125 bp in total
    assert lpr_changes(lpr, "2019-01-01", "2026-12-31")["change_bp"].sum() == -125


def test_register_lpr_holds_the_applicable_fixing_of_every_covered_day(lpr):
    con = duckdb.connect()
    register_lpr(con, lpr)
    types = dict(con.execute("SELECT column_name, data_type FROM information_schema.columns "
                             "WHERE table_name = 'lpr_daily'").fetchall())
    assert types == {"day": "DATE", "lpr_1y_pct": "DOUBLE", "lpr_5y_pct": "DOUBLE"}
    got = con.execute(
        "SELECT d, lpr_1y_pct FROM (VALUES (DATE '2019-08-19'), (DATE '2019-08-20'), (DATE '2024-10-20'), "
        "(DATE '2024-10-21'), (DATE '2026-01-31'), (DATE '2026-02-01')) loans(d) "
        "LEFT JOIN lpr_daily ON lpr_daily.day = loans.d ORDER BY d").fetchall()
    # before the first fixing and after the month of the latest one there is no LPR (never carried forward)
    assert [rate for _, rate in got] == [None, 4.25, 3.35, 3.10, 3.00, None]
    assert con.execute("SELECT count(*), count(DISTINCT day) FROM lpr_daily").fetchone() == (
        (lpr_coverage_end(lpr) - lpr["fixing_date"].min()).days + 1,) * 2


@pytest.fixture(scope="module")
def national():
    return load_national()


def test_national_series_are_known_and_each_on_one_basis(national):
    assert set(national["series"]) == set(NATIONAL_SERIES)
    bases = national.groupby("series")["basis"].unique()
    assert all(len(b) == 1 for b in bases)
    assert bases["pboc_inclusive_smb_balance"][0] == "pboc_lt_10m"
    assert bases["nfra_inclusive_smb_balance"][0] == "nfra_le_10m"
    pboc = national[national["series"].str.startswith("pboc_")]
    nfra = national[national["series"].str.startswith("nfra_")]
    assert set(pboc["publisher"]) == {"PBoC"} and "PBoC" not in set(nfra["publisher"])


def test_every_national_row_is_sourced_and_well_formed(national):
    assert (national["source"].str.strip() != "").all()
    assert national["value"].notna().all()
    assert set(national["status"]) <= {"confirmed", "derived", "unconfirmed", "inconsistent"}
    assert not national.duplicated(["series", "period_end", "measure"]).any()
    assert (national["period_end"] == national["period_end"] + pd.offsets.MonthEnd(0)).all()
    derived = national[national["status"] != "confirmed"]
    assert (derived["note"].str.strip() != "").all()


def test_growth_is_stored_in_percent_as_published(national):
    growth = national[national["series"].str.contains("growth")]
    assert (growth["unit"] == "pct").all()
    assert set(growth["measure"]) <= {"yoy", "ytd", "unknown"}
    q3 = national[(national["series"] == "pboc_inclusive_smb_growth_yoy") & (national["period_end"] == "2019-09-30")]
    assert q3["value"].tolist() == [23.3]


def test_pboc_2024q1_balance_is_marked_inconsistent(national):
    row = national[(national["series"] == "pboc_inclusive_smb_balance") & (national["period_end"] == "2024-03-31")]
    assert row["value"].tolist() == [33.41]
    assert row["status"].tolist() == ["inconsistent"]
    assert "31.78" in row["note"].iloc[0]  # 29.4 + 2.38


def test_load_one_national_series():
    nfra = load_national("nfra_inclusive_smb_balance")
    end_2023 = nfra.loc[nfra["period_end"] == "2023-12-31", "value"].tolist()
    assert end_2023 == [29.06]  # NFRA basis; the PBoC basis gives 29.4
    with pytest.raises(InputError):
        load_national("pboc_inclusive_smb")


def test_a_folder_given_as_the_lpr_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError) as err:
        load_lpr(extra=tmp_path)
    assert [(p.file, p.message) for p in err.value.problems] == [(str(tmp_path), "a folder, not a file")]
