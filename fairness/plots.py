"""Charts of the audit's result tables, for reports that are published and printed.

Every function takes one tidy table from :class:`fairness.AuditResult` (the
columns are in ``docs/audit_contract.md``) and the names of its columns,
draws, and returns the :class:`~matplotlib.axes.Axes`. Nothing statistical
happens here: intervals, funnel limits, flags and rolling values come from the
library; the plots only draw them.

The charts are made to survive a black-and-white printer: colours come from
the Okabe--Ito colour-blind-safe palette and every series is also told apart
by its marker, line style or hatching, never by colour alone. Every number is
drawn with its interval and its count; a ratio names its benchmark and its
reference group. Rows that cannot be estimated, or that disclosure control
has hidden (the marker ``"[c]"`` or NaN in a published table), are labelled on
the chart, never silently dropped. No function mutates its input.

``ax=None`` makes a new figure sized to the content (not the seaborn habit of
drawing on the current axes: a report script that draws many charts should
never draw one on top of another). Wrap drawing and saving in
:func:`use_style` for print-ready fonts, and save with :func:`save_figure` for
byte-identical files.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import pandas as pd
>>> from fairness.plots import ratio_forest, use_style
>>> rep = pd.DataFrame({"benchmark": ["residents_2021"] * 2,
...                     "benchmark_label": ["residents, Census 2021"] * 2,
...                     "group": ["Black", "White"], "count": [2968, 451],
...                     "ratio": [5.5, 0.35], "ci_low": [5.3, 0.32], "ci_high": [5.7, 0.38]})
>>> with use_style():
...     ax = ratio_forest(rep)
>>> ax.get_yticklabels()[0].get_text()
'Black (n = 2,968)'
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from os import PathLike
from pathlib import Path
from typing import Literal

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from cycler import cycler
from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.text import Text
from matplotlib.ticker import (
    AutoLocator,
    FixedLocator,
    FuncFormatter,
    MultipleLocator,
    NullLocator,
    PercentFormatter,
)
from matplotlib.transforms import ScaledTranslation, blended_transform_factory

from fairness.definitions import DEFAULT_SUPPRESSION_THRESHOLD

__all__ = [
    "FLAG_STYLES",
    "METRIC_DESCRIPTIONS",
    "MISSING_COLUMNS_MESSAGE",
    "NOT_ESTIMABLE_LABEL",
    "PALETTE",
    "SERIES_COLOURS",
    "SERIES_HATCHES",
    "SERIES_LINESTYLES",
    "SERIES_MARKERS",
    "STYLE",
    "SUPPRESSED_LABEL",
    "SUPPRESSED_MARKER",
    "ABSENT_LABEL",
    "composition",
    "funnel",
    "headline_trend",
    "headline_trend_png",
    "ratio_forest",
    "save_figure",
    "share_bars",
    "trend",
    "use_style",
]

# --------------------------------------------------------------------------
# Messages (tests compare against these: change them here and nowhere else)
# --------------------------------------------------------------------------

#: Raised by every plot function when the table lacks a column it was told to use.
MISSING_COLUMNS_MESSAGE = (
    "column(s) {missing} not found in the table; the table has columns {found}. "
    "Pass the right names with the column keywords (e.g. value=, label=)."
)
#: Raised when something other than a DataFrame is passed as a table.
NOT_A_DATAFRAME_MESSAGE = "the table must be a pandas DataFrame, not {type}"
#: Raised for an option outside its valid values.
UNKNOWN_OPTION_MESSAGE = "{name}={value!r} is not valid; valid values are {valid}"
#: Raised for a bad parity band.
PARITY_BAND_MESSAGE = "parity_band must be two numbers with 0 < low <= 1 <= high; got {value!r}"
#: Raised when a label appears on more than one row of what should be one series.
DUPLICATE_ROWS_MESSAGE = (
    "{what} repeat in the table: {repeated}; filter it to one row per {per} before plotting"
)
#: Raised when ``metric`` names a metric that the table does not have.
UNKNOWN_METRIC_MESSAGE = "metric {metric!r} is not in the table; its metrics are {valid}"

# --------------------------------------------------------------------------
# Palette and style
# --------------------------------------------------------------------------

#: Okabe & Ito (2008), "Color Universal Design": distinguishable with every
#: common colour-vision deficiency. Grey levels (0.299R + 0.587G + 0.114B) in
#: the comments: pick far-apart ones when only two series are drawn.
PALETTE: dict[str, str] = {
    "black": "#000000",  # 0
    "blue": "#0072B2",  # 87
    "green": "#009E73",  # 106
    "vermillion": "#D55E00",  # 119
    "purple": "#CC79A7",  # 151
    "sky": "#56B4E9",  # 158
    "orange": "#E69F00",  # 162
    "yellow": "#F0E442",  # 213 (too light for lines on white: fills only)
}
#: Neutral inks for reference lines, text and shading.
INK = "#222222"
GREY = "#707070"
LIGHT_GREY = "#E6E6E6"

#: Series (benchmarks, hue levels) in order: colour, marker, line style and
#: hatching change together, so any one of them is enough to tell series apart.
SERIES_COLOURS: tuple[str, ...] = (
    PALETTE["blue"],
    PALETTE["orange"],
    PALETTE["black"],
    PALETTE["purple"],
    PALETTE["green"],
    PALETTE["sky"],
)
SERIES_MARKERS: tuple[str, ...] = ("o", "s", "^", "D", "v", "P")
SERIES_LINESTYLES: tuple = ("-", "--", ":", "-.", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 3)))
SERIES_HATCHES: tuple[str, ...] = ("", "////", "....", "xxxx", "\\\\\\\\", "++++")

#: Marker, fill, colour and legend text of each funnel flag. Above and below
#: differ by triangle direction, 95% and 99.8% by open versus filled.
FLAG_STYLES: dict[str, dict] = {
    "above_99.8": {
        "marker": "^",
        "color": PALETTE["vermillion"],
        "filled": True,
        "size": 46,
        "text": "above 99.8% limit",
    },
    "above_95": {
        "marker": "^",
        "color": PALETTE["vermillion"],
        "filled": False,
        "size": 40,
        "text": "above 95% limit",
    },
    "within": {
        "marker": "o",
        "color": GREY,
        "filled": True,
        "size": 20,
        "text": "within 95% limits",
    },
    "below_95": {
        "marker": "v",
        "color": PALETTE["blue"],
        "filled": False,
        "size": 40,
        "text": "below 95% limit",
    },
    "below_99.8": {
        "marker": "v",
        "color": PALETTE["blue"],
        "filled": True,
        "size": 46,
        "text": "below 99.8% limit",
    },
}
_FLAGS_NOT_ANNOTATED = frozenset({"within", "not_estimable"})

#: rcParams of the house style: print-sized fonts, no chart junk, fonts
#: embedded as text in PDF and SVG output, a fixed SVG id salt so files are
#: reproducible.
STYLE: dict[str, object] = {
    "font.family": "sans-serif",
    "font.size": 10,
    "axes.titlesize": 12,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.titlepad": 10,
    "axes.labelsize": 10,
    "axes.labelcolor": INK,
    "axes.edgecolor": "#555555",
    "axes.linewidth": 0.8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": cycler(color=SERIES_COLOURS),
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "xtick.color": INK,
    "ytick.color": INK,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "lines.linewidth": 1.6,
    "figure.dpi": 100,
    "savefig.dpi": 300,
    "savefig.bbox": "tight",
    "savefig.pad_inches": 0.08,
    "pdf.fonttype": 42,
    "ps.fonttype": 42,
    "svg.fonttype": "none",
    "svg.hashsalt": "fairness",
    "image.cmap": "cividis",
}

#: What a cell hidden by disclosure control shows (the ONS symbol for
#: "confidential"; the same as ``fairness.publish.disclosure.MARKER``).
SUPPRESSED_MARKER = "[c]"
#: Drawn on a row whose number was hidden by disclosure control. Secondary
#: suppression also hides counts of 10 or more (so that a small one cannot be
#: worked out), so the text does not claim that the hidden count is small.
SUPPRESSED_LABEL = f"suppressed to protect counts under {DEFAULT_SUPPRESSION_THRESHOLD}"
#: Drawn on a row whose number could not be estimated (NaN, with the reason in ``note``).
NOT_ESTIMABLE_LABEL = "not estimable"
#: Drawn on the reference group's row of a rate ratio when its ratio is left blank.
REFERENCE_LABEL = "ratio 1 by definition"
#: Drawn on an empty chart.
NO_DATA_LABEL = "No data to plot"

#: Words for the metric names used in ``boroughs`` and ``trends``; unknown
#: names fall back to the name with spaces.
METRIC_DESCRIPTIONS: dict[str, str] = {
    "no_risk_share": "share of people listed scored as no risk",
    "black_share": "share of people listed who are {share_group}",  # the place's share group
    "green_share": "share of people listed in the Green (lowest) risk band",
    "rate_per_1000": "people listed per 1,000 residents",
}

_FIG_WIDTH = 6.5  # inches: the text width of an A4 page with 2.5 cm margins
_MAX_FIG_HEIGHT = 9.0  # inches: leaves room for a caption on an A4 page

AnnotateOption = Literal["flagged", "all", "none"]
_ANNOTATE_OPTIONS: tuple[str | None, ...] = ("flagged", "all", "none", None)


@contextmanager
def use_style(rc: Mapping[str, object] | None = None) -> Iterator[None]:
    """Draw (and save) in the house style: print-sized fonts, no chart junk.

    ``rc`` overrides single rcParams of :data:`STYLE`. Create *and save* the
    figure inside the ``with`` block: some settings apply when the file is
    written. Settings are restored on leaving the block.

    >>> import matplotlib as mpl
    >>> with use_style({"font.size": 11}):
    ...     mpl.rcParams["font.size"]
    11.0
    """
    with mpl.rc_context({**STYLE, **(rc or {})}):
        yield


def save_figure(
    figure: Axes | Figure, path: str | PathLike[str], *, dpi: int | None = None
) -> Path:
    """Save a chart so that the same chart always gives the same bytes.

    Drops the creation dates that PDF and SVG writers put in files. Returns
    the path. ``figure`` may be the Axes a plot function returned.
    """
    fig = figure.figure if isinstance(figure, Axes) else figure
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower()
    metadata = {"pdf": {"CreationDate": None, "ModDate": None}, "svg": {"Date": None}}.get(fmt)
    kwargs: dict[str, object] = {"bbox_inches": "tight"}
    if dpi is not None:
        kwargs["dpi"] = dpi
    if metadata is not None:
        kwargs["metadata"] = metadata
    with mpl.rc_context({"svg.hashsalt": STYLE["svg.hashsalt"]}):
        fig.savefig(path, **kwargs)
    return path


# --------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------


def _check_columns(table: pd.DataFrame, *cols: str | None) -> None:
    """Raise the same ValueError from every plot function when columns are missing.

    ``None`` entries (optional columns switched off) are skipped.
    """
    if not isinstance(table, pd.DataFrame):
        raise TypeError(NOT_A_DATAFRAME_MESSAGE.format(type=type(table).__name__))
    missing = [c for c in cols if c is not None and c not in table.columns]
    if missing:
        raise ValueError(
            MISSING_COLUMNS_MESSAGE.format(missing=missing, found=[str(c) for c in table.columns])
        )


def _check_option(name: str, value, valid) -> None:
    if value not in valid:
        raise ValueError(UNKNOWN_OPTION_MESSAGE.format(name=name, value=value, valid=list(valid)))


def _is_marker(raw: pd.Series) -> np.ndarray:
    return np.fromiter(
        (isinstance(v, str) and v.strip() == SUPPRESSED_MARKER for v in raw),
        dtype=bool,
        count=len(raw),
    )


def _numeric(table: pd.DataFrame, col: str) -> np.ndarray:
    """The column as floats: ``"[c]"`` and other text become NaN."""
    return pd.to_numeric(table[col], errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _hidden(table: pd.DataFrame, col: str | None) -> np.ndarray:
    """Rows whose ``col`` is the suppression marker or missing (publication tables)."""
    if col is None or col not in table.columns:
        return np.zeros(len(table), dtype=bool)
    return _is_marker(table[col]) | np.isnan(_numeric(table, col))


def _status(
    table: pd.DataFrame, value: str, counts: tuple[str | None, ...] = (), note: str = "note"
) -> np.ndarray:
    """Per row: ``"ok"``, ``"suppressed"`` or ``"not_estimable"``.

    A row is drawn when ``value`` is a number. Otherwise it was suppressed if
    ``value`` is the marker, a count column is the marker or missing, or the
    ``note`` mentions suppression; else it is not estimable.
    """
    present = ~np.isnan(_numeric(table, value))
    suppressed = _is_marker(table[value])
    for col in counts:
        suppressed |= _hidden(table, col)
    if note in table.columns:
        suppressed |= (
            table[note].astype("string").str.contains("suppress", case=False).fillna(False)
        ).to_numpy(dtype=bool)
    return np.where(present, "ok", np.where(suppressed, "suppressed", "not_estimable"))


def _row_text(status: str) -> str:
    return {"suppressed": SUPPRESSED_LABEL, "reference": REFERENCE_LABEL}.get(
        status, NOT_ESTIMABLE_LABEL
    )


def _fmt_int(value: float) -> str:
    return f"{value:,.0f}"


def _fmt_pct(value: float) -> str:
    return f"{value:.1%}" if abs(value) < 0.1 else f"{value:.0%}"


def _with_count(label: object, count: float | None, hidden: bool, *, name: str = "n") -> str:
    """``"Black (n = 2,968)"``; ``"Mixed (n suppressed)"``; just the label without counts."""
    if hidden:
        return f"{label} ({name} suppressed)"
    if count is None or not np.isfinite(count):
        return str(label)
    return f"{label} ({name} = {_fmt_int(count)})"


def _place(place: object = None):
    """A :class:`fairness.results.sentences.Place` from a Place, a place name, or None (London)."""
    from fairness.results.sentences import Place

    if isinstance(place, Place):
        return place
    return Place() if place in (None, "London") else Place(name=str(place))


def _listed(where) -> str:
    """"listed" for the London list (people listed), else the profile's unit ("searches")."""
    return "listed" if where.is_default else where.unit


def _words(metric: str, where=None) -> str:
    where = _place(where)
    text = where.fill(METRIC_DESCRIPTIONS.get(metric, str(metric).replace("_", " ")))
    return text if where.is_default else text.replace("people listed", where.unit)


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def _is_rate(metric: str) -> bool:
    m = str(metric).lower()
    return "rate" in m or "per_1000" in m or "per_100" in m


def _is_share(metric: str) -> bool:
    m = str(metric).lower()
    return "share" in m or "proportion" in m


def _percent_axis(axis) -> None:
    """Fractions shown as percent; whole percents unless the axis spans under 3 points.

    Call after the axis limits are set.
    """
    lo, hi = axis.get_view_interval()
    whole = abs(hi - lo) >= 0.03
    if whole and type(axis.get_major_locator()) is AutoLocator:
        # ticks on whole percents (the default 2.5-point steps read "12%, 15%, 18%")
        span = abs(hi - lo) * 100
        step = next((s for s in (1, 2, 5, 10, 20, 25, 50) if span / s <= 8), 100)
        axis.set_major_locator(MultipleLocator(step / 100))
    axis.set_major_formatter(PercentFormatter(1.0, decimals=0 if whole else 1))


def _new_axes(ax: Axes | None, height: float, width: float = _FIG_WIDTH) -> Axes:
    """``ax``, or a new figure in the house width; at most 9 inches high (an A4 page)."""
    if ax is not None:
        return ax
    _, new = plt.subplots(figsize=(width, min(height, _MAX_FIG_HEIGHT)), layout="constrained")
    return new


def _no_data(ax: Axes, title: str | None, message: str = NO_DATA_LABEL) -> Axes:
    ax.text(
        0.5,
        0.5,
        message,
        transform=ax.transAxes,
        ha="center",
        va="center",
        color=GREY,
        fontsize="large",
        wrap=True,
    )
    ax.set_xticks([])
    ax.set_yticks([])
    for side in ("left", "bottom"):
        ax.spines[side].set_visible(False)
    if title:
        ax.set_title(title, loc="left")
    _fit_text(ax)
    return ax


def _points(size) -> float:
    return FontProperties(size=size).get_size_in_points()


def _wrap_to(text: str, fits) -> str:
    """Wrap each line of ``text`` at fewer and fewer characters until ``fits(text)``."""
    if not text or fits(text):
        return text
    longest = max(len(line) for line in text.split("\n"))
    wrapped = text
    for width in range(longest - 1, 19, -1):
        wrapped = "\n".join(textwrap.fill(line, width) for line in text.split("\n"))
        if fits(wrapped):
            return wrapped
    return wrapped


def _fit_text(ax: Axes) -> None:
    """Wrap the title and x label so that they stay inside the figure.

    The title starts at the axes' left edge and may run to the figure's right
    edge; the x label is centred on the axes. A label wider than that would
    make the saved file wider than the page column (or squeeze the axes).
    """
    fig = ax.figure
    if fig.get_layout_engine() is not None:
        fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    box = ax.get_window_extent(renderer)
    fig_width = fig.bbox.width
    margin = 4 * fig.dpi / 72

    def width_of(text: str, prop) -> float:
        return max(
            renderer.get_text_width_height_descent(line, prop, ismath=False)[0]
            for line in text.split("\n")
        )

    title_prop = ax.title.get_fontproperties()
    title = ax.get_title("left")
    fitted = _wrap_to(title, lambda t: width_of(t, title_prop) <= fig_width - box.x0 - margin)
    if fitted != title:
        ax.set_title(fitted, loc="left")
    centre = (box.x0 + box.x1) / 2
    room = 2 * min(centre, fig_width - centre) - 2 * margin
    label_prop = ax.xaxis.label.get_fontproperties()
    xlabel = ax.get_xlabel()
    fitted = _wrap_to(xlabel, lambda t: width_of(t, label_prop) <= room)
    if fitted != xlabel:
        ax.set_xlabel(fitted)


def _legend_below(ax: Axes, handles: list, labels: list[str], *, ncol: int | None = None):
    """A frameless legend under the x-axis label, clear of the tick and axis labels.

    The offset is worked out in points from the font sizes and the number of
    lines in the x label, so it does not depend on the figure's size.
    """
    _fit_text(ax)
    if not handles:
        return None
    xlabel_lines = ax.get_xlabel().count("\n") + 1 if ax.get_xlabel() else 0
    ticks = ax.xaxis.get_ticklabels()
    tick_size = _points(ticks[0].get_fontsize()) if ticks else _points(mpl.rcParams["xtick.labelsize"])
    offset = (
        mpl.rcParams["xtick.major.size"]
        + mpl.rcParams["xtick.major.pad"]
        + 1.25 * tick_size
        + ax.xaxis.labelpad
        + 1.25 * xlabel_lines * _points(ax.xaxis.label.get_fontsize())
        + 4
    )
    fig = ax.figure
    shift = ScaledTranslation(0, -offset / 72, fig.dpi_scale_trans)
    if fig.get_layout_engine() is not None:
        fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    width = ax.get_window_extent(renderer).width
    # as many columns as fit under the axes: a wider legend would squeeze the axes
    for cols in range(ncol or min(len(handles), 3), 0, -1):
        legend = ax.legend(
            handles,
            labels,
            loc="upper center",
            bbox_to_anchor=(0.5, 0.0),
            bbox_transform=ax.transAxes + shift,
            ncol=cols,
            frameon=False,
            handlelength=2.4,
            columnspacing=1.6,
            borderaxespad=0.0,
        )
        if cols == 1 or legend.get_window_extent(renderer).width <= 1.02 * width:
            break
    return legend


def _unique_text(table: pd.DataFrame, col: str | None) -> str | None:
    if col is None or col not in table.columns:
        return None
    values = table[col].dropna().astype(str).unique()
    return values[0] if len(values) == 1 else None


def _select_metric(table: pd.DataFrame, metric: str, what: str) -> pd.DataFrame:
    if "metric" not in table.columns or table.empty:
        return table
    chosen = table[table["metric"].astype(str) == str(metric)]
    if chosen.empty:
        valid = sorted(table["metric"].dropna().astype(str).unique())
        raise ValueError(UNKNOWN_METRIC_MESSAGE.format(metric=metric, valid=valid) + f" ({what})")
    return chosen


def _check_unique(table: pd.DataFrame, cols: list[str], what: str, per: str) -> None:
    dup = table.duplicated(subset=cols, keep=False)
    if dup.any():
        repeated = sorted({" / ".join(map(str, r)) for r in table.loc[dup, cols].itertuples(index=False)})
        raise ValueError(DUPLICATE_ROWS_MESSAGE.format(what=what, repeated=repeated, per=per))


def _series_names(table: pd.DataFrame, col: str | None, label_col: str | None) -> dict[str, str]:
    """Series value -> display name (from ``label_col`` when the table has it)."""
    if col is None or col not in table.columns:
        return {}
    names: dict[str, str] = {}
    for key, rows in table.groupby(table[col].astype(str), sort=False):
        name = None
        if label_col is not None and label_col in rows.columns:
            found = rows[label_col].dropna().astype(str)
            name = found.iloc[0] if len(found) else None
        names[key] = name or str(key)
    return names


def _status_text(
    ax: Axes, x: float, y: float, text: str, *, color: str = INK, halo: bool = False, **kwargs
) -> None:
    if halo:
        kwargs["bbox"] = {"facecolor": "white", "edgecolor": "none", "pad": 1.0}
    ax.text(
        x,
        y,
        text,
        ha=kwargs.pop("ha", "left"),
        va="center",
        fontsize="small",
        fontstyle="italic",
        color=color,
        **kwargs,
    )


def _label_missing(
    ax: Axes,
    groups: list[str],
    group_of: np.ndarray,
    series_of: np.ndarray,
    status: np.ndarray,
    offset_of: Mapping,
    series_name: Mapping,
) -> None:
    """Say on the chart why rows are not drawn: one text for a row when every
    series says the same, else one per series, named."""
    text_x = blended_transform_factory(ax.transAxes, ax.transData)
    n_series = len(offset_of)
    for row, g in enumerate(groups):
        missing = [i for i in np.flatnonzero(group_of == g) if status[i] != "ok"]
        if not missing:
            continue
        if len(missing) == n_series and len({status[i] for i in missing}) == 1:
            _status_text(ax, 0.015, row, _row_text(status[missing[0]]), transform=text_x, halo=True)
            continue
        for i in missing:
            prefix = f"{series_name[series_of[i]]}: " if n_series > 1 else ""
            y = row + offset_of[series_of[i]]
            _status_text(ax, 0.015, y, prefix + _row_text(status[i]), transform=text_x, halo=True)


# --------------------------------------------------------------------------
# Forest plot of ratios
# --------------------------------------------------------------------------


def _check_parity_band(parity_band) -> tuple[float, float] | None:
    if parity_band is None:
        return None
    try:
        low, high = (float(v) for v in parity_band)
    except (TypeError, ValueError):
        raise ValueError(PARITY_BAND_MESSAGE.format(value=parity_band)) from None
    if not (0 < low <= 1 <= high < math.inf):
        raise ValueError(PARITY_BAND_MESSAGE.format(value=parity_band))
    return low, high


_LOG_TICKS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500)
_LOG_TICKS_FINE = (0.1, 0.2, 0.3, 0.5, 0.7, 1, 1.5, 2, 3, 5, 7, 10)


def ratio_forest(
    table: pd.DataFrame,
    *,
    ratio: str = "ratio",
    low: str = "ci_low",
    high: str = "ci_high",
    label: str = "group",
    benchmark: str | None = "benchmark",
    reference: str | None = None,
    parity_band: tuple[float, float] | None = (0.8, 1.25),
    log: bool = True,
    title: str | None = None,
    xlabel: str | None = None,
    count: str | None = "count",
    ax: Axes | None = None,
    place: object = None,
) -> Axes:
    """Forest plot of representation ratios or relative rate indices with their intervals.

    One row per group; within a row, one point and interval per benchmark,
    told apart by colour, marker and line style and named in the legend.
    A solid line marks parity (ratio 1) and a light band the parity band.

    Parameters
    ----------
    table : pandas.DataFrame
        ``AuditResult.representation`` (``ratio="ratio"``) or
        ``AuditResult.relative_rate`` (``ratio="rri"``), or any table with a
        ratio, its interval and a group label.
    ratio, low, high, label : str
        Columns of the ratio, its interval and the group.
    benchmark : str or None, default "benchmark"
        Column naming the benchmark; one series per benchmark. A column
        ``benchmark_label``, if present, gives the names shown. Ignored when
        the table has no such column.
    reference : str, optional
        Reference group of a relative rate; read from a single-valued
        ``reference`` column when not given. Named in the axis label and the
        title, and its row is marked "reference".
    parity_band : (float, float) or None, default (0.8, 1.25)
        Ratios treated as near parity (the "four-fifths" rule and its
        reciprocal); shaded. None: no band.
    log : bool, default True
        Log x-axis, so that 0.5 and 2 are equally far from 1.
    title, xlabel : str, optional
        Override the title and the x-axis label written from the columns.
    count : str or None, default "count"
        Column of people listed in the group, shown in the row label as
        ``"Black (n = 2,968)"``; None or absent: no counts.
    ax : matplotlib.axes.Axes, optional
    place : Place, optional
        The list's words (:func:`fairness.results.sentences.place`) for the
        title and axis; default London's ("rate of being listed").
        Where to draw; a new figure sized to the rows when None.

    Returns
    -------
    matplotlib.axes.Axes

    Notes
    -----
    A row whose ratio is NaN shows "not estimable" (or the suppression text
    when its count or ratio was hidden by disclosure control); an interval
    that runs to 0 or infinity is drawn to the edge of the axis with an arrow.
    """
    _check_columns(table, ratio, low, high, label)
    band = _check_parity_band(parity_band)
    data = table.reset_index(drop=True)
    bench_col = benchmark if benchmark is not None and benchmark in data.columns else None
    count_col = count if count is not None and count in data.columns else None
    if reference is None:
        reference = _unique_text(data, "reference")
    is_rate_ratio = ratio.lower() in {"rri", "rate_ratio", "relative_rate"} or (
        "reference" in data.columns and reference is not None
    )

    names = _series_names(data, bench_col, "benchmark_label") if bench_col else {}
    benches = list(names) or [None]
    listed = _listed(_place(place))
    if title is None:
        title = (
            (f"Rate of being listed compared with {reference} people" if listed == "listed"
             else f"Rate of {listed} compared with {reference} people")
            if is_rate_ratio and reference
            else "Representation on the list compared with the population"
        )
    if xlabel is None:
        xlabel = _forest_xlabel(is_rate_ratio, reference, [names[b] for b in names], log, listed=listed)

    groups = list(dict.fromkeys(data[label].astype(str)))
    n_rows = max(len(groups), 1)
    ax = _new_axes(ax, height=1.9 + n_rows * (0.26 + 0.14 * len(benches)))
    if data.empty:
        ax.set_xlabel(xlabel)
        return _no_data(ax, title)
    if bench_col:
        _check_unique(data.assign(_g=data[label].astype(str)), ["_g", bench_col], "groups", "group and benchmark")
    else:
        _check_unique(data.assign(_g=data[label].astype(str)), ["_g"], "groups", "group (or pass benchmark=)")

    values = _numeric(data, ratio)
    lows, highs = _numeric(data, low), _numeric(data, high)
    status = _status(data, ratio, counts=(count_col,))
    if reference is not None:
        # the reference group's own ratio is 1 by definition, even where the table leaves it out
        is_reference = (data[label].astype(str) == str(reference)).to_numpy()
        status = np.where(is_reference & (status == "not_estimable"), "reference", status)

    # x range from what is drawn (and the parity band), on the chosen scale
    drawn = status == "ok"
    finite = np.concatenate([values[drawn], lows[drawn], highs[drawn], [1.0], list(band or ())])
    finite = finite[np.isfinite(finite) & ((finite > 0) if log else True)]
    if log:
        x_min, x_max = max(finite.min() / 1.35, 1e-3), min(finite.max() * 1.35, 1e3)
    else:
        x_min, x_max = min(0.0, finite.min()), finite.max() * 1.08
    if log:
        ax.set_xscale("log")
    ax.set_xlim(x_min, x_max)

    # rows top to bottom in table order; benchmarks dodged within a row
    k = len(benches)
    step = min(0.24, 0.6 / k)
    offsets = {b: (j - (k - 1) / 2) * step for j, b in enumerate(benches)}
    row_of = {g: i for i, g in enumerate(groups)}

    if band is not None:
        ax.axvspan(*band, color=LIGHT_GREY, zorder=0, linewidth=0)
    ax.axvline(1.0, color=INK, linewidth=1.0, zorder=1)

    bench_of = data[bench_col].astype(str).to_numpy() if bench_col else np.full(len(data), None)
    group_of = data[label].astype(str).to_numpy()
    _label_missing(ax, groups, group_of, bench_of, status, offsets, names)

    for j, b in enumerate(benches):
        colour, marker, ls = SERIES_COLOURS[j % 6], SERIES_MARKERS[j % 6], SERIES_LINESTYLES[j % 6]
        for i in np.flatnonzero((bench_of == b) & (status == "ok")):
            y = row_of[group_of[i]] + offsets[b]
            v, lo, hi = values[i], lows[i], highs[i]
            left_open = np.isinf(lo) or (log and lo <= 0) or lo < x_min
            right_open = np.isinf(hi) or hi > x_max
            lo_draw = x_min if left_open else (lo if np.isfinite(lo) else v)
            hi_draw = x_max if right_open else (hi if np.isfinite(hi) else v)
            ax.plot(
                [lo_draw, hi_draw], [y, y], color=colour, linestyle=ls, linewidth=1.8,
                zorder=2, solid_capstyle="butt",
            )
            for is_open, edge, m in ((left_open, x_min, "<"), (right_open, x_max, ">")):
                if is_open:
                    ax.plot([edge], [y], marker=m, color=colour, markersize=5, zorder=3, clip_on=False)
            if not x_min <= v <= x_max:
                # e.g. a ratio of 0 on a log axis: say it next to its interval
                ax.annotate(
                    f"estimate {v:g}", (hi_draw, y), xytext=(4, 0), textcoords="offset points",
                    ha="left", va="center", fontsize="small", fontstyle="italic", color=INK,
                )
                continue
            ax.plot(
                [v], [y], marker=marker, markersize=7, color=colour,
                markeredgecolor="white", markeredgewidth=0.8, linestyle="none", zorder=4,
            )

    # y labels with counts (and which row is the reference group)
    tick_labels = []
    for g in groups:
        rows = data.index[data[label].astype(str) == g]
        c = None
        hidden = False
        if count_col is not None:
            counts = _numeric(data.loc[rows], count_col)
            hidden = bool(_hidden(data.loc[rows], count_col).all())
            c = next((x for x in counts if np.isfinite(x)), None)
        text = _with_count(g, c, hidden and c is None)
        if reference is not None and g == str(reference):
            text += "\nreference group"
        tick_labels.append(text)
    ax.set_yticks(range(len(groups)), tick_labels)
    ax.set_ylim(len(groups) - 0.5, -0.5)
    ax.tick_params(axis="y", length=0, pad=9)  # room for an arrow at the left edge
    ax.spines["left"].set_visible(False)

    if log:
        ticks = [t for t in _LOG_TICKS if x_min <= t <= x_max]
        if len(ticks) < 4:
            ticks = [t for t in _LOG_TICKS_FINE if x_min <= t <= x_max]
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.grid(axis="x", color=LIGHT_GREY, linewidth=0.6, zorder=0)
    ax.set_axisbelow(True)
    ax.set_xlabel(xlabel)
    ax.set_title(title, loc="left")

    handles: list = []
    labels: list[str] = []
    for j, b in enumerate(benches):
        if b is None:
            continue
        handles.append(
            Line2D([], [], color=SERIES_COLOURS[j % 6], marker=SERIES_MARKERS[j % 6],
                   linestyle=SERIES_LINESTYLES[j % 6], linewidth=1.8, markersize=7)
        )
        labels.append(f"benchmark: {names[b]}")
    handles.append(Line2D([], [], color=INK, linewidth=1.0))
    labels.append("parity (ratio 1)")
    if band is not None:
        handles.append(Patch(facecolor=LIGHT_GREY, edgecolor="none"))
        labels.append(f"near parity ({band[0]:g} to {band[1]:g})")
    _legend_below(ax, handles, labels, ncol=len(handles))
    return ax


def _forest_xlabel(is_rate_ratio: bool, reference: str | None, bench_names: list[str], log: bool,
                   listed: str = "listed") -> str:
    scale = " (log scale)" if log else ""
    if len(bench_names) == 1:
        where = f"benchmark population: {bench_names[0]}"
    elif bench_names:
        where = "benchmark populations: see the key"
    else:
        where = ""
    if is_rate_ratio:
        ref = f"{reference} people" if reference else "the reference group"
        rate = "rate listed" if listed == "listed" else f"rate of {listed}"
        first = f"rate ratio{scale}: {rate} per 1,000 ÷ rate for {ref}"
    else:
        first = f"representation ratio{scale}: share of list ÷ share of population"
    return f"{first}\n{where}" if where else first


# --------------------------------------------------------------------------
# Funnel plot
# --------------------------------------------------------------------------


def _limits_at(limits: pd.DataFrame, size: float, *, rate: bool) -> list[float]:
    """Each limit curve's value at ``size`` (interpolated; shares kept within 0 to 1), so that the
    narrowest part of the funnel in view is drawn."""
    if limits.empty or not {"n", "level", "lower", "upper"} <= set(limits.columns):
        return []
    found: list[float] = []
    levels = pd.to_numeric(limits["level"], errors="coerce")
    for level in levels.dropna().unique():
        curve = limits[levels == level]
        n = _numeric(curve, "n")
        order = np.argsort(n)
        for col in ("lower", "upper"):
            y = _numeric(curve, col)[order]
            ok = np.isfinite(n[order]) & np.isfinite(y)
            if ok.sum() == 0:
                continue
            v = float(np.interp(size, n[order][ok], y[ok]))
            found.append(max(v, 0.0) if rate else min(max(v, 0.0), 1.0))
    return found


def funnel(
    boroughs: pd.DataFrame,
    limits: pd.DataFrame,
    *,
    metric: str,
    value: str = "value",
    n: str = "n",
    label: str = "borough",
    flag: str | None = "flag",
    target: float | None = None,
    title: str | None = None,
    annotate: AnnotateOption | None = "flagged",
    xlabel: str | None = None,
    ylabel: str | None = None,
    ax: Axes | None = None,
    place: object = "London",
    suppressed_in_note: bool = False,
) -> Axes:
    """Funnel plot of one metric: each borough's value against its size, with control limits.

    Parameters
    ----------
    boroughs : pandas.DataFrame
        ``AuditResult.boroughs``: columns ``metric`` (optional), ``value``,
        ``n``, the borough name and ``flag``. Rows of other metrics are
        ignored.
    limits : pandas.DataFrame
        ``AuditResult.funnel_limits``: columns ``metric`` (optional), ``n``,
        ``level`` (0.95, 0.998), ``lower``, ``upper``.
    metric : str
        The metric to draw, e.g. ``"no_risk_share"`` or ``"rate_per_1000"``.
        Names with "rate" are drawn per 1,000 residents; the rest as shares
        (percent).
    value, n, label, flag : str
        Columns; ``flag`` (one of ``above_99.8, above_95, within, below_95,
        below_99.8``) sets each point's marker and colour; None or absent:
        every point as "within".
    target : float, optional
        The London-wide value; read from the ``target`` column when not given.
    annotate : {"flagged", "all", "none"}, default "flagged"
        Which boroughs are named on the chart.
    title, xlabel, ylabel : str, optional
        Override the words chosen from the metric name.
    ax : matplotlib.axes.Axes, optional
    place : str or Place, default "London"
        The place's name for the overall value in the legend (a profile's
        ``place.name``), or a :class:`fairness.results.sentences.Place`
        (:func:`fairness.results.sentences.place` of an audit), whose area
        word and unit also word the title and axes.
    suppressed_in_note : bool, default False
        True when the caller names the suppressed boroughs in a note under the
        chart (:func:`fairness.report.format.funnel_figure` does): the axis then
        only counts them.

    Returns
    -------
    matplotlib.axes.Axes

    Notes
    -----
    A row flagged ``"combined"`` (small areas published together by
    disclosure control, "Other boroughs (2)") is not drawn: it is not an area
    that can be compared with the limits. Boroughs without a value or size
    (not estimable, or hidden by disclosure control) cannot be placed; they are listed by name under the x-axis
    (more than three, or suppressed ones with ``suppressed_in_note``: counted
    there and named in the note).
    """
    _check_columns(boroughs, value, n, label)
    _check_columns(limits, "n", "level", "lower", "upper")
    _check_option("annotate", annotate, _ANNOTATE_OPTIONS)
    rate = _is_rate(metric)
    where = _place(place)
    if title is None:
        title = f"{_sentence(_words(metric, where))}, by {where.area}"
    if xlabel is None:
        xlabel = f"residents in {where.area} (n)" if rate else f"{where.unit} in {where.area} (n)"
    if ylabel is None:
        ylabel = f"{_listed(where)} per 1,000 residents" if rate else f"share of {where.unit} (%)"

    ax = _new_axes(ax, height=4.6)
    data = _select_metric(boroughs, metric, "boroughs").reset_index(drop=True)
    if flag is not None and flag in data.columns:
        # small areas published together ("Other boroughs (2)") are not an area: not a point of the funnel
        from fairness.definitions import COMBINED_FLAG

        data = data[data[flag].astype(str) != COMBINED_FLAG].reset_index(drop=True)
    lim = _select_metric(limits, metric, "limits") if not limits.empty else limits
    if data.empty:
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        return _no_data(ax, title)

    xs, ys = _numeric(data, n), _numeric(data, value)
    value_status = _status(data, value, counts=(n, "count"))
    n_status = _status(data, n, counts=("count",))
    status = np.where(value_status != "ok", value_status, n_status)
    placed = status == "ok"
    flags = (
        data[flag].astype("string").fillna("within").to_numpy(dtype=object)
        if flag is not None and flag in data.columns
        else np.full(len(data), "within", dtype=object)
    )
    if target is None and "target" in data.columns:
        t = _numeric(data, "target")
        target = next((float(v) for v in t if np.isfinite(v)), None)

    # axes ranges from the placed points, the target and the limits at the largest placed size
    # (the limits at tiny n would squash the points; left out, very wide limits were not drawn at all)
    if placed.any():
        x_max = float(xs[placed].max()) * 1.08
        y_vals = list(ys[placed]) + ([target] if target is not None else [])
        y_vals += _limits_at(lim, float(xs[placed].max()), rate=rate)
        y_lo, y_hi = min(y_vals), max(y_vals)
        pad = 0.18 * (y_hi - y_lo) if y_hi > y_lo else 0.1 * max(abs(y_hi), 0.01)
        y_lo, y_hi = max(y_lo - pad, 0.0), y_hi + pad
        if not rate:
            y_hi = min(y_hi, 1.0)
        ax.set_xlim(0, x_max)
        ax.set_ylim(y_lo, y_hi)

    handles: list = []
    labels: list[str] = []
    curves: list[tuple[np.ndarray, np.ndarray]] = []  # kept clear of the borough names
    # limit curves
    if not lim.empty:
        for level in sorted(pd.to_numeric(lim["level"], errors="coerce").dropna().unique()):
            curve = lim[pd.to_numeric(lim["level"], errors="coerce") == level].copy()
            curve["_n"] = _numeric(curve, "n")
            curve = curve.sort_values("_n")
            style = (
                {"linestyle": "--", "color": GREY, "linewidth": 1.1}
                if level < 0.99
                else {"linestyle": "-", "color": INK, "linewidth": 1.1}
            )
            for col in ("lower", "upper"):
                ax.plot(curve["_n"], _numeric(curve, col), zorder=1, **style)
                curves.append((curve["_n"].to_numpy(dtype=float), _numeric(curve, col)))
            handles.append(Line2D([], [], **style))
            labels.append(f"{level * 100:g}% limits")
    if target is not None:
        ax.axhline(target, color=PALETTE["blue"], linewidth=1.0, linestyle=":", zorder=1)
        shown = f"{target:.3g} per 1,000" if rate else _fmt_pct(target)
        handles.append(Line2D([], [], color=PALETTE["blue"], linewidth=1.0, linestyle=":"))
        labels.append(f"{where.name} overall ({shown})")

    # points, one call per flag so that each has a legend entry
    order = [f for f in FLAG_STYLES if f in set(flags[placed])] + sorted(
        set(flags[placed]) - set(FLAG_STYLES)
    )
    for f in order:
        sel = placed & (flags == f)
        st = FLAG_STYLES.get(f, {**FLAG_STYLES["within"], "text": str(f).replace("_", " ")})
        kw = {
            "marker": st["marker"],
            "s": st["size"],
            "edgecolors": st["color"],
            "facecolors": st["color"] if st["filled"] else "white",
            "linewidths": 1.3,
            "zorder": 3 if f == "within" else 4,
        }
        ax.scatter(xs[sel], ys[sel], **kw)
        handles.append(
            Line2D([], [], marker=st["marker"], linestyle="none", markersize=math.sqrt(st["size"]),
                   markeredgecolor=st["color"], markeredgewidth=1.3,
                   markerfacecolor=st["color"] if st["filled"] else "white")
        )
        labels.append(f"{st['text']} ({int(sel.sum())})")

    if not rate:
        _percent_axis(ax.yaxis)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: _fmt_int(v)))
    ax.grid(axis="y", color=LIGHT_GREY, linewidth=0.6)
    ax.set_axisbelow(True)

    # boroughs that cannot be placed are named, never dropped
    missing_lines = []
    for st_name in ("suppressed", "not_estimable"):
        names = [str(v) for v in data.loc[status == st_name, label]]
        if len(names) > 3 or (names and st_name == "suppressed" and suppressed_in_note):
            # a long list goes in the report's note, not under the axis (issue 12)
            many = where.areas if len(names) != 1 else where.area
            missing_lines.append(f"not shown, {_row_text(st_name)}: {len(names)} {many} (named in the note)")
        elif names:
            missing_lines.append(f"not shown, {_row_text(st_name)}: " + ", ".join(names))
    if missing_lines:
        xlabel = xlabel + "\n" + "\n".join(textwrap.fill(t, 90) for t in missing_lines)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, loc="left")
    _legend_below(ax, handles, labels, ncol=3)

    if annotate in ("flagged", "all") and placed.any():
        named = placed & (
            np.ones(len(data), bool)
            if annotate == "all"
            else ~np.isin(flags.astype(str), list(_FLAGS_NOT_ANNOTATED))
        )
        _place_labels(ax, xs[named], ys[named], [str(v) for v in data.loc[named, label]], xs[placed], ys[placed],
                      lines=curves)
    return ax


_HALO = [patheffects.withStroke(linewidth=2.5, foreground="white")]


def _line_samples(ax: Axes, lines, axes_box) -> list[np.ndarray]:
    """Each line as display points at most 2 px apart, within the axes (to test a label against)."""
    out = []
    for x, y in lines:
        ok = np.isfinite(x) & np.isfinite(y)
        if ok.sum() < 2:
            continue
        pts = ax.transData.transform(np.column_stack([x[ok], y[ok]]))
        pts = np.column_stack([np.clip(pts[:, 0], axes_box.x0 - 5, axes_box.x1 + 5),
                               np.clip(pts[:, 1], axes_box.y0 - 5, axes_box.y1 + 5)])
        seg = np.diff(pts, axis=0)
        steps = np.clip(np.ceil(np.hypot(seg[:, 0], seg[:, 1]) / 2.0), 1, 2000).astype(int)
        dense = [pts[i] + seg[i] * (np.arange(k) / k)[:, None] for i, k in enumerate(steps)]
        out.append(np.vstack([*dense, pts[-1:]]))
    return out


def _place_labels(ax: Axes, xs, ys, texts, all_x, all_y, *, lines=()) -> None:
    """Name points without covering other names, points, lines or the axis edge.

    Tries eight positions around each point (right first), then four further
    out, and keeps the first that is clear; when none is (a cluster of flagged
    points), it tries places further up or down joined to the point by a thin
    leader line, nearest first, and keeps the one with the fewest clashes.
    ``lines``: ``(x, y)`` arrays in data units (the funnel limits) that a name
    should not touch. Deterministic.
    """
    if len(texts) == 0:
        return
    fig = ax.figure
    if fig.get_layout_engine() is not None:
        fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    axes_box = ax.get_window_extent(renderer)
    points = ax.transData.transform(np.column_stack([all_x, all_y]))
    line_points = _line_samples(ax, lines, axes_box)
    candidates = (
        (6, 0, "left", "center"),
        (-6, 0, "right", "center"),
        (5, 7, "left", "bottom"),
        (5, -7, "left", "top"),
        (-5, 7, "right", "bottom"),
        (-5, -7, "right", "top"),
        (0, 9, "center", "bottom"),
        (0, -9, "center", "top"),
        (5, 16, "left", "bottom"),
        (5, -16, "left", "top"),
        (-5, 16, "right", "bottom"),
        (-5, -16, "right", "top"),
    )
    # further out, with a leader line: (dx, dy, ha, va, extra penalty for the distance)
    far = tuple((sx * 10, sy * (14 + 11 * k), "left" if sx > 0 else "right", "bottom" if sy > 0 else "top", 1 + k / 2)
                for k in range(1, 7) for sy in (1, -1) for sx in (1, -1))
    near = tuple((*c, 0.0) for c in candidates)
    leader = {"arrowstyle": "-", "color": GREY, "linewidth": 0.6, "shrinkA": 1, "shrinkB": 3}
    taken: list = []
    order = np.argsort(-np.asarray(ys), kind="stable")
    for i in order:
        own = ax.transData.transform((xs[i], ys[i]))
        others = points[np.any(np.abs(points - own) > 0.5, axis=1)]
        best = None
        for dx, dy, ha, va, distance in near + far:
            ann = ax.annotate(
                texts[i], (xs[i], ys[i]), xytext=(dx, dy), textcoords="offset points",
                ha=ha, va=va, fontsize="small", color=INK, zorder=5, path_effects=_HALO,
                arrowprops=leader if distance else None,
            )
            ann.update_positions(renderer)
            box = Text.get_window_extent(ann, renderer).expanded(1.06, 1.15)  # the words, not the leader line
            outside = not (
                box.x0 >= axes_box.x0 and box.x1 <= axes_box.x1
                and box.y0 >= axes_box.y0 and box.y1 <= axes_box.y1
            )
            clashes = sum(box.overlaps(t) for t in taken)
            covered = int(np.sum(
                (others[:, 0] > box.x0 - 3) & (others[:, 0] < box.x1 + 3)
                & (others[:, 1] > box.y0 - 3) & (others[:, 1] < box.y1 + 3)
            ))
            touched = sum(bool(np.any((lp[:, 0] > box.x0 - 1) & (lp[:, 0] < box.x1 + 1)
                                      & (lp[:, 1] > box.y0 - 1) & (lp[:, 1] < box.y1 + 1))) for lp in line_points)
            penalty = 100 * outside + 10 * clashes + 3 * covered + 4 * touched + distance
            if best is None or penalty < best[0]:
                if best is not None:
                    best[1].remove()
                best = (penalty, ann, box)
            else:
                ann.remove()
            if penalty == 0:
                break
        taken.append(best[2])


# --------------------------------------------------------------------------
# Trend over quarters
# --------------------------------------------------------------------------


def trend(
    trends: pd.DataFrame,
    *,
    metric: str,
    x: str = "quarter",
    value: str = "value",
    low: str = "ci_low",
    high: str = "ci_high",
    rolling: bool = True,
    title: str | None = None,
    ylabel: str | None = None,
    max_ticks: int = 8,
    ax: Axes | None = None,
    place: object = None,
) -> Axes:
    """One metric per quarter with its interval, and the rolling four-quarter value.

    Parameters
    ----------
    trends : pandas.DataFrame
        ``AuditResult.trends``: ``metric`` (optional; other metrics ignored),
        the quarter, the value and its interval; ``rolling_value``,
        ``rolling_low``, ``rolling_high`` are drawn when present and
        ``rolling`` is True.
    metric : str
        Metric to draw. Names with "share" or "proportion" are fractions
        shown in percent; names with "rate" are per 1,000 residents; other
        names are plotted as they are (pass ``ylabel``).
    x, value, low, high : str
        Columns of the quarter ("2018Q4"), value and interval. Quarters are
        put in order.
    rolling : bool, default True
        Draw the rolling four-quarter line when the table has it.
    title, ylabel : str, optional
    max_ticks : int, default 8
        At most this many quarters are labelled (always the latest one).
    ax : matplotlib.axes.Axes, optional
    place : Place, optional
        The list's words (:func:`fairness.results.sentences.place`); default London's.

    Returns
    -------
    matplotlib.axes.Axes
    """
    _check_columns(trends, x, value, low, high)
    share = _is_share(metric)
    where = _place(place)
    if title is None:
        title = f"{_sentence(_words(metric, where))}, by quarter"
    if ylabel is None:
        ylabel = (
            f"share of {where.unit} (%)"
            if share
            else f"{_listed(where)} per 1,000 residents" if _is_rate(metric) else _words(metric, where)
        )
    ax = _new_axes(ax, height=3.8)
    data = _select_metric(trends, metric, "trends")
    if data.empty:
        ax.set_ylabel(ylabel)
        return _no_data(ax, title)
    data = data.assign(_q=data[x].astype(str)).sort_values("_q", kind="stable").reset_index(drop=True)
    _check_unique(data, ["_q"], "quarters", "quarter")
    data, absent = _every_quarter(data)

    pos = np.arange(len(data), dtype=float)
    v, lo, hi = _numeric(data, value), _numeric(data, low), _numeric(data, high)
    status = _status(data, value, counts=("count", "n") if "count" in data.columns else ())
    status = np.where(absent, "absent", status)
    colour = SERIES_COLOURS[0]
    handles: list = []
    labels: list[str] = []

    ax.fill_between(pos, lo, hi, color=colour, alpha=0.18, linewidth=0, zorder=1)
    ax.plot(pos, v, color=colour, marker="o", markersize=4.5, linewidth=1.6, zorder=3)
    handles += [
        Line2D([], [], color=colour, marker="o", markersize=4.5, linewidth=1.6),
        Patch(facecolor=colour, alpha=0.18, edgecolor="none"),
    ]
    labels += ["each quarter", "confidence interval"]

    if rolling and "rolling_value" in data.columns:
        rv = _numeric(data, "rolling_value")
        rolling_colour = SERIES_COLOURS[2]
        ax.plot(pos, rv, color=rolling_colour, linestyle="--", linewidth=1.6, zorder=2)
        handles.append(Line2D([], [], color=rolling_colour, linestyle="--", linewidth=1.6))
        labels.append("rolling four quarters")
        if {"rolling_low", "rolling_high"} <= set(data.columns):
            for col in ("rolling_low", "rolling_high"):
                ax.plot(pos, _numeric(data, col), color=rolling_colour, linestyle=":", linewidth=0.9, zorder=2)
            handles.append(Line2D([], [], color=rolling_colour, linestyle=":", linewidth=0.9))
            labels.append("rolling confidence interval")

    # quarters that cannot be drawn are shaded and the key says why
    _shade_missing(ax, pos, status, data["_q"].tolist(), handles, labels)

    step = max(1, math.ceil(len(data) / max(1, max_ticks)))
    shown = [i for i in range(len(data)) if (len(data) - 1 - i) % step == 0]
    ax.set_xticks(pos[shown], [_quarter_text(data.at[i, "_q"]) for i in shown])
    ax.set_xticks(pos, minor=True)
    ax.set_xlim(-0.5, len(data) - 0.5)
    ax.set_ylim(*_trend_range(np.concatenate([v, lo, hi]), share=share))
    if share:
        _percent_axis(ax.yaxis)
    ax.grid(axis="y", color=LIGHT_GREY, linewidth=0.6)
    ax.set_axisbelow(True)
    ax.set_xlabel("quarter (snapshot at quarter end)")
    ax.set_ylabel(ylabel)
    ax.set_title(title, loc="left")
    _legend_below(ax, handles, labels, ncol=4)
    return ax


#: The key's words for a quarter with no data at all (not in the table).
ABSENT_LABEL = "no data"


def _every_quarter(data: pd.DataFrame, key: str = "_q") -> tuple[pd.DataFrame, np.ndarray]:
    """``data`` with a row for every quarter from its first to its last (new rows empty).

    Lines are drawn per quarter: a quarter with no data is a gap, never a
    straight line across it. Labels that are not quarters ("2018Q4") are
    left as they are.
    """
    labels = data[key].astype(str).tolist()
    try:
        periods = [pd.Period(q, freq="Q") for q in labels]
    except (ValueError, TypeError):
        return data, np.zeros(len(data), dtype=bool)
    if not periods:
        return data, np.zeros(0, dtype=bool)
    every = [str(p) for p in pd.period_range(min(periods), max(periods), freq="Q")]
    if len(every) == len(labels):
        return data, np.zeros(len(data), dtype=bool)
    full = data.set_index(key).reindex(every).rename_axis(key).reset_index()
    return full, ~np.isin(np.array(every), np.array(labels))


def _quarter_ranges(quarters: list[str]) -> str:
    """``2019 Q1–2023 Q3, 2024 Q2``: consecutive quarters joined into ranges."""
    if not quarters:
        return ""
    try:
        periods = [pd.Period(q, freq="Q") for q in quarters]
    except (ValueError, TypeError):
        return ", ".join(_quarter_text(q) for q in quarters)
    runs: list[list[pd.Period]] = [[periods[0]]]
    for p in periods[1:]:
        if p == runs[-1][-1] + 1:
            runs[-1].append(p)
        else:
            runs.append([p])
    return ", ".join(
        _quarter_text(str(r[0])) if len(r) == 1 else f"{_quarter_text(str(r[0]))}–{_quarter_text(str(r[-1]))}"
        for r in runs
    )


def _shade_missing(ax: Axes, pos: np.ndarray, status: np.ndarray, quarters: list[str], handles: list,
                   labels: list[str]) -> None:
    """Shade quarters that cannot be drawn (suppressed, not estimable, no data) and say so in the key."""
    for st_name, hatch in (("suppressed", "////"), ("not_estimable", "..."), ("absent", None)):
        missing = np.flatnonzero(status == st_name)
        for i in missing:
            ax.axvspan(
                pos[i] - 0.5, pos[i] + 0.5, facecolor=LIGHT_GREY if hatch is None else "white",
                edgecolor="#BBBBBB", hatch=hatch, linewidth=0, zorder=0,
            )
        if missing.size:
            handles.append(Patch(facecolor=LIGHT_GREY if hatch is None else "white", edgecolor="#BBBBBB",
                                 hatch=hatch, linewidth=0))
            words = ABSENT_LABEL if st_name == "absent" else _row_text(st_name)
            labels.append(f"{words} ({_quarter_ranges([quarters[i] for i in missing])})")


def headline_trend(
    table: pd.DataFrame,
    *,
    x: str = "quarter",
    group: str = "Black",
    title: str | None = None,
    max_ticks: int = 8,
    ax: Axes | None = None,
) -> Axes:
    """The headline measures of every quarter reported (the trend appendix), drawn per quarter.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per quarter reported: ``quarter``, ``share`` (the group's
        share of the list), ``benchmark_share``, ``no_risk_share`` with
        ``no_risk_low``/``no_risk_high``; as
        :func:`fairness.report.runner.collect_metrics` returns it.
    x : str, default "quarter"
    group : str, default "Black"
        Named in the key.
    title : str, optional
    max_ticks : int, default 8
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
        Quarters with no report between the first and the last are gaps,
        shaded and named in the key: no line is drawn across them.
    """
    _check_columns(table, x, "share", "benchmark_share", "no_risk_share")
    ax = _new_axes(ax, height=3.6)
    title = title or "Headline measures by quarter reported"
    if table.empty:
        return _no_data(ax, title)
    data = table.assign(_q=table[x].astype(str)).sort_values("_q", kind="stable").reset_index(drop=True)
    _check_unique(data, ["_q"], "quarters", "quarter")
    data, absent = _every_quarter(data)
    pos = np.arange(len(data), dtype=float)
    handles: list = []
    labels: list[str] = []
    series = (
        ("share", None, None, f"{group} share of the list", SERIES_COLOURS[0], "-", "o"),
        ("benchmark_share", None, None, f"{group} share of the benchmark population", GREY, ":", "_"),
        ("no_risk_share", "no_risk_low", "no_risk_high", "share with no risk", SERIES_COLOURS[1], "--", "s"),
    )
    for col, lo, hi, label, colour, ls, marker in series:
        y = _numeric(data, col)
        if not np.isfinite(y).any():
            continue
        if lo and hi and {lo, hi} <= set(data.columns):
            low, high = _numeric(data, lo), _numeric(data, hi)
            ax.fill_between(pos, low, high, color=colour, alpha=0.18, linewidth=0)
            # a quarter with no neighbour has no band to draw: its interval as an error bar
            ax.errorbar(pos, y, yerr=np.vstack([y - low, high - y]), fmt="none", ecolor=colour, elinewidth=1.0,
                        capsize=3, zorder=3)
        ax.plot(pos, y, color=colour, linestyle=ls, marker=marker, markersize=4.5 if marker != "_" else 9,
                linewidth=1.6, zorder=3)
        handles.append(Line2D([], [], color=colour, linestyle=ls, marker=marker, markersize=4.5 if marker != "_" else 9,
                              linewidth=1.6))
        labels.append(label)
    status = np.where(absent, "absent", "shown")
    _shade_missing(ax, pos, status, data["_q"].tolist(), handles, labels)
    present = np.flatnonzero(~absent)  # label the quarters reported, the latest always
    step = max(1, math.ceil(len(present) / max(1, max_ticks)))
    shown = [int(i) for k, i in enumerate(present) if (len(present) - 1 - k) % step == 0]
    ax.set_xticks(pos[shown], [_quarter_text(data.at[i, "_q"]) for i in shown])
    ax.set_xticks(pos, minor=True)
    ax.set_xlim(-0.5, len(data) - 0.5)
    ax.set_ylim(0, 1)
    _percent_axis(ax.yaxis)
    ax.grid(axis="y", color=LIGHT_GREY, linewidth=0.6)
    ax.set_axisbelow(True)
    ax.set_xlabel("quarter reported (snapshot at quarter end)")
    ax.set_ylabel("per cent")
    ax.set_title(title, loc="left")
    _legend_below(ax, handles, labels, ncol=2)
    return ax


def headline_trend_png(table: pd.DataFrame, *, title: str | None = None, dpi: int = 150) -> bytes:
    """:func:`headline_trend` drawn in the house style as PNG bytes (the trend appendix's chart).

    Drawn on its own :class:`~matplotlib.figure.Figure`, without pyplot, so no
    global figure state is touched; the PNG carries no software stamp, so the
    same table gives the same bytes. The key names ``table``'s first ``group``.
    """
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg

    with use_style():
        fig = Figure(figsize=(7.0, 3.8), dpi=dpi, layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.subplots()
        group = str(table["group"].iloc[0]) if "group" in table and len(table) else "Black"
        headline_trend(table, group=group, ax=ax, title=title)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


def _trend_range(values: np.ndarray, *, share: bool) -> tuple[float, float]:
    """y limits that show change without magnifying noise.

    The range spans at least 10 percentage points for shares (40% of the top
    value otherwise), so a wobble of one point does not fill the chart.
    """
    finite = values[np.isfinite(values)]
    if not finite.size:
        return 0.0, 1.0
    lo, hi = float(finite.min()), float(finite.max())
    least = 0.10 if share else 0.4 * max(abs(hi), 1e-9)
    pad = max(0.1 * (hi - lo), (least - (hi - lo)) / 2, 0.0)
    lo, hi = lo - pad, hi + pad
    if lo < 0 <= finite.min():  # a non-negative measure keeps a non-negative axis
        lo, hi = 0.0, hi - lo
    if share and hi > 1:
        lo, hi = max(0.0, lo - (hi - 1)), 1.0
    return lo, hi


def _quarter_text(q: str) -> str:
    """``"2018Q4"`` -> ``"2018 Q4"``."""
    q = str(q)
    return f"{q[:4]} {q[4:]}" if len(q) == 6 and q[4] == "Q" else q


# --------------------------------------------------------------------------
# Bars of shares
# --------------------------------------------------------------------------


def share_bars(
    table: pd.DataFrame,
    *,
    value: str = "share",
    low: str = "ci_low",
    high: str = "ci_high",
    label: str = "group",
    hue: str | None = None,
    count: str | None = "count",
    n: str | None = "n",
    title: str | None = None,
    xlabel: str | None = None,
    ax: Axes | None = None,
    place: object = None,
) -> Axes:
    """Horizontal bars of shares with interval whiskers, counts and percentages.

    For ``AuditResult.no_risk`` (filtered to one ``by``), ``band_consistency``
    and similar tables of shares (fractions 0--1).

    Parameters
    ----------
    table : pandas.DataFrame
    value, low, high, label : str
        Columns of the share, its interval and the bar label.
    hue : str, optional
        Column splitting each bar into dodged bars (e.g. ``"definition"``),
        told apart by colour and hatching and named in the legend.
    count, n : str or None
        Columns of the people counted and the base; the row label shows
        ``"Hackney (12 of 40)"``, or ``(n = 40)`` with only the base.
    title, xlabel : str, optional
        Default x label "share of people listed (%)" (the unit of ``place``).
    ax : matplotlib.axes.Axes, optional
    place : Place, optional
        The list's words (:func:`fairness.results.sentences.place`); default London's.

    Returns
    -------
    matplotlib.axes.Axes
    """
    _check_columns(table, value, low, high, label, hue)
    count_col = count if count is not None and count in table.columns else None
    n_col = n if n is not None and n in table.columns else None
    xlabel = xlabel or f"share of {_place(place).unit} (%)"
    data = table.reset_index(drop=True)
    groups = list(dict.fromkeys(data[label].astype(str)))
    levels = list(dict.fromkeys(data[hue].astype(str))) if hue else [None]
    ax = _new_axes(ax, height=1.6 + max(len(groups), 1) * (0.3 + 0.14 * len(levels)))
    if data.empty:
        ax.set_xlabel(xlabel)
        return _no_data(ax, title)
    keyed = data.assign(_g=data[label].astype(str))
    if hue:
        _check_unique(keyed.assign(_h=data[hue].astype(str)), ["_g", "_h"], "labels", "label and hue level")
    else:
        _check_unique(keyed, ["_g"], "labels", "label (or pass hue=)")

    v, lo, hi = _numeric(data, value), _numeric(data, low), _numeric(data, high)
    status = _status(data, value, counts=(count_col, n_col))
    k = len(levels)
    height = 0.7 / k
    row_of = {g: i for i, g in enumerate(groups)}
    x_top = np.nanmax(np.concatenate([hi[status == "ok"], v[status == "ok"], [0.0]]))
    x_top = min(1.0, x_top * 1.18 + 0.04) if np.isfinite(x_top) else 1.0
    handles: list = []
    level_names: list[str] = []
    for j, level in enumerate(levels):
        colour = (PALETTE["sky"], PALETTE["orange"], PALETTE["purple"], PALETTE["green"])[j % 4]
        hatch = SERIES_HATCHES[j % 6]
        rows = np.arange(len(data)) if level is None else np.flatnonzero(data[hue].astype(str) == level)
        for i in rows:
            y = row_of[str(data.at[i, label])] + (j - (k - 1) / 2) * height
            if status[i] != "ok":
                continue
            ax.barh(y, v[i], height=height * 0.86, color=colour, edgecolor=INK, linewidth=0.6, hatch=hatch, zorder=2)
            if np.isfinite(lo[i]) and np.isfinite(hi[i]):
                ax.errorbar(
                    v[i], y, xerr=[[v[i] - lo[i]], [hi[i] - v[i]]], fmt="none",
                    ecolor=INK, elinewidth=1.1, capsize=3, zorder=3,
                )
            end = hi[i] if np.isfinite(hi[i]) else v[i]
            ax.text(end + 0.008 * x_top / 0.5, y, _fmt_pct(v[i]), va="center", ha="left", fontsize="small", color=INK)
        if level is not None:
            handles.append(Patch(facecolor=colour, edgecolor=INK, linewidth=0.6, hatch=hatch))
            level_names.append(str(level))
    _label_missing(
        ax,
        groups,
        data[label].astype(str).to_numpy(),
        data[hue].astype(str).to_numpy() if hue else np.full(len(data), None),
        status,
        {level: (j - (k - 1) / 2) * height for j, level in enumerate(levels)},
        {level: level for level in levels},
    )

    tick_labels = []
    for g in groups:
        rows = data.index[data[label].astype(str) == g]
        sub = data.loc[rows]
        base = next((x for x in _numeric(sub, n_col) if np.isfinite(x)), None) if n_col else None
        part = next((x for x in _numeric(sub, count_col) if np.isfinite(x)), None) if count_col else None
        if k == 1 and part is not None and base is not None:
            tick_labels.append(f"{g} ({_fmt_int(part)} of {_fmt_int(base)})")
        else:
            hidden = bool((_hidden(sub, n_col) if n_col else _hidden(sub, count_col)).all()) if (n_col or count_col) else False
            tick_labels.append(_with_count(g, base if n_col else part, hidden and base is None and part is None))
    ax.set_yticks(range(len(groups)), tick_labels)
    ax.set_ylim(len(groups) - 0.5, -0.5)
    ax.tick_params(axis="y", length=0)
    ax.set_xlim(0, x_top)
    _percent_axis(ax.xaxis)
    ax.grid(axis="x", color=LIGHT_GREY, linewidth=0.6)
    ax.set_axisbelow(True)
    ax.spines["left"].set_visible(False)
    ax.set_xlabel(xlabel)
    if title:
        ax.set_title(title, loc="left")
    method = _unique_text(data, "method")
    whisker = Line2D([], [], color=INK, linewidth=1.1, marker="|", markersize=7)
    handles.append(whisker)
    level_names.append(f"confidence interval ({method})" if method else "confidence interval")
    _legend_below(ax, handles, level_names, ncol=min(len(handles), 3))
    return ax


# --------------------------------------------------------------------------
# Composition: the list against the benchmark population
# --------------------------------------------------------------------------


def composition(
    table: pd.DataFrame,
    *,
    list_share: str = "share",
    benchmark_share: str = "benchmark_share",
    label: str = "group",
    benchmark: str | None = "benchmark",
    benchmark_label: str | Mapping[str, str] | None = None,
    count: str | None = "count",
    title: str | None = None,
    ax: Axes | None = None,
    place: object = None,
) -> Axes:
    """Who is on the list against who lives in the benchmark population: paired bars per group.

    Parameters
    ----------
    table : pandas.DataFrame
        ``AuditResult.representation`` or any table with, per group, the
        share of the list and the share of the benchmark population
        (fractions 0--1).
    list_share, benchmark_share, label : str
        Columns.
    benchmark : str or None, default "benchmark"
        Column naming the benchmark: one extra bar per benchmark when the
        table holds several. Ignored when absent.
    benchmark_label : str or mapping, optional
        Name of the benchmark population in the legend and title (a mapping
        from benchmark to name when there are several). Default: the
        ``benchmark_label`` column, else the benchmark, else "benchmark
        population".
    count : str or None, default "count"
        People listed in the group, shown in the row label.
    title : str, optional
    ax : matplotlib.axes.Axes, optional
    place : Place, optional
        The list's words (:func:`fairness.results.sentences.place`) for the legend; default London's.

    Returns
    -------
    matplotlib.axes.Axes
    """
    _check_columns(table, list_share, benchmark_share, label)
    data = table.reset_index(drop=True)
    bench_col = benchmark if benchmark is not None and benchmark in data.columns else None
    count_col = count if count is not None and count in data.columns else None
    names = _series_names(data, bench_col, "benchmark_label") if bench_col else {None: None}
    benches = list(names)
    if isinstance(benchmark_label, Mapping):
        names = {b: benchmark_label.get(b, names[b]) for b in benches}
    elif benchmark_label is not None:
        if len(benches) > 1:
            raise ValueError(
                UNKNOWN_OPTION_MESSAGE.format(
                    name="benchmark_label", value=benchmark_label,
                    valid=f"a mapping from each of {benches} to its name (the table holds several benchmarks)",
                )
            )
        names = {benches[0]: benchmark_label}
    names = {b: (nm or "benchmark population") for b, nm in names.items()}
    if title is None:
        title = (
            f"Who is on the list compared with {names[benches[0]]}"
            if len(benches) == 1
            else "Who is on the list compared with the benchmark populations"
        )
    groups = list(dict.fromkeys(data[label].astype(str)))
    k = len(benches) + 1
    ax = _new_axes(ax, height=1.7 + max(len(groups), 1) * (0.26 + 0.13 * k))
    if data.empty:
        ax.set_xlabel("share of each population (%)")
        return _no_data(ax, title)
    keyed = data.assign(_g=data[label].astype(str))
    _check_unique(keyed, ["_g", bench_col] if bench_col else ["_g"], "groups", "group and benchmark")

    height = 0.8 / k
    row_of = {g: i for i, g in enumerate(groups)}
    text_x = blended_transform_factory(ax.transAxes, ax.transData)
    list_values = _numeric(data, list_share)
    bench_values = _numeric(data, benchmark_share)
    list_status = _status(data, list_share, counts=(count_col,))
    bench_status = _status(data, benchmark_share, note="__none__")
    finite = np.concatenate([list_values, bench_values])
    finite = finite[np.isfinite(finite)]
    x_top = min(1.0, (finite.max() if finite.size else 1.0) * 1.15 + 0.03)

    def bar(y, v, colour, hatch):
        ax.barh(y, v, height=height * 0.88, color=colour, edgecolor=INK, linewidth=0.6, hatch=hatch, zorder=2)
        ax.text(v + x_top * 0.01, y, _fmt_pct(v), va="center", ha="left", fontsize="x-small", color=INK)

    # the list: one bar per group (the same in every benchmark's rows)
    list_colour = PALETTE["blue"]
    for g in groups:
        i = int(np.flatnonzero(keyed["_g"].to_numpy() == g)[0])
        y = row_of[g] - (k - 1) / 2 * height
        if list_status[i] == "ok":
            bar(y, list_values[i], list_colour, "")
        else:
            _status_text(ax, 0.01, y, "on the list: " + _row_text(list_status[i]), transform=text_x)
    bench_colours = (PALETTE["orange"], PALETTE["sky"], PALETTE["purple"], PALETTE["green"])
    bench_of = data[bench_col].astype(str).to_numpy() if bench_col else np.full(len(data), None)
    slot = {b: j + 1 - (k - 1) / 2 for j, b in enumerate(benches)}
    for g in groups:
        rows = np.flatnonzero(keyed["_g"].to_numpy() == g)
        lacking = [i for i in rows if bench_status[i] != "ok"]
        if lacking and len(lacking) == len(benches):
            # one text for the row, in the middle of the benchmarks' bars
            y = row_of[g] + np.mean([slot[b] for b in benches]) * height
            what = "the benchmark" if len(benches) == 1 else "any benchmark"
            _status_text(ax, 0.01, y, f"no share in {what}", transform=text_x)
            continue
        for i in lacking:
            y = row_of[g] + slot[bench_of[i]] * height
            _status_text(ax, 0.01, y, f"no share in {names[bench_of[i]]}", transform=text_x)
    for j, b in enumerate(benches):
        for i in np.flatnonzero((bench_of == b) & (bench_status == "ok")):
            y = row_of[str(data.at[i, label])] + slot[b] * height
            bar(y, bench_values[i], bench_colours[j % 4], SERIES_HATCHES[(j + 1) % 6])

    tick_labels = []
    for g in groups:
        sub = data[keyed["_g"] == g]
        c = next((x for x in _numeric(sub, count_col) if np.isfinite(x)), None) if count_col else None
        hidden = bool(_hidden(sub, count_col).all()) if count_col else False
        tick_labels.append(_with_count(g, c, hidden and c is None))
    ax.set_yticks(range(len(groups)), tick_labels)
    ax.set_ylim(len(groups) - 0.5, -0.5)
    ax.tick_params(axis="y", length=0)
    ax.spines["left"].set_visible(False)
    ax.set_xlim(0, x_top)
    _percent_axis(ax.xaxis)
    ax.grid(axis="x", color=LIGHT_GREY, linewidth=0.6)
    ax.set_axisbelow(True)
    ax.set_xlabel("share of each population (%)")
    ax.set_title(title, loc="left")

    total = _unique_text(data, "n")
    list_name = f"{_place(place).counted} on the list"
    if total is not None and np.isfinite(pd.to_numeric(total, errors="coerce")):
        list_name += f" (n = {_fmt_int(float(total))})"
    handles = [Patch(facecolor=list_colour, edgecolor=INK, linewidth=0.6)]
    labels = [list_name]
    for j, b in enumerate(benches):
        handles.append(Patch(facecolor=bench_colours[j % 4], edgecolor=INK, linewidth=0.6, hatch=SERIES_HATCHES[(j + 1) % 6]))
        labels.append(names[b])
    _legend_below(ax, handles, labels, ncol=min(len(handles), 3))
    return ax
