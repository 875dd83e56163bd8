"""Every key of metrics.json for the three demo banks and two periods against committed expected files.

The expected files change only on purpose (a definition fixed, a key added): regenerate them with
``python tools/golden_metrics.py`` and say in the commit message which numbers moved and why.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from tools.golden_metrics import CASES, GOLDEN_DIR, compute_case

RELATIVE = 1e-9
VOLATILE = {("provenance", "generated_at"), ("provenance", "pucredit_version")}


def _compare(expected, actual, path=()):
    if path in VOLATILE:
        return []
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{'.'.join(path)}: expected a mapping, got {actual!r}"]
        problems = [f"{'.'.join(path + (k,))}: missing" for k in expected if k not in actual]
        problems += [f"{'.'.join(path + (k,))}: not in the expected file" for k in actual if k not in expected]
        for key in expected.keys() & actual.keys():
            problems += _compare(expected[key], actual[key], path + (key,))
        return problems
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        return [p for i, (e, a) in enumerate(zip(expected, actual)) for p in _compare(e, a, path + (str(i),))]
    if isinstance(expected, float) and isinstance(actual, (int, float)) and not isinstance(actual, bool):
        if math.isclose(expected, actual, rel_tol=RELATIVE, abs_tol=1e-12):
            return []
    elif expected == actual and type(expected) is type(actual):
        return []
    return [f"{'.'.join(path)}: expected {expected!r}, got {actual!r}"]


@pytest.mark.parametrize("bank_id,period", CASES, ids=[f"{b}-{p}" for b, p in CASES])
def test_metrics_match_the_golden_file(bank_id, period, demo_tapes):
    expected = json.loads((GOLDEN_DIR / f"{bank_id}_{period}.json").read_text(encoding="utf-8"))
    actual = json.loads(compute_case(demo_tapes, bank_id, period))
    assert _compare(expected, actual) == []
