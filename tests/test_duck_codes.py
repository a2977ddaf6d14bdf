"""Codes the DuckDB engine counts by (fairness.counts.duck, issue 10's 50M target).

Categories are grouped by their code (a cast to an ENUM of the categories, in SQL): the
same index into the category list that :func:`fairness.counts.cube.frame_codes` gives, and
-1 for anything else. Quarters are numbered by subtraction when none is missing, by a
search of the present quarters otherwise: a file with a gap gives the same tables either
way.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest
from conftest import good_row

from fairness.counts import duck
from fairness.definitions import BOROUGHS

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.mark.parametrize(("column", "value", "code"), [
    ("borough", "Barking and Dagenham", 0),  # first of the 32 (definitions.BOROUGHS, ONS order)
    ("borough", "Westminster", 31),  # last
    ("borough", "Hackney", BOROUGHS.index("Hackney")),
    ("borough", "hackney", -1),  # exact spelling only: the others are validation's to judge
    ("borough", " Hackney", -1),
    ("borough", "City of London", -1),  # not a Metropolitan Police borough
    ("borough", None, -1),
    ("ethnicity", "Not stated", 5),  # White, Black, Asian, Mixed, Other, Not stated
    ("sex", "Female", 1),  # Male, Female, Not stated
    ("risk_band", "Green", 2),  # Red, Amber, Green
    ("risk_band", "", -1),
])
def test_category_code(column, value, code):
    con = duckdb.connect()
    found = con.execute(f"SELECT {duck._category_code(column)} FROM (SELECT CAST(? AS VARCHAR) AS {column})",
                        [value]).fetchall()
    assert found == [(code,)]


# 2018Q1 and 2018Q3 present, 2018Q2 not: quarter codes 0 and 1 (a search, not a subtraction)
ROWS = [
    ("P1", "2018-03-31", "Hackney", 0),  # line 2
    ("P1", "2018-09-30", "Hackney", 0),  # line 3
    ("P2", "2018-09-30", "Brent", 5),  # line 4
    ("TEST3", "2018-03-31", "Brent", 0),  # line 5: the default test-id pattern
]


def test_a_missing_quarter(write_csv, monkeypatch):
    path = write_csv([good_row(pid, snapshot_date=snap, borough=borough, harm_score=harm,
                               last_reviewed="2018-01-15") for pid, snap, borough, harm in ROWS])
    seen = {}
    hashed = duck._hash_persons

    def capture(session, numbers, layout, searches, config, *, find_duplicates):
        seen["numbers"] = list(numbers)
        seen["hash"] = hashed(session, numbers, layout, searches, config, find_duplicates=find_duplicates)
        seen["stream"] = duck._stream_persons(session, numbers, layout, searches, config,
                                              find_duplicates=find_duplicates)
        return seen["hash"]

    monkeypatch.setattr(duck, "_hash_persons", capture)
    with duck.count_and_validate_parquet(path, quarter=None):
        pass
    assert np.diff(seen["numbers"]).tolist() == [2]  # 2018Q1, 2018Q3
    h, b = BOROUGHS.index("Hackney"), BOROUGHS.index("Brent")
    tests = seen["hash"][1].astype("int64").reset_index(drop=True)
    expected = pd.DataFrame([(0, b, 1, 1, 5),  # TEST3 (bit 0: person_id's pattern)
                             (0, h, 0, 1, 2),  # P1
                             (1, b, 0, 1, 4),  # P2
                             (1, h, 0, 1, 3)],  # P1
                            columns=["quarter", "borough", "test_mask", "count", "first"])
    pd.testing.assert_frame_equal(tests, expected)
    for new, old in zip(seen["hash"][:2], seen["stream"][:2], strict=True):
        pd.testing.assert_frame_equal(new.reset_index(drop=True).astype("int64"),
                                      old.reset_index(drop=True).astype("int64"))
