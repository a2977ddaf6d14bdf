"""Property tests for validation: whatever the rows, every row is accounted for.

Invariants, for generated matrices mixing good rows and rows corrupted in
random columns (random case and spaces on categories, random extra columns):

* reading never raises anything but MatrixFileError, and only for unusable files;
* n_rows == n_valid + n_quarantined == the number of data rows written;
* every quarantined row has at least one problem, on its own file line, and
  every problem belongs to a quarantined row;
* valid rows satisfy the schema; a good row is valid unless another row shares its id;
* the command line exits 0 (all valid), 1 (some quarantined) or 2 (unusable).

read_matrix costs about 0.2 s per file however small (pandera), so the example
counts are kept low enough for the module to run in about 10 seconds, and
failing examples are not shrunk.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from fairness.cli import main
from fairness.definitions import (
    ALL_COLUMNS,
    BOROUGHS,
    ETHNICITIES,
    REQUIRED_COLUMNS,
    RISK_BANDS,
    SEXES,
)
from fairness.io.schema import MatrixSchema
from fairness.io.validation import MatrixFileError, canonical_dtypes, read_matrix
from tests.conftest import examples, good_row

# No shrinking: at ~0.2 s per read it can run for minutes. A failure prints the
# example as generated; add Phase.shrink locally to minimise it.
SETTINGS = dict(
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
CATEGORY_VALUES = {"borough": BOROUGHS, "ethnicity": ETHNICITIES, "sex": SEXES, "risk_band": RISK_BANDS}


@pytest.fixture(scope="module", autouse=True)
def audit_log():
    with tempfile.TemporaryDirectory() as d, pytest.MonkeyPatch.context() as mp:
        mp.setenv("FAIRNESS_AUDIT_LOG", os.path.join(d, "audit.log"))
        yield


@pytest.fixture(scope="module")
def workdir():
    with tempfile.TemporaryDirectory() as d:
        yield Path(d)


# ------------------------------------------------------------ strategies

# Printable text plus the characters that break CSV files; no control characters
# (a file full of them is binary and rightly refused as unusable).
cell_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"))
    | st.sampled_from([",", '"', "\n", "\r", ";", "\t", "=", " ", "-", "'", "\u00a0"]),
    max_size=12,
)
corrupt_value = st.one_of(
    cell_text,
    st.sampled_from(["", " ", "NaN", "inf", "-1", "9", "100", "17.5", "2018-02-30", "31/12/2018",
                     "9999-12-31", "Hackny", "City of London", "maybe", "x" * 201, "null", "None"]),
)


def _spacing(draw, value: str) -> str:
    """The same category written in random case with random spaces around it."""
    cased = "".join(c.upper() if draw(st.booleans()) else c.lower() for c in value)
    return draw(st.sampled_from(["", " ", "  "])) + cased + draw(st.sampled_from(["", " ", "\t"]))


@st.composite
def matrices(draw):
    n = draw(st.integers(1, 12))
    extra = draw(st.lists(st.from_regex(r"[A-Za-z][A-Za-z0-9 _]{0,8}", fullmatch=True), max_size=2, unique_by=str.lower))
    extra = [e for e in extra if e.strip().lower() not in ALL_COLUMNS]
    optional = draw(st.lists(st.sampled_from([c for c in ALL_COLUMNS if c not in REQUIRED_COLUMNS]), unique=True))
    header = list(REQUIRED_COLUMNS) + optional + extra
    rows, good = [], []
    for i in range(n):
        row = good_row(f"G{i}")
        for col, valid in CATEGORY_VALUES.items():
            row[col] = _spacing(draw, draw(st.sampled_from(valid)))
        row = {c: row.get(c, "") for c in header}
        for c in extra:
            row[c] = draw(cell_text)
        is_good = draw(st.booleans())
        if not is_good:
            for col in draw(st.lists(st.sampled_from(header), min_size=1, max_size=3, unique=True)):
                row[col] = draw(corrupt_value)
        rows.append(row)
        good.append(is_good)
    return header, rows, good


def _write(path: Path, header, rows) -> list[int]:
    """Write with csv.writer and return each data row's first file line.

    Lines end in CRLF (RFC 4180): with "\n" alone, csv.writer leaves a bare CR
    in a cell unquoted, and every reader (rightly) takes it as a line break.
    """
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header)
    starts, line = [], 2
    for r in rows:
        one = io.StringIO()
        csv.writer(one, lineterminator="\r\n").writerow([r[c] for c in header])
        starts.append(line)
        line += len(io.StringIO(one.getvalue(), newline="").readlines())
        buf.write(one.getvalue())
    path.write_text(buf.getvalue(), encoding="utf-8", newline="")
    return starts


def _check_result(res, n_rows: int, starts: list[int]) -> None:
    assert res.n_rows == res.n_valid + res.n_quarantined == n_rows
    q_lines = res.quarantined["line"].tolist()
    assert len(set(q_lines)) == len(q_lines)
    assert set(q_lines) <= set(starts)
    assert set(res.problems["line"]) == set(q_lines)
    valid = res.valid
    dtypes = canonical_dtypes()
    for col in valid.columns:
        if col in dtypes:
            assert str(valid[col].dtype) == str(dtypes[col]), col
    assert not valid[list(REQUIRED_COLUMNS)].isna().any().any()
    if len(valid):
        MatrixSchema.validate(valid)


# ------------------------------------------------------------ properties


@settings(max_examples=examples(25), **SETTINGS)
@given(data=matrices())
def test_every_row_is_valid_or_quarantined_with_its_reasons(workdir, data):
    header, rows, good = data
    path = workdir / "m.csv"
    starts = _write(path, header, rows)
    res = read_matrix(path)  # a file with a full header and rows is never unusable
    _check_result(res, len(rows), starts)
    ids = [r["person_id"].strip() for r in rows]
    valid_lines = set(starts) - set(res.quarantined["line"])
    for row, is_good, start in zip(rows, good, starts, strict=True):
        if is_good and ids.count(row["person_id"].strip()) == 1:
            assert start in valid_lines, res.problem_lines()


@settings(max_examples=examples(10), **SETTINGS)
@given(data=matrices())
def test_cli_exit_code_says_whether_rows_were_quarantined(workdir, data):
    header, rows, _ = data
    path = workdir / "cli.csv"
    _write(path, header, rows)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["validate", str(path), "--limit", "0"])
    assert code in (0, 1)
    first = out.getvalue().splitlines()[0]
    assert (code == 0) == first.endswith(" 0 quarantined"), first
    assert "Traceback" not in err.getvalue()


@settings(max_examples=examples(10), **SETTINGS)
@given(body=st.text(alphabet=st.sampled_from(list('abc019-,;"\n\r \t=é')), max_size=300), extra=st.booleans())
def test_any_text_under_a_good_header_is_read_or_refused_cleanly(workdir, body, extra):
    header = ",".join(list(ALL_COLUMNS) + (["note"] if extra else []))
    path = workdir / "any.csv"
    path.write_text(header + "\n" + body, encoding="utf-8", newline="")
    try:
        res = read_matrix(path)
    except MatrixFileError as exc:
        assert str(exc).startswith(str(path) + ":")
        return
    assert res.n_rows == res.n_valid + res.n_quarantined >= 1
    assert set(res.problems["line"]) == set(res.quarantined["line"])
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["validate", str(path)])
    assert code == res.exit_code


@settings(max_examples=examples(20), **SETTINGS)
@given(data=st.binary(max_size=400))
def test_arbitrary_bytes_never_crash(workdir, data):
    path = workdir / "bytes.csv"
    path.write_bytes(data)
    try:
        res = read_matrix(path)
    except MatrixFileError:
        return
    assert res.n_rows == res.n_valid + res.n_quarantined
