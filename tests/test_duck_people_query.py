"""The people's query of fairness.counts.duck (issue 10's 50M target): person_id's test pattern
decided once a person, by RE2 in DuckDB where it decides as Python's ``re`` does, and in Python
for the rest (an id that is not printable ASCII, a pattern RE2 may read otherwise).

Each file is small, its test cells worked out by hand below, and the same tables are
counted by the sorted stream (``_stream_persons``), which decides every id in Python.
"""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import good_row

from fairness.checks import ChecksConfig
from fairness.counts import duck
from fairness.definitions import BOROUGHS

pytestmark = pytest.mark.filterwarnings("ignore")

H = BOROUGHS.index("Hackney")


def _counted(path, monkeypatch, config=None):
    """persons and test cells of ``path`` as the audit counts them, and from the sorted stream."""
    seen = {}
    hashed = duck._hash_persons

    def capture(session, numbers, layout, searches, cfg, *, find_duplicates):
        seen["hash"] = hashed(session, numbers, layout, searches, cfg, find_duplicates=find_duplicates)
        seen["stream"] = duck._stream_persons(session, numbers, layout, searches, cfg,
                                              find_duplicates=find_duplicates)
        return seen["hash"]

    monkeypatch.setattr(duck, "_hash_persons", capture)
    with duck.count_and_validate_parquet(path, quarter=None, checks_config=config):
        pass
    return seen


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a.reset_index(drop=True).astype("int64"), b.reset_index(drop=True).astype("int64"))


def _cells(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["quarter", "borough", "test_mask", "count", "first"])


def _matrix(write_csv, ids_and_dates):
    return write_csv([good_row(pid, snapshot_date=snap, last_reviewed="2018-01-15") for pid, snap in ids_and_dates])


def test_an_id_that_is_not_ascii_is_decided_in_python(write_csv, monkeypatch):
    # "aÜtest" ends in "test" (the default pattern's "(test|dummy)$"): DuckDB leaves it undecided
    # (not printable ASCII), Python's re matches it; "aÜx" matches nothing. Lines 2, 3, 4.
    path = _matrix(write_csv, [("A1", "2018-03-31"), ("aÜtest", "2018-03-31"), ("aÜx", "2018-06-30")])
    seen = _counted(path, monkeypatch)
    expected = _cells([(0, H, 0, 1, 2),  # A1
                       (0, H, 1, 1, 3),  # aÜtest: person_id's bit (bit 0)
                       (1, H, 0, 1, 4)])  # aÜx
    _same(seen["hash"][1], expected)
    _same(seen["stream"][1], expected)
    _same(seen["hash"][0], seen["stream"][0])


def test_a_pattern_re2_may_read_otherwise_is_decided_in_python(write_csv, monkeypatch):
    # "\d" is not a plain pattern (RE2 and re differ on some classes): every id is matched in
    # Python. "T1" and "T22" match "^T\d", "TX" does not. Lines 2, 3, 4, 5.
    path = _matrix(write_csv, [("T1", "2018-03-31"), ("TX", "2018-03-31"), ("T22", "2018-06-30"),
                               ("TX", "2018-06-30")])
    seen = _counted(path, monkeypatch, ChecksConfig(test_id_pattern=r"^T\d"))
    expected = _cells([(0, H, 0, 1, 3),  # TX
                       (0, H, 1, 1, 2),  # T1
                       (1, H, 0, 1, 5),  # TX
                       (1, H, 1, 1, 4)])  # T22
    _same(seen["hash"][1], expected)
    _same(seen["stream"][1], expected)
    _same(seen["hash"][0], seen["stream"][0])
