"""Validation: every rule accepts what it should and rejects what it should,
with a message naming line, column and what would be valid; counts add up."""

from __future__ import annotations

import io
import os
import stat

import numpy as np
import pandas as pd
import pytest

from fairness.io.validation import MatrixFileError, read_matrix, validate_frame
from tests.conftest import good_row


def test_good_file_is_all_valid(write_csv):
    path = write_csv([good_row(f"P{i}") for i in range(3)])
    res = read_matrix(path)
    assert (res.n_rows, res.n_valid, res.n_quarantined) == (3, 3, 0)
    assert res.exit_code == 0
    v = res.valid
    assert str(v["borough"].dtype) == "category"
    assert v["age"].dtype == "int64"
    assert v["harm_score"].dtype == "float64"
    assert str(v["victim_flag"].dtype) == "boolean"
    assert v["outcome_violence_12m"].isna().all()  # empty = not yet known
    assert len(res.sha256) == 64


def test_category_values_case_insensitive_and_trimmed(write_csv):
    path = write_csv([good_row(borough="  hackNEY ", ethnicity="BLACK", sex="male", risk_band=" red")])
    res = read_matrix(path)
    assert res.n_valid == 1
    r = res.valid.iloc[0]
    assert (r.borough, r.ethnicity, r.sex, r.risk_band) == ("Hackney", "Black", "Male", "Red")


@pytest.mark.parametrize("text,expected", [("yes", True), ("NO", False), ("1", True), ("0", False), ("True", True), ("false", False)])
def test_boolean_spellings(write_csv, text, expected):
    res = read_matrix(write_csv([good_row(victim_flag=text)]))
    assert res.valid["victim_flag"].iloc[0] == expected


BAD_CASES = [
    # (override, column, rule, text expected in the message)
    ({"borough": "Hackny"}, "borough", "invalid_category", "did you mean 'Hackney'"),
    ({"borough": "City of London"}, "borough", "invalid_category", "own police force"),
    ({"ethnicity": "Blue"}, "ethnicity", "invalid_category", "White, Black, Asian, Mixed, Other, Not stated"),
    ({"sex": "X"}, "sex", "invalid_category", "Male, Female, Not stated"),
    ({"risk_band": "Purple"}, "risk_band", "invalid_category", "Red, Amber, Green"),
    ({"age": "9"}, "age", "out_of_range", "10–99"),
    ({"age": "100"}, "age", "out_of_range", "10–99"),
    ({"age": "17.5"}, "age", "not_an_integer", "whole number"),
    ({"age": "abc"}, "age", "not_an_integer", "whole number"),
    ({"harm_score": "-1"}, "harm_score", "out_of_range", "≥ 0"),
    ({"harm_score": "inf"}, "harm_score", "not_a_number", "finite"),
    ({"harm_score": "high"}, "harm_score", "not_a_number", "finite"),
    ({"violent_offences_2y": "-2"}, "violent_offences_2y", "out_of_range", "≥ 0"),
    ({"victim_flag": "maybe"}, "victim_flag", "bad_boolean", "true/false"),
    ({"outcome_violence_12m": "unknown"}, "outcome_violence_12m", "bad_boolean", "true/false"),
    ({"snapshot_date": "31/12/2018"}, "snapshot_date", "bad_date", "YYYY-MM-DD"),
    ({"snapshot_date": "2018-02-30"}, "snapshot_date", "bad_date", "YYYY-MM-DD"),
    ({"snapshot_date": ""}, "snapshot_date", "missing_value", "required"),
    ({"person_id": ""}, "person_id", "missing_value", "required"),
    ({"person_id": "x" * 201}, "person_id", "bad_text", "200 characters"),
    ({"date_added": "2019-01-01"}, "date_added", "date_order", "on or before"),
    ({"last_reviewed": "2016-01-01"}, "last_reviewed", "date_order", "between"),
    ({"last_reviewed": "2019-02-01"}, "last_reviewed", "date_order", "between"),
]


@pytest.mark.parametrize("override,column,rule,text", BAD_CASES)
def test_each_rejection_rule(write_csv, override, column, rule, text):
    rows = [good_row("OK1"), good_row("BAD", **override), good_row("OK2")]
    res = read_matrix(write_csv(rows))
    assert (res.n_rows, res.n_valid, res.n_quarantined) == (3, 2, 1)
    assert res.exit_code == 1
    p = res.problems
    assert len(p) >= 1
    hit = p[(p["column"] == column) & (p["rule"] == rule)]
    assert len(hit) == 1, p.to_string()
    assert hit["line"].item() == 3  # header is line 1, the bad row is the second data row
    assert text in hit["message"].item()
    q = res.quarantined
    assert q["line"].tolist() == [3]
    assert rule in q["rules"].item()
    # the quarantined row is kept as written in the file
    if column in q.columns and override[column] != "":
        assert q[column].item() == override[column]


def test_problem_line_names_file_line_column_and_value(write_csv):
    path = write_csv([good_row("A"), good_row("B", borough="Hackny")])
    res = read_matrix(path)
    (line,) = res.problem_lines()
    assert line.startswith(f"{path}:line 3: column borough: 'Hackny'")


def test_duplicate_person_in_snapshot_quarantines_every_copy(write_csv):
    rows = [good_row("P1"), good_row("P1", borough="Camden"), good_row("P2"),
            good_row("P1", snapshot_date="2019-03-31", last_reviewed="2019-03-01")]
    res = read_matrix(write_csv(rows))
    assert res.n_valid == 2  # P2, and P1 in the next snapshot
    assert sorted(res.quarantined["line"]) == [2, 3]
    assert set(res.quarantined["rules"]) == {"duplicate_person_id"}


def test_counts_always_add_up_and_every_row_accounted(write_csv):
    rows = [good_row(f"P{i}", **({"age": "5"} if i % 3 == 0 else {})) for i in range(30)]
    res = read_matrix(write_csv(rows))
    assert res.n_rows == 30 == res.n_valid + res.n_quarantined
    assert res.n_quarantined == 10
    assert set(res.valid["person_id"]) | set(res.quarantined["person_id"]) == {f"P{i}" for i in range(30)}


def test_optional_columns_may_be_absent(write_csv):
    from fairness.definitions import REQUIRED_COLUMNS

    row = {k: v for k, v in good_row().items() if k in REQUIRED_COLUMNS}
    res = read_matrix(write_csv([row]))
    assert res.n_valid == 1
    assert "victim_flag" not in res.valid.columns


def test_unknown_columns_kept_and_reported(write_csv):
    row = good_row() | {"officer_note": "x"}
    res = read_matrix(write_csv([row]))
    assert res.unknown_columns == ("officer_note",)
    assert res.valid["officer_note"].tolist() == ["x"]
    assert res.n_valid == 1


def test_header_matched_case_insensitively(write_csv):
    row = {k.upper(): v for k, v in good_row().items()}
    res = read_matrix(write_csv([row]))
    assert res.n_valid == 1


def test_missing_required_column_is_unusable_and_lists_columns(write_csv):
    row = {k: v for k, v in good_row().items() if k != "borough"}
    with pytest.raises(MatrixFileError) as e:
        read_matrix(write_csv([row]))
    msg = str(e.value)
    assert "borough" in msg and "Columns found: person_id, snapshot_date, ethnicity" in msg


def test_empty_file_and_header_only(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(MatrixFileError, match="empty"):
        read_matrix(empty)
    header = tmp_path / "header.csv"
    header.write_text(",".join(good_row().keys()) + "\n")
    with pytest.raises(MatrixFileError, match="no data rows"):
        read_matrix(header)


def test_utf8_bom_is_read(tmp_path):
    row = good_row()
    text = ",".join(row) + "\n" + ",".join(row.values()) + "\n"
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert read_matrix(path).n_valid == 1


def test_parquet_is_read_with_row_numbers(tmp_path, good_frame):
    typed = good_frame.copy()
    typed["age"] = [17, 18, 9, 20, 21]  # row 3 invalid
    typed["snapshot_date"] = pd.to_datetime(typed["snapshot_date"])
    typed["harm_score"] = 0.0
    path = tmp_path / "m.parquet"
    typed.to_parquet(path)
    res = read_matrix(path)
    assert (res.n_valid, res.n_quarantined) == (4, 1)
    assert res.line_label == "row"
    assert res.problems["line"].tolist() == [3]


def test_validate_frame_from_python(good_frame):
    res = validate_frame(good_frame)
    assert res.n_valid == 5


def test_truncated_last_line_is_quarantined(tmp_path):
    row = good_row()
    text = ",".join(row) + "\n" + ",".join(row.values()) + "\n" + "P9,2018-12-31,Hackney,Black"
    path = tmp_path / "trunc.csv"
    path.write_text(text)
    res = read_matrix(path)
    assert (res.n_valid, res.n_quarantined) == (1, 1)
    assert "wrong_field_count" in res.quarantined["rules"].item()


def test_quarantine_written_owner_only_and_never_under_reports(tmp_path, write_csv):
    res = read_matrix(write_csv([good_row("A"), good_row("B", age="5")]))
    out = res.write_quarantine(tmp_path / "q.csv")
    mode = stat.S_IMODE(os.stat(out).st_mode)
    assert mode == 0o600
    from fairness.io.safe_write import RowLevelOutputError

    with pytest.raises(RowLevelOutputError):
        res.write_quarantine(tmp_path / "reports" / "q.csv")


def test_quarantine_reasons_table_has_no_values(write_csv):
    res = read_matrix(write_csv([good_row("A", borough="Nowhere"), good_row("B", age="5")]))
    t = res.quarantine_reasons()
    assert list(t.columns) == ["rule", "column", "rows"]
    assert int(t["rows"].sum()) == 2


# --------------------------------------------------------------------------
# The fast paths give what the straightforward ones gave
# --------------------------------------------------------------------------


def test_schema_failures_are_panderas():
    """The schema's checks applied directly (column checks once per distinct value) find
    exactly the failures ``MatrixSchema.validate(lazy=True)`` reports."""
    import pandera.pandas as pa

    from fairness.io.schema import MatrixSchema
    from fairness.io.validation import _schema_failures

    rng = np.random.default_rng(4)
    n = 300
    frame = pd.DataFrame({
        "person_id": rng.choice(["a", "b", "c", "x" * 201, ""], n).astype(object),
        "snapshot_date": pd.to_datetime(rng.choice(["2018-12-31", "2019-03-31"], n)),
        "borough": "Brent", "ethnicity": "White", "sex": "Male",
        "age": rng.integers(5, 105, n),
        "harm_score": rng.choice([-1.0, 0.0, 3.5], n),
        "risk_band": "Red",
        "violent_offences_2y": pd.array(rng.choice([-1, 0, 2, None], n), dtype="Int64"),
        "date_added": pd.to_datetime(rng.choice(["2018-01-01", "2019-06-30", None], n)),
        "last_reviewed": pd.to_datetime(rng.choice(["2017-01-01", "2018-12-01", "2019-12-01", None], n)),
    })
    ours = {(check.name, int(i)) for check, _, rows in _schema_failures(frame) for i in rows}
    with pytest.raises(pa.errors.SchemaErrors) as info:
        MatrixSchema.validate(frame, lazy=True)
    fc = info.value.failure_cases
    fc = fc[fc["index"].notna()]
    theirs = {(str(c).split("(")[0], int(i)) for c, i in zip(fc["check"], fc["index"], strict=True)}
    assert ours == theirs and len(ours) > 50


@pytest.mark.parametrize("seed", range(6))
def test_line_shapes_are_counted_like_python(seed):
    from fairness.io.validation import _line_shapes

    rng = np.random.default_rng(seed)
    pieces = ["a", ",", " ", "\t", "é", "\u00a0", "\u2028", "x,y", "\r"]
    lines = ["".join(rng.choice(pieces, int(rng.integers(0, 6)))) for _ in range(200)]
    text = "h1,h2,h3\n" + "\n".join(lines) + ("\n" if seed % 2 else "")
    body = text.split("\n")[1:]
    if body and body[-1] == "":
        body = body[:-1]
    fields, blank = _line_shapes(text.encode("utf-8"), ",", 3)
    assert fields.tolist() == [ln.count(",") + 1 for ln in body]
    wrong = fields != 3
    assert blank[wrong].tolist() == [ln.strip() == "" for ln, w in zip(body, wrong, strict=True) if w]


def test_simple_csv_reads_as_pandas_does(tmp_path):
    from fairness.io.validation import read_simple_csv

    text = "a,b,c\n1, x ,\n,,\n é,2018-12-31,TRUE\r\n0,nan,NA\n"
    got = read_simple_csv(text.encode("utf-8"), ["a", "b", "c"], ",")
    expected = pd.read_csv(io.StringIO(text), sep=",", dtype=str, keep_default_na=False, na_filter=False,
                           skip_blank_lines=False, header=0, names=["a", "b", "c"], engine="c")
    pd.testing.assert_frame_equal(got, expected.fillna(""))


def test_parquet_text_is_the_text_of_the_whole_table():
    """Column by column, distinct value by distinct value, the text is what converting the whole
    table to pandas and writing each cell gives."""
    import datetime as dt
    from decimal import Decimal

    import pyarrow as pa

    from fairness.io.validation import _to_text_each, parquet_text

    table = pa.table({
        "ints": pa.array([1, None, 2**53 + 1, 3], type=pa.int64()),
        "ints_full": pa.array([1, 2, 2**53 + 1, 3], type=pa.int64()),
        "floats": pa.array([1.0, float("nan"), None, 0.1]),
        "bools": pa.array([True, None, False, True]),
        "bools_full": pa.array([True, False, False, True]),
        "dates": pa.array([dt.date(2018, 12, 31), None, dt.date(1999, 1, 2), dt.date(2018, 12, 31)]),
        "stamps": pa.array([dt.datetime(2018, 12, 31, 13), None, dt.datetime(2019, 1, 1), None]),
        "text": pa.array(["a", None, " b ", "a"]),
        "cats": pa.array(["x", "y", None, "x"]).dictionary_encode(),
        "money": pa.array([Decimal("1.50"), None, Decimal("2"), Decimal("1.50")]),
    })
    names = list(table.column_names)
    got = parquet_text(table, names)
    df = table.to_pandas()
    for name in names:
        assert got[name].tolist() == _to_text_each(df[name]).tolist(), name
