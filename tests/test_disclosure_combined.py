"""Small groups combined before suppression, and the publication audit of combined rows (issue 12).

The band-performance counts below are those of the default synthetic history
at 2018Q4, Red or Amber threshold, by age band (counted by hand in the
generated matrix: rows with snapshot_date 2018-12-31, outcome known, band Red
or Amber selected). 35+ has 6 true positives: hiding them alone would hide
another band's true positives too (the bands add up to the published total),
and 10-17, the smallest, would lose its precision; combined with 25-34 as
"25 and over", no large group loses anything.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from fairness.definitions import GROUP_COMBINATIONS
from fairness.publish.disclosure import MARKER
from fairness.publish.intruder import audit_publication
from fairness.publish.publication import combine_small_groups, withheld_figures_sentences

# group: tp, fp, tn, fn
AGE_2018Q4 = {"10-17": (124, 73, 256, 90), "18-24": (456, 324, 1175, 374), "25-34": (107, 125, 525, 115),
              "35+": (6, 18, 100, 13)}


def band_rows(counts: dict[str, tuple[int, int, int, int]], threshold: str = "red_amber", by: str = "age_band"):
    rows = []
    for g, (tp, fp, tn, fn) in counts.items():
        r = {"threshold": threshold, "by": by, "group": g, "n": tp + fp + tn + fn, "positives": tp + fn,
             "selected": tp + fp, "tp": tp, "fp": fp, "tn": tn, "fn": fn}
        for m, (num, den) in {"fpr": (fp, fp + tn), "precision": (tp, tp + fp)}.items():
            r[m] = num / den if den else np.nan
            r[f"{m}_low"], r[f"{m}_high"] = (proportion_confint(num, den, alpha=0.05, method="wilson") if den
                                             else (np.nan, np.nan))
        r["note"] = ""
        rows.append(r)
    return pd.DataFrame(rows)


def calibration_rows(by: str, groups: list[str]) -> pd.DataFrame:
    rows = [{"by": by, "group": g, "risk_band": b, "n": 50, "outcomes": 20, "rate": 0.4, "ci_low": 0.3,
             "ci_high": 0.5, "note": ""} for g in groups for b in ("Red", "Amber", "Green")]
    return pd.DataFrame(rows)


def result(bands: pd.DataFrame, calibration: pd.DataFrame | None = None):
    return SimpleNamespace(band_by_group=bands, band_calibration=calibration if calibration is not None
                           else pd.DataFrame(), parameters={"alpha": 0.05})


def test_the_combinations_are_declared_with_adjacent_age_bands():
    labels = {(c.by, c.label): c.parts for c in GROUP_COMBINATIONS}
    assert labels[("age_band", "25 and over")] == ("25-34", "35+")
    assert labels[("ethnicity", "Asian, Mixed and Other")] == ("Asian", "Mixed", "Other")


def test_35_and_over_is_combined_with_25_34_and_the_rates_recomputed():
    bands, cal, made = combine_small_groups(result(band_rows(AGE_2018Q4),
                                                   calibration_rows("age_band", list(AGE_2018Q4))))
    assert [(m["by"], m["group"], m["parts"]) for m in made] == [("age_band", "25 and over", ["25-34", "35+"])]
    assert "35+ holds a count below 10" in made[0]["why"]
    assert list(bands["group"]) == ["10-17", "18-24", "25 and over"]
    row = bands.set_index("group").loc["25 and over"]
    # 107 + 6 true positives, 125 + 18 false positives, 525 + 100 true negatives, 115 + 13 false negatives
    assert (row["tp"], row["fp"], row["tn"], row["fn"], row["n"]) == (113, 143, 625, 128, 1009)
    assert row["fpr"] == pytest.approx(143 / 768)
    assert row["precision"] == pytest.approx(113 / 256)
    # Wilson interval of 143 / 768 (statsmodels' proportion_confint, method "wilson")
    low, high = proportion_confint(143, 768, alpha=0.05, method="wilson")
    assert (row["fpr_low"], row["fpr_high"]) == pytest.approx((low, high), rel=1e-9)
    assert row["note"] == "combined: 25-34 and 35+"
    # the calibration table follows: three bands of 25 and over, each 50 + 50 people
    assert list(dict.fromkeys(cal["group"])) == ["10-17", "18-24", "25 and over"]
    assert list(cal.loc[cal["group"] == "25 and over", "n"]) == [100, 100, 100]


def test_no_combination_where_suppression_costs_no_large_group_anything():
    counts = {**AGE_2018Q4, "35+": (16, 18, 100, 13)}  # 16 true positives: nothing small
    bands, _, made = combine_small_groups(result(band_rows(counts)))
    assert made == [] and list(bands["group"]) == list(counts)


def test_a_combined_row_minus_its_part_shown_at_the_same_threshold_is_caught():
    bands, _, _ = combine_small_groups(result(band_rows(AGE_2018Q4)))
    metrics = {"mode": "publication", "band_by_group": bands.to_dict("records")}
    assert audit_publication(metrics).empty
    # plant 25-34's row back beside the combined row: 113 - 107 gives 35+'s 6 true positives
    leaky = pd.concat([bands, band_rows({"25-34": AGE_2018Q4["25-34"]})], ignore_index=True)
    found = audit_publication({"mode": "publication", "band_by_group": leaky.to_dict("records")})
    tp = found[(found["attack"] == "combined") & (found["column"] == "tp")]
    assert len(tp) == 1 and tp["row"].iloc[0] == 2
    assert "minus 25-34 at band_by_group[3].tp gives 35+" in tp["recovered_from"].iloc[0]


def test_a_combined_row_minus_a_part_hidden_elsewhere_is_caught():
    bands, _, _ = combine_small_groups(result(band_rows(AGE_2018Q4)))
    # at another threshold, 25-34's size is shown and 35+'s hidden: 1,009 - 872 gives it back
    red = band_rows({"25-34": (21, 16, 634, 201), "35+": (0, 0, 118, 19)}, threshold="red").astype(object)
    red.loc[1, ["n", "tn", "fn", "positives"]] = MARKER
    leaky = pd.concat([bands, red], ignore_index=True)
    found = audit_publication({"mode": "publication", "band_by_group": leaky.to_dict("records")})
    n = found[(found["attack"] == "combined") & (found["column"] == "n")]
    assert len(n) == 1 and "gives 35+" in n["recovered_from"].iloc[0]


def test_a_combined_row_minus_its_part_in_the_calibration_table_is_caught():
    bands, _, _ = combine_small_groups(result(band_rows(AGE_2018Q4)))
    # 25-34 by band: Red 37 people (21 outcomes), Amber 195 (86), Green 640 (115): Red + Amber
    # give its 107 true positives at red_amber, and 113 - 107 = 6 is 35+'s
    cal = pd.DataFrame({"by": "age_band", "group": "25-34", "risk_band": ["Red", "Amber", "Green"],
                        "n": [37, 195, 640], "outcomes": [21, 86, 115]})
    found = audit_publication({"mode": "publication", "band_by_group": bands.to_dict("records"),
                               "band_calibration": cal.to_dict("records")})
    tp = found[(found["attack"] == "combined") & (found["column"] == "tp")]
    assert len(tp) == 1 and "band_calibration rows 0, 1, 2" in tp["recovered_from"].iloc[0]
    cal = cal.astype(object)
    cal.loc[0, "outcomes"] = MARKER  # as protection would leave it
    found = audit_publication({"mode": "publication", "band_by_group": bands.to_dict("records"),
                               "band_calibration": cal.to_dict("records")})
    assert found[(found["attack"] == "combined") & (found["column"] == "tp")].empty


def test_withheld_figures_are_said_in_words():
    t = band_rows({"White": (15, 8, 301, 142), "Black": (144, 65, 2005, 891)}, threshold="red",
                  by="ethnicity").astype(object)
    t.loc[0, ["fp", "tp", "fpr", "fpr_low", "fpr_high", "precision", "precision_low", "precision_high"]] = MARKER
    assert withheld_figures_sentences(t) == [
        "At the Red threshold, the false positive rate and precision are withheld for the White group: each "
        "rests on a count below 10, or on one that would reveal such a count."]
    assert withheld_figures_sentences(t.iloc[[1]]) == []
    assert np.isfinite(t.loc[1, "fpr"])
