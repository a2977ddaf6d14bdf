"""Tests for fairness.publish.disclosure: small-count suppression for published tables.

Expected answers are worked out by hand in the comments; the rules are those in
shared/reference/published_figures.md ("Publishing small numbers"): suppress
counts under 10, add secondary suppression so a hidden cell cannot be
recovered from totals, suppress rates from which a hidden count can be
recovered, and show a true zero as 0.
"""

from __future__ import annotations

import re
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fairness.publish import disclosure as d
from fairness.publish.disclosure import (
    DECISION_COLUMNS,
    FINDING_COLUMNS,
    MARKER,
    DisclosureError,
    KnownTotal,
    ProtectedTable,
    TotalColumn,
    TotalRow,
    assert_publishable,
    find_small_counts,
    protect_table,
    protect_value,
)
from tests.conftest import examples

C = MARKER


# ------------------------------------------------------------ fixtures
def benchmark_table() -> pd.DataFrame:
    """Two benchmarks; the groups of each add up to the list size n.

    census: 120 + 64 + 20 + 6 = 210; Mixed (6) is below 10.
    list:   150 + 60 = 210; nothing small.
    """
    counts = [120, 64, 20, 6, 150, 60]
    n = [210] * 6
    share = [c / m for c, m in zip(counts, n, strict=True)]
    return pd.DataFrame(
        {
            "benchmark": ["census"] * 4 + ["list"] * 2,
            "group": ["White", "Black", "Asian", "Mixed", "White", "Black"],
            "count": counts,
            "n": n,
            "share": share,
            "ci_low": [s - 0.02 for s in share],
            "ci_high": [s + 0.02 for s in share],
        }
    )


BENCHMARK_DERIVED = {"share": ["count", "n"], "ci_low": "share", "ci_high": "share"}


def wide_table(cells: list[list[int]]) -> pd.DataFrame:
    """A wide cross-tab with a "total" column and an "All" row."""
    cols = [f"c{j}" for j in range(len(cells[0]))]
    t = pd.DataFrame(cells, columns=cols)
    t.insert(0, "row", [f"r{i}" for i in range(len(cells))])
    t["total"] = t[cols].sum(axis=1)
    all_row = t[cols + ["total"]].sum().to_frame().T
    all_row.insert(0, "row", "All")
    return pd.concat([t, all_row], ignore_index=True)


def part_cols(t: pd.DataFrame) -> list[str]:
    """The count columns c0, c1, ... of a wide table (not the total, not shares)."""
    return [c for c in t.columns if re.fullmatch(r"c\d+", c)]


def wide_spec(t: pd.DataFrame) -> dict:
    parts = tuple(part_cols(t))
    return {
        "count_cols": [*parts, "total"],
        "totals": [TotalRow("row", "All"), TotalColumn(parts=parts, total="total")],
    }


def hidden_cells(p: ProtectedTable, cols) -> set[tuple[int, str]]:
    h = p.hidden
    return {(int(i), c) for c in cols for i in np.flatnonzero(h[c].to_numpy())}


# ------------------------------------------------------- brute checker
def lines_of_wide(t: pd.DataFrame) -> list[list[tuple[tuple[int, str], int]]]:
    """Every linear constraint of a wide table with margins: (cell, sign) lists, sum 0."""
    parts = part_cols(t)
    n = len(t) - 1  # last row is "All"
    lines = []
    for i in range(n + 1):  # rows, the "All" row included (its total is the grand total)
        lines.append([((i, c), 1) for c in parts] + [((i, "total"), -1)])
    for c in [*parts, "total"]:  # columns, the total column included
        lines.append([((i, c), 1) for i in range(n)] + [((n, c), -1)])
    return lines


def recover_by_subtraction(lines, values, hidden) -> dict:
    """Repeatedly solve any line with one unknown; return the cells so recovered."""
    known = {cell: values[cell] for line in lines for cell, _ in line if cell not in hidden}
    recovered = {}
    changed = True
    while changed:
        changed = False
        for line in lines:
            unknown = [(cell, s) for cell, s in line if cell not in known]
            if len(unknown) == 1:
                cell, sign = unknown[0]
                rest = sum(s * known[c] for c, s in line if c in known)
                known[cell] = recovered[cell] = -rest / sign
                changed = True
    return recovered


def determined_by_algebra(lines, hidden) -> set:
    """Hidden cells fixed by the constraints, by exact elimination over the rationals.

    A hidden cell x_j is determined iff e_j is in the row space of the constraint
    matrix restricted to the hidden cells.
    """
    unknowns = sorted(hidden)
    rows = []
    for line in lines:
        row = {cell: Fraction(s) for cell, s in line if cell in hidden}
        if row:
            rows.append(row)
    pivots: list[tuple[tuple, dict]] = []  # reduced row echelon form
    for row in rows:
        row = dict(row)
        for p, prow in pivots:
            if row.get(p):
                f = row[p]
                for k, v in prow.items():
                    row[k] = row.get(k, 0) - f * v
        row = {k: v for k, v in row.items() if v != 0}
        if not row:
            continue
        p = min(row)
        f = row[p]
        row = {k: v / f for k, v in row.items()}
        for i, (q, qrow) in enumerate(pivots):
            if qrow.get(p):
                g = qrow[p]
                merged = {k: qrow.get(k, 0) - g * row.get(k, 0) for k in set(qrow) | set(row)}
                pivots[i] = (q, {k: v for k, v in merged.items() if v != 0})
        pivots.append((p, row))
    out = set()
    for cell in unknowns:
        vec = {cell: Fraction(1)}
        for p, prow in pivots:
            if vec.get(p):
                f = vec[p]
                for k, v in prow.items():
                    vec[k] = vec.get(k, 0) - f * v
        if not any(v != 0 for v in vec.values()):
            out.add(cell)
    return out


def check_wide(t: pd.DataFrame, p: ProtectedTable, threshold: int = 10) -> None:
    """Everything a published wide table with margins must satisfy."""
    parts = part_cols(t)
    counts = [*parts, "total"]
    hidden = hidden_cells(p, counts)
    values = {(i, c): t.at[i, c] for i in range(len(t)) for c in counts}
    for (i, c), v in values.items():
        shown = p.table.at[i, c]
        if (i, c) in hidden:
            assert shown == C
        else:  # (1) a shown count is the true count, and never 1..threshold-1
            assert shown == v
            assert not 0 < shown < threshold, (i, c, shown)
        if 0 < v < threshold:
            assert (i, c) in hidden
    lines = lines_of_wide(t)
    for line in lines:  # (2) no line has exactly one hidden cell
        assert sum(cell in hidden for cell, _ in line) != 1, line
    assert recover_by_subtraction(lines, values, hidden) == {}  # (3a)
    assert determined_by_algebra(lines, hidden) == set()  # (3b)


def check_derived(p: ProtectedTable, derived: dict) -> None:
    """(4) a derived value is shown only where every count it uses is shown."""
    for col, sources in derived.items():
        sources = [sources] if isinstance(sources, str) else sources
        expect = np.zeros(len(p.table), dtype=bool)
        for s in sources:
            expect |= p.hidden[s].to_numpy()
        got = p.hidden[col].to_numpy()
        assert (got == expect).all(), col
        assert (p.table[col][got] == C).all()


# --------------------------------------------------------------- one-way
def test_small_cell_hides_next_smallest_in_its_group_with_shares_and_cis():
    t = benchmark_table()
    p = protect_table(
        t, count_cols=["count"], base_cols=["n"], by=["benchmark"], derived=BENCHMARK_DERIVED
    )
    # Mixed (6) is primary; 210 - 120 - 64 - 20 would give it back, so Asian
    # (20, the next smallest) is hidden too. The list benchmark is untouched.
    assert p.table["count"].tolist() == [120, 64, C, C, 150, 60]
    for col in ("share", "ci_low", "ci_high"):
        assert p.table[col].tolist()[2:4] == [C, C]
        assert p.table[col].tolist()[:2] == t[col].tolist()[:2]
    assert p.table["n"].tolist() == [210] * 6  # the denominator itself is shown
    assert list(p.decisions.columns) == list(DECISION_COLUMNS)
    rules = {(r, c): rule for r, c, _, rule in p.decisions.itertuples(index=False)}
    assert rules == {
        (2, "count"): "secondary",
        (3, "count"): "primary",
        **{(r, c): "derived" for r in (2, 3) for c in ("share", "ci_low", "ci_high")},
    }
    assert p.decisions["hidden"].all()
    check_derived(p, BENCHMARK_DERIVED)
    assert p.note.startswith("Counts below 10 are suppressed ([c]);")
    assert p.banner is None and p.publishable
    assert_publishable(p)


def test_explicit_total_row_is_part_of_the_constraint():
    t = pd.DataFrame({"group": ["A", "B", "C", "Total"], "count": [4, 30, 50, 84]})
    p = protect_table(t, count_cols=["count"], totals=[TotalRow("group", "Total")])
    # 84 - 50 - 30 = 4, so B (30) is hidden too; the total stays.
    assert p.table["count"].tolist() == [C, C, 50, 84]


def test_total_row_that_is_itself_small_counts_as_hidden():
    t = pd.DataFrame({"group": ["A", "B", "C", "Total"], "count": [4, 0, 3, 7]})
    p = protect_table(t, count_cols=["count"], totals=[TotalRow("group", "Total")])
    assert p.table["count"].tolist() == [C, 0, C, C]


def test_true_zeros_are_shown_and_never_chosen_for_secondary_suppression():
    t = pd.DataFrame({"group": list("ABCDE"), "count": [0, 5, 0, 30, 40]})
    p = protect_table(t, count_cols=["count"])
    # Total 75 is known; 5 is primary; the smallest non-zero other cell is 30.
    assert p.table["count"].tolist() == [0, C, 0, C, 40]
    assert find_small_counts(p).empty


def test_total_from_elsewhere_below_threshold_needs_no_secondary():
    # The group total (3 + 0 + 0 = 3) would itself be suppressed wherever it is
    # published, so nothing else has to be hidden.
    t = pd.DataFrame({"g": ["x"] * 3 + ["y"] * 2, "count": [3, 0, 0, 3, 20]})
    p = protect_table(t, count_cols=["count"], by="g")
    assert p.table["count"].tolist() == [C, 0, 0, C, C]  # y: 3 + 20 = 23 is >= 10


def test_two_hidden_cells_summing_below_threshold_are_accepted():
    # ONS practice: 3 and 4 hidden next to a shown total 57 reveal only 3 + 4 = 7.
    t = pd.DataFrame({"group": list("ABC"), "count": [3, 4, 50]})
    p = protect_table(t, count_cols=["count"])
    assert p.table["count"].tolist() == [C, C, 50]


def test_small_denominator_hides_it_and_everything_derived_from_it():
    t = pd.DataFrame(
        {"b": ["x", "x"], "group": ["A", "B"], "count": [0, 8], "n": [8, 8], "share": [0.0, 1.0]}
    )
    p = protect_table(
        t, count_cols=["count"], base_cols=["n"], by="b", derived={"share": ["count", "n"]}
    )
    assert p.table["n"].tolist() == [C, C]
    assert p.table["count"].tolist() == [0, C]
    assert p.table["share"].tolist() == [C, C]  # 0 / n is harmless, but n is hidden
    assert find_small_counts(p).empty


def test_missing_counts_are_left_alone_and_not_used_in_totals():
    t = pd.DataFrame({"group": list("ABCD"), "count": [np.nan, 5, 20, 30]})
    p = protect_table(t, count_cols=["count"])
    shown = p.table["count"].tolist()
    assert np.isnan(shown[0]) and shown[1:] == [C, C, 30]
    assert not p.hidden.at[0, "count"]


def test_derived_chains_and_several_sources():
    t = pd.DataFrame(
        {
            "borough": list("ABC"),
            "count": [5, 40, 60],
            "n": [100, 200, 300],
            "value": [0.05, 0.2, 0.2],
            "z": [-1.0, 0.5, 0.4],
            "flag": ["low", "", ""],
        }
    )
    derived = {"value": ["count", "n"], "z": "value", "flag": "z"}
    p = protect_table(t, count_cols=["count", "n"], derived=derived)
    # count: 5 primary, 40 secondary (London total 105 known). n: nothing small.
    assert p.table["count"].tolist() == [C, C, 60]
    assert p.table["n"].tolist() == [100, 200, 300]
    for col in derived:
        assert p.table[col].tolist()[:2] == [C, C]
    check_derived(p, {"value": ["count", "n"], "z": ["count", "n"], "flag": ["count", "n"]})


# --------------------------------------------------------------- two-way
def test_two_way_table_iterates_across_both_dimensions():
    #          c0  c1  c2 | total
    #   r0      5  40  50 |   95     5 primary -> row: hide 40 (smallest)
    #   r1     20  12  60 |   92     col c0: hide 20; col c1: hide 12
    #   r2     30  25  70 |  125     row r1 now has 20 and 12 hidden: stable
    #   All    55  77 180 |  312
    t = wide_table([[5, 40, 50], [20, 12, 60], [30, 25, 70]])
    p = protect_table(t, **wide_spec(t))
    assert hidden_cells(p, ["c0", "c1", "c2", "total"]) == {
        (0, "c0"),
        (0, "c1"),
        (1, "c0"),
        (1, "c1"),
    }
    assert p.decisions.set_index(["row", "column"])["rule"].to_dict() == {
        (0, "c0"): "primary",
        (0, "c1"): "secondary",
        (1, "c0"): "secondary",
        (1, "c1"): "secondary",
    }
    check_wide(t, p)


def test_two_way_cascade_reaches_the_margins():
    #          c0  c1 | total
    #   r0      5  30 |   35    5 primary -> row: hide 30 -> column c1: hide 40
    #   r1      0  40 |   40    -> row r1: 0 and 40 hidden? no: 0 is never a first
    #   All     5  70 |   75       choice; r1's total 40 is hidden instead, and so on.
    t = wide_table([[5, 30], [0, 40]])
    p = protect_table(t, **wide_spec(t))
    assert p.table.at[2, "c0"] == C  # the column total 5 is itself small
    assert p.table.at[1, "c0"] == 0  # a true zero
    check_wide(t, p)


def test_cell_bridging_two_blocks_of_hidden_cells_is_protected():
    # Small cells form two 2x2 blocks joined by (r0, c2). Every row and column
    # has two or more hidden cells, yet (r0, c2) is fixed: row r0 minus the
    # block (whose sum follows from columns c0, c1 and row r1). Step 2 of the
    # algorithm must hide more.
    cells = [
        [3, 4, 5, 50, 60],
        [6, 7, 70, 80, 90],
        [50, 60, 2, 3, 70],
        [80, 90, 4, 5, 60],
        [70, 80, 90, 60, 50],
    ]
    t = wide_table(cells)
    hidden = {(i, f"c{j}") for i, row in enumerate(cells) for j, v in enumerate(row) if 0 < v < 10}
    lines = lines_of_wide(t)
    assert all(sum(c in hidden for c, _ in line) != 1 for line in lines)
    assert determined_by_algebra(lines, hidden) == {(0, "c2")}  # the checker sees the bridge
    p = protect_table(t, **wide_spec(t))
    check_wide(t, p)
    assert hidden < hidden_cells(p, [f"c{j}" for j in range(5)] + ["total"])


def test_long_two_way_table_matches_the_wide_one():
    t = wide_table([[5, 40, 50], [20, 12, 60], [30, 25, 70]])
    long = t.rename(columns={"total": "All"}).melt(
        id_vars="row", var_name="band", value_name="count"
    )
    p = protect_table(
        long,
        count_cols=["count"],
        by=["row"],
        totals=[TotalRow("band", "All"), TotalRow("row", "All", by=["band"])],
    )
    hidden = set(long.loc[p.hidden["count"], ["row", "band"]].itertuples(index=False, name=None))
    assert hidden == {("r0", "c0"), ("r0", "c1"), ("r1", "c0"), ("r1", "c1")}


def test_known_total_protects_the_second_dimension_of_a_long_table():
    long = pd.DataFrame(
        {
            "borough": ["A", "A", "B", "B"],
            "sex": ["F", "M", "F", "M"],
            "count": [5, 50, 40, 60],
        }
    )
    only_borough = protect_table(long, count_cols=["count"], by=["borough"])
    assert only_borough.table["count"].tolist() == [C, C, 40, 60]
    both = protect_table(long, count_cols=["count"], by=["borough"], totals=[KnownTotal(["sex"])])
    # Sex F over boroughs (5 + 40) is known too, so B/F goes, then B's row.
    assert both.table["count"].tolist() == [C, C, C, C]


def test_index_levels_can_name_groups_and_total_rows():
    t = wide_table([[5, 40, 50], [20, 12, 60], [30, 25, 70]]).set_index("row")
    spec = wide_spec(t.reset_index())
    p = protect_table(t, **spec)
    assert p.table.index.equals(t.index)
    assert p.table.loc["r0", "c0"] == C and p.table.loc["All", "total"] == 312
    assert set(p.decisions["row"]) == {"r0", "r1"}


def test_totals_given_elsewhere_that_disclose_a_small_count_raise():
    # Group g=1 (x + y = 60) and group h=1 (x + y + z = 65) are both published,
    # so z = 5 whatever is hidden here.
    t = pd.DataFrame({"g": [1, 1, 2], "h": [1, 1, 1], "count": [20, 40, 5]})
    with pytest.raises(DisclosureError, match="can be worked out from totals"):
        protect_table(t, count_cols=["count"], by=["g"], totals=[KnownTotal(["h"])])


# -------------------------------------------------------------- rounding
def test_rounding_to_five():
    t = pd.DataFrame({"group": list("ABCDE"), "count": [12, 13, 0, 7, 102], "share": [0.1] * 5})
    p = protect_table(t, count_cols=["count"], rounding=5, derived={"share": "count"})
    # 7 primary; smallest other non-zero is 12 -> secondary. 13 -> 15, 102 -> 100.
    assert p.table["count"].tolist() == [C, 15, 0, C, 100]
    dec = p.decisions.set_index(["row", "column"])
    assert dec.loc[(1, "count"), "rule"] == "rounded" and not dec.loc[(1, "count"), "hidden"]
    assert dec.loc[(1, "share"), "rule"] == "rounded"  # kept, from the unrounded count
    assert p.table.at[1, "share"] == 0.1
    assert (4, "count") in dec.index
    assert "rounded to the nearest 5" in p.note


def test_rounding_never_produces_a_small_count_and_keeps_integer_dtype():
    t = pd.DataFrame({"group": list("ABCD"), "count": [10, 11, 14, 200]})
    p = protect_table(t, count_cols=["count"], rounding=3)
    # 10/3 = 3.33 -> 9 would be small, so it goes up to 12.
    assert p.table["count"].tolist() == [12, 12, 15, 201]
    assert p.table["count"].dtype == t["count"].dtype
    p10 = protect_table(t, count_cols=["count"], rounding=10)
    assert p10.table["count"].tolist() == [10, 10, 10, 200]


# ----------------------------------------------------------- internal mode
def test_internal_mode_shows_everything_and_says_so():
    t = benchmark_table()
    p = protect_table(
        t,
        count_cols=["count"],
        base_cols=["n"],
        by="benchmark",
        derived=BENCHMARK_DERIVED,
        mode="internal",
        rounding=5,
    )
    pd.testing.assert_frame_equal(p.table, t)
    assert not p.hidden.to_numpy().any()
    assert p.banner == "NOT FOR PUBLICATION" and not p.publishable
    assert p.note.startswith("NOT FOR PUBLICATION")
    # The decisions say what publication would hide, hiding nothing.
    assert set(p.decisions["rule"]) == {"primary", "secondary", "derived"}
    assert not p.decisions["hidden"].any()
    with pytest.raises(DisclosureError) as err:
        assert_publishable(p)
    assert str(err.value) == d.NOT_FOR_PUBLICATION.format(banner="NOT FOR PUBLICATION")


# ------------------------------------------------------- contract & errors
def test_input_is_not_mutated_and_output_types_are_fixed():
    t = benchmark_table()
    before = t.copy(deep=True)
    p = protect_table(
        t, count_cols=["count"], base_cols=["n"], by="benchmark", derived=BENCHMARK_DERIVED
    )
    pd.testing.assert_frame_equal(t, before)
    assert isinstance(p, ProtectedTable)
    assert list(p.table.columns) == list(t.columns)
    assert p.table["count"].dtype == object and p.table["n"].dtype == t["n"].dtype
    assert all(type(v) is int for v in p.table["count"] if v != C)  # JSON-friendly
    assert p.table.to_json(orient="records").count('"[c]"') == 8
    assert "[c]" in p.table.to_html()
    with pytest.raises(AttributeError):
        p.mode = "internal"


def test_empty_table():
    t = pd.DataFrame({"group": pd.Series([], dtype=object), "count": pd.Series([], dtype=int)})
    p = protect_table(t, count_cols=["count"])
    assert p.table.empty and p.decisions.empty
    assert list(p.decisions.columns) == list(DECISION_COLUMNS)


def test_same_inputs_same_outputs():
    t = wide_table([[5, 40, 50], [20, 12, 60], [30, 25, 70]])
    a, b = protect_table(t, **wide_spec(t)), protect_table(t, **wide_spec(t))
    pd.testing.assert_frame_equal(a.table, b.table)
    pd.testing.assert_frame_equal(a.decisions, b.decisions)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"mode": "draft"},
            d.UNKNOWN_OPTION.format(name="mode", value="draft", valid=list(d.MODES)),
        ),
        ({"threshold": 0}, d.BAD_THRESHOLD.format(value=0)),
        ({"rounding": 2.5}, d.BAD_ROUNDING.format(value=2.5)),
        ({"count_cols": []}, d.NO_COUNT_COLUMNS),
        (
            {"count_cols": ["people"]},
            d.MISSING_COLUMNS.format(
                what="count column(s)", missing=["people"], available=["group", "count", "share"]
            ),
        ),
        (
            {"derived": {"share": "n"}},
            d.BAD_DERIVED_SOURCE.format(column="share", source="n", valid=["count", "share"]),
        ),
        (
            {"base_cols": ["count"]},
            d.OVERLAPPING_COLUMNS.format(column="count", first="count", second="base"),
        ),
        (
            {"totals": [TotalColumn(parts=("count", "share"))]},
            d.BAD_TOTAL_PART.format(column="share", valid=["count"]),
        ),
    ],
)
def test_bad_options_raise_the_documented_message(kwargs, message):
    t = pd.DataFrame({"group": ["A", "B"], "count": [5, 20], "share": [0.2, 0.8]})
    args = {"count_cols": ["count"], **kwargs}
    with pytest.raises(ValueError) as err:
        protect_table(t, **args)
    assert str(err.value) == message


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            pd.DataFrame({"count": [5, -1]}),
            d.NEGATIVE_COUNT.format(column="count", row=1, value=-1),
        ),
        (
            pd.DataFrame({"count": [5, "many"]}),
            d.NON_NUMERIC_COUNT.format(column="count", row=1, value="many"),
        ),
        (
            pd.DataFrame({"count": [5, 6]}, index=["a", "a"]),
            d.DUPLICATE_INDEX.format(labels=["a"]),
        ),
    ],
)
def test_bad_counts_name_the_row_and_column(table, message):
    with pytest.raises(ValueError) as err:
        protect_table(table, count_cols=["count"])
    assert str(err.value) == message


def test_two_total_rows_in_a_group_raise():
    t = pd.DataFrame({"group": ["A", "Total", "Total"], "count": [5, 5, 5]})
    with pytest.raises(ValueError, match="has 2 rows labelled 'Total'"):
        protect_table(t, count_cols=["count"], totals=[TotalRow("group")])


# ------------------------------------------------------------ single values
@pytest.mark.parametrize(
    ("count", "kwargs", "text"),
    [
        (0, {}, "0"),
        (1, {}, "fewer than 10"),
        (9, {}, "fewer than 10"),
        (9.0, {}, "fewer than 10"),
        (10, {}, "10"),
        (12345, {}, "12,345"),
        (np.int64(17), {}, "17"),
        (None, {}, "not available"),
        (float("nan"), {}, "not available"),
        (12, {"threshold": 20}, "fewer than 20"),
        (12, {"rounding": 5}, "10"),
        (13, {"rounding": 5}, "15"),
        (10, {"rounding": 3}, "12"),
    ],
)
def test_protect_value(count, kwargs, text):
    assert protect_value(count, **kwargs) == text


def test_protect_value_rejects_negative_counts():
    with pytest.raises(ValueError) as err:
        protect_value(-3)
    assert str(err.value) == d.NEGATIVE_VALUE.format(value=-3)


# ----------------------------------------------------------------- checks
def test_find_small_counts_in_a_table():
    t = pd.DataFrame(
        {"group": ["A", "B", "C"], "count": [0, 7, C], "n": [12, 3, 40], "share": [0.1, 0.25, 0.5]}
    )
    found = find_small_counts(t)
    assert list(found.columns) == list(FINDING_COLUMNS)
    assert found[["row", "column", "value"]].values.tolist() == [[1, "count", 7], [1, "n", 3]]
    assert find_small_counts(t, count_cols=["n"])["column"].tolist() == ["n"]
    assert find_small_counts(t, threshold=3)["value"].tolist() == []  # 3 is not below 3


def test_assert_publishable_lists_every_small_count():
    t = pd.DataFrame({"count": [0, 7, 12, 3]})
    with pytest.raises(DisclosureError) as err:
        assert_publishable(t)
    cells = "row 1, column 'count': 7; row 3, column 'count': 3"
    assert str(err.value) == d.SMALL_COUNTS_FOUND.format(
        n=2, largest=9, threshold=10, marker=C, cells=cells
    )
    assert err.value.findings["value"].tolist() == [7, 3]
    assert_publishable(pd.DataFrame({"count": [0, 12, C]}))


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("7 people were added in 2024Q3.", [7]),
        ("Of these, 3 were Black.", [3]),
        ("Black: 4", [4]),
        ("<td>6</td>", [6]),
        ("seven young people were added", [7]),
        ("There were fewer than 10 people from Mixed backgrounds.", []),
        ("Table 2 and Figure 3 show Q3 2024; see [note 1].", []),
        ("On 1 April 2024, June 5, aged 10-17, 12.5 per cent, 5%, 2.5, 10:30.", []),
        ("One in five people; 1 in 5; 3 out of 4 boroughs.", []),
        ("one of the boroughs", []),
        ("1,234 people", []),
    ],
)
def test_find_small_counts_in_text(text, values):
    assert find_small_counts(text)["value"].tolist() == values


def test_protected_sentences_pass_the_text_check():
    text = f"{protect_value(7)} people were aged 10-17; {protect_value(120)} were adults."
    assert_publishable(text)
    with pytest.raises(DisclosureError):
        assert_publishable("7 people were aged 10-17.")


# ------------------------------------------------------------ properties
small_heavy = st.one_of(st.just(0), st.integers(1, 9), st.integers(1, 9), st.integers(10, 60))


@st.composite
def wide_tables(draw):
    n_rows = draw(st.integers(1, 6))
    n_cols = draw(st.integers(1, 5))
    cells = draw(
        st.lists(
            st.lists(small_heavy, min_size=n_cols, max_size=n_cols),
            min_size=n_rows,
            max_size=n_rows,
        )
    )
    return wide_table(cells)


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(wide_tables())
def test_property_two_way_tables_with_margins_are_safe(t):
    spec = wide_spec(t)
    parts = part_cols(t)
    derived = {}
    for c in parts:
        t[f"{c}_share"] = t[c] / t["total"].where(t["total"] > 0)
        derived[f"{c}_share"] = [c, "total"]
    before = t.copy(deep=True)
    p = protect_table(t, derived=derived, **spec)
    pd.testing.assert_frame_equal(t, before)
    check_wide(t, p)
    check_derived(p, derived)
    assert find_small_counts(p).empty
    assert_publishable(p)


@st.composite
def benchmark_tables(draw):
    n_groups = draw(st.integers(1, 4))
    rows = []
    for b in range(n_groups):
        counts = draw(st.lists(small_heavy, min_size=1, max_size=6))
        n = sum(counts)
        for g, c in enumerate(counts):
            share = c / n if n else np.nan
            rows.append((f"b{b}", f"g{g}", c, n, share, share * 0.9, share * 1.1))
    return pd.DataFrame(
        rows, columns=["benchmark", "group", "count", "n", "share", "ci_low", "ci_high"]
    )


@settings(max_examples=examples(200), deadline=None)
@given(benchmark_tables())
def test_property_benchmark_tables_are_safe(t):
    p = protect_table(
        t, count_cols=["count"], base_cols=["n"], by=["benchmark"], derived=BENCHMARK_DERIVED
    )
    hidden = {(i, "count") for i in np.flatnonzero(p.hidden["count"].to_numpy())}
    lines, values = [], {}
    for _, g in t.groupby("benchmark"):
        idx = list(g.index)
        values.update({(i, "count"): t.at[i, "count"] for i in idx})
        values[(idx[0], "n")] = t.at[idx[0], "n"]
        if not p.hidden.at[idx[0], "n"]:  # the reader knows the group total n
            lines.append([((i, "count"), 1) for i in idx] + [((idx[0], "n"), -1)])
    for i in range(len(t)):
        shown = p.table.at[i, "count"]
        if (i, "count") not in hidden:
            assert shown == t.at[i, "count"] and not 0 < shown < 10
        if not p.hidden.at[i, "n"]:
            assert p.table.at[i, "n"] >= 10 or p.table.at[i, "n"] == 0
    assert recover_by_subtraction(lines, values, hidden) == {}
    assert determined_by_algebra(lines, hidden) == set()
    check_derived(p, BENCHMARK_DERIVED)
    assert_publishable(p)


@settings(max_examples=examples(150), deadline=None)
@given(wide_tables(), st.sampled_from([3, 5, 10]))
def test_property_rounding_keeps_counts_publishable(t, base):
    p = protect_table(t, rounding=base, **wide_spec(t))
    counts = wide_spec(t)["count_cols"]
    for c in counts:
        for i, v in enumerate(p.table[c]):
            if v == C:
                continue
            orig = t.at[i, c]
            assert v == 0 if orig == 0 else (v >= 10 and v % base == 0)
            assert abs(v - orig) <= max(base / 2, 10 - orig + base)
    assert_publishable(p)


@settings(max_examples=examples(100), deadline=None)
@given(wide_tables())
def test_property_internal_mode_is_the_identity(t):
    p = protect_table(t, mode="internal", **wide_spec(t))
    pd.testing.assert_frame_equal(p.table, t)
    pub = protect_table(t, **wide_spec(t))
    would = set(map(tuple, p.decisions[["row", "column", "rule"]].values.tolist()))
    did = set(map(tuple, pub.decisions[["row", "column", "rule"]].values.tolist()))
    assert would == did


@st.composite
def three_way_tables(draw):
    shape = [draw(st.integers(1, 3)) for _ in range(3)]
    keys = [
        (f"a{i}", f"b{j}", f"c{k}")
        for i in range(shape[0])
        for j in range(shape[1])
        for k in range(shape[2])
    ]
    counts = draw(st.lists(small_heavy, min_size=len(keys), max_size=len(keys)))
    return pd.DataFrame(
        [(*k, c) for k, c in zip(keys, counts, strict=True)], columns=["a", "b", "c", "count"]
    )


@settings(max_examples=examples(150), deadline=None)
@given(three_way_tables())
def test_property_three_way_tables_with_totals_published_elsewhere_are_safe(t):
    # Every two-way margin (a x b, a x c, b x c) is taken as published elsewhere.
    groupings = [("a", "b"), ("a", "c"), ("b", "c")]
    p = protect_table(
        t, count_cols=["count"], by=groupings[0], totals=[KnownTotal(g) for g in groupings[1:]]
    )
    hidden = {(i, "count") for i in np.flatnonzero(p.hidden["count"].to_numpy())}
    values = {(i, "count"): t.at[i, "count"] for i in range(len(t))}
    lines = []
    for g in groupings:
        for _, group in t.groupby(list(g)):
            total = group["count"].sum()
            if len(group) >= 2 and total >= 10:  # a smaller total is itself suppressed
                pseudo = (-1 - len(lines), "total")
                values[pseudo] = total
                lines.append([((i, "count"), 1) for i in group.index] + [(pseudo, -1)])
    for i in range(len(t)):
        if (i, "count") not in hidden:
            assert p.table.at[i, "count"] == t.at[i, "count"] and not 0 < t.at[i, "count"] < 10
    assert recover_by_subtraction(lines, values, hidden) == {}
    assert determined_by_algebra(lines, hidden) == set()


def test_two_total_rows_for_one_grouping_raise():
    t = pd.DataFrame({"a": ["x", "All"], "b": ["All", "All"], "count": [5, 5]})
    with pytest.raises(ValueError) as err:
        protect_table(t, count_cols=["count"], totals=[TotalRow("a", "All"), TotalRow("b", "All")])
    assert str(err.value) == d.TWO_TOTAL_ROWS.format(by=[])


def test_docstring_examples():
    import doctest

    result = doctest.testmod(d, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
