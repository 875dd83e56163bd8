"""Values from a user's file reach reports as text, never as markup (issue 13)."""
from __future__ import annotations

from pucredit.report.context import key_value_table
from pucredit.report.section import Table, escape_markdown

import pandas as pd

HOSTILE = ['<script>alert(1)</script>', '<img src=x onerror=alert(1)>', '[click](javascript:alert(1))', 'a | b']


def test_header_cells_are_escaped():
    text = key_value_table([("机构", name) for name in HOSTILE]).data
    assert "<script>" not in text and "<img" not in text and "](javascript:" not in text
    assert text.count("\n") == len(HOSTILE) + 1  # one row each: no "|" breaks the table


def test_tables_and_findings_are_escaped():
    frame = pd.DataFrame({"branch_id": HOSTILE})
    html = Table("caption <b>", frame).to_html()
    assert "<script>" not in html and "<img src=x" not in html and "&lt;script&gt;" in html
    assert all("<" not in escape_markdown(v) for v in HOSTILE)
    assert "](javascript:" not in escape_markdown(HOSTILE[2])  # the link's brackets are escaped
