"""The complement rule (issue 12): a count shown beside its base gives back base - count.

In the default 2018Q4 report the Green-band funnel showed Richmond upon Thames
at 19 of 21 people listed and Hillingdon at 90 of 99, so 2 and 9 people there
were Amber or Red, by subtraction. These tests plant that case in small tables
built by hand (every expected value worked out beside it), show that the
publication audit's ``complement`` attack refuses it when the rule is switched
off, and that :func:`protect_table` closes it.
"""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from fairness.publish import publication
from fairness.publish.disclosure import BAD_COMPLEMENT, MARKER, protect_table
from fairness.publish.intruder import (
    COMPLEMENT_PAIRS,
    PublicationAuditError,
    assert_publication_safe,
    audit_publication,
)

C = MARKER


def funnel(rows: list[tuple[str, int, int]], metric: str = "green_share") -> pd.DataFrame:
    """A ``boroughs`` table (the funnel's columns) from (borough, count, n)."""
    t = pd.DataFrame(rows, columns=["borough", "count", "n"])
    t.insert(0, "metric", metric)
    t["value"] = t["count"] / t["n"]
    for c in ("z", "z_adjusted", "lower_95", "upper_95", "lower_998", "upper_998"):
        t[c] = 0.5
    t["flag"] = "within"
    return t


def published(**tables: pd.DataFrame) -> dict:
    """A metrics.json-like dict holding only the tables given (format 1: lists of records)."""
    return {"mode": "publication", "quarter": "2018Q4",
            **{name: t.astype(object).where(t.notna(), None).to_dict("records") for name, t in tables.items()}}


def protect_boroughs(t: pd.DataFrame, *, rule: bool = True) -> pd.DataFrame:
    spec = publication.TABLE_SPECS["boroughs"]
    if not rule:
        spec = dataclasses.replace(spec, complements=())
    out, _ = publication._protect(t, spec, 10, None)
    return out


# Richmond 19 of 21 and Hillingdon 90 of 99 (the 2018Q4 report); Brent and Croydon are made up
# with complements of 50 and 100, so that the metric's total is not itself small.
PLANTED = [("Richmond upon Thames", 19, 21), ("Hillingdon", 90, 99), ("Brent", 150, 200), ("Croydon", 300, 400)]


def test_the_planted_19_of_21_is_refused_without_the_rule():
    leaky = protect_boroughs(funnel(PLANTED), rule=False)
    assert leaky["count"].tolist() == [19, 90, 150, 300]  # nothing below 10: the old rule hid nothing
    found = audit_publication(published(boroughs=leaky))
    assert found["attack"].tolist() == ["complement", "complement"]
    assert found["row"].tolist() == [0, 1] and set(found["column"]) == {"count"}
    assert "boroughs[0].n (21) minus boroughs[0].count (19) gives 2" in found.at[0, "recovered_from"]
    assert "boroughs[1].n (99) minus boroughs[1].count (90) gives 9" in found.at[1, "recovered_from"]
    with pytest.raises(PublicationAuditError, match=r"complement: boroughs\[0\]\.count from boroughs\[0\]\.n"):
        assert_publication_safe(published(boroughs=leaky))


def test_the_planted_19_of_21_is_protected_with_the_rule():
    t = protect_boroughs(funnel(PLANTED))
    # 19 and 90 hidden as complements (2 and 9); hidden together, so the metric's total
    # (559, known from London's Green count) minus the shown 450 gives only their sum, 109
    assert t["count"].tolist() == [C, C, 150, 300]
    assert t["n"].tolist() == [21, 99, 200, 400]  # the list sizes stay: the black and no-risk funnels need them
    for col in ("value", "z", "z_adjusted", "flag"):  # a share whose count is hidden goes with it
        assert t[col].tolist()[:2] == [C, C], col
        assert all(v != C for v in t[col].tolist()[2:]), col
    assert t["lower_95"].tolist() == [0.5] * 4  # limits depend on n only
    assert audit_publication(published(boroughs=t)).empty


def test_the_decisions_say_complement():
    p = protect_table(funnel(PLANTED), count_cols=["count", "n"], complements=[("count", "n")],
                      by=["metric"], derived={"value": ["count", "n"]})
    rules = {(r.row, r.column): r.rule for r in p.decisions.itertuples(index=False)}
    assert rules == {(0, "count"): "complement", (1, "count"): "complement",
                     (0, "value"): "derived", (1, "value"): "derived"}
    assert "base minus the count is below 10" in p.note


def test_a_complement_of_10_or_more_stays_shown():
    # 90 of 100 leaves 10, and 19 of 29 leaves 10: both may be published
    rows = [("Richmond upon Thames", 19, 29), ("Hillingdon", 90, 100), ("Brent", 150, 200)]
    t = protect_boroughs(funnel(rows))
    assert t["count"].tolist() == [19, 90, 150]
    assert t["value"].tolist() == pytest.approx([19 / 29, 0.9, 0.75])
    assert audit_publication(published(boroughs=t)).empty


def test_a_single_complement_takes_the_smallest_other_count_with_it():
    # one complement (12 of 14 leaves 2) in a metric whose counts add up to a known total
    # (12 + 40 + 150 = 202): the next count hidden is the row with the fewest people (40 of 60)
    rows = [("Richmond upon Thames", 12, 14), ("Hillingdon", 40, 60), ("Brent", 150, 200)]
    t = protect_boroughs(funnel(rows))
    assert t["count"].tolist() == [C, C, 150]
    assert audit_publication(published(boroughs=t)).empty


def test_the_complement_across_two_tables_is_caught():
    # the Green-band funnel hides Richmond's list size in its row, but the no-risk table shows
    # it (the same list size): 21 - 19 = 2
    green = funnel([("Richmond upon Thames", 19, 21), ("Brent", 150, 200)]).astype(object)
    green.at[0, "n"] = C
    no_risk = pd.DataFrame({"definition": "harm_zero", "by": "borough", "group": ["Richmond upon Thames", "Brent"],
                            "count": [C, 60], "n": [21, 200], "share": [C, 0.3]})
    found = audit_publication(published(boroughs=green, no_risk=no_risk))
    comp = found[found["attack"] == "complement"]
    assert comp[["table", "row", "column"]].values.tolist() == [["boroughs", 0, "count"]]
    assert "no_risk[0].n (the same list size) (21) minus boroughs[0].count (19) gives 2" \
        in comp["recovered_from"].iloc[0]


def test_the_complement_across_quarters_is_caught():
    # a quarter's list size is the n of every trend metric, and the count of "listed":
    # the Green count of 2018Q4 beside a hidden n still gives 21 - 19 = 2
    trends = pd.DataFrame({"metric": ["listed", "green_share"], "quarter": "2018Q4",
                           "count": [21, 19], "n": [21, C], "value": [21.0, C]})
    found = audit_publication(published(trends=trends))
    comp = found[found["attack"] == "complement"]
    assert comp[["table", "row", "column"]].values.tolist() == [["trends", 1, "count"]]
    assert "(21) minus trends[1].count (19) gives 2" in comp["recovered_from"].iloc[0]


def test_a_share_left_beside_its_hidden_count_gives_the_complement():
    # 19/21 = 0.904762 shown beside a hidden 19: share x n = 19, and 21 - 19 = 2
    t = funnel([("Richmond upon Thames", 19, 21), ("Brent", 150, 200)]).astype(object)
    t.at[0, "count"] = C
    found = audit_publication(published(boroughs=t))
    comp = found[found["attack"] == "complement"]
    assert comp[["row", "column"]].values.tolist() == [[0, "count"]]
    assert "boroughs[0].value × 21 (19) gives 2" in comp["recovered_from"].iloc[0]


def test_a_rounded_share_left_beside_its_hidden_count_gives_the_complement():
    # published as 0.9048 (4 decimals): only 19 of 21 lies within 0.90475-0.90485 (18/21 = 0.857, 20/21 = 0.952)
    t = funnel([("Richmond upon Thames", 19, 21), ("Brent", 150, 200)]).astype(object)
    t.at[0, "count"] = C
    t.at[0, "value"] = 0.9048
    found = audit_publication(published(boroughs=t))
    comp = found[found["attack"] == "complement"]
    assert comp[["row", "column"]].values.tolist() == [[0, "count"]]
    assert "boroughs[0].value × 21 (19) gives 2" in comp["recovered_from"].iloc[0]


def test_a_hidden_cell_given_by_a_difference_of_shown_cells_is_caught():
    # positives - tp = fn in a band row: a hidden fn beside shown positives and tp is recovered,
    # whatever its size (here 12)
    bands = pd.DataFrame({"threshold": "red_amber", "by": "ethnicity", "group": ["White"], "n": [200],
                          "positives": [50], "selected": [60], "tp": [38], "fp": [22], "tn": [C], "fn": [C]})
    found = audit_publication(published(band_by_group=bands))
    comp = found[found["attack"] == "complement"]
    assert comp[["table", "row", "column"]].values.tolist() == [["band_by_group", 0, "fn"]]
    assert "gives 12 (the hidden fn)" in comp["recovered_from"].iloc[0]


def test_the_band_table_hides_selected_whose_complement_is_small():
    # a group of 40 people of whom 35 are Red or Amber: 5 are Green (n - selected), so
    # selected (and the selection rate) is hidden; fp and tn hide with it so that
    # tp + fp = selected cannot give it back
    t = pd.DataFrame({"threshold": "red_amber", "by": "ethnicity", "group": ["White", "Black"],
                      "n": [40, 300], "positives": [20, 100], "selected": [35, 150], "tp": [18, 80],
                      "fp": [17, 70], "tn": [3, 130], "fn": [2, 20], "selection_rate": [35 / 40, 0.5]})
    out, dec = publication._protect(t, publication.TABLE_SPECS["band_by_group"], 10, None)
    assert out.at[0, "selected"] == C and out.at[0, "selection_rate"] == C
    assert ((dec["row"] == 0) & (dec["column"] == "selected") & (dec["rule"] == "complement")).any()
    assert audit_publication(published(band_by_group=out)).empty
    leaky, _ = publication._protect(
        t, dataclasses.replace(publication.TABLE_SPECS["band_by_group"], complements=()), 10, None)
    assert leaky.at[0, "selected"] == 35
    found = audit_publication(published(band_by_group=leaky))
    assert "band_by_group[0].n (40) minus band_by_group[0].selected (35) gives 5" in " ".join(found["recovered_from"])


def test_by_default_every_count_is_checked_against_every_base_column():
    # the ethnic groups of one benchmark and the list size n: White 45 of 52 leaves 7 (Black 5
    # and Asian 2 together), so White is hidden too; its share with it
    t = pd.DataFrame({"benchmark": "census", "group": ["White", "Black", "Asian"], "count": [45, 5, 2], "n": 52})
    t["share"] = t["count"] / t["n"]
    p = protect_table(t, count_cols=["count"], base_cols=["n"], by=["benchmark"], derived={"share": ["count", "n"]})
    assert p.table["count"].tolist() == [C, C, C]
    assert p.table["share"].tolist() == [C, C, C]
    assert p.table["n"].tolist() == [52, 52, 52]
    # switched off: the old rule shows 45 of 52
    off = protect_table(t, count_cols=["count"], base_cols=["n"], by=["benchmark"], complements=(),
                        derived={"share": ["count", "n"]})
    assert off.table["count"].tolist() == [45, C, C]


def test_a_base_below_the_threshold_is_hidden_itself_and_a_true_zero_stays():
    # 0 of 8: n is hidden (8 < 10), so the 0 says nothing and is shown
    t = pd.DataFrame({"b": ["x", "x"], "count": [0, 8], "n": [8, 8]})
    p = protect_table(t, count_cols=["count"], base_cols=["n"], by="b")
    assert p.table["count"].tolist() == [0, C]
    assert p.table["n"].tolist() == [C, C]


def test_a_kept_data_quality_base_still_protects_its_complement():
    # 3 people "Not stated" are published (a data-quality count), so 0 no-risk of 3 would say
    # that all 3 posed a risk: the 0 is hidden, and a second count with it (the groups add up
    # to the no-risk total)
    t = pd.DataFrame({"by": "ethnicity", "group": ["White", "Black", "Not stated"],
                      "count": [20, 40, 0], "n": [50, 120, 3]})
    p = protect_table(t, count_cols=["count", "n"], by=["by"], complements=[("count", "n")], keep=[(2, "n")])
    assert p.table["n"].tolist() == [50, 120, 3]
    assert p.table["count"].tolist() == [C, 40, C]
    dec = p.decisions.set_index(["row", "column"])["rule"]
    assert dec[(2, "count")] == "complement" and dec[(0, "count")] == "secondary"


@pytest.mark.parametrize("pair", [("count",), ("count", "count"), ("missing", "n"), ("n", "count")])
def test_a_bad_complement_pair_is_refused_naming_the_valid_columns(pair):
    t = pd.DataFrame({"count": [19], "n": [21]})
    expected = BAD_COMPLEMENT.format(pair=pair, valid=["count", "n"]) if pair != ("n", "count") else None
    with pytest.raises(ValueError, match="complements must hold") as err:
        protect_table(t, count_cols=["count"], base_cols=["n"], complements=[pair])
    if expected:
        assert str(err.value) == expected


@pytest.mark.parametrize(("cell", "why"), [((0, "group"), "'group' is not a count or base column"),
                                           ((5, "n"), "no row 5")])
def test_a_bad_kept_cell_is_refused_naming_it(cell, why):
    # a kept cell was ignored without a word when its column was not a count or base column
    t = pd.DataFrame({"group": ["Not stated"], "count": [3], "n": [3]})
    with pytest.raises(ValueError) as err:
        protect_table(t, count_cols=["count"], base_cols=["n"], keep=[cell])
    assert str(err.value) == (f"keep must hold (index label, column) cells of the table, the column a count or "
                              f"base column; got {cell!r} ({why}; valid columns: ['count', 'n'])")


def test_every_table_the_attack_knows_declares_its_complements():
    # what protection declares (TableSpec.complements, or every count with every base) covers
    # every (count, base) pair the attack tries, where the complement is not itself a cell
    for name, pairs in COMPLEMENT_PAIRS.items():
        spec = publication.TABLE_SPECS[name]
        declared = set(spec.complements) if spec.complements is not None else {
            (c, b) for c in spec.count_cols for b in spec.base_cols}
        for count, base, cell in pairs:
            if cell is None:
                assert (count, base) in declared, (name, count, base)


def checks_table() -> pd.DataFrame:
    """Three checks of one quarter by borough, with the "All boroughs" row. Two are of everyone
    listed (n = the list size, 21 / 99 / 200); blanket sharing is of the Green people only, so
    its n is the Green count: 19 of 21 in Richmond, 90 of 99 in Hillingdon (the 2018Q4 values)."""
    sizes = {"Richmond upon Thames": 21, "Hillingdon": 99, "Brent": 200}
    green = {"Richmond upon Thames": 19, "Hillingdon": 90, "Brent": 150}
    counts = {"victims_as_offenders": (10, 30, 60), "reviews_overdue": (12, 20, 40), "blanket_sharing": (0, 45, 70)}
    rows = []
    for check, cs in counts.items():
        ns = list((green if check == "blanket_sharing" else sizes).values())
        for borough, c, n in zip([*sizes, "All boroughs"], [*cs, sum(cs)], [*ns, sum(ns)], strict=True):
            rows.append({"check": check, "quarter": "2018Q4", "borough": borough, "count": c, "n": n,
                         "share": c / n, "ci_low": 0.0, "ci_high": 1.0})
    return pd.DataFrame(rows)


def test_a_part_of_the_list_beside_the_list_size_in_other_checks_is_caught_and_protected():
    t = checks_table()
    spec = publication.TABLE_SPECS["checks"]
    # without the list-size pair (only count against n): blanket sharing's n of 19 and 90 stay,
    # and the list size repeated by the checks of everyone gives back 2 and 9 people not Green
    leaky, _ = publication._protect(t, dataclasses.replace(spec, complements=(("count", "n"),)), 10, None)
    assert leaky.loc[leaky["check"] == "blanket_sharing", "n"].tolist() == [19, 90, 150, 259]
    found = audit_publication(published(checks=leaky))
    comp = found[found["attack"] == "complement"]
    assert comp[["row", "column"]].values.tolist() == [[8, "n"], [9, "n"]]
    assert "the list size checks[0].n (21" in comp["recovered_from"].iloc[0]
    assert "minus checks[8].n (19) gives 2" in comp["recovered_from"].iloc[0]
    assert "minus checks[9].n (90) gives 9" in comp["recovered_from"].iloc[1]
    # with it: both hidden (each other's secondary cell against the total 259), with their shares
    out, dec = publication._protect(t, spec, 10, None)
    blanket = out[out["check"] == "blanket_sharing"]
    assert blanket["n"].tolist() == [C, C, 150, 259]
    assert blanket["share"].tolist()[:2] == [C, C]
    assert blanket["count"].tolist() == [0, 45, 70, 115]
    assert "_list_size" not in out and "_list_size" not in set(dec["column"])
    assert set(dec.loc[dec["column"] == "n", "rule"]) == {"complement"}
    assert audit_publication(published(checks=out)).empty
