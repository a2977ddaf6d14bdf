"""Suppression keeps the findings (issue 12): the default synthetic history at 2018Q4.

In publication mode, every group of 100 or more people keeps its
representation ratio, relative rate index, no-risk share and band-performance
figures (false positive rate and precision, with intervals), at the
``red_amber`` threshold (the disparity table's default). At the ``red``
threshold a group's false positives can be fewer than 10 (White: 6 of 304
people without the outcome), and a rate that gives back a small count is not
published.

Slow (about 20 s: the whole default history is generated and audited once).
"""

from __future__ import annotations

import pytest

import fairness
from fairness import synth
from fairness.publish.disclosure import MARKER
from fairness.publish.intruder import audit_publication

pytestmark = pytest.mark.slow


def shown(v) -> bool:
    if isinstance(v, str) or v is None:
        return False
    return v == v  # not NaN


@pytest.fixture(scope="module")
def history_2018q4(tmp_path_factory):
    path = tmp_path_factory.mktemp("history") / "gvm-history.csv"
    synth.write(synth.generate("gvm-history", seed=20181231), path)  # what `make data` writes
    internal = fairness.audit(fairness.read_matrix(path), quarter="2018Q4")
    return internal, internal.for_publication()


def test_the_2018q4_publication_passes_the_audit(history_2018q4):
    _, pub = history_2018q4
    assert audit_publication(pub).empty


def test_every_group_of_100_or_more_keeps_its_findings(history_2018q4):
    internal, pub = history_2018q4
    sizes = internal.representation.drop_duplicates("group").set_index("group")["count"]
    large = sorted(g for g, n in sizes.items() if n >= 100 and g != "Not stated")
    # 2018Q4 of the default history: White 466, Black 3,105, Asian 120, Mixed 114 (Other 43)
    assert large == ["Asian", "Black", "Mixed", "White"]
    missing = []
    for r in pub.representation.itertuples(index=False):
        if r.group in large and not all(shown(v) for v in (r.ratio, r.ci_low, r.ci_high)):
            missing.append(("representation", r.benchmark, r.group))
    for r in pub.relative_rate.itertuples(index=False):
        if r.group in large and r.group != r.reference and not all(shown(v) for v in (r.rri, r.ci_low, r.ci_high)):
            missing.append(("relative_rate", r.benchmark, r.group))
    nr = pub.no_risk[pub.no_risk["by"] == "ethnicity"]
    for r in nr.itertuples(index=False):
        if r.group in large and not all(shown(v) for v in (r.share, r.ci_low, r.ci_high)):
            missing.append(("no_risk", r.definition, r.group))
    bands = pub.band_by_group
    one_way = bands[(bands["threshold"] == "red_amber") & ~bands["by"].str.contains(" / ")]
    n_of = internal.band_by_group.set_index(["threshold", "by", "group"])["n"]
    for r in one_way.itertuples(index=False):
        if n_of[(r.threshold, r.by, r.group)] < 100:
            continue
        for c in ("fpr", "fpr_low", "fpr_high", "precision", "precision_low", "precision_high"):
            if not shown(getattr(r, c)):
                missing.append(("band_by_group", r.by, r.group, c))
    assert missing == []


def test_the_band_figures_kept_are_the_internal_ones(history_2018q4):
    internal, pub = history_2018q4
    key = ["threshold", "by", "group"]
    a = internal.band_by_group.set_index(key)
    b = pub.band_by_group.set_index(key)
    # White at red_amber: 60 false positives of 304 without the outcome; precision 87 of 147
    assert b.at[("red_amber", "ethnicity", "White"), "fpr"] == pytest.approx(60 / 304)
    assert b.at[("red_amber", "ethnicity", "White"), "precision"] == pytest.approx(87 / 147)
    assert b.at[("red_amber", "ethnicity", "Black"), "fpr"] == pytest.approx(a.at[("red_amber", "ethnicity", "Black"),
                                                                                  "fpr"])
    # at the red threshold White's 6 false positives cannot be published
    assert b.at[("red", "ethnicity", "White"), "fpr"] == MARKER


def test_suppression_is_reported_per_table(history_2018q4):
    _, pub = history_2018q4
    s = pub.suppression.set_index("table")
    assert s.at["representation", "cells_hidden"] == 0
    assert s.at["band_by_group", "cells_hidden"] > 0
    assert set(s["people_hidden_share"]) <= {"0%", "under 1%", "1% to 5%", "5% to 10%", "10% to 25%",
                                             "25% to 50%", "50% or more"}


def test_the_published_metrics_json_is_small_and_passes_the_audit(history_2018q4):
    """Issue 13: metrics.json "a few hundred KB at most". The 2018Q4 report's file (scoped to its
    quarter) was 516,545 bytes as lists of records with 200-point funnel curves; in format 2 with
    40-point curves it is about 228,000."""
    import json

    from fairness.results.contract import read_json_table

    internal, _ = history_2018q4
    text = internal.up_to_quarter().for_publication().to_json()  # what the report writes
    assert len(text.encode("utf-8")) < 250_000
    data = json.loads(text)
    assert data["format"] == 2 and audit_publication(data).empty
    limits = read_json_table(data, "funnel_limits")
    assert len(limits) == 4 * 2 * 40  # 4 measures, 2 levels, 40 points each
