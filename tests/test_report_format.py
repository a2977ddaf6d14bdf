"""Words the report prints about disclosure control (issue 12): the suppression table of the methods,
the note of boroughs a funnel cannot show, the sentence for a chart suppression empties, the briefing's line.

Small hand-built results (a namespace with the fields the functions read); no audit is run.
"""

from __future__ import annotations

from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402

from fairness.report import format as fr  # noqa: E402

C = "[c]"


def _boroughs(values: dict[str, object]) -> pd.DataFrame:
    rows = []
    for i, (name, v) in enumerate(values.items()):
        hidden = v == C
        rows.append({"metric": "no_risk_share", "borough": name, "count": C if hidden else 40 + i,
                     "n": C if hidden else 100 + 10 * i, "value": v, "target": 0.38, "z": 0.0, "z_adjusted": 0.0,
                     "flag": C if hidden else "within", "lower_95": 0.3, "upper_95": 0.46, "lower_998": 0.25,
                     "upper_998": 0.51})
    return pd.DataFrame(rows)


def _limits() -> pd.DataFrame:
    n = [10.0, 100.0, 1000.0]
    return pd.DataFrame([{"metric": "no_risk_share", "n": x, "level": lv, "lower": 0.38 - w / x ** 0.5,
                          "upper": 0.38 + w / x ** 0.5} for lv, w in ((0.95, 0.95), (0.998, 1.5)) for x in n])


def _result(boroughs: pd.DataFrame, *, mode: str = "publication", suppression: pd.DataFrame | None = None):
    return SimpleNamespace(mode=mode, parameters={"disclosure_threshold": 10}, boroughs=boroughs,
                           funnel_limits=_limits(), suppression=suppression if suppression is not None
                           else pd.DataFrame(), quarter="2023Q4", source="x.csv")


SUPPRESSION = pd.DataFrame({
    "table": ["representation", "boroughs", "band_by_group"],
    "cells": [120, 640, 1568], "cells_hidden": [0, 360, 1225],
    "cells_hidden_share": [0.0, 0.5625, 0.7812], "people_hidden_share": ["0%", "25% to 50%", "50% or more"],
})


def test_suppression_table_gives_each_table_its_hidden_share_and_people_band():
    t = fr.suppression_table(_result(_boroughs({}), suppression=SUPPRESSION))
    rows = t.frame.to_dict("records")
    assert rows[1] == {"Table": "Boroughs (funnel plots)", "Numbers": "640", "Suppressed": "360",
                       "Share suppressed": "56.2%", "People in rows with a suppressed number": "25% to 50%"}
    assert rows[2]["Numbers"] == "1,568" and rows[2]["Share suppressed"] == "78.1%"  # 1,225 / 1,568
    assert "in bands" in t.note
    internal = fr.suppression_table(_result(_boroughs({}), mode="internal", suppression=SUPPRESSION))
    assert str(internal) == "Internal version: nothing is suppressed."


def test_the_briefing_provenance_line_says_how_much_is_suppressed():
    res = _result(_boroughs({}), suppression=SUPPRESSION)
    # 0 + 360 + 1,225 = 1,585 of 120 + 640 + 1,568 = 2,328 numbers: 68.1%
    assert fr.suppressed_summary(res) == "1,585 of 2,328 numbers (68.1%); per table in the report's methods"
    line = fr.provenance_line(res, run_time="2026-12-03T12:00:00+00:00")
    assert "<strong>Suppressed:</strong> 1,585 of 2,328 numbers" in line.html
    internal = _result(_boroughs({}), mode="internal", suppression=SUPPRESSION)
    assert fr.suppressed_summary(internal) == "" and "Suppressed" not in fr.provenance_line(internal).html


def test_hidden_boroughs_are_named_in_a_note_under_the_funnel():
    res = _result(_boroughs({"Hackney": C, "Camden": 0.4, "Lambeth": C, "Sutton": 0.35}))
    note = str(fr.hidden_boroughs_note(res, "no_risk_share"))
    assert note == "2 boroughs not shown (suppressed): Hackney, Lambeth."
    one = _result(_boroughs({"Hackney": C, "Camden": 0.4, "Sutton": 0.35}))
    assert str(fr.hidden_boroughs_note(one, "no_risk_share")) == "Borough not shown (suppressed): Hackney."
    assert str(fr.hidden_boroughs_note(_result(_boroughs({"Camden": 0.4, "Sutton": 0.3})), "no_risk_share")) == ""


def test_funnel_figure_draws_with_its_note_or_says_in_one_sentence_what_was_withheld():
    res = _result(_boroughs({"Hackney": C, "Camden": 0.4, "Lambeth": C, "Sutton": 0.35}))
    shown = fr.funnel_figure(res, "no_risk_share", number=4, caption="Funnel plot.")
    assert "<img" in shown.html and "2 boroughs not shown (suppressed)" in shown.html and "Figure 4. " in shown.html
    empty = fr.funnel_figure(_result(_boroughs({"Hackney": C, "Lambeth": C, "Sutton": C})), "no_risk_share",
                             number=4, caption="Funnel plot.")
    assert "<img" not in empty.html
    assert str(empty).startswith("Figure 4. The funnel plot of the ")
    assert str(empty).endswith("is withheld: every figure in it rests on a count below the suppression threshold, "
                               "or on one that would reveal such a count.")


def test_every_protected_table_has_a_readable_name():
    from fairness.publish.publication import TABLE_SPECS

    assert set(TABLE_SPECS) <= set(fr.TABLE_LABELS)


def test_a_withheld_model_summary_reads_as_suppressed_not_as_not_estimable():
    """φ computed from suppressed counts is withheld (NaN, rule "withheld"): the table shows [c] and the
    sentence says it is not published, never that it "could not be estimated"."""
    from fairness.results.sentences import dispersion_sentence

    nan = float("nan")
    od = pd.DataFrame({"metric": ["no_risk_share", "black_share"], "phi": [nan, nan], "tau2": [nan, 0.0],
                       "target": [0.38, 0.8], "k": [32, 32], "overdispersed": [False, False],
                       "adjusted": [False, False], "method": ["", ""]})
    het = pd.DataFrame({"metric": ["no_risk_share", "black_share"], "statistic": [nan, 20.0], "df": [31, 31],
                        "p_value": [nan, 0.9], "i2": [nan, 0.0], "k": [32, 32]})
    disclosure = pd.DataFrame({"table": ["overdispersion", "overdispersion", "heterogeneity", "heterogeneity"],
                               "row": [0, 0, 0, 0], "column": ["phi", "tau2", "p_value", "i2"],
                               "hidden": [True] * 4, "rule": ["withheld"] * 4})
    res = SimpleNamespace(mode="publication", parameters={}, overdispersion=od, heterogeneity=het,
                          disclosure=disclosure, boroughs=pd.DataFrame())
    rows = fr.overdispersion_table(res).frame.to_dict("records")
    assert [rows[0][c] for c in ("φ", "τ²", "I²", "p (heterogeneity)")] == ["[c]"] * 4
    assert rows[1]["φ"] == fr.DASH  # not estimable, not withheld
    assert dispersion_sentence(res, "no_risk_share") == (
        "No-risk share: the spread between boroughs is not published: it is computed from counts that are "
        "suppressed to protect individuals.")
    assert dispersion_sentence(res, "black_share").endswith("could not be estimated.")


def test_the_figures_withheld_are_listed_not_run_together():
    note = ("Counts below 10 are suppressed ([c]). True zeros are shown as 0. At the Red threshold, the precision "
            "is withheld for the Mixed group: it rests on a count below 10. At the Red or Amber threshold, the false "
            "positive rate is withheld for the Other group: it rests on a count below 10.")
    res = SimpleNamespace(mode="publication", parameters={}, disclosure_note=note, disclosure=pd.DataFrame(),
                          suppression=SUPPRESSION)
    html_ = fr.disclosure_summary(res).html
    assert html_.count("<li>") == 2 and "<li>At the Red threshold, the precision is withheld" in html_
    # the rule and the count stay in the paragraph: 1,585 of 2,328 numbers, as in the methods' table
    assert ("True zeros are shown as 0. 1,585 of the 2,328 numbers in this report&#x27;s tables are suppressed"
            in html_)
    internal = fr.disclosure_summary(SimpleNamespace(mode="internal"))
    assert str(internal).startswith("Internal mode: no disclosure control")


def test_band_tables_give_way_to_the_status_note_when_bands_are_not_assessable():
    """2023Q4: no outcome known yet; the section said so and then showed two tables reading 'none'."""
    res = SimpleNamespace(mode="publication", parameters={}, band_status="not assessable",
                          band_reason="outcome not yet known for any record in 2023Q4",
                          band_summary=pd.DataFrame(), band_by_group=pd.DataFrame())
    assert str(fr.band_status_note(res)) == ("Band performance not assessable: outcome not yet known for any "
                                             "record in 2023Q4.")
    assert fr.band_summary_table(res).html == "" and fr.band_rates_table(res).html == ""
    assessed = SimpleNamespace(**{**vars(res), "band_status": "assessed"})
    assert isinstance(fr.band_summary_table(assessed), fr.Table)  # assessed but empty: the table says "none"


def test_the_report_prose_is_written_once_for_every_place():
    """Each prose cell of the report holds one text: London's words and everyone else's come from the
    same cell ({{London|other}} where London's text says more), not two near-identical copies."""
    import ast
    import json
    from pathlib import Path

    nb = Path(fr.__file__).parents[2] / "notebooks" / "quarterly_oversight_report.ipynb"
    cells = [("".join(c["source"])) for c in json.loads(nb.read_text(encoding="utf-8"))["cells"]]
    prose = [c for c in cells if c.startswith("fr.prose(")]
    assert len(prose) >= 9
    texts = {}
    for c in prose:
        call = ast.parse(c).body[0].value
        assert not call.keywords, c[:80]  # no london="..." second text
        texts[call.args[1].value.split("\n", 1)[0]] = call.args[1].value
    areas = texts['<h2 id="boroughs">4. {Areas}</h2>']
    ew = SimpleNamespace(parameters={"profile": "england-wales-forces"})
    assert "Each borough is compared with London on four measures. On a funnel plot each point is a borough" \
        in fr.fill(SimpleNamespace(parameters={}), areas)
    assert ("Each police force area is compared with England and Wales as a whole on each measure. On a funnel "
            "plot each point is a police force area") in fr.fill(ew, areas)
    checks = texts['<h2 id="data-protection">6. Data-protection checks</h2>']
    assert fr.fill(ew, checks).endswith("Each check looks in the list itself for a failure that a regulator or "
                                        "review has found before. Each row is one such check for this quarter, "
                                        "England and Wales-wide.")
    assert "The Information Commissioner's 2018 enforcement notice" in fr.fill(SimpleNamespace(parameters={}), checks)
    methods = texts['<h2 id="methods">9. Methods and caveats</h2>']
    assert "such as the 38% with no risk and the 80% Black share at the 2018 review" in fr.fill(
        SimpleNamespace(parameters={}), methods)
    assert "38%" not in fr.fill(ew, methods)  # London's published figures are London's alone
    assert "A report made from synthetic data (the title says so) shows how the audit behaves." in fr.fill(ew, methods)


def test_a_profiles_own_words_holding_a_bar_or_braces_do_not_break_a_choice():
    """fill makes the {{London|other}} choice before it fills in the words, so a benchmark label a
    profile writes ("Census 2021 | ONS") is shown as written, not left as a half-read choice."""
    text = "The headline benchmark is {{the latest Census|{benchmark}}}."
    label = pd.DataFrame({"benchmark_label": ["Census 2021 | ONS {2021}"]})
    ew = SimpleNamespace(parameters={"profile": "england-wales-forces"}, representation=label)
    london = SimpleNamespace(parameters={}, representation=label)
    assert fr.fill(ew, text) == "The headline benchmark is Census 2021 | ONS {2021}."
    assert fr.fill(london, text) == "The headline benchmark is the latest Census."
    assert fr.fill(ew, "{{a {place} b|c {place} d}}") == "c England and Wales d"
