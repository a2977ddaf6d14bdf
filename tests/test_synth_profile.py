"""Tests for ``fairness synth --profile``: a synthetic matrix set in another place (fairness.synth.place).

The default (London) matrix must not move: ``profile="london-gvm"`` and no
profile give the same frame. Another place's matrix is validated and audited
under its profile. Where people are listed is checked against a two-area
profile whose answer is known by hand: an area with no Black residents gets no
Black person.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

import fairness
from fairness import synth
from fairness.cli import main
from fairness.errors import ProfileError
from fairness.synth.place import ERR_GROUPS

EW = "england-wales-forces"


@pytest.fixture(scope="module")
def ew_small():
    """The small scenario (2,395 rows, 8 quarters) set in England and Wales."""
    return synth.generate("small", seed=1, profile=EW)


def test_london_profile_is_the_default_byte_for_byte():
    a = synth.generate("small", seed=1)
    b = synth.generate("small", seed=1, profile="london-gvm")
    pd.testing.assert_frame_equal(a.matrix, b.matrix)
    assert a.truth == b.truth and "place" not in a.truth


def test_england_wales_matrix_validates_and_audits_under_its_profile(ew_small):
    m = ew_small.matrix
    areas = set(fairness.load_profile(EW).area_names)
    assert set(m["borough"].astype(str)) <= areas
    assert m["borough"].nunique() > 30  # spread over the force areas, not 32 London boroughs
    res = fairness.validate_frame(m, profile=EW)
    assert (res.n_valid, res.n_quarantined) == (len(m), 0)
    q = m["snapshot_date"].max()
    latest = m[m["snapshot_date"] == q]
    out = fairness.audit(m, profile=EW)  # the latest quarter
    rep = out.representation[out.representation["benchmark"] == "residents_2021"]
    black = rep.loc[rep["group"] == "Black", "count"].item()
    assert black == int((latest["ethnicity"] == "Black").sum())
    assert "London" not in out.summary()


def test_truth_says_what_was_left_out(ew_small):
    place = ew_small.truth["place"]
    assert place["profile"] == EW and place["areas"] == 43
    assert place["benchmark"].startswith("residents_2021")
    # small.toml plants Haringey's zero-harm offset and Lambeth's cut-points: both London boroughs
    assert [n.split(" (")[0] for n in place["left_out"]] == ["[boroughs.zero_harm_logit_offset]", "[bands.boroughs]"]
    assert "Haringey" in place["left_out"][0] and "Lambeth" in place["left_out"][1]
    assert set(ew_small.truth["boroughs"]) == set(fairness.load_profile(EW).area_names)
    # england-wales-forces declares no bands and no outcomes: those columns are left out, and the truth says so
    assert place["columns_left_out"] == ["risk_band", "outcome_violence_12m"]
    assert "risk_band" not in ew_small.matrix and "outcome_violence_12m" not in ew_small.matrix


def test_gvm_history_plantings_named_by_london_borough_are_left_out():
    from fairness.synth.place import place_for, scenario_for_place
    from fairness.synth.scenario import read_scenario, resolve_scenario

    raw = read_scenario(resolve_scenario("gvm-history"))
    kept, notes = scenario_for_place(raw, place_for(EW))
    assert "zero_harm_logit_offset" not in kept["boroughs"] and "boroughs" not in kept["bands"]
    assert [c["id"] for c in kept.get("checks", [])] == [c["id"] for c in raw["checks"] if not c.get("borough")]
    assert any("Haringey" in n for n in notes)
    assert raw["boroughs"]["zero_harm_logit_offset"]["Haringey"] == 1.6  # gvm-history.toml's value: not changed


def _two_area_profile(tmp_path, groups='["White", "Black", "Asian", "Mixed", "Other"]'):
    (tmp_path / "pop.csv").write_text(
        "area,white,black,asian,mixed,other\n"
        "North,1000,0,100,100,100\n"
        "South,1000,1000,100,100,100\n", encoding="utf-8")
    cols = ", ".join(f'{g} = "{g.lower()}"' for g in ("White", "Black", "Asian", "Mixed", "Other"))
    path = tmp_path / "twoshire.toml"
    path.write_text(f"""
title = "Twoshire"
[list]
name = "Twoshire list"
unit = "people listed"
unit_singular = "person"
[place]
name = "Twoshire"
people = "people in Twoshire"
area_word = "district"
area_word_plural = "districts"
police = "Twoshire Police"
[groups]
names = {groups}
reference = "White"
[age]
min = 0
max = 120
bands = [["0-17", 0, 17], ["18+", 18, 120]]
[benchmarks.residents]
label = "residents"
source = "made up for a test"
file = "pop.csv"
area_column = "area"
columns = {{ {cols} }}
[[areas]]
name = "North"
[[areas]]
name = "South"
""", encoding="utf-8")
    return path


def test_an_area_without_black_residents_gets_no_black_person(tmp_path):
    r = synth.generate("small", seed=2, profile=_two_area_profile(tmp_path))
    m = r.matrix
    assert set(m["borough"].astype(str)) == {"North", "South"}
    black = m[m["ethnicity"] == "Black"]
    assert len(black) > 0 and set(black["borough"].astype(str)) == {"South"}
    # White residents are equal in both districts: both list White people
    assert set(m.loc[m["ethnicity"] == "White", "borough"].astype(str)) == {"North", "South"}


def test_a_profile_with_other_groups_is_refused_naming_them(tmp_path):
    path = _two_area_profile(tmp_path, groups='["White", "Black", "Asian", "Mixed", "Other", "Hispanic"]')
    with pytest.raises(ProfileError) as err:
        synth.generate("small", seed=2, profile=path)
    assert str(err.value) == ERR_GROUPS.format(
        profile="twoshire", valid="White, Black, Asian, Mixed, Other, Not stated",
        found="White, Black, Asian, Mixed, Other, Hispanic, Not stated")


def test_cli_synth_profile_writes_a_matrix_in_the_profile_areas(tmp_path, capsys):
    out = tmp_path / "ew.csv"
    assert main(["synth", "--scenario", "small", "--seed", "1", "--profile", EW, "--out", str(out)]) == 0
    written = pd.read_csv(out)
    assert len(written) == 2395
    assert set(written["borough"]) <= set(fairness.load_profile(EW).area_names)
    assert json.loads(synth.truth_path(out).read_text())["place"]["profile"] == EW


def test_an_area_name_with_a_comma_is_quoted_in_the_csv_and_reads_back(ew_small, tmp_path):
    """`fairness synth --profile england-wales-forces` failed at its first "London, City of" row
    ("CSV values may not contain structural characters"), leaving half a matrix behind."""
    import dataclasses

    m = ew_small.matrix.copy()
    first = m["borough"].astype(str).iloc[0]  # the small scenario lists nobody in the City: move an area there
    m["borough"] = m["borough"].astype(str).replace({first: "London, City of"})
    city = m[m["borough"] == "London, City of"]
    assert len(city) >= 1
    out = tmp_path / "ew.csv"
    synth.write(dataclasses.replace(ew_small, matrix=m), out)
    lines = out.read_text(encoding="utf-8").splitlines()
    assert sum('"London, City of"' in line for line in lines) == len(city)  # quoted exactly there
    assert not any('"' in line for line in lines if "London, City of" not in line)  # nothing else quoted
    res = fairness.validate(out, profile=EW)
    assert (res.n_valid, res.n_quarantined) == (len(m), 0)
    assert not list(tmp_path.glob(".*.tmp"))  # written through a temporary file, which is gone
