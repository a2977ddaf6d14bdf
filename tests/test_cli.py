"""The command line: every sub-command's exit codes and what it prints or writes."""

from __future__ import annotations

import json

from fairness.cli import main
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
    rec = data["relative_rate"][0]
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
