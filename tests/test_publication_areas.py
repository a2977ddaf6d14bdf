"""Small areas published together as one named row (issue 12): "Other boroughs (k)".

Each test builds a small audit result by hand (five areas; the funnel tables
from :func:`fairness.stats.boroughs.funnel_from_counts` of hand counts) and
checks what publication mode does with it, with the numbers worked out by
hand beside them. Fast: no matrix is read and no report is rendered.

The no-risk funnel: Barnet 20 of 40, Brent 12 of 30, Camden 4 of 20,
Croydon 12 of 25, Ealing 25 of 50 (London: 73 of 165). Camden's 4 is below
10; alone it could be worked out from the London total, so protection would
also hide the row with the fewest people after it, Croydon (25). Published
together: 4 + 12 = 16 of 20 + 25 = 45.

Band consistency: Barnet 0 of 40, Brent 3 of 30, Camden 4 of 20, Croydon 5
of 25, Ealing 20 of 50: Brent, Camden and Croydon hold counts below 10 and
are published together as 3 + 4 + 5 = 12 of 30 + 20 + 25 = 75.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

from fairness.publish.disclosure import MARKER
from fairness.publish.intruder import audit_publication
from fairness.publish.publication import combine_small_areas, other_areas_label, protect_audit
from fairness.results.result import AuditResult
from fairness.stats.boroughs import funnel_from_counts, heterogeneity_from_counts

LONDON = ["Barnet", "Brent", "Camden", "Croydon", "Ealing"]
FORCES = ["Cumbria", "Lancashire", "Merseyside", "Greater Manchester", "Cheshire"]
NO_RISK = [20, 12, 4, 12, 25]
LISTED = [40, 30, 20, 25, 50]
DISAGREE = [0, 3, 4, 5, 20]
Z = 1.959963984540054  # the normal 97.5% point


def wilson(x: int, n: int) -> tuple[float, float]:
    """Wilson (1927) score interval at 95%, written out (Newcombe 1998, method 3): not the package's code."""
    p = x / n
    d = 1 + Z * Z / n
    centre = (p + Z * Z / (2 * n)) / d
    half = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / d
    return centre - half, centre + half


def hand_result(areas: list[str] = LONDON, parameters: dict | None = None) -> AuditResult:
    counts = pd.DataFrame({"borough": areas, "count": NO_RISK, "n": np.array(LISTED, dtype=float)})
    boroughs, dispersion, limits = funnel_from_counts({"no_risk_share": counts})
    lo, hi = zip(*(wilson(x, n) for x, n in zip(NO_RISK, LISTED, strict=True)), strict=True)
    no_risk = pd.DataFrame({
        "definition": "harm_zero", "definition_label": "harm score of zero", "by": ["all"] + ["borough"] * 5,
        "group": ["All"] + areas, "count": [sum(NO_RISK)] + NO_RISK, "n": [sum(LISTED)] + LISTED,
        "share": [sum(NO_RISK) / sum(LISTED)] + [x / n for x, n in zip(NO_RISK, LISTED, strict=True)],
        "ci_low": [wilson(73, 165)[0], *lo], "ci_high": [wilson(73, 165)[1], *hi], "method": "wilson", "note": ""})
    lo, hi = zip(*(wilson(x, n) for x, n in zip(DISAGREE, LISTED, strict=True)), strict=True)
    consistency = pd.DataFrame({
        "borough": areas, "n": LISTED, "disagree": DISAGREE,
        "share": [x / n for x, n in zip(DISAGREE, LISTED, strict=True)], "ci_low": lo, "ci_high": hi,
        "amber_from": 9.0, "red_from": 28.0, "london_amber_from": 9.0, "london_red_from": 28.0,
        "london_share": sum(DISAGREE) / sum(LISTED), "flag": "consistent"})
    # case mix without covariates: expected = n x 73/165; p-values entered by hand (the model is not refitted)
    expected = [n * 73 / 165 for n in LISTED]
    z = [1.0, -0.5, -2.0, 0.3, 1.5]
    casemix = pd.DataFrame({
        "metric": "no_risk_share", "borough": areas, "observed": NO_RISK, "expected": expected, "n": LISTED,
        "oe_ratio": [o / e for o, e in zip(NO_RISK, expected, strict=True)], "ci_low": 0.5, "ci_high": 1.5, "z": z,
        "p_value": [0.01, 0.5, 0.04, 0.2, 0.03], "p_adjusted": 0.05, "flag": "within"})
    casemix_test = pd.DataFrame([{"metric": "no_risk_share", "lr_statistic": 12.3, "df": 4, "p_value": 0.015,
                                  "covariates": "age_band, sex, ethnicity"}])
    params = {"quarter": "2018Q4", "alpha": 0.05, "no_risk": "harm_zero", "adjust": "holm", **(parameters or {})}
    return AuditResult(
        quarter="2018Q4", quarters=("2018Q4",), n=165, quarantined=0, n_rows=165, source="hand",
        sha256="0" * 64, mode="internal", parameters=params, boroughs=boroughs, overdispersion=dispersion,
        funnel_limits=limits, heterogeneity=heterogeneity_from_counts({"no_risk_share": counts}), no_risk=no_risk,
        band_consistency=consistency, casemix=casemix, casemix_test=casemix_test,
        relative_rate=pd.DataFrame(columns=["benchmark", "benchmark_label", "group", "reference", "count", "rri",
                                            "ci_low", "ci_high"]))


@pytest.fixture(scope="module")
def published() -> tuple[AuditResult, AuditResult]:
    internal = hand_result()
    return internal, protect_audit(internal)  # the publication audit runs, and passes


def row(table: pd.DataFrame, label: str, column: str = "borough") -> pd.Series:
    hit = table[table[column].astype(str) == label]
    assert len(hit) == 1, (label, list(table[column]))
    return hit.iloc[0]


def test_the_small_areas_of_the_funnel_are_one_named_row(published):
    _, pub = published
    b = pub.boroughs
    assert list(b["borough"]) == ["Barnet", "Brent", "Ealing", "Other boroughs (2)"]
    other = row(b, "Other boroughs (2)")
    assert (other["count"], other["n"]) == (16, 45)  # Camden 4 + Croydon 12 of 20 + 25
    assert other["value"] == pytest.approx(16 / 45)
    assert other["flag"] == "combined"  # shown, not compared with the limits
    assert math.isnan(other["z"]) and math.isnan(other["lower_95"])
    assert not b.map(lambda v: v == MARKER).any().any()  # nothing suppressed any more
    # the centre is London's, every person counted once: 73 / 165
    assert b["target"].iloc[0] == pytest.approx(73 / 165)
    combined = pub.parameters["combined_areas"]
    assert {(c["table"], c["label"], tuple(c["areas"])) for c in combined} == {
        ("boroughs", "Other boroughs (2)", ("Camden", "Croydon")),
        ("no_risk", "Other boroughs (2)", ("Camden", "Croydon")),
        ("casemix", "Other boroughs (2)", ("Camden", "Croydon")),
        ("band_consistency", "Other boroughs (3)", ("Brent", "Camden", "Croydon"))}


def test_the_combined_rows_interval_is_recomputed_from_the_summed_counts(published):
    _, pub = published
    # no-risk share by borough: 16 of 45, Wilson 95%: p = 0.355556, 1 + z²/n = 1.085366,
    # centre 0.366916, half-width 0.134726 -> 0.232191 to 0.501642
    nr = row(pub.no_risk[pub.no_risk["by"] == "borough"], "Other boroughs (2)", "group")
    assert (nr["count"], nr["n"]) == (16, 45)
    assert (nr["ci_low"], nr["ci_high"]) == pytest.approx((0.232191, 0.501642), abs=1e-6)
    # band consistency: 12 of 75, Wilson 95%: p = 0.16, 1 + z²/n = 1.051219, centre 0.176566,
    # half-width 0.082601 -> 0.093965 to 0.259167
    bc = row(pub.band_consistency, "Other boroughs (3)")
    assert (bc["disagree"], bc["n"]) == (12, 75)
    assert bc["share"] == pytest.approx(0.16)
    assert (bc["ci_low"], bc["ci_high"]) == pytest.approx((0.093965, 0.259167), abs=1e-6)
    assert math.isnan(bc["amber_from"])  # a group of boroughs has no thresholds of its own
    assert bc["flag"] == "combined"


def test_the_model_summaries_come_from_the_areas_shown_plus_the_combined_row(published):
    internal, pub = published
    het = row(pub.heterogeneity, "no_risk_share", "metric")
    # Pearson's X² over 4 units, p = 73/165 = 0.442424, p(1 - p) = 0.246685:
    # (20 - 17.69697)² / 9.86740 + (12 - 13.27273)² / 7.40055 + (25 - 22.12121)² / 12.33425
    # + (16 - 19.90909)² / 11.10083 = 0.53752 + 0.21888 + 0.67191 + 1.37659 = 2.80490, df 3
    assert het["statistic"] == pytest.approx(2.80490, abs=1e-4)
    assert (het["df"], het["k"]) == (3, 4)
    od = row(pub.overdispersion, "no_risk_share", "metric")
    assert od["k"] == 4 and not math.isnan(od["phi"])  # published: every input is published
    assert row(internal.overdispersion, "no_risk_share", "metric")["k"] == 5
    from fairness.report.format import overdispersion_table

    assert "published together (\"Other boroughs (k)\") count as one" in overdispersion_table(pub).note
    assert "count as one" not in overdispersion_table(internal).note


def test_case_mix_combines_the_same_areas_and_withholds_its_model_test(published):
    _, pub = published
    cm = pub.casemix
    assert list(cm["borough"]) == ["Barnet", "Brent", "Ealing", "Other boroughs (2)"]
    other = row(cm, "Other boroughs (2)")
    # observed 4 + 12 = 16; expected (20 + 25) x 73/165 = 19.909091; O/E = 0.803653
    assert (other["observed"], other["n"]) == (16, 45)
    assert other["expected"] == pytest.approx(19.909091, abs=1e-6)
    assert other["oe_ratio"] == pytest.approx(0.803653, abs=1e-6)
    assert other["flag"] == "combined"
    # Holm over the three areas shown: 0.01 x 3 = 0.03, 0.03 x 2 = 0.06, 0.5 -> Barnet below 0.05 (higher)
    assert list(cm["p_adjusted"].iloc[:3]) == pytest.approx([0.03, 0.5, 0.06])
    assert list(cm["flag"].iloc[:3]) == ["higher", "within", "within"]
    # the likelihood-ratio test was fitted with the parts apart: withheld
    assert pub.casemix_test[["lr_statistic", "p_value"]].isna().all().all()
    assert pub.casemix_test.at[0, "df"] == 4


def test_the_parts_appear_nowhere_else(published):
    _, pub = published
    # Camden's and Croydon's no-risk counts (4, 12) and Camden's disagreements (4) are in no row of their own
    for name in ("boroughs", "no_risk", "band_consistency", "casemix"):
        t = getattr(pub, name)
        col = "group" if name == "no_risk" else "borough"
        parts = ("Camden", "Croydon") + (("Brent",) if name == "band_consistency" else ())
        assert not t[col].astype(str).isin(parts).any(), name
    assert audit_publication(pub).empty
    note = pub.disclosure_note
    assert "Camden and Croydon are published together as 'Other boroughs (2)'" in note
    assert "Brent, Camden and Croydon are published together as 'Other boroughs (3)'" in note


def test_the_intruder_cannot_get_a_part_back(published):
    internal, pub = published
    # Croydon's no-risk count shown again (its no_risk row, as before combining, at row 5): 16 - 12 = 4
    nr = pub.no_risk.reset_index(drop=True)
    croydon = internal.no_risk[internal.no_risk["group"] == "Croydon"]
    leaky = dataclasses.replace(pub, no_risk=pd.concat([nr, croydon], ignore_index=True))
    found = audit_publication(leaky)
    hit = found[found["attack"] == "combined"]
    assert any("minus Croydon at no_risk[5].count gives Camden" in s for s in hit["recovered_from"])
    # φ computed over the five areas (the parts apart) is caught: it is not over what is published
    phi = internal.overdispersion.reset_index(drop=True)
    leaky = dataclasses.replace(pub, overdispersion=phi)
    found = audit_publication(leaky)
    assert ((found["attack"] == "summary") & (found["table"] == "overdispersion")).any()


def test_a_combined_row_still_small_is_not_made():
    # Camden 4 and Croydon 3 of a funnel whose other areas are large: 7 together is still below 10,
    # so the areas stay as they are (each suppressed, as without combining)
    res = hand_result()
    counts = pd.DataFrame({"borough": LONDON, "count": [20, 12, 4, 3, 25], "n": np.array(LISTED, dtype=float)})
    b, od, lim = funnel_from_counts({"no_risk_share": counts})
    res = dataclasses.replace(res, boroughs=b, overdispersion=od, funnel_limits=lim, no_risk=pd.DataFrame(),
                              band_consistency=pd.DataFrame())
    changes, made = combine_small_areas(res)
    assert made == [] and changes == {}


def test_another_profile_names_the_row_with_its_area_word():
    assert other_areas_label(2) == "Other boroughs (2)"
    res = hand_result(FORCES, {"profile": "england-wales-forces"})
    pub = protect_audit(res)  # the publication audit knows the label
    other = row(pub.boroughs, "Other police force areas (2)")
    assert (other["count"], other["n"]) == (16, 45)
    assert "Lancashire, Merseyside and Greater Manchester are published together as " \
           "'Other police force areas (3)'" in pub.disclosure_note
    assert "as a group of police force areas is not one police force area that can be compared with " \
           "England and Wales" in pub.disclosure_note


def test_the_funnel_note_names_the_combined_areas_and_the_plot_leaves_the_row_out(published):
    import matplotlib

    matplotlib.use("Agg")
    from fairness import plots
    from fairness.report.format import hidden_boroughs_note

    _, pub = published
    text = hidden_boroughs_note(pub, "no_risk_share").text
    assert text.startswith("Camden and Croydon are published together as Other boroughs (2) (35.6%; 16 of 45 ")
    assert "Not drawn" in text
    ax = plots.funnel(pub.boroughs, pub.funnel_limits, metric="no_risk_share", annotate="all")
    names = {t.get_text() for t in ax.texts}
    assert "Other boroughs (2)" not in names and {"Barnet", "Brent", "Ealing"} <= names
    matplotlib.pyplot.close(ax.figure)
