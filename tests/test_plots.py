"""Tests for fairness.plots: small tables built by hand in the audit contract's columns.

Set FAIRNESS_PLOTS_PREVIEW=/some/dir to also write every chart there as PNG
(for looking at them: readable, uncluttered, greyscale-safe).
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402

from fairness import plots  # noqa: E402
from fairness.plots import (  # noqa: E402
    MISSING_COLUMNS_MESSAGE,
    NOT_ESTIMABLE_LABEL,
    SUPPRESSED_LABEL,
    _check_columns,
    composition,
    funnel,
    ratio_forest,
    save_figure,
    share_bars,
    trend,
    use_style,
)

B21, B11 = "residents, Census 2021", "residents, Census 2011"


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# ---------------------------------------------------------------- tables


def representation() -> pd.DataFrame:
    """Two benchmarks; "Not stated" has no census share; "Other" was suppressed."""
    groups = ["White", "Black", "Asian", "Mixed", "Other", "Not stated"]
    count = [451, 2968, 310, 77, "[c]", "[c]"]
    rows = []
    for bench, label, shares, ratios in (
        ("residents_2021", B21, [0.537, 0.135, 0.207, 0.057, 0.063, np.nan],
         [0.22, 5.78, 0.39, 3.6, "[c]", np.nan]),
        ("residents_2011", B11, [0.599, 0.133, 0.184, 0.050, 0.034, np.nan],
         [0.20, 5.87, 0.44, 4.1, "[c]", np.nan]),
    ):
        for g, c, s, r in zip(groups, count, shares, ratios, strict=True):
            rows.append({
                "benchmark": bench, "benchmark_label": label, "group": g, "count": c,
                "n": 3806, "share": np.nan if c == "[c]" else c / 3806, "benchmark_share": s,
                "ratio": r,
                "ci_low": r * 0.93 if isinstance(r, float) and np.isfinite(r) else np.nan,
                "ci_high": r * 1.07 if isinstance(r, float) and np.isfinite(r) else np.nan,
                "method": "katz", "flag": "", "note": "no census share" if g == "Not stated" else "",
            })
    out = pd.DataFrame(rows).astype({"share": object})
    out.loc[out["group"] == "Other", "share"] = "[c]"
    out.loc[out["group"] == "Not stated", "share"] = 0.0
    out.loc[out["group"] == "Not stated", "count"] = 0
    return out


def relative_rate() -> pd.DataFrame:
    groups = ["White", "Black", "Asian", "Mixed", "Other"]
    rri = [1.0, 26.1, 1.74, 6.2, 0.0]
    low = [np.nan, 23.6, 1.53, 4.9, 0.0]
    high = [np.nan, 28.8, 1.98, 7.9, 0.47]
    return pd.DataFrame({
        "benchmark": "residents_2021", "benchmark_label": B21, "group": groups,
        "reference": "White", "count": [451, 2968, 310, 77, 0], "population": 1_000_000,
        "rate_per_1000": np.nan, "rate_low": np.nan, "rate_high": np.nan,
        "rri": rri, "ci_low": low, "ci_high": high, "p_value": 0.01, "p_adjusted": 0.02,
        "method": "katz", "adjust": "holm", "flag": "", "note": "",
    })


BOROUGH_NAMES = [
    "Barking and Dagenham", "Barnet", "Bexley", "Brent", "Bromley", "Camden", "Croydon",
    "Ealing", "Enfield", "Greenwich", "Hackney", "Hammersmith and Fulham", "Haringey",
    "Harrow", "Havering", "Hillingdon", "Hounslow", "Islington", "Kensington and Chelsea",
    "Kingston upon Thames", "Lambeth", "Lewisham", "Merton", "Newham", "Redbridge",
    "Richmond upon Thames", "Southwark", "Sutton", "Tower Hamlets", "Waltham Forest",
    "Wandsworth", "Westminster",
]


def _limits(target: float, grid: np.ndarray, scale: float = 1.0) -> pd.DataFrame:
    """Normal-approximation limits; enough to draw (the library computes the real ones)."""
    p = target / scale
    out = []
    for level, z in ((0.95, 1.959964), (0.998, 3.090232)):
        half = z * np.sqrt(p * (1 - p) / grid)
        out.append(pd.DataFrame({"n": grid, "level": level, "lower": scale * np.clip(p - half, 0, 1),
                                 "upper": scale * np.clip(p + half, 0, 1)}))
    return pd.concat(out, ignore_index=True)


def boroughs_and_limits() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(7)
    frames, limits = [], []
    n = rng.integers(25, 420, size=32)
    for metric, target, scale in (("no_risk_share", 0.38, 1.0), ("rate_per_1000", 0.9, 1000.0)):
        base = n if scale == 1.0 else n * 800
        p = target / scale
        sd = np.sqrt(p * (1 - p) / base)
        value = scale * np.clip(p + sd * rng.normal(0, 1.3, size=32), 0, 1)
        value[[3, 10]] = scale * (p + sd[[3, 10]] * np.array([3.6, 2.3]))
        value[20] = scale * (p - sd[20] * 3.4)
        z = (value / scale - p) / sd
        flag = np.select([z > 3.090232, z > 1.959964, z < -3.090232, z < -1.959964],
                         ["above_99.8", "above_95", "below_99.8", "below_95"], "within")
        frame = pd.DataFrame({
            "metric": metric, "borough": BOROUGH_NAMES, "count": np.round(value / scale * base),
            "n": base, "value": value, "target": target, "z": z, "flag": flag,
        })
        frames.append(frame.astype({"count": object, "n": object, "value": object}))
        grid = np.geomspace(base.min() * 0.6, base.max() * 1.1, 80)
        limits.append(_limits(target, grid, scale).assign(metric=metric))
    boroughs = pd.concat(frames, ignore_index=True)
    # publication mode: Sutton's no-risk count hidden, Merton's value not estimable
    sutton = (boroughs["borough"] == "Sutton") & (boroughs["metric"] == "no_risk_share")
    boroughs.loc[sutton, ["count", "value"]] = "[c]"
    merton = (boroughs["borough"] == "Merton") & (boroughs["metric"] == "no_risk_share")
    boroughs.loc[merton, "value"] = np.nan
    return boroughs, pd.concat(limits, ignore_index=True)


def trends() -> pd.DataFrame:
    quarters = [f"{y}Q{q}" for y in (2016, 2017, 2018) for q in (1, 2, 3, 4)]
    value = np.array([0.78, 0.79, 0.80, 0.79, 0.80, 0.81, 0.80, 0.78, 0.79, 0.80, 0.79, 0.78])
    frame = pd.DataFrame({
        "metric": "black_share", "quarter": quarters[::-1],  # out of order on purpose
        "count": (value * 3500).round()[::-1], "n": 3500, "value": value[::-1],
        "ci_low": value[::-1] - 0.013, "ci_high": value[::-1] + 0.013,
    })
    frame = frame.sort_values("quarter").reset_index(drop=True)
    roll = frame["value"].rolling(4).mean()
    frame["rolling_value"] = roll
    frame["rolling_low"] = roll - 0.007
    frame["rolling_high"] = roll + 0.007
    frame = frame.astype({"value": object, "count": object})
    frame.loc[5, ["value", "count", "ci_low", "ci_high"]] = ["[c]", "[c]", np.nan, np.nan]
    return frame.iloc[::-1].reset_index(drop=True)


def no_risk() -> pd.DataFrame:
    boroughs = ["Hackney", "Haringey", "Lambeth", "Southwark", "Newham", "Brent", "Sutton", "Merton"]
    count = [52, 31, 40, 28, 22, 18, "[c]", 0]
    n = [130, 120, 95, 88, 76, 61, 14, 0]
    share = [c / m if isinstance(c, int) and m else np.nan for c, m in zip(count, n, strict=True)]
    share[6] = "[c]"
    frame = pd.DataFrame({
        "definition": "harm_zero", "by": "borough", "group": boroughs, "count": count, "n": n,
        "share": share, "method": "wilson",
    })
    s = pd.to_numeric(frame["share"], errors="coerce")
    m = pd.to_numeric(frame["n"], errors="coerce").replace(0, np.nan)
    half = 1.96 * np.sqrt(s * (1 - s) / m)
    frame["ci_low"] = (s - half).clip(lower=0)
    frame["ci_high"] = (s + half).clip(upper=1)
    return frame


# ---------------------------------------------------------------- helpers


def _flat(text: str) -> str:
    """Text with line breaks (from wrapping to the figure's width) turned into spaces."""
    return " ".join(text.split())


def _texts(ax: Axes) -> str:
    """Every piece of text on the chart, one per line (title, labels, ticks, legend, annotations)."""
    parts = [ax.get_title("left"), ax.get_xlabel(), ax.get_ylabel()]
    parts += [t.get_text() for t in ax.get_yticklabels() + ax.get_xticklabels()]
    parts += [t.get_text() for t in ax.texts]
    legend = ax.get_legend()
    if legend is not None:
        parts += [t.get_text() for t in legend.get_texts()]
    return "\n".join(_flat(p) for p in parts if p)


def _all_charts():
    b, lim = boroughs_and_limits()
    return {
        "forest_representation": lambda: ratio_forest(representation()),
        "forest_rri": lambda: ratio_forest(relative_rate(), ratio="rri"),
        "funnel_no_risk": lambda: funnel(b, lim, metric="no_risk_share"),
        "funnel_rate": lambda: funnel(b, lim, metric="rate_per_1000"),
        "trend_black_share": lambda: trend(trends(), metric="black_share"),
        "share_bars_no_risk": lambda: share_bars(
            no_risk(), title="People listed with a harm score of zero, by borough"
        ),
        "composition": lambda: composition(representation()),
        "composition_one_benchmark": lambda: composition(
            representation().query("benchmark == 'residents_2021'")
        ),
    }


# ---------------------------------------------------------------- shared behaviour


@pytest.mark.parametrize("name", list(_all_charts()))
def test_each_chart_returns_axes_and_saves_png(name, tmp_path):
    with use_style():
        ax = _all_charts()[name]()
        assert isinstance(ax, Axes)
        path = save_figure(ax, tmp_path / f"{name}.png", dpi=80)
        preview = os.environ.get("FAIRNESS_PLOTS_PREVIEW")
        if preview:
            Path(preview).mkdir(parents=True, exist_ok=True)
            save_figure(ax, Path(preview) / f"{name}.png", dpi=150)
    assert path.stat().st_size > 5_000
    # fits the text width of an A4 page (6.5 in plus the save padding) at 80 dpi
    from PIL import Image

    assert Image.open(path).size[0] <= round((6.5 + 2 * 0.08) * 80) + 1
    assert ax.get_title("left")  # every chart has a title in words, on the left
    assert "_" not in ax.get_title("left")


def test_save_figure_is_byte_identical(tmp_path):
    paths = []
    for i in range(2):
        ax = ratio_forest(representation())
        paths.append(save_figure(ax, tmp_path / f"f{i}.svg"))
        paths.append(save_figure(ax, tmp_path / f"f{i}.pdf"))
    assert paths[0].read_bytes() == paths[2].read_bytes()
    assert paths[1].read_bytes() == paths[3].read_bytes()


def _calls():
    b, lim = boroughs_and_limits()
    return [
        (ratio_forest, (representation(),), {}),
        (ratio_forest, (relative_rate(),), {"ratio": "rri"}),
        (funnel, (b, lim), {"metric": "no_risk_share"}),
        (trend, (trends(),), {"metric": "black_share"}),
        (share_bars, (no_risk(),), {}),
        (composition, (representation(),), {}),
    ]


@pytest.mark.parametrize("i", range(6))
def test_inputs_are_not_mutated(i):
    func, args, kwargs = _calls()[i]
    before = [a.copy(deep=True) for a in args]
    func(*args, **kwargs)
    for a, b in zip(args, before, strict=True):
        pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize("i", range(6))
def test_missing_column_raises_the_shared_message(i):
    func, args, kwargs = _calls()[i]
    first = args[0].drop(columns=[c for c in ("ratio", "rri", "value", "share") if c in args[0]])
    with pytest.raises(ValueError) as err:
        func(first, *args[1:], **kwargs)
    assert str(err.value).startswith("column(s) [")
    assert "the table has columns" in str(err.value)


def test_check_columns_message_lists_the_columns_found():
    table = pd.DataFrame({"group": ["Black"], "share": [0.5]})
    with pytest.raises(ValueError) as err:
        _check_columns(table, "group", "ratio", None, "ci_low")
    assert str(err.value) == MISSING_COLUMNS_MESSAGE.format(
        missing=["ratio", "ci_low"], found=["group", "share"]
    )
    with pytest.raises(TypeError, match="must be a pandas DataFrame"):
        _check_columns([1, 2], "group")


@pytest.mark.parametrize("i", range(6))
def test_empty_tables_draw_no_data(i):
    func, args, kwargs = _calls()[i]
    empty = args[0].iloc[0:0]
    ax = func(empty, *args[1:], **kwargs)
    assert plots.NO_DATA_LABEL in [t.get_text() for t in ax.texts]


def test_suppression_marker_matches_disclosure():
    disclosure = pytest.importorskip("fairness.publish.disclosure")
    assert plots.SUPPRESSED_MARKER == disclosure.MARKER


def test_use_style_restores_rcparams():
    size = matplotlib.rcParams["font.size"]
    with use_style({"font.size": 13}):
        assert matplotlib.rcParams["font.size"] == 13
        assert matplotlib.rcParams["axes.spines.top"] is False
    assert matplotlib.rcParams["font.size"] == size


def test_draws_on_the_axes_given():
    fig, (a, b) = plt.subplots(1, 2)
    assert ratio_forest(representation(), ax=b) is b
    assert not a.lines


# ---------------------------------------------------------------- ratio_forest


def test_forest_names_benchmarks_counts_and_scale():
    ax = ratio_forest(representation())
    text = _texts(ax)
    assert f"benchmark: {B21}" in text and f"benchmark: {B11}" in text
    assert "ratio (log scale)" in ax.get_xlabel()
    assert ax.get_xscale() == "log"
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[:2] == ["White (n = 451)", "Black (n = 2,968)"]
    assert labels[4] == "Other (n suppressed)"


def test_forest_labels_nan_and_suppressed_rows():
    ax = ratio_forest(representation())
    texts = [t.get_text() for t in ax.texts]
    # Other suppressed, Not stated (count 0, no census share) not estimable under
    # both benchmarks: one text per row
    assert sorted(texts) == [NOT_ESTIMABLE_LABEL, SUPPRESSED_LABEL]
    # estimable under one benchmark only: the other is named
    table = representation().astype({"ratio": object})
    table.loc[(table.group == "Mixed") & (table.benchmark == "residents_2011"), "ratio"] = np.nan
    texts = [t.get_text() for t in ratio_forest(table).texts]
    assert f"{B11}: {NOT_ESTIMABLE_LABEL}" in texts
    one = ratio_forest(representation().query("benchmark == 'residents_2021'"))
    assert sorted(t.get_text() for t in one.texts) == [NOT_ESTIMABLE_LABEL, SUPPRESSED_LABEL]
    assert B21 in _flat(one.get_xlabel())


def test_forest_rri_names_reference_and_clips_open_intervals():
    ax = ratio_forest(relative_rate(), ratio="rri")
    assert "rate for White people" in _flat(ax.get_xlabel())
    assert B21 in _flat(ax.get_xlabel())
    assert "White" in ax.get_title("left")
    assert "White (n = 451)\nreference group" == ax.get_yticklabels()[0].get_text()
    # "Other" has rri 0: its interval is drawn to the left edge with an arrow, not dropped
    assert any(line.get_marker() == "<" for line in ax.lines)
    lo, hi = ax.get_xlim()
    assert lo > 0 and hi > 28.8


def test_forest_reference_row_left_blank_is_not_called_not_estimable():
    table = relative_rate().astype({"rri": object})
    table.loc[0, "rri"] = np.nan
    ax = ratio_forest(table, ratio="rri")
    assert [t.get_text() for t in ax.texts if t.get_text() != "estimate 0"] == [
        plots.REFERENCE_LABEL
    ]


def test_forest_linear_scale_and_no_band():
    ax = ratio_forest(representation(), log=False, parity_band=None)
    assert ax.get_xscale() == "linear"
    assert "log" not in ax.get_xlabel()
    assert not ax.patches


@pytest.mark.parametrize("band", [(1.2, 1.5), (0.8,), "wide", (0.5, float("inf"))])
def test_forest_bad_parity_band(band):
    with pytest.raises(ValueError, match="parity_band must be two numbers"):
        ratio_forest(representation(), parity_band=band)


def test_forest_duplicate_rows_raise():
    table = representation().drop(columns=["benchmark"])
    with pytest.raises(ValueError, match="groups repeat in the table"):
        ratio_forest(table)


# ---------------------------------------------------------------- funnel


def test_funnel_share_labels_limits_and_flags():
    b, lim = boroughs_and_limits()
    ax = funnel(b, lim, metric="no_risk_share")
    assert ax.get_xlabel().startswith("people listed in borough (n)")
    assert ax.get_ylabel() == "share of people listed (%)"
    assert ax.yaxis.get_major_formatter().__class__.__name__ == "PercentFormatter"
    text = _texts(ax)
    assert "95% limits" in text and "99.8% limits" in text
    assert "London overall (38%)" in text
    annotated = {t.get_text() for t in ax.texts}
    rows = b[(b.metric == "no_risk_share") & ~b.flag.isin(["within"])]
    rows = rows[~rows.borough.isin(["Sutton", "Merton"])]
    assert annotated == set(rows.borough)
    # unplaceable boroughs are named under the axis
    assert f"{SUPPRESSED_LABEL}: Sutton" in _flat(ax.get_xlabel())
    assert f"{NOT_ESTIMABLE_LABEL}: Merton" in _flat(ax.get_xlabel())


def test_funnel_flags_differ_by_marker_not_only_colour():
    markers = {}
    for flag, style in plots.FLAG_STYLES.items():
        markers[flag] = (style["marker"], style["filled"])
    assert len(set(markers.values())) == len(markers)


def test_funnel_rate_units_and_options():
    b, lim = boroughs_and_limits()
    ax = funnel(b, lim, metric="rate_per_1000", annotate="none", xlabel="residents aged 10+")
    assert ax.get_ylabel() == "listed per 1,000 residents"
    assert ax.get_xlabel() == "residents aged 10+"
    assert not ax.texts
    ax = funnel(b, lim, metric="rate_per_1000", annotate="all")
    assert len(ax.texts) == 32
    with pytest.raises(ValueError, match="annotate='some' is not valid"):
        funnel(b, lim, metric="rate_per_1000", annotate="some")
    with pytest.raises(ValueError, match="metric 'green_share' is not in the table"):
        funnel(b, lim, metric="green_share")


# ---------------------------------------------------------------- trend


def test_trend_orders_quarters_and_labels_suppressed():
    ax = trend(trends(), metric="black_share")
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks[-1] == "2018 Q4" and ticks[0] < ticks[-1]
    assert len(ticks) <= 8
    assert f"{SUPPRESSED_LABEL} (2017 Q2)" in _texts(ax)
    assert ax.get_ylabel() == "share of people listed (%)"
    assert "rolling four quarters" in _texts(ax)
    assert ax.collections  # the interval band


def test_trend_without_rolling_columns():
    ax = trend(trends().drop(columns=["rolling_value", "rolling_low", "rolling_high"]),
               metric="black_share")
    assert "rolling" not in _texts(ax)
    ax = trend(trends(), metric="black_share", rolling=False)
    assert "rolling" not in _texts(ax)


def test_trend_other_metric_is_not_a_percentage():
    frame = trends().assign(metric="days_since_review")
    frame = frame.assign(value=pd.to_numeric(frame["value"], errors="coerce") * 100 - 80)
    frame = frame.assign(ci_low=frame["value"] - 1, ci_high=frame["value"] + 1)
    ax = trend(frame, metric="days_since_review", rolling=False)
    assert ax.get_ylabel() == "days since review"
    assert ax.yaxis.get_major_formatter().__class__.__name__ != "PercentFormatter"
    assert ax.get_ylim()[0] < 0  # values go below zero: the axis is not clamped


def test_trend_range_keeps_ten_points_for_shares():
    from fairness.plots import _trend_range

    lo, hi = _trend_range(np.array([0.78, 0.80]), share=True)
    assert hi - lo == pytest.approx(0.10) and lo == pytest.approx(0.74)
    assert _trend_range(np.array([0.01, 0.02]), share=True)[0] == 0.0
    assert _trend_range(np.array([0.97, 0.99]), share=True)[1] == 1.0
    assert _trend_range(np.array([np.nan]), share=True) == (0.0, 1.0)


def test_funnel_with_every_borough_suppressed_still_draws():
    b, lim = boroughs_and_limits()
    b = b.astype({"value": object})
    b.loc[b.metric == "no_risk_share", "value"] = "[c]"
    ax = funnel(b, lim, metric="no_risk_share")
    # more than three: counted under the axis, named in the report's note (issue 12)
    assert "boroughs (named in the note)" in _flat(ax.get_xlabel())
    assert "Barking and Dagenham" not in ax.get_xlabel()
    assert not ax.collections


# ---------------------------------------------------------------- share_bars and composition


def test_share_bars_counts_percentages_and_suppression():
    ax = share_bars(no_risk())
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[0] == "Hackney (52 of 130)"
    assert labels[6] == "Sutton (n = 14)"
    texts = [t.get_text() for t in ax.texts]
    assert SUPPRESSED_LABEL in texts and NOT_ESTIMABLE_LABEL in texts
    assert "40%" in texts  # Hackney 52/130
    assert "confidence interval (wilson)" in _texts(ax)
    assert ax.get_xlabel() == "share of people listed (%)"


def test_share_bars_hue_dodges_and_duplicates_raise():
    two = pd.concat([no_risk(), no_risk().assign(definition="green_band")], ignore_index=True)
    with pytest.raises(ValueError, match="labels repeat"):
        share_bars(two)
    ax = share_bars(two, hue="definition")
    assert {"harm_zero", "green_band"} <= set(_texts(ax).split("\n"))


def test_composition_names_benchmarks():
    ax = composition(representation())
    text = _texts(ax)
    assert B21 in text and B11 in text
    assert "people on the list (n = 3,806)" in text
    assert ax.get_xlabel() == "share of each population (%)"
    one = composition(representation().query("benchmark == 'residents_2021'"),
                      benchmark_label="London residents (Census 2021)")
    assert "London residents (Census 2021)" in _flat(one.get_title("left"))
    with pytest.raises(ValueError, match="benchmark_label="):
        composition(representation(), benchmark_label="residents")


def test_funnel_names_keep_clear_of_the_limit_lines():
    """A name is moved off a limit line when a clear place exists (issue 13: names touched the lines)."""
    from fairness.plots import _line_samples, _place_labels

    fig, ax = plt.subplots(figsize=(4, 3))
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 1)
    ax.plot([0, 10], [0.5, 0.5])  # a limit line through the point: right of it, the name would sit on the line
    _place_labels(ax, np.array([5.0]), np.array([0.505]), ["Kingston upon Thames"], np.array([5.0]),
                  np.array([0.505]), lines=[(np.array([0.0, 10.0]), np.array([0.5, 0.5]))])
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    (label,) = ax.texts
    box = label.get_window_extent(renderer)
    line = _line_samples(ax, [(np.array([0.0, 10.0]), np.array([0.5, 0.5]))], ax.get_window_extent(renderer))[0]
    inside = (line[:, 0] > box.x0) & (line[:, 0] < box.x1) & (line[:, 1] > box.y0) & (line[:, 1] < box.y1)
    assert not inside.any()
    assert box.x0 <= ax.transData.transform((5.0, 0.505))[0] + 20  # still beside its point


def test_funnel_counts_suppressed_boroughs_when_the_note_names_them():
    b, lim = boroughs_and_limits()
    ax = funnel(b, lim, metric="no_risk_share", suppressed_in_note=True)
    label = _flat(ax.get_xlabel())
    assert f"{SUPPRESSED_LABEL}: 1 borough (named in the note)" in label
    assert "Sutton" not in label  # the suppressed one is named in the note, not on the axis
    assert f"{NOT_ESTIMABLE_LABEL}: Merton" in label  # not estimable: still named (no note lists it)


def test_funnel_draws_limits_that_lie_outside_the_points():
    """2023Q4 of the default history: seven boroughs between 0% and 28% no risk, with so much
    over-dispersion that the 95% limits at the largest borough were 0% and 56%; the axis was set from the
    points alone, so the legend listed limits the chart did not show. The axis now reaches the limits at
    the largest placed size (shares kept within 0% to 100%)."""
    b = pd.DataFrame({
        "borough": ["A", "B", "C", "D"],
        "n": [12, 15, 65, 68],
        "metric": "no_risk_share",
        "value": [0.0, 0.0, 0.277, 0.206],
        "flag": ["within"] * 4,
    })
    sizes = np.array([5.0, 20.0, 40.0, 80.0])
    lim = pd.concat([
        pd.DataFrame({"n": sizes, "level": 0.95, "lower": [-0.6, -0.3, -0.2, -0.1], "upper": [0.9, 0.7, 0.6, 0.5]}),
        pd.DataFrame({"n": sizes, "level": 0.998, "lower": [-0.9, -0.5, -0.4, -0.3], "upper": [1.2, 0.9, 0.8, 0.7]}),
    ], ignore_index=True)
    lim["metric"] = "no_risk_share"
    ax = funnel(b, lim, metric="no_risk_share", target=0.12)
    lo, hi = ax.get_ylim()
    # at n = 68 (interpolated between 40 and 80): 95% upper 0.6 - 0.1 * 28/40 = 0.53, 99.8% upper 0.73
    assert lo == 0.0
    assert 0.73 < hi <= 1.0
    # shares never run past 100%
    far = lim.assign(upper=lim["upper"] + 1.0)
    assert funnel(b, far, metric="no_risk_share", target=0.12).get_ylim()[1] <= 1.0
    plt.close("all")


def test_percent_axis_ticks_fall_on_whole_percents():
    """A 10%-32% axis was ticked every 2.5 points and printed "12%, 15%, 18%" (2023Q4 funnel, issue 13)."""
    from fairness.plots import _percent_axis

    fig, ax = plt.subplots()
    ax.set_ylim(0.10, 0.32)
    _percent_axis(ax.yaxis)
    fig.canvas.draw()
    ticks = [t for t in ax.get_yticks() if 0.10 - 1e-9 <= t <= 0.32 + 1e-9]
    assert [round(100 * t, 6) for t in ticks] == [10, 15, 20, 25, 30]
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert len(set(labels)) == len(labels)


def test_a_cluster_of_flagged_points_gets_names_that_do_not_overlap():
    """Five boroughs at 0% with 11-17 people (2023Q4 of the default history): the names were drawn on top of
    each other; now each has its own place, joined to its point by a leader line when further out."""
    from fairness.plots import _place_labels

    fig, ax = plt.subplots(figsize=(6.5, 4.6), layout="constrained")
    ax.set_xlim(0, 75)
    ax.set_ylim(0, 0.33)
    xs = np.array([14.0, 17.0, 11.0, 15.0, 13.0])
    ys = np.zeros(5)
    names = ["Hammersmith and Fulham", "Harrow", "Hounslow", "Islington", "Westminster"]
    ax.scatter(xs, ys)
    _place_labels(ax, xs, ys, names, xs, ys)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in ax.texts if not t.arrow_patch] + [
        matplotlib.text.Text.get_window_extent(t, renderer) for t in ax.texts if t.arrow_patch]
    assert len(ax.texts) == 5
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
    axes = ax.get_window_extent(renderer)
    assert all(b.y0 >= axes.y0 - 1 for b in boxes)  # none below the axis
