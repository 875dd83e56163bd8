"""Hostile command lines (issue 13): periods out of range, bad counts and output paths, paths that are
not files; each exit 2 with a message, before any work, and nothing left behind."""
from __future__ import annotations

import pytest

from pucredit.cli import main
from pucredit.config.periods import parse_period
from pucredit.contract.errors import InputError
from tests.conftest import write_csv
from tests.hostile.corpus import GOOD


@pytest.fixture
def tape(tmp_path):
    return str(write_csv(tmp_path / "tape.csv", GOOD))


def run(capsys, *args) -> tuple[int, str]:
    try:
        code = main(list(args))
    except SystemExit as exc:  # argparse's usage errors
        code = exc.code
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return code, captured.out + captured.err


@pytest.mark.parametrize("text", ["0000", "0001H1", "9999Q4", "1899", "2201-01", "10000", "2262"])
def test_periods_out_of_range(text, tape, capsys):
    with pytest.raises(InputError) as info:
        parse_period(text)
    assert "1900 to 2200" in info.value.problems[0].accepted
    code, out = run(capsys, "metrics", "--tape", tape, "--bank", "T1", "--period", text)
    assert code == 2 and "1900 to 2200" in out


@pytest.mark.parametrize("args", [
    ("validate", "{tape}", "--cap", "-1"),
    ("validate", "{tape}", "--cap", "many"),
    ("batch", "{tape}", "--period", "2024H1", "--jobs", "0"),
    ("run", "{tape}", "--period", "2024H1", "--timeout", "-5"),
    ("synth", "--rows", "0"),
])
def test_bad_counts(args, tape, capsys):
    code, out = run(capsys, *(a.format(tape=tape) for a in args))
    assert code == 2 and ("must be at least" in out or "not a whole number" in out)


def test_metrics_out_is_a_folder(tape, tmp_path, capsys):
    (tmp_path / "out").mkdir()
    code, out = run(capsys, "metrics", "--tape", tape, "--bank", "T1", "--period", "2024H1", "--out", str(tmp_path / "out"))
    assert code == 2 and "--out" in out and "is a folder" in out
    assert not list(tmp_path.rglob("*.tmp"))


def test_metrics_out_under_a_file(tape, tmp_path, capsys):
    code, out = run(capsys, "metrics", "--tape", tape, "--bank", "T1", "--period", "2024H1", "--out", tape + "/m.json")
    assert code == 2 and "not a writable folder" in out
    assert not list(tmp_path.rglob("*.tmp"))


def test_synth_out_is_a_file(tape, capsys):
    code, out = run(capsys, "synth", "--bank", "RB01", "--out", tape)
    assert code == 2 and "is a file, not a folder" in out


@pytest.mark.parametrize("command", ["validate", "metrics"])
def test_tape_that_is_a_symlink_loop(tmp_path, capsys, command):
    (tmp_path / "loop.csv").symlink_to(tmp_path / "loop.csv")
    args = [str(tmp_path / "loop.csv")] if command == "validate" else \
        ["--tape", str(tmp_path / "loop.csv"), "--bank", "T1", "--period", "2024H1"]
    code, out = run(capsys, command, *args)
    assert code == 2 and "symbolic links" in out


def test_tape_that_is_a_device(capsys):
    code, out = run(capsys, "validate", "/dev/zero")
    assert code == 2 and "not a regular file" in out


@pytest.mark.parametrize("threads", ["two", "0", "-1"])
def test_a_bad_duckdb_thread_count_in_the_environment(threads, tape, capsys, monkeypatch):
    monkeypatch.setenv("PUCREDIT_DUCKDB_THREADS", threads)
    code, text = run(capsys, "validate", tape)
    assert code == 2 and "PUCREDIT_DUCKDB_THREADS" in text and "a whole number >= 1" in text


def test_spark_url_without_the_spark_engine(tape, capsys):
    code, text = run(capsys, "metrics", "--tape", tape, "--bank", "T1", "--period", "2024H1", "--spark", "sc://h:1")
    assert code == 2 and "--engine spark" in text
