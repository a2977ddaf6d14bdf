"""Tests for fairness.counts.cube: the audit from count tables equals the audit from records.

The oracle is the record-level path: each public function of the toolkit
(``representation_ratio``, ``no_risk_share``, ``borough_funnel``,
``run_checks``, ``band_performance``, ...) called on the rows, the way
``fairness.results.audit`` called them before it counted once into the cube. On the
default synthetic matrix (scale 0.2, about 13,000 rows over 25 quarters),
with quarantined rows of every kind added, every table must be identical,
value for value.
"""

from __future__ import annotations

import csv
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api  # noqa: F401  (imported first: it installs warning filters of its own)

import fairness
from fairness import synth
from fairness.checks import ChecksConfig, run_checks, sharing_by_partner
from fairness.counts.cube import FLAG_BITS, count_codes, cube_from_frame
from fairness.counts.groups import with_groups
from fairness.io.benchmarks import get_benchmark
from fairness.results.sentences import ratio_sentences
from fairness.stats.bands import band_performance
from fairness.stats.boroughs import (
    band_consistency,
    borough_funnel,
    borough_heterogeneity,
    casemix_adjusted,
)
from fairness.stats.disproportionality import (
    benchmark_sensitivity,
    relative_rate_index,
    representation_ratio,
)
from fairness.stats.no_risk import NO_RISK_DEFINITIONS, no_risk_duration, no_risk_share
from fairness.stats.trends import quarterly_trends

pytestmark = pytest.mark.filterwarnings("ignore")


def _dirty(src: str, dst: str) -> None:
    """Copy a matrix CSV, breaking rows in every way validation quarantines."""
    with open(src, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    ix = {c: i for i, c in enumerate(header)}
    out = []
    for k, r in enumerate(body):
        r = list(r)
        if k % 401 == 5:
            r[ix["borough"]] = "Narnia"
        if k % 613 == 7:
            r[ix["snapshot_date"]] = "2018-13-45"
        if k % 577 == 9:
            r[ix["date_added"]] = "2030-01-01"
        if k % 701 == 11:
            r[ix["age"]] = "7"
        if k % 809 == 13:
            r[ix["harm_score"]] = "abc"
        if k % 997 == 17:
            r[ix["person_id"]] = "TEST" + r[ix["person_id"]]
        if k % 353 == 3:
            r[ix["borough"]] = r[ix["borough"]].lower() + " "
        out.append(r)
        if k % 457 == 19:  # the same person in another borough in the same snapshot
            d = list(r)
            d[ix["borough"]] = "Hackney" if r[ix["borough"]] != "Hackney" else "Brent"
            out.append(d)
    with open(dst, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(out)


@pytest.fixture(scope="module")
def validation(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cube")
    clean = folder / "matrix.csv"
    synth.write(synth.generate("gvm-history", scale=0.2), clean)
    dirty = folder / "dirty.csv"
    _dirty(str(clean), str(dirty))
    v = fairness.read_matrix(dirty)
    assert v.n_quarantined > 50
    return v


def record_level_audit(v, quarter, *, benchmarks=("residents_2021", "residents_2011"), reference="White",
                       alpha=0.05, method="katz", adjust="holm", no_risk="harm_zero", config=None):
    """The audit's tables computed from the records, function by function."""
    frame = with_groups(v.valid)
    current = frame[frame["quarter"].astype(str) == quarter].reset_index(drop=True)
    benches = [get_benchmark(b) for b in benchmarks]
    config = config or ChecksConfig()
    t = {}
    t["representation"] = representation_ratio(current, benches, alpha=alpha, method=method)
    t["relative_rate"] = relative_rate_index(current, benches, reference=reference, alpha=alpha, method=method,
                                             adjust=adjust)
    t["sensitivity"] = benchmark_sensitivity(t["relative_rate"], t["representation"])
    t["sentences"] = ratio_sentences(t["relative_rate"], alpha=alpha)
    ordered = [no_risk] + [d for d in NO_RISK_DEFINITIONS if d != no_risk]
    parts = [no_risk_share(current, definition=d, alpha=alpha) for d in ordered]
    parts += [no_risk_share(frame if by == "quarter" else current, definition=no_risk, by=by, alpha=alpha)
              for by in ("borough", "ethnicity", "age_band", "sex", "quarter")]
    t["no_risk"] = pd.concat(parts, ignore_index=True)
    t["no_risk_duration"] = no_risk_duration(current, definition=no_risk, alpha=alpha)
    # london-gvm covers every borough: one with nobody listed is a true 0 (issue 11)
    t["boroughs"], t["overdispersion"], t["funnel_limits"] = borough_funnel(current, covers="all")
    t["heterogeneity"] = borough_heterogeneity(current, covers="all")
    t["casemix"], t["casemix_test"] = casemix_adjusted(current, alpha=alpha, adjust=adjust)
    t["band_consistency"] = band_consistency(current, alpha=alpha)
    t["trends"] = quarterly_trends(frame, alpha=alpha)
    t["checks"] = pd.concat([
        run_checks(frame, quarantine=v.quarantined, by=("quarter",), config=config, alpha=alpha),
        run_checks(current, quarantine=v.quarantined, by=("quarter", "borough"), config=config, alpha=alpha),
    ], ignore_index=True)
    t["sharing_by_partner"] = (sharing_by_partner(current, alpha=alpha) if "shared_with" in current
                               else pd.DataFrame())
    bands = band_performance(frame, quarter=quarter, reference=reference, alpha=alpha)
    t["band_by_group"], t["band_versus_reference"] = bands.by_group, bands.versus_reference
    t["band_summary"], t["band_calibration"] = bands.summary, bands.calibration
    t["quarantine_reasons"] = v.quarantine_reasons()
    return t, bands


def _plain(table: pd.DataFrame) -> pd.DataFrame:
    """Text columns as object (pandas may pick its string dtype on one path and not the other)."""
    out = table.reset_index(drop=True).copy()
    for c in out.columns:
        if out[c].dtype == object or str(out[c].dtype) == "str":
            out[c] = out[c].astype(object)
    return out


def assert_same_audit(result, expected, bands):
    # Two code paths (counts vs records) fit the same GLMs with BLAS thread
    # counts that may differ: floats agree to a tolerance, integers exactly.
    for name, table in expected.items():
        got = getattr(result, name)
        pd.testing.assert_frame_equal(_plain(got), _plain(table), check_exact=False,
                                      rtol=1e-9, atol=1e-12, obj=name)
    assert (result.band_status, result.band_reason) == (bands.status, bands.reason)


# the latest quarter in `make test`; another quarter, and other options below, in `make test-slow`
@pytest.mark.parametrize("quarter", [None, pytest.param("2018Q2", marks=pytest.mark.slow)])
def test_audit_from_counts_equals_records(validation, quarter):
    result = fairness.audit(validation, quarter=quarter)
    expected, bands = record_level_audit(validation, result.quarter)
    assert_same_audit(result, expected, bands)
    assert result.n == expected["no_risk"]["n"].iloc[0]


@pytest.mark.slow  # a third pair of full audits (other options)
def test_audit_from_counts_equals_records_other_options(validation):
    config = ChecksConfig(child_age=16, review_days=60, zero_harm_snapshots=2, matrix_start="2016-01-01",
                          test_id_pattern=r"(?i)^gvm00000", test_value_patterns={"shared_with": r"DWP",
                                                                                 "borough": r"^Ham"})
    options = {"alpha": 0.1, "method": "mid-p", "adjust": "bh", "no_risk": "victim_only"}
    result = fairness.audit(validation, quarter="2019Q1", checks_config=config, **options)
    expected, bands = record_level_audit(validation, "2019Q1", config=config, **options)
    assert_same_audit(result, expected, bands)


def test_audit_without_optional_columns(validation):
    frame = validation.valid.drop(columns=["victim_flag", "shared_with", "date_added", "outcome_violence_12m"])
    v = fairness.validate_frame(frame.astype({"snapshot_date": "datetime64[ns]"}))
    result = fairness.audit(v)
    expected, bands = record_level_audit(v, result.quarter)
    assert result.sharing_by_partner.empty
    assert_same_audit(result, expected, bands)


# --------------------------------------------------------------------------
# count_codes
# --------------------------------------------------------------------------


@pytest.mark.parametrize("dense", [True, False])
def test_count_codes_counts_and_first_rows(dense, monkeypatch):
    import fairness.counts.cube as cube_module

    if not dense:
        monkeypatch.setattr(cube_module, "_DENSE_LIMIT", 0)
    rng = np.random.default_rng(3)
    a, b = rng.integers(-1, 4, 500), rng.integers(0, 3, 500)
    table = count_codes({"a": a, "b": b}, {"a": 4, "b": 3}, first=True)
    frame = pd.DataFrame({"a": a, "b": b, "row": np.arange(500)})
    expected = frame.groupby(["a", "b"])["row"].agg(["size", "min"])
    got = table.set_index(["a", "b"]).sort_index()
    assert got["count"].tolist() == expected["size"].tolist()
    assert got["first"].tolist() == expected["min"].tolist()
    assert table["count"].sum() == 500


def test_flags_of_the_people_table(validation):
    frame = validation.valid
    cube = cube_from_frame(frame, quarter="2019Q4")
    people = cube.people
    total = people["count"].sum()
    assert total == len(frame)
    harm_zero = people.loc[(people["flags"] & FLAG_BITS["harm_zero"]) != 0, "count"].sum()
    assert harm_zero == (frame["harm_score"] == 0).sum()
    under18 = people.loc[(people["flags"] & FLAG_BITS["under18"]) != 0, "count"].sum()
    assert under18 == (frame["age"] < 18).sum()


def test_persons_table_one_unit_per_person_per_quarter(validation):
    frame = validation.valid
    cube = cube_from_frame(frame, quarter="2019Q4")
    persons = cube.check_data.persons
    labels = fairness.quarters.quarter_label(frame["snapshot_date"])
    assert persons["count"].sum() == frame.assign(q=labels).drop_duplicates(["person_id", "q"]).shape[0]
    # a person's streak can only be as long as the quarters before it
    assert (persons["streak"] <= persons["quarter"].cat.codes + 1).all()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        only = cube.check_data.only("2019Q4")
    assert set(only.persons["streak"]) <= {0, 1} and not only.persons["relisted"].any()


def test_in_quarter_by_codes_as_by_values():
    """A categorical quarter column is filtered by its codes: the same rows as comparing its values
    (a missing quarter matches nothing; a category no row has, or a quarter not among them, gives
    no rows), worked by hand."""
    from fairness.counts.cube import in_quarter

    values = ["2018Q4", None, "2019Q1", "2018Q4", "unknown"]
    for column in (pd.Categorical(values, categories=["2018Q4", "2019Q1", "2020Q1", "unknown"]),
                   pd.Series(values, dtype=object)):
        table = pd.DataFrame({"quarter": column, "count": [1, 2, 3, 4, 5]})
        assert in_quarter(table, "2018Q4")["count"].tolist() == [1, 4]
        assert in_quarter(table, "unknown")["count"].tolist() == [5]
        assert in_quarter(table, "2020Q1")["count"].tolist() == []
        assert in_quarter(table, "2017Q1")["count"].tolist() == []
        assert in_quarter(table, "2019Q1").index.tolist() == [2]
