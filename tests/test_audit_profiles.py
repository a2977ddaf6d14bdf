"""audit() under any profile: covers, pooled mode, optional columns, record-level checks (issues 11, 14).

Small hand-made matrices; every expected count is worked out by hand beside it.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import fairness
from fairness.results.audit import resolve_covers
from tests.conftest import good_row


def _two_boroughs() -> pd.DataFrame:
    """30 people in Hackney, 20 in Barnet, one snapshot (2018-12-31)."""
    rows = [good_row(f"H{i}", borough="Hackney") for i in range(30)]
    rows += [good_row(f"B{i}", borough="Barnet", ethnicity="White") for i in range(20)]
    return pd.DataFrame(rows)


# ------------------------------------------------------------ issue 11: covers


def _rate(res) -> pd.DataFrame:
    return res.boroughs[res.boroughs["metric"] == "rate_per_1000"].set_index("borough")


def _rate_k(res) -> int:
    return int(res.overdispersion.set_index("metric").loc["rate_per_1000", "k"])


@pytest.fixture(scope="module")
def covers_audits() -> dict:
    """The two-borough matrix audited as london-gvm declares (covers all), and with covers="none"."""
    m = _two_boroughs()
    return {"profile": fairness.audit(m), "none": fairness.audit(m, covers="none")}


def test_london_gvm_covers_every_borough_so_a_borough_with_no_rows_is_a_true_zero(covers_audits):
    assert fairness.load_profile("london-gvm").list.covers_all_areas is True
    res = covers_audits["profile"]
    rate = _rate(res)
    # 2 boroughs with rows + 30 listing nobody: all 32 compared
    assert _rate_k(res) == 32
    camden = rate.loc["Camden"]
    assert camden["count"] == 0 and camden["value"] == 0 and camden["flag"] != "not_estimable"
    assert np.isfinite(camden["z"]) and camden["upper_95"] > 0  # a 0 with its limits
    assert "no data" not in res.overdispersion.set_index("metric").loc["rate_per_1000", "method"]


def test_covers_none_or_a_list_overrides_the_profile(covers_audits):
    res = covers_audits["none"]
    assert _rate_k(res) == 2 and _rate(res).loc["Camden", "flag"] == "not_estimable"
    assert "30 borough(s) with no rows in the file: no data, not zero" in \
        res.overdispersion.set_index("metric").loc["rate_per_1000", "method"]
    # a list of areas: those are covered, the rest with no rows are no data (the funnel audit() calls)
    from fairness.stats.boroughs import funnel_from_counts

    rate = _rate(res).reset_index()[["borough", "count", "n"]]
    t, d, _ = funnel_from_counts({"rate_per_1000": rate}, covers=resolve_covers(["Hackney", "Barnet", "Camden"]))
    t = t.set_index("borough")
    assert d.iloc[0]["k"] == 3 and t.loc["Camden", "flag"] != "not_estimable" and t.loc["Brent", "flag"] == "not_estimable"


def test_resolve_covers_reads_the_profile_default():
    assert resolve_covers(None) == "all"
    assert resolve_covers(None, "england-wales-forces") == ()
    assert resolve_covers("Hackney, Barnet") == ("Hackney", "Barnet")
    assert resolve_covers("NONE") == () and resolve_covers("All") == "all"
    with pytest.raises(ValueError, match="covers must be 'all', 'none', or a list of area names; got 3"):
        resolve_covers(3)


def test_covers_naming_an_unknown_area_is_refused():
    from fairness.stats.boroughs import funnel_from_counts

    counts = {"rate_per_1000": pd.DataFrame({"borough": ["Hackney", "Barnet"], "count": [3, 0], "n": [1000, 2000]})}
    with pytest.raises(ValueError, match="'Gotham', which is not a borough"):
        funnel_from_counts(counts, covers=resolve_covers(["Gotham"]))


@pytest.mark.slow
def test_cli_covers_flag(tmp_path, capsys):
    from fairness.cli import main

    path = tmp_path / "m.csv"
    _two_boroughs().to_csv(path, index=False)
    out = tmp_path / "a.json"
    assert main(["audit", str(path), "--covers", "none", "--json", str(out)]) == 0
    d = json.loads(out.read_text(encoding="utf-8"))
    from fairness.results.contract import read_json_table

    k = {r["metric"]: r["k"] for r in read_json_table(d, "overdispersion").to_dict("records")}
    assert k["rate_per_1000"] == 2


# ------------------------------------------------------------ issue 14: a list of another place, record-level

#: A Chicago-like list (made up): a Hispanic group, its own bands and thresholds, its own outcome
#: column and age bands, two districts; the list is of the whole city (covers_all_areas).
CITY = """\
title = "Test city gang list"
[list]
name = "gang list"
unit = "people listed"
unit_singular = "person"
snapshots = true
covers_all_areas = true
[place]
name = "Test City"
people = "Test City residents"
area_word = "district"
area_word_plural = "districts"
police = "Test City Police"
[groups]
names = ["White", "Black", "Hispanic", "Asian"]
reference = "White"
[bands]
order = ["High", "Medium", "Low"]
[bands.thresholds]
high = ["High"]
high_medium = ["High", "Medium"]
[[outcomes]]
column = "arrested_violent_24m"
label = "arrest for violence within 24 months"
window_months = 24
[age]
min = 12
max = 80
bands = [["12-17", 12, 17], ["18-29", 18, 29], ["30+", 30, 80]]
[benchmarks.residents]
label = "residents (made up)"
source = "made up for a test"
file = "city_pop.csv"
area_column = "district"
columns = { White = "white", Black = "black", Hispanic = "hispanic", Asian = "asian" }
[[areas]]
name = "District 1"
[[areas]]
name = "District 2"
"""
CITY_POP = "district,white,black,hispanic,asian\nDistrict 1,1000,500,500,100\nDistrict 2,2000,250,750,150\n"

#: person, district, group, age, band, harm score, outcome ("" not yet known)
CITY_ROWS = [
    ("P1", "District 1", "Black", 16, "High", 5, "true"),
    ("P2", "District 1", "Black", 20, "Medium", 0, "false"),
    ("P3", "District 1", "Hispanic", 25, "Low", 0, "false"),
    ("P4", "District 1", "Hispanic", 17, "High", 3, "true"),
    ("P5", "District 1", "White", 40, "Low", 0, "false"),
    ("P6", "District 2", "Black", 22, "High", 8, "false"),
    ("P7", "District 2", "White", 35, "Medium", 2, "true"),
    ("P8", "District 2", "White", 19, "Low", 0, ""),
    ("P9", "District 2", "Hispanic", 30, "Medium", 1, "false"),
    ("P10", "District 2", "Asian", 28, "Low", 0, "false"),
]


def _city(tmp_path, *, text: str = CITY, harm: bool = True, dates: tuple[str, ...] = ("2020-03-31",)):
    (tmp_path / "city_pop.csv").write_text(CITY_POP, encoding="utf-8")
    (tmp_path / "city.toml").write_text(text, encoding="utf-8")
    rows = []
    for date in dates:
        for pid, district, group, age, band, score, outcome in CITY_ROWS:
            row = {"person_id": pid, "snapshot_date": date, "borough": district, "ethnicity": group, "sex": "Male",
                   "age": age, "risk_band": band, "arrested_violent_24m": outcome}
            if harm:
                row["harm_score"] = score
            rows.append(row)
    return tmp_path / "city.toml", pd.DataFrame(rows)


@pytest.fixture(scope="module")
def city_audit(tmp_path_factory):
    profile, rows = _city(tmp_path_factory.mktemp("city"))
    return fairness.audit(rows, profile=profile)


def test_a_city_list_is_audited_with_its_own_groups_bands_outcome_and_ages(city_audit):
    res = city_audit
    assert res.quarter == "2020Q1" and res.n == 10 and res.parameters["profile"] == "city"
    rep = res.representation[res.representation.benchmark == "residents"].set_index("group")
    assert rep["count"].to_dict() == {"White": 3, "Black": 3, "Hispanic": 3, "Asian": 1, "Not stated": 0}
    # representation of Hispanic people: 3/10 of the list against 1,250/5,250 residents (CITY_POP)
    assert rep.loc["Hispanic", "ratio"] == pytest.approx(0.3 / (1250 / 5250))
    # no-risk shares: harm score 0 for P2, P3, P5, P8, P10; the least severe band ("Low") for P3, P5, P8, P10
    nr = res.no_risk[res.no_risk["by"] == "all"].set_index("definition")
    assert (nr.loc["harm_zero", "count"], nr.loc["harm_zero", "n"]) == (5, 10)
    assert (nr.loc["green_band", "count"], nr.loc["green_band", "n"]) == (4, 10)
    assert nr.loc["green_band", "definition_label"] == "Low band (the least severe)"
    by_age = res.no_risk[(res.no_risk["by"] == "age_band") & (res.no_risk["definition"] == "harm_zero")]
    # the profile's age bands: 12-17 P1, P4; 18-29 P2, P3, P6, P8, P10; 30+ P5, P7, P9
    assert by_age.set_index("group")["n"].to_dict() == {"12-17": 2, "18-29": 5, "30+": 3}


def test_a_city_list_runs_the_record_level_checks(city_audit):
    checks = city_audit.checks
    whole = checks[checks["borough"] == "All districts"].set_index("check")
    # under 18: P1 (16) and P4 (17)
    assert (whole.loc["children_listed", "count"], whole.loc["children_listed", "n"]) == (2, 10)
    by_area = checks[(checks["check"] == "children_listed") & (checks["borough"] != "All districts")]
    assert by_area.set_index("borough")["count"].to_dict() == {"District 1": 2, "District 2": 0}
    # victim columns absent: said so, not run
    assert whole.loc["victims_as_offenders", "status"] == "not assessable"


def test_a_city_list_reads_its_bands_and_outcome_as_predictions(city_audit):
    res = city_audit
    assert res.band_status == "assessed"
    g = res.band_by_group[(res.band_by_group["by"] == "ethnicity")].set_index(["threshold", "group"])
    assert set(res.band_by_group["threshold"]) == {"high", "high_medium"}
    # "high": High predicts arrest. Black: P1 High/arrested (TP), P2 Medium/not (TN), P6 High/not (FP)
    assert g.loc[("high", "Black"), ["tp", "fp", "tn", "fn"]].tolist() == [1, 1, 1, 0]
    # Hispanic: P3 Low/not (TN), P4 High/arrested (TP), P9 Medium/not (TN); White: P5 TN, P7 Medium/arrested
    # (FN), P8 not yet known (left out)
    assert g.loc[("high", "Hispanic"), ["tp", "fp", "tn", "fn"]].tolist() == [1, 0, 2, 0]
    assert g.loc[("high", "White"), ["n", "tp", "fp", "tn", "fn"]].tolist() == [2, 0, 0, 1, 1]
    # "high_medium": Medium counts as predicted too; White P7 becomes a TP
    assert g.loc[("high_medium", "White"), ["tp", "fn"]].tolist() == [1, 0]


def test_a_city_list_funnel_uses_its_own_population_and_covers_every_district(city_audit):
    rate = city_audit.boroughs[city_audit.boroughs["metric"] == "rate_per_1000"].set_index("borough")
    # District 1: 5 listed of 2,100 residents; District 2: 5 of 3,150 (CITY_POP)
    assert rate.loc["District 1", ["count", "n"]].tolist() == [5, 2100]
    assert rate.loc["District 2", "value"] == pytest.approx(1000 * 5 / 3150)
    assert set(city_audit.boroughs["metric"]) >= {"no_risk_share", "green_share", "rate_per_1000"}


def test_a_list_without_harm_score_says_what_is_not_assessable(tmp_path):
    text = CITY.replace("covers_all_areas = true", "covers_all_areas = true\nharm_score = false")
    profile, rows = _city(tmp_path, text=text, harm=False)
    res = fairness.audit(rows, profile=profile)
    nr = res.no_risk[res.no_risk["by"] == "all"].set_index("definition")
    assert nr.loc["harm_zero", "note"] == "not assessable: city declares no harm score"
    assert np.isnan(nr.loc["harm_zero", "share"])
    assert (nr.loc["green_band", "count"], nr.loc["green_band", "n"]) == (4, 10)  # the rest runs
    whole = res.checks[res.checks["borough"] == "All districts"].set_index("check")
    assert whole.loc["zero_harm_retained", "detail"] == "not assessable: city declares no harm score"
    assert whole.loc["children_listed", "count"] == 2
    assert "no_risk_share" not in set(res.boroughs["metric"])
    assert res.casemix_test.iloc[0]["covariates"] == "not assessable: city declares no harm score"


def test_a_list_without_bands_or_outcome_says_so(tmp_path):
    text = CITY.split("[bands]")[0] + "[age]" + CITY.split("[age]")[1]
    profile, rows = _city(tmp_path, text=text)
    res = fairness.audit(rows.drop(columns="risk_band"), profile=profile)
    assert res.band_status == "not assessable" and res.band_reason == "not assessable: city declares no bands"
    nr = res.no_risk[res.no_risk["by"] == "all"].set_index("definition")
    assert nr.loc["green_band", "note"] == "not assessable: city declares no bands"
    assert (nr.loc["harm_zero", "count"], nr.loc["harm_zero", "n"]) == (5, 10)


def test_a_list_without_snapshot_dates_is_audited_pooled_and_says_so(tmp_path):
    profile, rows = _city(tmp_path, text=CITY.replace("snapshots = true", "snapshots = false"))
    res = fairness.audit(rows.drop(columns="snapshot_date"), profile=profile)
    assert res.quarter == "pooled" and res.quarters == ("pooled",) and res.parameters["pooled"] is True
    assert res.n == 10 and "the list as supplied" in res.headline()[0]
    d = json.loads(res.to_json())
    assert d["quarter"] == "pooled" and d["parameters"]["pooled"] is True
    whole = res.checks[res.checks["borough"] == "All districts"].set_index("check")
    assert whole.loc["relisted", "status"] == "not assessable"
    assert "snapshot_date" in whole.loc["reviews_overdue", "detail"]
    assert set(res.checks["quarter"]) == {"pooled"}
    assert (whole.loc["children_listed", "count"], whole.loc["children_listed", "n"]) == (2, 10)
    # published from Python as well (the suppression once looked for the quarter before "pooled")
    from fairness.publish.intruder import audit_publication

    published = res.for_publication()
    assert published.quarter == "pooled" and len(audit_publication(published)) == 0


def test_a_pooled_list_is_audited_end_to_end_by_the_command_line(tmp_path, capsys):
    """`fairness audit FILE --profile city.toml --json OUT` of a list without snapshot dates: it
    failed with "quarter 'pooled' is not of the form YYYYQn" when the publication's suppression
    looked for the quarter before "pooled" (fairness.quarters.quarter_before now says there is none)."""
    from fairness.cli import main

    profile, rows = _city(tmp_path, text=CITY.replace("snapshots = true", "snapshots = false"))
    rows.drop(columns="snapshot_date").to_csv(tmp_path / "pooled.csv", index=False)
    out = tmp_path / "pooled.json"
    assert main(["audit", str(tmp_path / "pooled.csv"), "--profile", str(profile), "--json", str(out)]) == 0
    assert capsys.readouterr().out.startswith("Gang list, Test City, the list as supplied: 10 people listed in 2 districts")
    d = json.loads(out.read_text(encoding="utf-8"))
    assert d["quarter"] == "pooled" and d["parameters"]["pooled"] is True and d["mode"] == "publication"


def test_schema_of_a_list_without_harm_score_or_bands(tmp_path):
    from fairness.profiles._vocabulary import data_dictionary_for

    text = CITY.split("[bands]")[0] + "[[outcomes]]" + CITY.split("[[outcomes]]")[1]
    text = text.replace("covers_all_areas = true", "covers_all_areas = true\nharm_score = false")
    (tmp_path / "city_pop.csv").write_text(CITY_POP, encoding="utf-8")
    (tmp_path / "city.toml").write_text(text, encoding="utf-8")
    dd = data_dictionary_for(tmp_path / "city.toml").set_index("column")
    assert not dd.loc["harm_score", "required"] and "risk_band" not in dd.index
    assert dd.loc["arrested_violent_24m", "description"] == "Arrest for violence within 24 months (24 months after the snapshot)"
    assert "outcome_violence_12m" not in dd.index
    assert dd.loc["snapshot_date", "required"]
    (tmp_path / "city.toml").write_text(text.replace("snapshots = true", "snapshots = false"), encoding="utf-8")
    assert not data_dictionary_for(tmp_path / "city.toml").set_index("column").loc["snapshot_date", "required"]


# ------------------------------------------------------------ issue 14: England and Wales, record-level


def test_england_wales_records_run_the_checks_by_force_area():
    # good_row: snapshot 2018-12-31, reviewed 2018-11-30, victim, no violent offence, harm score 0
    rows = pd.DataFrame([
        good_row("P1", borough="Cumbria", ethnicity="Black", age=16, shared_with="housing"),
        good_row("P2", borough="Cumbria", ethnicity="White", age=30, last_reviewed="2018-01-01"),
        good_row("P3", borough="Cumbria", ethnicity="White", age=40),
        good_row("P4", borough="Kent", ethnicity="Black", age=17, shared_with="school"),
        good_row("P5", borough="Kent", ethnicity="Asian", age=25),
    ])
    res = fairness.audit(rows, profile="england-wales-forces")
    # one date and a profile without snapshots: pooled
    assert res.quarter == "pooled" and res.n == 5
    assert res.headline()[0].startswith("Stop and search, England and Wales, the list as supplied: 5 searches in 2 "
                                        "police force areas")
    c = res.checks.set_index(["check", "borough"])
    every = "All police force areas"
    assert c.loc[("children_listed", every), ["count", "n"]].tolist() == [2, 5]  # P1 (16), P4 (17)
    assert c.loc[("children_listed", "Cumbria"), ["count", "n"]].tolist() == [1, 3]
    assert c.loc[("children_listed", "Kent"), ["count", "n"]].tolist() == [1, 2]
    assert c.loc[("children_shared", every), ["count", "n"]].tolist() == [2, 2]  # both children shared
    assert c.loc[("reviews_overdue", every), ["count", "n"]].tolist() == [1, 5]  # P2: 364 days before
    assert c.loc[("victims_as_offenders", every), ["count", "n"]].tolist() == [5, 5]
    assert c.loc[("blanket_sharing", every), ["count", "n"]].tolist() == [2, 5]  # harm 0: all eligible
    assert c.loc[("zero_harm_retained", every), "detail"] == ("not assessable: england-wales-forces declares no "
                                                               "snapshots (the list is pooled)")
    # no bands declared: a risk_band column is not read
    assert res.band_reason == "not assessable: england-wales-forces declares no bands"
    # sharing without bands: one row per partner over all bands
    s = res.sharing_by_partner
    assert set(s["risk_band"]) == {"all bands"}
    assert s.groupby("partner")["count"].sum().to_dict() == {"any": 2, "housing": 1, "school": 1}
    # benchmarks restricted to the two force areas (the list is not declared to cover the others)
    pop = fairness.load_profile("england-wales-forces").benchmark().table
    black = pop[(pop.group == "Black") & pop.borough.isin(["Cumbria", "Kent"])]["count"].sum()
    rel = res.relative_rate[(res.relative_rate.benchmark == "residents_2021")].set_index("group")
    assert rel.loc["Black", "population"] == black
    assert rel.loc["Black", "rate_per_1000"] == pytest.approx(1000 * 2 / black)


def test_a_city_list_can_be_published_with_its_own_words(city_audit):
    pub = city_audit.for_publication()  # the publication audit knows the profile's areas, groups, bands
    d = json.loads(pub.to_json())
    assert d["mode"] == "publication" and d["parameters"]["vocabulary"]["bands"] == ["High", "Medium", "Low"]
    assert "Test City" in d["headline"][0] and "Londoners" not in " ".join(d["headline"])
    assert ".toml" not in pub.to_json()  # no machine path (the profile was read from a path)


def test_a_list_whose_groups_have_no_black_group_has_no_black_share(tmp_path):
    text = (CITY.replace('names = ["White", "Black", "Hispanic", "Asian"]',
                         'names = ["White", "African American", "Hispanic", "Asian"]')
            .replace('reference = "White"\n', 'reference = "White"\n[groups.map]\n"Black" = "African American"\n')
            .replace("Black = \"black\"", "\"African American\" = \"black\""))
    profile, rows = _city(tmp_path, text=text)
    res = fairness.audit(rows, profile=profile)
    rep = res.representation[res.representation.benchmark == "residents"].set_index("group")
    assert rep.loc["African American", "count"] == 3  # P1, P2, P6 recorded "Black", mapped by the profile
    assert "black_share" not in set(res.boroughs["metric"]) and "black_share" not in set(res.trends["metric"])
    assert ("black_share by area: not assessable: the profile's [groups] share_group is not set and its groups "
            "have no 'Black' to take by default; set [groups] share_group to one of: "
            "White, African American, Hispanic, Asian") in res.notes
    # one source of truth: the words' group is the profile's (none), as definitions.SHARE_GROUP was in the run
    from fairness.results.sentences import place

    assert place(res).share_group == "" and fairness.load_profile(profile).groups.share_group == ""


def test_a_list_without_black_audits_the_share_of_its_configured_share_group(tmp_path):
    """[groups] share_group: the per-area share funnel, its trend and their words follow the group named."""
    from fairness import definitions as defs
    from fairness import plots
    from fairness.report import format as fr
    from fairness.results.sentences import place

    text = (CITY.replace('names = ["White", "Black", "Hispanic", "Asian"]',
                         'names = ["White", "African American", "Hispanic", "Asian"]')
            .replace('reference = "White"\n', 'reference = "White"\nshare_group = "Hispanic"\n'
                                              '[groups.map]\n"Black" = "African American"\n')
            .replace("Black = \"black\"", "\"African American\" = \"black\""))
    profile, rows = _city(tmp_path, text=text)
    res = fairness.audit(rows, profile=profile)
    assert defs.SHARE_GROUP == "Black"  # the profile's group is in force only while the audit runs
    share = res.boroughs[res.boroughs["metric"] == "black_share"].set_index("borough")
    # Hispanic: P3 and P4 of the 5 people in District 1, P9 of the 5 in District 2 (CITY_ROWS)
    assert share[["count", "n"]].to_dict("index") == {"District 1": {"count": 2, "n": 5},
                                                      "District 2": {"count": 1, "n": 5}}
    trend = res.trends[res.trends["metric"] == "black_share"]
    assert (trend["count"].tolist(), trend["n"].tolist()) == ([3], [10])
    assert trend["metric_label"].tolist() == ["Hispanic share of people listed"]
    assert not any("black_share" in n for n in res.notes)
    # the words name the configured group
    where = place(res)
    assert where.share_group == "Hispanic"
    assert fr.metric_label("black_share", res) == "Hispanic share of the people listed"
    assert plots._words("black_share", where) == "share of people listed who are Hispanic"
    assert fr.fill(res, "{share_group} share of the {unit}, by quarter.") == \
        "Hispanic share of the people listed, by quarter."
    # London keeps its words
    assert fr.metric_label("black_share") == "Black share of the people listed"
    assert plots._words("black_share") == "share of people listed who are Black"


@pytest.mark.slow
def test_audits_under_two_profiles_in_two_threads_each_see_their_own_definitions(tmp_path, covers_audits,
                                                                                  city_audit):
    from concurrent.futures import ThreadPoolExecutor

    profile, rows = _city(tmp_path)
    with ThreadPoolExecutor(2) as pool:
        city = pool.submit(fairness.audit, rows, profile=profile)
        london = pool.submit(fairness.audit, _two_boroughs())
        city, london = city.result(), london.result()
    assert city.to_json() == city_audit.to_json()
    assert london.to_json() == covers_audits["profile"].to_json()


def test_a_profile_declares_its_partner_vocabulary(tmp_path):
    from fairness.profiles._vocabulary import data_dictionary_for

    text = CITY.replace("[age]", '[sharing]\npartners = ["housing", "youth_club"]\n[age]')
    profile, rows = _city(tmp_path, text=text)
    # P1 shared with a youth club and a school (not declared here: "Other"), P2 with housing
    rows["shared_with"] = ["Youth Club;school", "housing"] + [""] * 8
    res = fairness.audit(rows, profile=profile)
    s = res.sharing_by_partner
    shared = s.groupby("partner")["count"].sum().to_dict()
    assert shared == {"any": 2, "Other": 1, "housing": 1, "youth_club": 1}
    assert set(res.parameters["vocabulary"]["partners"]) == {"housing", "youth_club"}
    assert "(housing, youth_club; anything else" in data_dictionary_for(profile).set_index("column").loc[
        "shared_with", "valid"]
    # the default list is London's, unchanged
    assert fairness.load_profile("london-gvm").partners[:3] == ("housing", "education", "school")
    res.for_publication()  # the publication audit knows the declared partners


# ------------------------------------------------------------ the youngest age at addition follows the profile


def _youngest(tmp_path, youngest: int | None):
    text = CITY if youngest is None else CITY.replace(
        'bands = [["12-17", 12, 17]', f'youngest_at_addition = {youngest}\nbands = [["12-17", 12, 17]', 1)
    profile, rows = _city(tmp_path, text=text)
    # P1 is 16 on 2020-03-31 and was added on 2015-03-31, 1,827 days (5.002 years) before: at most
    # 16 + 1 - 5.002 = 11.998 years old then, so certainly under 12 but not certainly under 10
    rows["date_added"] = "2015-03-31"
    rows.loc[rows["person_id"] != "P1", "date_added"] = "2019-06-30"
    return profile, rows


@pytest.mark.parametrize(("youngest", "flagged"), [(None, 0), (12, 1), (11, 0)])
def test_the_youngest_age_at_addition_is_the_profiles(tmp_path, youngest, flagged):
    profile, rows = _youngest(tmp_path, youngest)
    assert fairness.load_profile(profile).age.youngest_at_addition == (10 if youngest is None else youngest)
    res = fairness.audit(rows, profile=profile)
    row = res.checks.set_index(["check", "borough"]).loc[("impossible_dates", "All districts")]
    assert (row["count"], row["n"]) == (flagged, 10)


def test_checks_config_made_under_a_profile_takes_its_youngest_age(tmp_path):
    from fairness.checks import ChecksConfig
    from fairness.profiles import profile_definitions

    profile, _ = _youngest(tmp_path, 12)
    with profile_definitions(profile):
        assert ChecksConfig().min_age_at_addition == 12
        assert ChecksConfig(min_age_at_addition=14).min_age_at_addition == 14  # an explicit value wins
    assert ChecksConfig().min_age_at_addition == 10  # london-gvm again outside the block
    with profile_definitions("england-wales-forces"):  # declares none: the England and Wales age, 10
        assert ChecksConfig().min_age_at_addition == 10


def test_youngest_at_addition_must_be_a_whole_number_of_at_least_one(tmp_path):
    profile, _ = _youngest(tmp_path, 0)
    with pytest.raises(fairness.profiles.ProfileError, match=r"age\.youngest_at_addition.*a whole number ≥ 1"):
        fairness.load_profile(profile)
