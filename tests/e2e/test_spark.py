"""``pucredit metrics --engine spark`` (the engine's statements transpiled by SQLGlot, run by a local[2] Spark
session) writes the same metrics.json as DuckDB on a small synthetic tape, key by key: exact for the DECIMAL yuan
sums and counts, floats to 1e-9. ``make test-spark`` runs it (pucredit[spark] and Java 17)."""
from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys

import pytest

pytest.importorskip("pyspark", reason="pyspark is not installed: make test-spark installs pucredit[spark]")
pytestmark = [pytest.mark.spark, pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs Java 17")]

VOLATILE = {("provenance", "generated_at")}


def _differences(duck, spark, path=()):
    if path in VOLATILE:
        return []
    if isinstance(duck, dict) and isinstance(spark, dict):
        if duck.keys() != spark.keys():
            return [f"{'.'.join(path)}: keys {sorted(duck.keys() ^ spark.keys())}"]
        return [d for k in duck for d in _differences(duck[k], spark[k], path + (k,))]
    if isinstance(duck, list) and isinstance(spark, list) and len(duck) == len(spark):
        return [d for i, (a, b) in enumerate(zip(duck, spark)) for d in _differences(a, b, path + (str(i),))]
    exact = path and path[-1].endswith(("_cny", "_loans", "_borrowers", "borrowers_originated", "rows"))
    if (isinstance(duck, float) and isinstance(spark, (int, float)) and not exact
            and math.isclose(duck, spark, rel_tol=1e-9, abs_tol=1e-12)):
        return []
    return [] if duck == spark else [f"{'.'.join(path)}: duckdb {duck!r}, spark {spark!r}"]


def test_spark_metrics_equal_duckdb_metrics(tmp_path):
    env = {**os.environ, "PUCREDIT_PSEUDONYM_KEY": "spark-test"}
    run = lambda *args: subprocess.run([sys.executable, "-m", "pucredit", *args], env=env, check=True,  # noqa: E731
                                       capture_output=True, text=True, timeout=1800)
    run("synth", "--bank", "RB01", "--rows", "20000", "--out", str(tmp_path))
    tape = ["--tape", str(tmp_path / "rb01.parquet"), "--totals", str(tmp_path / "rb01_totals.csv"),
            "--bank", "RB01", "--period", "2025H1"]
    run("metrics", *tape, "--out", str(tmp_path / "duckdb.json"))
    run("metrics", *tape, "--out", str(tmp_path / "spark.json"), "--engine", "spark")
    duck, spark = (json.loads((tmp_path / f"{name}.json").read_text(encoding="utf-8")) for name in ("duckdb", "spark"))
    assert _differences(duck, spark) == []
