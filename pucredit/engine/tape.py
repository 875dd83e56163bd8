"""Open a tape (and optional totals file), validate it, and classify one bank's loans.

``open_tape`` is the front door of the package: it reads any accepted format,
pseudonymises borrower ids, runs every validation rule in one pass, and
leaves a DuckDB view ``tape`` with the contract's columns and types.
``Tape.bank`` then classifies one bank's rows by the policy year's segment
rules (notice 二(一); docs/data-contract.md §8) and builds its originations (flows).
"""
from __future__ import annotations

import os
import pickle
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from pucredit.config import reference
from pucredit.contract.errors import Findings, InputError, Problem
from pucredit.config.policy import Policy, load_policy
from pucredit.contract.read import Source, file_sha256, make_workdir, normalised_select, open_source, pseudonym_sql
from pucredit.engine.segments import SegmentColumn, flag_columns, registry
from pucredit.engine.sql import sql_quote
from pucredit.contract.schema import TAPE_COLUMNS, TOTALS_COLUMNS
from pucredit.contract.validate import DEFAULT_CAP, check_tape_against_totals, check_tape_consistency, check_tape_rows, check_totals

MEMORY_ENV = "PUCREDIT_MEMORY_LIMIT"  # e.g. "4GB": DuckDB's memory limit; it spills to disk beyond it
BYTES_PER_ROW = 100  # DuckDB working memory allowed per tape row (measured: 10M rows fit in 1 GB)
THREADS_ENV = "PUCREDIT_DUCKDB_THREADS"  # DuckDB's threads; a Dask worker sets its share (pipeline.cluster)


def _thread_cap() -> dict:
    """DuckDB's ``threads`` from $PUCREDIT_DUCKDB_THREADS; unset: DuckDB's default (every core)."""
    return {"threads": int(os.environ[THREADS_ENV])} if os.environ.get(THREADS_ENV) else {}


def memory_limit(rows: int) -> str:
    """DuckDB's memory limit for a tape: $PUCREDIT_MEMORY_LIMIT, else about 100 bytes a row, at least
    1 GB and at most 60 % of the machine (the per-loan aggregations do not all spill to disk)."""
    import psutil

    if os.environ.get(MEMORY_ENV):
        return os.environ[MEMORY_ENV]
    ceiling = 0.6 * psutil.virtual_memory().total
    return f"{int(min(max(rows * BYTES_PER_ROW, 1 << 30), ceiling)) >> 20}MB"


@dataclass
class Tape:
    """A validated tape in DuckDB (view ``tape``; ``totals`` when a totals file was given)."""

    con: duckdb.DuckDBPyConnection
    path: Path
    sha256: str
    source: Source
    findings: Findings
    lpr: pd.DataFrame
    workdir: Path
    key: str | None = None  # pseudonymisation key (None: $PUCREDIT_PSEUDONYM_KEY or the process's own)
    totals_path: Path | None = None
    totals_sha256: str | None = None
    plain_has_raw_ids: bool = True  # tape_plain holds raw borrower ids (False for a prepared tape: pseudonyms)
    file_rows: int = 0  # rows of the whole file, all banks
    _banks: dict = field(default_factory=dict)

    @property
    def columns(self) -> set[str]:
        """Contract columns present in the file (absent optional ones are NULL in the view)."""
        return set(self.source.columns)

    @property
    def ok(self) -> bool:
        return self.findings.n_errors == 0

    def raise_for_errors(self) -> None:
        """Stop with every error found (exit 2 at the command line)."""
        if not self.ok:
            raise InputError(self.findings.errors, findings=self.findings)

    def bank_ids(self) -> list[str]:
        return [r[0] for r in self.con.execute("SELECT DISTINCT bank_id FROM tape ORDER BY 1").fetchall()]

    def bank(self, bank_id: str, policy: Policy | str = "2024") -> "Bank":
        """One bank's classified loans; cached per (bank, policy)."""
        policy = policy if isinstance(policy, Policy) else load_policy(policy)
        cache_key = (str(bank_id), policy.sha256)
        if cache_key not in self._banks:
            self._banks[cache_key] = Bank.build(self, str(bank_id), policy, len(self._banks))
        return self._banks[cache_key]

    def save_prepared(self, bank_id: str, folder: Path) -> Path:
        """Write one bank's validated rows (borrower ids pseudonymised), its per-loan facts, totals, the LPR
        table and the findings into ``folder``, for :func:`open_prepared`: the report notebooks of a run read
        the tape from there instead of reading and validating it again. No raw borrower id is written."""
        folder.mkdir(parents=True, exist_ok=True)
        key = self.key
        facts = (f"* REPLACE ({pseudonym_sql('borrower_id', key)} AS borrower_id, "
                 f"{pseudonym_sql('borrower_id_hi', key)} AS borrower_id_hi)")
        copies = [("tape", "*", "tape"), ("loan_facts", facts, "loan_facts")]
        if self.totals_path is not None:
            copies.append(("totals", "*", "totals"))
        for name, columns, table in copies:
            self.con.execute(f"COPY (SELECT {columns} FROM {table} WHERE bank_id = ?) TO "
                             f"{sql_quote(str(folder / f'{name}.parquet'))} (FORMAT parquet)", [bank_id])
        meta = {"path": self.path, "sha256": self.sha256, "source": self.source, "findings": self.findings,
                "file_rows": self.file_rows,
                "lpr": self.lpr, "totals_path": self.totals_path, "totals_sha256": self.totals_sha256}
        (folder / PREPARED_META).write_bytes(pickle.dumps(meta))
        return folder

    def close(self) -> None:
        self.con.close()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> "Tape":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_tape(path: str | Path, totals: str | Path | None = None, *, lpr: str | Path | None = None,
              key: str | None = None, sheet: str | None = None, cap: int = DEFAULT_CAP) -> Tape:
    """Read, pseudonymise and validate a tape; problems are in ``tape.findings`` (docs/data-contract.md §10).

    Raises InputError at once when a file cannot be read at all (missing, not text, empty,
    missing required columns). ``lpr`` is an optional CSV of extra LPR fixings; ``key`` the
    pseudonymisation key (default $PUCREDIT_PSEUDONYM_KEY, else random per process).
    """
    workdir = make_workdir()
    con = duckdb.connect(config={"memory_limit": "1GB", "temp_directory": str(workdir / "spill"), **_thread_cap()})
    try:
        con.execute("SET enable_progress_bar = false")  # DuckDB's bar would write into stdout, e.g. the JSON
    except duckdb.InvalidInputException:
        pass  # in a Jupyter kernel without ipywidgets DuckDB refuses the setting and shows no bar anyway
    try:
        lpr_table = reference.load_lpr(lpr)
        reference.register_lpr(con, lpr_table)
        source = open_source(con, path, TAPE_COLUMNS, "tape_raw", workdir, sheet)
        rows = con.execute("SELECT count(*) FROM tape_raw").fetchone()[0]
        con.execute(f"SET memory_limit = '{memory_limit(rows)}'")
        con.execute("SET preserve_insertion_order = false")  # row numbers travel in _row from here on
        findings, rate_shape = check_tape_rows(con, source, reference.lpr_coverage_end(lpr_table), cap)
        con.execute(f"CREATE VIEW tape_plain AS SELECT {normalised_select(source, TAPE_COLUMNS)} FROM tape_raw")
        if source.fmt != "parquet":  # parse text once, not in every later query
            _materialise(con, "tape_plain", workdir / "tape.parquet")
        check_tape_consistency(con, source, "tape_plain", findings, rate_shape, cap)
        con.execute(f"CREATE VIEW tape AS SELECT * REPLACE ({pseudonym_sql('borrower_id', key)} AS borrower_id)"
                    " FROM tape_plain")
        result = Tape(con=con, path=Path(path), sha256=file_sha256(Path(path)), source=source,
                      findings=findings, lpr=lpr_table, workdir=workdir, key=key, file_rows=int(rows))
        if totals is not None:
            totals_source = open_source(con, totals, TOTALS_COLUMNS, "totals_raw", workdir)
            con.execute(f"CREATE VIEW totals AS SELECT {normalised_select(totals_source, TOTALS_COLUMNS)} FROM totals_raw")
            findings.extend(check_totals(con, totals_source, "totals", cap))
            _materialise(con, "totals", workdir / "totals.parquet")
            if findings.n_errors == 0:
                check_tape_against_totals(con, str(path), str(totals), findings)
            result.totals_path, result.totals_sha256 = Path(totals), file_sha256(Path(totals))
        return result
    except BaseException:
        con.close()
        shutil.rmtree(workdir, ignore_errors=True)
        raise


PREPARED_META = "tape.pickle"  # what open_prepared needs besides the Parquet files


def open_prepared(folder: str | Path) -> Tape:
    """A tape that :meth:`Tape.save_prepared` wrote: the same views (``tape``, ``tape_plain``, ``loan_facts``,
    ``totals``) over its Parquet files and the same findings, with no reading or validation."""
    folder = Path(folder)
    meta = pickle.loads((folder / PREPARED_META).read_bytes())
    workdir = make_workdir()
    con = duckdb.connect(config={"memory_limit": "1GB", "temp_directory": str(workdir / "spill"), **_thread_cap()})
    try:
        try:
            con.execute("SET enable_progress_bar = false")
        except duckdb.InvalidInputException:
            pass
        reference.register_lpr(con, meta["lpr"])
        for name in ("tape_plain", "loan_facts", "totals"):
            path = folder / f"{'tape' if name == 'tape_plain' else name}.parquet"
            if path.exists():
                con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet({sql_quote(str(path))})")
        rows = con.execute("SELECT count(*) FROM tape_plain").fetchone()[0]
        con.execute(f"SET memory_limit = '{memory_limit(rows)}'")
        con.execute("SET preserve_insertion_order = false")
        con.execute("CREATE VIEW tape AS SELECT * FROM tape_plain")
        return Tape(con=con, path=meta["path"], sha256=meta["sha256"], source=meta["source"],
                    findings=meta["findings"], lpr=meta["lpr"], workdir=workdir, totals_path=meta["totals_path"],
                    totals_sha256=meta["totals_sha256"], plain_has_raw_ids=False, file_rows=meta["file_rows"])
    except BaseException:
        con.close()
        shutil.rmtree(workdir, ignore_errors=True)
        raise


def _materialise(con: duckdb.DuckDBPyConnection, view: str, target: Path) -> None:
    con.execute(f"COPY (SELECT * FROM {view}) TO {sql_quote(str(target))} (FORMAT parquet)")
    con.execute(f"CREATE OR REPLACE VIEW {view} AS SELECT * FROM read_parquet({sql_quote(str(target))})")


@dataclass
class Bank:
    """One bank's loans, classified by a policy year (views ``loans``/``originations`` named per bank).

    Stock rows are classified on their own values (docs/data-contract.md §9); originations are each loan's
    first snapshot row, for loans originated from the tape's first month on, with the
    applicable LPR (latest fixing on or before the origination date, by pricing_base).
    """

    tape: Tape
    bank_id: str
    policy: Policy
    loans: str  # view name
    originations: str  # table name
    months: list[pd.Timestamp]  # snapshot month ends present
    has_totals: bool
    segments: dict[str, SegmentColumn]  # the policy's segments, each a flag column seg_<name>

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        return self.tape.con

    def has(self, column: str) -> bool:
        return column in self.tape.columns

    def segment(self, name: str) -> SegmentColumn:
        """A segment of the policy file by name (an unknown name is a bug: the names come from the policy)."""
        return self.segments[name]

    def flag(self, name: str) -> str:
        """The flag column of a segment in ``loans`` and ``originations``."""
        return self.segments[name].flag

    def sql(self, query: str, params: list | dict | None = None) -> pd.DataFrame:
        """Run a small query (names ``{loans}``, ``{originations}`` are filled in) into pandas."""
        return self.con.execute(query.format(loans=self.loans, originations=self.originations),
                                params or []).df()

    @classmethod
    def build(cls, tape: Tape, bank_id: str, policy: Policy, index: int) -> "Bank":
        con = tape.con
        present = con.execute("SELECT count(*) FROM tape WHERE bank_id = ?", [bank_id]).fetchone()[0]
        if not present:
            raise InputError(Problem(file=str(tape.path), column="bank_id", rule="unknown_bank", value=bank_id,
                                     message="no rows for this bank in the tape",
                                     accepted=", ".join(tape.bank_ids()[:20])))
        suffix = f"{index}_{re.sub(r'[^0-9A-Za-z]', '_', bank_id)}"
        loans, originations = f"loans_{suffix}", f"originations_{suffix}"
        segments = registry(policy, tape.columns)
        pricing_base = ("coalesce(pricing_base, CASE WHEN maturity_date <= origination_date + INTERVAL 5 YEAR "
                        "THEN 'lpr_1y' ELSE 'lpr_5y' END)")
        classified = (f"* REPLACE ({pricing_base} AS pricing_base), {flag_columns(segments)}, "
                      f"coalesce({policy.npl_sql()}, false) AS is_npl")
        bank = sql_quote(bank_id)
        con.execute(f"CREATE OR REPLACE VIEW {loans} AS SELECT {classified} FROM tape WHERE bank_id = {bank}")
        months = [pd.Timestamp(r[0]) for r in
                  con.execute(f"SELECT DISTINCT as_of FROM tape_plain WHERE bank_id = {bank} ORDER BY 1").fetchall()]
        window_start = months[0].replace(day=1)
        # First snapshot rows are picked from the plain view and pseudonymised after: hashing the
        # borrower ids of the originations only, not of every row.
        borrower = pseudonym_sql("p.borrower_id", tape.key) if tape.plain_has_raw_ids else "p.borrower_id"
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE {originations} AS
            WITH firsts AS (
                SELECT first_row AS _row FROM loan_facts
                WHERE bank_id = {bank} AND orig >= ?
            ), first_rows AS (
                SELECT p.* REPLACE ({borrower} AS borrower_id) FROM tape_plain p SEMI JOIN firsts USING (_row)
            )
            SELECT o.*, l.lpr_1y_pct,
                   CASE o.pricing_base WHEN 'lpr_1y' THEN l.lpr_1y_pct WHEN 'lpr_5y' THEN l.lpr_5y_pct END AS lpr_pct,
                   date_trunc('month', o.origination_date) AS month
            FROM (SELECT {classified} FROM first_rows) o
            ASOF LEFT JOIN lpr l ON o.origination_date >= l.fixing_date
        """, [window_start.date()])
        has_totals = tape.totals_path is not None and con.execute(
            "SELECT count(*) FROM totals WHERE bank_id = ?", [bank_id]).fetchone()[0] > 0
        return cls(tape=tape, bank_id=bank_id, policy=policy, loans=loans, originations=originations,
                   months=months, has_totals=has_totals, segments=segments)
