"""The publication audit (fairness.publish.intruder) and the fixes for issue 12.

Each attack of issue 12 is reproduced on the small history the issue used
(``fairness synth --scale 0.05``, quarter 2023Q4: 52 people): it is planted
back into the protected result (the value today's code published, taken from
the internal result) and the audit must catch it; the protected result itself
must pass, with the leak closed.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

import fairness
from fairness import synth
from fairness.io.schema import PARTNER_OTHER, PARTNER_TYPES, partner_label
from fairness.publish import publication
from fairness.publish.disclosure import MARKER
from fairness.publish.intruder import (
    FINDING_COLUMNS,
    PublicationAuditError,
    assert_publication_safe,
    audit_publication,
)
from tests.conftest import good_row


def hidden(v) -> bool:
    return isinstance(v, str) and v == MARKER


@pytest.fixture(scope="module")
def small_path(tmp_path_factory):
    """The issue's example: ``fairness synth --scale 0.05`` (default scenario and seed)."""
    path = tmp_path_factory.mktemp("small") / "matrix.csv"
    synth.write(synth.generate(scale=0.05), path)
    return path


@pytest.fixture(scope="module")
def small(small_path):
    """Its audit at 2023Q4, internal and published (about 3 s, once)."""
    internal = fairness.audit(fairness.read_matrix(small_path), quarter="2023Q4")
    return internal, internal.for_publication()


def plant(pub, table: str, column: str, values, rows=None):
    """``pub`` with ``column`` of ``table`` set back to ``values`` (today's leak)."""
    t = getattr(pub, table).reset_index(drop=True).copy()
    rows = range(len(t)) if rows is None else rows
    t[column] = t[column].astype(object)
    for i in rows:
        t.at[i, column] = values[i] if isinstance(values, (list, dict, pd.Series, np.ndarray)) else values
    return dataclasses.replace(pub, **{table: t})


def attacks(found: pd.DataFrame, table: str, column: str) -> pd.DataFrame:
    return found[(found["table"] == table) & (found["column"] == column)]


# ------------------------------------------------------------------ the example itself
def test_the_issue_example_has_52_people_and_6_with_no_risk(small):
    internal, _ = small
    assert internal.n == 52  # issue 12: "2023Q4, 52 people"
    overall = internal.no_risk[(internal.no_risk["by"] == "all") & (internal.no_risk["definition"] == "harm_zero")]
    assert int(overall["count"].iloc[0]) == 6  # boroughs.target 0.115385 x 52 = 6 (issue 12)


def test_the_published_result_passes_the_publication_audit(small):
    _, pub = small
    found = audit_publication(pub)
    assert list(found.columns) == list(FINDING_COLUMNS)
    assert found.empty
    assert audit_publication(pub.to_dict()).empty  # the metrics.json form too


# ------------------------------------------------------------------ each attack of the issue
def test_london_no_risk_count_from_the_funnel_target_is_caught_and_closed(small):
    internal, pub = small
    target = internal.boroughs["target"].reset_index(drop=True)
    leaky = plant(pub, "boroughs", "target", target)
    found = attacks(audit_publication(leaky), "boroughs", "target")
    assert len(found) >= 1
    assert "× 52" in found["recovered_from"].iloc[0] and found["recovered_from"].iloc[0].endswith("= 6")
    # fixed: the no-risk centre is withheld (with the funnel limits drawn around it)
    nr = pub.boroughs[pub.boroughs["metric"] == "no_risk_share"]
    assert nr["target"].isna().all()
    od = pub.overdispersion.set_index("metric")
    assert math.isnan(od.at["no_risk_share", "target"])
    lim = pub.funnel_limits[pub.funnel_limits["metric"] == "no_risk_share"]
    assert lim[["lower", "upper"]].isna().all().all()
    # a centre that gives back no small count is kept (Black share: 41 of 52)
    black = pub.boroughs[pub.boroughs["metric"] == "black_share"]["target"]
    assert black.iloc[0] == pytest.approx(41 / 52)


def test_a_borough_count_from_london_share_is_caught_and_closed(small):
    internal, pub = small
    share = internal.band_consistency["london_share"].reset_index(drop=True)
    assert share.iloc[0] * 52 == pytest.approx(1)  # 1 of 52 disagrees with the London bands
    leaky = plant(pub, "band_consistency", "london_share", share)
    found = attacks(audit_publication(leaky), "band_consistency", "london_share")
    assert len(found) >= 1
    assert pub.band_consistency["london_share"].isna().all()


def test_check_statuses_beside_hidden_counts_are_caught_and_closed(small):
    internal, pub = small
    status = internal.checks["status"].reset_index(drop=True)
    leaky = plant(pub, "checks", "status", status)
    found = attacks(audit_publication(leaky), "checks", "status")
    t = pub.checks.reset_index(drop=True)
    hidden_rows = [i for i in range(len(t)) if hidden(t.at[i, "count"]) or hidden(t.at[i, "n"])]
    informative = [i for i in hidden_rows if status[i] not in ("not assessable",)]
    assert set(found["row"]) == set(informative)
    assert len(informative) > 50  # the issue counted 90 such rows at this scale
    assert all(hidden(t.at[i, "status"]) for i in informative)
    assert all(not hidden(t.at[i, "status"]) for i in range(len(t)) if i not in hidden_rows)


def test_model_summaries_from_hidden_cells_are_caught_and_closed(small):
    internal, pub = small
    phi = internal.overdispersion["phi"].reset_index(drop=True)
    leaky = plant(pub, "overdispersion", "phi", phi)
    found = attacks(audit_publication(leaky), "overdispersion", "phi")
    assert len(found) == len(phi)  # every metric has a hidden borough at 52 people
    assert pub.overdispersion[["phi", "tau2"]].isna().all().all()
    assert pub.heterogeneity[["statistic", "p_value", "i2"]].isna().all().all()
    leaky = plant(pub, "casemix_test", "lr_statistic", internal.casemix_test["lr_statistic"].reset_index(drop=True))
    assert len(attacks(audit_publication(leaky), "casemix_test", "lr_statistic")) == 1
    assert pub.casemix_test["lr_statistic"].isna().all()


def test_the_same_count_shown_in_another_table_is_caught(small):
    internal, pub = small
    t = pub.band_consistency.reset_index(drop=True)
    i = next(i for i in range(len(t)) if hidden(t.at[i, "n"]))
    borough = t.at[i, "borough"]
    true_n = int(internal.band_consistency.reset_index(drop=True).at[i, "n"])
    leaky = plant(pub, "band_consistency", "n", {i: true_n}, rows=[i])
    found = audit_publication(leaky)
    repeats = found[found["attack"] == "repeat"]
    assert len(repeats) >= 1
    assert any(f"band_consistency[{i}].n" in s for s in repeats["recovered_from"])
    # and in the published result that borough's list size is hidden everywhere it appears
    for name in ("boroughs", "casemix"):
        rows = getattr(pub, name)
        rows = rows[rows["metric"] != "rate_per_1000"]  # a rate's n is the borough's residents
        assert rows[rows["borough"] == borough]["n"].map(hidden).all(), name


def test_a_share_left_beside_a_hidden_count_is_caught(small):
    internal, pub = small
    t = pub.no_risk.reset_index(drop=True)
    i = next(i for i in range(len(t)) if hidden(t.at[i, "count"]) and t.at[i, "group"] == "all")
    share = float(internal.no_risk.reset_index(drop=True).at[i, "share"])
    leaky = plant(pub, "no_risk", "share", {i: share}, rows=[i])
    found = attacks(audit_publication(leaky), "no_risk", "share")
    assert list(found["row"]) == [i]
    assert found["recovered_from"].iloc[0].endswith("= 6")


def test_a_failing_publication_is_not_published(small, monkeypatch):
    internal, _ = small
    monkeypatch.setattr(publication, "_close_intruder_routes", lambda res, changes, threshold: [])
    with pytest.raises(PublicationAuditError) as err:
        internal.for_publication()
    message = str(err.value)
    assert "nothing is published" in message
    assert "boroughs[" in message and "target" in message and "× 52" in message
    assert {"product", "status", "summary"} <= set(err.value.findings["attack"])


def test_assert_publication_safe_names_the_cell_and_its_source(small):
    internal, pub = small
    leaky = plant(pub, "band_consistency", "london_share", internal.band_consistency["london_share"].tolist())
    with pytest.raises(PublicationAuditError, match=r"band_consistency\[0\]\.london_share from 0\.0192308 × 52"):
        assert_publication_safe(leaky)


# ------------------------------------------------------------------ quarantine reasons
def _one_reason() -> pd.DataFrame:
    """30 valid rows and 3 quarantined, all for the same reason (age 7)."""
    rows = [good_row(f"P{i}", ethnicity=["Black", "White"][i % 2], borough=["Hackney", "Lambeth"][i % 2])
            for i in range(30)]
    rows += [good_row(f"R{i}", age="7") for i in range(3)]
    return pd.DataFrame(rows)


def test_a_quarantine_reason_the_total_gives_away_is_withheld_with_its_name():
    internal = fairness.audit(fairness.validate_frame(_one_reason()))
    assert internal.quarantined == 3
    pub = internal.for_publication()
    assert pub.quarantined == 3  # published by design: the reader needs it to judge the data
    reasons = pub.quarantine_reasons.reset_index(drop=True)
    assert len(reasons) == 1 and hidden(reasons.at[0, "rows"])
    assert hidden(reasons.at[0, "rule"])  # "3 quarantined" and "age out of range: [c]" would tell
    leaky = plant(pub, "quarantine_reasons", "rule", ["out_of_range"])
    found = attacks(audit_publication(leaky), "quarantine_reasons", "rows")
    assert list(found["attack"]) == ["total"]


# ------------------------------------------------------------------ no free text
def test_partner_types_come_from_the_declared_vocabulary():
    assert partner_label("Housing") == "housing"
    assert partner_label(" social services ") == "social_services"
    assert partner_label("dwp") == "DWP"
    for text in ("=HYPERLINK(\"http://x\")", "<img src=x onerror=alert(1)>", "Bob Smith 07700 900123"):
        assert partner_label(text) == PARTNER_OTHER
    assert PARTNER_OTHER not in PARTNER_TYPES


def test_free_text_in_shared_with_is_published_only_as_other():
    free = ["=HYPERLINK(\"http://x\",\"y\")", "<img src=x onerror=alert(1)>", "Bob Smith 07700 900123"]
    rows = [good_row(f"P{i}", shared_with=["housing", free[i % 3], "education;" + free[0]][i % 3],
                     borough=["Hackney", "Lambeth"][i % 2]) for i in range(60)]
    internal = fairness.audit(fairness.validate_frame(pd.DataFrame(rows)))
    partners = set(internal.sharing_by_partner["partner"])
    assert partners == {"any", "housing", "education", PARTNER_OTHER}
    t = internal.sharing_by_partner
    other = t[(t["partner"] == PARTNER_OTHER)]["count"].sum()
    assert other == 40  # rows 1, 2, 4, 5, ...: two in every three of the 60 name an unknown partner
    pub = internal.for_publication()
    text = pub.to_json()
    for s in ("HYPERLINK", "onerror", "Bob Smith", "07700 900123"):
        assert s not in text


def test_free_text_planted_in_a_label_column_is_caught(small):
    _, pub = small
    t = pub.sharing_by_partner.reset_index(drop=True)
    leaky = plant(pub, "sharing_by_partner", "partner", {0: "Bob Smith 07700 900123"}, rows=[0])
    found = attacks(audit_publication(leaky), "sharing_by_partner", "partner")
    assert list(found["row"]) == [0] and list(found["attack"]) == ["vocabulary"]
    assert len(t)


# ------------------------------------------------------------------ what suppression cost
def test_the_published_result_says_what_suppression_cost(small):
    internal, pub = small
    s = pub.suppression.set_index("table")
    assert {"cells", "cells_hidden", "cells_hidden_share", "people_hidden_share"} <= set(s.columns)
    assert "people_hidden" not in s.columns  # an exact sum of hidden people could give one back
    assert s.at["representation", "cells"] > 0
    assert 0 <= s.at["boroughs", "cells_hidden_share"] <= 1
    full = publication.suppression_summary(internal, pub).set_index("table")
    assert full.at["boroughs", "cells_hidden"] == s.at["boroughs", "cells_hidden"]
    assert pub.to_dict()["suppression"]["data"][0][0] == "representation"  # {"columns": [...], "data": [...]}


# ------------------------------------------------------------------ words for what suppression empties
def test_an_emptied_table_collapses_to_one_sentence():
    t = pd.DataFrame({"borough": ["Hackney", "Lambeth"], "metric": "no_risk_share", "value": [MARKER, MARKER],
                      "n": [MARKER, MARKER]})
    sentence = publication.withheld_sentence(t, "The no-risk share by borough")
    assert sentence.startswith("The no-risk share by borough is withheld:")
    assert sentence.count(".") == 1
    assert publication.hidden_rows(t, metric="no_risk_share") == ["Hackney", "Lambeth"]
    half = t.assign(value=[MARKER, 0.25], n=[MARKER, 40])
    assert publication.withheld_sentence(half, "x") is None
    assert publication.hidden_rows(half) == ["Hackney"]


def test_the_small_example_funnel_lists_hidden_boroughs_for_a_note(small):
    _, pub = small
    names = publication.hidden_rows(pub.boroughs, metric="no_risk_share")
    # Counted by hand in the generated matrix (rows with snapshot_date 2023-12-31): Brent lists 6
    # people, 1 with harm score 0 (hidden); Barking and Dagenham lists nobody (a true zero, shown).
    assert "Brent" in names and "Barking and Dagenham" not in names


def test_fairness_audit_in_publication_mode_runs_the_audit(small_path, tmp_path, monkeypatch, capsys):
    from fairness import cli

    monkeypatch.setenv("FAIRNESS_AUDIT_LOG", str(tmp_path / "audit.log"))
    out = tmp_path / "audit.json"
    code = cli.main(["audit", str(small_path), "--quarter", "2023Q4", "--json", str(out)])
    assert code == 0
    import json

    assert audit_publication(json.loads(out.read_text())).empty
    monkeypatch.setattr(publication, "_close_intruder_routes", lambda res, changes, threshold: [])
    code = cli.main(["audit", str(small_path), "--quarter", "2023Q4"])
    err = capsys.readouterr().err
    assert code == 2
    assert "the publication audit recovered" in err and "nothing is published" in err


def test_a_change_from_a_hidden_quarter_is_caught():
    # 2018Q3: 5 of 40 (hidden); 2018Q4: 12 of 40 = 0.30, up 0.175 on 0.125: 0.30 - 0.175 = 5/40 gives it back
    trends = [{"metric": "no_risk_share", "quarter": "2018Q3", "count": MARKER, "n": 40, "value": MARKER,
               "diff_prev": None},
              {"metric": "no_risk_share", "quarter": "2018Q4", "count": 12, "n": 40, "value": 0.30,
               "diff_prev": 0.175}]
    metrics = {"mode": "publication", "n": 40, "quarter": "2018Q4", "trends": trends}
    found = audit_publication(metrics)
    assert list(found["attack"]) == ["quarters"] and list(found["row"]) == [0]
    assert found["recovered_from"].iloc[0] == "trends[1].value minus trends[1].diff_prev"
    trends[1]["diff_prev"] = MARKER  # as protect_audit publishes it
    assert audit_publication(metrics).empty


# ------------------------------------------------------------------ "Not stated" is a data-quality count
def test_an_extract_with_3_not_stated_publishes_them_as_a_data_quality_count(small_path):
    frame = fairness.read_matrix(small_path).valid
    last = frame[frame["snapshot_date"] == frame["snapshot_date"].max()].copy()
    # 52 people at 2023Q4: 41 Black, 7 White, 4 Asian (representation of the internal result);
    # three of the Black people recorded as "Not stated" instead
    three = last.index[last["ethnicity"] == "Black"][:3]
    last.loc[three, "ethnicity"] = "Not stated"
    internal = fairness.audit(last)
    pub = internal.for_publication()  # it used to be refused: listed (52) minus representation.n (49) gave 3
    rep = pub.representation.set_index(["benchmark", "group"])
    assert rep.at[("residents_2021", "Not stated"), "count"] == 3
    assert rep.at[("residents_2021", "Black"), "count"] == 38
    assert hidden(rep.at[("residents_2021", "White"), "count"])  # 7: still suppressed
    nr = pub.no_risk[(pub.no_risk["by"] == "ethnicity") & (pub.no_risk["group"] == "Not stated")]
    assert set(nr["n"]) == {3}  # their number, not what their records hold: the no-risk counts are protected
    assert "'Not stated' is a data-quality count" in pub.disclosure_note
    assert audit_publication(pub).empty
    assert publication.find_small_counts_in_tables(pub.tables()).empty
    # hidden again, the number listed minus n still gives it back, and the audit says so
    leaky = plant(pub, "representation", "count", MARKER,
                  rows=[i for i, g in enumerate(pub.representation["group"]) if g == "Not stated"])
    found = audit_publication(leaky)
    assert any("the number listed (52) minus representation.n (49)" in s for s in found["recovered_from"])


# ------------------------------------------------------------------ combined rows and the rest of the publication
@pytest.mark.slow
def test_a_part_shown_elsewhere_beside_a_combined_row_is_hidden_before_publishing(small_path, monkeypatch):
    # The intruder pass of issue 12 on the small example at 2022Q4 (97 people), with every declared
    # combination forced: "Under 25" (57 people) minus 18-24's 51 shown in no_risk gave back 10-17's 6.
    frame = fairness.read_matrix(small_path).valid
    internal = fairness.audit(frame[frame["snapshot_date"] == "2022-12-31"])
    monkeypatch.setattr(publication, "_large_losses", lambda before, after, threshold, save: len(before))
    unclosed = publication.protect_audit(internal, audit=False)
    with monkeypatch.context() as m:
        m.setattr(publication, "_close_intruder_routes", lambda res, changes, threshold: [])
        raw = publication.protect_audit(internal, audit=False)
    found = audit_publication(raw)
    assert "the combined row band_by_group[10].n (Under 25) minus 18-24 at no_risk[43].n gives 10-17" in set(
        found["recovered_from"])
    assert audit_publication(unclosed).empty
    ages = unclosed.no_risk[unclosed.no_risk["by"] == "age_band"]
    assert all(hidden(v) for v in ages["n"])
    assert {c["group"] for c in unclosed.parameters["combined_groups"]} == {
        "Under 25", "25 and over", "Asian, Mixed and Other"}


@pytest.mark.parametrize("profile, total_label", [("london-gvm", "All boroughs"),
                                                  ("england-wales-forces", "All police force areas")])
def test_one_hidden_area_beside_the_total_row_is_caught_under_any_profile(small, profile, total_label):
    """The checks' total row was known only by the label "All boroughs": under another profile
    ("All police force areas") one hidden area beside a shown total went unseen."""
    internal, pub = small
    t = pub.checks.reset_index(drop=True).copy()
    full = internal.checks.reset_index(drop=True)
    assert list(t["borough"]) == list(full["borough"])  # the same rows, in the same order
    shown_total = [(c, q) for c, q, b, v in zip(t["check"], t["quarter"], t["borough"], t["n"], strict=True)
                   if b == "All boroughs" and not hidden(v) and int(v) > 0]
    areas = t[t["borough"].ne("All boroughs")]
    check, quarter = next(k for k in shown_total if ((areas["check"] == k[0]) & (areas["quarter"] == k[1])).sum() > 1)
    group = areas.index[(areas["check"] == check) & (areas["quarter"] == quarter)]
    t["n"] = t["n"].astype(object)
    for i in group:  # every area's list size for this check shown ...
        t.at[i, "n"] = full.at[i, "n"]
    rows = [i for i in group if int(full.at[i, "n"]) > 0]
    t.at[rows[0], "n"] = MARKER  # ... but one, hidden alone beside the total
    t["borough"] = t["borough"].replace({"All boroughs": total_label})
    total = t.index[(t["check"] == check) & (t["quarter"] == quarter) & (t["borough"] == total_label)]
    leaky = dataclasses.replace(pub, checks=t, parameters={**pub.parameters, "profile": profile})
    found = audit_publication(leaky)
    hit = found[(found.attack == "total") & (found.table == "checks") & (found.row == rows[0])
                & (found.column == "n")]
    assert len(hit) == 1 and f"the '{total_label}' row checks[{total[0]}].n" in hit.iloc[0].recovered_from


# ------------------------------------------------------------------ the product attack: a share times its own base
def _funnel_dict(target: float, ns: list[int], counts: list, n: int) -> dict:
    rows = [{"metric": "no_risk_share", "borough": b, "count": c, "n": k, "value": MARKER if hidden(c) else c / k,
             "target": target}
            for b, c, k in zip(["Brent", "Camden", "Ealing", "Enfield"], counts, ns, strict=False)]
    return {"mode": "publication", "quarter": "2018Q4", "n": n, "boroughs": rows,
            "no_risk": [{"definition": "harm_zero", "by": "age_band", "group": "10-17", "count": 12, "n": 30,
                         "share": 0.4}]}


def test_a_share_times_a_number_it_cannot_be_tied_to_recovers_nothing():
    # a hand-made 60-person extract, 15 in each of four boroughs, 20 with no risk: London's share
    # is 1/3. 1/3 x 12 (a count elsewhere) = 4 and 1/3 x 15 = 5 are coincidences, not counts; the
    # attack used to multiply by every published number and refused this publication. Its base is
    # the London total (60), which gives the 20 published anyway.
    pub = _funnel_dict(1 / 3, [15, 15, 15, 15], [MARKER] * 4, 60)
    assert audit_publication(pub).empty


def test_a_rounded_share_times_its_own_base_is_still_caught():
    # published as 0.115 (11.5%) of the 52 listed: 0.1145 x 52 = 5.95 and 0.1155 x 52 = 6.01
    # hold one whole number, 6 (the issue's London no-risk count)
    pub = _funnel_dict(0.115, [30, 22], [MARKER, MARKER], 52)
    found = audit_publication(pub)
    product = found[found["attack"] == "product"]
    assert product[["table", "row", "column"]].values.tolist() == [["boroughs", 0, "target"]]
    assert product["recovered_from"].iloc[0].endswith("= 6")
    # in full precision (6/52) it is caught exactly
    assert not attacks(audit_publication(_funnel_dict(6 / 52, [30, 22], [MARKER, MARKER], 52)),
                       "boroughs", "target").empty
