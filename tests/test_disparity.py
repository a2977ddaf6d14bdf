"""The disparity table: counts by hand, and the same rates as fairlearn and band_performance."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame, false_negative_rate, false_positive_rate, selection_rate

from fairness.stats.disparity import DISPARITY_COLUMNS, disparity_table


def _frame() -> pd.DataFrame:
    # White: 4 people: Red/yes, Amber/no, Green/yes, Green/no
    # Black: 4 people: Red/yes, Red/no, Amber/no, Green/unknown (left out)
    return pd.DataFrame({
        "snapshot_date": pd.to_datetime(["2018-12-31"] * 8),
        "ethnicity": pd.Categorical(["White"] * 4 + ["Black"] * 4, categories=["White", "Black", "Asian"]),
        "risk_band": pd.Categorical(["Red", "Amber", "Green", "Green", "Red", "Red", "Amber", "Green"],
                                    categories=["Red", "Amber", "Green"]),
        "outcome_violence_12m": pd.array([True, False, True, False, True, False, False, None], dtype="boolean"),
    })


def test_counts_and_rates_by_hand():
    t = disparity_table(_frame(), threshold="red_amber").set_index("group")
    assert list(disparity_table(_frame()).columns) == list(DISPARITY_COLUMNS)
    w, b = t.loc["White"], t.loc["Black"]
    # White, Red-or-Amber flagged: Red/yes (tp), Amber/no (fp); Green/yes (fn), Green/no (tn)
    assert (w.tp, w.fp, w.fn, w.tn, w.n) == (1, 1, 1, 1, 4)
    assert w.selection_rate == 0.5 and w.fpr == 0.5 and w.fnr == 0.5
    # Black (3 with known outcome): Red/yes tp, Red/no fp, Amber/no fp
    assert (b.tp, b.fp, b.fn, b.tn, b.n) == (1, 2, 0, 0, 3)
    assert b.selection_rate == 1.0 and b.fpr == 1.0 and b.fnr == 0.0
    assert b.selection_rate_ratio == pytest.approx(2.0) and b.fpr_ratio == pytest.approx(2.0)
    # Asian: nobody, shown with n = 0, never dropped
    a = t.loc["Asian"]
    assert a.n == 0 and np.isnan(a.selection_rate) and "not estimable" in a.note
    assert "1 rows with the outcome not yet known left out" in t.iloc[0]["note"]


def test_red_threshold():
    t = disparity_table(_frame(), threshold="red").set_index("group")
    assert t.loc["White", "selected"] == 1 and t.loc["Black", "selected"] == 2


def test_intervals_contain_the_rates():
    t = disparity_table(_frame()).dropna(subset=["selection_rate"])
    for r in ("selection_rate", "fpr", "fnr"):
        ok = t[r].notna()
        assert (t.loc[ok, f"{r}_low"] <= t.loc[ok, r]).all() and (t.loc[ok, r] <= t.loc[ok, f"{r}_high"]).all()


def test_same_rates_as_fairlearn_metricframe():
    from fairness.synth import generate

    m = generate("small", seed=4).matrix
    q = m["snapshot_date"].max() - pd.offsets.QuarterEnd(4)
    rows = m[(m["snapshot_date"] == q) & m["outcome_violence_12m"].notna()]
    y_true = rows["outcome_violence_12m"].astype(bool).to_numpy()
    y_pred = rows["risk_band"].isin(["Red", "Amber"]).to_numpy()
    mf = MetricFrame(
        metrics={"selection_rate": selection_rate, "fpr": false_positive_rate, "fnr": false_negative_rate},
        y_true=y_true, y_pred=y_pred, sensitive_features=rows["ethnicity"].astype(str).to_numpy(),
    ).by_group
    quarter = f"{q.year}Q{q.quarter}"
    t = disparity_table(m, quarter=quarter).set_index("group")
    for group in mf.index:
        for col in ("selection_rate", "fpr", "fnr"):
            if t.loc[group, "n"] and np.isfinite(t.loc[group, col]):
                assert t.loc[group, col] == pytest.approx(mf.loc[group, col], abs=1e-12)


def test_bad_threshold_and_missing_outcome():
    with pytest.raises(ValueError, match="valid: red, red_amber"):
        disparity_table(_frame(), threshold="amber")
    with pytest.raises(ValueError, match="not assessable"):
        disparity_table(_frame().drop(columns="outcome_violence_12m"))
