"""The share group in ``metrics.json``: the trend appendix of a profile read from a path names it.

A profile read from a path is not a shipped name, so a reader of ``metrics.json`` alone (the
trend appendix) cannot load it again; the audit records its words in ``parameters`` (``place``,
``place_people``) and the group whose share it compares (``share_group``). The city list and its
profile are those of tests/test_audit_profiles.py.
"""

from __future__ import annotations

import json

import pytest

import fairness
from fairness.report.appendix import collect_metrics, headline_metrics, write_trend_appendix
from fairness.results.sentences import place
from tests.test_audit_profiles import CITY, _city

#: The city profile with Hispanic as the share group (its groups are White, Black, Hispanic, Asian).
HISPANIC = CITY.replace('reference = "White"\n', 'reference = "White"\nshare_group = "Hispanic"\n')


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """A reports folder holding the metrics.json of the city list audited under HISPANIC (internal mode:
    the 10 people's counts are all shown), the profile read from a path."""
    tmp = tmp_path_factory.mktemp("share_group")
    profile, rows = _city(tmp, text=HISPANIC)
    res = fairness.audit(rows, profile=profile)
    (tmp / "reports" / res.quarter).mkdir(parents=True)
    res.to_json(tmp / "reports" / res.quarter / "metrics.json")
    return tmp / "reports"


def _metrics(reports) -> dict:
    return json.loads((reports / "2020Q1" / "metrics.json").read_text(encoding="utf-8"))


def test_metrics_json_records_the_share_group_and_the_appendix_uses_it(reports, monkeypatch):
    metrics = _metrics(reports)
    assert metrics["parameters"]["share_group"] == "Hispanic"
    assert metrics["parameters"]["profile"] == "city"  # a path's stem: not a profile that can be loaded by name
    assert place(metrics["parameters"]).share_group == "Hispanic"
    row = headline_metrics(metrics)
    # Hispanic: P3, P4 and P9 of the 10 people listed (tests/test_audit_profiles.py CITY_ROWS), against
    # 1,250 of the 5,250 residents (CITY_POP: 500 + 750 Hispanic of 1,600 + 3,150)
    assert row["group"] == "Hispanic"
    assert row["share"] == 0.3
    assert abs(row["benchmark_share"] - 1250 / 5250) < 1e-4  # metrics.json keeps 4 significant figures
    from fairness.report import appendix

    monkeypatch.setattr(appendix, "_trend_figure", lambda table: "")  # the words only: no chart drawn (fast)
    page = write_trend_appendix(reports).read_text(encoding="utf-8")
    assert "Hispanic share" in page and "Black share" not in page


def test_a_metrics_json_written_before_the_share_group_was_recorded_reads_as_black(reports):
    metrics = _metrics(reports)
    del metrics["parameters"]["share_group"]
    assert place(metrics["parameters"]).share_group == "Black"  # London's default, as before
    assert headline_metrics(metrics)["group"] == "Black"
    assert collect_metrics(reports)["group"].tolist() == ["Hispanic"]  # the file as written
