"""What a caller asked for: options matched like data values, and one snapshot at a time.

Two guards every public row-level function shares, so that none of them gives
a wrong answer without a word:

* :func:`match_option` — an option value (``reference="white"``,
  ``threshold="Red_Amber"``, ``method="Katz"``) is matched to its canonical
  spelling the way the validator matches data values: case-insensitively,
  surrounding spaces ignored, never by prefix. Anything else raises a
  ``ValueError`` that lists the valid values.
* :func:`one_snapshot` — a matrix holds one row per person *per snapshot*;
  pooling several snapshots counts a person once per quarter (63,561
  person-quarters instead of 3,881 people), which makes every interval too
  narrow. A function given several snapshots takes ``quarter=`` or raises an
  error naming the quarters found.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from fairness.quarters import in_quarter, normalise_quarter, quarter_codes

__all__ = ["ERR_OPTION", "ERR_SNAPSHOTS", "ERR_QUARTER_ABSENT", "match_option", "one_snapshot", "choose_quarter"]

#: Raised for an option value that matches none of the valid ones.
ERR_OPTION = "{name}={value!r} is not valid; valid: {valid}"
#: Raised when a row-level function is given several snapshots and no ``quarter=``.
ERR_SNAPSHOTS = (
    "{function}: the matrix holds {k} snapshots ({found}); pooling them would count a person once "
    "per quarter and make every interval too narrow. Pass quarter= one of them (e.g. quarter={last!r})"
)
#: Raised when ``quarter=`` names a quarter the matrix does not hold.
ERR_QUARTER_ABSENT = "{function}: quarter {quarter} is not in the matrix; quarters found: {found}"
#: Raised when ``quarter=`` is given but the matrix has no dates.
ERR_NO_DATES = "{function}: quarter={quarter!r} needs a snapshot_date column, which the matrix lacks"


def _key(value: str) -> str:
    return value.strip().casefold()


def match_option(value: object, valid: Iterable[str], *, name: str) -> str:
    """The canonical spelling in ``valid`` of ``value``, matched as data values are.

    >>> match_option(" white", ["White", "Black"], name="reference")
    'White'
    >>> match_option("Wh", ["White", "Black"], name="reference")
    Traceback (most recent call last):
    ...
    ValueError: reference='Wh' is not valid; valid: White, Black
    """
    valid = [str(v) for v in valid]
    if isinstance(value, str):
        key = _key(value)
        for v in valid:
            if _key(v) == key:
                return v
    raise ValueError(ERR_OPTION.format(name=name, value=value, valid=", ".join(valid)))


def one_snapshot(matrix: pd.DataFrame, quarter: str | None, *, function: str) -> pd.DataFrame:
    """The rows of one snapshot: those of ``quarter``, or all rows when they are one snapshot.

    A frame without ``snapshot_date`` is taken as one snapshot (the caller
    built it so). Several snapshots and no ``quarter`` raise
    :data:`ERR_SNAPSHOTS`, naming the quarters found.
    """
    if "snapshot_date" not in matrix.columns:
        if quarter is not None:
            raise ValueError(ERR_NO_DATES.format(function=function, quarter=quarter))
        return matrix
    if quarter is not None:
        keep = in_quarter(matrix["snapshot_date"], quarter)
        if keep is not None and keep.any():  # the quarter's rows, found without labelling every date
            return matrix if bool(keep.all()) else matrix.loc[keep]
    codes, labels = quarter_codes(matrix["snapshot_date"])
    q = choose_quarter(labels, quarter, function=function)
    if quarter is None:
        return matrix
    keep = codes == labels.index(q)
    return matrix if bool(np.all(keep)) else matrix.loc[keep]


def choose_quarter(found: Sequence[str], quarter: str | None, *, function: str) -> str:
    """The quarter to count of the chronological quarters ``found``: ``quarter`` (normalised), or, given
    None, the only one ("" when there is none). Several quarters and no ``quarter`` raise
    :data:`ERR_SNAPSHOTS`; a quarter not found raises :data:`ERR_QUARTER_ABSENT`, each naming those found.

    >>> choose_quarter(("2018Q3", "2018Q4"), "2018-q4", function="f"), choose_quarter((), None, function="f")
    ('2018Q4', '')
    """
    if quarter is None:
        if len(found) <= 1:
            return found[0] if found else ""
        raise ValueError(ERR_SNAPSHOTS.format(function=function, k=len(found), found=", ".join(found),
                                              last=found[-1]))
    q = normalise_quarter(quarter)
    if q not in found:
        raise ValueError(ERR_QUARTER_ABSENT.format(function=function, quarter=q, found=", ".join(found) or "none"))
    return q
