"""The report context a run prepares: one validated read of the tape serves every notebook (issue 11)."""
from __future__ import annotations

import datetime as dt

from pucredit.analyses.metrics import compute_metrics
from pucredit.engine.tape import open_prepared, open_tape
from tests.unit.test_metrics import ROWS

AT = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


def test_a_prepared_tape_gives_the_same_metrics_and_no_raw_ids(write_tape, tmp_path):
    rows = ROWS + [{**ROWS[0], "bank_id": "T2", "loan_id": "X1"}]  # another bank in the same tape
    with open_tape(write_tape(rows), key="k") as tape:
        expected = compute_metrics(tape, "T1", "2024H1", generated_at=AT).to_json()
        folder = tape.save_prepared("T1", tmp_path / "context")
    prepared = open_prepared(folder)
    try:
        assert compute_metrics(prepared, "T1", "2024H1", generated_at=AT).to_json() == expected
        assert prepared.bank_ids() == ["T1"] and not prepared.plain_has_raw_ids
        raw = {row["borrower_id"] for row in ROWS}
        for query in ("SELECT borrower_id FROM tape_plain", "SELECT borrower_id FROM loan_facts",
                      "SELECT borrower_id_hi FROM loan_facts"):
            ids = {r[0] for r in prepared.con.execute(query).fetchall()}
            assert ids and not ids & raw, query  # pseudonyms only
    finally:
        prepared.close()
