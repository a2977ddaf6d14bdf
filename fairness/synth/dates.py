"""Calendar arithmetic on day numbers (days since 1970-01-01), vectorised.

Ages are in completed years by the calendar (someone born on 29 February
turns a year older on 1 March in other years; the generator never makes such
birth dates), so they match what anyone computing ``age`` from a birth date
would get.
"""

from __future__ import annotations

import numpy as np


def ymd(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month and day of each day number.

    >>> [a.tolist() for a in ymd(np.array([0, 17896]))]
    [[1970, 2018], [1, 12], [1, 31]]
    """
    d = np.asarray(days, dtype=np.int64).astype("datetime64[D]")
    months = d.astype("datetime64[M]")
    year = d.astype("datetime64[Y]").astype(np.int64) + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (d - months.astype("datetime64[D]")).astype(np.int64) + 1
    return year, month, day


def from_ymd(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Day numbers of calendar dates (``day`` must exist in its month)."""
    years = (np.asarray(year, dtype=np.int64) - 1970).astype("datetime64[Y]")
    months = years.astype("datetime64[M]") + (np.asarray(month, dtype=np.int64) - 1)
    return (months.astype("datetime64[D]") + (np.asarray(day, dtype=np.int64) - 1)).astype(np.int64)


def age_on(birth: np.ndarray, on: np.ndarray | int) -> np.ndarray:
    """Age in completed years on day ``on`` of people born on ``birth``.

    >>> age_on(np.array([from_ymd(2000, 12, 31)]), from_ymd(2018, 12, 30)).tolist()
    [17]
    """
    by, bm, bd = ymd(birth)
    oy, om, od = ymd(np.broadcast_to(on, np.shape(birth)))
    before_birthday = (om * 100 + od) < (bm * 100 + bd)
    return oy - by - before_birthday.astype(np.int64)


def years_before(days: np.ndarray, years: np.ndarray) -> np.ndarray:
    """The same calendar date ``years`` earlier (29 February becomes 28 February)."""
    y, m, d = ymd(days)
    d = np.where((m == 2) & (d == 29), 28, d)
    return from_ymd(y - years, m, d)


def years_after(days: np.ndarray, years: np.ndarray | int) -> np.ndarray:
    """The same calendar date ``years`` later (29 February becomes 28 February)."""
    return years_before(days, -np.asarray(years))


def birth_for_age(rng: np.random.Generator, ages: np.ndarray, on: int) -> np.ndarray:
    """Birth dates giving exactly ``ages`` on day ``on``, the last birthday 1-364 days before it."""
    last_birthday = on - rng.integers(1, 365, size=len(ages))
    return years_before(last_birthday, np.asarray(ages, dtype=np.int64))


def uniform_days(rng: np.random.Generator, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """A uniform random day in ``[low, high]`` for each pair (``high >= low``)."""
    low = np.asarray(low, dtype=np.int64)
    span = np.maximum(np.asarray(high, dtype=np.int64) - low, 0) + 1
    return low + np.floor(rng.random(len(low)) * span).astype(np.int64)
