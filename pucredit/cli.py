"""The ``pucredit`` command (README "Commands"; exit codes: docs/data-contract.md §12). Exit status: 0 done, 1 an analysis failed, 2 bad input or usage.

Errors a user can cause are printed as ``file:row:column: problem (value); accepted: ...``;
a traceback is a bug.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from pathlib import Path

from pucredit.contract.errors import DEFAULT_CAP, AnalysisError, Findings, InputError, Problem

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def _at_least(minimum: int):
    """argparse type: a whole number >= ``minimum`` (argparse then exits 2 with the message)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value
    return parse


def _check_output(path: str, option: str, folder: bool) -> None:
    """Usage errors of an output path, found before any work is done: a folder where a file is wanted
    or the reverse, a file where a parent folder should be, a place this user cannot write."""
    target = Path(path)
    wanted = "a folder" if folder else "a file path"
    if target.exists() and target.is_dir() != folder:
        raise InputError(Problem(file=option, rule="usage", value=path, accepted=wanted,
                                 message="is a folder" if target.is_dir() else "is a file, not a folder"))
    parent = target if folder else target.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(Problem(file=option, rule="usage", value=path, accepted=f"{wanted} where you may write",
                                 message=f"cannot write there ({parent} is not a writable folder)"))


def _scheduler(text: str) -> str:
    from pucredit.pipeline.cluster import check_scheduler

    return check_scheduler(text)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pucredit", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("validate", help="check a tape (and totals file) against the data contract")
    p.add_argument("tape", help="loan tape: CSV (UTF-8/GBK), Parquet or Excel")
    p.add_argument("--totals", help="bank totals file (机构汇总)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--lpr", help="extra LPR fixings (CSV: fixing_date, lpr_1y_pct, lpr_5y_pct)")
    p.add_argument("--sheet", help="Excel sheet name (default: the first sheet)")
    p.add_argument("--cap", type=_at_least(0), default=DEFAULT_CAP, help="rows listed per rule (counts are complete)")

    p = sub.add_parser("metrics", help="compute the metrics JSON of one bank and period")
    p.add_argument("bank_yaml", nargs="?", help="a bank file: tape, totals, category and targets from it "
                                                "(instead of --tape and --bank)")
    p.add_argument("--tape")
    p.add_argument("--totals")
    p.add_argument("--bank", help="bank_id, as text (e.g. 0102)")
    p.add_argument("--period", required=True, help="2024, 2024H1, 2024Q3 or 2024-05")
    p.add_argument("--policy", help="policy year or file (default: the period's year)")
    p.add_argument("--out", help="write the JSON here instead of printing it")
    p.add_argument("--lpr", help="extra LPR fixings (CSV)")
    p.add_argument("--sheet", help="Excel sheet name")
    p.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb",
                   help="where the metrics' SQL runs (spark: the same statements transpiled; needs pucredit[spark])")
    p.add_argument("--spark", metavar="URL", help="Spark Connect URL (sc://host:15002); default a local[2] session")

    p = sub.add_parser("run", help="run every report notebook for one bank and period")
    p.add_argument("bank_yaml", help="bank file (parameters/banks/*.yaml)")
    p.add_argument("--period", required=True)
    p.add_argument("--out", default=None, help="report root (default reports/)")
    p.add_argument("--timeout", type=_at_least(1), default=600, help="seconds allowed per notebook cell")

    p = sub.add_parser("batch", help="run many banks in parallel; one bank's failure never stops the others")
    p.add_argument("banks", nargs="+", help="bank files, or folders of them")
    p.add_argument("--period", required=True)
    where = p.add_mutually_exclusive_group()
    where.add_argument("--jobs", type=_at_least(1), default=1, help="notebooks run at once (worker processes)")
    where.add_argument("--scheduler", type=_scheduler, help="a Dask cluster instead: tcp://HOST:8786, a scheduler "
                                                           "file, or local:N single-threaded workers (pucredit[cluster])")
    p.add_argument("--out", default=None, help="report root (default reports/); manifest.json goes here")
    p.add_argument("--timeout", type=_at_least(1), default=600, help="seconds allowed per notebook cell")
    p.add_argument("--only-failed", action="store_true", help="re-run only the banks the last manifest marks failed")

    p = sub.add_parser("peers", help="compare many banks' reports for one period (for supervisors)")
    p.add_argument("root", help="report root holding <bank_id>/<period>/metrics.json (the --out of run or batch)")
    p.add_argument("--period", required=True)
    p.add_argument("--out", default=None, help="report folder (default ROOT/_peers/<period>)")
    p.add_argument("--anonymise", action="store_true",
                   help="banks are shown as letters, not by name and id; the key is written to "
                                                        "<period>.peers_key.csv beside the report folder")
    p.add_argument("--lang", choices=("zh", "en"), default="zh")
    p.add_argument("--timeout", type=_at_least(1), default=600, help="seconds allowed per notebook cell")

    p = sub.add_parser("synth", help="write synthetic contract-shaped tapes with known true parameters")
    p.add_argument("--bank", help="a demo bank (LB01, CB01, RB01); default: all three")
    p.add_argument("--rows", type=_at_least(1), help="scale the bank to about this many rows")
    p.add_argument("--out", default=None, help="output folder (default data/demo)")
    p.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    p.add_argument("--seed", type=int)

    p = sub.add_parser("demo", help="build the demo data if missing and run the reports for the demo banks")
    p.add_argument("--period", default="2025H1")
    p.add_argument("--jobs", type=_at_least(1), default=2)
    p.add_argument("--out", default=None, help="report root (default ./reports); from an installed package the "
                                                 "demo's bank files and tapes go under it too, in _demo/")
    p.add_argument("--anonymise", action="store_true", help="the peer report shows letters instead of bank names")
    return parser


def _print_findings(findings: Findings, fmt: str, file: str) -> None:
    stream = sys.stdout
    if fmt == "json":
        print(json.dumps({"file": file, "errors": findings.n_errors, "warnings": findings.n_warnings,
                          "by_rule": findings.by_rule(),
                          "problems": [p.to_dict() for p in findings.problems]}, ensure_ascii=False, indent=2),
              file=stream)
        return
    for problem in sorted(findings.problems, key=lambda p: (p.file, p.row or 0)):
        print(problem, file=stream)
    listed = len(findings.problems)
    total = findings.n_errors + findings.n_warnings
    summary = f"{file}: {findings.n_errors} error(s), {findings.n_warnings} warning(s)"
    if total > listed:
        summary += f" ({listed} listed; per rule: " + ", ".join(
            f"{rule} {n}" for sev in findings.by_rule().values() for rule, n in sev.items()) + ")"
    print(summary, file=stream)


def cmd_validate(args) -> int:
    from pucredit.engine.tape import open_tape

    try:
        tape = open_tape(args.tape, args.totals, lpr=args.lpr, sheet=args.sheet, cap=args.cap)
    except InputError as exc:
        findings = Findings()
        for problem in exc.problems:
            findings.add(problem)
        _print_findings(findings, args.format, args.tape)
        return EXIT_BAD_INPUT
    with tape:
        _print_findings(tape.findings, args.format, args.tape)
        return EXIT_OK if tape.ok else EXIT_BAD_INPUT


def cmd_metrics(args) -> int:
    from pucredit.analyses.metrics import compute_metrics
    from pucredit.config.periods import parse_period
    from pucredit.config.banks import load_bank
    from pucredit.config.policy import BankTerms, load_policy
    from pucredit.engine.tape import open_tape
    from pucredit.estimators.passthrough import import_statsmodels_meanwhile

    if bool(args.bank_yaml) == bool(args.tape or args.bank):
        raise InputError(Problem(file="command line", rule="usage", message="give a bank file, or --tape and --bank",
                                 accepted="pucredit metrics BANK_YAML --period P, or --tape T --bank B --period P"))
    if not args.bank_yaml and not (args.tape and args.bank):
        raise InputError(Problem(file="command line", rule="usage", message="--tape and --bank go together",
                                 accepted="--tape T --bank B --period P"))
    if args.spark and args.engine != "spark":
        raise InputError(Problem(file="command line", rule="usage", value=args.spark, column="--spark",
                                 message="--spark names a Spark Connect server, for --engine spark only",
                                 accepted="--engine spark --spark sc://HOST:15002, or neither"))
    if args.out:
        _check_output(args.out, "--out", folder=False)
    period = parse_period(args.period)
    terms = None  # without a bank file: no category, every target assessed as binding (notes say so)
    if args.bank_yaml:
        bank = load_bank(args.bank_yaml)
        args.tape, args.totals, args.bank, args.lpr = bank.tape, bank.totals, bank.bank_id, args.lpr or bank.lpr
        args.policy, terms = args.policy or bank.policy, BankTerms.of(bank)
    policy = load_policy(args.policy) if args.policy else None
    statsmodels = import_statsmodels_meanwhile()  # for the pass-through fit
    with open_tape(args.tape, args.totals, lpr=args.lpr, sheet=args.sheet) as tape:
        for warning in tape.findings.warnings:
            print(warning, file=sys.stderr)
        tape.raise_for_errors()
        statsmodels.join()
        if args.engine == "spark":
            try:
                from pucredit.engine import spark
                import pyspark  # noqa: F401
            except ImportError as exc:
                raise InputError(Problem(file="command line", rule="usage", value="--engine spark",
                                         message=f"the Spark engine is not installed ({exc.name})",
                                         accepted="pip install 'pucredit[spark]' (and Java 17), or --engine duckdb")) from None
            try:  # pyspark's own errors: no Java, no grpcio for Spark Connect, a server that does not answer
                session = spark.session(args.spark)
            except Exception as exc:
                raise InputError(Problem(file="command line", rule="usage", column="--spark",
                                         value=args.spark or "local[2]",
                                         message=f"cannot start a Spark session: {str(exc).strip().splitlines()[0][:200]}",
                                         accepted="Java 17 for a local session; for Spark Connect "
                                                  "pip install 'pyspark[connect]' and a server that answers")) from None
            result = compute_metrics(spark.on_spark(tape, args.bank, tape.workdir / "spark", session),
                                     args.bank, period, policy, terms=terms)
        else:
            result = compute_metrics(tape, args.bank, period, policy, terms=terms)
    source = result.provenance.totals_source
    print(f"totals for {args.bank}: " + ("from the totals file" if source == "totals_file"
                                          else "from the tape (no totals file rows for this bank)"), file=sys.stderr)
    if args.out:
        try:
            print(f"wrote {result.write(args.out)}", file=sys.stderr)
        except OSError as exc:
            raise InputError(Problem(file="--out", rule="usage", value=args.out, message=f"cannot write: {exc.strerror}",
                                     accepted="a file path in a folder you may write")) from None
    else:
        sys.stdout.write(result.to_json())
    return EXIT_OK


def cmd_run(args) -> int:
    from pucredit.config.paths import REPORTS_DIR
    from pucredit.pipeline.run import run_bank

    result = run_bank(args.bank_yaml, args.period, args.out or REPORTS_DIR, timeout=args.timeout,
                      progress=lambda bank, msg: print(f"{bank}: {msg}", file=sys.stderr))
    if result.status == "ok":
        print(f"{result.bank_id} {result.period}: report in {result.report_dir} ({result.seconds:.0f} s)")
        return EXIT_OK
    print(f"{result.bank_id} {result.period}: {result.status}"
          + (f" in {result.failed_notebook} cell {result.failed_cell}" if result.failed_notebook else "")
          + f": {result.error}", file=sys.stderr)
    if result.failure_notebook:
        print(f"partial notebook: {result.failure_notebook}", file=sys.stderr)
    return EXIT_BAD_INPUT if result.status == "bad_input" else EXIT_FAILED


def cmd_batch(args) -> int:
    from pucredit.pipeline.batch import MANIFEST, failed, run_batch
    from pucredit.config.paths import REPORTS_DIR

    root = Path(args.out) if args.out else REPORTS_DIR
    manifest = run_batch(args.banks, args.period, root, jobs=args.jobs, timeout=args.timeout,
                         only_failed=args.only_failed, scheduler=args.scheduler)
    bad = failed(manifest)
    print(f"{len(manifest['banks']) - len(bad)} of {len(manifest['banks'])} banks ok; manifest: {root / MANIFEST}")
    return EXIT_FAILED if bad else EXIT_OK


def cmd_peers(args) -> int:
    from pucredit.analyses.peers import run_peers

    print(f"comparing the banks under {args.root} for {args.period}", file=sys.stderr)
    try:
        target = run_peers(args.root, args.period, args.out, anonymous=args.anonymise, lang=args.lang,
                           timeout=args.timeout)
    except InputError:
        raise
    except Exception as exc:  # the notebook failed on valid input
        print(f"peer report failed: {type(exc).__name__}: {str(exc)[-2000:]}", file=sys.stderr)
        return EXIT_FAILED
    print(f"peer report in {target}")
    return EXIT_OK


def cmd_synth(args) -> int:
    from pucredit.config.paths import DEMO_DIR
    from pucredit.synth import synth_command

    if args.out:
        _check_output(args.out, "--out", folder=True)
    for path in synth_command(args.bank, Path(args.out) if args.out else DEMO_DIR, args.rows, args.format, args.seed):
        print(path)
    return EXIT_OK


def cmd_demo(args) -> int:
    from pucredit.pipeline.demo import run_demo
    from pucredit.config.paths import REPORTS_DIR

    return run_demo(args.period, args.jobs, Path(args.out) if args.out else REPORTS_DIR, anonymous=args.anonymise)


COMMANDS = {"validate": cmd_validate, "metrics": cmd_metrics, "run": cmd_run, "batch": cmd_batch, "peers": cmd_peers, "synth": cmd_synth, "demo": cmd_demo}


def _share_user_parameters() -> None:
    """A ``./parameters`` folder where the command started is the user's (config.paths): named in the
    environment so that the notebooks' kernels, which start in another folder, read it too."""
    from pucredit.config.paths import PARAMETERS_ENV, user_parameters_dir

    user = user_parameters_dir()
    if user is not None:
        os.environ.setdefault(PARAMETERS_ENV, str(user))


def main(argv: list[str] | None = None) -> int:
    import signal

    if threading.current_thread() is threading.main_thread():  # SIGTERM unwinds like Ctrl-C: scratch copies go
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    args = _parser().parse_args(argv)
    _share_user_parameters()
    try:
        return COMMANDS[args.command](args)
    except InputError as exc:
        for problem in exc.problems:
            print(str(problem).lstrip(": "), file=sys.stderr)
        return EXIT_BAD_INPUT
    except AnalysisError as exc:
        print(f"analysis failed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
