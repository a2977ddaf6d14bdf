"""Suppression keeps the findings (issue 12): the default synthetic history at 2018Q4.

In publication mode, every group of 100 or more people keeps its
representation ratio, relative rate index and no-risk share, and its
band-performance figures (false positive rate and precision, with intervals)
at the report's headline threshold, Red or Amber (``red_amber``: the report's
band table, :func:`fairness.report.format.band_rates_table`, and the
disparity table's default). Age band 35+ (137 people) has 6 true positives
there, so its precision alone would give them back (precision x selected):
it is combined with 25-34 as "25 and over" (a declared combination,
:data:`fairness.definitions.GROUP_COMBINATIONS`) and keeps its figures inside
that row, instead of costing 10-17 (543 people) theirs. At the ``red``
threshold a group's own counts can be below 10 (White: 8 false positives), and
a rate that gives back a small count is not published: the disclosure note
says which figures and why.

Every pinned number was counted by hand in the generated matrix (rows with
snapshot_date 2018-12-31, ``outcome_violence_12m`` true or false, band Red or
Amber selected).

Slow (about 20 s: the whole default history is generated and audited once).
"""

from __future__ import annotations

import pytest

import fairness
from fairness import synth
from fairness.publish import publication
from fairness.publish.disclosure import MARKER
from fairness.publish.intruder import audit_publication

pytestmark = pytest.mark.slow

HEADLINE_THRESHOLD = "red_amber"
BAND_FIGURES = ("fpr", "fpr_low", "fpr_high", "precision", "precision_low", "precision_high")


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
    # 2018Q4 of the default history: White 466, Black 3,105, Asian 116, Mixed 112 (Other 50)
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
    # band performance at the headline threshold, every one-way breakdown: a group of 100+
    # keeps its figures in its own row or in the combined row it is part of
    into = {part: c["group"] for c in pub.parameters.get("combined_groups", []) for part in c["parts"]}
    internal_rows = internal.band_by_group
    one_way = internal_rows[(internal_rows["threshold"] == HEADLINE_THRESHOLD)
                            & ~internal_rows["by"].str.contains(" / ")]
    published = pub.band_by_group.set_index(["threshold", "by", "group"])
    for r in one_way.itertuples(index=False):
        if r.n < 100:
            continue
        row = published.loc[(r.threshold, r.by, into.get(r.group, r.group))]
        for c in BAND_FIGURES:
            if not shown(row[c]):
                missing.append(("band_by_group", r.by, r.group, c))
    assert missing == []


def test_only_35_and_over_is_combined_and_the_output_says_why(history_2018q4):
    _, pub = history_2018q4
    assert [(c["by"], c["group"], c["parts"]) for c in pub.parameters["combined_groups"]] == [
        ("age_band", "25 and over", ["25-34", "35+"])]
    assert ("25-34 and 35+ are published together as '25 and over' (age_band): 35+ holds a count below 10"
            in pub.disclosure_note)
    groups = set(pub.band_by_group.loc[pub.band_by_group["by"] == "age_band", "group"])
    assert groups == {"10-17", "18-24", "25 and over"}  # the parts are nowhere beside the combined row
    cal = set(pub.band_calibration.loc[pub.band_calibration["by"] == "age_band", "group"])
    assert cal == groups


def test_the_band_figures_kept_are_the_internal_ones(history_2018q4):
    internal, pub = history_2018q4
    key = ["threshold", "by", "group"]
    a = internal.band_by_group.set_index(key)
    b = pub.band_by_group.set_index(key)
    # White at red_amber: 65 false positives of 309 without the outcome (65 + 244); precision 81 of 146
    assert b.at[("red_amber", "ethnicity", "White"), "fpr"] == pytest.approx(65 / 309)
    assert b.at[("red_amber", "ethnicity", "White"), "precision"] == pytest.approx(81 / 146)
    assert b.at[("red_amber", "ethnicity", "Black"), "fpr"] == pytest.approx(a.at[("red_amber", "ethnicity", "Black"),
                                                                                  "fpr"], rel=1e-12)
    # 25 and over = 25-34 + 35+ (people aged 25 or more): 1,009 people; at red_amber 113 true
    # positives, 143 false positives, 625 true negatives: fpr 143 / 768, precision 113 / 256
    row = b.loc[("red_amber", "age_band", "25 and over")]
    assert (row["n"], row["tp"], row["fp"], row["tn"]) == (1009, 113, 143, 625)
    assert row["fpr"] == pytest.approx(143 / 768)
    assert row["precision"] == pytest.approx(113 / 256)


def test_at_the_red_threshold_white_loses_figures_to_its_own_small_count_and_says_so(history_2018q4):
    internal, pub = history_2018q4
    # White at red: 15 true positives, 8 false positives (of 23 selected): fpr and precision withheld
    white = internal.band_by_group.set_index(["threshold", "by", "group"]).loc[("red", "ethnicity", "White")]
    assert (white["tp"], white["fp"]) == (15, 8)
    assert pub.band_by_group.set_index(["threshold", "by", "group"]).at[("red", "ethnicity", "White"), "fpr"] == MARKER
    assert ("At the Red threshold, the false positive rate and precision are withheld for the White, Asian and "
            "Other groups: each rests on a count below 10, or on one that would reveal such a count."
            in pub.disclosure_note)


def test_suppression_is_reported_per_table(history_2018q4):
    internal, pub = history_2018q4
    s = pub.suppression.set_index("table")
    # from the internal result (uncombined) it is the same: the summary combines it as the publication did
    full = publication.suppression_summary(internal, pub).set_index("table")
    assert full.at["band_by_group", "cells"] == s.at["band_by_group", "cells"]
    assert full.at["band_by_group", "cells_hidden"] == s.at["band_by_group", "cells_hidden"]
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


def test_richmond_and_hillingdon_no_longer_give_their_amber_or_red_count(history_2018q4):
    """The gap found reading the 2018Q4 PDF: the Green-band funnel showed Richmond upon Thames at
    19 of 21 and Hillingdon at 90 of 99 (2 and 9 Amber or Red by subtraction). Counted in the
    matrix (rows of 2018-12-31 in each borough, risk_band Green)."""
    import dataclasses

    internal, pub = history_2018q4
    key = ["metric", "borough"]
    inside = internal.boroughs.set_index(key)
    out = pub.boroughs.set_index(key)
    for borough, green, n in (("Richmond upon Thames", 19, 21), ("Hillingdon", 90, 99)):
        assert (inside.at[("green_share", borough), "count"], inside.at[("green_share", borough), "n"]) == (green, n)
        # both are small areas of the Green-band funnel: published together as one row (issue 12), in which
        # 109 of 120 are Green (90 + 19 of 99 + 21): 11 Amber or Red, not a small count
        assert ("green_share", borough) not in out.index
        checks = pub.checks[(pub.checks["quarter"] == "2018Q4") & (pub.checks["borough"] == borough)]
        # blanket sharing is a check of the Green people (its n is the same 19 and 90): not shown alone either
        assert checks.loc[checks["check"] == "blanket_sharing", "n"].tolist() in ([], [MARKER])
        assert set(checks.loc[checks["check"] == "victims_as_offenders", "n"]) <= {n}
    green = [c for c in pub.parameters["combined_areas"] if c["table"] == "boroughs" and c["metric"] == "green_share"]
    assert [(c["label"], c["areas"]) for c in green] == [("Other boroughs (2)", ["Hillingdon", "Richmond upon Thames"])]
    assert (out.at[("green_share", "Other boroughs (2)"), "count"], out.at[("green_share", "Other boroughs (2)"), "n"]) \
        == (109, 120)
    # with the rule switched off the publication audit refuses exactly these two
    specs = {k: dataclasses.replace(v, complements=()) for k, v in publication.TABLE_SPECS.items()}
    original = dict(publication.TABLE_SPECS)
    try:
        publication.TABLE_SPECS.update(specs)
        leaky = publication.protect_audit(internal, audit=False)
    finally:
        publication.TABLE_SPECS.update(original)
    found = audit_publication(leaky)
    funnel = found[(found["attack"] == "complement") & (found["table"] == "boroughs")]
    rows = leaky.boroughs.loc[funnel["row"], ["metric", "borough"]].values.tolist()
    assert rows == [["green_share", "Hillingdon"], ["green_share", "Richmond upon Thames"]]
    assert any("(21) minus boroughs[" in s and "(19) gives 2" in s for s in funnel["recovered_from"])
