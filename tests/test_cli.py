"""The command line: every sub-command's exit codes and what it prints or writes."""

from __future__ import annotations

import json
import os
import stat

from fairness.cli import main
from fairness.results.contract import read_json_table
from tests.conftest import good_row


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "validate" in capsys.readouterr().out


def test_validate_exit_codes(write_csv, capsys, tmp_path):
    good = write_csv([good_row("A"), good_row("B")], name="good.csv")
    assert main(["validate", good]) == 0
    assert capsys.readouterr().out.startswith("2 rows: 2 valid, 0 quarantined")

    bad = write_csv([good_row("A"), good_row("B", borough="Hackny")], name="bad.csv")
    q = tmp_path / "private" / "q.csv"
    assert main(["validate", bad, "--quarantine", str(q)]) == 1
    out = capsys.readouterr().out
    assert "2 rows: 1 valid, 1 quarantined" in out
    assert "line 3: column borough: 'Hackny' is not valid; did you mean 'Hackney'?" in out
    assert q.exists()

    row = {k: v for k, v in good_row().items() if k != "age"}
    unusable = write_csv([row], name="unusable.csv")
    assert main(["validate", unusable]) == 2
    err = capsys.readouterr().err
    assert "required column(s) age missing" in err and "Columns found:" in err


def test_validate_refuses_quarantine_under_reports(write_csv, tmp_path, capsys):
    bad = write_csv([good_row("A", age="5")], name="bad.csv")
    assert main(["validate", bad, "--quarantine", str(tmp_path / "reports" / "q.csv")]) == 2
    assert "reports/" in capsys.readouterr().err


def test_schema_prints_the_data_dictionary(capsys):
    assert main(["schema"]) == 0
    out = capsys.readouterr().out
    assert "| person_id | yes | text |" in out and "| outcome_violence_12m | no | boolean |" in out


def test_benchmarks_lists_and_shows(capsys):
    assert main(["benchmarks"]) == 0
    assert "residents_10_24_2021" in capsys.readouterr().out
    assert main(["benchmarks", "residents_2011"]) == 0
    out = capsys.readouterr().out
    # 2011 Census: Black 13.3% of London residents (SOURCES.md)
    assert "Black" in out and "13.3%" in out and "Open Government Licence" in out


def test_synth_writes_matrix_and_truth_then_audit_reads_it(tmp_path, capsys):
    out = tmp_path / "small.csv"
    assert main(["synth", "--scenario", "small", "--seed", "3", "--out", str(out)]) == 0
    assert out.exists() and (tmp_path / "small.truth.json").exists()
    capsys.readouterr()
    js = tmp_path / "audit.json"
    assert main(["audit", str(out), "--json", str(js)]) == 0
    text = capsys.readouterr().out
    assert "Headline" in text and "Relative rate index" in text
    data = json.loads(js.read_text())
    for key in ("quarter", "n", "quarantined", "representation", "relative_rate", "no_risk", "boroughs",
                "overdispersion"):
        assert key in data
    assert data["mode"] == "publication"
    rec = read_json_table(data, "relative_rate").iloc[0].to_dict()
    for key in ("benchmark", "group", "reference", "count", "rate_per_1000", "rri", "ci_low", "ci_high",
                "p_value", "p_adjusted"):
        assert key in rec


def test_synth_check_reports_every_figure(capsys):
    assert main(["synth", "--scenario", "small", "--check"]) == 0
    assert "ok" in capsys.readouterr().out


def test_synth_refuses_reports_dir(tmp_path, capsys):
    assert main(["synth", "--scenario", "small", "--out", str(tmp_path / "reports" / "m.csv")]) == 2


def test_audit_unknown_quarter_is_a_clear_error(tmp_path, capsys):
    out = tmp_path / "small.csv"
    main(["synth", "--scenario", "small", "--out", str(out)])
    capsys.readouterr()
    assert main(["audit", str(out), "--quarter", "1999Q1"]) == 2
    assert "quarter 1999Q1 is not in the file; quarters found:" in capsys.readouterr().err


# --------------------------------------------------------------- the raw data is never changed


def _log_lines(tmp_path):
    log = tmp_path / "audit.log"
    return log.read_text().splitlines() if log.exists() else []


def test_an_output_that_is_the_input_is_refused_before_reading(write_csv, tmp_path, capsys, monkeypatch):
    """`validate x.csv --quarantine x.csv` used to replace the extract with its quarantined rows."""
    path = write_csv([good_row("A"), good_row("B", age="5")], name="extract.csv")
    original = open(path, "rb").read()
    (tmp_path / "link.csv").symlink_to(path)
    os.link(path, tmp_path / "hard.csv")
    monkeypatch.setenv("FAIRNESS_PSEUDONYM_KEY", "k" * 32)
    attempts = [
        ["validate", path, "--quarantine", path],
        ["validate", path, "--quarantine", str(tmp_path / "link.csv")],
        ["validate", str(tmp_path / "link.csv"), "--quarantine", path],
        ["validate", path, "--quarantine", str(tmp_path / "hard.csv")],
        ["validate", path, "--quarantine", str(tmp_path / "sub" / ".." / "extract.csv")],
        ["audit", path, "--json", str(tmp_path / "link.csv")],
        ["pseudonymise", path, "--out", str(tmp_path / "hard.csv")],
        ["pseudonymise", path, "--out", str(tmp_path / "link.csv")],
    ]
    (tmp_path / "sub").mkdir()
    for argv in attempts:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert "would overwrite the input" in err and "never changed or replaced" in err, argv
        assert open(path, "rb").read() == original
    assert _log_lines(tmp_path) == []  # refused before the file was read


def test_row_level_files_refused_in_any_report_folder(write_csv, tmp_path, capsys):
    bad = write_csv([good_row("A", age="5")], name="bad.csv")
    (tmp_path / "reports").mkdir()
    (tmp_path / "private").symlink_to(tmp_path / "reports")
    published = tmp_path / "site"
    published.mkdir()
    (published / ".fairness-reports").touch()  # what `fairness report --out site` leaves
    for q in (tmp_path / "Reports" / "q.csv", tmp_path / "private" / "q.csv", published / "2018Q4" / "q.csv"):
        assert main(["validate", bad, "--quarantine", str(q)]) == 2, q
        assert "refusing to write row-level data under a reports/ folder" in capsys.readouterr().err
    assert not list((tmp_path / "reports").iterdir()) and not (published / "2018Q4").exists()
    assert main(["synth", "--scenario", "small", "--out", str(tmp_path / "private" / "m.csv")]) == 2


def test_quarantine_as_parquet_or_refused_by_extension(write_csv, tmp_path, capsys):
    import pandas as pd

    bad = write_csv([good_row("A"), good_row("B", borough="Hackny")], name="bad.csv")
    q = tmp_path / "private" / "q.parquet"
    assert main(["validate", bad, "--quarantine", str(q)]) == 1
    table = pd.read_parquet(q)
    assert table["line"].tolist() == [3] and table["borough"].tolist() == ["Hackny"]
    assert table["rules"].tolist() == ["invalid_category"]
    assert stat.S_IMODE(os.stat(q).st_mode) == 0o600
    capsys.readouterr()
    assert main(["validate", bad, "--quarantine", str(tmp_path / "q.xlsx")]) == 2
    err = capsys.readouterr().err
    assert "cannot write quarantined rows as '.xlsx'; valid: .csv or .parquet or .pq" in err
    assert not (tmp_path / "q.xlsx").exists() and len(_log_lines(tmp_path)) == 1  # refused before reading


def test_clean_rerun_says_what_it_did_with_an_older_quarantine_file(write_csv, tmp_path, capsys):
    bad = write_csv([good_row("A"), good_row("B", age="5")], name="m.csv")
    q = tmp_path / "private" / "q.csv"
    assert main(["validate", bad, "--quarantine", str(q)]) == 1 and q.exists()
    capsys.readouterr()
    fixed = write_csv([good_row("A"), good_row("B")], name="m.csv")
    assert main(["validate", fixed, "--quarantine", str(q)]) == 0
    assert f"no rows quarantined; removed the older quarantine file {q} (from an earlier run)" in capsys.readouterr().out
    assert not q.exists()
    notes = tmp_path / "private" / "notes.csv"
    notes.write_text("a,b\n1,2\n")
    assert main(["validate", fixed, "--quarantine", str(notes)]) == 0
    assert f"left {notes} as it was (it is not a quarantine file written by fairness)" in capsys.readouterr().out
    assert notes.read_text() == "a,b\n1,2\n"
    assert main(["validate", fixed, "--quarantine", str(q)]) == 0
    assert f"no rows quarantined; nothing written to {q}" in capsys.readouterr().out


def test_validate_from_python_is_the_cli_verb(write_csv, tmp_path):
    import fairness

    path = write_csv([good_row("A"), good_row("B", borough="Hackny")], name="m.csv")
    res = fairness.validate(path)
    ref = fairness.read_matrix(path)
    assert "validate" in fairness.__all__ and isinstance(res, fairness.ValidationResult)
    assert (res.n_rows, res.n_valid, res.n_quarantined, res.sha256) == (2, 1, 1, ref.sha256)
    assert res.problem_lines() == ref.problem_lines()
    semi = tmp_path / "semi.csv"
    semi.write_text(open(path).read().replace(",", ";"))
    assert fairness.validate(semi, delimiter=";").n_rows == 2  # the same options as read_matrix
    assert fairness.validate(res.valid).n_valid == 1  # a DataFrame is validated too
    commands = [json.loads(line)["command"] for line in _log_lines(tmp_path)]
    assert commands == ["validate", "read_matrix", "validate"]  # the frame is not a read
