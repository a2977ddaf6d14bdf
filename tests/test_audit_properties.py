"""Property tests for the audit (issue 7): any valid matrix gives numbers or reasons, never NaN.

"The audit of any valid matrix (including one group, one borough, one row, all
zero harm scores, a group absent from the benchmark) returns finite numbers or
an explicit 'not estimable' with the reason, never NaN or infinity in a
report."

For generated matrices (1 to 60 rows, 1 to 4 quarters, random subsets of
boroughs, ethnic groups, sexes and bands, ages 10 to 99, harm scores with many
or only zeros, optional columns present or absent, outcomes known, unknown or
mixed), in internal and publication mode:

* ``audit`` raises nothing (the only documented error, "no valid rows",
  cannot happen for a valid matrix; it has its own test);
* ``to_json()`` succeeds (it refuses NaN and infinity) and every null in a
  value column of the main tables comes with its reason in the same record:
  a note, a flag ``not_estimable`` or ``reference``, a suppressed cell
  ``[c]``, or ``n == 0``;
* ``headline()``, ``summary()`` and ``_repr_html_()`` contain no "nan",
  "inf" or "None";
* in publication mode no table shows a count from 1 to 9.

Then the edge cases named in the issue, one by one, by hand.

An audit costs about 0.5 s, so each property runs 20 examples (about 30 s
for the module) and failing examples are not shrunk (add Phase.shrink
locally to minimise one).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import fairness
from fairness.definitions import (
    BOROUGHS,
    ETHNICITIES,
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    RISK_BANDS,
    SEXES,
)
from fairness.publish.disclosure import MARKER
from fairness.publish.intruder import PublicationAuditError
from fairness.publish.publication import find_small_counts_in_tables
from fairness.results.audit import ERR_NO_VALID_ROWS
from tests.conftest import examples, good_row

SETTINGS = dict(
    max_examples=examples(20),
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.function_scoped_fixture],
)
QUARTER_ENDS = ("2017-12-31", "2018-03-31", "2018-06-30", "2018-09-30")
#: Value columns of the main tables whose nulls must be explained.
VALUE_COLUMNS = {
    "representation": ("ratio", "ci_low", "ci_high"),
    "relative_rate": ("rri", "ci_low", "ci_high"),
    "no_risk": ("share", "ci_low", "ci_high"),
    "boroughs": ("value", "z"),
    "trends": ("value",),
}
#: "None of the 10 checks raised a concern" is English; "None" on its own is a leaked Python value.
BAD_TEXT = re.compile(r"(?i:\bnan\b|\binf\b|\binfinity\b)|\bNone\b(?! of)")


# ------------------------------------------------------------ strategies


@st.composite
def matrices(draw) -> pd.DataFrame:
    """A small valid matrix as text, as read from a CSV file."""
    n_quarters = draw(st.integers(1, 4))
    first = draw(st.integers(0, 4 - n_quarters))
    quarters = QUARTER_ENDS[first:first + n_quarters]
    boroughs = draw(st.lists(st.sampled_from(BOROUGHS), min_size=1, max_size=5, unique=True))
    groups = draw(st.lists(st.sampled_from(ETHNICITIES), min_size=1, max_size=6, unique=True))
    sexes = draw(st.lists(st.sampled_from(SEXES), min_size=1, max_size=3, unique=True))
    bands = draw(st.lists(st.sampled_from(RISK_BANDS), min_size=1, max_size=3, unique=True))
    harm = {"all zero": ["0"], "mostly zero": ["0", "0", "0", "0", "3", "12.5"],
            "mixed": ["0", "1", "5", "20", "100", "250.5"]}[draw(st.sampled_from(["all zero", "mostly zero", "mixed"]))]
    outcomes = {"known": ["true", "false"], "unknown": [""], "mixed": ["true", "false", ""]}[
        draw(st.sampled_from(["known", "unknown", "mixed"]))]
    optional = draw(st.lists(st.sampled_from(OPTIONAL_COLUMNS), unique=True))
    columns = REQUIRED_COLUMNS + tuple(c for c in OPTIONAL_COLUMNS if c in optional)
    rows, seen = [], {}
    for _ in range(draw(st.integers(1, 60))):
        quarter = draw(st.sampled_from(quarters))
        k = seen[quarter] = seen.get(quarter, 0) + 1  # ids recur across quarters: people persist
        snapshot = dt.date.fromisoformat(quarter)
        added = snapshot - dt.timedelta(days=draw(st.integers(0, 1500)))
        reviewed = added + (snapshot - added) * draw(st.integers(0, 4)) // 4
        row = {
            "person_id": f"P{k}",
            "snapshot_date": quarter,
            "borough": draw(st.sampled_from(boroughs)),
            "ethnicity": draw(st.sampled_from(groups)),
            "sex": draw(st.sampled_from(sexes)),
            "age": str(draw(st.integers(10, 99))),
            "harm_score": draw(st.sampled_from(harm)),
            "risk_band": draw(st.sampled_from(bands)),
            "victim_flag": draw(st.sampled_from(["true", "false", ""])),
            "violent_offences_2y": draw(st.sampled_from(["0", "0", "1", "3", ""])),
            "date_added": added.isoformat(),
            "last_reviewed": reviewed.isoformat(),
            "shared_with": draw(st.sampled_from(["", "", "housing", "education;DWP"])),
            "outcome_violence_12m": draw(st.sampled_from(outcomes)),
        }
        rows.append({c: row[c] for c in columns})
    return pd.DataFrame(rows, dtype=object)


# --------------------------------------------------------------- checks


def _explained(record: dict) -> bool:
    if str(record.get("note") or "").strip():
        return True
    if record.get("flag") in ("not_estimable", "reference"):
        return True
    if any(v == MARKER for v in record.values()):
        return True
    return record.get("n") == 0


def unexplained_nulls(res) -> list[tuple]:
    data = json.loads(res.to_json())  # allow_nan=False: raises on NaN or infinity
    out = []
    for table, columns in VALUE_COLUMNS.items():
        for i, record in enumerate(data[table]):
            out += [(res.mode, table, i, c) for c in columns if c in record and record[c] is None
                    and not _explained(record)]
    return out


def bad_text(res) -> list[tuple]:
    texts = {"headline": "\n".join(res.headline()), "summary": res.summary(),
             "html": re.sub(r"<[^>]+>", " ", res._repr_html_())}
    return [(res.mode, where, text[max(0, m.start() - 60):m.end() + 20])
            for where, text in texts.items() for m in BAD_TEXT.finditer(text)]


def non_finite_numbers(res) -> list[tuple]:
    """inf in any table (NaN is allowed in tables: it becomes null with a reason)."""
    out = []
    for name, t in res.tables().items():
        for c in t.columns:
            values = pd.to_numeric(t[c], errors="coerce").to_numpy(dtype="float64")
            if np.isinf(values).any():
                out.append((res.mode, name, c))
    return out


def assert_numbers_or_reasons(res) -> None:
    try:
        published = res.for_publication()
    except PublicationAuditError as e:
        # A refusal is a reason, when it names a cell and what gives it back
        # (e.g. a list of one person whose ethnicity is not stated: the number
        # listed minus the stated total gives the hidden count).
        assert "recovered" in str(e) and " from " in str(e), str(e)
        published = None
    for r in (res, published):
        if r is None:
            continue
        assert non_finite_numbers(r) == []
        assert unexplained_nulls(r) == []
        assert bad_text(r) == []
    if published is not None:
        assert find_small_counts_in_tables(published.tables()).empty


def audit_rows(rows: list[dict], **kwargs):
    validated = fairness.validate_frame(pd.DataFrame(rows))
    assert validated.n_quarantined == 0
    return fairness.audit(validated, **kwargs)


# ------------------------------------------------------------- property


@settings(**SETTINGS)
@given(matrices())
def test_any_valid_matrix_gives_numbers_or_reasons(frame):
    validated = fairness.validate_frame(frame)
    assert validated.n_quarantined == 0, validated.quarantined.head()
    res = fairness.audit(validated)
    assert res.n == int((validated.valid["snapshot_date"] == validated.valid["snapshot_date"].max()).sum())
    assert_numbers_or_reasons(res)


# ----------------------------------------------------------- edge cases


def test_no_valid_rows_is_the_documented_error():
    validated = fairness.validate_frame(pd.DataFrame([good_row("P1", borough="Gotham"), good_row("P2", age="7")]))
    assert validated.n_quarantined == 2
    with pytest.raises(ValueError) as err:
        fairness.audit(validated)
    assert str(err.value) == ERR_NO_VALID_ROWS


def test_one_row():
    res = audit_rows([good_row("P1")])
    assert res.n == 1
    assert_numbers_or_reasons(res)
    assert "1 person was on the list" in res.headline()[0]
    od = res.overdispersion.set_index("metric")
    assert od.loc["no_risk_share", "method"].startswith("not estimable")
    assert "φ, τ² not estimable" in res.summary()


def test_one_borough():
    res = audit_rows([good_row(f"P{i}", ethnicity=["Black", "White", "Asian"][i % 3], harm_score=str(i % 2 * 5))
                      for i in range(30)])
    assert_numbers_or_reasons(res)
    b = res.boroughs[res.boroughs["metric"] == "no_risk_share"]
    assert (b.loc[b["n"] > 0, "borough"] == "Hackney").all()
    # one borough is no funnel: no sentence claims "0 of 1 boroughs"
    assert not [s for s in res.headline() if "boroughs differ" in s or "No borough" in s]


def test_one_ethnic_group_only_relative_rates_say_why():
    res = audit_rows([good_row(f"P{i}", borough=["Hackney", "Lambeth"][i % 2]) for i in range(16)])
    assert_numbers_or_reasons(res)
    rel = res.relative_rate
    others = rel[rel["group"] != rel["reference"]]
    assert others["rri"].isna().all()
    assert (others["flag"] == "not_estimable").all()
    assert others.loc[others["group"] != "Not stated", "note"].str.contains("reference group").all()
    sentences = res.sentences["sentence"]
    assert len(sentences) and sentences.str.contains("could not be estimated").all()


def test_all_harm_scores_zero():
    res = audit_rows([good_row(f"P{i}", ethnicity=ETHNICITIES[i % 5], borough=["Hackney", "Lambeth", "Croydon"][i % 3],
                               harm_score="0", risk_band=RISK_BANDS[i % 3]) for i in range(40)])
    assert_numbers_or_reasons(res)
    row = res.no_risk[(res.no_risk["definition"] == "harm_zero") & (res.no_risk["by"] == "all")].iloc[0]
    assert row["count"] == row["n"] == 40 and row["share"] == 1.0
    assert 0 < row["ci_low"] < 1 and row["ci_high"] == pytest.approx(1.0)


def test_all_green():
    res = audit_rows([good_row(f"P{i}", ethnicity=ETHNICITIES[i % 5], borough=["Hackney", "Lambeth", "Croydon"][i % 3],
                               harm_score=str(i % 4), risk_band="Green", outcome_violence_12m=["true", "false"][i % 2])
                      for i in range(40)])
    assert_numbers_or_reasons(res)
    green = res.no_risk[(res.no_risk["definition"] == "green_band") & (res.no_risk["by"] == "all")].iloc[0]
    assert green["share"] == 1.0


def test_group_absent_from_a_user_benchmark(tmp_path):
    path = tmp_path / "cohort.csv"
    path.write_text("group,share\nBlack,27\nWhite,40\nAsian,20\n", encoding="utf-8")
    rows = [good_row(f"P{i}", ethnicity=ETHNICITIES[i % 6], borough=["Hackney", "Lambeth"][i % 2]) for i in range(40)]
    res = audit_rows(rows, benchmarks=(str(path), "residents_2021"))
    assert_numbers_or_reasons(res)
    rep = res.representation[res.representation["benchmark"] == "cohort"].set_index("group")
    for group in ("Mixed", "Other"):
        assert math.isnan(rep.loc[group, "ratio"])
        assert rep.loc[group, "flag"] == "not_estimable"
        assert "absent from the benchmark" in rep.loc[group, "note"]
    rel = res.relative_rate[res.relative_rate["benchmark"] == "cohort"].set_index("group")
    assert "absent from the benchmark" in rel.loc["Mixed", "note"]


@pytest.mark.parametrize("outcome", ["empty", "absent"])
def test_outcomes_unknown_band_performance_not_assessable_with_reason(outcome):
    rows = [good_row(f"P{i}", ethnicity=ETHNICITIES[i % 3], outcome_violence_12m="") for i in range(30)]
    if outcome == "absent":
        rows = [{k: v for k, v in r.items() if k != "outcome_violence_12m"} for r in rows]
    res = audit_rows(rows)
    assert_numbers_or_reasons(res)
    assert res.band_status == "not assessable"
    assert res.band_reason
    assert res.band_reason in res.summary()
    data = json.loads(res.to_json())
    assert data["band_performance_status"] == "not assessable" and data["band_performance_reason"] == res.band_reason


@pytest.mark.parametrize("people", [1, 16])
def test_representation_interval_of_a_group_holding_everyone_listed(people):
    res = audit_rows([good_row(f"P{i}", borough=["Hackney", "Lambeth"][i % 2]) for i in range(people)])
    row = res.representation[(res.representation["benchmark"] == "residents_2021")
                             & (res.representation["group"] == "Black")].iloc[0]
    assert row["count"] == row["n"] == people
    # the share of the list is itself uncertain (Wilson 95% for 16 of 16: 0.81 to 1), so the ratio's
    # interval must reach well below the point estimate
    assert row["ci_low"] < 0.9 * row["ratio"]
