"""Tests for the person-level counts of fairness.counts.duck (issue 10's 50M target).

``_hash_persons`` counts the ``persons`` table (zero-harm streaks, re-listing), the test
cells and the duplicate keys by hash aggregates over each person's quarter masks, and
streams sorted by person only the people it cannot count from masks. Here: a small file
where every case occurs, its values worked out by hand (below, row by row), and the same
tables from the old sorted stream (``_stream_persons``), from masks split over several
words, and with every person streamed (the fallback for more quarters than the masks hold).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import good_row

from fairness.counts import duck
from fairness.definitions import BOROUGHS

pytestmark = pytest.mark.filterwarnings("ignore")

H, B = BOROUGHS.index("Hackney"), BOROUGHS.index("Brent")

# (person_id, snapshot_date, borough, harm_score, extra): the data rows in file order (row 0 first)
ROWS = [
    ("A1", "2018-03-31", "Hackney", 0, {}),  # 0  A1: harm 0 four quarters running: streaks 1, 2, 3, 4
    ("A1", "2018-06-30", "Hackney", 0, {}),  # 1
    ("A1", "2018-09-30", "Hackney", 0, {}),  # 2
    ("A1", "2018-12-31", "Hackney", 0, {}),  # 3
    ("B2", "2018-03-31", "Hackney", 0, {}),  # 4  B2: 0, 5, 0, absent in 2018Q4, 0 in 2019Q1: re-listed
    ("B2", "2018-06-30", "Hackney", 5, {}),  # 5
    ("B2", "2018-09-30", "Hackney", 0, {}),  # 6
    ("B2", "2019-03-31", "Hackney", 0, {}),  # 7
    ("C3", "2018-03-31", "Hackney", 0, {}),  # 8  C3: moves to Brent (streamed): streak 2 in Brent
    ("C3", "2018-06-30", "Brent", 0, {}),  # 9
    ("D4", "2018-06-30", "Hackney", 0, {}),  # 10 D4: two snapshots in 2018Q3 (streamed): the last counts
    ("D4", "2018-08-15", "Hackney", 5, {}),  # 11
    ("D4", "2018-09-30", "Hackney", 0, {}),  # 12
    ("E5", "2018-03-31", "Hackney", 5, {}),  # 13 E5: a duplicate pair in 2018Q4 (both quarantined)
    ("E5", "2018-12-31", "Hackney", 5, {}),  # 14
    ("E5", "2018-12-31", "Hackney", 5, {}),  # 15
    ("A0", "2018-06-30", "Hackney", 0, {}),  # 16 A0: only a duplicate pair: not counted, first in id order
    ("A0", "2018-06-30", "Hackney", 0, {}),  # 17
    ("G7", "2018-09-30", "Brent", 0, {}),  # 18 G7: 2018Q4's row shares its key with an invalid row
    ("G7", "2018-12-31", "Brent", 0, {}),  # 19
    ("G7", "2018-12-31", "Brent", 0, {"age": 5}),  # 20 (age out of range: rejected)
    ("TEST9", "2018-12-31", "Brent", 5, {}),  # 21 TEST9: matches the default test-id pattern
]

# Quarters present: 2018Q1 .. 2018Q4, 2019Q1 (codes 0 .. 4). People in person_id order, A0
# gone: A1 0, B2 1, C3 2, D4 3, E5 4, G7 5, TEST9 6 (``first``). One unit per person per quarter.
PERSONS = pd.DataFrame(
    [  # quarter, borough, harm_zero, streak, relisted, count, first
        (0, H, 0, 0, 0, 1, 4),  # E5
        (0, H, 1, 1, 0, 3, 0),  # A1, B2, C3
        (1, B, 1, 2, 0, 1, 2),  # C3 in Brent, second quarter with harm 0
        (1, H, 0, 0, 0, 1, 1),  # B2 (harm 5)
        (1, H, 1, 1, 0, 1, 3),  # D4
        (1, H, 1, 2, 0, 1, 0),  # A1
        (2, B, 1, 1, 0, 1, 5),  # G7
        (2, H, 1, 1, 0, 1, 1),  # B2 (after harm 5)
        (2, H, 1, 2, 0, 1, 3),  # D4 (its last snapshot of the quarter: harm 0)
        (2, H, 1, 3, 0, 1, 0),  # A1
        (3, B, 0, 0, 0, 1, 6),  # TEST9
        (3, H, 1, 4, 0, 1, 0),  # A1
        (4, H, 1, 1, 1, 1, 1),  # B2, back after 2018Q4
    ],
    columns=["quarter", "borough", "harm_zero", "streak", "relisted", "count", "first"],
).sort_values(["quarter", "borough", "harm_zero", "streak", "relisted"]).reset_index(drop=True)

# The rows left (not 14-17, 19, 20) by quarter, borough and test mask (bit 0: person_id's pattern):
# count and the first row's line in the file (row 0 is line 2, after the header).
TEST_CELLS = pd.DataFrame(
    [(0, H, 0, 4, 2),  # rows 0, 4, 8, 13
     (1, B, 0, 1, 11),  # row 9
     (1, H, 0, 3, 3),  # rows 1, 5, 10
     (2, B, 0, 1, 20),  # row 18
     (2, H, 0, 4, 4),  # rows 2, 6, 11, 12
     (3, B, 1, 1, 23),  # row 21, TEST9
     (3, H, 0, 1, 5),  # row 3
     (4, H, 0, 1, 9)],  # row 7
    columns=["quarter", "borough", "test_mask", "count", "first"],
).sort_values(["quarter", "borough", "test_mask"]).reset_index(drop=True)


@pytest.fixture
def matrix(write_csv):
    return write_csv([good_row(pid, snapshot_date=snap, borough=borough, harm_score=harm, last_reviewed="2018-01-15",
                               **extra)
                      for pid, snap, borough, harm, extra in ROWS])


def _counted(path, monkeypatch, *, compare: bool = True):
    """persons, test cells and duplicate keys of ``path`` as the audit counts them (and, with
    ``compare``, the same from the sorted stream on the same rows)."""
    seen = {}
    hashed = duck._hash_persons

    def capture(session, numbers, layout, searches, config, *, find_duplicates):
        seen["hash"] = hashed(session, numbers, layout, searches, config, find_duplicates=find_duplicates)
        if compare:
            seen["stream"] = duck._stream_persons(session, numbers, layout, searches, config,
                                                  find_duplicates=find_duplicates)
        return seen["hash"]

    monkeypatch.setattr(duck, "_hash_persons", capture)
    with duck.count_and_validate_parquet(path, quarter=None) as (cube, facts, validation):
        seen["quarantined"] = facts["quarantined"]
    return seen


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a.reset_index(drop=True).astype("int64"), b.reset_index(drop=True).astype("int64"))


def _keys(frame: pd.DataFrame) -> list[tuple[str, str]]:
    return sorted((str(p), str(s)) for p, s in zip(frame["pid"], frame["snap"], strict=True))


def test_persons_test_cells_and_duplicates_by_hand(matrix, monkeypatch):
    seen = _counted(matrix, monkeypatch)
    persons, tests, duplicates = seen["hash"]
    _same(persons, PERSONS)
    _same(tests, TEST_CELLS)
    assert _keys(duplicates) == [("A0", "2018-06-30"), ("E5", "2018-12-31"), ("G7", "2018-12-31")]
    assert seen["quarantined"] == 6  # rows 14, 15, 16, 17 (duplicates), 19 (shares a key with 20) and 20


def test_hash_equals_the_sorted_stream(matrix, monkeypatch):
    seen = _counted(matrix, monkeypatch)
    for new, old in zip(seen["hash"][:2], seen["stream"][:2], strict=True):
        _same(new, old)
    assert _keys(seen["hash"][2]) == _keys(seen["stream"][2])


def test_masks_over_several_words(matrix, monkeypatch):
    """Two quarters a word: five quarters take three words of each mask."""
    monkeypatch.setattr(duck, "_MASK_BITS", 2)
    persons, tests, duplicates = _counted(matrix, monkeypatch, compare=False)["hash"]
    _same(persons, PERSONS)
    _same(tests, TEST_CELLS)


def test_more_quarters_than_the_masks_hold_are_streamed(matrix, monkeypatch):
    """The fallback: with masks too small for the quarters, every person is streamed sorted."""
    monkeypatch.setattr(duck, "_MASK_BITS", 1)
    monkeypatch.setattr(duck, "MASK_WORDS", 4)  # 5 quarters need 5 words
    calls = []
    stream = duck._stream_persons

    def counted_stream(*args, **kwargs):
        calls.append(kwargs.get("ranked"))
        return stream(*args, **kwargs)

    monkeypatch.setattr(duck, "_stream_persons", counted_stream)
    persons, tests, duplicates = _counted(matrix, monkeypatch, compare=False)["hash"]
    assert calls == [None]  # one stream of every person, none from the masks
    _same(persons, PERSONS)
    _same(tests, TEST_CELLS)
    assert _keys(duplicates) == [("A0", "2018-06-30"), ("E5", "2018-12-31"), ("G7", "2018-12-31")]


def test_mask_counts_by_hand():
    """Three people by their masks alone: listed in quarters 0, 1, 3 with harm 0 in 0 and 1;
    in 2 only with harm 0; in 0 and 2 with harm 0 in 2 (re-listed)."""
    people = {"l0": np.array([0b1011, 0b100, 0b101]), "z0": np.array([0b0011, 0b100, 0b100]),
              "b": np.array([H, B, H]), "count": np.array([1, 1, 1]), "first": np.array([0, 1, 2])}
    table = duck._mask_counts(people, 4)
    expected = pd.DataFrame([(0, H, 0, 0, 0, 1, 2), (0, H, 1, 1, 0, 1, 0), (1, H, 1, 2, 0, 1, 0),
                             (2, B, 1, 1, 0, 1, 1), (2, H, 1, 1, 1, 1, 2), (3, H, 0, 0, 1, 1, 0)],
                            columns=table.columns)
    _same(table, expected.sort_values(list(table.columns[:5])))


def test_a_key_shared_by_two_rejected_rows_only(write_csv, monkeypatch):
    """Two rejected rows with one key, and no person to stream: the key is still a duplicate
    (as validate_parquet finds it), on both paths."""
    rows = [good_row("A1", snapshot_date=d, last_reviewed="2018-01-15") for d in ("2018-03-31", "2018-06-30")]
    rows += [good_row("Z9", snapshot_date="2018-06-30", last_reviewed="2018-01-15", age=5)] * 2
    seen = _counted(write_csv(rows), monkeypatch)
    assert _keys(seen["hash"][2]) == _keys(seen["stream"][2]) == [("Z9", "2018-06-30")]
    _same(seen["hash"][0], seen["stream"][0])
    _same(seen["hash"][1], seen["stream"][1])
