"""Tests for fairness.counts.duck: Parquet validated and counted in DuckDB equals the in-memory path.

The oracle is ``read_matrix`` followed by ``fairness.results.audit`` on the same file
(itself checked against the record-level functions in tests/test_cube.py).
Three files from the synthetic matrix (scale 0.2): Parquet with typed columns
and planted problems (values out of range, dates out of order or out of
pandas' range, unknown and lower-case boroughs, padded ids, missing values,
duplicates of every kind), and the same rows with every column as text. The
validation problems must be identical line by line, and every audit table
value by value.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import statsmodels.api  # noqa: F401  (imported first: it installs warning filters of its own)

import fairness
from fairness import read_matrix, synth
from fairness.counts.duck import ParquetValidation, validate_parquet

pytestmark = pytest.mark.filterwarnings("ignore")


def _plant(table: pa.Table, seed: int = 5) -> pa.Table:
    """Problems of every kind, at fixed rows, in a typed table."""
    cols = {n: table.column(n).to_pylist() for n in table.column_names}
    rng = np.random.default_rng(seed)
    n = table.num_rows
    pick = iter(rng.permutation(n).tolist())

    def rows(k):
        return [next(pick) for _ in range(k)]

    for i in rows(15):
        cols["age"][i] = int(rng.choice([5, 120, -1]))
    for i in rows(15):
        cols["harm_score"][i] = float(rng.choice([-1.0, np.inf, np.nan, 1e300]))
    for i in rows(15):
        cols["date_added"][i] = dt.date(2030, 1, 1)
    for i in rows(8):
        cols["last_reviewed"][i] = dt.date(9999, 12, 31)
    for i in rows(20):
        cols["borough"][i] = str(rng.choice(["hackney", "Narnia", " Brent", "WESTMINSTER"]))
    for i in rows(6):
        cols["borough"][i] = None
    for i in rows(10):
        cols["person_id"][i] = " " + cols["person_id"][i] + " "  # padded: valid once stripped
    for i in rows(6):
        cols["person_id"][i] = cols["person_id"][i] + "\t"
    for i in rows(10):
        cols["victim_flag"][i] = None
    for i in rows(6):
        cols["snapshot_date"][i] = None
    for i in rows(4):
        cols["person_id"][i] = "x" * 201
    # duplicates: a row copied into another borough, a padded copy, a copy with a bad age
    extra = {n: [] for n in cols}
    for k, i in enumerate(rows(12)):
        for name in cols:
            extra[name].append(cols[name][i])
        if k % 3 == 0:
            extra["borough"][-1] = "Brent" if cols["borough"][i] != "Brent" else "Hackney"
        elif k % 3 == 1 and extra["person_id"][-1]:
            extra["person_id"][-1] = " " + str(extra["person_id"][-1])
        else:
            extra["age"][-1] = 7
    arrays = [pa.array(cols[f.name] + extra[f.name], type=f.type) for f in table.schema]
    return pa.Table.from_arrays(arrays, schema=table.schema)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("duck")
    result = synth.generate("gvm-history", scale=0.2)
    clean = folder / "clean.parquet"
    synth.write(result, clean)
    typed = _plant(pq.read_table(clean))
    pq.write_table(typed, folder / "typed.parquet", row_group_size=4000)
    text = pa.Table.from_pydict({
        name: pa.array([None if v is None else (v.isoformat() if hasattr(v, "isoformat") else str(v))
                        for v in typed.column(name).to_pylist()], type=pa.string())
        for name in typed.column_names
    })
    pq.write_table(text.append_column("note", pa.array(["x" * (10_001 if i == 7 else 3) for i in range(len(text))])),
                   folder / "text.parquet")
    parts = folder / "parts"
    parts.mkdir()
    half = typed.num_rows // 2
    pq.write_table(typed.slice(0, half), parts / "a.parquet", row_group_size=3000)
    pq.write_table(typed.slice(half), parts / "b.parquet", row_group_size=3000)
    frame = text.to_pandas().fillna("")
    frame.to_csv(folder / "plain.csv", index=False)  # the fast path: no quotes, every line the header's width
    lines = (folder / "plain.csv").read_text(encoding="utf-8").splitlines()
    lines[40] = lines[40] + ",extra"  # a line with too many fields
    lines[41] = lines[41].rsplit(",", 3)[0]  # a truncated line
    lines[50] = lines[50].replace(",", ',"two\nlines",', 1).replace(lines[50].split(",")[1] + ",", "", 1)
    lines.insert(60, "")  # a blank line inside the file
    messy = "\ufeff" + "\r\n".join(lines) + "\r\n" + "," * (len(frame.columns) - 1) + "\r\n"
    (folder / "messy.csv").write_bytes(messy.encode("utf-8"))  # BOM, CRLF, a quoted newline, a row of commas
    return {"typed": str(folder / "typed.parquet"), "text": str(folder / "text.parquet"), "parts": str(parts),
            "csv": str(folder / "plain.csv"), "messy": str(folder / "messy.csv")}


@pytest.fixture(scope="module")
def oracle(files):
    """The oracle, worked out once per file (and per quarter): ``read_matrix`` of ``files[kind]``, and
    ``fairness.audit`` of it. Several tests compare with the same one; neither is changed by a test."""
    cache: dict[tuple, object] = {}

    def get(kind: str, *, audit: bool = False, quarter: str | None = None):
        if (kind,) not in cache:
            cache[(kind,)] = read_matrix(files[kind])
        if not audit:
            return cache[(kind,)]
        if (kind, quarter) not in cache:
            cache[(kind, quarter)] = fairness.audit(cache[(kind,)], quarter=quarter)
        return cache[(kind, quarter)]

    return get


def _plain(table: pd.DataFrame) -> pd.DataFrame:
    out = table.reset_index(drop=True).copy()
    for c in out.columns:
        if out[c].dtype == object or str(out[c].dtype) == "str":
            out[c] = out[c].astype(object)
    return out


def assert_same_validation(duck: ParquetValidation, memory) -> None:
    pd.testing.assert_frame_equal(duck.problems, memory.problems, check_exact=True)
    pd.testing.assert_frame_equal(duck.quarantined, memory.quarantined, check_exact=True)
    for name in ("n_rows", "n_valid", "n_quarantined", "notes", "unknown_columns", "line_label", "exit_code"):
        assert getattr(duck, name) == getattr(memory, name), name
    assert [line.replace(duck.source, "<file>", 1) for line in duck.problem_lines()] == [
        line.replace(memory.source, "<file>", 1) for line in memory.problem_lines()]
    pd.testing.assert_frame_equal(duck.quarantine_reasons(), memory.quarantine_reasons())


def assert_same_audit(duck, memory) -> None:
    for name, table in memory.tables().items():
        pd.testing.assert_frame_equal(_plain(duck.tables()[name]), _plain(table), check_exact=False,
                                      rtol=1e-9, atol=1e-12, obj=name)
    for name in ("quarter", "quarters", "n", "quarantined", "n_rows", "band_status", "band_reason", "notes"):
        assert getattr(duck, name) == getattr(memory, name), name


@pytest.mark.parametrize("kind", ["typed", "text"])
def test_validation_equals_read_matrix(files, oracle, kind):
    memory = oracle(kind)
    duck = validate_parquet(files[kind])
    assert memory.n_quarantined > 80
    assert_same_validation(duck, memory)
    assert duck.sha256 == memory.sha256
    assert duck.valid.empty and duck.n_valid == memory.n_valid


@pytest.mark.parametrize("kind", ["csv", "messy"])
def test_csv_validation_equals_read_matrix(files, oracle, kind):
    """A CSV file, read by DuckDB, reports what read_matrix reports: every problem, on its file line."""
    memory = oracle(kind)
    duck = validate_parquet(files[kind])
    assert memory.n_quarantined > 80 and memory.line_label == "line"
    assert_same_validation(duck, memory)
    assert duck.sha256 == memory.sha256
    if kind == "messy":
        rules = set(memory.problems["rule"])
        assert {"wrong_field_count", "empty_row"} <= rules
        assert memory.problems["line"].max() > memory.n_rows + 1  # lines, not rows: a row spans two lines


@pytest.mark.parametrize(("kind", "quarter"), [("typed", None), pytest.param("typed", "2018Q2", marks=pytest.mark.slow),
                                               pytest.param("text", "2019Q4", marks=pytest.mark.slow),
                                               ("csv", "2019Q4"), ("messy", None)])
def test_audit_equals_in_memory(files, oracle, kind, quarter):
    memory = oracle(kind, audit=True, quarter=quarter)
    duck = fairness.audit(files[kind], quarter=quarter, engine="duckdb")
    assert_same_audit(duck, memory)


def test_a_folder_of_files_is_one_file(files):
    whole = validate_parquet(files["typed"])
    parts = validate_parquet(files["parts"])
    assert_same_validation(parts, whole)  # row numbers run on across the files
    assert parts.source == files["parts"]
    assert_same_audit(fairness.audit(parts, quarter="2019Q1"), fairness.audit(whole, quarter="2019Q1"))


def test_small_memory_limit_and_one_thread(files, oracle, tmp_path):
    memory = oracle("typed")
    duck = validate_parquet(files["typed"], memory_limit="200MB", threads=1, temp_directory=tmp_path / "spill",
                            quarantine_path=tmp_path / "quarantine.csv")
    assert_same_validation(duck, memory)
    written = pd.read_csv(tmp_path / "quarantine.csv", dtype=str, keep_default_na=False)
    assert len(written) == memory.n_quarantined


def test_engines(files, tmp_path):
    from fairness.counts.duck import use_duckdb
    from fairness.errors import MatrixFileError

    with pytest.raises(ValueError, match="engine must be one of auto, pandas, duckdb"):
        fairness.audit(files["typed"], engine="spark")
    csv = tmp_path / "m.csv"
    csv.write_text("person_id\n", encoding="utf-8")
    # every file is read by DuckDB by default, with read_matrix's messages
    with pytest.raises(MatrixFileError) as duck:
        fairness.audit(str(csv), engine="duckdb")
    with pytest.raises(MatrixFileError) as memory:
        fairness.audit(str(csv), engine="pandas")
    assert str(duck.value) == str(memory.value) and "required column(s) snapshot_date" in str(duck.value)
    assert use_duckdb(files["typed"]) and use_duckdb(files["parts"]) and use_duckdb(str(csv))
    assert use_duckdb(files["csv"]) and use_duckdb(str(Path(files["parts"]) / "*.parquet"))
    # in memory, missing, or a folder without Parquet files: not DuckDB's (read_matrix says what is wrong)
    assert not use_duckdb(pd.DataFrame()) and not use_duckdb(tmp_path / "nope.csv") and not use_duckdb(tmp_path)
    with pytest.raises(ValueError, match="engine='duckdb' counts files"):
        fairness.audit(pd.DataFrame({"a": [1]}), engine="duckdb")


@pytest.mark.slow  # three full audits with other options
def test_audit_with_other_options(files, oracle):
    """Other checks parameters and test patterns (on shared_with and a category too), other statistics;
    from the path (counted in the validating scan) and from a ParquetValidation (counted afterwards)."""
    from fairness.checks import ChecksConfig

    config = ChecksConfig(child_age=16, review_days=60, zero_harm_snapshots=2, matrix_start="2016-01-01",
                          test_id_pattern=r"(?i)^gvm00000",
                          test_value_patterns={"shared_with": r"DWP", "borough": r"^Ham"})
    options = {"alpha": 0.1, "method": "mid-p", "adjust": "bh", "no_risk": "victim_only", "checks_config": config,
               "quarter": "2019Q1"}
    memory = fairness.audit(oracle("typed"), **options)
    assert_same_audit(fairness.audit(files["typed"], engine="duckdb", **options), memory)
    assert_same_audit(fairness.audit(validate_parquet(files["typed"]), **options), memory)


def test_command_line_engine(files, oracle, tmp_path, capsys):
    from fairness.cli import main

    memory = oracle("typed")
    assert main(["validate", files["typed"], "--engine", "duckdb", "--limit", "0"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == memory.summary()
    assert out[1:] == memory.problem_lines()
    out_json = tmp_path / "audit.json"
    assert main(["audit", files["typed"], "--engine", "duckdb", "--mode", "internal", "--json", str(out_json)]) == 0
    assert oracle("typed", audit=True).to_json() == out_json.read_text(encoding="utf-8").rstrip("\n")
    csv = tmp_path / "m.csv"
    csv.write_text("person_id\n", encoding="utf-8")
    assert main(["audit", str(csv), "--engine", "duckdb"]) == 2
    assert "required column(s) snapshot_date" in capsys.readouterr().err


# ------------------------------------------------------------ folders and patterns: every file checked (issue 11)


@pytest.fixture
def parts_copy(files, tmp_path):
    import shutil

    folder = tmp_path / "parts"
    shutil.copytree(files["parts"], folder)
    return folder


def _exit_and_error(capsys, *argv):
    from fairness.cli import main

    code = main(list(argv))
    return code, capsys.readouterr().err


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX named pipes")
def test_folder_with_a_fifo_or_a_device_is_refused_before_opening(parts_copy, capsys):
    os.mkfifo(parts_copy / "c.parquet")  # opening it would block for ever
    for engine in ("auto", "duckdb"):
        code, err = _exit_and_error(capsys, "validate", str(parts_copy), "--engine", engine)
        assert code == 2 and "c.parquet: not a regular file (a named pipe (FIFO)" in err
        assert f"error: {parts_copy}: {parts_copy}/c.parquet: " in err  # the folder first, then the file
    os.remove(parts_copy / "c.parquet")
    if os.path.exists("/dev/zero"):
        (parts_copy / "d.parquet").symlink_to("/dev/zero")
        code, err = _exit_and_error(capsys, "audit", str(parts_copy), "--engine", "duckdb")
        assert code == 2 and "d.parquet: not a regular file (a device" in err
        with pytest.raises(fairness.errors.FairnessError, match="a device"):
            fairness.audit(str(parts_copy), engine="duckdb")


def test_pattern_matching_another_file_type_is_refused(parts_copy, capsys):
    (parts_copy / "notes.csv").write_text("person_id\n", encoding="utf-8")
    code, err = _exit_and_error(capsys, "validate", str(parts_copy / "*"), "--engine", "duckdb")
    assert code == 2 and "notes.csv is not a Parquet file (type '.csv')" in err
    # a folder reads only its Parquet files: the CSV beside them is not read
    assert _exit_and_error(capsys, "validate", str(parts_copy), "--engine", "duckdb")[0] == 1


def test_size_limit_applies_to_each_file_and_to_the_total(parts_copy, capsys, monkeypatch):
    sizes = sorted(f.stat().st_size for f in parts_copy.iterdir())
    total = sum(sizes)
    below_one = str(sizes[0] - 1)
    code, err = _exit_and_error(capsys, "validate", str(parts_copy), "--max-bytes", below_one)
    assert code == 2 and f"more than the limit of {int(below_one):,} bytes" in err and ".parquet: the file is" in err
    between = str(total - 1)  # each file is within it, both together are not
    code, err = _exit_and_error(capsys, "audit", str(parts_copy / "*.parquet"), "--engine", "duckdb",
                                "--max-bytes", between)
    assert code == 2 and f"the 2 files hold {total:,} bytes in all, more than the limit of {total - 1:,}" in err
    monkeypatch.setenv("FAIRNESS_MAX_BYTES", between)
    with pytest.raises(fairness.errors.FairnessError, match="in all"):
        validate_parquet(parts_copy)
    assert validate_parquet(parts_copy, max_bytes=total).n_rows > 0  # at the limit: read
    code, err = _exit_and_error(capsys, "validate", str(parts_copy), "--max-columns", "3", "--max-bytes", "1G")
    assert code == 2 and "more than the limit of 3" in err


# ------------------------------------------------------------ a profile of another place (issue 14)


@pytest.fixture(scope="module")
def ew_files(tmp_path_factory):
    """A small matrix of England and Wales (synthetic, scale 0.03) with planted rows: an area by
    its code, by another spelling and in lower case, a group by a Census category the profile maps,
    ages at and beyond the profile's limits (0–120), a London borough (not an area here), a duplicate."""
    folder = tmp_path_factory.mktemp("ew")
    synth.write(synth.generate("gvm-history", scale=0.03, profile="england-wales-forces"), folder / "clean.csv")
    frame = pd.read_csv(folder / "clean.csv", dtype=str, keep_default_na=False)
    planted = {0: {"borough": "E23000002"}, 1: {"borough": "Metropolitan"}, 2: {"borough": "lancashire"},
               3: {"ethnicity": "Asian, Asian British or Asian Welsh: Indian"}, 4: {"age": 0}, 5: {"age": 121},
               6: {"borough": "Hackney"}, 7: {"age": -1}}
    for i, change in planted.items():
        for column, value in change.items():
            frame.at[i, column] = str(value)
    frame = pd.concat([frame, frame.iloc[[10]]], ignore_index=True)  # row 10 twice: both quarantined
    csv = folder / "ew.csv"
    frame.to_csv(csv, index=False)
    parquet = folder / "ew.parquet"
    pd.read_csv(csv, dtype=str, keep_default_na=False).to_parquet(parquet, index=False)
    return {"csv": str(csv), "parquet": str(parquet), "planted": planted}


def test_a_pooled_list_is_refused_by_validate_parquet_and_validated_in_memory_by_validate_file(ew_files,
                                                                                                tmp_path):
    """A profile's list without snapshot dates: validate_parquet raised a private exception naming only
    the path; it now says why and what to use, and validate_file validates it as read_matrix does."""
    from fairness.counts.duck import validate_file
    from fairness.errors import MatrixFileError

    frame = pd.read_csv(ew_files["csv"], dtype=str, keep_default_na=False)
    pooled = tmp_path / "pooled.csv"
    frame[frame["snapshot_date"] == frame["snapshot_date"].max()].drop(columns="snapshot_date").to_csv(
        pooled, index=False)
    with pytest.raises(MatrixFileError) as err:
        validate_parquet(pooled, profile="england-wales-forces")
    assert str(err.value) == (f"{pooled}: it has no snapshot_date column (a pooled list, as the profile allows), "
                              "which the SQL checks do not cover; validate it with fairness.read_matrix (or "
                              "fairness.counts.duck.validate_file, which does so itself)")
    assert_same_validation(validate_file(pooled, profile="england-wales-forces"),
                           read_matrix(pooled, profile="england-wales-forces"))


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_profile_validation_and_audit_equal_in_memory(ew_files, kind):
    profile = "england-wales-forces"
    memory = read_matrix(ew_files[kind], profile=profile)
    duck = validate_parquet(ew_files[kind], profile=profile)
    assert_same_validation(duck, memory)
    # worked by hand from the planted rows: ages 121 and -1 (outside 0–120), Hackney, both copies of row 10;
    # the code, the other spelling, lower case, the mapped Census group and age 0 are valid
    first = 2 if kind == "csv" else 1  # CSV: file lines (header on line 1); Parquet: rows
    assert list(memory.quarantined["line"]) == [i + first for i in (5, 6, 7, 10, memory.n_rows - 1)]
    assert list(memory.problems["column"]) == ["age", "borough", "age", "person_id", "person_id"]
    assert memory.n_valid == memory.n_rows - 5
    from fairness.counts.duck import with_valid_rows

    pd.testing.assert_frame_equal(with_valid_rows(duck).valid, memory.valid)  # typed as read_matrix types them
    assert_same_audit(fairness.audit(ew_files[kind], profile=profile),
                      fairness.audit(ew_files[kind], profile=profile, engine="pandas"))
    by_duck = fairness.audit(duck, profile=profile)
    assert by_duck.n == fairness.audit(memory, profile=profile).n


def test_profile_on_the_command_line(ew_files, capsys):
    from fairness.cli import main

    memory = read_matrix(ew_files["csv"], profile="england-wales-forces")
    assert main(["validate", ew_files["csv"], "--profile", "england-wales-forces", "--limit", "0"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert "note: validated with profile 'england-wales-forces'" in out
    assert out == [memory.summary(), *(f"note: {n}" for n in memory.notes), *memory.problem_lines()]
    assert main(["audit", ew_files["csv"], "--profile", "england-wales-forces", "--mode", "internal"]) == 0


# ------------------------------------------------------------ test patterns on every column (issue 10)

_TYPED_PATTERNS = {"age": r"^1[0-3]$", "harm_score": r"^0\.0$", "date_added": r"^2017-0[1-3]", "victim_flag": "True",
                   "violent_offences_2y": r"^[4-9]$", "last_reviewed": r"-12-", "borough": "^Ham"}


def test_test_patterns_on_typed_columns_by_hand(write_csv):
    """Patterns on numbers, dates and booleans are matched on each value as pandas writes it
    (age 12 -> "12", harm score 0 -> "0.0", a date -> "2017-02-01", true -> "True"), on both engines."""
    from conftest import good_row

    from fairness.checks import ChecksConfig

    rows = [good_row("A", age=12, harm_score=5, victim_flag="false", date_added="2016-05-01"),  # age
            good_row("B", age=30, harm_score=0, victim_flag="false", date_added="2016-05-01"),  # harm 0.0
            good_row("C", age=30, harm_score=5, victim_flag="", date_added="2017-02-01"),  # date_added
            good_row("D", age=30, harm_score=5, victim_flag="false", date_added="2016-05-01"),  # none
            good_row("E", age=11, harm_score=0, victim_flag="true", date_added="2017-01-31")]  # all four
    path = write_csv(rows)
    config = ChecksConfig(test_value_patterns={"age": r"^1[0-3]$", "harm_score": r"^0\.0$",
                                               "date_added": r"^2017-0[1-3]", "victim_flag": "True"})
    results = [fairness.audit(path, checks_config=config, engine=e) for e in ("pandas", "duckdb")]
    for res in results:
        row = res.checks[(res.checks["check"] == "test_data") & (res.checks["borough"] == "All boroughs")]
        assert (int(row["count"].iloc[0]), int(row["n"].iloc[0])) == (4, 5)  # A, B, C and E; not D
        assert not any("test pattern not applied" in n for n in res.notes)
    assert_same_audit(results[1], results[0])


@pytest.mark.parametrize("kind", ["typed", "csv"])
def test_test_patterns_on_typed_columns_equal_in_memory(files, oracle, kind):
    from fairness.checks import ChecksConfig

    config = ChecksConfig(test_value_patterns=_TYPED_PATTERNS)
    memory = fairness.audit(oracle(kind), checks_config=config, quarter="2019Q1")
    duck = fairness.audit(files[kind], checks_config=config, quarter="2019Q1")
    assert_same_audit(duck, memory)
    flagged = memory.checks[(memory.checks["check"] == "test_data") & (memory.checks["quarter"] == "2019Q1")]
    assert flagged["count"].max() > 0
