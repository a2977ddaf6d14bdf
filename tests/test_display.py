"""Readable views for JupyterLab (fairness.results.display) and ValidationResult's short display."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import fairness
from fairness.results.display import readable

RRI = pd.DataFrame({
    "benchmark": ["residents_2021"] * 2, "benchmark_label": ["residents, Census 2021"] * 2,
    "group": ["White", "Black"], "reference": ["White"] * 2, "count": [466, 3105],
    "population": [4725297.0, 1188121.0], "rate_per_1000": [0.098618, 2.61337],
    "rate_low": [0.089866, 2.522248], "rate_high": [0.107992, 2.706943], "rri": [1.0, 26.499893],
    "ci_low": [np.nan, 24.041772], "ci_high": [np.nan, 29.209342], "p_value": [np.nan, 1.5e-05],
    "p_adjusted": [np.nan, 0.0], "method": ["katz"] * 2, "adjust": ["holm"] * 2,
    "flag": ["reference", "above_band"], "note": ["reference group", ""],
})


def test_relative_rate_reads_as_rounded_text_with_intervals_and_flags():
    before = RRI.copy()
    view = readable(RRI)
    assert RRI.equals(before)  # the table keeps its full values
    assert list(view.frame.columns) == [
        "benchmark_label", "group", "reference", "count", "population", "rate_per_1000",
        "rate_per_1000 95% CI", "rri", "95% CI", "p_value", "p_adjusted", "flag", "note"]
    black = view.frame.iloc[1].to_dict()
    assert black["count"] == "3,105" and black["population"] == "1,188,121"
    assert black["rate_per_1000"] == "2.61" and black["rate_per_1000 95% CI"] == "2.52–2.71"
    assert black["rri"] == "26.50" and black["95% CI"] == "24.04–29.21"
    assert black["p_value"] == "< 0.001" and black["p_adjusted"] == "< 0.001"  # never 1.5e-05 or 0.0e+00
    assert black["flag"] == "▲ above band"
    assert view.frame.iloc[0]["rate_per_1000"] == "0.099"  # two significant figures below 1
    assert view.flagged == (1,)
    html = view._repr_html_()
    assert '<tr style="font-weight:bold"><td>residents, Census 2021</td><td>Black</td>' in html
    assert "e-05" not in html and "e+00" not in html


def test_shares_by_metric_are_percentages_and_counts_stay_whole():
    t = pd.DataFrame({"metric": ["no_risk_share", "listed", "rate_per_1000"], "value": [0.380057, 3881.0, 0.441463],
                      "ci_low": [0.364911, np.nan, 0.40], "ci_high": [0.39544, np.nan, 0.48], "tau2": [0.0, 1.5e-05, 0.0098]})
    f = readable(t).frame
    assert f["value"].tolist() == ["38.0%", "3,881", "0.44"]
    assert f["95% CI"].tolist() == ["36.5%–39.5%", "–", "0.40–0.48"]
    assert f["tau2"].tolist() == ["0", "0.000015", "0.0098"]


def test_show_names_a_table_or_lists_the_valid_ones():
    from fairness.results.display import show

    res = type("R", (), {"relative_rate": RRI, "parameters": {"alpha": 0.1}})()
    assert "90% CI" in show(res, "relative_rate").frame.columns
    with pytest.raises(ValueError, match="no table 'rates'; tables: representation, relative_rate"):
        show(res, "rates")


def test_validation_result_displays_counts_rules_and_first_problems(tmp_path):
    path = tmp_path / "m.csv"
    rows = ["person_id,snapshot_date,borough,ethnicity,sex,age,harm_score,risk_band"]
    rows += [f"P{i},2018-12-31,Hackny,Black,Male,17,0,Green" for i in range(7)]
    rows += ["Q1,2018-12-31,Hackney,Black,Male,170,0,Green", "Q2,2018-12-31,Hackney,Black,Male,17,0,Green"]
    path.write_text("\n".join(rows) + "\n")
    v = fairness.read_matrix(path)
    text = repr(v)
    assert text.splitlines()[0] == f"ValidationResult({path}): 9 rows: 1 valid, 8 quarantined"
    assert "invalid_category       borough                       7" in text
    assert "out_of_range           age                           1" in text
    assert text.count("did you mean 'Hackney'") == 5  # the first five problems only
    assert "… 3 more in .problems" in text
    assert "Q2" not in text and len(text.splitlines()) < 20  # no frame dumped
    assert v._repr_html_().startswith("<pre>ValidationResult(")
