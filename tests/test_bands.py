"""Tests for fairness.stats.bands: band metrics on a small matrix whose confusion
matrices are worked out by hand below, checked again against sklearn."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import confusion_matrix
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from fairness.definitions import BOROUGHS, ETHNICITIES, RISK_BANDS, SEXES
from fairness.stats import bands
from fairness.stats.bands import (
    BY_GROUP_COLUMNS,
    CALIBRATION_COLUMNS,
    METRICS,
    STATUS_ASSESSED,
    STATUS_NOT_ASSESSABLE,
    SUMMARY_COLUMNS,
    VERSUS_REFERENCE_COLUMNS,
    BandPerformance,
    age_band,
    band_performance,
)

# --------------------------------------------------------------------------
# Fixture
# --------------------------------------------------------------------------


def as_validated(frame: pd.DataFrame) -> pd.DataFrame:
    """Give a frame the dtypes validation produces."""
    out = frame.copy()
    out["person_id"] = out["person_id"].astype(str).astype(object)
    out["snapshot_date"] = pd.to_datetime(out["snapshot_date"])
    for col, cats in (
        ("borough", BOROUGHS),
        ("ethnicity", ETHNICITIES),
        ("sex", SEXES),
        ("risk_band", RISK_BANDS),
    ):
        out[col] = pd.Categorical(out[col], categories=list(cats))
    out["age"] = out["age"].astype("int64")
    out["harm_score"] = out["harm_score"].astype("float64")
    if "outcome_violence_12m" in out.columns:
        out["outcome_violence_12m"] = out["outcome_violence_12m"].astype("boolean")
    return out


def row(ethnicity, band, outcome, age, sex="Male", date="2018-12-31"):
    return {
        "snapshot_date": date,
        "borough": "Brent",
        "ethnicity": ethnicity,
        "sex": sex,
        "age": age,
        "harm_score": 1.0,
        "risk_band": band,
        "outcome_violence_12m": outcome,
    }


def make_matrix() -> pd.DataFrame:
    """2018Q4, outcome known except two rows; 2019Q1, outcome not yet known.

    White (all 18-24, Male), one of each band x outcome:
        Red T, Red F, Amber T, Amber F, Green T, Green F
        "red":       tp 1 fp 1 fn 2 tn 2   n 6 positives 3 selected 2
        "red_amber": tp 2 fp 2 fn 1 tn 1              selected 4
    Black (Male): Red T x3 (aged 16), Red F x2, Amber F, Green T, Green F (aged 30)
        "red":       tp 3 fp 2 fn 1 tn 2   n 8 positives 4 selected 5
        "red_amber": tp 3 fp 3 fn 1 tn 1              selected 6
    Asian (aged 40, Female): Red F, Green F -- no outcomes
        "red":       tp 0 fp 1 fn 0 tn 1   n 2 positives 0 selected 1
    Black, outcome unknown: 2 rows (2018Q4); anyone in 2019Q1: 3 rows.
    Mixed, Other, Not stated: no records.
    """
    rows = [
        row("White", "Red", True, 20),
        row("White", "Red", False, 20),
        row("White", "Amber", True, 20),
        row("White", "Amber", False, 20),
        row("White", "Green", True, 20),
        row("White", "Green", False, 20),
        *[row("Black", "Red", True, 16) for _ in range(3)],
        row("Black", "Red", False, 30),
        row("Black", "Red", False, 30),
        row("Black", "Amber", False, 30),
        row("Black", "Green", True, 30),
        row("Black", "Green", False, 30),
        row("Asian", "Red", False, 40, sex="Female"),
        row("Asian", "Green", False, 40, sex="Female"),
        row("Black", "Red", pd.NA, 30),
        row("Black", "Green", pd.NA, 30),
        *[row("White", "Red", pd.NA, 20, date="2019-03-31") for _ in range(3)],
    ]
    frame = pd.DataFrame(rows)
    frame.insert(0, "person_id", [f"P{i:04d}" for i in range(len(frame))])
    return as_validated(frame)


@pytest.fixture(scope="module")
def result() -> BandPerformance:
    return band_performance(make_matrix())


def group_row(table: pd.DataFrame, threshold: str, by: str, group: str) -> pd.Series:
    hit = table[(table["threshold"] == threshold) & (table["by"] == by) & (table["group"] == group)]
    assert len(hit) == 1
    return hit.iloc[0]


# --------------------------------------------------------------------------
# Shape and status
# --------------------------------------------------------------------------


def test_result_shape(result):
    assert result.status == STATUS_ASSESSED
    assert tuple(result.by_group.columns) == BY_GROUP_COLUMNS
    assert tuple(result.versus_reference.columns) == VERSUS_REFERENCE_COLUMNS
    assert tuple(result.summary.columns) == SUMMARY_COLUMNS
    assert tuple(result.calibration.columns) == CALIBRATION_COLUMNS
    assert result.quarters == ("2018Q4",)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.status = "x"  # type: ignore[misc]
    # every group of every breakdown, for both thresholds, empty ones included:
    # ethnicity 6 + age band 4 + sex 3 + ethnicity x age band 24 = 37
    assert len(result.by_group) == 2 * 37
    assert set(result.by_group["by"]) == {"ethnicity", "age_band", "sex", "ethnicity / age_band"}


def test_outcome_unknown_rows_are_excluded_and_counted(result):
    # 2 in 2018Q4, 3 in 2019Q1 (whose outcome is entirely unknown)
    assert result.n_outcome_unknown == 5
    assert "2019Q1" in result.reason and "3 records excluded" in result.reason
    black = group_row(result.by_group, "red", "ethnicity", "Black")
    assert black["n"] == 8  # not 10
    only_q4 = band_performance(make_matrix(), quarter="2018Q4", by="sex", thresholds="red")
    assert only_q4.n_outcome_unknown == 2
    assert only_q4.reason == ""


def test_not_assessable_without_outcome_column():
    m = make_matrix().drop(columns=["outcome_violence_12m"])
    out = band_performance(m)
    assert out.status == STATUS_NOT_ASSESSABLE
    assert out.reason == "column outcome_violence_12m absent"
    assert out.n_outcome_unknown == len(m)
    assert out.by_group.empty and tuple(out.by_group.columns) == BY_GROUP_COLUMNS
    assert out.versus_reference.empty and out.summary.empty and out.calibration.empty


def test_not_assessable_when_the_quarter_has_no_known_outcome():
    out = band_performance(make_matrix(), quarter="2019Q1")
    assert out.status == STATUS_NOT_ASSESSABLE
    assert out.reason == "outcome not yet known for any record in 2019Q1"
    assert out.n_outcome_unknown == 3
    assert out.by_group.empty
    absent = band_performance(make_matrix(), quarter="2017Q1")
    assert absent.status == STATUS_NOT_ASSESSABLE
    assert absent.reason == "no records in quarter(s) 2017Q1"


def test_input_not_mutated():
    m = make_matrix()
    before = m.copy()
    band_performance(m, by=[("ethnicity", "age_band")], thresholds="red")
    pd.testing.assert_frame_equal(m, before)
    assert "age_band" not in m.columns


# --------------------------------------------------------------------------
# Metrics against the hand-computed confusion matrices and sklearn
# --------------------------------------------------------------------------

HAND = {
    # (threshold, group): (tp, fp, fn, tn)
    ("red", "White"): (1, 1, 2, 2),
    ("red_amber", "White"): (2, 2, 1, 1),
    ("red", "Black"): (3, 2, 1, 2),
    ("red_amber", "Black"): (3, 3, 1, 1),
    ("red", "Asian"): (0, 1, 0, 1),
    ("red_amber", "Asian"): (0, 1, 0, 1),
}


@pytest.mark.parametrize(("threshold", "group"), list(HAND))
def test_confusion_counts_and_rates_by_hand(result, threshold, group):
    tp, fp, fn, tn = HAND[(threshold, group)]
    r = group_row(result.by_group, threshold, "ethnicity", group)
    assert (r["tp"], r["fp"], r["fn"], r["tn"]) == (tp, fp, fn, tn)
    n = tp + fp + fn + tn
    assert (r["n"], r["positives"], r["selected"]) == (n, tp + fn, tp + fp)
    assert r["selection_rate"] == pytest.approx((tp + fp) / n)
    assert r["base_rate"] == pytest.approx((tp + fn) / n)
    assert r["fpr"] == pytest.approx(fp / (fp + tn))
    if tp + fn:
        assert r["fnr"] == pytest.approx(fn / (tp + fn))
    if tp + fp:
        assert r["precision"] == pytest.approx(tp / (tp + fp))


def test_rates_match_sklearn(result):
    m = make_matrix()
    m = m[m["outcome_violence_12m"].notna()]
    for threshold, selected_bands in bands.THRESHOLDS.items():
        for group in ("White", "Black", "Asian"):
            sub = m[m["ethnicity"] == group]
            y = sub["outcome_violence_12m"].astype(bool).to_numpy(dtype=int)
            p = sub["risk_band"].isin(selected_bands).to_numpy(dtype=int)
            tn, fp, fn, tp = confusion_matrix(y, p, labels=[0, 1]).ravel()
            r = group_row(result.by_group, threshold, "ethnicity", group)
            assert (r["tn"], r["fp"], r["fn"], r["tp"]) == (tn, fp, fn, tp)


def test_groups_with_no_outcomes_or_no_records_are_kept_and_marked(result):
    asian = group_row(result.by_group, "red", "ethnicity", "Asian")
    assert np.isnan(asian["fnr"]) and np.isnan(asian["fnr_low"])
    assert "not estimable: no outcomes" in asian["note"]
    assert asian["precision"] == 0.0  # 0 of 1 selected: estimable, and 0
    mixed = group_row(result.by_group, "red", "ethnicity", "Mixed")
    assert mixed["n"] == 0
    assert mixed["note"] == bands.NOTE_EMPTY
    assert all(np.isnan(mixed[m]) for m in METRICS)
    # three Black 10-17s, all Red with an outcome: no non-outcomes -> no FPR
    young = group_row(result.by_group, "red", "ethnicity / age_band", "Black / 10-17")
    assert (young["n"], young["tp"]) == (3, 3)
    assert np.isnan(young["fpr"]) and young["note"] == "fpr not estimable: no non-outcomes"


def test_intersections_add_up(result):
    t = result.by_group
    for threshold in ("red", "red_amber"):
        for col in ("n", "tp", "fp", "tn", "fn"):
            totals = t[t["threshold"] == threshold].groupby("by")[col].sum()
            assert totals.nunique() == 1  # every breakdown covers the same 16 records
    assert t.loc[t["by"] == "ethnicity", "n"].sum() == 2 * 16


def test_intervals_contain_estimates_and_are_wilson(result):
    t = result.by_group
    for m in METRICS:
        ok = t[m].notna()
        assert (t.loc[ok, f"{m}_low"] <= t.loc[ok, m] + 1e-12).all()
        assert (t.loc[ok, f"{m}_high"] >= t.loc[ok, m] - 1e-12).all()
        assert t.loc[~ok, f"{m}_low"].isna().all()
    r = group_row(t, "red", "ethnicity", "Black")
    low, high = proportion_confint(2, 4, method="wilson")  # fpr = 2/4
    assert (r["fpr_low"], r["fpr_high"]) == pytest.approx((low, high))
    # Wilson (1927) for 2/4 at 95%: (0.1500, 0.8500)
    assert r["fpr_low"] == pytest.approx(0.1500, abs=1e-4)


# --------------------------------------------------------------------------
# Versus the reference group
# --------------------------------------------------------------------------


def test_versus_reference_default_white(result):
    v = result.versus_reference
    eth = v[(v["by"] == "ethnicity") & (v["threshold"] == "red")]
    assert set(eth["reference"]) == {"White"}
    assert "White" not in set(eth["group"])
    black = eth[(eth["group"] == "Black") & (eth["metric"] == "selection_rate")].iloc[0]
    # 5/8 vs 2/6
    assert black["value"] == pytest.approx(5 / 8)
    assert black["reference_value"] == pytest.approx(2 / 6)
    assert black["difference"] == pytest.approx(5 / 8 - 2 / 6)
    assert black["ratio"] == pytest.approx((5 / 8) / (2 / 6))
    d_low, d_high = confint_proportions_2indep(5, 8, 2, 6, method="newcomb", compare="diff")
    assert (black["diff_low"], black["diff_high"]) == pytest.approx((d_low, d_high))
    r_low, r_high = confint_proportions_2indep(5, 8, 2, 6, method="log", compare="ratio")
    assert (black["ratio_low"], black["ratio_high"]) == pytest.approx((r_low, r_high))
    assert black["diff_low"] <= black["difference"] <= black["diff_high"]
    assert black["ratio_low"] <= black["ratio"] <= black["ratio_high"]


def test_versus_reference_marks_what_is_not_estimable(result):
    v = result.versus_reference
    eth = v[(v["by"] == "ethnicity") & (v["threshold"] == "red")].set_index(["group", "metric"])
    assert eth.loc[("Mixed", "fpr"), "note"] == "group rate not estimable"
    assert np.isnan(eth.loc[("Mixed", "fpr"), "difference"])
    # Asian precision 0/1 vs White 1/2: ratio 0, interval not estimable
    asian = eth.loc[("Asian", "precision")]
    assert asian["ratio"] == 0 and np.isnan(asian["ratio_low"])
    assert asian["note"] == "ratio interval not estimable: group count is 0"


def test_default_reference_is_the_largest_group_otherwise(result):
    v = result.versus_reference
    refs = v.groupby("by")["reference"].unique().map(list).to_dict()
    assert refs["age_band"] == ["18-24"]  # 6 records
    assert refs["sex"] == ["Male"]  # 14 records
    assert refs["ethnicity / age_band"] == ["White / 18-24"]


def test_reference_keyword():
    m = make_matrix()
    out = band_performance(m, by=[("ethnicity",), ("sex",)], thresholds="red", reference="Black")
    refs = out.versus_reference.groupby("by")["reference"].unique().map(list).to_dict()
    assert refs == {"ethnicity": ["Black"], "sex": ["Male"]}
    out = band_performance(
        m,
        by=[("ethnicity", "age_band")],
        thresholds="red",
        reference={("ethnicity", "age_band"): "Black / 25-34"},
    )
    assert set(out.versus_reference["reference"]) == {"Black / 25-34"}
    with pytest.raises(ValueError, match="is not a group of any breakdown"):
        band_performance(m, reference="Martian")
    with pytest.raises(ValueError, match="is not a group of breakdown 'ethnicity'"):
        band_performance(m, reference={"ethnicity": "Martian"})
    with pytest.raises(ValueError, match="not in by"):
        band_performance(m, by=["sex"], reference={"ethnicity": "White"})


# --------------------------------------------------------------------------
# Summaries and calibration
# --------------------------------------------------------------------------


def test_summary_fairlearn_figures_by_hand(result):
    s = result.summary.set_index(["threshold", "by"]).loc[("red", "ethnicity")]
    # equalised odds over White (TPR 1/3, FPR 1/3) and Black (TPR 3/4, FPR 2/4);
    # Asian has no outcomes and is left out
    assert s["equalized_odds_difference"] == pytest.approx(3 / 4 - 1 / 3)
    assert s["equalized_odds_ratio"] == pytest.approx(min((1 / 3) / (3 / 4), (1 / 3) / (2 / 4)))
    assert s["groups_excluded"] == "Asian"
    # demographic parity over all three: selection 1/3, 5/8, 1/2
    assert s["demographic_parity_difference"] == pytest.approx(5 / 8 - 1 / 3)
    assert s["demographic_parity_ratio"] == pytest.approx((1 / 3) / (5 / 8))
    assert s["n_groups"] == 3
    assert len(result.summary) == 2 * 4


def test_calibration(result):
    c = result.calibration
    eth = c[c["by"] == "ethnicity"].set_index(["group", "risk_band"])
    assert tuple(eth.loc[("Black", "Red"), ["n", "outcomes"]]) == (5, 3)
    assert tuple(eth.loc[("Black", "Green"), ["n", "outcomes"]]) == (2, 1)
    assert tuple(eth.loc[("White", "Amber"), ["n", "outcomes"]]) == (2, 1)
    assert eth.loc[("Black", "Red"), "rate"] == pytest.approx(3 / 5)
    low, high = proportion_confint(3, 5, method="wilson")
    assert (
        eth.loc[("Black", "Red"), "ci_low"],
        eth.loc[("Black", "Red"), "ci_high"],
    ) == pytest.approx((low, high))
    assert eth.loc[("Other", "Red"), "note"] == bands.NOTE_EMPTY
    assert len(eth) == 6 * 3
    assert c.groupby("by")["n"].sum().eq(16).all()


# --------------------------------------------------------------------------
# Arguments, helpers
# --------------------------------------------------------------------------


def test_arguments_are_checked():
    m = make_matrix()
    with pytest.raises(ValueError) as info:
        band_performance(m, thresholds=["amber"])
    assert str(info.value) == bands.ERR_THRESHOLD.format(got="amber", valid="red, red_amber")
    with pytest.raises(ValueError, match="needs column 'postcode'"):
        band_performance(m, by=["postcode"])
    with pytest.raises(ValueError, match="alpha"):
        band_performance(m, alpha=1.5)
    with pytest.raises(ValueError, match="at least one breakdown"):
        band_performance(m, by=[])


def test_single_threshold_and_breakdown():
    out = band_performance(make_matrix(), by="sex", thresholds="red", alpha=0.1)
    assert set(out.by_group["threshold"]) == {"red"}
    assert out.by_group["group"].tolist() == list(SEXES)


def test_age_band():
    got = age_band(pd.Series([9, 10, 17, 18, 24, 25, 34, 35, 99, 100]))
    assert isinstance(got, pd.Categorical)
    assert list(got.categories) == ["10-17", "18-24", "25-34", "35+"]
    assert got.ordered
    assert [None if pd.isna(x) else x for x in got] == [
        None,
        "10-17",
        "10-17",
        "18-24",
        "18-24",
        "25-34",
        "25-34",
        "35+",
        "35+",
        None,
    ]


# --------------------------------------------------------------------------
# Counts against records: the count-table path equals fairlearn on the rows
# --------------------------------------------------------------------------


def random_matrix(seed: int, n: int = 400) -> pd.DataFrame:
    """Records with random groups, bands and outcomes; small groups, so rates of 0 and 1 occur."""
    rng = np.random.default_rng(seed)
    ethnicity = rng.choice(["White", "Black", "Asian", "Mixed"], size=n, p=[0.4, 0.4, 0.15, 0.05])
    frame = pd.DataFrame(
        {
            "person_id": [f"P{i}" for i in range(n)],
            "snapshot_date": "2018-12-31",
            "borough": "Brent",
            "ethnicity": ethnicity,
            "sex": rng.choice(["Male", "Female"], size=n, p=[0.85, 0.15]),
            "age": rng.integers(10, 60, size=n),
            "harm_score": 1.0,
            "risk_band": rng.choice(["Red", "Amber", "Green"], size=n, p=[0.2, 0.3, 0.5]),
            "outcome_violence_12m": rng.random(n) < rng.choice([0.0, 0.2, 0.6]),
        }
    )
    return as_validated(frame)


# one seed in `make test` (about 3 s each: fairlearn on every breakdown), all twelve in `make test-slow`
@pytest.mark.parametrize("seed", [0, *(pytest.param(s, marks=pytest.mark.slow) for s in range(1, 12))])
def test_summary_equals_fairlearn_on_records(seed):
    """The equalised-odds and demographic-parity figures computed from the
    per-group counts are fairlearn's functions applied to the records."""
    from fairlearn.metrics import (
        demographic_parity_difference,
        demographic_parity_ratio,
        equalized_odds_difference,
        equalized_odds_ratio,
    )

    m = random_matrix(seed)
    result = band_performance(m)
    m = m.assign(age_band=age_band(m["age"]))
    y_true = m["outcome_violence_12m"].astype(bool).to_numpy(dtype=int)
    for s in result.summary.itertuples(index=False):
        cols = s.by.split(" / ")
        y_pred = m["risk_band"].isin(bands.THRESHOLDS[s.threshold]).to_numpy(dtype=int)
        features = pd.DataFrame({c: m[c].astype(object).map(str) for c in cols})
        sensitive = features.iloc[:, 0] if len(cols) == 1 else features
        labels = features.agg(" / ".join, axis=1)
        if s.n_groups >= 2:
            kw = {"sensitive_features": sensitive}
            assert s.demographic_parity_difference == demographic_parity_difference(y_true, y_pred, **kw)
            assert s.demographic_parity_ratio == demographic_parity_ratio(y_true, y_pred, **kw) or (
                np.isnan(s.demographic_parity_ratio)
            )
        excluded = set(filter(None, s.groups_excluded.split("; ")))
        keep = ~labels.isin(excluded).to_numpy()
        if labels[keep].nunique() >= 2:
            kw = {"sensitive_features": sensitive[keep]}
            expected = equalized_odds_difference(y_true[keep], y_pred[keep], **kw)
            assert s.equalized_odds_difference == expected
            expected = equalized_odds_ratio(y_true[keep], y_pred[keep], **kw)
            assert s.equalized_odds_ratio == expected or (np.isnan(expected) and np.isnan(s.equalized_odds_ratio))
        else:
            assert np.isnan(s.equalized_odds_difference)


@pytest.mark.parametrize("seed", range(8))
def test_by_group_rates_equal_fairlearn_metricframe_on_records(seed):
    """MetricFrame on the weighted count table gives the row-level MetricFrame's numbers exactly."""
    from fairlearn.metrics import (
        MetricFrame,
        false_negative_rate,
        false_positive_rate,
        selection_rate,
    )
    from sklearn.metrics import precision_score

    m = random_matrix(seed)
    result = band_performance(m, by=["ethnicity"], thresholds=["red_amber"])
    y_true = m["outcome_violence_12m"].astype(bool).to_numpy(dtype=int)
    y_pred = m["risk_band"].isin(("Red", "Amber")).to_numpy(dtype=int)
    metrics = {
        "selection_rate": selection_rate,
        "fpr": false_positive_rate,
        "fnr": false_negative_rate,
        "precision": lambda t, p: precision_score(t, p, pos_label=1, zero_division=np.nan),
        "base_rate": lambda t, p: float(np.mean(t)),
    }
    rows = MetricFrame(
        metrics=metrics, y_true=y_true, y_pred=y_pred,
        sensitive_features=m["ethnicity"].astype(object).map(str),
    ).by_group
    got = result.by_group.set_index("group")
    got["negatives"] = got["fp"] + got["tn"]
    for metric in METRICS:
        for group, value in rows[metric].items():
            den = got.loc[group, bands.RATE_PARTS[metric][1]]
            if den > 0:
                assert got.loc[group, metric] == value, (metric, group)


# --------------------------------------------------------------------------
# Issue 11: bands read by label, options in any case
# --------------------------------------------------------------------------


@pytest.mark.parametrize("make_bands", [
    lambda b: pd.Categorical(b),  # alphabetical: Amber, Green, Red
    lambda b: np.asarray(b, dtype=object),  # plain strings
    lambda b: pd.Series(b).str.lower().to_numpy(dtype=object),  # another case
])
def test_bands_read_by_label_whatever_the_dtype(result, make_bands):
    m = make_matrix()
    m["risk_band"] = make_bands(m["risk_band"].astype(str).tolist())
    other = band_performance(m)
    pd.testing.assert_frame_equal(other.by_group, result.by_group)
    pd.testing.assert_frame_equal(other.calibration, result.calibration)
    # by hand (make_matrix's docstring): Black, red_amber: tp 3 fp 3 fn 1 tn 1
    b = group_row(other.by_group, "red_amber", "ethnicity", "Black")
    assert (b["tp"], b["fp"], b["fn"], b["tn"]) == (3, 3, 1, 1)


def test_unknown_band_label_raises():
    m = make_matrix()
    m["risk_band"] = m["risk_band"].astype(str).replace({"Green": "Blue"})
    with pytest.raises(ValueError, match="'Blue', which is not a band; valid: Red, Amber, Green"):
        band_performance(m)


def test_threshold_and_reference_in_any_case(result):
    other = band_performance(make_matrix(), thresholds=("RED", "Red_Amber"), reference={"ethnicity": "white"})
    pd.testing.assert_frame_equal(other.by_group, result.by_group)
    assert (other.versus_reference.query("by == 'ethnicity'")["reference"] == "White").all()
