"""Hostile and broken input: every case gets a clear message naming the file (and
the line and column where there is one), an exit code of 0, 1 or 2, and never a
traceback. Checked through the library and through the command line."""

from __future__ import annotations

import csv
import io
import os
import zipfile

import pandas as pd
import pytest

from fairness.cli import main
from fairness.io.validation import MAX_FIELD_LENGTH, MatrixFileError, read_matrix
from tests.conftest import good_row

HEADER = list(good_row())
FORMULA = '=HYPERLINK("http://x","click")'


@pytest.fixture(autouse=True)
def audit_log(tmp_path, monkeypatch):
    monkeypatch.setenv("FAIRNESS_AUDIT_LOG", str(tmp_path / "audit.log"))


def _text(rows, *, sep=",", newline="\n", header=None) -> str:
    header = header or HEADER
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=sep, lineterminator=newline)
    w.writerow(header)
    for r in rows:
        w.writerow([r.get(c, "") for c in header])
    return buf.getvalue()


def _rows(n=3, **over):
    return [good_row(f"P{i}", **over) for i in range(1, n + 1)]


def _write(tmp_path, name, data: bytes | str) -> str:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return str(path)


def _cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert code in (0, 1, 2)
    return code, out, err


def _unusable(capsys, path, *options, expect):
    """The file is refused by the library and the CLI, with the same clear message."""
    with pytest.raises(MatrixFileError) as e:
        read_matrix(path)
    message = str(e.value)
    assert message.startswith(path + ":")
    for text in expect:
        assert text in message
    code, out, err = _cli(capsys, "validate", path, *options)
    assert code == 2
    assert err.strip() == f"fairness validate: error: {message}"
    return message


# ------------------------------------------------------------ delimiters


@pytest.mark.parametrize("sep,name,cli", [(";", "semicolon", ";"), ("\t", "tab", "tab")])
def test_wrong_delimiter_is_named_and_the_option_works(tmp_path, capsys, sep, name, cli):
    path = _write(tmp_path, "m.csv", _text(_rows(), sep=sep))
    _unusable(capsys, path, expect=[f"{name}-separated", "--delimiter"])
    code, out, _ = _cli(capsys, "validate", path, "--delimiter", cli)
    assert code == 0 and "3 rows: 3 valid, 0 quarantined" in out
    if sep == "\t":
        assert _cli(capsys, "validate", path, "--delimiter", "\t")[0] == 0


def test_bad_delimiter_option(tmp_path, capsys):
    path = _write(tmp_path, "m.csv", _text(_rows()))
    code, _, err = _cli(capsys, "validate", path, "--delimiter", ";;")
    assert code == 2 and "one character" in err


# ------------------------------------------------------------ encodings


@pytest.mark.parametrize("encoding", ["latin-1", "cp1252"])
def test_latin1_and_cp1252_suggest_encoding(tmp_path, capsys, encoding):
    rows = [good_row("P1"), good_row("Zoë-Ní"), good_row("P3", shared_with="Council – “youth”" if encoding == "cp1252" else "Café")]
    path = _write(tmp_path, "m.csv", _text(rows).encode(encoding))
    message = _unusable(capsys, path, expect=["not valid UTF-8", "line 3", "--encoding cp1252"])
    assert "Windows-1252" in message
    code, out, _ = _cli(capsys, "validate", path, "--encoding", "cp1252")
    assert code == 0
    assert read_matrix(path, encoding="cp1252").valid["person_id"][1] == "Zoë-Ní"


def test_utf16_with_bom_is_read(tmp_path, capsys):
    for enc in ("utf-16", "utf-16-be"):
        data = _text(_rows()).encode(enc)
        if enc == "utf-16-be":
            data = b"\xfe\xff" + data
        path = _write(tmp_path, f"{enc}.csv", data)
        assert _cli(capsys, "validate", path)[0] == 0
        assert read_matrix(path).n_valid == 3


@pytest.mark.parametrize("enc", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_names_the_encoding(tmp_path, capsys, enc):
    path = _write(tmp_path, "m.csv", _text(_rows()).encode(enc))
    _unusable(capsys, path, expect=["UTF-16", "without a byte-order mark", f"--encoding {enc}"])
    assert _cli(capsys, "validate", path, "--encoding", enc)[0] == 0


def test_unknown_encoding_option(tmp_path, capsys):
    path = _write(tmp_path, "m.csv", _text(_rows()))
    code, _, err = _cli(capsys, "validate", path, "--encoding", "klingon")
    assert code == 2 and "unknown encoding: klingon" in err and path in err


# ------------------------------------------------------------ broken lines


def test_truncated_last_line(tmp_path, capsys):
    path = _write(tmp_path, "m.csv", _text(_rows()) + "P9,2018-12-31,Hack")
    res = read_matrix(path)
    assert (res.n_rows, res.n_valid, res.n_quarantined) == (4, 3, 1)
    code, out, _ = _cli(capsys, "validate", path)
    assert code == 1
    assert f"{path}:line 5: column (row): the line has 3 fields, the header 14" in out


def test_unterminated_quote_is_unusable_not_silently_swallowed(tmp_path, capsys):
    bad = 'P8,2018-12-31,"Hackney,Black,Male,17,0,Green,,,,,,\n'
    text = _text(_rows()) + bad + _text(_rows(2)).split("\n", 1)[1]
    path = _write(tmp_path, "m.csv", text)
    _unusable(capsys, path, expect=["never closed", "line 5"])


def test_quote_closed_later_quarantines_the_merged_row(tmp_path, capsys):
    text = _text(_rows(1)) + 'P8,2018-12-31,"Hackney\nP9",Black,Male,17,0,Green,,,,,,\n' + _text(_rows(1)).split("\n", 1)[1].replace("P1", "P2")
    path = _write(tmp_path, "m.csv", text)
    res = read_matrix(path)
    assert (res.n_rows, res.n_valid) == (3, 2)
    assert res.quarantined["line"].tolist() == [3]
    assert _cli(capsys, "validate", path)[0] == 1


def test_blank_lines_in_the_middle_are_counted_with_true_line_numbers(tmp_path, capsys):
    rows = _rows(3)
    rows[2]["age"] = "5"
    lines = _text(rows).split("\n")
    text = "\n".join(lines[:2] + ["", "   "] + lines[2:])  # blank lines become file lines 3 and 4
    path = _write(tmp_path, "m.csv", text)
    res = read_matrix(path)
    assert res.n_rows == res.n_valid + res.n_quarantined == 5
    assert res.n_valid == 2
    assert res.quarantined["line"].tolist() == [3, 4, 6]
    code, out, _ = _cli(capsys, "validate", path)
    assert code == 1 and f"{path}:line 6: column age: '5' is out of range" in out


def test_old_mac_line_endings(tmp_path, capsys):
    path = _write(tmp_path, "m.csv", _text(_rows(), newline="\r"))
    assert _cli(capsys, "validate", path)[0] == 0


def test_last_line_of_stray_commas_is_a_broken_row(tmp_path, capsys):
    """Found by hypothesis: this used to raise IndexError."""
    path = _write(tmp_path, "m.csv", _text(_rows(2)) + ",,,\n")
    res = read_matrix(path)
    assert (res.n_rows, res.n_quarantined) == (3, 1)
    code, out, _ = _cli(capsys, "validate", path)
    assert code == 1 and f"{path}:line 4: column (row): the line has 4 fields" in out


def test_bare_carriage_return_in_an_unquoted_file(tmp_path, capsys):
    """A lone CR is a line break to every CSV reader; rows and lines must agree."""
    rows = _text(_rows(3)).split("\n")
    path = _write(tmp_path, "m.csv", "\n".join(rows[:2]) + "\n" + rows[2].replace(",Hackney,", ",Hack\rney,") + "\n" + rows[3] + "\n")
    res = read_matrix(path)
    assert res.n_rows == res.n_valid + res.n_quarantined == 4
    assert res.quarantined["line"].tolist() == [3, 4]
    assert _cli(capsys, "validate", path)[0] == 1


def test_trailing_commas_in_header(tmp_path, capsys):
    text = "\n".join(line + ",," for line in _text(_rows()).splitlines()) + "\n"
    path = _write(tmp_path, "m.csv", text)
    res = read_matrix(path)
    assert res.n_valid == 3 and res.unknown_columns == ("(unnamed column 15)", "(unnamed column 16)")
    assert _cli(capsys, "validate", path)[0] == 0


# ------------------------------------------------------------ huge and hostile cells


@pytest.mark.parametrize("column", ["person_id", "shared_with"])
def test_one_megabyte_field(tmp_path, capsys, column):
    rows = _rows()
    rows[1][column] = "x" * 1_000_000
    path = _write(tmp_path, "m.csv", _text(rows))
    res = read_matrix(path)
    assert (res.n_valid, res.n_quarantined) == (2, 1)
    assert "field_too_long" in res.quarantined["rules"].item()
    code, out, _ = _cli(capsys, "validate", path)
    assert code == 1
    assert f"{path}:line 3: column {column}:" in out and "1,000,000 characters" in out
    assert len(out) < 5 * MAX_FIELD_LENGTH  # the value itself is never printed in full


def _cells(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return [(c, cell) for row in csv.reader(fh) for c, cell in enumerate(row)]


def test_formula_injection_is_neutralised_in_every_csv_written(tmp_path, capsys, monkeypatch):
    header = HEADER + ["note", "=cmd|' /C calc'!A0"]
    rows = [
        good_row(FORMULA, age="5") | {"note": FORMULA, "=cmd|' /C calc'!A0": "+1+1"},
        good_row("P2") | {"note": "@SUM(A1)", "=cmd|' /C calc'!A0": "-3"},
        good_row("P3", borough=FORMULA),
    ]
    path = _write(tmp_path, "m.csv", _text(rows, header=header))
    q = tmp_path / "private" / "q.csv"
    code, out, _ = _cli(capsys, "validate", path, "--quarantine", str(q))
    assert code == 1 and "quarantined rows written" in out
    cells = [cell for _, cell in _cells(q)]
    assert "'" + FORMULA in cells and "'=cmd|' /C calc'!A0" in cells and "'+1+1" in cells
    assert not any(cell[:1] in ("=", "+", "@") for cell in cells)

    monkeypatch.setenv("FAIRNESS_PSEUDONYM_KEY", "k" * 32)
    p = tmp_path / "private" / "p.csv"
    assert _cli(capsys, "pseudonymise", path, "--out", str(p))[0] == 0
    cells = [cell for _, cell in _cells(p)]
    assert "'@SUM(A1)" in cells and "-3" in cells  # a plain negative number stays
    assert not any(cell[:1] in ("=", "+", "@") for cell in cells)


def test_duplicated_header_names(tmp_path, capsys):
    text = _text(_rows(), header=HEADER + ["AGE"])
    path = _write(tmp_path, "m.csv", text)
    _unusable(capsys, path, expect=["column 'age' 2 times", "positions 6, 15"])


# ------------------------------------------------------------ Parquet


def test_parquet_with_wrong_types(tmp_path, capsys):
    frame = pd.DataFrame(_rows(3))
    frame["age"] = ["seventeen", "17", " 18 "]  # strings
    frame["snapshot_date"] = [20181231, 20181231, 20181231]  # ints
    frame["date_added"] = pd.to_datetime(frame["date_added"])
    frame["harm_score"] = ["high", "0", "2.5"]  # text
    path = str(tmp_path / "m.parquet")
    frame.to_parquet(path)
    res = read_matrix(path)
    assert res.n_rows == 3 == res.n_quarantined
    rules = set(zip(res.problems["column"], res.problems["rule"], strict=True))
    assert rules == {("age", "not_an_integer"), ("snapshot_date", "bad_date"), ("harm_score", "not_a_number")}
    code, out, _ = _cli(capsys, "validate", path)
    assert code == 1
    assert f"{path}:row 1: column age: 'seventeen' is not a whole number" in out
    assert f"{path}:row 2: column snapshot_date: '20181231' is not a date" in out
    assert "date_added is after" not in out  # no rule reported against an unparsed date


def test_parquet_with_dates_out_of_range_and_nested_values(tmp_path, capsys):
    import datetime

    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = _rows(2)
    cols = {c: pa.array([r[c] for r in rows]) for c in HEADER}
    cols["last_reviewed"] = pa.array([datetime.datetime(9999, 12, 31), datetime.datetime(2018, 11, 30)], pa.timestamp("us"))
    cols["shared_with"] = pa.array([["Housing", "School"], []])
    path = str(tmp_path / "m.parquet")
    pq.write_table(pa.table(cols), path)
    res = read_matrix(path)
    assert (res.n_valid, res.n_quarantined) == (1, 1)
    code, out, _ = _cli(capsys, "validate", path)
    assert code == 1 and "'9999-12-31' is outside the usable dates" in out


def test_placeholder_date_in_csv(tmp_path, capsys):
    path = _write(tmp_path, "m.csv", _text([good_row("P1", last_reviewed="9999-12-31"), good_row("P2")]))
    code, out, _ = _cli(capsys, "validate", path)
    assert code == 1 and f"{path}:line 2: column last_reviewed: '9999-12-31' is outside" in out


# ------------------------------------------------------------ not a CSV at all


def _xlsx_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
    return buf.getvalue()


@pytest.mark.parametrize(
    "name,data,expect",
    [
        ("junk.csv", bytes(range(256)) * 20, "binary data"),
        ("renamed.csv", _xlsx_bytes(), "Excel workbook (.xlsx) renamed"),
        ("old.csv", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500), "old Excel workbook"),
        ("zipped.csv", b"\x1f\x8b\x08\x00" + os.urandom(300), "gzip"),
        ("doc.csv", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + bytes(range(256)), "PDF"),
        ("junk.parquet", os.urandom(3000), "not a readable Parquet file"),
        ("renamed.parquet", _xlsx_bytes(), "not a readable Parquet file"),
        ("book.xlsx", _xlsx_bytes(), "unknown file type '.xlsx'; expected .csv or .parquet"),
        ("empty.csv", b"", "the file is empty"),
        ("header.csv", ",".join(HEADER).encode() + b"\n", "no data rows"),
        ("prose.csv", b"Dear colleague,\nplease find attached.\n", "required column(s)"),
    ],
)
def test_not_a_matrix_file(tmp_path, capsys, name, data, expect):
    path = _write(tmp_path, name, data)
    _unusable(capsys, path, expect=[expect])


def test_parquet_named_csv(tmp_path, capsys):
    path = str(tmp_path / "m.csv")
    pd.DataFrame(_rows()).to_parquet(path)
    _unusable(capsys, path, expect=["Parquet file", ".parquet"])


def test_missing_file_and_folder(tmp_path, capsys):
    code, _, err = _cli(capsys, "validate", str(tmp_path / "nope.csv"))
    assert code == 2 and "nope.csv: cannot be read: No such file or directory" in err
    code, _, err = _cli(capsys, "validate", str(tmp_path))
    assert code == 2 and "not a regular file (a folder)" in err


def test_hostile_input_through_pseudonymise(tmp_path, capsys, monkeypatch):
    """The same clear messages when the file is pseudonymised; nothing is written."""
    monkeypatch.setenv("FAIRNESS_PSEUDONYM_KEY", "k" * 32)
    path = _write(tmp_path, "m.csv", _text(_rows()).encode("cp1252"))
    _write(tmp_path, "bad.csv", _text([good_row("Zoë")]).encode("cp1252"))
    out = tmp_path / "p.csv"
    code, _, err = _cli(capsys, "pseudonymise", str(tmp_path / "bad.csv"), "--out", str(out))
    assert code == 2 and "--encoding cp1252" in err and not out.exists()
    code, _, _ = _cli(capsys, "pseudonymise", str(tmp_path / "bad.csv"), "--out", str(out), "--encoding", "cp1252")
    assert code == 0 and out.exists()
    assert _cli(capsys, "pseudonymise", path, "--out", str(tmp_path / "reports" / "p.csv"))[0] == 2


# ------------------------------------------------------------ not a regular file, or absurd


@pytest.fixture
def no_hang():
    """Turn a read that would block for ever (a FIFO) into a test failure after 10 s."""
    import signal

    def _fail(signum, frame):
        raise AssertionError("the reader blocked: it opened something that is not a regular file")

    previous = signal.signal(signal.SIGALRM, _fail)
    signal.alarm(10)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX named pipes")
def test_fifo_is_refused_before_it_is_opened(tmp_path, capsys, no_hang):
    fifo = tmp_path / "m.csv"
    os.mkfifo(fifo)
    _unusable(capsys, str(fifo), expect=["not a regular file", "named pipe (FIFO)"])
    code, _, err = _cli(capsys, "validate", str(fifo), "--engine", "duckdb")
    assert code == 2  # a .csv is not for the DuckDB engine, and nothing was opened


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_link_to_a_device_is_refused(tmp_path, capsys, no_hang):
    link = tmp_path / "m.csv"
    link.symlink_to("/dev/zero")
    _unusable(capsys, str(link), expect=["not a regular file", "a device"])
    parquet = tmp_path / "m.parquet"
    parquet.symlink_to("/dev/zero")
    for engine in ("pandas", "duckdb", "auto"):
        assert _cli(capsys, "validate", str(parquet), "--engine", engine)[0] == 2


def test_link_to_a_regular_file_is_read(tmp_path, capsys):
    path = _write(tmp_path, "real.csv", _text(_rows()))
    (tmp_path / "link.csv").symlink_to(path)
    assert read_matrix(tmp_path / "link.csv").n_valid == 3


def test_size_limit_option_and_environment(tmp_path, capsys, monkeypatch):
    text = _text(_rows())
    path = _write(tmp_path, "m.csv", text)
    size = len(text.encode())
    with pytest.raises(MatrixFileError, match=f"the file is {size:,} bytes, more than the limit of 100 bytes"):
        read_matrix(path, max_bytes=100)
    assert read_matrix(path, max_bytes="1K").n_valid == 3  # 1K = 1,024 bytes > size
    code, _, err = _cli(capsys, "validate", path, "--max-bytes", "100")
    assert code == 2 and "FAIRNESS_MAX_BYTES or --max-bytes" in err
    monkeypatch.setenv("FAIRNESS_MAX_BYTES", "100")
    assert _cli(capsys, "validate", path)[0] == 2
    assert _cli(capsys, "validate", path, "--max-bytes", "1M")[0] == 0  # the option wins
    monkeypatch.setenv("FAIRNESS_MAX_BYTES", "lots")
    code, _, err = _cli(capsys, "validate", path)
    assert code == 2 and "FAIRNESS_MAX_BYTES must be a whole number of bytes" in err and "'lots'" in err


def test_column_limit_is_checked_on_the_header(tmp_path, capsys, monkeypatch):
    """20,000 columns used to take minutes (cost grew with the square of the column count);
    they are now refused from the header alone, and below the limit the cost is linear."""
    header = HEADER + [f"extra{i}" for i in range(20_000)]
    path = _write(tmp_path, "wide.csv", ",".join(header) + "\n" + ",".join(["x"] * len(header)) + "\n")
    message = _unusable(capsys, path, expect=["20,014 columns, more than the limit of 1,000",
                                              "FAIRNESS_MAX_COLUMNS or --max-columns"])
    assert "the matrix format has 14" in message
    narrow = _write(tmp_path, "m.csv", _text(_rows(), header=HEADER + ["a", "b"]))
    with pytest.raises(MatrixFileError, match="16 columns, more than the limit of 15"):
        read_matrix(narrow, max_columns=15)
    monkeypatch.setenv("FAIRNESS_MAX_COLUMNS", "15")
    assert _cli(capsys, "validate", narrow)[0] == 2
    assert _cli(capsys, "validate", narrow, "--max-columns", "16")[0] == 0
    frame = pd.DataFrame(_rows()).assign(a="1", b="2")
    frame.to_parquet(tmp_path / "m.parquet", index=False)
    with pytest.raises(MatrixFileError, match="16 columns"):
        read_matrix(tmp_path / "m.parquet", max_columns=15)


def test_many_unknown_columns_are_kept(tmp_path):
    header = HEADER + [f"extra{i}" for i in range(300)]
    rows = [r | {f"extra{i}": str(i) for i in range(300)} for r in _rows()]
    res = read_matrix(_write(tmp_path, "m.csv", _text(rows, header=header)))
    assert res.n_valid == 3 and len(res.unknown_columns) == 300
    assert list(res.valid.columns[-2:]) == ["extra298", "extra299"] and res.valid["extra299"].tolist() == ["299"] * 3


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_huge_integers_in_parquet_quarantine_their_row(tmp_path, capsys, engine):
    """2**63 - 1 used to fail the whole file with 'internal error (TypeError)'."""
    frame = pd.DataFrame(_rows(3)).astype({"violent_offences_2y": "int64", "age": "int64"})
    frame.loc[1, "violent_offences_2y"] = 2**63 - 1
    frame.loc[2, "age"] = 2**62
    path = tmp_path / "m.parquet"
    frame.to_parquet(path, index=False)
    code, out, _ = _cli(capsys, "validate", str(path), "--engine", engine)
    assert code == 1 and "3 rows: 1 valid, 2 quarantined" in out
    assert f"{path}:row 2: column violent_offences_2y: '9223372036854775807' is far out of range. " \
           "Valid: a whole number ≥ 0" in out
    assert f"{path}:row 3: column age: '4611686018427387904'" in out
    assert _cli(capsys, "audit", str(path), "--engine", engine)[0] == 0


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_parquet_with_person_id_as_the_pandas_index(tmp_path, capsys, engine):
    frame = pd.DataFrame(_rows(3)).set_index("person_id")
    frame.to_parquet(tmp_path / "m.parquet")  # pandas stores person_id as its index
    pd.DataFrame(_rows(3)).iloc[1:].to_parquet(tmp_path / "filtered.parquet")  # unnamed index kept
    code, out, _ = _cli(capsys, "validate", str(tmp_path / "m.parquet"), "--engine", engine)
    assert code == 0 and "3 rows: 3 valid, 0 quarantined" in out
    code, out, _ = _cli(capsys, "validate", str(tmp_path / "filtered.parquet"), "--engine", engine)
    assert code == 0 and "2 rows: 2 valid, 0 quarantined" in out and "__index_level_0__" not in out
    if engine == "pandas":
        res = read_matrix(tmp_path / "m.parquet")
        assert res.valid["person_id"].tolist() == ["P1", "P2", "P3"]


def test_doubled_bom_names_the_invisible_character(tmp_path, capsys):
    path = _write(tmp_path, "m.csv", b"\xef\xbb\xbf\xef\xbb\xbf" + _text(_rows()).encode())
    message = _unusable(capsys, path, expect=["required column(s) person_id missing",
                                              "Columns found: <U+FEFF>person_id, snapshot_date",
                                              "invisible character U+FEFF"])
    assert "\ufeff" not in message


def test_trailing_row_of_commas_is_counted(tmp_path, capsys):
    """A full-width line of delimiters used to vanish without being counted."""
    path = _write(tmp_path, "m.csv", _text(_rows(2)) + "," * (len(HEADER) - 1) + "\n")
    res = read_matrix(path)
    assert (res.n_rows, res.n_valid, res.n_quarantined) == (3, 2, 1)
    assert res.quarantined["line"].tolist() == [4]
    assert "empty_row" in res.quarantined["rules"].iloc[0]
    code, out, _ = _cli(capsys, "validate", path)
    assert code == 1 and f"{path}:line 4: column (row): every cell is empty" in out
    # quoted files take the row-by-row reader: the same
    quoted = _write(tmp_path, "q.csv", _text(_rows(2)).replace("Hackney", '"Hackney"') + "," * (len(HEADER) - 1))
    assert (read_matrix(quoted).n_rows, read_matrix(quoted).n_quarantined) == (3, 1)
    # a final empty line is still not a row
    assert read_matrix(_write(tmp_path, "e.csv", _text(_rows(2)) + "\n")).n_rows == 2


def test_harm_score_and_integer_errors_say_what_is_valid(tmp_path):
    rows = _rows(3)
    rows[0]["harm_score"], rows[1]["harm_score"], rows[2]["age"] = "high", "inf", "17.5"
    res = read_matrix(_write(tmp_path, "m.csv", _text(rows)))
    msgs = res.problems.set_index("line")["message"].to_dict()
    assert msgs[2] == "'high' is not a finite number. Valid: a number ≥ 0 (finite)"
    assert msgs[3] == "'inf' is not a finite number. Valid: a number ≥ 0 (finite)"
    assert msgs[4] == "'17.5' is not a whole number. Valid: a whole number 10–99 at snapshot_date"


def test_formula_after_spaces_or_tabs_is_neutralised():
    from fairness.io.safe_write import neutralise_formulas

    cells = ["  =HYPERLINK(1)", "\t=1+1", " @SUM(A1)", "\t -2+3", " -3", "  5", "ok", "a = b"]
    out = neutralise_formulas(pd.DataFrame({"a": cells}))["a"].tolist()
    assert out == ["'  =HYPERLINK(1)", "'\t=1+1", "' @SUM(A1)", "'\t -2+3", " -3", "  5", "ok", "a = b"]
