"""Profiles: the shipped ones say exactly what the toolkit assumes; bad ones get clear errors."""

from __future__ import annotations

import dataclasses
import importlib.util
import io
from contextlib import redirect_stdout
from pathlib import Path

import pandas as pd
import pytest

import fairness
from fairness import definitions as d
from fairness.io.benchmarks import get_benchmark
from fairness.profiles import ProfileError, list_profiles, load_profile

ROOT = Path(__file__).resolve().parents[1]
EW = ROOT / "data" / "reference" / "england-wales"


# ------------------------------------------------------------ london-gvm = today's choices


def test_london_profile_is_todays_hard_coded_vocabulary():
    from fairness.stats.bands import OUTCOME, THRESHOLDS

    p = load_profile("london-gvm")
    assert p is fairness.load_profile()  # the default, cached
    assert {a.name: a.code for a in p.areas} == d.BOROUGH_CODES
    assert p.area_names == d.BOROUGHS
    assert p.groups.names == d.CENSUS_ETHNICITIES
    assert p.groups.all == d.ETHNICITIES
    assert p.groups.reference == d.DEFAULT_REFERENCE
    assert p.groups.share_group == d.SHARE_GROUP == "Black"
    assert p.bands.order == d.RISK_BANDS
    assert dict(p.bands.thresholds) == dict(THRESHOLDS)
    assert (p.age.min, p.age.max, p.age.bands) == (d.AGE_MIN, d.AGE_MAX, d.AGE_BANDS)
    assert [o.column for o in p.outcomes] == [OUTCOME]
    assert p.outcomes[0].window_months == 12
    assert (p.place.name, p.place.people, p.place.area_word) == ("London", "Londoners", "borough")
    assert p.list.unit == "people listed" and p.list.has_snapshots


@pytest.mark.parametrize("name", ["residents_2021", "residents_2011", "residents_10_24_2021"])
def test_london_profile_benchmarks_equal_the_built_in_ones(name):
    ours, builtin = load_profile("london-gvm").benchmark(name), get_benchmark(name)
    pd.testing.assert_frame_equal(ours.table, builtin.table)
    assert (ours.name, ours.label, ours.source, ours.assumption) == (
        builtin.name, builtin.label, builtin.source, builtin.assumption)


def test_london_group_map_covers_the_19_census_2021_categories():
    p = load_profile("london-gvm")
    lookup = p.groups.lookup()
    assert len(p.groups.mapping) == 19
    assert lookup["white: roma"] == "White"
    assert lookup["black, black british, black welsh, caribbean or african: african"] == "Black"
    assert lookup["mixed or multiple ethnic groups: white and black caribbean"] == "Mixed"
    assert lookup["not stated"] == "Not stated"


def test_profiles_are_frozen():
    p = load_profile("london-gvm")
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.name = "x"  # type: ignore[misc]


def test_list_profiles_names_the_shipped_profiles():
    t = list_profiles()
    assert list(t["name"]) == ["england-wales-forces", "london-gvm"]
    assert list(t["areas"]) == [43, 32]


# ------------------------------------------------------------ england-wales-forces


def test_england_wales_benchmarks_match_sources_md():
    p = load_profile("england-wales-forces")
    assert len(p.areas) == 43
    r21 = p.benchmark("residents_2021").table
    assert len(r21) == 43 * 5
    # SOURCES.md: the 19 groups sum to 59,597,578 for England and Wales; Black 2,409,283
    assert r21["count"].sum() == 59_597_578
    assert r21.loc[r21.group == "Black", "count"].sum() == 2_409_283
    met = r21[r21.borough == "Metropolitan Police"].set_index("group")["count"]
    assert met["Black"] == 1_188_137  # SOURCES.md: Metropolitan Police, Black: 38,961 ÷ 1,188,137
    r11 = p.benchmark("residents_2011").table
    # SOURCES.md: Census 2011 England and Wales 56,075,912, Black 1,864,890; Chinese is counted in Asian
    assert r11["count"].sum() == 56_075_912
    assert r11.loc[r11.group == "Black", "count"].sum() == 1_864_890
    # Avon & Somerset 2011: Asian 33,005 + Chinese 8,976 (census2011_ethnic_group_by_pfa.csv, row 2)
    avon = r11[(r11.borough == "Avon and Somerset") & (r11.group == "Asian")]["count"].iloc[0]
    assert avon == 33_005 + 8_976


def test_england_wales_spellings_of_other_publishers_are_placed():
    p = load_profile("england-wales-forces")
    assert p.area_for("Avon & Somerset") == "Avon and Somerset"  # Home Office spelling
    assert p.area_for(" metropolitan ") == "Metropolitan Police"  # Census 2011 file
    assert p.area_for("City of London") == "London, City of"
    assert p.area_for("E23000001") is None and p.area_for("E23000001", codes=True) == "Metropolitan Police"
    assert p.area_for("British Transport Police") is None
    assert p.closest_area("Avon and Somerst") == "Avon and Somerset"


def _build_script():
    spec = importlib.util.spec_from_file_location("build_pfa_census", ROOT / "scripts" / "build_pfa_census.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_build_pfa_census_reproduces_the_shipped_files_byte_for_byte(tmp_path):
    mod = _build_script()
    five, nineteen = tmp_path / "five.csv", tmp_path / "nineteen.csv"
    assert mod.main(["--out", str(five), "--detailed", str(nineteen)]) == 0
    assert five.read_bytes() == (EW / "census2021_ethnic_group5_by_pfa_built.csv").read_bytes()
    assert nineteen.read_bytes() == (EW / "census2021_ethnic_group19_by_pfa_built.csv").read_bytes()
    t = pd.read_csv(nineteen)
    assert t.shape == (43, 2 + 19)
    assert int(t.iloc[:, 2:].to_numpy().sum()) == 59_597_578  # SOURCES.md


def test_build_pfa_census_names_authorities_missing_from_the_lookup(tmp_path):
    mod = _build_script()
    lookup = pd.read_csv(EW / "lad22_csp22_pfa22_lookup.csv")
    short = tmp_path / "lookup.csv"
    lookup[lookup.LAD22CD != "E06000001"].to_csv(short, index=False)
    with pytest.raises(SystemExit, match=r"1 local authority not in lookup.csv: E06000001"):
        mod.build(lookup=short)


# ------------------------------------------------------------ a profile of your own


MINIMAL = """\
title = "Test list"
[list]
name = "test list"
unit = "people listed"
unit_singular = "person"
[place]
name = "Testshire"
people = "people in Testshire"
area_word = "district"
area_word_plural = "districts"
police = "Testshire Police"
[groups]
names = ["White", "Black", "Hispanic"]
reference = "White"
[groups.map]
"Latino" = "Hispanic"
[age]
min = 10
max = 99
bands = [["10-24", 10, 24], ["25+", 25, 99]]
[benchmarks.residents]
label = "residents"
source = "made up for a test"
file = "pop.csv"
area_column = "district"
columns = { White = "white", Black = "black", Hispanic = "hispanic" }
[[areas]]
name = "North"
spellings = ["N"]
[[areas]]
name = "South"
"""
POP = "district,white,black,hispanic\nNorth,\"1,000\",100,300\nsouth,500,400,100\nWhole county,1500,500,400\n"


def _write(tmp_path: Path, text: str = MINIMAL, pop: str = POP) -> Path:
    (tmp_path / "pop.csv").write_text(pop, encoding="utf-8")
    path = tmp_path / "testshire.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_profile_loads_from_a_path_with_its_own_groups_and_benchmark(tmp_path):
    path = _write(tmp_path, MINIMAL.replace('area_column = "district"',
                                            'area_column = "district"\nexclude = ["Whole county"]'))
    p = load_profile(path)
    assert p.name == "testshire" and p.groups.names == ("White", "Black", "Hispanic")
    assert p.groups.lookup()["latino"] == "Hispanic"
    assert not p.bands.order and not p.outcomes
    assert p.groups.share_group == "Black"  # not named: "Black", which the groups have
    b = p.benchmark()
    assert b.table.to_dict("list") == {
        "borough": ["North"] * 3 + ["South"] * 3,
        "group": ["White", "Black", "Hispanic"] * 2,
        "count": [1000.0, 100.0, 300.0, 500.0, 400.0, 100.0],
        "share": [1000 / 1400, 100 / 1400, 300 / 1400, 0.5, 0.4, 0.1],
    }


@pytest.mark.parametrize("change, message", [
    (("[list]", "[list]\ncolour = 1"), r"testshire.toml: \[list\] has an unknown key 'colour'; valid keys: name, unit"),
    (('reference = "White"\n', ""), r"\[groups\] needs the key 'reference'"),
    (('reference = "White"', 'reference = "white"'),
     r"groups.reference: 'white' is not one of the groups: White, Black, Hispanic"),
    (('"Latino" = "Hispanic"', '"Latino" = "Latina"'), r"groups.map.'Latino': 'Latina' is not one of the groups"),
    (('["25+", 25, 99]', '["25+", 26, 99]'), r"\[age\] bands must cover 10–99 .* band '25\+' starts at 26, expected 25"),
    (('["25+", 25, 99]', '["25+", 25, 90]'), r"expected the last band to end at 99"),
    (('file = "pop.csv"', 'file = "nope.csv"'), r"\[benchmarks.residents\] file 'nope.csv' not found"),
    (('name = "South"', 'name = "north"'), r"areas\[\].name: 'north' appears more than once"),
    (('spellings = ["N"]', 'spellings = ["South"]'), r"'south' appears more than once"),
    (("min = 10", "min = -1"), r"age.min: -1 is not valid; expected a whole number ≥ 0"),
    (('title = "Test list"', 'title = "Test list'), r"testshire.toml: not valid TOML"),
    (('reference = "White"\n', 'reference = "White"\nshare_group = "Latino"\n'),
     r"testshire.toml: groups.share_group: 'Latino' is not one of the groups: White, Black, Hispanic$"),
    (("[place]", "[bands]\norder = [\"Red\", \"Amber\"]\nthresholds = { amber = [\"Amber\"] }\n[place]"),
     r"bands.thresholds.amber: \['Amber'\] is not valid; expected the first bands of bands.order"),
])
def test_a_bad_profile_names_the_file_the_key_and_what_is_valid(tmp_path, change, message):
    old, new = change
    assert old in MINIMAL
    with pytest.raises(ProfileError, match=message):
        load_profile(_write(tmp_path, MINIMAL.replace(old, new, 1)))


def test_a_bad_benchmark_file_names_file_line_column_and_closest_area(tmp_path):
    p = load_profile(_write(tmp_path, pop=POP.replace("south,", "Sooth,")))
    with pytest.raises(ProfileError, match=r"pop.csv: line 3: column district: 'Sooth' is not an area of profile "
                                           r"'testshire' \(closest: 'South'\)"):
        p.benchmark()
    p = load_profile(_write(tmp_path, pop=POP.replace("100,300", "100,-3")))
    with pytest.raises(ProfileError, match=r"pop.csv: line 2: column hispanic: '-3' is not valid; valid: a whole number"):
        p.benchmark()
    p = load_profile(_write(tmp_path, pop="district,white,black,hispanic\nNorth,1,2,3\n"))
    with pytest.raises(ProfileError, match=r"benchmark 'residents' of profile 'testshire' has no row for: South"):
        p.benchmark()
    with pytest.raises(ProfileError, match=r"has no benchmark 'census'; valid: residents"):
        p.benchmark("census")


def test_an_unknown_profile_lists_the_valid_ones():
    with pytest.raises(ProfileError, match=r"unknown profile 'paris'; valid: england-wales-forces, london-gvm, or the path"):
        load_profile("paris")


def test_cli_profiles_lists_them():
    from fairness.cli import main

    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["profiles"]) == 0
    text = out.getvalue()
    assert "london-gvm" in text and "england-wales-forces" in text and "43" in text
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["profiles", "england-wales-forces"]) == 0
    assert "Avon and Somerset (E23000036; also: Avon & Somerset)" in out.getvalue()
    assert "groups: White, Black, Asian, Mixed, Other (reference White; share compared by area: Black)" \
        in out.getvalue()


# ------------------------------------------------------------ validation with a profile


def _rows(**over_each) -> pd.DataFrame:
    from conftest import good_row

    return pd.DataFrame([good_row(f"P{i}", **o) for i, o in enumerate(over_each.get("rows", [{}]))])


def test_validation_with_london_gvm_gives_what_the_default_gives():
    rows = _rows(rows=[{}, {"borough": " hackney "}, {"ethnicity": "white"}, {"borough": "Hackny"},
                       {"age": "9"}, {"risk_band": "Purple"}, {"ethnicity": "Purple"}])
    default = fairness.validate_frame(rows)
    london = fairness.validate_frame(rows, profile="london-gvm")
    pd.testing.assert_frame_equal(default.valid, london.valid)
    cols = ["line", "column", "value", "rule"]
    pd.testing.assert_frame_equal(default.problems[cols], london.problems[cols])
    assert london.notes == default.notes + ("validated with profile 'london-gvm'",)


def test_validation_with_another_profile_takes_its_areas_groups_and_ages():
    rows = _rows(rows=[
        {"borough": "Avon & Somerset", "ethnicity": "White: Irish", "age": "5"},  # HO spelling, 19-group map
        {"borough": "E23000001"},  # ONS code of the Metropolitan Police
        {"borough": "Hackney"},  # a London borough is not a force area
        {"borough": "Cumbria", "age": "121"},  # above the profile's 0–120
    ])
    res = fairness.validate_frame(rows, profile="england-wales-forces")
    assert list(res.valid["borough"].astype(str)) == ["Avon and Somerset", "Metropolitan Police"]
    assert list(res.valid["ethnicity"].astype(str)) == ["White", "Black"]
    assert list(res.valid["borough"].cat.categories)[:2] == ["Metropolitan Police", "Cumbria"]
    msgs = dict(zip(res.problems["line"], res.problems["message"], strict=True))
    assert msgs[4] == ("'Hackney' is not valid. Valid: one of the 43 police force areas of profile "
                       "'england-wales-forces' (name, spelling or code; `fairness profiles england-wales-forces` "
                       "lists them)")
    assert msgs[5] == "'121' is out of range. Valid: 0–120 at snapshot_date"
    # the profile is active only inside the call: by default only the London borough is valid
    assert list(fairness.validate_frame(rows).valid["borough"].astype(str)) == ["Hackney"]


def test_a_matrix_of_another_place_runs_through_validate_and_audit(tmp_path):
    from fairness.cli import main

    rows = _rows(rows=[{"borough": "Cumbria", "ethnicity": "Black", "harm_score": "0"}] * 1
                 + [{"borough": "Cumbria", "ethnicity": "White", "harm_score": "1"}] * 3
                 + [{"borough": "Avon & Somerset", "ethnicity": "Black", "harm_score": "1"}] * 2)
    path = tmp_path / "list.csv"
    rows.to_csv(path, index=False)
    buf = io.StringIO()
    with redirect_stdout(buf):
        assert main(["validate", str(path), "--profile", "england-wales-forces"]) == 0
        assert main(["validate", str(path)]) == 1  # not London boroughs
    out = tmp_path / "a.json"
    with redirect_stdout(buf):
        assert main(["audit", str(path), "--profile", "england-wales-forces", "--mode", "internal",
                     "--json", str(out)]) == 0
    import json

    d = json.loads(out.read_text(encoding="utf-8"))
    # one snapshot date and a profile without snapshots: audited pooled, and the JSON says so
    assert d["parameters"]["input"] == "records" and d["quarter"] == "pooled" and d["n"] == 6
    assert d["parameters"]["pooled"] is True and d["quarters"] == ["pooled"]
    from fairness.results.contract import read_json_table

    black = [r for r in read_json_table(d, "relative_rate").to_dict("records")
             if r["group"] == "Black" and r["benchmark"] == "residents_2021"][0]
    # 3 Black people listed over the Black residents of Cumbria (1,194) and Avon and Somerset (built file)
    pop = load_profile("england-wales-forces").benchmark().table
    black_pop = pop[(pop.group == "Black") & pop.borough.isin(["Cumbria", "Avon and Somerset"])]["count"].sum()
    assert black["population"] == black_pop
    # metrics JSON keeps 4 significant figures (README, "metrics.json precision")
    assert black["rate_per_1000"] == pytest.approx(1000 * 3 / black_pop, rel=5e-4)
    nr = [r for r in read_json_table(d, "no_risk").to_dict("records") if r["by"] == "all"][0]
    assert (nr["count"], nr["n"], nr["definition"]) == (1, 6, "harm_zero")
    assert "Londoners" not in " ".join(d["headline"])


def test_schema_follows_the_profile():
    from fairness.cli import main
    from fairness.profiles._vocabulary import data_dictionary_for

    dd = data_dictionary_for("england-wales-forces").set_index("column")
    assert dd.loc["borough", "valid"].startswith("one of the 43 police force areas")
    assert dd.loc["age", "valid"] == "0–120 at snapshot_date"
    london = data_dictionary_for("london-gvm").set_index("column")
    assert london.loc["outcome_violence_12m", "description"] == "Violence in the next 12 months (12 months after the snapshot)"
    buf = io.StringIO()
    with redirect_stdout(buf):
        assert main(["schema", "--profile", "england-wales-forces"]) == 0
    assert "| borough | yes | text | one of the 43 police force areas" in buf.getvalue()


def test_the_profile_written_in_the_readme_loads(tmp_path):
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("```toml", text.index("**Writing a profile.**")) + len("```toml")
    toml = text[start:text.index("```", start)]
    (tmp_path / "testshire_population.csv").write_text(
        "district,white,black,indian,pakistani,other_asian,hispanic,other\n"
        "North,100,20,5,5,5,30,10\nSouth,200,10,1,1,1,10,5\nTestshire (total),300,30,6,6,6,40,15\n",
        encoding="utf-8")
    (tmp_path / "testshire.toml").write_text(toml, encoding="utf-8")
    p = load_profile(tmp_path / "testshire.toml")
    assert p.groups.names == ("White", "Black", "Asian", "Hispanic", "Other")
    assert p.area_for("testshire north") == "North"
    t = p.benchmark().table
    assert t[(t.borough == "North") & (t.group == "Asian")]["count"].iloc[0] == 15  # indian + pakistani + other_asian


def test_python_audit_takes_a_profile(tmp_path):
    rows = _rows(rows=[{"borough": "Cumbria", "ethnicity": "Black"}] * 2
                 + [{"borough": "Cumbria", "ethnicity": "White", "harm_score": "3"}] * 4)
    res = fairness.audit(rows, profile="england-wales-forces")
    assert res.parameters["input"] == "records" and res.n == 6
    rel = res.relative_rate
    black = rel[(rel.group == "Black") & (rel.benchmark == "residents_2021")].iloc[0]
    assert black["rate_per_1000"] == pytest.approx(1000 * 2 / 1_194)  # Cumbria: 1,194 Black residents (Census 2021)
    # the record-level checks run under the profile (nothing says "london-gvm only" any more)
    assert not any("london-gvm" in n for n in res.notes)
    checks = res.checks[res.checks["borough"] == "All police force areas"].set_index("check")
    assert checks.loc["children_listed", "count"] == 6 and checks.loc["children_listed", "n"] == 6  # all aged 17
