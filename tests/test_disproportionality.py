"""Tests for fairness.stats.disproportionality: representation ratios, relative rates, sentences.

Every expected number is either published (source beside it) or worked by
hand in the comments, independently of the module; z = 1.959964 (two-sided
95%) throughout. Census totals are summed here straight from the CSV files in
``data/reference/census`` (ONS, OGL v3), not through ``fairness.io.benchmarks``.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.multitest import multipletests

from fairness import (
    Benchmark,
    benchmark_sensitivity,
    load_benchmark_csv,
    relative_rate_index,
    representation_ratio,
)
from fairness.definitions import ETHNICITIES
from fairness.results.sentences import ratio_sentences
from fairness.stats import disproportionality as dp
from fairness.stats.disproportionality import relative_rate_from_counts
from tests.conftest import examples

Z = 1.959963984540054
METHODS = ["katz", "poisson-exact", "mid-p"]
ADJUST = ["holm", "bh", "bonferroni", "none"]
ROOT = Path(__file__).resolve().parent.parent
CENSUS = ROOT / "data" / "reference" / "census"
SYV = ROOT / "data" / "reference" / "benchmarks" / "serious_youth_violence_2018.csv"

REPRESENTATION_COLUMNS = ["benchmark", "benchmark_label", "group", "count", "n", "share", "benchmark_share",
                          "ratio", "ci_low", "ci_high", "method", "flag", "note"]
RELATIVE_COLUMNS = ["benchmark", "benchmark_label", "group", "reference", "count", "population",
                    "rate_per_1000", "rate_low", "rate_high", "rri", "ci_low", "ci_high", "p_value",
                    "p_adjusted", "method", "adjust", "flag", "note"]


# ---------------------------------------------------------------- helpers


def listed(**counts: int) -> pd.DataFrame:
    """A matrix of ``counts`` people per ethnic group (only the column the ratios need).

    ``Not_stated=`` stands for "Not stated".
    """
    groups = np.repeat([g.replace("_", " ") for g in counts], list(counts.values()))
    return pd.DataFrame({"ethnicity": pd.Categorical(groups, categories=list(ETHNICITIES))})


def toy_benchmark(counts: dict[str, float], name: str = "toy", shares: bool = False) -> Benchmark:
    """A London-only benchmark built by hand: population counts, or shares only."""
    groups = list(counts)
    values = np.array([counts[g] for g in groups], dtype="float64")
    if shares:
        table = pd.DataFrame({"borough": "London", "group": groups, "count": np.nan, "share": values})
    else:
        table = pd.DataFrame({"borough": "London", "group": groups, "count": values,
                              "share": values / values.sum()})
    return Benchmark(name=name, label=f"{name} population", table=table, source="made up for a test")


def row(table: pd.DataFrame, group: str, benchmark: str | None = None, **match) -> pd.Series:
    mask = table["group"] == group
    if benchmark is not None:
        mask &= table["benchmark"] == benchmark
    for k, v in match.items():
        mask &= table[k] == v
    hit = table[mask]
    assert len(hit) == 1, hit
    return hit.iloc[0]


def census_2011_black_share_without_city() -> tuple[int, int]:
    """Black residents and all residents of the 32 Met boroughs, Census 2011 (City excluded)."""
    t = pd.read_csv(CENSUS / "ethnicity_by_borough_census2011.csv")
    t = t[t["la_code"] != "E09000001"]  # City of London: its own police force
    assert len(t) == 32
    return int(t["black"].sum()), int(t["all_usual_residents"].sum())


# ---------------------------------------------------------------- representation ratio


def test_amnesty_headline_five_point_nine():
    # Amnesty International UK, *Trapped in the Matrix* (2018): 78% of the 3,806
    # people on the matrix (Oct 2017) were Black, against 13.3% of Londoners
    # (2011 Census). 78% of 3,806 is 2,968.7, so 2,969 Black people.
    # Census 2011, 32 Met boroughs (City of London excluded), summed from the CSV:
    # 1,088,447 Black of 8,166,566 residents = 0.1332809 (13.3%).
    # Ratio = (2969 / 3806) / 0.1332809 = 0.7800841 / 0.1332809 = 5.8529 ≈ 5.9.
    black, total = census_2011_black_share_without_city()
    assert (black, total) == (1_088_447, 8_166_566)
    expected = (2969 / 3806) / (black / total)
    assert expected == pytest.approx(5.8529, abs=1e-4)

    rr = representation_ratio(listed(Black=2969, White=3806 - 2969), ["residents_2011"])
    b = row(rr, "Black")
    assert b["count"] == 2969 and b["n"] == 3806
    assert b["share"] == pytest.approx(0.7800841, abs=1e-7)
    assert b["benchmark_share"] == pytest.approx(0.1332809, abs=1e-7)
    assert round(b["benchmark_share"], 3) == 0.133  # Amnesty: 13.3%
    assert b["ratio"] == pytest.approx(expected, rel=1e-12)
    assert round(b["ratio"], 1) == 5.9
    # Katz, by hand: se = sqrt(1/2969 - 1/3806 + 1/1088447 - 1/8166566)
    #              = sqrt(3.36814e-4 - 2.62743e-4 + 9.1874e-7 - 1.2245e-7) = sqrt(7.48676e-5) = 0.0086526
    # exp(ln 5.85293 ± 1.959964 * 0.0086526) = 5.85293 * exp(±0.0169588) = 5.7545 to 5.9530
    assert b["ci_low"] == pytest.approx(5.7545, abs=1e-4)
    assert b["ci_high"] == pytest.approx(5.9530, abs=1e-4)
    assert b["flag"] == "above_band"
    assert list(rr.columns) == REPRESENTATION_COLUMNS


def test_representation_katz_interval_by_hand():
    # Benchmark: 600 White, 400 Black (N = 1,000). List: 30 Black, 20 White (n = 50).
    # Black: (30/50) / (400/1000) = 0.6 / 0.4 = 1.5
    #   se = sqrt(1/30 - 1/50 + 1/400 - 1/1000) = sqrt(0.0333333 - 0.02 + 0.0025 - 0.001)
    #      = sqrt(0.0148333) = 0.1217922
    #   1.5 * exp(∓1.959964 * 0.1217922) = 1.5 * exp(∓0.2387083) = 1.18147 to 1.90441
    # White: (20/50) / (600/1000) = 0.6667
    #   se = sqrt(1/20 - 1/50 + 1/600 - 1/1000) = sqrt(0.0306667) = 0.1751190
    #   0.6667 * exp(∓0.3432269) = 0.47298 to 0.93966
    bench = toy_benchmark({"White": 600, "Black": 400})
    rr = representation_ratio(listed(Black=30, White=20), [bench])
    b, w = row(rr, "Black"), row(rr, "White")
    assert (b["ratio"], b["ci_low"], b["ci_high"]) == pytest.approx((1.5, 1.18147, 1.90441), abs=1e-5)
    assert (w["ratio"], w["ci_low"], w["ci_high"]) == pytest.approx((2 / 3, 0.47298, 0.93966), abs=1e-5)
    assert b["flag"] == "within_or_uncertain"  # 1.18 < 1.25: the interval reaches into the band
    assert w["flag"] == "within_or_uncertain"  # 0.94 > 0.8
    assert b["method"] == "katz"


def test_not_stated_shown_with_count_but_excluded_from_n():
    rr = representation_ratio(listed(Black=30, White=20, Not_stated=7), [toy_benchmark({"White": 600, "Black": 400})])
    ns = row(rr, "Not stated")
    assert ns["count"] == 7
    assert math.isnan(ns["ratio"]) and math.isnan(ns["share"])
    assert ns["note"] == dp.NOTE_NOT_STATED
    assert ns["flag"] == "not_estimable"
    # n is the 50 with a stated ethnicity, not 57: the Black ratio is unchanged (1.5, above)
    assert set(rr["n"]) == {50}
    assert row(rr, "Black")["ratio"] == pytest.approx(1.5)


def test_share_only_benchmark_serious_youth_violence():
    # Amnesty (2018), citing Met figures: 27% of those responsible for serious
    # youth violence were Black. 78 Black of 100 listed: 0.78 / 0.27 = 2.8889.
    # The 27% is treated as known, so the interval is the list share's Wilson
    # interval divided by 0.27. Wilson for 78/100, by hand:
    #   centre = (0.78 + z²/200) / (1 + z²/100) = 0.7992073 / 1.0384146 = 0.7696418
    #   half = z / (1 + z²/100) * sqrt(0.78*0.22/100 + z²/40000) = 1.887459 * 0.0425684 = 0.0803460
    #   0.6892958 to 0.8499878  ->  / 0.27 = 2.55295 to 3.14810
    bench = load_benchmark_csv(SYV)
    rr = representation_ratio(listed(Black=78, White=22), [bench])
    b = row(rr, "Black")
    assert b["benchmark_share"] == pytest.approx(0.27)
    assert b["ratio"] == pytest.approx(78 / 27, rel=1e-12)
    assert round(b["ratio"], 1) == 2.9
    assert (b["ci_low"], b["ci_high"]) == pytest.approx((2.55295, 3.14810), abs=1e-5)
    # only the Black share was published: every other group is not estimable, and says why
    w = row(rr, "White")
    assert math.isnan(w["ratio"]) and w["note"] == dp.NOTE_NO_BENCHMARK and w["flag"] == "not_estimable"


@pytest.mark.parametrize("method", ["poisson-exact", "mid-p"])
def test_share_only_benchmark_exact_methods_use_clopper_pearson(method):
    # Clopper-Pearson for 78/100 from the beta quantiles (scipy), divided by 0.27.
    low = stats.beta.ppf(0.025, 78, 23) / 0.27
    high = stats.beta.ppf(0.975, 79, 22) / 0.27
    rr = representation_ratio(listed(Black=78, White=22), [load_benchmark_csv(SYV)], method=method)
    b = row(rr, "Black")
    assert (b["ci_low"], b["ci_high"]) == pytest.approx((low, high), rel=1e-9)
    assert b["method"] == method


def test_by_borough_uses_within_borough_shares():
    # Hackney: 6 Black, 4 White listed (n = 10); Barnet: 1 Black, 3 White and one
    # "Not stated" (n = 4 with a stated ethnicity).
    census = pd.read_csv(CENSUS / "ethnicity_by_borough_census2021.csv").set_index("la_name")
    hackney = census.loc["Hackney"]
    hackney_black = hackney["black"] / hackney[["white", "mixed", "asian", "black", "other"]].sum()
    barnet = census.loc["Barnet"]
    barnet_white = barnet["white"] / barnet[["white", "mixed", "asian", "black", "other"]].sum()

    eth = ["Black"] * 6 + ["White"] * 4 + ["Black"] + ["White"] * 3 + ["Not stated"]
    m = pd.DataFrame({
        "borough": pd.Categorical(["Hackney"] * 10 + ["Barnet"] * 5),
        "ethnicity": pd.Categorical(eth, categories=list(ETHNICITIES)),
    })
    rr = representation_ratio(m, ["residents_2021"], by=("borough", "ethnicity"))
    assert "borough" in rr.columns
    h = row(rr, "Black", borough="Hackney")
    assert h["n"] == 10 and h["share"] == pytest.approx(0.6)
    assert h["benchmark_share"] == pytest.approx(hackney_black, rel=1e-12)
    assert h["ratio"] == pytest.approx(0.6 / hackney_black, rel=1e-12)
    bw = row(rr, "White", borough="Barnet")
    assert bw["n"] == 4 and bw["share"] == pytest.approx(0.75)
    assert bw["ratio"] == pytest.approx(0.75 / barnet_white, rel=1e-12)
    # shares within each borough sum to 1 over the stated groups
    sums = rr.dropna(subset=["share"]).groupby("borough")["share"].sum()
    assert sums.to_numpy() == pytest.approx([1.0, 1.0])


def test_by_needs_ethnicity_and_existing_columns():
    with pytest.raises(ValueError, match="must include 'ethnicity'"):
        representation_ratio(listed(Black=3), ["residents_2021"], by=("borough",))
    with pytest.raises(ValueError, match="not in the matrix"):
        representation_ratio(listed(Black=3), ["residents_2021"], by=("ethnicity", "sex"))


def test_by_intersections_keep_small_strata_with_counts():
    # Stratified by sex: 30 Black and 10 White men, 2 Black women, no White women.
    m = pd.DataFrame({
        "ethnicity": pd.Categorical(["Black"] * 32 + ["White"] * 10, categories=["White", "Black"]),
        "sex": pd.Categorical(["Male"] * 30 + ["Female"] * 2 + ["Male"] * 10, categories=["Male", "Female"]),
    })
    rr = representation_ratio(m, ["residents_2021"], by=("ethnicity", "sex")).set_index(["sex", "group"])
    # every intersection present, the empty one with its zero count
    assert rr.loc[("Female", "White"), "count"] == 0 and rr.loc[("Female", "Black"), "count"] == 2
    # shares within each stratum: 30 of 40 men are Black
    assert rr.loc[("Male", "Black"), "share"] == pytest.approx(30 / 40)
    assert rr.loc[("Female", "Black"), "n"] == 2
    assert "no sex detail" in rr.loc[("Male", "Black"), "note"]
    ri = relative_rate_index(m, ["residents_2021"], by=("ethnicity", "sex")).set_index(["sex", "group"])
    # no White women listed: the Black women's rate ratio is not estimable, and says why
    assert np.isnan(ri.loc[("Female", "Black"), "rri"])
    assert ri.loc[("Female", "Black"), "note"].startswith("no one in the reference group is listed")


@pytest.mark.parametrize("method", METHODS)
def test_every_method_interval_contains_point(method):
    m = listed(Black=2969, White=500, Asian=200, Mixed=100, Other=37)
    rr = representation_ratio(m, ["residents_2021", "residents_2011"], method=method)
    ok = rr.dropna(subset=["ci_low"])
    assert len(ok) == 10
    assert (ok["ci_low"] <= ok["ratio"]).all() and (ok["ratio"] <= ok["ci_high"]).all()
    assert (rr["method"] == method).all()
    ri = relative_rate_index(m, ["residents_2021"], method=method)
    ok = ri.dropna(subset=["ci_low"])
    assert len(ok) == 4  # every group but the reference
    assert (ok["ci_low"] <= ok["rri"]).all() and (ok["rri"] <= ok["ci_high"]).all()


def test_unknown_method_lists_valid_ones():
    with pytest.raises(ValueError, match="katz"):
        representation_ratio(listed(Black=3, White=2), ["residents_2021"], method="wald")


# ---------------------------------------------------------------- relative rate index

#: Benchmark counts for the RRI examples: 4,000 White, 1,000 Black, 2,000 Asian,
#: 500 Mixed; no "Other" (a group absent from the benchmark).
RRI_BENCH = {"White": 4000, "Black": 1000, "Asian": 2000, "Mixed": 500}


def test_rri_by_hand_katz():
    # Listed: 78 Black, 22 White, 0 Asian, 0 Mixed, 5 Other.
    # Rates per 1,000: Black 1000 * 78/1000 = 78.0; White 1000 * 22/4000 = 5.5.
    # RRI = 78.0 / 5.5 = 14.1818
    # Katz (Altman et al. 2000): se = sqrt(1/78 - 1/1000 + 1/22 - 1/4000)
    #   = sqrt(0.0128205 - 0.001 + 0.0454545 - 0.00025) = sqrt(0.0570250) = 0.2387992
    #   ln 14.1818 = 2.6519607; ± 1.959964 * 0.2387992 = ± 0.4680380
    #   exp(2.1839227) = 8.88108; exp(3.1199987) = 22.64635
    # Wald p: z = 2.6519607 / 0.2387992 = 11.1054; p = 2 * (1 - Φ(11.1054)) = 1.18e-28
    ri = relative_rate_index(listed(Black=78, White=22, Other=5), [toy_benchmark(RRI_BENCH)])
    assert list(ri.columns) == RELATIVE_COLUMNS
    b = row(ri, "Black")
    assert b["rate_per_1000"] == pytest.approx(78.0)
    assert b["population"] == 1000
    assert b["rri"] == pytest.approx(14.181818, abs=1e-6)
    assert (b["ci_low"], b["ci_high"]) == pytest.approx((8.88108, 22.64635), abs=1e-5)
    assert b["p_value"] == pytest.approx(1.1809e-28, rel=1e-3)
    assert b["flag"] == "above_band"
    assert b["reference"] == "White"
    w = row(ri, "White")
    assert w["rate_per_1000"] == pytest.approx(5.5)
    assert w["rri"] == 1.0 and w["flag"] == "reference" and w["note"] == dp.NOTE_REFERENCE
    assert math.isnan(w["p_value"]) and math.isnan(w["ci_low"])
    # rate interval: PHE rule, Byar's at 10 and over. For 22 events, by hand:
    #   low  = 22 * (1 - 1/(9*22) - z/(3*sqrt(22)))^3 = 22 * (1 - 0.0050505 - 0.1392886)^3
    #        = 22 * 0.8556609^3 = 22 * 0.6264769 = 13.78249 events -> 3.44562 per 1,000 of 4,000
    #   high = 23 * (1 - 1/(9*23) + z/(3*sqrt(23)))^3 = 23 * (1 - 0.0048309 + 0.1362269)^3
    #        = 23 * 1.1313960^3 = 23 * 1.4482513 = 33.30978 events -> 8.32744 per 1,000
    assert (w["rate_low"], w["rate_high"]) == pytest.approx((3.44562, 8.32744), abs=1e-5)


def test_rri_absent_group_and_zero_count():
    ri = relative_rate_index(listed(Black=78, White=22, Other=5), [toy_benchmark(RRI_BENCH)])
    other = row(ri, "Other")  # listed, but no population in the benchmark
    assert other["count"] == 5
    assert math.isnan(other["rri"]) and other["flag"] == "not_estimable"
    assert other["note"] == dp.NOTE_NO_BENCHMARK
    asian = row(ri, "Asian")  # in the benchmark, nobody listed: RRI 0
    # Issue 11: Katz has no log interval for a zero count, which used to drop the
    # group out of the Holm family; below 10 listed the exact interval is used
    # instead (as rates switch to exact below 10), so the group has the exact
    # bounds worked by hand in test_rri_zero_count_exact_methods_give_an_interval_from_zero.
    assert asian["rri"] == 0.0 and asian["ci_low"] == 0.0
    assert asian["ci_high"] == pytest.approx(0.3651076, abs=1e-7)
    assert asian["method"] == dp.SMALL_COUNT_METHOD and asian["flag"] == "below_band"
    assert asian["rate_per_1000"] == 0.0


@pytest.mark.parametrize("method", ["poisson-exact", "mid-p"])
def test_rri_zero_count_exact_methods_give_an_interval_from_zero(method):
    ri = relative_rate_index(listed(Black=78, White=22), [toy_benchmark(RRI_BENCH)], method=method)
    asian = row(ri, "Asian")
    assert asian["rri"] == 0.0 and asian["ci_low"] == 0.0
    assert 0 < asian["ci_high"] < 1
    # Exact, by hand: given a + b = 0 + 22 events, the Asian count is Bin(22, π) with
    # π = R·2000 / (R·2000 + 4000). The upper bound for π solves (1 - π)^22 = 0.025,
    # π = 1 - 0.025^(1/22) = 0.1543725; R = π/(1 - π) * 4000/2000 = 0.1825538 * 2 = 0.3651076.
    if method == "poisson-exact":
        assert asian["ci_high"] == pytest.approx(0.3651076, abs=1e-7)


def test_rri_reference_with_no_one_listed_is_not_estimable():
    # Nobody White on the list: every ratio against White has a zero denominator.
    ri = relative_rate_index(listed(Black=5), [toy_benchmark(RRI_BENCH)])
    b, a = row(ri, "Black"), row(ri, "Asian")
    assert math.isnan(b["rri"]) and b["note"] == dp.NOTE_REFERENCE_ZERO
    # 0 listed over 0 listed is not a ratio of 0
    assert math.isnan(a["rri"]) and a["note"] == dp.NOTE_REFERENCE_ZERO
    assert (ri.loc[ri["group"] != "White", "flag"] == "not_estimable").all()


def test_rri_configurable_reference():
    bench = toy_benchmark(RRI_BENCH)
    m = listed(Black=78, White=22, Asian=10)
    vs_white = relative_rate_index(m, [bench])
    vs_black = relative_rate_index(m, [bench], reference="Black")
    assert (vs_black["reference"] == "Black").all()
    bl = row(vs_black, "Black")
    assert bl["rri"] == 1.0 and bl["flag"] == "reference"
    # White relative to Black is the inverse of Black relative to White, interval inverted
    w, b = row(vs_black, "White"), row(vs_white, "Black")
    assert w["rri"] == pytest.approx(1 / b["rri"])
    assert (w["ci_low"], w["ci_high"]) == pytest.approx((1 / b["ci_high"], 1 / b["ci_low"]))
    assert w["p_value"] == pytest.approx(b["p_value"])
    with pytest.raises(ValueError, match="White, Black"):
        relative_rate_index(m, [bench], reference="Not stated")


@pytest.mark.parametrize("adjust", ADJUST)
def test_p_adjustment_within_each_benchmark_matches_statsmodels(adjust):
    m = listed(Black=60, White=40, Asian=30, Mixed=9, Other=8)
    ri = relative_rate_index(m, ["residents_2021", "residents_2011"], adjust=adjust)
    sm_name = {"holm": "holm", "bh": "fdr_bh", "bonferroni": "bonferroni"}.get(adjust)
    for bench, fam in ri.groupby("benchmark"):
        p = fam["p_value"].to_numpy()
        present = ~np.isnan(p)
        assert present.sum() == 4  # four groups against White; reference and "Not stated" have none
        expected = p[present] if sm_name is None else multipletests(p[present], method=sm_name)[1]
        assert fam["p_adjusted"].to_numpy()[present] == pytest.approx(expected, rel=1e-12)
        assert np.isnan(fam["p_adjusted"].to_numpy()[~present]).all()
        # one family per benchmark: the other benchmark's p-values do not enter
        alone = relative_rate_index(m, [bench], adjust=adjust)
        assert alone["p_adjusted"].to_numpy() == pytest.approx(fam["p_adjusted"].to_numpy(), nan_ok=True)
    assert (ri["adjust"] == adjust).all()


def test_parity_flag_only_when_interval_excludes_the_band_edge():
    # Equal populations of 10,000, so RRI = a / b.
    # 30 vs 20: 1.5, se = sqrt(1/30 + 1/20 - 2/10000) = 0.288329 -> 0.8524 to 2.6395: reaches the band
    # 300 vs 200: 1.5, se = sqrt(1/300 + 1/200 - 2/10000) = 0.0901850 -> 1.25697 to 1.79002: above 1.25
    # 200 vs 300: 0.6667, same se -> 0.55865 to 0.79556: below 0.8
    bench = toy_benchmark({"White": 10_000, "Black": 10_000})
    cases = [(30, 20, "within_or_uncertain", 0.85244), (300, 200, "above_band", 1.25697),
             (200, 300, "below_band", 0.55865)]
    for black, white, flag, low in cases:
        b = row(relative_rate_index(listed(Black=black, White=white), [bench]), "Black")
        assert b["flag"] == flag
        assert b["ci_low"] == pytest.approx(low, abs=1e-5)


def test_rri_share_only_benchmark_every_method():
    # Shares only (no counts): 27% Black, 40% White, treated as known, so the
    # benchmark terms vanish from the Katz variance:
    #   RRI = (78/0.27) / (22/0.40) = 288.889 / 55.0 = 5.25253
    #   se = sqrt(1/78 + 1/22) = sqrt(0.0582751) = 0.2414023
    #   5.25253 * exp(∓0.4731398) = 3.27255 to 8.43044
    bench = toy_benchmark({"Black": 0.27, "White": 0.40}, shares=True)
    m = listed(Black=78, White=22)
    for method in METHODS:
        b = row(relative_rate_index(m, [bench], method=method), "Black")
        assert b["rri"] == pytest.approx(5.252525, abs=1e-6)
        assert b["ci_low"] <= b["rri"] <= b["ci_high"]
        assert math.isnan(b["rate_per_1000"])  # no population: no rate
        assert b["note"] == dp.NOTE_SHARES_ONLY
        if method == "katz":
            assert (b["ci_low"], b["ci_high"]) == pytest.approx((3.27255, 8.43044), abs=1e-5)


# (the sentences moved to fairness.results.sentences: tests/test_sentences.py)


def test_benchmark_sensitivity_one_row_per_group_measure_benchmark():
    m = listed(Black=60, White=40, Asian=30)
    benches = ["residents_2021", "residents_2011"]
    sens = benchmark_sensitivity(relative_rate_index(m, benches), representation_ratio(m, benches))
    assert len(sens) == 6 * 2 * 2
    assert set(sens["measure"]) == {"representation ratio", "relative rate index"}
    assert not sens.duplicated(["group", "measure", "benchmark"]).any()


# ---------------------------------------------------------------- properties

COUNTS = st.integers(min_value=1, max_value=400)


@settings(max_examples=examples(30), deadline=None)
@given(black=COUNTS, white=COUNTS, asian=COUNTS, k=st.integers(min_value=2, max_value=20))
def test_ratios_invariant_to_scaling_list_counts(black, white, asian, k):
    one = listed(Black=black, White=white, Asian=asian)
    many = listed(Black=k * black, White=k * white, Asian=k * asian)
    a = representation_ratio(one, ["residents_2021"])["ratio"].to_numpy()
    b = representation_ratio(many, ["residents_2021"])["ratio"].to_numpy()
    assert b == pytest.approx(a, rel=1e-9, nan_ok=True)
    # adjust="none": the adjustment plays no part in the point estimate, and
    # statsmodels' Holm runs a full garbage collection on every call (slow)
    a = relative_rate_index(one, ["residents_2021"], adjust="none")["rri"].to_numpy()
    b = relative_rate_index(many, ["residents_2021"], adjust="none")["rri"].to_numpy()
    assert b == pytest.approx(a, rel=1e-9, nan_ok=True)


@settings(max_examples=examples(30), deadline=None)
@given(black=st.integers(0, 300), white=st.integers(0, 300), other=st.integers(0, 50),
       method=st.sampled_from(METHODS))
def test_representation_interval_contains_ratio(black, white, other, method):
    m = listed(Black=black, White=white, Other=other)
    rr = representation_ratio(m, ["residents_2011"], method=method)
    ok = rr.dropna(subset=["ci_low", "ci_high"])
    assert (ok["ci_low"] <= ok["ratio"] * (1 + 1e-12)).all()
    assert (ok["ratio"] <= ok["ci_high"] * (1 + 1e-12)).all()
    stated = rr[rr["group"] != "Not stated"]
    assert (stated["n"] == black + white + other).all()


@settings(max_examples=examples(30), deadline=None)
@given(white=st.integers(1, 200), k=st.integers(1, 5), pop=st.integers(1_000, 100_000),
       method=st.sampled_from(METHODS))
def test_identical_rates_give_rri_one_and_p_near_one(white, k, pop, method):
    # Black population k times the White; Black listed k times the White: equal rates.
    bench = toy_benchmark({"White": pop, "Black": k * pop})
    ri = relative_rate_index(listed(White=white, Black=k * white), [bench], method=method, adjust="none")
    b = row(ri, "Black")
    assert b["rri"] == pytest.approx(1.0, rel=1e-12)
    assert b["ci_low"] <= 1.0 <= b["ci_high"]
    if method == "katz":
        assert b["p_value"] == pytest.approx(1.0, abs=1e-9)
    elif method == "poisson-exact":
        # doubled smaller tail; the binomial median equals its whole-number mean, so both tails >= 0.5
        assert b["p_value"] == 1.0
    else:
        # mid-p: each half-weighted tail is within a fraction of P(X = mean) of 0.5
        assert b["p_value"] > 0.8


# ---------------------------------------------------------------- issue 11: statistics at the edges


def test_katz_switches_to_exact_below_ten_so_one_person_is_not_above_band():
    # One Black person listed, nobody else (n = 1). Census 2011, 32 Met boroughs:
    # 1,088,447 Black of 8,166,566 (summed from the CSV above). Ratio = 1 / 0.1332809 = 7.50295.
    # Katz with Wilson for 1/1 used to give 0.2065 / 0.1332809 = 1.55 as the lower bound:
    # "above band" for a single person. Below 10 listed the exact conditional interval is
    # used: a | a + b ~ Bin(a + b, π), π = R·n / (R·n + N). For a = 1, the lower bound for π
    # is the Beta(1, b + 1) quantile 1 − 0.975^(1/(b+1)), so, by hand,
    #   R_low = π/(1 − π) · N / n = (1 − q)/q · 8,166,566 with q = 0.975^(1/1,088,448) = 0.189958.
    # The exact upper bound (≈ 41.8) is above the largest possible ratio 1/0.1332809 and is clipped.
    black, total = census_2011_black_share_without_city()
    rr = representation_ratio(listed(Black=1), ["residents_2011"])
    b = row(rr, "Black")
    q = 0.975 ** (1 / (black + 1))
    assert b["ratio"] == pytest.approx(total / black, rel=1e-12)
    assert b["ci_low"] == pytest.approx((1 - q) / q * total, rel=1e-6)
    assert b["ci_low"] == pytest.approx(0.189958, abs=1e-6)
    assert b["ci_high"] == pytest.approx(total / black, rel=1e-12)  # 7.50295: clipped to 1 ÷ share
    assert b["method"] == dp.SMALL_COUNT_METHOD
    assert b["flag"] == "within_or_uncertain"
    # at 10 and over Katz is kept
    assert row(representation_ratio(listed(Black=10, White=5), ["residents_2011"]), "Black")["method"] == "katz"


@pytest.mark.parametrize("method", ["poisson-exact", "mid-p"])
def test_exact_bounds_never_pass_the_largest_possible_ratio(method):
    # Representation: 3 listed, all Black: the share of the list cannot exceed 1, so the
    # ratio cannot exceed 1 / 0.1332809 = 7.50295 (Census 2011, as above).
    black, total = census_2011_black_share_without_city()
    b = row(representation_ratio(listed(Black=3), ["residents_2011"], method=method), "Black")
    assert b["ci_high"] == pytest.approx(total / black, rel=1e-12)
    # RRI: all 5 of a Black population of 5 listed, 20 of 4,000 White: RRI = (5/5)/(20/4000) = 200,
    # which is also the largest possible (everyone listed). The exact upper bound is clipped to it.
    bench = toy_benchmark({"White": 4000, "Black": 5})
    r = row(relative_rate_index(listed(Black=5, White=20), [bench], method=method), "Black")
    assert r["rri"] == pytest.approx(200.0) and r["ci_high"] == pytest.approx(200.0)
    assert r["ci_low"] < 200.0


@pytest.mark.parametrize("method", METHODS)
def test_nobody_listed_in_the_reference_group_is_one_verdict(method):
    # Nobody White listed. The exact methods used to report RRI = inf with a finite lower
    # bound and flag "above_band" while the note said "not estimable". One verdict now.
    ri = relative_rate_index(listed(Black=5), [toy_benchmark(RRI_BENCH)], method=method)
    b = row(ri, "Black")
    assert math.isnan(b["rri"]) and math.isnan(b["ci_low"]) and math.isnan(b["ci_high"])
    assert math.isnan(b["p_value"]) and math.isnan(b["p_adjusted"])
    assert b["flag"] == "not_estimable" and b["note"] == dp.NOTE_REFERENCE_ZERO
    s = ratio_sentences(ri)
    assert "could not be estimated" in s.loc[s["group"] == "Black", "sentence"].iloc[0]


def test_adjustment_family_is_the_same_under_every_method():
    # Nobody Mixed listed. Katz has no log interval or Wald test for a zero count, so the
    # group used to drop out of the family (3 p-values) under Katz but stay in (4) under
    # the exact methods. Now 4 under every method, and Bonferroni multiplies by 4.
    m = listed(Black=60, White=40, Asian=30, Other=8)
    for method in METHODS:
        ri = relative_rate_index(m, ["residents_2021"], method=method, adjust="bonferroni")
        fam = ri[ri["p_value"].notna()]
        assert sorted(fam["group"]) == ["Asian", "Black", "Mixed", "Other"], method
        mixed = row(ri, "Mixed")
        assert mixed["p_adjusted"] == pytest.approx(min(1.0, 4 * mixed["p_value"]), rel=1e-12)


def test_options_match_in_any_case_as_data_values_do():
    m = listed(Black=78, White=22, Asian=10)
    bench = toy_benchmark(RRI_BENCH)
    canonical = relative_rate_index(m, [bench], reference="White", method="katz", adjust="holm")
    loose = relative_rate_index(m, [bench], reference=" white", method="Katz", adjust="HOLM")
    pd.testing.assert_frame_equal(canonical, loose)
    pd.testing.assert_frame_equal(representation_ratio(m, [bench], method="MID-P"),
                                  representation_ratio(m, [bench], method="mid-p"))
    with pytest.raises(ValueError, match="White, Black, Asian, Mixed, Other"):
        relative_rate_index(m, [bench], reference="Whit")
    with pytest.raises(ValueError, match="katz, poisson-exact, mid-p"):
        relative_rate_index(m, [bench], method="kat")


def two_snapshots() -> pd.DataFrame:
    # 2018Q3: 6 Black, 4 White; 2018Q4: 3 Black, 7 White (the same ten people, say)
    m = pd.concat([listed(Black=6, White=4), listed(Black=3, White=7)], ignore_index=True)
    m["snapshot_date"] = pd.to_datetime(["2018-09-30"] * 10 + ["2018-12-31"] * 10)
    return m


@pytest.mark.parametrize("function", [representation_ratio, relative_rate_index])
def test_several_snapshots_need_a_quarter(function):
    m = two_snapshots()
    with pytest.raises(ValueError, match=r"2 snapshots \(2018Q3, 2018Q4\).*quarter="):
        function(m, ["residents_2021"])
    # quarter= gives exactly the table of that snapshot alone
    alone = m[m["snapshot_date"] == "2018-12-31"]
    pd.testing.assert_frame_equal(function(m, ["residents_2021"], quarter="2018q4"),
                                  function(alone, ["residents_2021"]))
    assert row(representation_ratio(m, ["residents_2021"], quarter="2018Q4"), "Black")["count"] == 3
    with pytest.raises(ValueError, match="quarter 2017Q1 is not in the matrix; quarters found: 2018Q3, 2018Q4"):
        function(m, ["residents_2021"], quarter="2017Q1")


@pytest.mark.parametrize("method", ["katz", "poisson-exact", "mid-p"])
def test_benchmark_share_is_over_the_whole_benchmark_population(method):
    """A list whose categorical names only White and Black is compared with all 8,166,566 London
    residents of 2011 (ONS Census 2011 KS201EW, the 32 boroughs; White 4,881,636, Black 1,088,447):
    the same ratio and interval as when every category is named. Amnesty (2018): 78% Black
    against 13.3% of Londoners, a ratio of about 5.9: 0.78 / (1,088,447 / 8,166,566) = 5.852."""
    two = pd.DataFrame({"ethnicity": pd.Categorical(["Black"] * 78 + ["White"] * 22, categories=["White", "Black"])})
    every = two.assign(ethnicity=pd.Categorical(two["ethnicity"].astype(str), categories=list(ETHNICITIES)))
    a = representation_ratio(two, ["residents_2011"], method=method).set_index("group")
    b = representation_ratio(every, ["residents_2011"], method=method).set_index("group")
    assert a.loc["Black", "ratio"] == pytest.approx(0.78 / (1_088_447 / 8_166_566), rel=1e-9)
    assert round(a.loc["Black", "ratio"], 2) == 5.85
    for col in ("ratio", "ci_low", "ci_high", "benchmark_share"):
        for group in ("Black", "White"):
            assert a.loc[group, col] == pytest.approx(b.loc[group, col], rel=1e-12), (group, col)


# ------------------------------------------------------------ counts at or above the population (issue 14)


def _city_of_london_2011():
    """City of London, Census 2011 (data/reference/england-wales/census2011_ethnic_group_by_pfa.csv):
    5,799 White and 193 Black residents."""
    t = pd.DataFrame({"borough": ["City of London"] * 2, "group": ["White", "Black"], "count": [5799.0, 193.0]})
    t["share"] = t["count"] / t["count"].sum()
    return Benchmark(name="residents_2011", label="residents, Census 2011", table=t, source="ONS")


def test_events_above_the_population_get_a_poisson_ratio():
    # Home Office stop and search 2022/23, City of London: 232 searches of Black people, 578 of White people
    counts = pd.DataFrame({"ethnicity": ["White", "Black"], "count": [578, 232]})
    rel = relative_rate_from_counts(counts, [_city_of_london_2011()], kind="events").set_index("group")
    # (232/193)/(578/5799) = 12.0602; Katz on Poisson counts: exp(ln R ± 1.959964·sqrt(1/232 + 1/578))
    assert rel.loc["Black", "rate_per_1000"] == pytest.approx(1202.0725, rel=1e-7)
    assert rel.loc["Black", "rri"] == pytest.approx(12.060240, rel=1e-6)
    assert rel.loc["Black", "ci_low"] == pytest.approx(10.356197, rel=1e-6)
    assert rel.loc["Black", "ci_high"] == pytest.approx(14.044672, rel=1e-6)
    for method in ("poisson-exact", "mid-p"):  # the conditional methods never needed a <= A
        r = relative_rate_from_counts(counts, [_city_of_london_2011()], kind="events", method=method)
        black = r[r.group == "Black"].iloc[0]
        assert black["ci_low"] < 12.060240 < black["ci_high"] and black["flag"] == "above_band"


def test_people_above_the_population_are_a_data_error_not_a_crash():
    counts = pd.DataFrame({"ethnicity": ["White", "Black"], "count": [578, 232]})
    rel = relative_rate_from_counts(counts, [_city_of_london_2011()]).set_index("group")  # kind="people"
    assert np.isnan(rel.loc["Black", "rri"]) and rel.loc["Black", "flag"] == "not_estimable"
    assert rel.loc["Black", "note"].startswith("data error: 232 people counted in this group but the benchmark "
                                               "population is 193")
    assert rel.loc["Black", "rate_per_1000"] == pytest.approx(1000 * 232 / 193)
    # at the population (everyone listed) it is still a valid count of people
    at = relative_rate_from_counts(counts.assign(count=[578, 193]), [_city_of_london_2011()]).set_index("group")
    assert at.loc["Black", "rri"] == pytest.approx((193 / 193) / (578 / 5799))


def test_confint_rate_ratio_kind_events_drops_the_finite_size_terms():
    from fairness.stats.intervals import KIND_MESSAGE, confint_rate_ratio

    r, lo, hi = confint_rate_ratio(232, 193, 578, 5799, kind="events")
    assert float(lo) == pytest.approx(10.356197, rel=1e-6) and float(hi) == pytest.approx(14.044672, rel=1e-6)
    with pytest.raises(ValueError, match="a must not exceed A"):
        confint_rate_ratio(232, 193, 578, 5799)
    with pytest.raises(ValueError, match=re.escape(KIND_MESSAGE.format(
            function="confint_rate_ratio", valid="people, events", kind="persons"))):
        confint_rate_ratio(232, 193, 578, 5799, kind="persons")


def test_relative_rate_index_takes_kind_for_rows_that_are_events():
    # 232 rows of searches of Black people and 578 of White people in the City of London (as above)
    m = pd.DataFrame({"ethnicity": pd.Categorical(["Black"] * 232 + ["White"] * 578, categories=["White", "Black"])})
    events = relative_rate_index(m, [_city_of_london_2011()], kind="events").set_index("group")
    assert events.loc["Black", "rri"] == pytest.approx(12.060240, rel=1e-6)
    people = relative_rate_index(m, [_city_of_london_2011()]).set_index("group")
    assert people.loc["Black", "flag"] == "not_estimable" and people.loc["Black", "note"].startswith("data error")
