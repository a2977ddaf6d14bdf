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


# ---------------------------------------------------------------- issue 11: bands by label, one snapshot

# ProPublica, "How We Analyzed the COMPAS Recidivism Algorithm" (Larson et al., 2016), and its
# notebook's confusion tables for the two-year general recidivism score, "higher risk"
# (Medium or High) versus Low:
#   Black: TN 990, FP 805, FN 532, TP 1369 -> FPR 805/1795 = 44.85%, FNR 532/1901 = 27.99%
#   White: TN 1139, FP 349, FN 461, TP 505 -> FPR 349/1488 = 23.45%, FNR 461/966 = 47.72%
# FPR ratio Black / White = 0.448468 / 0.234543 = 1.912. Here Low is Green, Medium and High
# are Amber and Red (split arbitrarily: the red_amber threshold counts both).
COMPAS = {"Black": {"tn": 990, "fp": 805, "fn": 532, "tp": 1369},
          "White": {"tn": 1139, "fp": 349, "fn": 461, "tp": 505}}


def compas_frame() -> pd.DataFrame:
    parts = []
    for group, c in COMPAS.items():
        high_fp, high_tp = c["fp"] // 2, c["tp"] // 2
        bands = (["Green"] * c["tn"] + ["Red"] * high_fp + ["Amber"] * (c["fp"] - high_fp)
                 + ["Green"] * c["fn"] + ["Red"] * high_tp + ["Amber"] * (c["tp"] - high_tp))
        outcome = [False] * (c["tn"] + c["fp"]) + [True] * (c["fn"] + c["tp"])
        parts.append(pd.DataFrame({"ethnicity": group, "risk_band": bands, "outcome_violence_12m": outcome}))
    m = pd.concat(parts, ignore_index=True)
    m["ethnicity"] = pd.Categorical(m["ethnicity"], categories=["White", "Black"])
    m["outcome_violence_12m"] = m["outcome_violence_12m"].astype("boolean")
    return m


@pytest.mark.parametrize("make_bands", [
    lambda b: pd.Categorical(b, categories=["Red", "Amber", "Green"]),  # the validated order
    lambda b: pd.Categorical(b),  # alphabetical: Amber, Green, Red
    lambda b: pd.Categorical(b, categories=["Green", "Red", "Amber"]),
    lambda b: np.asarray(b, dtype=object),  # plain strings (used to raise AttributeError)
    lambda b: pd.Series(b).str.upper().astype("string"),  # another case, pandas strings
])
def test_bands_are_read_by_label_whatever_the_dtype_or_order(make_bands):
    m = compas_frame()
    m["risk_band"] = make_bands(m["risk_band"].tolist())
    t = disparity_table(m, threshold="red_amber").set_index("group")
    b, w = t.loc["Black"], t.loc["White"]
    assert (b.tn, b.fp, b.fn, b.tp) == (990, 805, 532, 1369)
    assert (w.tn, w.fp, w.fn, w.tp) == (1139, 349, 461, 505)
    assert b.fpr == pytest.approx(805 / 1795) and round(b.fpr, 4) == 0.4485  # ProPublica: 44.85%
    assert w.fpr == pytest.approx(349 / 1488) and round(w.fpr, 4) == 0.2345  # 23.45%
    assert round(b.fnr, 4) == 0.2799 and round(w.fnr, 4) == 0.4772  # 27.99%, 47.72%
    assert b.fpr_ratio == pytest.approx((805 / 1795) / (349 / 1488)) and round(b.fpr_ratio, 2) == 1.91
    # the Red threshold counts only the Red half of each "higher risk" group
    red = disparity_table(m, threshold="red").set_index("group")
    assert red.loc["Black", "fp"] == 805 // 2 and red.loc["White", "tp"] == 505 // 2


def test_unknown_band_labels_raise_listing_the_valid_ones():
    m = compas_frame()
    m["risk_band"] = m["risk_band"].astype(str).replace({"Amber": "Orange"})
    with pytest.raises(ValueError, match=r"risk_band holds 'Orange', which is not a band; valid: Red, Amber, Green"):
        disparity_table(m)


def test_options_match_in_any_case():
    m = compas_frame()
    pd.testing.assert_frame_equal(disparity_table(m, threshold="Red_Amber", reference="white"),
                                  disparity_table(m))
    with pytest.raises(ValueError, match="valid: red, red_amber"):
        disparity_table(m, threshold="amber")


def test_several_snapshots_need_a_quarter():
    one, two = _frame(), _frame()
    two["snapshot_date"] = pd.to_datetime(["2018-09-30"] * 8)
    both = pd.concat([two, one], ignore_index=True)
    with pytest.raises(ValueError, match=r"2 snapshots \(2018Q3, 2018Q4\).*quarter="):
        disparity_table(both)
    pd.testing.assert_frame_equal(disparity_table(both, quarter="2018Q4"), disparity_table(one))


@pytest.mark.parametrize("unit", ["ns", "us", "s"])
def test_one_quarter_is_selected_by_its_first_and_last_instant(unit):
    """one_snapshot finds a quarter's rows by comparing dates with its bounds (issue 10: labelling
    every date made disparity_table 20x its group-by floor at 1M rows); the same rows as the labels."""
    from fairness.quarters import quarter_codes
    from fairness.stats._options import one_snapshot

    dates = pd.Series(pd.to_datetime(["2018-09-30 23:59:59", "2018-10-01 00:00:00", "2018-12-31 23:59:59",
                                      "2019-01-01 00:00:00", None], format="ISO8601")).astype(f"datetime64[{unit}]")
    m = pd.DataFrame({"snapshot_date": dates, "row": range(5)})
    codes, labels = quarter_codes(dates)
    for q in labels:  # 2018Q3, 2018Q4, 2019Q1
        assert one_snapshot(m, q, function="f")["row"].tolist() == [i for i in range(5) if codes[i] == labels.index(q)]
    assert one_snapshot(m, "2018-q4", function="f")["row"].tolist() == [1, 2]
    with pytest.raises(ValueError, match="quarter 2017Q1 is not in the matrix; quarters found: 2018Q3, 2018Q4, 2019Q1"):
        one_snapshot(m, "2017Q1", function="f")


# ---------------------------------------------------------------- issue 10: the table from a file

def _file_rows() -> list[dict]:
    """2018Q4, worked by hand at Red or Amber (outcome: later violence):
    White: P1 Red/yes tp, P2 Amber/no fp, P3 Green/yes fn, P4 Green/no tn, P5 Green/unknown (left out)
    Black: P6 Red/yes tp, P7 Red/no fp, P8 Amber/no fp, P9 Green/no tn (borough "hackney": SQL does not
    vouch for it, validation accepts it: counted)
    Quarantined (3 rows): P10 (borough Narnia), and both rows of P11 (one person twice in a snapshot).
    2018Q3: P1 again, so the file holds two quarters."""
    from conftest import good_row

    q4 = [("P1", "White", "Red", "true"), ("P2", "White", "Amber", "false"), ("P3", "White", "Green", "true"),
          ("P4", "White", "Green", "false"), ("P5", "White", "Green", ""), ("P6", "Black", "Red", "true"),
          ("P7", "Black", "Red", "false"), ("P8", "Black", "Amber", "false"), ("P10", "Black", "Red", "true"),
          ("P11", "White", "Red", "false"), ("P11", "White", "Red", "false")]
    rows = [good_row(pid, ethnicity=e, risk_band=b, outcome_violence_12m=o) for pid, e, b, o in q4]
    rows.insert(8, good_row("P9", ethnicity="Black", borough="hackney", outcome_violence_12m="false"))
    rows[9]["borough"] = "Narnia"  # P10
    rows.append(good_row("P1", snapshot_date="2018-09-30", last_reviewed="2018-08-01", ethnicity="White",
                         risk_band="Red", outcome_violence_12m="true"))
    return rows


@pytest.fixture(scope="module")
def matrix_files(tmp_path_factory) -> dict[str, str]:
    """The rows above as a CSV file and as a Parquet file (text columns, empty cells missing)."""
    folder = tmp_path_factory.mktemp("disparity-files")
    rows = _file_rows()
    text = pd.DataFrame(rows, dtype=str)
    csv = folder / "matrix.csv"
    csv.write_text("\n".join([",".join(text.columns)] + [",".join(r) for r in text.itertuples(index=False)]) + "\n",
                   encoding="utf-8")
    parquet = folder / "matrix.parquet"
    text.replace("", None).to_parquet(parquet, index=False)
    return {"csv": str(csv), "parquet": str(parquet)}


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_a_file_is_read_validated_and_counted_by_hand(matrix_files, kind, tmp_path):
    import json

    from fairness.stats.disparity import NOTE_QUARANTINED

    t = disparity_table(matrix_files[kind], quarter="2018Q4").set_index("group")
    w, b = t.loc["White"], t.loc["Black"]
    assert (w.tp, w.fp, w.fn, w.tn, w.n) == (1, 1, 1, 1, 4)
    assert (b.tp, b.fp, b.fn, b.tn, b.n) == (1, 2, 0, 1, 4)
    assert (b.selection_rate, b.fpr, b.fnr) == (0.75, 2 / 3, 0.0)
    assert b.selection_rate_ratio == pytest.approx(0.75 / 0.5) and b.fpr_ratio == pytest.approx((2 / 3) / 0.5)
    assert list(t.index) == ["White", "Black", "Asian", "Mixed", "Other", "Not stated"]  # every group, in order
    assert t.loc["Asian", "n"] == 0
    assert t.iloc[0]["note"] == ("1 rows with the outcome not yet known left out; "
                                 + NOTE_QUARANTINED.format(n=3))
    assert NOTE_QUARANTINED.format(n=3) == (
        "3 rows of the whole file (all quarters, not this one alone) quarantined (failed validation) and left "
        "out: a quarantined row may have no valid date, so it cannot be given a quarter")
    # the read is written to the audit log, as every read of a file from Python is
    records = [json.loads(line) for line in (tmp_path / "audit.log").read_text().splitlines()]
    assert [(r["command"], r["counts"]) for r in records] == [
        ("disparity_table", {"rows": 13, "valid": 10, "quarantined": 3})]


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_a_file_gives_the_table_of_its_valid_rows_in_memory(matrix_files, kind):
    """The same bytes as read_matrix + the table of its valid rows, but for the note of quarantined rows;
    counted in DuckDB (a validation of the file in DuckDB, counted three ways) or from the rows in memory."""
    import fairness
    from fairness.counts.duck import ParquetValidation, validate_file
    from fairness.stats.disparity import NOTE_QUARANTINED

    read = fairness.read_matrix(matrix_files[kind])
    assert read.n_quarantined == 3
    in_duckdb = validate_file(matrix_files[kind])
    assert isinstance(in_duckdb, ParquetValidation)
    try:
        for options in ({"quarter": "2018Q4"}, {"quarter": "2018q3", "threshold": "red", "by": "sex"},
                        {"quarter": "2018Q4", "by": "borough", "reference": "hackney", "alpha": 0.1}):
            from_file = disparity_table(in_duckdb, **options)
            in_memory = disparity_table(read.valid, **options)
            note = in_memory.at[0, "note"]
            in_memory.loc[0, "note"] = (note + "; " if note else "") + NOTE_QUARANTINED.format(n=3)
            pd.testing.assert_frame_equal(from_file, in_memory, check_exact=True)
            pd.testing.assert_frame_equal(disparity_table(read, **options), from_file, check_exact=True)
        with pytest.raises(ValueError, match=r"disparity_table: the matrix holds 2 snapshots \(2018Q3, 2018Q4\).*"
                                             r"quarter='2018Q4'"):
            disparity_table(in_duckdb)
        with pytest.raises(ValueError, match="quarter 2019Q1 is not in the matrix; quarters found: 2018Q3, 2018Q4"):
            disparity_table(in_duckdb, quarter="2019Q1")
        with pytest.raises(ValueError, match=r"by='age' cannot be counted from a file"):
            disparity_table(in_duckdb, by="age")
    finally:
        in_duckdb.session.close()


def test_options_are_checked_before_the_file_is_read(tmp_path):
    missing = tmp_path / "absent.csv"
    with pytest.raises(ValueError, match="valid: red, red_amber"):
        disparity_table(missing, threshold="amber")
    with pytest.raises(ValueError, match=r"by='age' cannot be counted from a file; valid: borough, ethnicity, sex, "
                                         r"risk_band"):
        disparity_table(missing, by="age")
    assert not (tmp_path / "audit.log").exists()  # nothing read, nothing logged


def test_a_quarter_is_its_calendar_quarter_to_the_last_instant():
    """The rows of a quarter are those quarter_codes labels with it, to the nanosecond (the bounds were
    compared at microseconds, so a time in the last microsecond of a quarter was left out)."""
    from fairness.quarters import quarter_codes

    m = _frame()
    m["snapshot_date"] = pd.Series(pd.to_datetime(["2018-12-31 23:59:59.999999999"] * 4 + ["2018-10-01"] * 4,
                                                  format="ISO8601")).astype("datetime64[ns]")
    codes, labels = quarter_codes(m["snapshot_date"])
    assert labels == ["2018Q4"]
    pd.testing.assert_frame_equal(disparity_table(m, quarter="2018Q4"), disparity_table(m))
