"""Census denominators: totals checked against the published figures."""

from __future__ import annotations

import pytest

from fairness.io.benchmarks import census_residents, get_benchmark, load_benchmark_csv


def test_london_2021_total_matches_sources():
    # data/reference/census/SOURCES.md: London total 8,799,810 (33 authorities, incl. City)
    assert int(census_residents(2021, include_city=True)["count"].sum()) == 8_799_810


def test_london_2011_total_matches_sources():
    # SOURCES.md: 2011 London total 8,173,941
    assert int(census_residents(2011, include_city=True)["count"].sum()) == 8_173_941


def test_met_area_excludes_city_of_london():
    t = census_residents(2021)
    assert t["borough"].nunique() == 32 and "City of London" not in set(t["borough"])
    # City of London 2021: 8,588 residents (ethnicity_by_borough_census2021.csv)
    assert int(t["count"].sum()) == 8_799_810 - 8_588


@pytest.mark.parametrize(
    "name,group,published",
    [
        # SOURCES.md, London-wide 2011: Black 13.3%, White 59.8% (of 8,173,941)
        ("residents_2011", "Black", 0.133),
        ("residents_2011", "White", 0.598),
        # SOURCES.md, London-wide 2021: Black 13.5%, White 53.8% (of 8,799,810)
        ("residents_2021", "Black", 0.135),
        ("residents_2021", "White", 0.538),
    ],
)
def test_london_shares_match_published(name, group, published):
    lon = get_benchmark(name).london().set_index("group")
    assert lon.loc[group, "share"] == pytest.approx(published, abs=0.0015)


def test_modelled_10_24_total_and_assumption():
    b = get_benchmark("residents_10_24_2021")
    # SOURCES.md: 2021 residents aged 10-24: 1,614,013 incl. the City (1,355 aged 10-24)
    assert b.table["count"].sum() == pytest.approx(1_614_013 - 1_355, abs=1)
    assert "assumes the same age profile" in b.assumption


def test_user_benchmark_shares(tmp_path):
    p = tmp_path / "syv.csv"
    p.write_text("group,share\nBlack,27\nWhite,40\n")
    b = load_benchmark_csv(p)
    lon = b.london().set_index("group")
    assert lon.loc["Black", "share"] == pytest.approx(0.27)
    assert not b.has_counts


def test_user_benchmark_bad_group_names_line(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("group,count\nBlack,100\nPurple,3\n")
    with pytest.raises(ValueError, match="line 3: column group: 'Purple'"):
        load_benchmark_csv(p)


def test_unknown_benchmark_lists_valid():
    with pytest.raises(ValueError, match="residents_2021, residents_2011"):
        get_benchmark("nope")


def test_readme_data_dictionary_matches_schema():
    """README.md's copy of the data dictionary is the schema's, word for word."""
    from pathlib import Path

    from fairness.io.schema import data_dictionary_markdown

    text = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    block = text.split("<!-- data-dictionary:start -->\n", 1)[1].split("\n<!-- data-dictionary:end -->", 1)[0]
    assert block == data_dictionary_markdown()
