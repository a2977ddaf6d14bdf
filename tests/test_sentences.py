"""The wording rules of fairness.results.sentences, one test per rule.

The numbers are small hand-made tables, so every expected sentence can be
checked by eye; the issue that set the rules (issue 13) quotes the sentences
these tests forbid ("Other Londoners were 1.28 times less likely (95% CI
0.93–1.74)").
"""

from __future__ import annotations

import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from fairness.results import sentences as S

BENCH = {"benchmark": "residents_2021", "benchmark_label": "residents, Census 2021", "reference": "White",
         "note": ""}


def rri_table(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame([{**BENCH, **r} for r in rows])


# Listed: 78 Black of 1,000 residents, 22 White of 4,000 (tests/test_disproportionality.py's
# hand example): rates 78.0 and 5.5 per 1,000, RRI 78.0 / 5.5 = 14.18.
HAND = rri_table([
    {"group": "White", "count": 22, "rate_per_1000": 5.5, "rri": 1.0, "ci_low": np.nan, "ci_high": np.nan},
    {"group": "Black", "count": 78, "rate_per_1000": 78.0, "rri": 14.1818, "ci_low": 9.0, "ci_high": 22.3},
    # the two examples, as ratios below 1: 1 / 1.28 = 0.78 (0.57–1.07); 1 / 1.03 = 0.97 (0.57–1.67)
    {"group": "Other", "count": 43, "rate_per_1000": 4.3, "rri": 0.78, "ci_low": 0.57, "ci_high": 1.07},
    {"group": "Mixed", "count": 20, "rate_per_1000": 5.35, "rri": 0.97, "ci_low": 0.57, "ci_high": 1.67},
    # 0.26: about a quarter of White's rate, interval wholly below parity
    {"group": "Asian", "count": 30, "rate_per_1000": 1.43, "rri": 0.26, "ci_low": 0.18, "ci_high": 0.37},
    {"group": "Not stated", "count": 5, "rate_per_1000": np.nan, "rri": np.nan, "ci_low": np.nan,
     "ci_high": np.nan},
])


def by_group(table: pd.DataFrame) -> dict[str, str]:
    return dict(zip(table["group"], table["sentence"], strict=True))


# ---------------------------------------------------------------- rule 1: direction only when supported


@pytest.mark.parametrize(("low", "high", "expected"), [
    (24.0, 29.2, "higher"),
    (0.18, 0.37, "lower"),
    (0.55, 0.82, "lower"),                 # excludes 1, not wholly inside 0.8–1.25
    (0.93, 1.74, "no clear difference"),   # includes 1
    (0.57, 1.07, "no clear difference"),
    (1.05, 1.20, "no clear difference"),   # excludes 1 but wholly inside the parity band
    (0.81, 0.95, "no clear difference"),
    (1.0, 1.3, "no clear difference"),     # touches 1
    (np.nan, 2.0, "not estimable"),
])
def test_direction_only_when_the_interval_excludes_parity(low, high, expected):
    assert S.direction(low, high) == expected


def test_sentence_says_no_clear_difference_when_the_interval_includes_one():
    s = by_group(S.ratio_sentences(HAND))
    assert s["Other"] == (
        "There was no clear difference between the rates at which Other Londoners and White Londoners were "
        "listed (the interval includes parity): 4.3 against 5.5 per 1,000 residents (43 Other people listed; "
        "rate ratio 0.78, 95% CI 0.57–1.07; benchmark: residents, Census 2021)."
    )
    assert s["Mixed"].startswith("There was no clear difference between the rates at which Mixed Londoners")
    for text in (s["Other"], s["Mixed"]):
        assert "less" not in text and "more" not in text and "higher" not in text


def test_sentence_inside_the_parity_band_says_so():
    t = rri_table([{"group": "White", "count": 500, "rate_per_1000": 5.0, "rri": 1.0, "ci_low": np.nan,
                    "ci_high": np.nan},
                   {"group": "Asian", "count": 560, "rate_per_1000": 5.6, "rri": 1.12, "ci_low": 1.05,
                    "ci_high": 1.20}])
    (text,) = S.ratio_sentences(t)["sentence"]
    assert "no clear difference" in text and "lies within the parity band 0.8–1.25" in text


def test_higher_rate_gives_the_times_and_both_rates():
    s = by_group(S.ratio_sentences(HAND))
    assert s["Black"] == (
        "Black Londoners were listed at 14.2 times the rate of White Londoners: 78.0 against 5.5 per 1,000 "
        "residents (78 Black people listed; rate ratio 14.2, 95% CI 9.0–22.3; benchmark: residents, Census 2021)."
    )


# ---------------------------------------------------------------- rule 2: never "times less likely"


def test_lower_rate_is_a_fraction_of_the_reference_never_times_less():
    s = by_group(S.ratio_sentences(HAND))
    assert s["Asian"].startswith("Asian Londoners were listed at about a quarter of the rate of White Londoners: "
                                 "1.4 against 5.5 per 1,000 residents")
    for text in s.values():
        assert "times less" not in text and "less likely" not in text


@pytest.mark.parametrize(("ratio", "words"), [
    (0.5, "about half of"), (0.26, "about a quarter of"), (0.33, "about a third of"),
    (0.669939, "about two-thirds of"), (0.2, "about a fifth of"), (0.1, "about a tenth of"),
    (0.4, "40% of"), (0.9, "90% of"), (0.004, "less than 1% of"),
])
def test_fraction_words(ratio, words):
    assert S.fraction_words(ratio) == words


def test_zero_count_under_exact_methods_has_no_division():
    t = rri_table([{"group": "White", "count": 22, "rate_per_1000": 5.5, "rri": 1.0, "ci_low": np.nan,
                    "ci_high": np.nan},
                   {"group": "Asian", "count": 0, "rate_per_1000": 0.0, "rri": 0.0, "ci_low": 0.0,
                    "ci_high": 0.8}])
    (text,) = S.ratio_sentences(t)["sentence"]
    assert text.startswith("No Asian Londoners were on the list, against 5.5 per 1,000 White Londoners")


# ---------------------------------------------------------------- rule 3: count, interval, benchmark


def test_every_rate_sentence_has_count_interval_and_benchmark():
    table = S.ratio_sentences(HAND, alpha=0.1)
    assert table["group"].tolist() == ["Black", "Other", "Mixed", "Asian"]  # not the reference, not "Not stated"
    for text in table["sentence"]:
        assert re.search(r"\d+ \w+ people listed", text)
        assert re.search(r"90% CI \d+\.\d+–\d+\.\d+", text)
        assert "benchmark: residents, Census 2021" in text
        assert "nan" not in text


def test_not_estimable_says_why_with_its_count():
    t = rri_table([{"group": "White", "count": 0, "rate_per_1000": 0.0, "rri": 1.0, "ci_low": np.nan,
                    "ci_high": np.nan},
                   {"group": "Black", "count": 16, "rate_per_1000": 1.0, "rri": np.nan, "ci_low": np.nan,
                    "ci_high": np.nan, "note": "no one of the reference group listed"}])
    (text,) = S.ratio_sentences(t)["sentence"]
    assert text == ("The rate at which Black Londoners were listed, relative to White Londoners, could not be "
                    "estimated (no one of the reference group listed; 16 Black people listed; benchmark: "
                    "residents, Census 2021).")


def test_by_borough_names_the_borough_and_its_own_reference_rate():
    t = pd.concat([HAND.iloc[:2].assign(borough="Hackney"),
                   HAND.iloc[:2].assign(borough="Lambeth", rate_per_1000=[2.0, 20.0], rri=[1.0, 10.0])])
    s = S.ratio_sentences(t)["sentence"].tolist()
    assert s[0].startswith("Black residents in Hackney were listed at 14.2 times the rate of White residents in "
                           "Hackney: 78.0 against 5.5 per 1,000")
    assert "20.0 against 2.0 per 1,000" in s[1]


# ---------------------------------------------------------------- rule 6: p-values


@pytest.mark.parametrize(("p", "text"), [
    (0.0, "< 0.001"), (1.5e-05, "< 0.001"), (0.000999, "< 0.001"), (0.001, "0.001"), (0.0061, "0.006"),
    (0.01234, "0.012"), (0.1266, "0.13"), (1.0, "1.00"), (np.nan, "—"), ("[c]", "[c]"),
])
def test_p_values_never_in_e_notation(p, text):
    assert S.fmt_p(p) == text
    assert "e-" not in S.fmt_p(p) and "e+" not in S.fmt_p(p)


# ---------------------------------------------------------------- rule 7: one place name


def test_place_names_come_from_one_function():
    assert S.place() == S.Place("London", "Londoners")
    kent = S.place({"place": "Kent"})
    assert kent == S.Place("Kent", "residents of Kent")
    (text,) = S.ratio_sentences(HAND.iloc[:2], parameters={"place": "Kent"})["sentence"]
    assert text.startswith("Black residents of Kent were listed at 14.2 times the rate of White residents of Kent")
    assert "London" not in text
    # an audit made with a profile takes the profile's [place] (fairness/profiles/england-wales-forces.toml)
    ew = S.place({"profile": "england-wales-forces"})
    assert (ew.name, ew.people) == ("England and Wales", "people in England and Wales")
    # ... and its area word and list words ([place], [list])
    assert (ew.area, ew.areas, ew.unit, ew.list_name) == ("police force area", "police force areas", "searches",
                                                          "stop and search")


# ---------------------------------------------------------------- the headline of a whole audit


def _audit(**over) -> SimpleNamespace:
    """An AuditResult stand-in with the tables the sentences read, numbers chosen by hand."""
    rep = pd.DataFrame([
        {**BENCH, "group": "Black", "count": 300, "n": 400, "share": 0.75, "benchmark_share": 0.135,
         "ratio": 5.56, "ci_low": 5.2, "ci_high": 5.9},
        {**BENCH, "benchmark": "residents_2011", "benchmark_label": "residents, Census 2011", "group": "Black",
         "count": 300, "n": 400, "share": 0.75, "benchmark_share": 0.133, "ratio": 5.64, "ci_low": 5.3,
         "ci_high": 6.0},
    ])
    rel = pd.concat([HAND, HAND.assign(benchmark="residents_2011", benchmark_label="residents, Census 2011",
                                       rri=HAND["rri"] * 1.1)])
    nr = pd.DataFrame([{"definition": "harm_zero", "definition_label": "harm score of zero", "by": "all",
                        "group": "all", "count": 152, "n": 400, "share": 0.38, "ci_low": 0.333, "ci_high": 0.429,
                        "note": ""}])
    bor = pd.DataFrame([
        # Wilson 95% intervals worked out with confint_proportion: 60/100 → 50.2–69.1; 10/100 → 5.5–17.4
        {"metric": "no_risk_share", "borough": "Haringey", "count": 60, "n": 100, "value": 0.6, "target": 0.38,
         "z": 4.5, "flag": "above_99.8"},
        {"metric": "no_risk_share", "borough": "Croydon", "count": 10, "n": 100, "value": 0.1, "target": 0.38,
         "z": -5.8, "flag": "below_99.8"},
        {"metric": "no_risk_share", "borough": "Hackney", "count": 82, "n": 200, "value": 0.41, "target": 0.38,
         "z": 0.9, "flag": "within"},
    ])
    od = pd.DataFrame([{"metric": "no_risk_share", "phi": 0.38, "tau2": 0.0, "target": 0.38, "k": 32,
                        "overdispersed": False, "adjusted": False}])
    het = pd.DataFrame([{"metric": "no_risk_share", "statistic": 123.0, "df": 31, "p_value": 1.5e-05,
                         "i2": 0.75, "k": 32}])
    trends = pd.DataFrame([{"metric": "listed", "quarter": "2018Q4", "value": 400.0, "diff_year": 40.0}])
    checks = pd.DataFrame([
        {"check": "victims_as_offenders", "quarter": "2018Q4", "borough": "All boroughs", "count": 100,
         "n": 400, "share": 0.25, "ci_low": 0.21, "ci_high": 0.295, "status": "concern"},
        {"check": "relisted", "quarter": "2018Q4", "borough": "All boroughs", "count": 2, "n": 400,
         "share": 0.005, "ci_low": 0.001, "ci_high": 0.018, "status": "ok"},
    ])
    base = dict(quarter="2018Q4", n=400, mode="internal",
                parameters={"benchmarks": ["residents_2021", "residents_2011"], "alpha": 0.05,
                            "no_risk": "harm_zero"},
                representation=rep, relative_rate=rel, sentences=S.ratio_sentences(rel), no_risk=nr,
                boroughs=bor, overdispersion=od, heterogeneity=het, trends=trends, checks=checks)
    return SimpleNamespace(**{**base, **over})


STATISTICIANS_WORDS = ("φ", "τ", "funnel", "99.8", "figure", "overdispersion", "I²", "p <", "p =", "z-score")


def test_main_points_three_to_five_each_with_number_interval_and_benchmark_words():
    points = S.main_points(_audit())
    assert 3 <= len(points) <= 5
    for p in points:
        assert re.search(r"\d", p) and "95% CI" in p, p
        assert not [w for w in STATISTICIANS_WORDS if w in p], p
    assert points[0] == ("Black people were 75.0% (95% CI 70.5–79.0) of those listed with a stated ethnicity "
                         "(300 of 400), against 13.5% of the benchmark population (residents, Census 2021).")


def test_headline_has_no_statisticians_words_and_one_benchmark():
    lines = S.headline_sentences(_audit())
    text = " ".join(lines)
    assert not [w for w in STATISTICIANS_WORDS if w in text]
    assert "Census 2021" in text and "Census 2011" not in text  # one headline benchmark
    assert "e-0" not in text and "e+0" not in text


def test_boroughs_named_above_and_below_with_their_intervals():
    text = S.borough_sentence(_audit())
    assert text == (
        "The share of people assessed as posing no risk was far higher in Haringey (60.0%, 95% CI 50.2–69.1; "
        "60 of 100) and far lower in Croydon (10.0%, 95% CI 5.5–17.4; 10 of 100), against 38.0% across London: "
        "2 of 3 boroughs differ by more than chance and the usual spread between boroughs would explain."
    )
    short = S.borough_sentence(_audit(), short=True)
    assert short.startswith("Haringey lists a far larger share of people assessed as posing no risk than other "
                            "boroughs; Croydon a far smaller share: ")


def test_no_borough_outside_says_so_in_words():
    res = _audit(boroughs=_audit().boroughs.assign(flag="within"))
    assert S.borough_sentence(res) == (
        "No borough's share of people assessed as posing no risk stands out from London as a whole (38.0%) by "
        "more than chance and the usual spread between boroughs would explain (3 boroughs compared).")


def test_small_phi_beside_a_tiny_heterogeneity_p_is_explained_not_contradicted():
    text = S.dispersion_sentence(_audit())
    assert "φ = 0.38" in text and "p < 0.001" in text and "I² = 75%" in text
    assert "Both hold" in text and "no more than chance" in text


def test_trend_is_a_complete_count_without_interval_and_says_why():
    assert S.trend_sentence(_audit()) == (
        "The list held 400 people in 2018Q4, against 360 a year earlier in 2017Q4 (11% more); these are "
        "complete counts of the list, so they carry no interval.")


def test_checks_sentence_names_the_largest_concern_with_count_and_interval():
    assert S.checks_sentence(_audit(), short=True) == (
        "1 of the 2 data-protection checks raised a concern; the largest, victims as offenders: 100 of 400 "
        "(25.0%, 95% CI 21.0–29.5).")


def test_suppressed_values_are_said_suppressed():
    res = _audit(mode="publication", representation=_audit().representation.assign(count="[c]", share="[c]"))
    assert "is suppressed" in S.representation_sentence(res)
    assert S.fmt_count("[c]") == "suppressed"


def test_count_table_wording_keeps_every_rule():
    # the HAND table worded for a count table of searches (a profile's list.unit), in England and Wales
    where = S.Place("England and Wales", "people in England and Wales")
    s = by_group(S.ratio_sentences(HAND, where=where, unit="searches"))
    assert s["Black"] == (
        "There were 78.0 searches per 1,000 Black people in England and Wales against 5.5 per 1,000 White people "
        "in England and Wales: 14.2 times the rate (Black: 78 searches; rate ratio 14.2, 95% CI 9.0–22.3; "
        "benchmark: residents, Census 2021).")
    assert s["Other"] == (
        "There were 4.3 searches per 1,000 Other people in England and Wales against 5.5 per 1,000 White people "
        "in England and Wales: no clear difference between the rates (the interval includes parity; Other: 43 "
        "searches; rate ratio 0.78, 95% CI 0.57–1.07; benchmark: residents, Census 2021).")
    assert ": about a quarter of the rate (Asian: 30 searches; rate ratio 0.26, 95% CI 0.18–0.37" in s["Asian"]
    for text in s.values():
        assert "less likely" not in text and "times less" not in text and "London" not in text
    hidden = HAND.assign(rri=HAND["rri"].astype(object))
    hidden.loc[hidden["group"] == "Black", "rri"] = "[c]"
    text = by_group(S.ratio_sentences(hidden, where=where, unit="searches"))["Black"]
    assert text.startswith("The rate for Black people in England and Wales relative to White people in England "
                           "and Wales is suppressed") and "benchmark: residents, Census 2021" in text


def test_place_fill_is_the_one_way_labels_get_their_words(monkeypatch):
    """Place.fill fills each placeholder of Place.words in one pass (no str.format: other braces
    stay, and a word's own braces are not filled again), and the plots' and the report's labels give
    the same words through it; report prose fills through the same definitions.fill_words."""
    from fairness import plots
    from fairness.report import format as fr

    where = S.Place(share_group="Hispanic", unit="searches")
    assert where.fill("{share_group} share of the {unit} in {place}") == "Hispanic share of the searches in London"
    assert where.fill("{share_group} share {not_a_word} {}") == "Hispanic share {not_a_word} {}"
    assert S.Place().fill("{share_group} people") == "Black people"
    # a place whose name holds a placeholder keeps it as written, in labels and in prose alike
    town = S.Place(name="Town {unit}", unit="searches")
    assert town.fill("{place}") == "Town {unit}"
    monkeypatch.setattr(fr, "place", lambda res: town)
    assert fr.fill(None, "{place}: {unit}") == "Town {unit}: searches"
    # London's words, byte for byte as before
    assert plots._words("black_share") == "share of people listed who are Black"
    assert fr.metric_label("black_share") == "Black share of the people listed"
    assert plots._words("black_share", S.Place(share_group="Asian")) == "share of people listed who are Asian"

