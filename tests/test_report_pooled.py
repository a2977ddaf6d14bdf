"""`fairness report` of a pooled list (no snapshots): refused at once, before any notebook runs.

A pooled list (no ``snapshot_date`` column, or one date where the profile
declares ``snapshots = false``) is audited as one period, "pooled"
(tests/test_audit_profiles.py), but the quarterly report needs quarters. The
runner says so, names the file and what to run instead, and writes nothing.
The ten-person city list and its profile are those of tests/test_audit_profiles.py.
"""

from __future__ import annotations

import pytest

from fairness.cli import main
from fairness.report.runner import ERR_POOLED, inspect_matrix, run_reports
from tests.test_audit_profiles import CITY, _city

POOLED_CITY = CITY.replace("snapshots = true", "snapshots = false")


def _no_dates(tmp_path):
    """The city list without its snapshot_date column, under a profile with snapshots = false."""
    profile, rows = _city(tmp_path, text=POOLED_CITY)
    path = tmp_path / "pooled.csv"
    rows.drop(columns="snapshot_date").to_csv(path, index=False)
    return profile, path


def test_report_of_a_list_without_snapshot_dates_is_refused_by_the_command_line(tmp_path, capsys):
    profile, path = _no_dates(tmp_path)
    out = tmp_path / "reports"
    code = main(["report", "--matrix", str(path), "--profile", str(profile), "--out", str(out), "--no-pdf"])
    assert code == 2  # README's exit codes: 2, the input or the run cannot be used
    err = capsys.readouterr().err
    assert err.startswith(f"fairness report: error: {path.resolve()}: a pooled list (no snapshot_date column), "
                          "so it has no quarter to report; the quarterly report needs snapshots.")
    assert f"fairness audit {path.resolve()} --profile {profile} --mode publication --json OUT.json" in err
    assert not out.exists()  # refused before the report folder was made or any notebook ran


def test_report_of_a_pooled_list_with_a_quarter_says_a_pooled_list_has_no_quarters(tmp_path, capsys):
    profile, path = _no_dates(tmp_path)
    code = main(["report", "--matrix", str(path), "--profile", str(profile), "--quarter", "2020Q1",
                 "--out", str(tmp_path / "reports"), "--no-pdf"])
    assert code == 2
    assert "(a pooled list has no quarters: --quarter 2020Q1 cannot be reported)" in capsys.readouterr().err


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_one_snapshot_date_under_a_profile_without_snapshots_is_pooled_and_refused_from_python(tmp_path, suffix):
    """As fairness.audit decides it: one date, and the profile says snapshots = false (its audit's
    quarter is "pooled", not 2020Q1); from Python, run_reports and render_quarter refuse it alike."""
    profile, rows = _city(tmp_path, text=POOLED_CITY)
    path = tmp_path / f"one_date{suffix}"
    rows.to_csv(path, index=False) if suffix == ".csv" else rows.to_parquet(path, index=False)
    info = inspect_matrix(path, profile=profile)
    assert info.pooled == "one snapshot date, and its profile declares snapshots = false"
    assert info.quarters == ("pooled",)
    with pytest.raises(ValueError, match="a pooled list .one snapshot date, and its profile declares snapshots = "
                                         "false., so it has no quarter to report") as caught:
        run_reports(path, out_dir=tmp_path / "reports", pdf=False, parameters={"profile": str(profile)})
    assert str(caught.value) == ERR_POOLED.format(
        source=path.resolve(), why=info.pooled, asked="", profile=f" --profile {profile}")
    assert not (tmp_path / "reports").exists()

    from fairness.report.runner import render_quarter

    with pytest.raises(ValueError, match="has no quarter to report"):
        render_quarter(info, "latest", out_dir=tmp_path / "reports", pdf=False, parameters={"profile": str(profile)})


def test_the_same_list_with_snapshots_declared_is_not_pooled(tmp_path):
    profile, rows = _city(tmp_path)  # snapshots = true: one date is one quarter, 2020Q1
    path = tmp_path / "one_date.csv"
    rows.to_csv(path, index=False)
    info = inspect_matrix(path, profile=profile)
    assert info.pooled == "" and info.quarters == ("2020Q1",)
