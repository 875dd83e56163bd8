"""Cells of every CSV the package exports (docs/data-contract.md §17; the OWASP CSV-injection rule).

A text cell that would start with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is
prefixed with ``'``, so that a spreadsheet shows it as text instead of running it as a formula
(a loan_id of ``=HYPERLINK(...)`` in the audit sample). Numbers are left alone: numeric columns,
numbers in text columns, and text that is a plain number such as ``-5``, ``+0.50`` or ``-1,234.56``.
A carriage return inside a cell becomes a line feed: the writer quotes a cell holding a line feed
but not one holding only a carriage return, at which a spreadsheet would start a new row (and the
rest of the cell, ``=...``, would be a formula after all).
"""
from __future__ import annotations

import re

import pandas as pd

from pucredit.contract.schema import NUMBER_PATTERN

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(NUMBER_PATTERN + "%?")


def safe_cell(value):
    """Text with ``'`` before a formula start and line feeds for carriage returns; anything else unchanged."""
    if not isinstance(value, str):
        return value
    if value.startswith(FORMULA_START) and not _PLAIN_NUMBER.fullmatch(value):
        value = "'" + value
    return value.replace("\r\n", "\n").replace("\r", "\n")


def csv_text(frame: pd.DataFrame, index: bool = False) -> str:
    """``frame.to_csv(index=index)`` with every text cell, column label and index label made safe:
    the one way the package writes a CSV for people to open."""
    safe = frame.copy()
    for column in safe.columns:
        if not pd.api.types.is_numeric_dtype(safe[column]):
            safe[column] = safe[column].map(safe_cell)
    safe.columns = safe.columns.map(safe_cell)
    if index:
        safe.index = safe.index.map(safe_cell)
    return safe.to_csv(index=index)
