"""A plain CSV file read by DuckDB's own CSV reader (fairness.counts.duck._open_plain_csv).

A file without quotes whose every line is one row of the header's width is read
by DuckDB in one pass (no pyarrow table in Python first); any other file goes
the way ``read_matrix`` reads it. Either way the validation must be the one
``read_matrix`` gives, problem by problem and line by line, and the audit the
in-memory one. The expected lines below are worked out by hand: the header is
line 1, so the i-th row written is on line i + 1.
"""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import HEADER, good_row

import fairness
from fairness import read_matrix
from fairness.counts.duck import validate_parquet
from fairness.io.validation import MatrixFileError

pytestmark = pytest.mark.filterwarnings("ignore")

COLUMNS = HEADER.split(",")


def _rows() -> list[dict]:
    """Twelve rows (row i on line i + 2; odd i in 2018Q4, even i in 2018Q3): six valid, six
    quarantined (lines 2, 3, 9, 11, 12 and 13)."""
    rows = [good_row(f"P{i}", snapshot_date="2018-12-31" if i % 2 else "2018-09-30", last_reviewed="2018-08-31")
            for i in range(12)]
    rows[0]["sex"] = "M"  # line 2: not a sex; and P0's key twice (line 12)
    rows[1]["age"] = "9"  # line 3: too young
    rows[3]["victim_flag"] = "TRUE"  # line 5: valid (any case); SQL lists TRUE, so it vouches
    rows[4]["victim_flag"] = "tRuE"  # line 6: valid, but not a listed spelling: validated in Python
    rows[5]["harm_score"] = "3.50"  # line 7: valid (a decimal)
    rows[6]["age"] = "017"  # line 8: valid (17), a leading zero: validated in Python
    rows[7]["snapshot_date"] = "2018-12-32"  # line 9: not a date
    rows[8]["person_id"] = " P8 "  # line 10: valid once stripped
    rows[9]["borough"] = "Narnia"  # line 11: not a borough; and P9's key twice (line 13)
    rows[10].update(person_id="P0", age="120")  # line 12: out of range, and P0's 2018-09-30 again
    rows[11].update(person_id="P9", borough="Brent")  # line 13: valid alone, but P9's 2018-12-31 again
    return rows


def _write(tmp_path, rows: list[dict], *, newline: str = "\n", bom: bool = False, extra: str = "",
           name: str = "m.csv") -> str:
    lines = [HEADER] + [",".join(r[c] for c in COLUMNS) for r in rows]
    text = newline.join(lines) + newline + extra
    path = tmp_path / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return str(path)


def _same(duck, memory) -> None:
    pd.testing.assert_frame_equal(duck.problems, memory.problems, check_exact=True)
    pd.testing.assert_frame_equal(duck.quarantined, memory.quarantined, check_exact=True)
    for name in ("n_rows", "n_valid", "n_quarantined", "notes", "unknown_columns", "line_label", "sha256"):
        assert getattr(duck, name) == getattr(memory, name), name


def _plain(res) -> bool:
    return res.session.src.plain is not None


@pytest.mark.parametrize(("newline", "bom"), [("\n", False), ("\r\n", True)])
def test_plain_csv_is_read_by_duckdb_and_reports_what_read_matrix_reports(tmp_path, newline, bom):
    path = _write(tmp_path, _rows(), newline=newline, bom=bom)
    duck, memory = validate_parquet(path), read_matrix(path)
    assert _plain(duck)
    _same(duck, memory)
    assert list(duck.quarantined["line"]) == [2, 3, 9, 11, 12, 13]
    dups = duck.problems[duck.problems["rule"] == "duplicate_person_id"]
    assert list(dups["line"]) == [2, 11, 12, 13]  # P0's two rows (both invalid besides) and P9's two
    assert duck.n_rows == 12 and duck.n_valid == 6


def test_audit_path_reports_every_duplicate(tmp_path):
    """The audit's one pass (validate and count) reports what read_matrix reports, including a key
    shared by two rows that are invalid besides (P0, lines 2 and 12): those rows are not among the
    rows streamed by person, so they are compared apart."""
    from fairness.counts.duck import count_and_validate_parquet

    path = _write(tmp_path, _rows())
    with count_and_validate_parquet(path, quarter="2018Q4") as (_cube, facts, validation):
        _same(validation, read_matrix(path))
        assert facts["quarantined"] == 6
        reasons = facts["quarantine_reasons"].set_index("rule")["rows"]
        assert int(reasons["duplicate_person_id"]) == 4


@pytest.mark.slow
def test_plain_csv_audit_equals_in_memory(tmp_path):
    path = _write(tmp_path, _rows())
    duck = fairness.audit(path, quarter="2018Q4")
    memory = fairness.audit(read_matrix(path), quarter="2018Q4")
    for name, table in memory.tables().items():
        pd.testing.assert_frame_equal(duck.tables()[name].reset_index(drop=True).astype(object),
                                      table.reset_index(drop=True).astype(object), obj=name)
    # valid in 2018Q4: rows 3 and 5 (rows 1, 7, 9 and 11 are quarantined)
    assert (duck.n, duck.quarantined, duck.n_rows) == (memory.n, memory.quarantined, memory.n_rows) == (2, 6, 12)


def test_a_last_line_of_commas_and_an_unknown_column(tmp_path):
    """A last line of nothing but commas is a row (quarantined as empty, on its line); a column
    outside the format is kept as text for the valid rows."""
    rows = [{**good_row(f"Q{i}"), "note": f"n{i}"} for i in range(3)]
    lines = [HEADER + ",note"] + [",".join(r[c] for c in [*COLUMNS, "note"]) for r in rows]
    path = tmp_path / "m.csv"
    path.write_text("\n".join(lines) + "\n" + "," * len(COLUMNS) + "\n", encoding="utf-8")
    duck, memory = validate_parquet(str(path)), read_matrix(str(path))
    assert _plain(duck)
    _same(duck, memory)
    assert list(duck.quarantined["line"]) == [5]  # header 1, rows 2-4, the commas on line 5
    from fairness.counts.duck import with_valid_rows

    valid = with_valid_rows(duck).valid
    assert list(valid["note"]) == ["n0", "n1", "n2"]
    pd.testing.assert_frame_equal(valid.reset_index(drop=True), memory.valid.reset_index(drop=True))


@pytest.mark.parametrize("kind", ["quoted", "blank line", "too wide", "mixed line ends", "cp1252"])
def test_other_csv_files_go_the_way_read_matrix_reads_them(tmp_path, kind):
    rows = _rows()
    if kind == "quoted":
        rows[2]["shared_with"] = '"housing;DWP"'
        path = _write(tmp_path, rows)
    elif kind == "blank line":
        path = _write(tmp_path, rows, extra="\n" + ",".join(rows[0][c] for c in COLUMNS).replace("P0", "Z") + "\n")
    elif kind == "too wide":
        rows[2]["outcome_violence_12m"] = "true,extra"
        path = _write(tmp_path, rows)
    elif kind == "mixed line ends":
        path = _write(tmp_path, rows)
        data = open(path, "rb").read().replace(b"\n", b"\r\n", 3)
        open(path, "wb").write(data)
    else:
        rows[2]["shared_with"] = "Café"
        path = _write(tmp_path, rows)
        data = open(path, "rb").read().replace("é".encode(), b"\xe9")
        open(path, "wb").write(data)
        with pytest.raises(MatrixFileError) as duck_error:
            validate_parquet(path)
        with pytest.raises(MatrixFileError) as memory_error:
            read_matrix(path)
        assert str(duck_error.value) == str(memory_error.value)
        assert "line 4" in str(duck_error.value)
        return
    duck, memory = validate_parquet(path), read_matrix(path)
    assert not _plain(duck) or kind == "mixed line ends"  # DuckDB may read those itself: the same lines
    _same(duck, memory)


def test_line_numbers_hold_across_a_larger_file(tmp_path):
    """Lines far apart in a file DuckDB reads in several pieces keep their numbers."""
    n = 60_000
    body = ",".join(good_row("X")[c] for c in COLUMNS)
    lines = [HEADER] + [body.replace("X", f"X{i}", 1) for i in range(n)]
    for i in (1, 30_001, n):  # rows i: lines i + 1
        lines[i] = lines[i].replace("Hackney", "Narnia")
    path = tmp_path / "big.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    duck = validate_parquet(str(path))
    assert _plain(duck)
    assert list(duck.problems["line"]) == [2, 30_002, n + 1]
    assert list(duck.quarantined["person_id"]) == ["X0", "X30000", f"X{n - 1}"]


def test_person_id_pattern_matched_as_python_matches_it():
    """The test-id pattern is matched by RE2 on plain ids, by Python's re on the others: the same
    answers as Python's re for every id (worked out by hand for the default pattern)."""
    import re

    import pyarrow as pa

    from fairness.counts.duck import _id_matches
    from fairness.definitions import CHECK_PARAMETERS

    search = re.compile(CHECK_PARAMETERS.test_id_pattern).search
    ids = {"TEST01": True, "p-dummy": True, "atestb": False, "GVM001": False, "zzz9": True, "sample": True,
           "DUMMY\n": True,  # Python's $ matches before a final newline (RE2's does not)
           "\u017fample": True,  # long s: Python's (?i) folds it to s
           "\x1ctest": True, "Café-test": True, "": False}
    got = _id_matches(pa.array(list(ids)), search)
    assert got.tolist() == list(ids.values())
    assert got.tolist() == [bool(search(i)) for i in ids]
    other = re.compile(r"\d{,2}x").search  # not a plain pattern: Python for every id
    assert _id_matches(pa.array(["x", "12x", "y"]), other).tolist() == [True, True, False]


@pytest.mark.parametrize(("data", "plain"), [
    (b"a,b\n1,2\n", True),
    (b"\xef\xbb\xbfa,b\r\n1,2\r\n", True),  # a BOM and Windows line ends
    (b"a,b\n1,x\x00y\n", True),  # a NUL byte: a character of its value (decided; see below)
    (b"a,b\n1,2", True),  # no final newline
    (b'a,b\n1,"2"\n', False),  # a quote
    (b"a,b\n1,2\n\n3,4\n", False),  # an empty line
    (b"a,b\n1,2\n\r\n3,4\n", False),  # an empty line, Windows-style
    (b"a,b\n1,2\r3,4\n", False),  # a bare carriage return (a line break to pandas)
    (b"a,b\n", False),  # a header alone
    (b"a,b", False),  # a header alone, without a newline
    ("a,b\n1,caf\u00e9\n".encode(), True),  # UTF-8 beyond ASCII
    (b"a,b\n1,caf\xe9\n", False),  # not UTF-8
    (b"\xff\xfea\x00,\x00b\x00\n\x001\x00,\x002\x00\n\x00", False),  # UTF-16 with its BOM
    ("a,b\n1,2\n3,4\n".encode("utf-16-le"), False),  # UTF-16 without a BOM (read_matrix names it)
])
def test_one_rule_says_which_files_are_plain(data, plain):
    """plain_csv_body is the one definition of a plain file, for read_matrix's fast path and DuckDB's
    reader alike (each case worked out from the rule in its docstring)."""
    from fairness.io.validation import plain_csv_body

    assert (plain_csv_body(data, encoding=None, delimiter=",") is not None) is plain
    assert plain_csv_body(b"a,b\n1,2\n", encoding="utf-8", delimiter=",") is None  # an encoding given
    assert plain_csv_body(b"a\xc2\xa7b\n1\xc2\xa72\n", encoding=None, delimiter="\u00a7") is None  # not ASCII


def test_a_nul_byte_is_read_as_a_character_by_duckdb_as_by_read_matrix(tmp_path):
    """Decided: a NUL byte in a value does not take a file off the plain path. read_matrix's
    fast path (pyarrow) keeps it as a character of its value, and DuckDB's reader does the same,
    so the report is the same: a borough with a NUL in it is not a borough (line 5), a shared_with
    text with one is kept (line 4, valid)."""
    rows = _rows()
    rows[2]["shared_with"] = "housing\x00DWP"  # line 4
    rows[3]["borough"] = "Hack\x00ney"  # line 5
    path = _write(tmp_path, rows)
    duck, memory = validate_parquet(path), read_matrix(path)
    assert _plain(duck)
    _same(duck, memory)
    assert list(duck.quarantined["line"]) == [2, 3, 5, 9, 11, 12, 13]
    assert "housing\x00DWP" in set(memory.valid["shared_with"])


def test_lines_are_found_where_the_bytes_say():
    """_sample_lines counts the lines after the header as ``body.count(b"\\n")`` does, and says where a
    few begin (worked by hand: lines 1-5 begin at bytes 0, 4, 8, 13 and 19 of 23)."""
    from fairness.counts.duck import _sample_lines

    body = b"h,i\nA,1\nBB,2\nCCC,3\nD,4\n"
    # a half: from byte 4 + 19 // 2 = 13 the next newline is byte 18, so line 5 begins at 19
    assert _sample_lines(body, parts=2) == (4, {2: 4, 5: 19})
    # thirds: from byte 10 the next newline is 12 (line 4 begins at 13); from 16, byte 18 (line 5)
    assert _sample_lines(body, parts=3) == (4, {2: 4, 4: 13, 5: 19})
    assert _sample_lines(body[:-1], parts=3) == (4, {2: 4, 4: 13, 5: 19})  # no final newline
    assert _sample_lines(b"h,i\r\nA,1\r\n", parts=8) == (1, {2: 5})


def test_a_plain_file_is_typed_by_a_plan_that_keeps_its_rows_in_order(tmp_path):
    """A plain file's rows are numbered by their place in the table DuckDB writes them to, in
    parallel and in file order: only operators that keep the order of the read may stand between the
    file and the table. A join does not (DuckDB made one of list_contains over a constant list); a
    plan with one is refused, and the file read the other way."""
    import duckdb

    from fairness.counts.duck import _keeps_order, _typed_view

    duck = validate_parquet(_write(tmp_path, _rows()))
    assert _plain(duck)
    con = duckdb.connect(config={"preserve_insertion_order": True})
    typed = _typed_view(duck.session.src)
    assert _keeps_order(con, f"CREATE TEMP TABLE t AS {typed}")
    assert not _keeps_order(con, f"CREATE TEMP TABLE t AS SELECT * FROM ({typed}) WHERE sex IN (SELECT 'Male')")
