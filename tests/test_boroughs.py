"""Tests for fairness.stats.boroughs: funnels, heterogeneity, case-mix adjustment, band consistency.

The funnel example is worked by hand from the Spiegelhalter (2005) formulas in
/work/shared/reference/published_figures.md (arcsine-square-root scale,
s = 1/(2√n), z-scores Winsorised 10% each tail with numpy's linear quantile,
φ = Σz²/k, τ² = max(0, (kφ − (k−1)) / (Σw − Σw²/Σw)), w = 1/s²). The case-mix
and band examples are built so that the answer is known by construction.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api  # noqa: F401  (imported first: it installs warning filters of its own)

from fairness import band_consistency, borough_funnel, borough_heterogeneity, casemix_adjusted
from fairness.definitions import BOROUGHS, ETHNICITIES
from fairness.stats.boroughs import (
    BOROUGH_METRICS,
    NOTE_FUNNEL_TOO_FEW,
    _binomial_glm,
    borough_counts,
)

CENSUS = Path(__file__).resolve().parent.parent / "data" / "reference" / "census"
FLAGS = {"above_99.8", "above_95", "within", "below_95", "below_99.8", "not_estimable"}
BOROUGH_COLUMNS = ["metric", "borough", "count", "n", "value", "target", "z", "flag",
                   "lower_95", "upper_95", "lower_998", "upper_998"]
OVERDISPERSION_COLUMNS = ["metric", "phi", "tau2", "target", "k", "overdispersed", "method"]


def people(borough: str, n: int, *, zero: int = 0, black: int = 0, green: int = 0) -> pd.DataFrame:
    """``n`` people in one borough: the first ``zero`` with harm score 0, the first
    ``black`` Black (others White), the first ``green`` in the green band (others Amber)."""
    i = np.arange(n)
    return pd.DataFrame({
        "borough": borough,
        "harm_score": np.where(i < zero, 0.0, 5.0),
        "ethnicity": pd.Categorical(np.where(i < black, "Black", "White"), categories=list(ETHNICITIES)),
        "risk_band": np.where(i < green, "Green", "Amber"),
    })


def frame(*parts: pd.DataFrame) -> pd.DataFrame:
    m = pd.concat(parts, ignore_index=True)
    m["borough"] = pd.Categorical(m["borough"], categories=list(BOROUGHS))
    return m


# ---------------------------------------------------------------- counts


def test_borough_counts_each_metric():
    m = frame(people("Hackney", 5, zero=2, black=4, green=1), people("Barnet", 3, zero=3, black=0, green=2))
    expected = {  # (Hackney, Barnet) as (count, n)
        "no_risk_share": ((2, 5), (3, 3)),
        "black_share": ((4, 5), (0, 3)),
        "green_share": ((1, 5), (2, 3)),
    }
    for metric, (hackney, barnet) in expected.items():
        c = borough_counts(m, metric).set_index("borough")
        assert c.index.tolist() == list(BOROUGHS)
        assert tuple(c.loc["Hackney"]) == hackney
        assert tuple(c.loc["Barnet"]) == barnet
        assert c.drop(index=["Hackney", "Barnet"]).to_numpy().sum() == 0  # every other borough, empty
    # rate per 1,000: people listed over usual residents, Census 2021 (from the CSV)
    census = pd.read_csv(CENSUS / "ethnicity_by_borough_census2021.csv").set_index("la_name")
    c = borough_counts(m, "rate_per_1000").set_index("borough")
    assert c.loc["Hackney", "count"] == 5 and c.loc["Barnet", "count"] == 3
    assert c.loc["Hackney", "n"] == census.loc["Hackney", "all_usual_residents"]
    assert c.loc["Croydon", "n"] == census.loc["Croydon", "all_usual_residents"]
    assert c.loc["Croydon", "count"] == 0
    with pytest.raises(ValueError, match="no_risk_share, black_share"):
        borough_counts(m, "share_black")


# ---------------------------------------------------------------- funnel


def test_funnel_all_32_boroughs_contract_columns_and_flags():
    rng = np.random.default_rng(20181231)
    parts = [people(b, int(n), zero=int(z), black=int(k), green=int(g))
             for b, n, z, k, g in zip(BOROUGHS, rng.integers(20, 200, 32), rng.integers(0, 20, 32),
                                      rng.integers(0, 20, 32), rng.integers(0, 20, 32), strict=True)]
    boroughs, disp, limits = borough_funnel(frame(*parts))
    assert set(BOROUGH_COLUMNS) <= set(boroughs.columns)
    assert set(OVERDISPERSION_COLUMNS) <= set(disp.columns)
    assert list(limits.columns) == ["metric", "n", "level", "lower", "upper"]
    for metric in BOROUGH_METRICS:
        t = boroughs[boroughs["metric"] == metric]
        assert t["borough"].tolist() == list(BOROUGHS)
        assert set(t["flag"]) <= FLAGS
        assert (t["lower_998"] <= t["lower_95"]).all() and (t["upper_95"] <= t["upper_998"]).all()
    assert disp["metric"].tolist() == list(BOROUGH_METRICS)
    assert (disp["k"] == 32).all()
    # rate per 1,000 residents: value = 1000 * listed / residents
    r = boroughs[boroughs["metric"] == "rate_per_1000"]
    assert r["value"].to_numpy() == pytest.approx(1000 * r["count"] / r["n"])


def test_phi_and_tau2_by_hand():
    # Four boroughs of 100 people with 10, 20, 30 and 40 scored zero; the other
    # 28 boroughs are empty (n = 0: not estimable, left out, so k = 4).
    # Pooled p = 100/400 = 0.25, θ = asin(√0.25) = π/6 = 0.5235988; s = 1/(2√100) = 0.05.
    # y = asin(√p):  0.3217506, 0.4636476, 0.5796397, 0.6847192
    # z = (y − θ)/s: −4.036964, −1.199023, 1.120819, 3.222409
    # Winsorise 10%: h = (k−1)·0.1 = 0.3
    #   lower cut = z(1) + 0.3 (z(2) − z(1)) = −4.036964 + 0.3 × 2.837941 = −3.185582
    #   upper cut (h = 2.7) = z(3) + 0.7 (z(4) − z(3)) = 1.120819 + 0.7 × 2.101590 = 2.591932
    # Σz_w² = 10.147933 + 1.437656 + 1.256235 + 6.718111 = 19.559935; φ = 19.559935 / 4 = 4.889984
    # w = 1/s² = 400 each: Σw − Σw²/Σw = 1600 − 640000/1600 = 1200
    # τ² = (4 × 4.889984 − 3) / 1200 = 16.559935 / 1200 = 0.0137999
    m = frame(*[people(b, 100, zero=z) for b, z in
                (("Barnet", 10), ("Brent", 20), ("Hackney", 30), ("Lambeth", 40))])
    boroughs, disp, _ = borough_funnel(m, metrics=("no_risk_share",))
    d = disp.iloc[0]
    assert d["k"] == 4
    assert d["target"] == pytest.approx(0.25)
    assert d["phi"] == pytest.approx(4.889984, abs=1e-6)
    assert d["tau2"] == pytest.approx(0.0137999, abs=1e-7)
    assert bool(d["overdispersed"]) and bool(d["adjusted"])
    t = boroughs.set_index("borough")
    assert t.loc[["Barnet", "Brent", "Hackney", "Lambeth"], "z"].to_numpy() == pytest.approx(
        [-4.036964, -1.199023, 1.120819, 3.222409], abs=1e-6)
    # Limits with τ²: sd = √(0.0025 + 0.0137999) = 0.1276712; 1.959964 × sd = 0.2502310
    #   95%: sin²(0.5235988 ∓ 0.2502310) = sin²(0.2733677), sin²(0.7738298) = 0.072887, 0.488433
    assert (t.loc["Lambeth", "lower_95"], t.loc["Lambeth", "upper_95"]) == pytest.approx(
        (0.072887, 0.488433), abs=1e-6)
    # Without τ², Barnet (z = −4.04) and Lambeth (z = 3.22) lie outside the 99.8% limits (±3.09);
    # with it, z_adj = z × 0.05 / 0.1276712 = −1.581, 1.262: all within.
    assert set(t.loc[["Barnet", "Brent", "Hackney", "Lambeth"], "flag"]) == {"within"}
    plain, _, _ = borough_funnel(m, metrics=("no_risk_share",), overdispersion=False)
    p = plain.set_index("borough")["flag"]
    assert (p["Barnet"], p["Brent"], p["Hackney"], p["Lambeth"]) == ("below_99.8", "within", "within", "above_99.8")
    assert (t.drop(index=["Barnet", "Brent", "Hackney", "Lambeth"])["flag"] == "not_estimable").all()


def test_heterogeneity_by_hand():
    # Same four boroughs: pooled 0.25; n p (1 − p) = 18.75 each;
    # X² = (15² + 5² + 5² + 15²) / 18.75 = 500 / 18.75 = 26.667 on 3 df
    m = frame(*[people(b, 100, zero=z) for b, z in
                (("Barnet", 10), ("Brent", 20), ("Hackney", 30), ("Lambeth", 40))])
    h = borough_heterogeneity(m, metrics=("no_risk_share",)).iloc[0]
    assert h["statistic"] == pytest.approx(500 / 18.75)
    assert h["df"] == 3 and h["k"] == 4
    assert h["i2"] == pytest.approx((500 / 18.75 - 3) / (500 / 18.75))


def test_funnel_with_a_single_borough_is_not_estimable_rather_than_an_error():
    # One borough's own matrix: nothing to compare with (used to raise ValueError).
    m = frame(people("Hackney", 10, zero=4, black=6, green=3))
    boroughs, disp, _ = borough_funnel(m, metrics=("no_risk_share", "black_share"))
    h = boroughs[boroughs["borough"] == "Hackney"].set_index("metric")
    assert h.loc["no_risk_share", "value"] == pytest.approx(0.4)
    assert (boroughs["flag"] == "not_estimable").all()
    assert disp["method"].tolist() == [NOTE_FUNNEL_TOO_FEW] * 2
    assert disp["phi"].isna().all() and (disp["k"] == 1).all()


# ---------------------------------------------------------------- case mix

# No-risk share depends only on age band, by construction: 60% of 10-17s and
# 20% of 25-34s, the same in each sex, ethnic group and borough. The boroughs
# differ only in their age mix (young, old per sex-ethnicity cell).
MIX = {"Hackney": (40, 10), "Barnet": (10, 40), "Lambeth": (25, 25), "Brent": (35, 15), "Croydon": (15, 35)}


def casemix_frame(excess: str | None = None) -> pd.DataFrame:
    parts = []
    for b, (young, old) in MIX.items():
        zy, zo = (young * 9 // 10, old // 2) if b == excess else (young * 3 // 5, old // 5)
        for sex in ("Male", "Female"):
            for eth in ("Black", "White"):
                for age, n, z in ((16, young, zy), (30, old, zo)):
                    parts.append(pd.DataFrame({
                        "borough": b, "sex": sex, "ethnicity": eth, "age": age,
                        "harm_score": [0.0] * z + [10.0] * (n - z),
                        "snapshot_date": pd.Timestamp("2018-12-31"),
                    }))
    m = pd.concat(parts, ignore_index=True)
    m["ethnicity"] = pd.Categorical(m["ethnicity"], categories=list(ETHNICITIES))
    return m


def fit(m: pd.DataFrame):
    with warnings.catch_warnings():
        # the constructed data fit the model exactly, which statsmodels reports
        warnings.simplefilter("ignore")
        return casemix_adjusted(m)


def test_casemix_explained_by_age_alone():
    table, test = fit(casemix_frame())
    t = table.set_index("borough")
    used = t.loc[list(MIX)]
    # Expected for Barnet, by hand: 4 cells × (10 young × 0.6 + 40 old × 0.2) = 4 × 14 = 56
    assert used.loc["Barnet", "expected"] == pytest.approx(56.0)
    assert used.loc["Barnet", "observed"] == 56 and used.loc["Barnet", "n"] == 200
    assert used["oe_ratio"].to_numpy() == pytest.approx(np.ones(5), abs=1e-6)
    assert (used["flag"] == "within").all()
    assert (t.drop(index=list(MIX))["flag"] == "not_estimable").all()
    r = test.iloc[0]
    assert r["df"] == 4  # five boroughs: four borough terms
    assert r["lr_statistic"] == pytest.approx(0.0, abs=1e-6)
    assert r["p_value"] > 0.99


def test_casemix_flags_a_planted_excess():
    # Hackney: 90% of its young and 50% of its old scored zero.
    # London-wide rates the model fits: young (144 + 0.6 × 340) / 500 = 348/500 = 0.696;
    # old (20 + 0.2 × 460) / 500 = 112/500 = 0.224.
    # Hackney: observed 4 × (36 + 5) = 164; expected 160 × 0.696 + 40 × 0.224 = 111.36 + 8.96 = 120.32
    table, test = fit(casemix_frame(excess="Hackney"))
    h = table.set_index("borough").loc["Hackney"]
    assert h["observed"] == 164
    assert h["expected"] == pytest.approx(120.32, abs=1e-6)
    assert h["oe_ratio"] == pytest.approx(164 / 120.32, abs=1e-6)
    assert h["ci_low"] > 1
    assert h["flag"] == "higher"
    others = table[table["borough"].isin([b for b in MIX if b != "Hackney"])]
    assert (others["flag"] == "within").all()
    assert test["p_value"].iloc[0] < 1e-6


def _statsmodels_fit(successes, trials, exog):
    from statsmodels.genmod import families
    from statsmodels.genmod.generalized_linear_model import GLM

    endog = np.column_stack([successes, trials - successes])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # perfect separation / rank deficiency: reported, fitted anyway
        f = GLM(endog, exog, family=families.Binomial()).fit()
    return np.asarray(f.params), np.asarray(f.predict(exog)), f.llf


def _casemix_design(m: pd.DataFrame, with_borough: bool):
    from fairness.counts.groups import flag_mask, with_groups

    m = with_groups(m)
    keys = ["borough", "age_band", "sex", "ethnicity"]
    g = (pd.DataFrame({**{k: m[k].astype(str) for k in keys}, "y": flag_mask(m, "harm_zero").astype("int64")})
         .groupby(keys, sort=True)["y"].agg(["sum", "size"]).reset_index())
    x = pd.get_dummies(g[keys[1:]], drop_first=True, dtype="float64")
    x.insert(0, "const", 1.0)
    if with_borough:
        x = pd.concat([x, pd.get_dummies(g["borough"], drop_first=True, dtype="float64", prefix="b")], axis=1)
    return g["sum"].to_numpy(), g["size"].to_numpy(), x.to_numpy()


@pytest.mark.parametrize("excess", [None, "Hackney"])
@pytest.mark.parametrize("with_borough", [False, True])
def test_binomial_glm_is_statsmodels(excess, with_borough):
    """The case-mix model fitted in numpy gives statsmodels' GLM (Binomial, logit, IRLS): the
    parameters, fitted shares and log-likelihood agree to 1e-10 (in practice to the last bit),
    on the planted-excess data above and on a rank-deficient design (with_borough: the borough
    terms here nearly repeat the covariates' cells; perfect fits)."""
    successes, trials, x = _casemix_design(casemix_frame(excess), with_borough)
    params, mu, llf, _ = _binomial_glm(successes, trials, x)
    want_params, want_mu, want_llf = _statsmodels_fit(successes, trials, x)
    np.testing.assert_allclose(params, want_params, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(mu, want_mu, rtol=1e-10, atol=1e-12)
    assert llf == pytest.approx(want_llf, rel=1e-12)


def test_binomial_glm_one_cell_is_the_share_by_hand():
    # one covariate cell (test_casemix_interval_and_test_use_one_variance): the model is the
    # share 760 / 2000 = 0.38, and the log-likelihood the binomial one at p = 0.38:
    # ln C(1000, 411) + ln C(1000, 349) + 760 ln 0.38 + 1240 ln 0.62
    params, mu, llf, rank = _binomial_glm(np.array([411, 349]), np.array([1000, 1000]), np.ones((2, 1)))
    assert rank == 1
    assert mu == pytest.approx([0.38, 0.38], abs=1e-12)
    by_hand = (math.lgamma(1001) - math.lgamma(412) - math.lgamma(590) + math.lgamma(1001) - math.lgamma(350)
               - math.lgamma(652) + 760 * math.log(0.38) + 1240 * math.log(0.62))
    assert llf == pytest.approx(by_hand, rel=1e-12)
    assert llf == pytest.approx(_statsmodels_fit(np.array([411, 349]), np.array([1000, 1000]), np.ones((2, 1)))[2],
                                rel=1e-12)


def test_binomial_glm_fails_as_statsmodels_does():
    """The audit notes the model's error by type and message, so they are statsmodels' own."""
    empty = (np.zeros(0, dtype="int64"), np.zeros(0, dtype="int64"), np.zeros((0, 2)))
    no_trials = (np.array([0, 1, 0]), np.array([0, 1, 1]), np.ones((3, 1)))
    for args in (empty, no_trials):
        with pytest.raises(ValueError) as ours, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # 0 / 0, as in statsmodels
            _binomial_glm(*args)
        with pytest.raises(ValueError) as theirs, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _statsmodels_fit(*args)
        assert str(ours.value) == str(theirs.value)


def _one_band_borough() -> pd.DataFrame:
    """Grouped counts where Hackney's people all fall in the 25+ band and nobody else does: the
    borough term b_Hackney is the age term age_band_25+ again, so the model with boroughs has 5
    columns but rank 4. It is then saturated (4 cells, rank 4): its fit is each cell's share."""
    return pd.DataFrame({"borough": ["Barnet", "Barnet", "Brent", "Hackney"],
                         "age_band": ["10-17", "18-24", "10-17", "25+"],
                         "sum": [12, 10, 24, 7], "size": [30, 40, 40, 20]})


def test_casemix_test_counts_degrees_of_freedom_in_rank():
    """Worked by hand: without boroughs the model (const, 18-24, 25+; rank 3) fits each band's
    pooled share: 10-17 is (12 + 24) / (30 + 40) = 36/70 in Barnet and Brent alike; 18-24 and 25+
    are single cells, fitted exactly. With boroughs (rank 4, saturated) every cell is fitted
    exactly, so the likelihood ratio comes from the two 10-17 cells alone:
    LR = 2 [12 ln(12/(30·36/70)) + 18 ln(18/(30·34/70)) + 24 ln(24/(40·36/70)) + 16 ln(16/(40·34/70))]
    on 4 - 3 = 1 degree of freedom (the columns would say 2)."""
    from scipy.stats import chi2

    from fairness.stats.boroughs import casemix_from_grouped

    g = _one_band_borough()
    by_hand = 2 * (12 * math.log(12 / (30 * 36 / 70)) + 18 * math.log(18 / (30 * 34 / 70))
                   + 24 * math.log(24 / (40 * 36 / 70)) + 16 * math.log(16 / (40 * 34 / 70)))
    assert by_hand == pytest.approx(2.7618, abs=1e-4)  # the sum above, to four decimals
    _, test = casemix_from_grouped(g, covariates=["age_band"])
    row = test.iloc[0]
    assert row["df"] == 1
    assert row["lr_statistic"] == pytest.approx(by_hand, rel=1e-9)
    assert row["p_value"] == pytest.approx(chi2.sf(by_hand, 1), rel=1e-8)  # 0.0965 on 1 df, not 0.251 on 2

    # statsmodels on the same designs: the same log-likelihoods, and df_model + 1 is the rank
    x0 = pd.get_dummies(g[["age_band"]], drop_first=True, dtype="float64")
    x0.insert(0, "const", 1.0)
    x1 = pd.concat([x0, pd.get_dummies(g["borough"], drop_first=True, dtype="float64", prefix="b")], axis=1)
    assert x1.shape[1] - x0.shape[1] == 2
    from statsmodels.genmod import families
    from statsmodels.genmod.generalized_linear_model import GLM

    endog = np.column_stack([g["sum"], g["size"] - g["sum"]])
    for x, want_rank in ((x0, 3), (x1, 4)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # statsmodels warns of the rank deficiency
            theirs = GLM(endog, x.to_numpy(), family=families.Binomial()).fit()
        _, mu, llf, rank = _binomial_glm(g["sum"].to_numpy(), g["size"].to_numpy(), x.to_numpy())
        assert rank == want_rank == theirs.df_model + 1
        assert llf == pytest.approx(theirs.llf, rel=1e-10)
        np.testing.assert_allclose(mu, theirs.predict(x.to_numpy()), rtol=1e-10, atol=1e-12)


def test_binomial_glm_rank_counts_an_empty_column_out():
    """An empty level (a dummy column of zeros, as a categorical covariate with a category nobody
    has gives) adds a column but no rank: 3 columns, rank 2, and the same fit as without it."""
    successes, trials = np.array([3, 5, 8]), np.array([10, 10, 20])
    x = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 0.0]])
    _, mu, llf, rank = _binomial_glm(successes, trials, x)
    _, mu_empty, llf_empty, rank_empty = _binomial_glm(successes, trials, np.column_stack([x, np.zeros(3)]))
    assert (rank, rank_empty) == (2, 2)
    # rows 1 and 3 share a cell: 11/30 each; row 2 alone: 5/10
    np.testing.assert_allclose(mu_empty, [11 / 30, 0.5, 11 / 30], rtol=1e-10)
    assert llf_empty == pytest.approx(llf, rel=1e-12)


# ---------------------------------------------------------------- band consistency


def banded(borough: str, amber_from: float, red_from: float) -> pd.DataFrame:
    scores = np.arange(0.0, 100.0, 2.0)  # 50 people: 0, 2, ..., 98
    band = np.where(scores >= red_from, "Red", np.where(scores >= amber_from, "Amber", "Green"))
    return pd.DataFrame({"borough": borough, "harm_score": scores, "risk_band": band})


def test_band_consistency_flags_the_borough_with_other_cut_points():
    # Five boroughs band at 10 / 50, Southwark at 30 / 70. Under the London-wide
    # cut-points (10 / 50, the majority) Southwark's scores 10..28 (10 people) and
    # 50..68 (10 people) are banded differently: 20 of 50 disagree; London 20/300.
    normal = ["Hackney", "Barnet", "Lambeth", "Brent", "Croydon"]
    m = pd.concat([banded(b, 10, 50) for b in normal] + [banded("Southwark", 30, 70)], ignore_index=True)
    t = band_consistency(m).set_index("borough")
    assert t.loc["Southwark", "flag"] == "inconsistent"
    assert (t.loc[normal, "flag"] == "consistent").all()
    assert t.loc["Southwark", "disagree"] == 20 and t.loc["Southwark", "n"] == 50
    assert (t.loc["Southwark", "amber_from"], t.loc["Southwark", "red_from"]) == (30, 70)
    assert (t.loc["Hackney", "amber_from"], t.loc["Hackney", "red_from"]) == (10, 50)
    assert (t["london_amber_from"] == 10).all() and (t["london_red_from"] == 50).all()
    assert t["london_share"].iloc[0] == pytest.approx(20 / 300)
    assert (t.loc[normal, "disagree"] == 0).all()
    empty = t.drop(index=normal + ["Southwark"])
    assert (empty["flag"] == "not_estimable").all() and (empty["n"] == 0).all()
    assert len(t) == 32


def test_band_consistency_empty_matrix():
    out = band_consistency(pd.DataFrame({"borough": [], "harm_score": [], "risk_band": []}))
    assert len(out) == 0 and "flag" in out.columns


def test_flags_are_never_nan():
    m = frame(*[people(b, 100, zero=z) for b, z in (("Barnet", 10), ("Brent", 20), ("Hackney", 30))])
    boroughs, _, _ = borough_funnel(m)
    assert boroughs["flag"].notna().all()
    assert not any(isinstance(f, float) and math.isnan(f) for f in boroughs["flag"])


# --------------------------------------------------------------------------
# Band consistency from counts equals the record-level computation
# --------------------------------------------------------------------------


def _best_cutpoints_on_records(scores, bands, grid):
    """The record-level search the count version replaced (kept here as the reference)."""
    cum = {}
    for band in ("Green", "Amber", "Red"):
        s = np.sort(scores[bands == band])
        cum[band] = np.searchsorted(s, grid, side="left")
    total_red = int((bands == "Red").sum())
    agree = cum["Green"][:, None] + (cum["Amber"][None, :] - cum["Amber"][:, None]) + (total_red - cum["Red"][None, :])
    agree = np.where(np.arange(len(grid))[:, None] <= np.arange(len(grid))[None, :], agree, -1)
    i, j = np.unravel_index(int(np.argmax(agree)), agree.shape)
    return float(grid[i]), float(grid[j]), int(agree[i, j])


@pytest.mark.parametrize("seed", range(20))
def test_quantile_from_counts_is_numpy_quantile(seed):
    from fairness.stats.boroughs import _quantile_from_counts

    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 3000))
    scores = np.round(rng.gamma(1.5, 20, size=n) * (rng.random(n) < 0.7), int(rng.integers(0, 3)))
    values, counts = np.unique(scores, return_counts=True)
    q = np.linspace(0, 1, int(rng.integers(2, 300)))
    np.testing.assert_array_equal(_quantile_from_counts(values, counts, q), np.quantile(scores, q))


@pytest.mark.parametrize("seed", range(10))
def test_cutpoints_from_counts_equal_records(seed):
    from fairness.stats.boroughs import _cutpoints_from_counts

    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 2000))
    scores = np.round(rng.gamma(1.5, 20, size=n) * (rng.random(n) < 0.6), 1)
    bands = np.where(scores + rng.normal(0, 8, n) > 40, "Red", np.where(scores > 10, "Amber", "Green"))
    grid = np.unique(np.concatenate([[0.0], np.quantile(scores, np.linspace(0, 1, 50)), [scores.max() + 1]]))
    t = pd.DataFrame({"s": scores, "b": bands}).groupby(["s", "b"]).size().reset_index()
    got = _cutpoints_from_counts(t["s"].to_numpy(), t["b"].to_numpy(dtype=object), t[0].to_numpy(), grid)
    assert got == _best_cutpoints_on_records(scores, bands.astype(object), grid)


# ---------------------------------------------------------------- issue 11: statistics at the edges


def test_rate_funnel_treats_boroughs_absent_from_the_file_as_no_data():
    # One borough's file: 50 people in Hackney. Its rate per 1,000 residents used to be
    # compared with 31 boroughs "listing nobody" (z = 23, above_99.8). They are no data:
    # fewer than 2 boroughs to compare, so not estimable.
    m = frame(people("Hackney", 50))
    boroughs, disp, _ = borough_funnel(m, metrics=("rate_per_1000",))
    assert (boroughs["flag"] == "not_estimable").all()
    h = boroughs.set_index("borough").loc["Hackney"]
    assert h["count"] == 50 and h["n"] > 0  # residents still shown
    assert disp.iloc[0]["k"] == 1
    assert "31 borough(s) with no rows in the file: no data, not zero" in disp.iloc[0]["method"]
    assert borough_heterogeneity(m, metrics=("rate_per_1000",)).iloc[0]["k"] == 1


def test_rate_funnel_target_is_pooled_over_the_boroughs_in_the_file():
    # Hackney 50, Barnet 30 listed; residents from the Census 2021 CSV. Target, by hand,
    # = 1000 × 80 / (Hackney + Barnet residents); the other 30 boroughs are not in it.
    census = pd.read_csv(CENSUS / "ethnicity_by_borough_census2021.csv").set_index("la_name")
    res = census.loc[["Hackney", "Barnet"], ["white", "mixed", "asian", "black", "other"]].sum(axis=1)
    m = frame(people("Hackney", 50), people("Barnet", 30))
    boroughs, disp, _ = borough_funnel(m, metrics=("rate_per_1000",))
    assert disp.iloc[0]["k"] == 2
    assert disp.iloc[0]["target"] == pytest.approx(1000 * 80 / res.sum(), rel=1e-9)
    used = boroughs[boroughs["borough"].isin(["Hackney", "Barnet"])]
    assert used["flag"].ne("not_estimable").all()
    assert (boroughs.loc[~boroughs["borough"].isin(["Hackney", "Barnet"]), "flag"] == "not_estimable").all()
    # covers="all": the list is known to cover London, so the 30 zeros are real zeros
    b_all, d_all, _ = borough_funnel(m, metrics=("rate_per_1000",), covers="all")
    assert d_all.iloc[0]["k"] == 32 and (b_all["flag"] != "not_estimable").all()
    with pytest.raises(ValueError, match="'Gotham', which is not a borough"):
        borough_funnel(m, metrics=("rate_per_1000",), covers=["Hackney", "Gotham"])


def one_cell_casemix(d: int) -> pd.DataFrame:
    """Two boroughs of 1,000 people, all in one covariate cell; 380 ± d with harm score 0."""
    parts = [pd.DataFrame({"borough": b, "sex": "Male", "ethnicity": "Black", "age": 20,
                           "harm_score": [0.0] * o + [5.0] * (1000 - o),
                           "snapshot_date": pd.Timestamp("2018-12-31")})
             for b, o in (("Hackney", 380 + d), ("Barnet", 380 - d))]
    m = pd.concat(parts, ignore_index=True)
    m["ethnicity"] = pd.Categorical(m["ethnicity"], categories=list(ETHNICITIES))
    return m


def test_casemix_interval_and_test_use_one_variance():
    # One covariate cell, so the model is the London share 760/2000 = 0.38 (near the 38%
    # of the Mayor's review). Hackney: O = 411, E = 1000 × 0.38 = 380,
    # V = 1000 × 0.38 × 0.62 = 235.6, √V = 15.349267.
    # z = 31 / 15.349267 = 2.019641, p = 2(1 − Φ(2.019641)) = 0.043421.
    # Interval (O ± 1.959964 √V) / E = (411 ± 30.084) / 380 = 1.002411 to 1.160747: excludes 1,
    # as p < 0.05 says. The Poisson interval on O (variance E, 1/√0.62 = 1.27× wider) gave
    # a lower bound of about 0.977 with the same p: "CI includes 1, p = 0.043".
    table, _ = fit(one_cell_casemix(31))
    h = table.set_index("borough").loc["Hackney"]
    assert (h["observed"], h["expected"]) == (411, pytest.approx(380.0))
    assert h["z"] == pytest.approx(2.019641, abs=1e-6)
    assert h["p_value"] == pytest.approx(0.043421, abs=1e-6)
    assert (h["ci_low"], h["ci_high"]) == pytest.approx((1.002411, 1.160747), abs=1e-6)


@pytest.mark.parametrize("d", [0, 20, 30, 31, 32, 45])
def test_casemix_interval_excludes_one_exactly_when_p_is_below_alpha(d):
    table, _ = fit(one_cell_casemix(d))
    for _, r in table.dropna(subset=["p_value"]).iterrows():
        assert (r["ci_low"] > 1 or r["ci_high"] < 1) == (r["p_value"] < 0.05)


def test_borough_functions_refuse_to_pool_snapshots():
    m = frame(people("Hackney", 10, zero=4), people("Barnet", 10, zero=2))
    m["snapshot_date"] = pd.to_datetime(["2018-09-30"] * 5 + ["2018-12-31"] * 15)
    for call in (lambda **k: borough_funnel(m, metrics=("no_risk_share",), **k),
                 lambda **k: borough_heterogeneity(m, metrics=("no_risk_share",), **k),
                 lambda **k: band_consistency(m, **k)):
        with pytest.raises(ValueError, match=r"2 snapshots \(2018Q3, 2018Q4\)"):
            call()
    b, _, _ = borough_funnel(m, metrics=("No_Risk_Share",), quarter="2018Q4")
    h = b.set_index("borough").loc["Hackney"]
    assert (h["count"], h["n"]) == (0, 5)  # Hackney's last 5 people (harm 5) are the 2018Q4 ones
    with pytest.raises(ValueError, match="2 snapshots"):
        casemix_adjusted(m.assign(sex="Male", age=20))
