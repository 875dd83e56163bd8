"""Month arithmetic of the simulation: months as integers since 1970-01, days as integers since 1970-01-01."""
from __future__ import annotations

import numpy as np


def month_index(text: str) -> int:
    """'2019-09' -> months since 1970-01."""
    return int(np.datetime64(text, "M").astype(np.int64))


def month_text(m: int) -> str:
    return str(np.datetime64(int(m), "M"))


def first_day(months) -> np.ndarray:
    """Days since 1970-01-01 of the first day of each month index."""
    return np.asarray(months, dtype=np.int64).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)


def month_end(months) -> np.ndarray:
    return first_day(np.asarray(months) + 1) - 1


def days_in(months) -> np.ndarray:
    return first_day(np.asarray(months) + 1) - first_day(months)


def add_months(days: np.ndarray, months_of_days: np.ndarray, n: np.ndarray) -> np.ndarray:
    """The same day of the month n months later, clipped to the month's last day."""
    target = months_of_days + n
    dom = days - first_day(months_of_days)
    return first_day(target) + np.minimum(dom, days_in(target) - 1)


def as_dates(days: np.ndarray) -> np.ndarray:
    return np.asarray(days, dtype=np.int64).astype("datetime64[D]")
