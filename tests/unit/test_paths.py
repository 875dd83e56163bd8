"""Where pucredit reads its shipped files and the user's own (config.paths), and the --scheduler values it
takes (pipeline.cluster)."""
from __future__ import annotations

import argparse

import pytest

from pucredit.config import paths
from pucredit.config.policy import available_policies, policy_path
from pucredit.pipeline.cluster import check_scheduler
from pucredit.report.context import bank_file_path


def test_a_user_parameters_folder_overrides_and_extends_the_shipped_one(tmp_path, monkeypatch):
    (tmp_path / "policy").mkdir()
    (tmp_path / "policy" / "2031.yaml").write_text("year: 2031\n", encoding="utf-8")
    (tmp_path / "banks").mkdir()
    (tmp_path / "banks" / "CB01.yaml").write_text('bank_id: "CB01"\n', encoding="utf-8")
    monkeypatch.setenv(paths.PARAMETERS_ENV, str(tmp_path))
    assert policy_path("2031") == tmp_path / "policy" / "2031.yaml"  # added
    assert policy_path("2024") == paths.POLICY_DIR / "2024.yaml"  # shipped, not overridden
    assert {"2024", "2031"} <= set(available_policies())
    assert bank_file_path("CB01") == tmp_path / "banks" / "CB01.yaml"  # overridden
    assert bank_file_path("LB01") == paths.BANKS_DIR / "LB01.yaml"


def test_a_parameters_folder_in_the_current_directory_is_the_users(tmp_path, monkeypatch):
    monkeypatch.delenv(paths.PARAMETERS_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    assert paths.user_parameters_dir() is None
    (tmp_path / "parameters").mkdir()
    assert paths.user_parameters_dir() == tmp_path / "parameters"
    assert paths.REPORTS_DIR.resolve() == tmp_path / "reports"  # the default report root: here


def test_a_checkout_reads_its_top_level_folders():
    assert not paths.INSTALLED
    assert (paths.NOTEBOOKS_DIR / "01_volume.py").is_file() and (paths.REFERENCE_DIR / "lpr.csv").is_file()


@pytest.mark.parametrize("text", ["tcp://scheduler.example:8786", "tls://sched:8786", "local:1", "local:4"])
def test_scheduler_values_taken(text):
    assert check_scheduler(text) == text


@pytest.mark.parametrize("text", ["local:0", "local:", "localhost", "missing.json"])
def test_scheduler_values_refused(text):
    with pytest.raises(argparse.ArgumentTypeError):
        check_scheduler(text)


def test_a_scheduler_file_is_taken(tmp_path):
    (tmp_path / "dask.json").write_text("{}", encoding="utf-8")
    assert check_scheduler(str(tmp_path / "dask.json")) == str(tmp_path / "dask.json")


def test_an_installed_demo_keeps_its_bank_files_and_tapes_under_the_report_root(tmp_path, monkeypatch):
    import yaml

    from pucredit.pipeline import demo

    monkeypatch.setattr(demo, "INSTALLED", True)
    banks, data = demo.demo_places(tmp_path)
    assert (banks, data) == (tmp_path / "_demo" / "parameters" / "banks", tmp_path / "_demo" / "data" / "demo")
    assert sorted(p.name for p in banks.iterdir()) == ["CB01.yaml", "LB01.yaml", "RB01.yaml"]
    tape = yaml.safe_load((banks / "CB01.yaml").read_text(encoding="utf-8"))["tape"]
    assert (banks / tape).resolve() == data / "cb01.parquet"  # where build_demo writes the tape
