"""Renewal chains (续贷, 借新还旧; notice 四(九), 二(三)) on a hand-made tape; the arithmetic is written out.

Five month ends, January to May 2024, all loans inclusive small-micro:
- A1 (B1, first loan, 100) normal in Jan and Feb, renewed on 2024-03-10 into A2 (predecessor A1), normal in
  Mar, substandard in Apr and May: renewed while performing, then defaulting.
- C1 (B2, first loan, 200) normal in Jan, substandard in Feb, refinanced on 2024-03-05 into C2 (predecessor
  C1), normal from Mar: a renewal of a defaulted loan (借新还旧).
- L1 (B3, 300) normal throughout; E1 (B4, 400) normal in Jan, then repaid (a clean exit).
"""
from __future__ import annotations

import pandas as pd
import pytest

from pucredit.analyses import first_loans, renewals, risk
from pucredit.engine.tape import open_tape

JAN, FEB, MAR, APR, MAY = "2024-01-31", "2024-02-29", "2024-03-31", "2024-04-30", "2024-05-31"
NPL = dict(risk_class="substandard", days_past_due=95)


def loan(loan_id, borrower, amount, origination, months, predecessor="", first="false", bad=()):
    return [dict(as_of=m, loan_id=loan_id, borrower_id=borrower, amount_cny=amount, balance_cny=amount,
                 origination_date=origination, maturity_date="2026-01-01", predecessor_loan_id=predecessor,
                 is_first_loan=first, is_renewal="true" if predecessor else "false", **(NPL if m in bad else {}))
            for m in months]


ROWS = [*loan("A1", "B1", 100, "2024-01-10", (JAN, FEB), first="true"),
        *loan("A2", "B1", 100, "2024-03-10", (MAR, APR, MAY), predecessor="A1", bad=(APR, MAY)),
        *loan("C1", "B2", 200, "2024-01-05", (JAN, FEB), first="true", bad=(FEB,)),
        *loan("C2", "B2", 200, "2024-03-05", (MAR, APR, MAY), predecessor="C1"),
        *loan("L1", "B3", 300, "2024-01-15", (JAN, FEB, MAR, APR, MAY)),
        *loan("E1", "B4", 400, "2024-01-20", (JAN,))]


@pytest.fixture
def linked(write_tape):
    with open_tape(write_tape(ROWS)) as tape:
        assert tape.ok, [str(p) for p in tape.findings.errors]
        yield tape.bank("T1")


@pytest.fixture
def unlinked(write_tape):
    rows = [{k: v for k, v in row.items() if k != "predecessor_loan_id"} for row in ROWS]
    with open_tape(write_tape(rows)) as tape:
        assert tape.ok, [str(p) for p in tape.findings.errors]
        yield tape.bank("T1")


def test_migration_follows_renewals(linked):
    m = risk.migration_matrix(linked, pd.Timestamp(JAN), pd.Timestamp(MAY))
    # normal at Jan end: 100 + 200 + 300 + 400 = 1000. A1 -> A2 substandard (100), C1 -> C2 normal (200),
    # L1 normal (300), E1 repaid (400): the renewed loans are no exits
    assert m.loc["normal", "normal"] == pytest.approx(500 / 1000)
    assert m.loc["normal", "substandard"] == pytest.approx(100 / 1000)
    assert m.loc["normal", "exit"] == pytest.approx(400 / 1000)
    assert "renewed_unlinked" not in m.columns


def test_formation_counts_a_default_once_against_the_chain(linked):
    f = risk.monthly_formation(linked)
    # Feb: performing at Jan end 1000; C1's 200 becomes NPL: 200 / 1000
    assert f.loc[FEB, "formation_rate"] == pytest.approx(0.2)
    # Mar: performing at Feb end A1 100 + L1 300 = 400; A1 -> A2 performs on: no new loan, no formation;
    # C1 (NPL) -> C2 (normal) is a refinancing, not a cure: cured 0 of Feb's NPL 200
    assert (f.loc[MAR, "performing_cny"], f.loc[MAR, "formed_cny"], f.loc[MAR, "cured_cny"]) == (400, 0, 0)
    # Apr: performing at Mar end A2 100 + C2 200 + L1 300 = 600; A2's 100 becomes NPL: 100 / 600
    assert f.loc[APR, "formation_rate"] == pytest.approx(100 / 600)
    assert f["formed_cny"].sum() == 300  # C's 200 and A's 100, each once


def test_vintage_is_the_chains_original_loan(linked):
    v = risk.vintage_curves(linked, max_months=4)
    # 2024Q1: the originals A1, C1, L1, E1 (1000); A2 and C2 are not vintages of their own.
    # chain C defaults in Feb (month 1 on book), chain A in Apr (month 3 from A1's January)
    assert list(v.index) == ["2024Q1"]
    assert list(v.loc["2024Q1"]) == pytest.approx([0, 0.2, 0.2, 0.3, 0.3])


def test_first_loan_default_includes_its_renewals(linked):
    h = first_loans.loan_histories(linked, pd.Timestamp(MAY)).set_index("loan_id")
    # A1 never defaults itself; its renewal A2 does in Apr: 3 months after A1's January origination
    assert h.loc["A1", "months_to_default"] == 3
    # C1 defaults in Feb (1 month); refinancing it into the performing C2 does not undo that
    assert h.loc["C1", "months_to_default"] == 1
    assert pd.isna(h.loc["C2", "months_to_default"]) and h.loc["A2", "months_to_default"] == 1
    follow = first_loans.follow_up(h.reset_index(), horizon=3)
    assert follow.loc["first", "default_rate"] == 1.0  # A1 and C1, both observed 4 months, both defaulted


def test_chain_facts(linked):
    # links A1 -> A2 and C1 -> C2: two chains; chain A's only default is on its renewal
    assert renewals.chain_facts(linked) == {"linked_renewals": 2, "unlinked_renewals": 0, "chains": 2,
                                            "defaults_on_renewals": 1}


def test_unlinked_renewals_are_not_clean_exits(unlinked):
    m = risk.migration_matrix(unlinked, pd.Timestamp(JAN), pd.Timestamp(MAY))
    # without predecessor_loan_id: A1 (last row Feb) and C1 end as their borrowers get is_renewal loans in
    # Mar: renewed (unlinked), 100 + 200 of 1000; only E1's 400 is an exit
    assert m.loc["normal", "renewed_unlinked"] == pytest.approx(300 / 1000)
    assert m.loc["normal", "exit"] == pytest.approx(400 / 1000)
    assert m.loc["normal", "normal"] == pytest.approx(300 / 1000)
    assert renewals.chain_facts(unlinked)["unlinked_renewals"] == 2
    assert not renewals.linked(unlinked)
    h = first_loans.loan_histories(unlinked, pd.Timestamp(MAY)).set_index("loan_id")
    assert pd.isna(h.loc["A1", "months_to_default"])  # the default is A2's alone: what the column would link


def test_predecessor_not_in_the_tape_is_a_warning(write_tape):
    rows = [*ROWS, *loan("X2", "B5", 100, "2024-04-02", (APR, MAY), predecessor="NOPE"),
            *loan("X3", "B6", 100, "2024-01-02", (JAN,), predecessor="BEFORE")]  # may predate the tape
    with open_tape(write_tape(rows)) as tape:
        warnings = [p for p in tape.findings.warnings if p.rule == "predecessor_not_in_tape"]
        assert [(p.value, p.column) for p in warnings] == [("NOPE", "predecessor_loan_id")]
        assert tape.findings.by_rule()["warning"]["predecessor_not_in_tape"] == 1
