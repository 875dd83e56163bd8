"""Every accepted format, encoding, header alias and spelling reads to the same tape (docs/data-contract.md §4)."""
from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq
import pytest

from pucredit.analyses.metrics import compute_metrics
from pucredit.contract.schema import TAPE_COLUMNS
from pucredit.engine.tape import open_tape
from tests.conftest import tape_rows, typed_table, write_csv
from tests.unit.test_metrics import ROWS

ALIASES = {c.name: c.alias for c in TAPE_COLUMNS}
ZH_ENUMS = {"small_micro_enterprise": "小微企业", "individual_business": "个体工商户", "micro_owner": "小微企业主",
            "farmer": "农户", "other_enterprise": "其他企业", "credit": "信用", "normal": "正常",
            "substandard": "次级", "doubtful": "可疑"}
ZH_BOOLS = {"true": "是", "false": "否"}


def chinese(rows: list[dict]) -> list[dict]:
    """The same rows with Chinese headers, enum values, yes/no and other date spellings."""
    out = []
    for row in tape_rows(rows):
        zh = {}
        for key, value in row.items():
            value = ZH_ENUMS.get(value, ZH_BOOLS.get(value, value))
            if key in ("origination_date", "maturity_date"):
                value = value.replace("-0", "/").replace("-", "/")  # 2024/3/15
            if key == "as_of":
                value = value.replace("-", "")  # 20240630
            if key in ("balance_cny", "amount_cny") and len(value) > 3:
                value = f"{int(float(value)):,}"  # 1,000,000
            zh[ALIASES[key]] = value
        out.append(zh)
    return out


def metrics_of(path, **kwargs) -> dict:
    with open_tape(path, **kwargs) as tape:
        assert tape.ok, [str(p) for p in tape.findings.errors]
        result = compute_metrics(tape, "T1", "2024H1").to_dict()
    for volatile in ("provenance",):
        result.pop(volatile)
    return result


@pytest.fixture(scope="module")
def expected(tmp_path_factory):
    return metrics_of(write_csv(tmp_path_factory.mktemp("ref") / "tape.csv", ROWS))


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_chinese_csv_in_each_encoding(tmp_path, expected, encoding):
    rows = chinese(ROWS)
    path = tmp_path / "贷款明细.csv"
    pd.DataFrame(rows).to_csv(path, index=False, encoding=encoding)
    assert metrics_of(path) == expected


def test_excel_with_chinese_headers_and_real_dates(tmp_path, expected):
    frame = pd.DataFrame(chinese(ROWS))
    for col in ("数据日期", "发放日期", "到期日期"):
        frame[col] = pd.to_datetime(frame[col], format="mixed")
    for col in ("单户授信总额", "执行利率", "逾期天数"):
        frame[col] = pd.to_numeric(frame[col])
    path = tmp_path / "tape.xlsx"
    frame.to_excel(path, index=False, sheet_name="贷款明细")
    assert metrics_of(path) == expected
    assert metrics_of(path, sheet="贷款明细") == expected


def test_typed_parquet(tmp_path, expected):
    path = tmp_path / "tape.parquet"
    pq.write_table(typed_table(ROWS), path)
    assert metrics_of(path) == expected


def test_headers_with_spaces_and_full_width_characters(tmp_path, expected):
    rows = tape_rows(ROWS)
    odd = {"balance_cny": " ｂａｌａｎｃｅ＿ｃｎｙ ", "rate_pct": "执行利率　", "bank_id": "Bank_ID"}
    path = tmp_path / "odd.csv"
    pd.DataFrame([{odd.get(k, k): v for k, v in r.items()} for r in rows]).to_csv(path, index=False)
    assert metrics_of(path) == expected


def test_semicolon_and_tab_separated(tmp_path, expected):
    for sep, name in ((";", "semi.csv"), ("\t", "tab.tsv")):
        path = tmp_path / name
        pd.DataFrame(tape_rows(ROWS)).to_csv(path, index=False, sep=sep)
        assert metrics_of(path) == expected


def test_borrower_ids_are_pseudonymised(tmp_path):
    path = write_csv(tmp_path / "tape.csv", ROWS)
    with open_tape(path, key="k1") as tape:
        ids = {r[0] for r in tape.con.execute("SELECT DISTINCT borrower_id FROM tape").fetchall()}
    assert not ids & {r["borrower_id"] for r in ROWS}
    assert len(ids) == len({r["borrower_id"] for r in ROWS})  # distinct stays distinct
    with open_tape(path, key="k1") as tape:
        again = {r[0] for r in tape.con.execute("SELECT DISTINCT borrower_id FROM tape").fetchall()}
    with open_tape(path, key="k2") as tape:
        other = {r[0] for r in tape.con.execute("SELECT DISTINCT borrower_id FROM tape").fetchall()}
    assert again == ids and not other & ids


def test_codes_stay_text(tmp_path):
    rows = [dict(r, bank_id="0102", county_code="011000") for r in ROWS]
    path = write_csv(tmp_path / "tape.csv", rows)
    with open_tape(path) as tape:
        assert tape.bank_ids() == ["0102"]
        codes = {r[0] for r in tape.con.execute("SELECT DISTINCT county_code FROM tape").fetchall()}
    assert codes == {"011000"}


def test_percent_sign_and_bool_spellings(tmp_path, expected):
    rows = []
    for i, row in enumerate(tape_rows(ROWS)):
        spelled = dict(row, rate_pct=row["rate_pct"] + "%")
        spelled["is_renewal"] = ("N", "0", "false", "否")[i % 4]
        spelled["is_business"] = {"true": ("Y", "1", "是", "TRUE")[i % 4]}.get(row["is_business"], "N")
        rows.append(spelled)
    path = tmp_path / "spell.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    assert metrics_of(path) == expected
