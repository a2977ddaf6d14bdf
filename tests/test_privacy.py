"""Data protection: pseudonymisation, the audit log, the publication scan."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import stat
import subprocess
import threading

import pandas as pd
import pytest

from fairness.cli import main
from fairness.io.safe_write import RowLevelOutputError
from fairness.io.validation import read_matrix
from fairness.publish import privacy
from fairness.publish.privacy import (
    AuditLogError,
    PseudonymKeyError,
    PublicationLeakError,
    audit_log_path,
    load_key,
    log_event,
    log_read,
    pseudonymise_file,
    pseudonymise_ids,
    scan_publication,
)
from tests.conftest import good_row

KEY = b"correct horse battery staple"
# Reference values from an independent implementation (OpenSSL 3):
#   printf %s P000123 | openssl dgst -sha256 -hmac "correct horse battery staple"
#   -> b6514331ace4df308c5b0f974be14b0522142e66eb1646b42635441a3b8c66f9
#   printf %s 123 | openssl dgst -sha256 -hmac "correct horse battery staple"
#   -> cfa3f5141d486921225fa4757dcfc9e2d91f30db865ad486db807a72a044bf8e
P000123 = "p_b6514331ace4df308c5b0f974be14b05"
P123 = "p_cfa3f5141d486921225fa4757dcfc9e2"


@pytest.fixture(autouse=True)
def audit_log(tmp_path, monkeypatch):
    """Every test logs to its own file, never to the user's real audit log."""
    path = tmp_path / "state" / "audit.log"
    monkeypatch.setenv("FAIRNESS_AUDIT_LOG", str(path))
    monkeypatch.delenv("FAIRNESS_PSEUDONYM_KEY", raising=False)
    monkeypatch.delenv("FAIRNESS_AUDIT_PURPOSE", raising=False)
    return path


def _csv(path, rows, header=None, *, newline="\n"):
    """Write rows with csv.writer (quoting as needed) and return the path as str."""
    header = header or list(rows[0])
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator=newline)
    w.writerow(header)
    for r in rows:
        w.writerow([r.get(c, "") for c in header])
    path.write_bytes(buf.getvalue().encode("utf-8"))
    return str(path)


def _records(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


# ================================================================ keys


def test_load_key_from_environment(monkeypatch):
    monkeypatch.setenv("FAIRNESS_PSEUDONYM_KEY", "  " + KEY.decode() + "\n")
    assert load_key() == KEY


def test_load_key_from_file_stripped_and_preferred_to_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("FAIRNESS_PSEUDONYM_KEY", "another key of enough length")
    f = tmp_path / "pseudonym.key"
    f.write_bytes(KEY + b"\n")
    f.chmod(0o600)
    assert load_key(f) == KEY


def test_no_key_says_how_to_provide_one():
    with pytest.raises(PseudonymKeyError) as e:
        load_key()
    assert "FAIRNESS_PSEUDONYM_KEY" in str(e.value) and "--key-file" in str(e.value)


@pytest.mark.parametrize("value", ["", "   "])
def test_empty_environment_key_refused(monkeypatch, value):
    monkeypatch.setenv("FAIRNESS_PSEUDONYM_KEY", value)
    with pytest.raises(PseudonymKeyError, match="set but empty"):
        load_key()


def test_short_key_refused(monkeypatch):
    monkeypatch.setenv("FAIRNESS_PSEUDONYM_KEY", "x" * 15)
    with pytest.raises(PseudonymKeyError, match="15 bytes long; at least 16"):
        load_key()
    monkeypatch.setenv("FAIRNESS_PSEUDONYM_KEY", "x" * 16)
    assert len(load_key()) == 16


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_key_file_readable_by_others_refused(tmp_path):
    f = tmp_path / "k"
    f.write_bytes(KEY)
    f.chmod(0o644)
    with pytest.raises(PseudonymKeyError, match="chmod 600"):
        load_key(f)


def test_key_file_inside_a_git_repository_refused(tmp_path):
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    f = tmp_path / "repo" / "secrets" / "k"
    f.parent.mkdir()
    f.write_bytes(KEY)
    f.chmod(0o600)
    with pytest.raises(PseudonymKeyError, match="inside a git repository"):
        load_key(f)


def test_missing_key_file_does_not_echo_its_path(tmp_path):
    with pytest.raises(PseudonymKeyError) as e:
        load_key(tmp_path / "my-secret-typed-by-mistake")
    assert "my-secret-typed-by-mistake" not in str(e.value)


# ======================================================= pseudonymise_ids


def test_pseudonyms_match_an_independent_hmac_implementation():
    out = pseudonymise_ids(pd.Series(["P000123", " P000123 ", 123]), KEY)
    assert out.tolist() == [P000123, P000123, P123]


def test_missing_and_empty_ids_stay_missing():
    ids = pd.Series(["A1", "", None, float("nan")], index=[10, 11, 12, 13], name="person_id")
    out = pseudonymise_ids(ids, KEY)
    assert out.index.tolist() == [10, 11, 12, 13] and out.name == "person_id"
    assert out[10].startswith("p_") and len(out[10]) == 34
    assert out[11] == "" and pd.isna(out[12]) and pd.isna(out[13])
    assert ids.tolist()[:2] == ["A1", ""]  # input not changed


def test_different_keys_give_different_pseudonyms_and_case_matters():
    a = pseudonymise_ids(pd.Series(["P1", "p1"]), KEY)
    b = pseudonymise_ids(pd.Series(["P1"]), KEY + b"!")
    assert a[0] != a[1] and a[0] != b[0]


def test_pseudonymise_ids_rejects_a_short_or_text_key():
    with pytest.raises(PseudonymKeyError):
        pseudonymise_ids(pd.Series(["P1"]), b"short")
    with pytest.raises(TypeError, match="bytes"):
        pseudonymise_ids(pd.Series(["P1"]), KEY.decode())


# ======================================================= pseudonymise_file


def _two_quarters(tmp_path):
    q4 = [good_row("P000123"), good_row("P2", borough="Tower Hamlets", age="5"), good_row("P3")]
    q1 = [good_row("P000123", snapshot_date="2019-03-31", last_reviewed="2019-03-01")]
    return _csv(tmp_path / "q4.csv", q4), _csv(tmp_path / "q1.csv", q1)


def test_csv_other_cells_unchanged_and_quarantined_rows_counted(tmp_path):
    src = tmp_path / "m.csv"
    src.write_bytes(
        b"person_id,snapshot_date,borough,ethnicity,sex,age,harm_score,risk_band,note\r\n"
        b'P000123,2018-12-31,"Tower Hamlets",Black,Male,17,0,Green,"said ""hi"", left"\r\n'
        b"P2 ,2018-12-31,Hackney,Black,Male,5,0.50,Green,\r\n"  # age 5: quarantined
        b",2018-12-31,Hackney,White,Female,20,1e1,Red,no id\r\n"
        b'"P 4",2018-12-31,Hackney,Black,Male,"17",0,Green,"multi\r\nline"'  # no final newline
    )
    out = tmp_path / "out" / "p.csv"
    n = pseudonymise_file(src, out, key=KEY)
    assert n == 3
    got = out.read_bytes().split(b"\r\n")
    want = src.read_bytes().split(b"\r\n")
    assert len(got) == len(want)
    assert got[0] == want[0]
    assert got[1] == f'{P000123},2018-12-31,"Tower Hamlets",Black,Male,17,0,Green,"said ""hi"", left"'.encode()
    assert got[2].split(b",", 1)[1] == want[2].split(b",", 1)[1]  # "P2 " → pseudonym, rest identical
    assert got[3] == want[3]  # no id: untouched
    assert got[4].split(b",", 1)[1] == want[4].split(b",", 1)[1] and got[5] == b'line"'
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    # the pseudonymised file validates exactly like the original
    a, b = read_matrix(src), read_matrix(out)
    assert (a.n_valid, a.n_quarantined) == (b.n_valid, b.n_quarantined) == (2, 2)


def test_stable_across_quarters_and_formats(tmp_path):
    q4, q1 = _two_quarters(tmp_path)
    pseudonymise_file(q4, tmp_path / "q4p.csv", key=KEY)
    pseudonymise_file(q1, tmp_path / "q1p.parquet", key=KEY)
    pseudonymise_file(q4, tmp_path / "q4p.parquet", key=KEY)
    a = pd.read_csv(tmp_path / "q4p.csv", dtype=str)["person_id"]
    b = pd.read_parquet(tmp_path / "q1p.parquet")["person_id"]
    c = pd.read_parquet(tmp_path / "q4p.parquet")["person_id"]
    assert a[0] == b[0] == c[0] == P000123
    assert a.tolist() == c.tolist() and a.str.match(r"^p_[0-9a-f]{32}$").all()


def test_csv_to_parquet_keeps_every_cell_as_text(tmp_path):
    q4, _ = _two_quarters(tmp_path)
    pseudonymise_file(q4, tmp_path / "p.parquet", key=KEY)
    out = pd.read_parquet(tmp_path / "p.parquet")
    src = pd.read_csv(q4, dtype=str, keep_default_na=False)
    assert list(out.columns) == list(src.columns)
    pd.testing.assert_frame_equal(out.drop(columns="person_id"), src.drop(columns="person_id"))
    res = read_matrix(tmp_path / "p.parquet")
    assert (res.n_valid, res.n_quarantined) == (2, 1)


def test_parquet_keeps_types_of_other_columns_and_numeric_ids_agree_with_csv(tmp_path):
    frame = pd.DataFrame([good_row("123"), good_row("124")])
    frame["person_id"] = [123, 124]
    frame["age"] = [17, 18]
    frame["harm_score"] = [0.0, 2.5]
    frame["snapshot_date"] = pd.to_datetime(frame["snapshot_date"])
    frame.to_parquet(tmp_path / "m.parquet")
    assert pseudonymise_file(tmp_path / "m.parquet", tmp_path / "p.parquet", key=KEY) == 2
    out = pd.read_parquet(tmp_path / "p.parquet")
    assert out["person_id"].tolist()[0] == P123
    assert out["age"].dtype == "int64" and out["harm_score"].tolist() == [0.0, 2.5]
    assert str(out["snapshot_date"].dtype).startswith("datetime64")
    assert read_matrix(tmp_path / "p.parquet").n_valid == 2
    # Parquet to CSV: values written as read_matrix reads them
    pseudonymise_file(tmp_path / "m.parquet", tmp_path / "p.csv", key=KEY)
    text = (tmp_path / "p.csv").read_text()
    assert f"{P123},2018-12-31,Hackney" in text
    assert stat.S_IMODE(os.stat(tmp_path / "p.csv").st_mode) == 0o600


def test_formula_cells_neutralised_in_csv_output(tmp_path):
    rows = [good_row('=HYPERLINK("http://x","click")') | {"note": '=HYPERLINK("http://x","click")'},
            good_row("P2") | {"note": "-3"}]
    src = _csv(tmp_path / "m.csv", rows)
    pseudonymise_file(src, tmp_path / "p.csv", key=KEY)
    cells = [c for row in csv.reader(open(tmp_path / "p.csv", newline="")) for c in row]
    assert "'=HYPERLINK(\"http://x\",\"click\")" in cells and "-3" in cells
    assert not any(c[:1] in ("=", "+", "@") for c in cells)


def test_output_refused_under_reports_or_over_the_input(tmp_path):
    q4, _ = _two_quarters(tmp_path)
    with pytest.raises(RowLevelOutputError):
        pseudonymise_file(q4, tmp_path / "reports" / "p.csv", key=KEY)
    with pytest.raises(ValueError, match="overwrite the input"):
        pseudonymise_file(q4, q4, key=KEY)
    with pytest.raises(ValueError, match="expected .csv or .parquet"):
        pseudonymise_file(q4, tmp_path / "p.xlsx", key=KEY)
    assert not (tmp_path / "reports").exists()


def test_pseudonymising_twice_is_refused(tmp_path):
    q4, _ = _two_quarters(tmp_path)
    pseudonymise_file(q4, tmp_path / "p.csv", key=KEY)
    with pytest.raises(ValueError, match="already looks like a pseudonym"):
        pseudonymise_file(tmp_path / "p.csv", tmp_path / "pp.csv", key=KEY)


def test_ragged_csv_to_parquet_refused_but_csv_kept(tmp_path):
    src = tmp_path / "m.csv"
    row = good_row("P1")
    src.write_text(",".join(row) + "\n" + ",".join(row.values()) + "\nP2,2018-12-31,Hackney\n")
    with pytest.raises(ValueError, match="line 3"):
        pseudonymise_file(src, tmp_path / "p.parquet", key=KEY)
    assert pseudonymise_file(src, tmp_path / "p.csv", key=KEY) == 2
    assert (tmp_path / "p.csv").read_text().splitlines()[2].endswith(",2018-12-31,Hackney")


# ======================================================= the CLI command


def test_cli_pseudonymise_writes_logs_and_reports_count(tmp_path, monkeypatch, capsys, audit_log):
    q4, _ = _two_quarters(tmp_path)
    monkeypatch.setenv("FAIRNESS_PSEUDONYM_KEY", KEY.decode())
    out = tmp_path / "p.csv"
    assert main(["pseudonymise", q4, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "3 rows pseudonymised" in printed and "1 quarantined" in printed
    (rec,) = _records(audit_log)
    assert rec["command"] == "pseudonymise" and rec["operation"] == "alteration"
    assert rec["outputs"] == [str(out.resolve())]
    assert rec["counts"] == {"rows": 3, "valid": 2, "quarantined": 1}


def test_cli_pseudonymise_without_key_exits_2_and_writes_nothing(tmp_path, capsys):
    q4, _ = _two_quarters(tmp_path)
    assert main(["pseudonymise", q4, "--out", str(tmp_path / "p.csv")]) == 2
    err = capsys.readouterr().err
    assert "FAIRNESS_PSEUDONYM_KEY" in err and "--key-file" in err and "Traceback" not in err
    assert not (tmp_path / "p.csv").exists()


def test_cli_never_takes_the_key_itself(tmp_path, capsys):
    """argparse would expand --key to --key-file; the value must not be echoed."""
    q4, _ = _two_quarters(tmp_path)
    code = main(["pseudonymise", q4, "--out", str(tmp_path / "p.csv"), "--key", "hunter2hunter2hunter2"])
    assert code == 2
    assert "hunter2" not in capsys.readouterr().err


def test_cli_key_file(tmp_path, capsys):
    q4, _ = _two_quarters(tmp_path)
    key = tmp_path / "k"
    key.write_bytes(KEY)
    key.chmod(0o600)
    assert main(["pseudonymise", q4, "--out", str(tmp_path / "p.parquet"), "--key-file", str(key)]) == 0
    assert pd.read_parquet(tmp_path / "p.parquet")["person_id"][0] == P000123


def test_cli_pseudonymise_stops_before_writing_if_the_log_cannot_be_written(tmp_path, monkeypatch, capsys):
    q4, _ = _two_quarters(tmp_path)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("FAIRNESS_AUDIT_LOG", str(blocker / "audit.log"))
    monkeypatch.setenv("FAIRNESS_PSEUDONYM_KEY", KEY.decode())
    assert main(["pseudonymise", q4, "--out", str(tmp_path / "p.csv")]) == 2
    assert "s.62" in capsys.readouterr().err
    assert not (tmp_path / "p.csv").exists()


# ================================================================ audit log


def test_audit_log_path_default_and_override(monkeypatch, tmp_path):
    monkeypatch.delenv("FAIRNESS_AUDIT_LOG")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert audit_log_path() == tmp_path / "xdg" / "fairness" / "audit.log"
    monkeypatch.setenv("XDG_STATE_HOME", "relative/ignored")  # XDG: relative paths are invalid
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert audit_log_path() == tmp_path / "home" / ".local" / "state" / "fairness" / "audit.log"
    monkeypatch.setenv("FAIRNESS_AUDIT_LOG", "OFF")
    assert audit_log_path() is None


def test_validate_logs_one_line_with_counts_and_no_row_data(tmp_path, capsys, audit_log):
    rows = [good_row("SECRETPERSON1"), good_row("SECRETPERSON2", borough="Nowhereville")]
    path = _csv(tmp_path / "m.csv", rows)
    assert main(["validate", path]) == 1
    main(["validate", path])
    text = audit_log.read_text()
    assert "SECRETPERSON" not in text and "Nowhereville" not in text and "Hackney" not in text
    first, second = _records(audit_log)
    assert set(first) == {
        "time", "user", "host", "pid", "command", "operation", "purpose", "input", "sha256",
        "counts", "outputs", "version",
    }
    assert first["command"] == "validate" and first["operation"] == "consultation"
    assert first["input"] == os.path.abspath(path)
    assert first["sha256"] == read_matrix(path).sha256
    assert first["counts"] == {"rows": 2, "valid": 1, "quarantined": 1}
    assert first["time"].endswith("Z") and first["time"] <= second["time"]
    from fairness import __version__

    assert first["version"] == __version__


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_audit_log_created_owner_only(tmp_path, audit_log):
    log_event("validate", counts={"rows": 1})
    assert stat.S_IMODE(os.stat(audit_log).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(audit_log.parent).st_mode) == 0o700


def test_log_read_takes_counts_from_the_result(tmp_path, audit_log):
    res = read_matrix(_csv(tmp_path / "m.csv", [good_row("A"), good_row("B")]))
    rec = log_read(command="audit", result=res, outputs=[tmp_path / "a.json"])
    first, second = _records(audit_log)
    assert first["command"] == "read_matrix" and first["outputs"] == []  # read_matrix logs itself
    assert rec == second
    assert rec["counts"] == {"rows": 2, "valid": 2, "quarantined": 0}
    assert rec["outputs"] == [str(tmp_path / "a.json")]


def test_purpose_is_recorded(monkeypatch, audit_log):
    monkeypatch.setenv("FAIRNESS_AUDIT_PURPOSE", "MOPAC quarterly scrutiny 2018Q4")
    log_event("validate")
    assert _records(audit_log)[0]["purpose"] == "MOPAC quarterly scrutiny 2018Q4"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"counts": {"rows": "P1"}},
        {"counts": {"rows": 1.5}},
        {"counts": {"rows": True}},
        {"counts": {"P1 Hackney": 1}},
        {"sha256": "P000123"},
    ],
)
def test_log_event_refuses_anything_but_counts(kwargs, audit_log):
    with pytest.raises(ValueError, match="never holds row-level data"):
        log_event("validate", **kwargs)
    with pytest.raises(ValueError):
        log_event("validate P000123")
    assert not audit_log.exists()


def test_concurrent_runs_do_not_interleave(audit_log):
    def work(i):
        for j in range(50):
            log_event("validate", counts={"rows": i * 1000 + j}, outputs=["x" * 3000])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    records = _records(audit_log)  # every line parses
    assert sorted(r["counts"]["rows"] for r in records) == sorted(i * 1000 + j for i in range(8) for j in range(50))


def test_unwritable_log_fails_the_command(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("FAIRNESS_AUDIT_LOG", str(blocker / "audit.log"))
    with pytest.raises(AuditLogError, match="s.62"):
        log_event("validate")
    path = _csv(tmp_path / "m.csv", [good_row()])
    assert main(["validate", path]) == 2
    err = capsys.readouterr().err
    assert "cannot write the audit log" in err and "FAIRNESS_AUDIT_LOG" in err


def test_log_off_warns_and_writes_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FAIRNESS_AUDIT_LOG", "off")
    rec = log_event("validate", counts={"rows": 3})
    assert rec["counts"] == {"rows": 3}
    assert "audit log disabled" in capsys.readouterr().err


# ========================================================= publication scan

IDS = ["P000123", "GVM-2018-001", "AB", "7", "p_0207fd391be52a0de280fb6b07f9466e"]


def _hint(pid):
    return privacy._id_hint(pid)


def test_clean_text_passes_and_reports_what_was_checked():
    scan = scan_publication("In 2018Q4, 12 people were added. Table 7 shows boroughs.", person_ids=["P000123"])
    assert scan.n_ids == 1 and scan.sources == ("<text>",)


def test_id_in_text_is_found_without_printing_it():
    text = "Overview\nThe record (p000123). was reviewed"
    with pytest.raises(PublicationLeakError) as e:
        scan_publication(text, person_ids=IDS)
    msg = str(e.value)
    assert "P000123" not in msg and "p000123" not in msg
    assert _hint("P000123") in msg and "line 2, character 13" in msg
    f = e.value.findings
    assert list(f.columns) == ["source", "kind", "location", "detail"]
    assert f["kind"].tolist() == ["person_id"]


@pytest.mark.parametrize(
    "text,found",
    [
        ("P0001234 XP000123 P000123x", False),  # word boundaries
        ("ref:P000123;", True),
        ("GVM-2018-001.", True),
        ("GVM-2018-0011 and GVM-2018", False),
        ("AB-12 and ABC", False),  # short ids: whole tokens only
        ("see (AB).", True),
        ("12.7 and 7% and -7 and #7", False),
        ("7 people", True),  # a short numeric id cannot be told from a number
    ],
)
def test_id_matching_rules(text, found):
    if found:
        with pytest.raises(PublicationLeakError):
            scan_publication(text, person_ids=IDS)
    else:
        scan_publication(text, person_ids=IDS)


def test_tables_are_checked_for_ids_and_small_counts():
    table = pd.DataFrame({"group": ["Black", "White", "P000123"], "count": [7, 0, 12], "n": [40, 40, 40]})
    with pytest.raises(PublicationLeakError) as e:
        scan_publication(table, person_ids=IDS[:3])
    f = e.value.findings
    assert sorted(f["kind"]) == ["person_id", "small_count"]
    assert f.loc[f["kind"] == "small_count", "location"].item() == "row 0, column 'count'"
    assert f.loc[f["kind"] == "person_id", "location"].item() == "row 2, column 'group'"
    assert "count 7 (below 10)" in str(e.value)
    scan_publication(pd.DataFrame({"group": ["a", "b"], "count": [0, 12]}), person_ids=IDS)
    scan_publication(pd.DataFrame({"count": [7]}), person_ids=[], threshold=5)
    # a labelled index is data; a default 0, 1, 2 … index is not
    scan_publication(pd.DataFrame({"count": [10] * 9}), person_ids=["7"])
    with pytest.raises(PublicationLeakError, match="row label 'P000123'"):
        scan_publication(pd.DataFrame({"count": [10]}, index=["P000123"]), person_ids=IDS)


def test_files_and_folders(tmp_path):
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "report.html").write_text("<p title='x'>All &amp; none: P&#48;00123</p>")
    (tmp_path / "r" / "chart.png").write_bytes(b"\x89PNG")
    (tmp_path / "r" / "table.csv").write_text("group,count\nBlack,[c]\nWhite,15\n")
    with pytest.raises(PublicationLeakError) as e:
        scan_publication(tmp_path / "r", person_ids=IDS)
    assert e.value.findings["source"].tolist() == [str(tmp_path / "r" / "report.html")]
    (tmp_path / "r" / "report.html").write_text("<table><tr><td>AB</td><td>12</td></tr></table>")
    with pytest.raises(PublicationLeakError, match=_hint("AB")):
        scan_publication(tmp_path / "r", person_ids=IDS)
    (tmp_path / "r" / "report.html").write_text("<p>nothing here</p>")
    scan = scan_publication(str(tmp_path / "r"), person_ids=IDS)  # a str naming a folder is a path
    assert scan.skipped == (str(tmp_path / "r" / "chart.png"),)
    assert len(scan.sources) == 2
    (tmp_path / "r" / "table.csv").write_text("group,count\nBlack,3\nWhite,15\n")
    with pytest.raises(PublicationLeakError, match="count 3"):
        scan_publication([tmp_path / "r" / "table.csv"], person_ids=IDS)
    with pytest.raises(ValueError, match="cannot scan files of type"):
        scan_publication(tmp_path / "x.docx", person_ids=IDS)


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs pdftotext")
def test_pdf_text_is_scanned(tmp_path):
    weasyprint = pytest.importorskip("weasyprint")
    weasyprint.HTML(string="<p>Record GVM-2018-001 was removed.</p>").write_pdf(tmp_path / "r.pdf")
    with pytest.raises(PublicationLeakError, match=_hint("GVM-2018-001")):
        scan_publication(tmp_path / "r.pdf", person_ids=IDS)
    assert subprocess.run(["pdftotext", str(tmp_path / "r.pdf"), "-"], capture_output=True).returncode == 0


def test_hundred_thousand_ids_in_a_large_text():
    # Correctness at scale only: how fast the scan is belongs in `make bench`, not
    # in a timed test (a loaded machine made a 5 s limit fail at random).
    ids = [f"P{i:07d}" for i in range(100_000)] + [f"GVM-{i}-X" for i in range(20_000)]
    text = " ".join(f"word{i} 12 people in Hackney, 2018Q4." for i in range(50_000))  # ~2 MB
    scan_publication(text, person_ids=ids)
    with pytest.raises(PublicationLeakError) as e:
        scan_publication(text + " P0099999 GVM-19999-X", person_ids=ids)
    assert len(e.value.findings) == 2


# ============================================= every read logged, before any output


def test_failed_reads_are_logged(tmp_path, capsys, audit_log):
    row = {k: v for k, v in good_row().items() if k != "age"}
    no_age = _csv(tmp_path / "no_age.csv", [row])
    assert main(["validate", no_age]) == 2
    (rec,) = _records(audit_log)
    assert rec["command"] == "validate" and rec["error"] == "MatrixFileError"
    assert rec["input"] == os.path.abspath(no_age) and rec["counts"] == {}
    good = _csv(tmp_path / "m.csv", [good_row("A"), good_row("B")])
    assert main(["audit", good, "--quarter", "1999Q1"]) == 2
    rec = _records(audit_log)[-1]
    assert rec["command"] == "audit" and rec["error"] == "ValueError"
    assert rec["counts"] == {"rows": 2, "valid": 2, "quarantined": 0}  # the file was read
    from fairness.io.validation import MatrixFileError

    with pytest.raises(MatrixFileError):
        read_matrix(tmp_path / "absent.csv")
    rec = _records(audit_log)[-1]
    assert rec["command"] == "read_matrix" and rec["error"] == "MatrixFileError"
    assert "time" in rec and "absent.csv" in rec["input"]
    capsys.readouterr()


@pytest.mark.parametrize(
    "argv",
    [
        ["validate", "{m}", "--quarantine", "{tmp}/private/q.csv"],
        ["audit", "{m}", "--json", "{tmp}/out/audit.json"],
        ["report", "--matrix", "{m}", "--out", "{tmp}/out/reports", "--no-pdf"],
        ["pseudonymise", "{m}", "--out", "{tmp}/private/p.csv"],
    ],
)
@pytest.mark.parametrize("failure", ["unwritable", "full"])
def test_nothing_is_written_when_the_log_cannot_be(tmp_path, monkeypatch, capsys, argv, failure):
    """With a log that cannot take the line, `validate --quarantine` and `audit --json` used to
    write their files and then exit 2. "full": the log opens (the check before work passes) but
    the line cannot be written, as on a full disk."""
    from fairness.io import audit_log

    m = _csv(tmp_path / "m.csv", [good_row("A"), good_row("B", age="5")])
    if failure == "unwritable":
        blocker = tmp_path / "not-a-folder"
        blocker.write_text("")
        monkeypatch.setenv("FAIRNESS_AUDIT_LOG", str(blocker / "audit.log"))
    else:
        real = audit_log._append

        def full_disk(path, data):
            if data:
                raise AuditLogError(audit_log.ERR_AUDIT_WRITE.format(path=path, error="No space left on device",
                                                                     env="FAIRNESS_AUDIT_LOG"))
            real(path, data)

        monkeypatch.setattr(audit_log, "_append", full_disk)
    monkeypatch.setenv("FAIRNESS_PSEUDONYM_KEY", KEY.decode())
    assert main([a.format(m=m, tmp=tmp_path) for a in argv]) == 2
    assert "s.62" in capsys.readouterr().err
    assert not (tmp_path / "private").exists() and not (tmp_path / "out").exists()


def test_the_python_api_logs_as_the_cli_does(tmp_path, audit_log):
    import fairness

    m = _csv(tmp_path / "m.csv", [good_row("A"), good_row("B", age="5")])
    fairness.read_matrix(m)
    fairness.audit(m)
    out = tmp_path / "private" / "p.csv"
    pseudonymise_file(m, out, key=KEY)
    records = _records(audit_log)
    assert [r["command"] for r in records] == ["read_matrix", "audit", "pseudonymise_file"]
    assert all(r["input"] == os.path.abspath(m) and r["counts"] == {"rows": 2, "valid": 1, "quarantined": 1}
               for r in records)
    assert records[2]["operation"] == "alteration" and records[2]["outputs"] == [str(out)]
    fairness.audit(fairness.read_matrix(m))  # a result, not a path: one read, one line
    assert len(_records(audit_log)) == 4


def test_pseudonymise_file_refuses_before_reading(tmp_path, audit_log):
    m = _csv(tmp_path / "m.csv", [good_row("A")])
    (tmp_path / "link.csv").symlink_to(m)
    with pytest.raises(ValueError, match="would overwrite the input"):
        pseudonymise_file(m, tmp_path / "link.csv", key=KEY)
    assert not audit_log.exists()


def test_log_times_are_iso_8601_utc(audit_log):
    import datetime as dt

    rec = log_event("validate")
    when = dt.datetime.fromisoformat(rec["time"].replace("Z", "+00:00"))
    assert when.utcoffset() == dt.timedelta(0) and abs((dt.datetime.now(dt.UTC) - when).total_seconds()) < 60
    assert _records(audit_log)[0]["time"] == rec["time"]


def test_duckdb_audit_of_a_path_is_logged(tmp_path, audit_log):
    import fairness

    path = tmp_path / "m.parquet"
    pd.DataFrame([good_row(f"P{i}") for i in range(3)]).to_parquet(path, index=False)
    fairness.audit(path, engine="duckdb")
    (rec,) = _records(audit_log)
    assert rec["command"] == "audit" and rec["input"] == str(path)
    assert rec["counts"] == {"rows": 3, "valid": 3, "quarantined": 0} and len(rec["sha256"]) == 64
