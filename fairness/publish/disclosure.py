"""Statistical disclosure control: make a result table safe to publish.

A count of fewer than ten people in a gang database can identify someone,
so no published table, chart or sentence may show one. :func:`protect_table`
takes any tidy result table and returns a publishable copy with the decisions
it made:

* **primary** suppression: a count from 1 to ``threshold - 1`` is hidden; a
  true zero is shown as 0;
* **complement** suppression: a count shown beside its base (the list size
  ``n``, a group's size, any denominator in the same row) gives back
  ``base - count``, the people in the base but not in the count; where that
  is from 1 to ``threshold - 1`` the count is hidden as a primary cell
  (19 of 21 says that 2 people are not in the 19);
* **secondary** suppression: where a hidden count could be worked out from a
  total (shown in the table, like a "Total" row, or derivable, like the list
  size ``n`` that the ethnic groups of one benchmark add up to), further
  counts are hidden until no hidden count can be worked out by any linear
  combination of the totals;
* **derived** suppression: a share, rate, ratio, interval bound, z-score or
  p-value calculated from a hidden count is hidden too (share x n gives the
  count back);
* optional **rounding** of the counts still shown to a base such as 5.

Hidden cells show the marker ``"[c]"`` (the ONS symbol for "confidential").
:func:`protect_value` does the same for a single number in a sentence, and
:func:`find_small_counts` / :func:`assert_publishable` check a table or a text
before it leaves the building.

The ONS practice this follows is summarised in
``shared/reference/published_figures.md`` ("Publishing small numbers").
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from fairness._lazy import LazyModule
from fairness.definitions import DEFAULT_SUPPRESSION_THRESHOLD
from fairness.errors import DisclosureError

linalg = LazyModule("scipy.linalg")  # imported when first used

__all__ = [
    "DECISION_COLUMNS",
    "FINDING_COLUMNS",
    "MARKER",
    "DisclosureError",
    "KnownTotal",
    "ProtectedTable",
    "TotalColumn",
    "TotalRow",
    "TotalSpec",
    "assert_publishable",
    "find_small_counts",
    "protect_table",
    "protect_value",
]

#: What a hidden cell shows: the ONS symbol for "confidential".
MARKER = "[c]"
#: ``ProtectedTable.banner`` of a table made in ``internal`` mode.
BANNER_INTERNAL = "NOT FOR PUBLICATION"
#: Columns of ``ProtectedTable.decisions``, in order.
DECISION_COLUMNS: tuple[str, ...] = ("row", "column", "hidden", "rule")
#: Columns of the table returned by :func:`find_small_counts`, in order.
FINDING_COLUMNS: tuple[str, ...] = ("row", "column", "value", "context")
#: Why a cell was hidden or changed, in the order the rules are applied.
RULES: tuple[str, ...] = ("primary", "complement", "secondary", "derived", "rounded")
MODES: tuple[str, ...] = ("publication", "internal")

# ---------------------------------------------------------------- messages
# Tests compare against these, so change them here and nowhere else.
UNKNOWN_OPTION = "{name}={value!r} is not valid; valid values are {valid}"
NOT_A_DATAFRAME = "table must be a pandas DataFrame, not {type}"
NO_COUNT_COLUMNS = "count_cols is empty; name at least one column of counts"
MISSING_COLUMNS = "{what} {missing} not found in the table; available columns are {available}"
OVERLAPPING_COLUMNS = "column {column!r} is given both as {first} and as {second}; give it once"
BAD_DERIVED_SOURCE = (
    "derived column {column!r} depends on {source!r}, which is not a count, base or "
    "derived column; valid sources are {valid}"
)
BAD_TOTAL_PART = (
    "TotalColumn names {column!r}, which is not in count_cols; totals and parts must be "
    "count columns ({valid})"
)
BAD_TOTAL_SPEC = "totals must hold TotalRow, TotalColumn or KnownTotal objects, not {type}"
BAD_COMPLEMENT = (
    "complements must hold (count, base) pairs of two different columns, the count in count_cols "
    "and the base in count_cols or base_cols; got {pair!r} (valid columns: {valid})"
)
BAD_KEEP = (
    "keep must hold (index label, column) cells of the table, the column a count or base column; "
    "got {cell!r} ({why}; valid columns: {valid})"
)
NON_NUMERIC_COUNT = (
    "column {column!r} must hold counts, but row {row!r} holds {value!r}; "
    "a count is a number of 0 or more, or missing (NaN)"
)
NEGATIVE_COUNT = (
    "column {column!r} holds the negative count {value!r} in row {row!r}; "
    "a count is a number of 0 or more, or missing (NaN)"
)
DUPLICATE_INDEX = (
    "the table's index has duplicate labels ({labels}); decisions name rows by index "
    "label, so reset the index first (table.reset_index(drop=True))"
)
DUPLICATE_TOTAL_ROW = (
    "group {group!r} has {n} rows labelled {label!r} in {column!r}; a group has at most "
    "one total row"
)
TWO_TOTAL_ROWS = (
    "two TotalRow specs group rows by {by}; a group has one total, so give one TotalRow "
    "per grouping"
)
BAD_THRESHOLD = "threshold must be a whole number of 1 or more, not {value!r}"
BAD_ROUNDING = "rounding must be None or a whole number of 1 or more, not {value!r}"
UNPROTECTABLE = (
    "the counts in {cells} are below {threshold} but can be worked out from totals "
    "assumed published elsewhere (by, KnownTotal or a TotalColumn without a total); "
    "these totals themselves disclose them: publish this breakdown with coarser groups"
)
SMALL_COUNTS_FOUND = (
    "{n} count(s) from 1 to {largest} found; publish a count below {threshold} only as "
    "{marker!r} (protect_table) or as 'fewer than {threshold}' (protect_value): {cells}"
)
NOT_FOR_PUBLICATION = (
    "this table was protected in 'internal' mode and is marked {banner!r}; "
    "make the published version with protect_table(..., mode='publication')"
)
NEGATIVE_VALUE = "count {value!r} is negative; a count is a number of 0 or more"

_NOTE_PUBLICATION = (
    "Counts below {threshold} are suppressed ({marker}); so is a count shown beside its base "
    "when the base minus the count is below {threshold}, and further counts from "
    "which a suppressed count could be worked out using a total (secondary "
    "suppression), and any share, rate, ratio, interval or test statistic calculated "
    "from a suppressed count. True zeros are shown as 0."
)
_NOTE_ROUNDING = (
    " Counts are rounded to the nearest {rounding}, so totals may not equal the sum of "
    "their parts; shares, rates and intervals are calculated from unrounded counts."
)
_NOTE_INTERNAL = (
    "NOT FOR PUBLICATION: internal working table. Counts below {threshold} are shown "
    "unsuppressed; publish only the output of protect_table(..., mode='publication')."
)
_MAX_LISTED = 20
_TOLERANCE = 1e-8
_RANK_TOLERANCE = 1e-10


# ----------------------------------------------------------------- totals
@dataclass(frozen=True)
class TotalRow:
    """Rows that hold the total of the other rows of their group.

    Within each group of rows sharing the values of ``by``, the row whose
    ``column`` equals ``label`` holds, in every count column, the sum of the
    group's other rows. ``by=None`` means the ``by`` given to
    :func:`protect_table`. ``column`` and ``by`` may name columns or index
    levels. A group without such a row is treated as :class:`KnownTotal`.

    Examples
    --------
    A long two-way table ``borough, ethnicity, count`` with "All" rows in both
    directions: ``by=["borough"]`` with
    ``totals=[TotalRow("ethnicity", "All"), TotalRow("borough", "All", by=["ethnicity"])]``.
    """

    column: str
    label: Hashable = "Total"
    by: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.by is not None:
            object.__setattr__(self, "by", _names(self.by))


@dataclass(frozen=True)
class TotalColumn:
    """A column that holds, in each row, the sum of other count columns.

    ``total`` holds the sum of ``parts`` in every row. With ``total=None`` the
    row sums are not in the table but are taken as published elsewhere
    (a wide cross-tab whose row totals appear in another table).
    """

    parts: tuple[str, ...]
    total: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "parts", _names(self.parts))


@dataclass(frozen=True)
class KnownTotal:
    """Rows sharing the values of ``by`` add up to a total published elsewhere.

    Use it for the second dimension of a long two-way table that has no "All"
    rows. ``by=()`` means the whole table.
    """

    by: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "by", _names(self.by))


TotalSpec = TotalRow | TotalColumn | KnownTotal


# ---------------------------------------------------------------- result
@dataclass(frozen=True, eq=False)
class ProtectedTable:
    """A result table made safe to publish, with the decisions behind it.

    Attributes
    ----------
    table : DataFrame
        The input table with hidden cells replaced by ``marker``. A column with
        at least one hidden cell has dtype ``object`` (numbers as Python
        ``int``/``float``, hidden cells as the marker string), so it renders as
        ``[c]`` in HTML and as the string ``"[c]"`` in JSON, distinct from a
        missing value (``NaN``/``null``). Other columns keep their dtype. In
        ``publication`` mode it never shows a count from 1 to
        ``threshold - 1``; in ``internal`` mode it is an unchanged copy.
    hidden : DataFrame of bool
        Same index and columns as ``table``: True where a cell is hidden. Use it
        to style cells or to format numeric columns around the marker.
    decisions : DataFrame
        Columns ``row, column, hidden, rule`` (:data:`DECISION_COLUMNS`): the
        index label and column of each cell acted on, whether it is hidden in
        ``table``, and the rule (``primary``, ``secondary``, ``derived`` or
        ``rounded``). A ``rounded`` derived cell keeps its value, calculated
        from the unrounded count. In ``internal`` mode the rows say what
        publication would hide, with ``hidden`` False. The decisions never
        hold the hidden values, so they may be shared with reviewers.
    mode, threshold, rounding, marker
        The options used.
    note : str
        A footnote for the report saying what was done.
    banner : str or None
        ``"NOT FOR PUBLICATION"`` in ``internal`` mode, None otherwise.
    count_cols, base_cols, derived_cols : tuple of str
        The columns treated as counts, bases and derived values.
    """

    table: pd.DataFrame
    hidden: pd.DataFrame
    decisions: pd.DataFrame
    mode: Literal["publication", "internal"]
    threshold: int
    rounding: int | None
    marker: str
    note: str
    banner: str | None
    count_cols: tuple[str, ...] = field(default=())
    base_cols: tuple[str, ...] = field(default=())
    derived_cols: tuple[str, ...] = field(default=())

    @property
    def publishable(self) -> bool:
        """True when the table was made in ``publication`` mode."""
        return self.mode == "publication"


# ------------------------------------------------------------ main entry
def protect_table(
    table: pd.DataFrame,
    *,
    count_cols: Sequence[str],
    derived: Mapping[str, str | Sequence[str]] | None = None,
    by: Sequence[str] = (),
    totals: Sequence[TotalSpec] | None = None,
    base_cols: Sequence[str] = (),
    complements: Sequence[tuple[str, str]] | None = None,
    keep: Iterable[tuple[Hashable, str]] = (),
    threshold: int = DEFAULT_SUPPRESSION_THRESHOLD,
    rounding: int | None = None,
    mode: Literal["publication", "internal"] = "publication",
    marker: str = MARKER,
) -> ProtectedTable:
    r"""Suppress small counts, and everything that would reveal them, in a table.

    A cell of a count column is a *primary* cell when
    :math:`0 < x < \text{threshold}`; it is hidden. So is a count :math:`x`
    shown in a row beside its base :math:`b` (``complements``) when
    :math:`0 < b - x < \text{threshold}`: the complement :math:`b - x` counts
    the people in the base but not in the count, and is published by
    subtraction otherwise (rule ``complement``). The table's counts obey
    linear constraints :math:`\sum_{i \in G} x_i = T_G` whose total
    :math:`T_G` a reader knows: the rows of each ``by`` group add up to the
    group total (e.g. the ethnic groups of one benchmark add up to the list
    size), a total row or column adds up its parts, and so on (``totals``).
    Treating the hidden cells as unknowns, a hidden cell :math:`x_j` can be
    worked out exactly when the unit vector :math:`e_j` lies in the row space
    of the constraint matrix restricted to the hidden cells. *Secondary*
    suppression hides more cells until no hidden cell can be worked out:

    1. in each constraint with exactly one hidden cell, hide the smallest
       non-zero count still shown (so that ``total - shown`` no longer gives
       it); repeat until no constraint has exactly one hidden cell, which
       iterates across both dimensions of a two-way table;
    2. if a hidden cell can still be worked out by combining constraints
       (e.g. a cell bridging two blocks of hidden cells), hide the smallest
       count shown in the nearest constraint through it, and go back to 1.

    A total assumed published elsewhere (``by``, :class:`KnownTotal`, a
    :class:`TotalColumn` without a total column) is used only when it covers
    two or more cells and is itself at least ``threshold``: a smaller total
    would be suppressed wherever it is published. A zero is hidden only when
    no non-zero count is left to hide in the constraints concerned.

    Parameters
    ----------
    table : DataFrame
        A tidy result table, e.g. ``benchmark, group, count, n, share, ci_low,
        ci_high``; or a wide cross-tab with one count column per category. The
        index must be unique. Not modified.
    count_cols : sequence of str
        Columns of counts of people (or records) that add up within each ``by``
        group: checked for small counts and used in the totals.
    derived : mapping of str to str or sequence of str, optional
        Each derived column (share, rate, ratio, ci_low, ci_high, z, value,
        p_value...) mapped to the column or columns it is calculated from in
        the same row, e.g. ``{"share": ["count", "n"], "ci_low": "share"}``.
        A derived cell is hidden when any of its sources is hidden. Sources
        may be count, base or other derived columns.
    by : sequence of str, default ()
        Columns (or index levels) defining the groups whose counts add up to a
        known total: the categories of one breakdown. ``()`` means the whole
        table is one breakdown. To declare no totals at all, pass a column that
        is unique on every row.
    totals : sequence of TotalRow, TotalColumn or KnownTotal, optional
        Further linear constraints: total rows and columns shown in the table,
        and the second dimension of a two-way table.
    base_cols : sequence of str, default ()
        Denominators shown on each row, like the list size ``n`` repeated on
        every row of a benchmark. They are checked for small counts (and
        hidden if small) but not added up along ``by``.
    complements : sequence of (count, base) pairs, optional
        Columns of one row where ``base - count`` counts people: a count of
        ``count_cols`` and its base in ``count_cols`` or ``base_cols`` (e.g.
        ``[("count", "n")]`` where a table counts both the people with a
        characteristic and the people it is a share of). A count whose
        complement is from 1 to ``threshold - 1`` is hidden (rule
        ``complement``), with the secondary cells that protect it and the
        shares, rates and intervals derived from it. Default: every count
        column with every base column; ``()`` checks no complement.
    keep : iterable of (index label, column), optional
        Cells published whatever their size (a data-quality count such as the
        number whose ethnicity is "Not stated"): never hidden and left out of
        the totals, but still the base of a complement (0 no-risk of 3 people
        shown says that all 3 posed a risk).
    threshold : int, default 10
        Smallest count that may be shown (zeros apart).
    rounding : int, optional
        Round every count still shown to the nearest multiple of ``rounding``
        (halves up), e.g. 5. A non-zero count is never rounded below
        ``threshold``. Derived values are not recalculated: their decisions say
        ``rounded`` and the note says they use unrounded counts.
    mode : {"publication", "internal"}, default "publication"
        ``internal`` hides and rounds nothing and marks the result not for
        publication; its decisions list what publication would hide.
    marker : str, default "[c]"
        What a hidden cell shows.

    Returns
    -------
    ProtectedTable
        ``table``, ``hidden``, ``decisions``, ``note``, ``banner`` and the
        options used.

    Raises
    ------
    ValueError
        If a column is missing, a count is negative or not a number, the index
        has duplicates, or an option is not valid.
    DisclosureError
        If a small count can be worked out from totals assumed published
        elsewhere, whatever else is hidden.

    See Also
    --------
    protect_value : the same rule for one number in a sentence.
    assert_publishable : check a table or text before publishing it.

    Notes
    -----
    Following usual ONS practice, two hidden cells in a constraint are enough
    even when their sum is itself below ``threshold`` (e.g. 3 and 4 hidden in a
    row whose other cells and total are shown: a reader learns the pair adds
    to 7, not either value). Protection is against exact recovery by linear
    algebra; bounds from non-negativity (a hidden cell is at most the hidden
    sum) are not widened further.

    Derived values are linked to counts in the same row only. A value that
    uses a count from another row, such as a ratio to a reference group,
    discloses that count; hide it yourself when the reference count is hidden.

    A complement is checked against the base in its own row. A count whose
    base is shown only in another table (the same borough's list size in a
    second funnel) is covered when that table declares the same pair; the
    publication audit (:mod:`fairness.publish.intruder`, attack
    ``complement``) tries ``base - count`` across tables. The complement of a
    *sum* of hidden cells (two hidden cells whose total minus the shown cells
    is below ``threshold``) is not widened, as above.

    Examples
    --------
    The ethnic groups of one benchmark add up to the list size ``n``; Mixed (6)
    is below 10, so the next-smallest group (Asian) is hidden too, else
    ``210 - 120 - 64 - 20`` would give it back. Their shares go with them.

    >>> import pandas as pd
    >>> t = pd.DataFrame({
    ...     "benchmark": "census",
    ...     "group": ["White", "Black", "Asian", "Mixed"],
    ...     "count": [120, 64, 20, 6],
    ...     "n": 210,
    ...     "share": [0.571, 0.305, 0.095, 0.029],
    ... })
    >>> p = protect_table(t, count_cols=["count"], base_cols=["n"], by=["benchmark"],
    ...                   derived={"share": ["count", "n"]})
    >>> p.table
      benchmark  group count    n  share
    0    census  White   120  210  0.571
    1    census  Black    64  210  0.305
    2    census  Asian   [c]  210    [c]
    3    census  Mixed   [c]  210    [c]
    >>> p.decisions
      row column  hidden       rule
    0   2  count    True  secondary
    1   2  share    True    derived
    2   3  count    True    primary
    3   3  share    True    derived

    A count beside its base: 19 of 21 people of a borough are in the Green
    band, so 2 are Amber or Red. The 19 is hidden as a complement, 30 with it
    (else the London total of the Green counts, 139, would give it back), and
    their shares; 90 of 120 leaves 30, and stays.

    >>> f = pd.DataFrame({"borough": ["Richmond", "Hillingdon", "Brent"],
    ...                   "count": [19, 30, 90], "n": [21, 99, 120]})
    >>> f["share"] = f["count"] / f["n"]
    >>> protect_table(f, count_cols=["count", "n"], complements=[("count", "n")],
    ...               derived={"share": ["count", "n"]}).table
          borough count    n share
    0    Richmond   [c]   21   [c]
    1  Hillingdon   [c]   99   [c]
    2       Brent    90  120  0.75

    A wide cross-tab with a total row and a total column: the 5 takes 40 with
    it along its row, then 20 and 12 down their columns.

    >>> w = pd.DataFrame({"borough": ["A", "B", "C", "All"], "red": [5, 20, 30, 55],
    ...                   "amber": [40, 12, 25, 77], "total": [45, 32, 55, 132]})
    >>> protect_table(w, count_cols=["red", "amber", "total"],
    ...               totals=[TotalRow("borough", "All"),
    ...                       TotalColumn(parts=["red", "amber"], total="total")]).table
      borough  red amber  total
    0       A  [c]   [c]     45
    1       B  [c]   [c]     32
    2       C   30    25     55
    3     All   55    77    132
    """
    spec = _validate(table, count_cols, derived, by, totals, base_cols, threshold, rounding, mode,
                     complements)
    cell_cols = spec.count_cols + spec.base_cols
    values = _count_values(table, cell_cols)
    n_rows, n_cols = values.shape
    kept = np.zeros(values.shape, dtype=bool)
    for cell in keep:
        label, col = cell
        if col not in cell_cols:
            raise ValueError(BAD_KEEP.format(cell=cell, why=f"{col!r} is not a count or base column", valid=list(cell_cols)))
        if label not in table.index:
            raise ValueError(BAD_KEEP.format(cell=cell, why=f"no row {label!r}", valid=list(cell_cols)))
        kept[table.index.get_loc(label), cell_cols.index(col)] = True
    complement = _complement_cells(values, spec, threshold, kept).ravel()
    values = np.where(kept, np.nan, values)  # shown as they are, out of every total
    flat = values.ravel()

    small = (flat > 0) & (flat < threshold)
    complement &= ~small
    primary = small | complement
    constraints = _build_constraints(table, spec, values)

    def cell_name(cid: int) -> tuple[object, str]:
        return (_py(table.index[cid // n_cols]), cell_cols[cid % n_cols])

    hidden = _suppress(flat, primary, constraints, threshold, cell_name, n_cols=n_cols)
    hidden_cells = hidden.reshape(n_rows, n_cols)
    hidden_derived = _derived_from(spec, hidden_cells)

    publish = mode == "publication"
    decisions: list[tuple[int, str, bool, str]] = []
    for j, col in enumerate(cell_cols):
        for pos in np.flatnonzero(hidden_cells[:, j]):
            cid = pos * n_cols + j
            rule = "primary" if small[cid] else "complement" if complement[cid] else "secondary"
            decisions.append((pos, col, publish, rule))
    for col, mask in hidden_derived.items():
        for pos in np.flatnonzero(mask):
            decisions.append((pos, col, publish, "derived"))

    out = table.copy()
    mask_frame = pd.DataFrame(False, index=table.index, columns=table.columns)
    if publish:
        rounded = None
        if rounding is not None:
            rounded, changed = _round_counts(values, hidden_cells, rounding, threshold)
            for j, col in enumerate(cell_cols):
                for pos in np.flatnonzero(changed[:, j]):
                    decisions.append((pos, col, False, "rounded"))
            for col, mask in _derived_from(spec, changed).items():
                for pos in np.flatnonzero(mask & ~hidden_derived[col]):
                    decisions.append((pos, col, False, "rounded"))
        for j, col in enumerate(cell_cols):
            new = None if rounded is None else rounded[:, j]
            out[col] = _publish_column(table[col], hidden_cells[:, j], new, marker)
            mask_frame[col] = hidden_cells[:, j]
        for col, mask in hidden_derived.items():
            out[col] = _publish_column(table[col], mask, None, marker)
            mask_frame[col] = mask
        note = _NOTE_PUBLICATION.format(threshold=threshold, marker=marker)
        if rounding is not None:
            note += _NOTE_ROUNDING.format(rounding=rounding)
        banner = None
    else:
        note = _NOTE_INTERNAL.format(threshold=threshold)
        banner = BANNER_INTERNAL

    order = {col: k for k, col in enumerate(table.columns)}
    decisions.sort(key=lambda d: (d[0], order[d[1]], RULES.index(d[3])))
    frame = pd.DataFrame(
        {
            "row": pd.Series([_py(table.index[d[0]]) for d in decisions], dtype=object),
            "column": pd.Series([d[1] for d in decisions], dtype=object),
            "hidden": pd.Series([d[2] for d in decisions], dtype=bool),
            "rule": pd.Series([d[3] for d in decisions], dtype=object),
        },
        columns=list(DECISION_COLUMNS),
    )
    return ProtectedTable(
        table=out,
        hidden=mask_frame.astype(bool),
        decisions=frame,
        mode=mode,
        threshold=threshold,
        rounding=rounding,
        marker=marker,
        note=note,
        banner=banner,
        count_cols=spec.count_cols,
        base_cols=spec.base_cols,
        derived_cols=tuple(spec.derived),
    )


# ------------------------------------------------------ single numbers
def protect_value(
    count: float | None,
    *,
    threshold: int = DEFAULT_SUPPRESSION_THRESHOLD,
    rounding: int | None = None,
) -> str:
    """Write a count for a sentence, hiding it if it is small.

    Parameters
    ----------
    count : int, float or None
        A count of people; None or NaN means not available.
    threshold : int, default 10
        Smallest count that may be shown (zeros apart).
    rounding : int, optional
        Round a count that is shown to the nearest multiple of ``rounding``.

    Returns
    -------
    str
        ``"0"`` for zero, ``"fewer than 10"`` for 1 to 9, the count with
        thousands separators otherwise, ``"not available"`` for a missing one.

    Examples
    --------
    >>> [protect_value(x) for x in (0, 7, 12, 1234, None)]
    ['0', 'fewer than 10', '12', '1,234', 'not available']
    >>> protect_value(13, rounding=5)
    '15'
    """
    _check_threshold(threshold)
    _check_rounding(rounding)
    if count is None or (isinstance(count, float) and math.isnan(count)) or pd.isna(count):
        return "not available"
    if isinstance(count, bool) or not isinstance(count, (int, float, np.integer, np.floating)):
        raise TypeError(NON_NUMERIC_COUNT.format(column="count", row=0, value=count))
    if count < 0:
        raise ValueError(NEGATIVE_VALUE.format(value=count))
    if count == 0:
        return "0"
    if count < threshold:
        return f"fewer than {threshold}"
    if rounding is not None:
        count = _round_one(float(count), rounding, threshold)
    if float(count).is_integer():
        return f"{int(count):,}"
    return f"{count:,}"


# ----------------------------------------------------------- checking
def find_small_counts(
    data: pd.DataFrame | ProtectedTable | str,
    *,
    count_cols: Sequence[str] | None = None,
    threshold: int = DEFAULT_SUPPRESSION_THRESHOLD,
) -> pd.DataFrame:
    """List the counts from 1 to ``threshold - 1`` in a table or a text.

    Parameters
    ----------
    data : DataFrame, ProtectedTable or str
        A table, a protected table (its ``count_cols`` and ``base_cols`` are
        scanned) or a text such as a report paragraph.
    count_cols : sequence of str, optional
        Columns to scan in a DataFrame. Default: every column whose numbers are
        all whole (numbers stored in ``object`` columns next to ``"[c]"``
        included, booleans and strings excluded).
    threshold : int, default 10
        Smallest count that may be shown.

    Returns
    -------
    DataFrame
        Columns ``row, column, value, context`` (:data:`FINDING_COLUMNS`). For a
        table: index label, column name, the value, and ``""``. For a text:
        1-based line and character position, the value, and the surrounding
        words.

    Notes
    -----
    Scanning text is a heuristic. It flags every stand-alone whole number
    from 1 to ``threshold - 1`` written in digits except in dates, times,
    ranges (``10-17``), decimals, percentages, ratios (``1 in 5``), quarters
    (``Q3``) and labels (``Table 3``, ``Figure 2``, ``[note 1]``); and a
    number written as a word (``seven``) when a word for people or records
    (``people``, ``children``, ``records``...) follows within three words.

    Examples
    --------
    >>> import pandas as pd
    >>> find_small_counts(pd.DataFrame({"count": [0, 7, 12]}))[["row", "column", "value"]]
       row column  value
    0    1  count      7
    >>> find_small_counts("In 2024Q3, 7 people were added; Table 2 shows 12.")[["row", "column", "value"]]
       row  column  value
    0    1      12      7
    """
    _check_threshold(threshold)
    if isinstance(data, str):
        return _scan_text(data, threshold)
    if isinstance(data, ProtectedTable):
        if count_cols is None:
            count_cols = data.count_cols + data.base_cols
        data = data.table
    if not isinstance(data, pd.DataFrame):
        raise TypeError(NOT_A_DATAFRAME.format(type=type(data).__name__))
    if count_cols is None:
        cols = [c for c in data.columns if _looks_like_counts(data[c])]
    else:
        cols = list(_names(count_cols))
        _check_columns(data, cols, "count column(s)")
    rows: list[tuple[Any, Any, Any, str]] = []
    for col in cols:
        for label, value in data[col].items():
            number = _as_number(value)
            if number is not None and 0 < number < threshold:
                rows.append((_py(label), col, _py(value), ""))
    return _findings(rows)


def assert_publishable(
    data: pd.DataFrame | ProtectedTable | str,
    *,
    count_cols: Sequence[str] | None = None,
    threshold: int = DEFAULT_SUPPRESSION_THRESHOLD,
) -> None:
    """Raise :class:`DisclosureError` if a table or text shows a small count.

    Parameters
    ----------
    data : DataFrame, ProtectedTable or str
        What is about to be published. A :class:`ProtectedTable` made in
        ``internal`` mode is refused outright.
    count_cols, threshold
        As in :func:`find_small_counts`.

    Raises
    ------
    DisclosureError
        Listing every count from 1 to ``threshold - 1`` found (its
        ``findings`` attribute holds them as a table).

    Examples
    --------
    >>> import pandas as pd
    >>> assert_publishable(pd.DataFrame({"count": [0, 12, "[c]"]}))
    >>> assert_publishable(pd.DataFrame({"count": [0, 7]}))
    Traceback (most recent call last):
    ...
    fairness.errors.DisclosureError: 1 count(s) from 1 to 9 found; ...
    """
    if isinstance(data, ProtectedTable) and not data.publishable:
        raise DisclosureError(NOT_FOR_PUBLICATION.format(banner=data.banner))
    findings = find_small_counts(data, count_cols=count_cols, threshold=threshold)
    if len(findings):
        cells = "; ".join(
            f"row {r!r}, column {c!r}: {v!r}"
            for r, c, v in findings[["row", "column", "value"]]
            .head(_MAX_LISTED)
            .itertuples(index=False)
        )
        if len(findings) > _MAX_LISTED:
            cells += f" (and {len(findings) - _MAX_LISTED} more)"
        message = SMALL_COUNTS_FOUND.format(
            n=len(findings), largest=threshold - 1, threshold=threshold, marker=MARKER, cells=cells
        )
        raise DisclosureError(message, findings)


# ====================================================== implementation
@dataclass(frozen=True)
class _Spec:
    count_cols: tuple[str, ...]
    base_cols: tuple[str, ...]
    derived: dict[str, tuple[str, ...]]
    by: tuple[str, ...]
    totals: tuple[TotalSpec, ...]
    complements: tuple[tuple[str, str], ...] = ()


@dataclass
class _Constraint:
    """``sum(sign * x) = known`` over flat cell ids (row position * n_cols + column)."""

    members: list[int]
    signs: list[int]
    explicit: bool  # the total is a cell of the table (else published elsewhere)
    active: bool = True  # can a reader use it? see _activate


def _names(value: str | Iterable[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(value)


def _check_option(name: str, value: object, valid: Sequence[object]) -> None:
    if value not in valid:
        raise ValueError(UNKNOWN_OPTION.format(name=name, value=value, valid=list(valid)))


def _check_threshold(threshold: object) -> None:
    if isinstance(threshold, bool) or not isinstance(threshold, (int, np.integer)) or threshold < 1:
        raise ValueError(BAD_THRESHOLD.format(value=threshold))


def _check_rounding(rounding: object) -> None:
    if rounding is None:
        return
    if isinstance(rounding, bool) or not isinstance(rounding, (int, np.integer)) or rounding < 1:
        raise ValueError(BAD_ROUNDING.format(value=rounding))


def _check_columns(table: pd.DataFrame, names: Iterable[str], what: str) -> None:
    missing = [n for n in names if n not in table.columns]
    if missing:
        raise ValueError(
            MISSING_COLUMNS.format(what=what, missing=missing, available=list(table.columns))
        )


def _check_keys(table: pd.DataFrame, names: Iterable[str], what: str) -> None:
    available = list(table.columns) + [n for n in table.index.names if n is not None]
    missing = [n for n in names if n not in available]
    if missing:
        raise ValueError(MISSING_COLUMNS.format(what=what, missing=missing, available=available))


def _validate(
    table, count_cols, derived, by, totals, base_cols, threshold, rounding, mode, complements=None
) -> _Spec:
    if not isinstance(table, pd.DataFrame):
        raise TypeError(NOT_A_DATAFRAME.format(type=type(table).__name__))
    _check_option("mode", mode, MODES)
    _check_threshold(threshold)
    _check_rounding(rounding)
    counts, bases = _names(count_cols), _names(base_cols)
    if not counts:
        raise ValueError(NO_COUNT_COLUMNS)
    _check_columns(table, counts, "count column(s)")
    _check_columns(table, bases, "base column(s)")
    for col in bases:
        if col in counts:
            raise ValueError(OVERLAPPING_COLUMNS.format(column=col, first="count", second="base"))
    if not table.index.is_unique:
        dupes = list(table.index[table.index.duplicated()].unique()[:5])
        raise ValueError(DUPLICATE_INDEX.format(labels=dupes))
    deps = {str(k): _names(v) for k, v in (derived or {}).items()}
    _check_columns(table, deps, "derived column(s)")
    for col in deps:
        for other, kind in ((counts, "count"), (bases, "base")):
            if col in other:
                raise ValueError(
                    OVERLAPPING_COLUMNS.format(column=col, first=kind, second="derived")
                )
    valid = counts + bases + tuple(deps)
    for col, sources in deps.items():
        for source in sources:
            if source not in valid:
                raise ValueError(
                    BAD_DERIVED_SOURCE.format(column=col, source=source, valid=list(valid))
                )
    by_names = _names(by)
    _check_keys(table, by_names, "by column(s)")
    specs = tuple(totals or ())
    for s in specs:
        if isinstance(s, TotalRow):
            _check_keys(table, (s.column,) + (s.by or ()), "TotalRow column(s)")
        elif isinstance(s, KnownTotal):
            _check_keys(table, s.by, "KnownTotal column(s)")
        elif isinstance(s, TotalColumn):
            for col in s.parts + ((s.total,) if s.total is not None else ()):
                if col not in counts:
                    raise ValueError(BAD_TOTAL_PART.format(column=col, valid=list(counts)))
        else:
            raise TypeError(BAD_TOTAL_SPEC.format(type=type(s).__name__))
    if complements is None:
        pairs = tuple((c, b) for c in counts for b in bases)
    else:
        pairs = []
        for pair in complements:
            ok = (isinstance(pair, (tuple, list)) and len(pair) == 2 and pair[0] in counts
                  and pair[1] in counts + bases and pair[0] != pair[1])
            if not ok:
                raise ValueError(BAD_COMPLEMENT.format(pair=pair, valid=list(counts + bases)))
            pairs.append((str(pair[0]), str(pair[1])))
        pairs = tuple(dict.fromkeys(pairs))
    return _Spec(counts, bases, deps, by_names, specs, pairs)


def _complement_cells(values: np.ndarray, spec: _Spec, threshold: int, kept: np.ndarray) -> np.ndarray:
    """Cells (rows x columns) of the counts whose complement (base - count in the row) is 1 to threshold - 1.

    A base below the threshold is hidden itself, and the complement with it, unless it is kept (shown).
    """
    out = np.zeros(values.shape, dtype=bool)
    index = {col: j for j, col in enumerate(spec.count_cols + spec.base_cols)}
    with np.errstate(invalid="ignore"):
        for count, base in spec.complements:
            b = values[:, index[base]]
            rest = b - values[:, index[count]]
            shown = (b >= threshold) | kept[:, index[base]]
            out[:, index[count]] |= (rest > 0) & (rest < threshold) & shown & ~kept[:, index[count]]
    return out


def _as_number(value: object) -> float | None:
    """A real number, or None for missing values, booleans, strings and the like."""
    if isinstance(value, (bool, np.bool_)) or value is None or value is pd.NA:
        return None
    if isinstance(value, (int, float, np.integer, np.floating)):
        number = float(value)
        return None if math.isnan(number) else number
    return None


def _py(value: object) -> object:
    """A NumPy scalar as the Python scalar it holds (for messages and JSON)."""
    return value.item() if isinstance(value, np.generic) else value


def _count_values(table: pd.DataFrame, cols: Sequence[str]) -> np.ndarray:
    values = np.full((len(table), len(cols)), np.nan)
    for j, col in enumerate(cols):
        series = table[col]
        if pd.api.types.is_bool_dtype(series.dtype):
            raise ValueError(
                NON_NUMERIC_COUNT.format(
                    column=col, row=_py(series.index[0]), value=_py(series.iloc[0])
                )
            )
        if pd.api.types.is_numeric_dtype(series.dtype):
            column = series.to_numpy(dtype=float, na_value=np.nan)
        else:
            column = np.full(len(series), np.nan)
            for pos, value in enumerate(series):
                number = _as_number(value)
                if number is None and not pd.isna(value):
                    raise ValueError(
                        NON_NUMERIC_COUNT.format(
                            column=col, row=_py(series.index[pos]), value=value
                        )
                    )
                column[pos] = np.nan if number is None else number
        negative = np.flatnonzero(column < 0)
        if len(negative):
            pos = negative[0]
            raise ValueError(
                NEGATIVE_COUNT.format(
                    column=col, row=_py(series.index[pos]), value=_py(series.iloc[pos])
                )
            )
        values[:, j] = column
    return values


def _labels(table: pd.DataFrame, name: str) -> np.ndarray:
    if name in table.columns:
        return table[name].to_numpy()
    return table.index.get_level_values(name).to_numpy()


def _groups(table: pd.DataFrame, names: tuple[str, ...]) -> list[np.ndarray]:
    """Row positions of each group of rows sharing the values of ``names``."""
    if len(table) == 0:
        return []
    if not names:
        return [np.arange(len(table))]
    keys = pd.DataFrame({f"k{i}": _labels(table, n) for i, n in enumerate(names)})
    grouped = keys.groupby(list(keys.columns), dropna=False, sort=False).indices
    return sorted((np.asarray(v) for v in grouped.values()), key=lambda p: int(p[0]))


def _build_constraints(table: pd.DataFrame, spec: _Spec, values: np.ndarray) -> list[_Constraint]:
    n_cols = values.shape[1]
    additive = range(len(spec.count_cols))  # base columns come after, and do not add up
    constraints: list[tuple[list[int], list[int], bool]] = []  # members, signs, explicit

    def add(parts: list[int], total: int | None) -> None:
        members = [c for c in parts if not np.isnan(values.flat[c])]
        signs = [1] * len(members)
        explicit = total is not None and not np.isnan(values.flat[total])
        if explicit:
            members.append(total)
            signs.append(-1)
        constraints.append((members, signs, explicit))

    # Down the rows: one grouping per distinct `by`, explicit where a TotalRow says so.
    groupings: dict[tuple[str, ...], TotalRow | None] = {}
    for s in spec.totals:
        if isinstance(s, TotalRow):
            names = s.by if s.by is not None else spec.by
            if names in groupings:
                raise ValueError(TWO_TOTAL_ROWS.format(by=list(names)))
            groupings[names] = s
    groupings.setdefault(spec.by, None)
    for s in spec.totals:
        if isinstance(s, KnownTotal):
            groupings.setdefault(s.by, None)
    for names, total_row in groupings.items():
        for positions in _groups(table, names):
            total_pos = None
            parts = positions
            if total_row is not None:
                labels = pd.Series(_labels(table, total_row.column)[positions])
                is_total = (labels == total_row.label).to_numpy()
                if is_total.sum() > 1:
                    group = tuple(_labels(table, n)[positions[0]] for n in names)
                    raise ValueError(
                        DUPLICATE_TOTAL_ROW.format(
                            group=group,
                            n=int(is_total.sum()),
                            label=total_row.label,
                            column=total_row.column,
                        )
                    )
                if is_total.any():
                    total_pos = int(positions[is_total][0])
                    parts = positions[~is_total]
            for j in additive:
                add(
                    [int(p) * n_cols + j for p in parts],
                    None if total_pos is None else total_pos * n_cols + j,
                )
    # Across the columns: one constraint per row for each TotalColumn.
    index = {col: j for j, col in enumerate(spec.count_cols)}
    for s in spec.totals:
        if isinstance(s, TotalColumn):
            for pos in range(len(table)):
                add(
                    [pos * n_cols + index[c] for c in s.parts],
                    None if s.total is None else pos * n_cols + index[s.total],
                )
    out, seen = [], set()
    for members, signs, explicit in constraints:
        key = tuple(sorted(zip(members, signs, strict=True)))
        if key in seen:
            continue
        seen.add(key)
        out.append(_Constraint(members, signs, explicit))
    return out


def _activate(constraints: list[_Constraint], flat: np.ndarray, threshold: int) -> None:
    """Decide which constraints a reader can use.

    One whose total is a cell of the table needs two members. A total from
    elsewhere must cover two cells and be ``>= threshold``.
    """
    for c in constraints:
        if len(c.members) < 2:
            c.active = False
        elif not c.explicit:
            c.active = float(flat[c.members].sum()) >= threshold


def _blocks(
    constraints: list[_Constraint], unknown: np.ndarray
) -> list[tuple[tuple[int, ...], list[_Constraint]]]:
    """Split the unknown cells into independent blocks: cells linked by shared constraints.

    A cell in no constraint is free (never determined) and belongs to no block.
    """
    parent: dict[int, int] = {}

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    linked = []
    for c in constraints:
        cells = [m for m in c.members if unknown[m]]
        if not cells:
            continue
        for m in cells:
            parent.setdefault(m, m)
        for a, b in itertools.pairwise(cells):
            parent[root(a)] = root(b)
        linked.append((cells[0], c))
    cells_of: dict[int, list[int]] = {}
    for m in parent:
        cells_of.setdefault(root(m), []).append(m)
    cons_of: dict[int, list[_Constraint]] = {}
    for first, c in linked:
        cons_of.setdefault(root(first), []).append(c)
    return [(tuple(sorted(cells_of[r])), cons_of[r]) for r in sorted(cells_of)]


def _fixed_in_block(
    cells: tuple[int, ...], constraints: list[_Constraint], unknown: np.ndarray
) -> list[int]:
    """The cells of one block that follow exactly from its constraints.

    With A the constraint matrix restricted to the unknown cells, x_j is
    determined iff e_j lies in the row space of A, i.e. iff its leverage (the
    j-th diagonal entry of the projector onto the row space) is 1. The row
    space comes from a rank-revealing (pivoted) QR of A transposed.
    """
    column = {cid: k for k, cid in enumerate(cells)}
    a = np.zeros((len(constraints), len(cells)))
    for r, c in enumerate(constraints):
        for cid, sign in zip(c.members, c.signs, strict=True):
            if unknown[cid]:
                a[r, column[cid]] = sign
    q, upper, _ = linalg.qr(a.T, mode="economic", pivoting=True)
    diagonal = np.abs(np.diag(upper))
    rank = int(np.sum(diagonal > diagonal[0] * _RANK_TOLERANCE)) if diagonal.size else 0
    leverage = np.sum(q[:, :rank] ** 2, axis=1)
    return [cid for cid, lev in zip(cells, leverage, strict=True) if lev > 1 - _TOLERANCE]


def _suppress(
    flat: np.ndarray,
    primary: np.ndarray,
    constraints: list[_Constraint],
    threshold: int,
    cell_name,
    n_cols: int = 1,
) -> np.ndarray:
    """Primary plus secondary suppression: the hidden flags over flat cell ids.

    A secondary cell is chosen where its loss matters least (as sdcTable's and
    τ-ARGUS's heuristics do): first a cell in a row that already has a hidden
    cell (that row's figures are lost anyway, so even a zero there), then a
    non-zero cell in the row with the fewest people (its largest count), then
    the smallest count.
    """
    _activate(constraints, flat, threshold)
    active = [c for c in constraints if c.active]
    hidden = primary.copy()
    if not hidden.any() or not active:
        return hidden
    is_total = np.zeros(len(flat), dtype=bool)
    through: dict[int, list[_Constraint]] = {}
    for c in active:
        for cid, sign in zip(c.members, c.signs, strict=True):
            is_total[cid] |= sign < 0
            through.setdefault(cid, []).append(c)

    rows = flat.reshape(-1, n_cols)
    row_people = np.nan_to_num(rows, nan=0.0).max(axis=1)

    def key(cid: int) -> tuple:
        # A row already hidden in part (even a zero there: that row is lost
        # anyway); non-zero; the row with the fewest people; the smallest
        # count; parts before totals; table order.
        value = flat[cid]
        row = cid // n_cols
        row_hidden = bool(hidden[row * n_cols:(row + 1) * n_cols].any())
        return (not row_hidden, value == 0, row_people[row], value, bool(is_total[cid]), cid)

    def exposed_error(cells: Iterable[int]) -> DisclosureError:
        names = [cell_name(cid) for cid in sorted(cells)[:_MAX_LISTED]]
        return DisclosureError(UNPROTECTABLE.format(cells=names, threshold=threshold))

    # Cells that totals from elsewhere give away even with every other cell hidden.
    everything = np.zeros(len(flat), dtype=bool)
    for c in active:
        everything[c.members] = True
    inherent = np.zeros(len(flat), dtype=bool)
    for cells, cons in _blocks(active, everything):
        inherent[_fixed_in_block(cells, cons, everything)] = True
    if (inherent & primary).any():
        raise exposed_error(np.flatnonzero(inherent & primary))

    def nearest_candidate(cid: int) -> int | None:
        """The best cell still shown in the constraints nearest to ``cid``."""
        cells, seen_cells, seen = {cid}, {cid}, set()
        while cells:
            through_now = [c for x in cells for c in through.get(x, []) if id(c) not in seen]
            seen.update(id(c) for c in through_now)
            shown = {m for c in through_now for m in c.members if not hidden[m]}
            if shown:
                return min(shown, key=key)
            cells = {m for c in through_now for m in c.members if hidden[m]} - seen_cells
            seen_cells |= cells
        return None

    cache: dict[tuple[int, ...], list[int]] = {}
    while True:
        # 1. No constraint may have exactly one hidden cell.
        changed = True
        while changed:
            changed = False
            for c in active:
                if sum(hidden[m] for m in c.members) == 1:
                    shown = [m for m in c.members if not hidden[m]]
                    if shown:
                        hidden[min(shown, key=key)] = True
                        changed = True
        # 2. No hidden cell may follow from combining constraints. Blocks are
        #    independent, so each block with a determined cell gets one more
        #    hidden cell per round; an unchanged block is not solved again.
        to_hide = set()
        for cells, cons in _blocks(active, hidden):
            if cells not in cache:
                cache[cells] = _fixed_in_block(cells, cons, hidden)
            targets = sorted(
                (cid for cid in cache[cells] if not inherent[cid]),
                key=lambda cid: (not primary[cid], cid),
            )
            for cid in targets:
                candidate = nearest_candidate(cid)
                if candidate is not None:
                    to_hide.add(candidate)
                    break
            else:
                if any(primary[cid] for cid in targets):  # pragma: no cover - see inherent
                    raise exposed_error(cid for cid in targets if primary[cid])
        if not to_hide:
            return hidden
        hidden[list(to_hide)] = True


def _derived_from(spec: _Spec, cells: np.ndarray) -> dict[str, np.ndarray]:
    """Per derived column, rows where any source (followed through chains) is flagged."""
    cell_cols = spec.count_cols + spec.base_cols
    flags = {col: cells[:, j] for j, col in enumerate(cell_cols)}
    out = {col: np.zeros(cells.shape[0], dtype=bool) for col in spec.derived}
    changed = True
    while changed:
        changed = False
        for col, sources in spec.derived.items():
            new = out[col].copy()
            for source in sources:
                new |= flags[source] if source in flags else out[source]
            if (new != out[col]).any():
                out[col] = new
                changed = True
    return out


def _round_one(value: float, base: int, threshold: int) -> float:
    rounded = math.floor(value / base + 0.5) * base
    if 0 < value and rounded < threshold:
        rounded = math.ceil(threshold / base) * base
    return float(rounded)


def _round_counts(
    values: np.ndarray, hidden: np.ndarray, base: int, threshold: int
) -> tuple[np.ndarray, np.ndarray]:
    rounded = values.copy()
    show = ~hidden & ~np.isnan(values) & (values > 0)
    for pos, j in zip(*np.nonzero(show), strict=True):
        rounded[pos, j] = _round_one(float(values[pos, j]), base, threshold)
    changed = show & (rounded != values)
    return rounded, changed


def _publish_column(
    series: pd.Series, hide: np.ndarray, new: np.ndarray | None, marker: str
) -> pd.Series:
    """The column as published: hidden cells as the marker, rounded values where given."""
    if not hide.any():
        if new is None:
            return series.copy()
        if pd.api.types.is_integer_dtype(series.dtype) and not np.isnan(new).any():
            return pd.Series(new, index=series.index, name=series.name).astype(series.dtype)
        return pd.Series(new, index=series.index, name=series.name)
    integer = pd.api.types.is_integer_dtype(series.dtype)
    items: list[object] = []
    for pos, value in enumerate(series.tolist()):
        if hide[pos]:
            items.append(marker)
        elif new is not None and not np.isnan(new[pos]):
            number = float(new[pos])
            items.append(int(number) if integer or number.is_integer() else number)
        else:
            items.append(value)
    return pd.Series(items, index=series.index, name=series.name, dtype=object)


# --------------------------------------------------------------- text
_WORD_NUMBERS = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen "
        "fourteen fifteen sixteen seventeen eighteen nineteen".split()
    )
}
_COUNT_NOUNS = frozenset(
    """people person persons individual individuals child children young youth youths
    adult adults man men woman women boy boys girl girls male males female females
    nominal nominals subject subjects entry entries record records case cases victim
    victims offender offenders suspect suspects resident residents member members name
    names teenager teenagers juvenile juveniles minor minors pupil pupils student students
    """.split()
)
_MONTHS = frozenset(
    """january february march april may june july august september october november
    december jan feb mar apr jun jul aug sep sept oct nov dec""".split()
)
_LABEL_WORDS = frozenset(
    """table figure fig chart annex appendix page pages section paragraph para step version
    note footnote chapter part quarter phase wave tier level option recommendation question
    item line row column stage no number year key""".split()
)
_NUMBER = re.compile(r"(?<![\w.,/:=#\[\-–£$€^])(\d+)(?![\w%/:\-–]|[.,]\d|\s*per\s?cent)")
_WORD = re.compile(r"[A-Za-z]+")


def _scan_text(text: str, threshold: int) -> pd.DataFrame:
    rows: list[tuple[Any, Any, Any, str]] = []
    for line_no, line in enumerate(text.splitlines(), start=1):
        words = [(m.start(), m.end(), m.group().lower()) for m in _WORD.finditer(line)]
        for m in _NUMBER.finditer(line):
            value = int(m.group(1))
            if 0 < value < threshold and not _excluded(line, m.start(), m.end(), words):
                rows.append((line_no, m.start() + 1, value, _context(line, m.start(), m.end())))
        for k, (start, end, word) in enumerate(words):
            value = _WORD_NUMBERS.get(word)
            if not value or value >= threshold:
                continue
            following = [w for _, _, w in words[k + 1 : k + 4]]
            preceding = [w for _, _, w in words[max(0, k - 2) : k]]
            if following[:1] in (["in"], ["out"]) or _is_ratio_end(line[:start], preceding):
                continue  # "one in five", "two out of three"
            if any(w in _COUNT_NOUNS for w in following):
                rows.append((line_no, start + 1, value, _context(line, start, end)))
    rows.sort(key=lambda r: (r[0], r[1]))
    return _findings(rows)


def _excluded(line: str, start: int, end: int, words: list[tuple[int, int, str]]) -> bool:
    before = [w for s, e, w in words if e <= start]
    after = [w for s, e, w in words if s >= end]
    previous = before[-1] if before else ""
    if previous in _LABEL_WORDS or previous in _MONTHS or (after[:1] and after[0] in _MONTHS):
        return True
    if after[:1] in (["in"],) and re.match(r"\s+in\s+\d", line[end:]):
        return True  # "1 in 5"
    if after[:2] == ["out", "of"]:
        return True  # "3 out of 4"
    return _is_ratio_end(line[:start], before[-2:])  # the "5" of "1 in 5"


def _is_ratio_end(before: str, preceding: list[str]) -> bool:
    """Whether a number closes a ratio such as "1 in 5" or "one out of three"."""
    if re.search(r"\d\s+(in|out of)\s+$", before):
        return True
    if preceding[-1:] == ["in"] and preceding[0] in _WORD_NUMBERS:
        return True
    return preceding[-2:] == ["out", "of"]


def _context(line: str, start: int, end: int, width: int = 30) -> str:
    return line[max(0, start - width) : end + width].strip()


def _looks_like_counts(series: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(series.dtype):
        return False
    if pd.api.types.is_numeric_dtype(series.dtype):
        numbers = series.dropna().to_numpy(dtype=float)
    elif series.dtype == object:
        numbers = np.array([n for n in map(_as_number, series) if n is not None], dtype=float)
    else:
        return False
    return len(numbers) > 0 and bool(np.all(np.mod(numbers, 1) == 0))


def _findings(rows: list[tuple[Any, Any, Any, str]]) -> pd.DataFrame:
    if not rows:
        return _empty_findings()
    return pd.DataFrame(rows, columns=list(FINDING_COLUMNS))


def _empty_findings() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in FINDING_COLUMNS})
