"""Renewal chains (续贷, 借新还旧): a loan, the loan that replaced it, and so on (notice 四(九), 二(三)).

A renewal gets a new loan_id. The optional column predecessor_loan_id (上笔借据号, 一表通 6.27) names the
loan it replaces; a loan's chain is its original loan and every successor. Migrations, NPL formation and
cures, vintages and the first-loan follow-up follow the chain, so that rolling a weak loan over does not
hide its default. Without the column (or where it is blank), a renewal cannot be linked: a loan that
leaves the tape in a month in which the same borrower gets an is_renewal loan is "renewed (unlinked)".
"""
from __future__ import annotations

from pucredit.engine.sql import sql_quote
from pucredit.engine.tape import Bank

MAX_DEPTH = 100  # renewals followed back per loan (a loop in the links stops here)


def chain_table(bank: Bank) -> str:
    """Name of a table (loan_id, ancestor, depth, chain_id), built once per bank: one row per loan and
    each loan it descends from (itself at depth 0, the loan it replaced at depth 1, ...); chain_id is the
    chain's original loan. A predecessor counts only when it is a loan of the bank in the tape. The
    predecessors come from the per-loan facts of validation (one aggregation of the tape, not two)."""
    name = f"chains_{bank.loans}"
    bank.con.execute(f"""
        CREATE TEMP TABLE IF NOT EXISTS {name} AS
        WITH RECURSIVE ids AS (
            SELECT loan_id, pred FROM loan_facts WHERE bank_id = {sql_quote(bank.bank_id)}
        ), links AS (
            SELECT i.loan_id, i.pred FROM ids i SEMI JOIN ids j ON i.pred = j.loan_id WHERE i.pred <> i.loan_id
        ), walk(loan_id, ancestor, depth) AS (
            SELECT loan_id, loan_id, 0 FROM ids
            UNION ALL
            SELECT w.loan_id, l.pred, w.depth + 1 FROM walk w JOIN links l ON l.loan_id = w.ancestor
            WHERE w.depth < {MAX_DEPTH}
        ), closure AS (
            SELECT loan_id, ancestor, min(depth) AS depth FROM walk GROUP BY ALL
        )
        SELECT c.*, coalesce(min(c.ancestor) FILTER (WHERE l.loan_id IS NULL) OVER w, min(c.ancestor) OVER w)
                    AS chain_id
        FROM closure c LEFT JOIN links l ON l.loan_id = c.ancestor
        WINDOW w AS (PARTITION BY c.loan_id)
    """)
    return name


def linked(bank: Bank) -> bool:
    """Whether the tape links renewals to the loans they replace (has the predecessor_loan_id column)."""
    return bank.has("predecessor_loan_id")


def unlinked_renewal_exits(bank: Bank) -> str:
    """SQL of a relation (loan_id) for queries of ``bank.sql``: loans whose last row is at month end m and
    that no linked renewal replaced, while the same borrower got an is_renewal loan with no linked
    predecessor originated in month m or the month after (renewed, but not linked)."""
    chains = chain_table(bank)
    return f"""(
        WITH facts AS (SELECT loan_id, any_value(borrower_id) AS borrower_id, max(as_of) AS last_as_of,
                              bool_or(is_renewal) AS is_renewal, date_trunc('month', min(origination_date)) AS month
                       FROM {{loans}} GROUP BY loan_id),
             unlinked AS (SELECT f.loan_id, f.borrower_id, f.month FROM facts f
                          JOIN {chains} c ON c.loan_id = f.loan_id AND c.depth = 0 AND c.chain_id = f.loan_id
                          WHERE f.is_renewal)
        SELECT DISTINCT e.loan_id FROM facts e JOIN unlinked u USING (borrower_id)
        WHERE u.loan_id <> e.loan_id
          AND u.month BETWEEN date_trunc('month', e.last_as_of) AND date_trunc('month', e.last_as_of) + INTERVAL 1 MONTH
          AND e.loan_id NOT IN (SELECT ancestor FROM {chains} WHERE depth = 1)
    )"""


def chain_facts(bank: Bank) -> dict[str, int]:
    """Renewals in the tape: linked (their predecessor is in the tape), unlinked (is_renewal, originated after
    the first snapshot, no linked predecessor), chains of two or more loans, and chains whose only
    default is on a renewal: the default a loan-by-loan view would not see on the original loan."""
    chains = chain_table(bank)
    row = bank.sql(f"""
        WITH bad AS (SELECT DISTINCT loan_id FROM {{loans}} WHERE is_npl),
             members AS (SELECT loan_id, chain_id FROM {chains} WHERE depth = 0),
             firsts AS (SELECT loan_id, bool_or(is_renewal) AS is_renewal, min(origination_date) AS orig
                        FROM {{loans}} GROUP BY loan_id)
        SELECT (SELECT count(*) FROM {chains} WHERE depth = 1) AS linked_renewals,
               (SELECT count(*) FROM firsts f JOIN members m USING (loan_id)
                WHERE f.is_renewal AND m.chain_id = f.loan_id AND f.orig > $first) AS unlinked_renewals,
               (SELECT count(DISTINCT chain_id) FROM members WHERE chain_id <> loan_id) AS chains,
               (SELECT count(DISTINCT chain_id) FROM members m SEMI JOIN bad USING (loan_id)
                WHERE m.chain_id <> m.loan_id AND m.chain_id NOT IN (SELECT loan_id FROM bad)) AS defaults_on_renewals
    """, {"first": bank.months[0].date()}).iloc[0]
    return {k: int(v) for k, v in row.items()}
