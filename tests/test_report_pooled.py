"""`fairness report` of a pooled list (no snapshots): reported as supplied, in ``<out>/pooled/``.

A pooled list (no ``snapshot_date`` column, or one date where the profile
declares ``snapshots = false``) is audited as one period, "pooled"
(tests/test_audit_profiles.py). Its report and briefing are of the list as
supplied: no quarter in the words, no trend (one sentence says why), and a
folder of its own that the trend appendix leaves out. Asking for a quarter of
it is refused before any notebook runs. The ten-person city list and its
profile are those of tests/test_audit_profiles.py; the slow test renders a
280-search pooled list of the england-wales-forces profile for real.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import pandas as pd
import pytest

import fairness
from fairness.cli import main
from fairness.report import format as fr
from fairness.report.runner import (
    ERR_POOLED,
    inspect_matrix,
    refuse_pooled,
    resolve_quarters,
    run_reports,
)
from fairness.results import sentences as S
from tests.test_audit_profiles import CITY, _city

POOLED_CITY = CITY.replace("snapshots = true", "snapshots = false")


def _no_dates(tmp_path):
    """The city list without its snapshot_date column, under a profile with snapshots = false."""
    profile, rows = _city(tmp_path, text=POOLED_CITY)
    path = tmp_path / "pooled.csv"
    rows.drop(columns="snapshot_date").to_csv(path, index=False)
    return profile, path


@pytest.fixture(scope="module")
def pooled_audit(tmp_path_factory):
    """The ten-person city list audited pooled (internal mode: every count shown)."""
    profile, path = _no_dates(tmp_path_factory.mktemp("pooled"))
    return fairness.audit(path, profile=profile)


# --------------------------------------------------------------------------- the runner


def test_a_quarter_of_a_pooled_list_is_refused_before_anything_is_written(tmp_path, capsys):
    profile, path = _no_dates(tmp_path)
    out = tmp_path / "reports"
    code = main(["report", "--matrix", str(path), "--profile", str(profile), "--quarter", "2020Q1",
                 "--out", str(out), "--no-pdf"])
    assert code == 2  # README's exit codes: 2, the input or the run cannot be used
    assert capsys.readouterr().err.startswith(
        f"fairness report: error: {path.resolve()}: a pooled list (no snapshot_date column) has no quarters, so "
        "--quarter 2020Q1 cannot be reported; leave --quarter out to report the list as supplied (in pooled/)")
    assert not out.exists()  # refused before the report folder was made or any notebook ran


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_one_snapshot_date_under_a_profile_without_snapshots_is_pooled_and_reported_as_pooled(tmp_path, suffix):
    """As fairness.audit decides it: one date, and the profile says snapshots = false (its audit's
    quarter is "pooled", not 2020Q1); latest and pooled are the list as supplied, a quarter is refused."""
    profile, rows = _city(tmp_path, text=POOLED_CITY)
    path = tmp_path / f"one_date{suffix}"
    rows.to_csv(path, index=False) if suffix == ".csv" else rows.to_parquet(path, index=False)
    info = inspect_matrix(path, profile=profile)
    assert info.pooled == "one snapshot date, and its profile declares snapshots = false"
    assert info.quarters == ("pooled",)
    assert fairness.audit(path, profile=profile).quarter == "pooled"  # the runner and the audit, one rule
    refuse_pooled(info, ["latest"])
    refuse_pooled(info, ["Pooled"])  # nothing raised: both are the list as supplied
    assert resolve_quarters(["latest"], info.quarters) == resolve_quarters([" pooled "], info.quarters) == ["pooled"]
    assert resolve_quarters([], info.quarters, all_quarters=True) == ["pooled"]
    with pytest.raises(ValueError) as caught:
        run_reports(path, ["2020Q1"], out_dir=tmp_path / "reports", pdf=False, parameters={"profile": str(profile)})
    assert str(caught.value) == ERR_POOLED.format(source=path.resolve(), why=info.pooled, asked="2020Q1",
                                                  folder="pooled")
    assert not (tmp_path / "reports").exists()


def test_the_same_list_with_snapshots_declared_is_not_pooled(tmp_path):
    profile, rows = _city(tmp_path)  # snapshots = true: one date is one quarter, 2020Q1
    path = tmp_path / "one_date.csv"
    rows.to_csv(path, index=False)
    info = inspect_matrix(path, profile=profile)
    assert info.pooled == "" and info.quarters == ("2020Q1",)
    assert fairness.audit(path, profile=profile).quarter == "2020Q1"
    refuse_pooled(info, ["2020Q1"])  # a list with snapshots: any quarter may be asked
    with pytest.raises(ValueError, match="quarter pooled is not in"):
        resolve_quarters(["pooled"], info.quarters)


def test_the_pooled_rule_is_one_predicate_and_counts_dates_only_when_it_must():
    from fairness.results.audit import POOLED_NO_DATES, POOLED_ONE_DATE, pooled_reason

    def never() -> int:
        raise AssertionError("the dates need not be counted")

    assert pooled_reason(has_dates=False, has_snapshots=True, count_dates=never) == POOLED_NO_DATES
    assert pooled_reason(has_dates=True, has_snapshots=True, count_dates=never) == ""
    assert pooled_reason(has_dates=True, has_snapshots=False, count_dates=lambda: 1) == POOLED_ONE_DATE
    assert pooled_reason(has_dates=True, has_snapshots=False, count_dates=lambda: 2) == ""
    assert POOLED_NO_DATES == "no snapshot_date column"


def test_a_file_read_in_duckdb_is_pooled_by_its_count_of_dates_not_of_quarters(tmp_path):
    """The england-wales-forces profile (snapshots = false) is read in DuckDB (a ParquetValidation): its
    synthetic list's last quarter, one date (2019-09-30), is pooled; with one row moved to 2019-08-31 it has
    two dates in one quarter, so it is not (the dates are counted in DuckDB, not taken out)."""
    from fairness import synth
    from fairness.counts.duck import ParquetValidation

    src = tmp_path / "ew.csv"
    synth.write(synth.generate("small", seed=1, profile="england-wales-forces"), src)
    rows = pd.read_csv(src, dtype=str, keep_default_na=False)
    last = rows[rows["snapshot_date"] == "2019-09-30"].copy()
    last.to_csv(tmp_path / "one.csv", index=False)
    info = inspect_matrix(tmp_path / "one.csv", profile="england-wales-forces")
    assert isinstance(info.validation, ParquetValidation)
    assert info.pooled == "one snapshot date, and its profile declares snapshots = false"
    early = last.index[(last["date_added"] <= "2019-08-31") & (last["last_reviewed"] <= "2019-08-31")][0]
    last.loc[early, "snapshot_date"] = "2019-08-31"  # a row added and reviewed by then: still valid
    last.to_csv(tmp_path / "two.csv", index=False)
    info = inspect_matrix(tmp_path / "two.csv", profile="england-wales-forces")
    assert isinstance(info.validation, ParquetValidation)
    assert info.pooled == "" and info.quarters == ("2019Q3",) and info.validation.n_valid == 280


# --------------------------------------------------------------------------- the folder


def test_the_pooled_folder_is_a_report_folder_that_the_trend_appendix_leaves_out(tmp_path):
    from fairness.report.appendix import collect_metrics, write_trend_appendix
    from fairness.report.layout import POOLED_DIR, QUARTER_DIR, REPORT_DIR
    from fairness.report.runner import _foreign_entries
    from fairness.report.swap import clean_stale

    assert POOLED_DIR == "pooled" and REPORT_DIR.match("pooled") and REPORT_DIR.match("2018Q4")
    assert not QUARTER_DIR.match("pooled") and not REPORT_DIR.match("pooled2") and not REPORT_DIR.match("Pooled")
    out = tmp_path / "reports"
    (out / "pooled").mkdir(parents=True)
    (out / "pooled" / "metrics.json").write_text(json.dumps({"quarter": "pooled", "mode": "publication"}))
    (out / ".pooled.lock").touch()
    (out / ".pooled.tmp-abc").mkdir()  # left by a killed run
    (out / "notes.txt").touch()
    assert _foreign_entries(out) == ["notes.txt"]  # the pooled report, its lock and its run are a report's
    assert clean_stale(out) == [".pooled.tmp-abc"]
    assert collect_metrics(out).empty  # one period: nothing to draw a trend of
    assert write_trend_appendix(out) is None


# --------------------------------------------------------------------------- the words


def test_the_title_names_the_list_as_supplied_not_a_quarter(pooled_audit):
    res = pooled_audit
    assert res.quarter == "pooled" and S.is_pooled(res) and S.period(res) == "the list as supplied"
    block = fr.title_block(res)
    assert block.text.startswith("Gang list oversight report: the list as supplied\n"
                                 "The list as supplied, not broken down by quarter: 10 people on the list.")
    assert "Quarter pooled" not in block.text and ": pooled" not in block.text
    # a list with quarters keeps its words
    assert "Quarter 2018Q4: 1,234 people on the list." in fr.title_block(
        SimpleNamespace(quarter="2018Q4", n=1234, parameters={}, mode="publication", source="m.csv")).text


def test_the_sentences_say_the_list_as_supplied(pooled_audit):
    res = pooled_audit
    text = S.representation_sentence(res)
    # Black: P1, P2 and P6 of the 10 people (tests/test_audit_profiles.py CITY_ROWS)
    assert text.startswith("The list as supplied (not broken down by quarter) held 10 people; Black people were "
                           "30.0%")
    assert "In pooled" not in text
    assert S.trend_sentence(res) is None  # no year before: no comparison
    assert fr.fill(res, "Each row is one such check for {period}.") == \
        "Each row is one such check for the list as supplied."
    assert fr.fill(SimpleNamespace(quarter="2018Q4", parameters={}), "for {period}") == "for this quarter"
    assert "In pooled" not in " ".join(res.headline())


def test_a_pooled_report_has_no_trend_and_says_why(pooled_audit):
    res = pooled_audit
    assert not fr.assessable(res, "trends")
    assert fr.not_assessable(res, "trends").text == fr.NO_TREND_POOLED
    assert fr.NO_TREND_POOLED.startswith("Not shown: there is no trend to show. The list was supplied as one list, "
                                         "not as quarterly snapshots")
    assert str(fr.trends_intro(res)) == '<h2 id="trends">7. Trends</h2>'  # the heading, then the sentence why
    ew = SimpleNamespace(quarter="2018Q4", parameters={"profile": "england-wales-forces"},
                         trends=pd.DataFrame({"metric": ["listed"]}))
    assert fr.assessable(ew, "trends") and str(fr.trends_intro(ew)).startswith(
        '<h2 id="trends">7. Trends</h2>\n\nEvery quarter up to this report\'s quarter')


def test_the_provenance_gives_the_period_not_a_quarter(pooled_audit):
    rows = dict(fr.provenance_table(pooled_audit, run_time="2026-01-01T00:00:00+00:00").frame.values.tolist())
    assert rows["Period reported"] == "the list as supplied (a pooled list: no snapshots, so no quarters)"
    assert rows["People listed in the list"] == "10"
    assert rows["Quarters used"] == "none: the list has no snapshots"
    assert "Quarter reported" not in rows


def test_the_report_notebook_takes_its_trend_heading_and_period_words_from_the_result():
    from pathlib import Path

    nb = Path(fr.__file__).parents[2] / "notebooks" / "quarterly_oversight_report.ipynb"
    cells = ["".join(c["source"]) for c in json.loads(nb.read_text(encoding="utf-8"))["cells"]]
    assert "fr.trends_intro(res)" in cells
    assert not any("this quarter" in c for c in cells)  # {period}: "this quarter", or the list as supplied


# --------------------------------------------------------------------------- rendered for real


@pytest.mark.slow
def test_a_pooled_list_renders_a_report_and_a_briefing(tmp_path, capsys):
    """280 searches of the england-wales-forces profile's synthetic list (its last quarter), without the
    snapshot_date column: the command renders the report and the briefing (HTML and PDF) into pooled/."""
    from fairness import synth

    src = tmp_path / "ew.csv"
    synth.write(synth.generate("small", seed=1, profile="england-wales-forces"), src)
    rows = pd.read_csv(src, dtype=str, keep_default_na=False)
    last = rows[rows["snapshot_date"] == rows["snapshot_date"].max()].drop(columns="snapshot_date")
    path = tmp_path / "pooled.csv"
    last.to_csv(path, index=False)
    out = tmp_path / "reports"
    code = main(["report", "--matrix", str(path), "--profile", "england-wales-forces", "--briefing",
                 "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "a pooled list (no snapshot_date column), no quarters; reporting the list as supplied" in printed
    folder = out / "pooled"
    assert {"report.html", "briefing.html", "metrics.json"} <= {p.name for p in folder.iterdir()}
    assert not (out / "trend_appendix.html").exists()
    metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["quarter"] == "pooled" and metrics["n"] == len(last) == 280
    report = (folder / "report.html").read_text(encoding="utf-8")
    briefing = (folder / "briefing.html").read_text(encoding="utf-8")
    assert "Stop and search oversight report: the list as supplied</h1>" in report
    assert "The list as supplied, not broken down by quarter: 280 searches on the list." in report
    assert "Not shown: there is no trend to show." in report and "Figure 8." not in report
    assert "Scrutiny briefing: the list as supplied</h1>" in briefing
    for page in (report, briefing):
        assert "Quarter pooled" not in page and "In pooled" not in page and ": pooled" not in page
    if (folder / "report.pdf").exists():  # WeasyPrint installed (the pdf extra): the briefing fits its two pages
        assert "briefing.pdf 2 pages" in printed or "briefing.pdf 1 page" in printed
        assert "warning" not in printed


def test_the_headline_counts_a_combined_row_as_its_areas_as_the_notes_do(pooled_audit):
    """Publication mode combines small areas into one row ("Other police force areas (28)"): the headline
    counts it as its 28 areas, so it agrees with the note "34 of 43 police force areas listed" (the
    england-wales-forces pooled list: 6 areas shown and 28 combined); the period is the report's words."""
    from fairness.results.counts_table import _areas_counted

    b = pd.DataFrame({"borough": ["Metropolitan Police", "Essex", "Cumbria", "Other police force areas (28)"],
                      "flag": ["", "", "", "combined"]})
    assert _areas_counted(b) == 31 and _areas_counted(b.iloc[:0]) == 0
    assert pooled_audit.headline()[0].startswith("Gang list, Test City, the list as supplied: 10 people")


def test_the_suppression_table_has_no_trends_row_when_the_report_has_no_trend(pooled_audit):
    """metrics.json keeps a one-row trends table for a pooled list, but the report shows no trend section:
    the suppression table leaves its row out (a list with quarters keeps it)."""
    supp = pd.DataFrame({"table": ["representation", "trends"], "cells": [4, 2], "cells_hidden": [0, 0],
                         "cells_hidden_share": [0.0, 0.0], "people_hidden_share": ["0%", "0%"]})
    pub = SimpleNamespace(**{k: getattr(pooled_audit, k) for k in ("quarter", "parameters", "trends", "profile")},
                          mode="publication", suppression=supp)
    assert not fr.assessable(pub, "trends")
    assert list(fr.suppression_table(pub).frame["Table"]) == ["Representation ratios"]
    quarterly = SimpleNamespace(quarter="2018Q4", parameters={}, mode="publication", suppression=supp,
                                trends=pd.DataFrame({"metric": ["listed"]}))
    assert list(fr.suppression_table(quarterly).frame["Table"]) == ["Representation ratios", "Trends"]
