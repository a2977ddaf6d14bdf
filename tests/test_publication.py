"""Publication mode (fairness.publish.publication, issue 4) and the report's refusal of small counts (issue 7).

Matrices with many small cells (the "small" synthetic scenario at a fifth of
its size, and hand-made ones with groups of 1 to 9 people in several
boroughs, ethnic groups and quarters) are audited and protected with
``for_publication()``. Whatever the table, the published result must

* show no count from 1 to 9: in the tables, in the JSON, in the sentences;
* show no value derived from a hidden count (share, interval, ratio, rate,
  z, p, funnel limits...);
* let no hidden count be worked out from what is shown: within each family of
  cells that adds up to a total a reader knows (the ``by`` groups of
  ``TABLE_SPECS``; a check's boroughs and its "All boroughs" row; the cells of
  the sharing table; the reasons for quarantine and the number quarantined),
  never exactly one cell is hidden; a rate ratio is hidden when its reference
  group's count is (in both tables that show it); a trend's rolling values
  and changes are hidden when a quarter they use is; a band comparison is
  hidden when a count behind it is;
* name every hidden cell in ``disclosure`` (table, row, column, rule).

The checks here do not use the protection code: they read the internal and
the published result side by side.
"""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pandas as pd
import pytest

import fairness
from fairness import synth
from fairness.publish.disclosure import MARKER
from fairness.publish.publication import TABLE_SPECS, UNCOUNTED, _band_by_group_derived
from tests.conftest import good_row

THRESHOLD = 10
#: Count columns scanned in every table, whatever TABLE_SPECS declares.
GENERIC_COUNTS = ("count", "n", "rows", "observed", "disagree", "positives", "selected", "tp", "fp", "tn", "fn",
                  "outcomes", "rolling_count", "rolling_n", "reference_n")
#: Values computed from the counts of their row: never shown beside a hidden count.
GENERIC_DERIVED = ("share", "ci_low", "ci_high", "ratio", "ratio_low", "ratio_high", "rri", "rate",
                   "rate_per_1000", "rate_low", "rate_high", "z", "z_adjusted", "p_value", "p_adjusted", "value",
                   "oe_ratio", "expected", "diff_prev", "diff_prev_low", "diff_prev_high", "diff_year",
                   "diff_year_low", "diff_year_high", "selection_rate", "fpr", "fnr", "precision", "base_rate")
#: Funnel limits at a borough's n: a function of n, so hidden with it.
LIMITS = ("lower_95", "upper_95", "lower_998", "upper_998")


# ------------------------------------------------------------------ helpers


def hidden(v) -> bool:
    return isinstance(v, str) and v == MARKER


def number(v) -> float | None:
    """A shown number, or None for hidden, missing, text and booleans."""
    if v is None or isinstance(v, (bool, np.bool_)) or isinstance(v, str):
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def shown(v) -> bool:
    return number(v) is not None


def count_columns(name: str, columns) -> list[str]:
    spec = TABLE_SPECS.get(name)
    wanted = set(GENERIC_COUNTS) | (set(spec.count_cols + spec.base_cols) if spec else set())
    if name in UNCOUNTED:
        wanted.discard("n")  # funnel_limits: n is the x axis of the plotted curve, not a count
    return [c for c in columns if c in wanted]


def small_counts(name: str, table) -> list[tuple]:
    df = table if isinstance(table, pd.DataFrame) else pd.DataFrame(table)
    out = []
    for c in count_columns(name, df.columns):
        for i, v in enumerate(df[c].tolist()):
            f = number(v)
            if f is not None and 0 < f < THRESHOLD:
                out.append((name, i, c, v))
    return out


def _matrix_rows(date: str, groups, start: int = 0, **common) -> list[dict]:
    """``groups``: (borough, ethnicity, people, overrides) -> rows of one snapshot."""
    rows, i = [], start
    for borough, ethnicity, k, over in groups:
        for _ in range(k):
            rows.append(good_row(f"P{i}", snapshot_date=date, borough=borough, ethnicity=ethnicity,
                                 **{**common, **over}))
            i += 1
    return rows


def _hand_quarters() -> pd.DataFrame:
    """Two quarters; groups of 3 to 20 people; a Black count of 5 then 12 (a trend change)."""
    q3 = dict(last_reviewed="2018-08-01")
    rows = _matrix_rows("2018-09-30", [
        ("Hackney", "White", 20, {}),
        ("Hackney", "Black", 5, {"harm_score": "10", "risk_band": "Red"}),
        ("Lambeth", "White", 15, {"harm_score": "3", "risk_band": "Amber"}),
    ], **q3)
    rows += _matrix_rows("2018-12-31", [
        ("Hackney", "White", 18, {}),
        ("Hackney", "Black", 12, {"harm_score": "10", "risk_band": "Red"}),
        ("Lambeth", "White", 12, {"harm_score": "3", "risk_band": "Amber"}),
        ("Croydon", "Asian", 3, {"shared_with": "housing"}),
        ("Newham", "Mixed", 7, {"age": "30", "victim_flag": "false"}),
        ("Brent", "Black", 9, {"harm_score": "5"}),
    ])
    return pd.DataFrame(rows)


def _hand_bands() -> pd.DataFrame:
    """Outcomes known: band performance by ethnicity (6 to 18 people a group) and age."""
    eth = ["White", "Black", "Asian"]
    rows = [good_row(f"P{i}", ethnicity=eth[i % 3] if i < 54 else "Mixed",
                     borough=["Hackney", "Lambeth", "Croydon"][i % 3],
                     age=str([15, 19, 30][i % 3] if i % 5 else 40),
                     outcome_violence_12m=["true", "false"][i % 2], risk_band=["Red", "Amber", "Green", "Green"][i % 4],
                     harm_score=str(i)) for i in range(60)]
    return pd.DataFrame(rows)


def _hand_tiny() -> pd.DataFrame:
    """Five people in three boroughs."""
    people = [("Black", "Hackney"), ("White", "Hackney"), ("Black", "Lambeth"), ("Asian", "Lambeth"),
              ("Black", "Croydon")]
    return pd.DataFrame([good_row(f"P{i}", ethnicity=e, borough=b) for i, (e, b) in enumerate(people)])


def _hand_quarantine() -> pd.DataFrame:
    """30 valid rows; 12 quarantined for age, 3 for borough: the 3 alone would follow from the total."""
    rows = [good_row(f"P{i}", ethnicity=["Black", "White"][i % 2], borough=["Hackney", "Lambeth"][i % 2])
            for i in range(30)]
    rows += [good_row(f"R{i}", age="7") for i in range(12)]
    rows += [good_row(f"Q{i}", borough="Gotham") for i in range(3)]
    return pd.DataFrame(rows)


HAND = {"quarters": _hand_quarters, "bands": _hand_bands, "tiny": _hand_tiny, "quarantine": _hand_quarantine}
CASES = ["synth-1", "synth-2", "synth-3-x0.5", *(f"hand-{k}" for k in HAND)]


@pytest.fixture(scope="module")
def audits(tmp_path_factory):
    """Internal and published audit of each case, computed once (about 1.5 s each)."""
    cache: dict[str, tuple] = {}

    def get(case: str):
        if case not in cache:
            if case.startswith("synth"):
                parts = case.split("-")
                seed = int(parts[1])
                scale = float(parts[2][1:]) if len(parts) > 2 else 0.2
                path = tmp_path_factory.mktemp(case) / "matrix.csv"
                synth.write(synth.generate("small", seed=seed, scale=scale), path)
                validated = fairness.read_matrix(path)
            else:
                validated = fairness.validate_frame(HAND[case.removeprefix("hand-")]())
            internal = fairness.audit(validated)
            cache[case] = internal, internal.for_publication()
        return cache[case]

    return get


@pytest.fixture(params=CASES)
def case(request, audits):
    internal, published = audits(request.param)
    return internal, published


def _tables(res) -> dict[str, pd.DataFrame]:
    return {name: t.reset_index(drop=True) for name, t in res.tables().items()}


# ------------------------------------------------------------ small counts


def test_no_count_from_1_to_9_in_any_table(case):
    internal, published = case
    assert published.mode == "publication"
    found = [x for name, t in _tables(published).items() for x in small_counts(name, t)]
    assert found == []
    # the cases do hold small counts, so the test is not vacuous
    assert [x for name, t in _tables(internal).items() for x in small_counts(name, t)]


def test_no_count_from_1_to_9_in_the_json(case):
    _, published = case
    data = json.loads(published.to_json())
    assert data["mode"] == "publication"
    from fairness.results.contract import read_json_table

    tables = {name: read_json_table(data, name) for name in published.tables()}
    assert list(tables["representation"].columns) == list(published.representation.columns)  # really read
    found = [x for name, table in tables.items() for x in small_counts(name, table)]
    assert found == []


_PEOPLE = re.compile(r"(?<![\w.,/\-])([1-9])(?![\d.,%])\s+(people|persons?|of)\b(?P<after>.{0,40})")
#: "2 of 10 data-protection checks", "1 of 3 boroughs": not counts of people.
_NOT_PEOPLE = re.compile(r"^\s+(the\s+)?\d+\s+(data-protection checks|boroughs)")


def small_counts_in_text(text: str) -> list[str]:
    return [m.group(0) for m in _PEOPLE.finditer(text) if not _NOT_PEOPLE.match(m.group("after"))]


def test_small_count_pattern_itself():
    assert small_counts_in_text("In 2018Q4, 5 people were on the list; 3 of the 40 were Black")
    assert small_counts_in_text("(3 of 12)")
    assert not small_counts_in_text("2 of 10 data-protection checks raised a concern; 0 of 3 boroughs")
    assert not small_counts_in_text("12 people; fewer than 10 people; 95% CI 1.5–3.2; 2018Q4 of the list")


def test_sentences_and_headline_show_no_small_count(case):
    _, published = case
    texts = list(published.headline()) + published.sentences["sentence"].astype(str).tolist()
    texts += [published.summary(), re.sub(r"<[^>]+>", " ", published._repr_html_())]
    found = [hit for text in texts for hit in small_counts_in_text(text)]
    assert found == []


# ---------------------------------------------------------------- derived


def test_derived_values_are_hidden_with_their_counts(case):
    _, published = case
    problems = []
    for name, t in _tables(published).items():
        spec = TABLE_SPECS.get(name)
        derived = dict(spec.derived) if spec else {}
        if name == "band_by_group":
            derived = _band_by_group_derived(list(t.columns))
        # (a hidden rolling sum hides the rolling values only: see the trends test)
        counts = [c for c in count_columns(name, t.columns) if not c.startswith("rolling_")]
        for i in range(len(t)):
            row = t.iloc[i]
            for col, sources in derived.items():
                if col in t and any(hidden(row[s]) for s in sources if s in t) and shown(row[col]):
                    problems.append((name, i, col, "declared"))
            # (band rates are declared rate by rate: fpr = fp / (fp + tn) stays beside a hidden tp)
            if any(hidden(row[c]) for c in counts) and name != "band_by_group":
                problems += [(name, i, c, "generic") for c in GENERIC_DERIVED if c in t and shown(row[c])]
            if "n" in t and hidden(row["n"]):
                problems += [(name, i, c, "limits") for c in LIMITS if c in t and shown(row[c])]
    assert problems == []


# ---------------------------------------------------------- recomputation


def _alone(internal: pd.DataFrame, published: pd.DataFrame, rows, column: str) -> bool:
    """Whether exactly one of ``rows`` (whose total a reader knows) is hidden in ``column``."""
    cells = [i for i in rows if shown(internal.at[i, column])]
    total = sum(number(internal.at[i, column]) for i in cells)
    if len(cells) < 2 or total < THRESHOLD:  # a smaller total is itself suppressed wherever it appears
        return False
    return sum(hidden(published.at[i, column]) for i in cells) == 1


def test_no_hidden_count_stands_alone_in_a_family_of_table_specs(case):
    internal, published = case
    before, after = _tables(internal), _tables(published)
    problems = []
    for name, spec in TABLE_SPECS.items():
        t, p = before[name], after[name]
        by = [c for c in spec.by if c in p.columns and c != "_row"]
        if len(p) == 0 or "_row" in spec.by:
            continue
        families = p.groupby(by, sort=False, dropna=False).indices.values() if by else [np.arange(len(p))]
        for rows in families:
            problems += [(name, c, list(rows)) for c in spec.count_cols if c in p and _alone(t, p, rows, c)]
    assert problems == []


def test_a_checks_boroughs_never_give_away_one_hidden_borough(case):
    internal, published = case
    t, p = internal.checks.reset_index(drop=True), published.checks.reset_index(drop=True)
    problems = []
    # rows are matched by check and quarter: small boroughs may be published together as one
    # "Other boroughs (k)" row, which replaces its parts and is counted like any row here
    published_rows = p.groupby(["check", "quarter"], sort=False).indices
    for (check, quarter), rows in t.groupby(["check", "quarter"], sort=False).indices.items():
        parts = [i for i in rows if t.at[i, "borough"] != "All boroughs"]
        total = [i for i in rows if t.at[i, "borough"] == "All boroughs"]
        out = published_rows.get((check, quarter), [])
        for c in ("count", "n"):
            if parts and total and t.loc[parts, c].sum() == t.at[total[0], c]:  # the boroughs add up
                if sum(hidden(p.at[i, c]) for i in out) == 1:
                    problems.append((check, quarter, c))
    assert problems == []


def test_sharing_cells_never_give_away_one_hidden_cell(case):
    internal, published = case
    t, p = internal.sharing_by_partner.reset_index(drop=True), published.sharing_by_partner.reset_index(drop=True)
    if len(t) == 0:
        pytest.skip("no sharing column")
    problems = []
    # per partner: all cells (they add up to the list size), and each margin (band; no-risk or not)
    for keys in (["quarter", "partner"], ["quarter", "partner", "risk_band"], ["quarter", "partner", "no_risk"]):
        for key, rows in t.groupby(keys, sort=False).indices.items():
            problems += [(keys, key, c) for c in ("count", "n") if _alone(t, p, rows, c)]
    assert problems == []


def test_quarantine_reasons_never_give_away_one_hidden_reason(audits):
    internal, published = audits("hand-quarantine")
    t = internal.quarantine_reasons.reset_index(drop=True)
    p = published.quarantine_reasons.reset_index(drop=True)
    assert internal.quarantined == published.quarantined == 15  # published, by design
    assert sorted(t["rows"]) == [3, 12]
    assert not _alone(t, p, range(len(t)), "rows")
    assert all(hidden(v) for v in p["rows"])


def test_band_cross_groups_never_give_away_one_hidden_group(case):
    """Cells "White / 10-17" add up to the one-way group "White" published beside them."""
    internal, published = case
    problems = []
    for name, count_cols, keys in (("band_by_group", ("n", "positives", "selected", "tp", "fp", "fn", "tn"),
                                    ["threshold", "by"]),
                                   ("band_calibration", ("n", "outcomes"), ["by", "risk_band"])):
        t, p = getattr(internal, name).reset_index(drop=True), getattr(published, name).reset_index(drop=True)
        if len(t) == 0:
            continue
        cross = t["by"].astype(str).str.contains(" / ")
        parts = t["group"].astype(str).str.split(" / ", expand=True)
        for k in (0, 1):
            if k not in parts:
                continue
            frame = t.assign(_part=parts[k].where(cross))
            for key, rows in frame[cross].groupby([*keys, "_part"], sort=False).indices.items():
                rows = frame[cross].index[rows]
                problems += [(name, key, c) for c in count_cols if _alone(t, p, rows, c)]
        # and within a row of band_by_group: tp + fn = positives, tp + fp = selected, all four = n
        if name == "band_by_group":
            for i in range(len(p)):
                for members in (("tp", "fn", "positives"), ("tp", "fp", "selected"), ("tp", "fp", "tn", "fn", "n")):
                    if sum(hidden(p.at[i, c]) for c in members) == 1 and t.loc[i, list(members)].sum() > 0:
                        problems.append((name, i, members))
    assert problems == []


def test_relative_rates_are_hidden_when_the_reference_count_is(case):
    _, published = case
    rel, sens = published.relative_rate, published.sensitivity
    problems = []
    for bench, rows in rel.groupby("benchmark", sort=False):
        ref = rows[rows["group"] == rows["reference"]]
        if len(ref) == 0 or not hidden(ref["count"].iloc[0]):
            continue
        problems += [("relative_rate", bench, g) for g, v in zip(rows["group"], rows["rri"], strict=True) if shown(v)]
        # the benchmark sensitivity table repeats each rate ratio
        s = sens[(sens["benchmark"] == bench) & (sens["measure"] == "relative rate index")]
        problems += [("sensitivity", bench, r.group, c) for r in s.itertuples(index=False)
                     for c in ("value", "ci_low", "ci_high") if shown(getattr(r, c))]
    assert problems == []


def test_sensitivity_shows_a_ratio_only_where_its_own_table_does(case):
    _, published = case
    sources = {"relative rate index": (published.relative_rate, "rri"),
               "representation ratio": (published.representation, "ratio")}
    problems = []
    for r in published.sensitivity.itertuples(index=False):
        table, col = sources[r.measure]
        match = table[(table["benchmark"] == r.benchmark) & (table["group"] == r.group)]
        if len(match) and hidden(match[col].iloc[0]) and shown(r.value):
            problems.append((r.measure, r.benchmark, r.group))
    assert problems == []


def _quarter_before(label: str, k: int) -> str:
    p = pd.Period(label, freq="Q") - k
    return f"{p.year}Q{p.quarter}"


def test_trends_hide_rolling_values_and_changes_that_use_a_hidden_quarter(case):
    _, published = case
    t = published.trends.reset_index(drop=True)
    problems = []
    for metric, rows in t.groupby("metric", sort=False):
        if rows["count"].map(hidden).any():
            problems += [(metric, c) for c in ("rolling_count", "rolling_n", "rolling_value", "rolling_low",
                                               "rolling_high") if rows[c].map(shown).any()]
        by_quarter = {r.quarter: r for r in rows.itertuples(index=False)}
        for r in rows.itertuples(index=False):
            for name, k in (("diff_prev", 1), ("diff_year", 4)):
                earlier = by_quarter.get(_quarter_before(r.quarter, k))
                if earlier is not None and (hidden(earlier.count) or hidden(earlier.n)):
                    problems += [(metric, r.quarter, c) for c in (name, f"{name}_low", f"{name}_high")
                                 if shown(getattr(r, c))]
    assert problems == []


def test_trend_change_from_a_hidden_quarter_is_hidden():
    """Worked by hand: 5 Black of 40 in 2018Q3 (hidden), 21 of 61 in 2018Q4. Shown, the change
    21/61 − 5/40 = 0.2193 would give back 5 = 40 × (21/61 − 0.2193)."""
    res = fairness.audit(fairness.validate_frame(_hand_quarters()))
    row = res.trends[(res.trends["metric"] == "black_share") & (res.trends["quarter"] == "2018Q4")].iloc[0]
    assert row["diff_prev"] == pytest.approx(21 / 61 - 5 / 40)
    pub = res.for_publication().trends
    q3 = pub[(pub["metric"] == "black_share") & (pub["quarter"] == "2018Q3")].iloc[0]
    q4 = pub[(pub["metric"] == "black_share") & (pub["quarter"] == "2018Q4")].iloc[0]
    assert hidden(q3["count"]) and q4["count"] == 21 and q4["n"] == 61
    assert all(hidden(q4[c]) for c in ("diff_prev", "diff_prev_low", "diff_prev_high"))


def test_band_comparisons_are_hidden_when_a_count_behind_them_is(case):
    _, published = case
    by_group, versus, summary = published.band_by_group, published.band_versus_reference, published.band_summary
    if len(by_group) == 0:
        pytest.skip("band performance not assessable")
    counts = ["n", "positives", "selected", "tp", "fp", "tn", "fn"]
    hidden_group = {(r.threshold, r.by, r.group) for r in by_group.itertuples(index=False)
                    if any(hidden(getattr(r, c)) for c in counts)}
    values = ["value", "reference_value", "difference", "diff_low", "diff_high", "ratio", "ratio_low", "ratio_high"]
    problems = [("versus", r.threshold, r.by, r.group, c) for r in versus.itertuples(index=False)
                if {(r.threshold, r.by, r.group), (r.threshold, r.by, r.reference)} & hidden_group
                for c in values if shown(getattr(r, c))]
    families = {(k[0], k[1]) for k in hidden_group}
    metrics = ["equalized_odds_difference", "equalized_odds_ratio", "demographic_parity_difference",
               "demographic_parity_ratio"]
    problems += [("summary", r.threshold, r.by, c) for r in summary.itertuples(index=False)
                 if (r.threshold, r.by) in families for c in metrics if shown(getattr(r, c))]
    assert problems == []


def test_band_rate_beside_a_hidden_count_is_hidden(audits):
    """Before the fix the comparison table showed Black's selection rate 5/18 = 0.278 while
    band_by_group hid the 5: 18 × 0.278 gives it back."""
    internal, published = audits("hand-bands")
    b = internal.band_by_group
    black = b[(b["threshold"] == "red") & (b["by"] == "ethnicity") & (b["group"] == "Black")].iloc[0]
    assert 0 < black["selected"] < THRESHOLD
    v = published.band_versus_reference
    row = v[(v["threshold"] == "red") & (v["by"] == "ethnicity") & (v["group"] == "Black")
            & (v["metric"] == "selection_rate")].iloc[0]
    assert hidden(row["value"])


def test_funnel_limits_are_hidden_with_the_boroughs_n(case):
    _, published = case
    b = published.boroughs
    rows = b[b["n"].map(hidden)]
    assert not [(r.metric, r.borough) for r in rows.itertuples(index=False) if any(shown(getattr(r, c)) for c in LIMITS)]


# -------------------------------------------------------------- decisions


def test_every_hidden_cell_is_named_in_the_decisions(case):
    _, published = case
    dec = published.disclosure
    assert list(dec.columns[:5]) == ["table", "row", "column", "hidden", "rule"]
    assert set(dec["rule"]) <= {"primary", "complement", "secondary", "derived", "withheld"}
    assert dec["hidden"].all()
    named = {(t, r, c) for t, r, c in zip(dec["table"], dec["row"], dec["column"], strict=True)}
    withheld = {(t, c) for t, r, c in named if r == "all"}
    missing = []
    for name, t in _tables(published).items():
        for c in t.columns:
            for i in np.flatnonzero(t[c].map(hidden).to_numpy()):
                if (name, int(i), c) not in named and (name, c) not in withheld:
                    missing.append((name, int(i), c))
    assert missing == []
    # and the decisions name no cell that is shown
    # (a model summary or London centre withheld is left missing: NaN, or "" for a text)
    tables = _tables(published)
    shown_cells = [(t, r, c) for t, r, c in named if r != "all"
                   and not hidden(tables[t].at[r, c])
                   and not (pd.isna(tables[t].at[r, c]) or tables[t].at[r, c] == "")]
    assert shown_cells == []


def test_the_decisions_hold_no_value(case):
    _, published = case
    assert not {"value", "count"} & set(published.disclosure.columns)


def test_internal_mode_hides_nothing(case):
    internal, _ = case
    assert internal.mode == "internal"
    for name, t in _tables(internal).items():
        assert not t.map(hidden).any().any(), name
    assert len(internal.disclosure) == 0


def test_publication_of_a_list_of_five_says_fewer_than_10():
    published = fairness.audit(fairness.validate_frame(_hand_tiny())).for_publication()
    assert published.parameters["disclosure_threshold"] == 10
    text = " ".join(published.headline())
    assert "fewer than 10 people were on the list" in text and "5 people" not in text
    assert "fewer than 10 people in 2018Q4" in published.summary()
    assert "fewer than 10 people listed" in published._repr_html_()


def test_borough_sentence_counts_only_boroughs_whose_flag_is_shown(audits):
    """All three boroughs of the tiny list are suppressed: no "0 of 3 boroughs ... outside" claim."""
    _, published = audits("hand-tiny")
    assert not [s for s in published.headline() if "boroughs differ" in s or "No borough" in s]
    _, published = audits("hand-quarters")
    sentence = next(s for s in published.headline() if s.startswith("No borough"))
    flags = published.boroughs.loc[published.boroughs["metric"] == "no_risk_share", "flag"]
    compared = int((~flags.astype(str).isin(["not_estimable", MARKER, "combined"])).sum())
    assert f"({compared} boroughs compared; " in sentence
    assert "not shown" in sentence or "published together, not compared" in sentence


# -------------------------------------------------------- report refusal


@pytest.mark.slow  # runs the real report notebook
def test_report_refuses_metrics_with_a_small_count(tmp_path, monkeypatch):
    """Issue 7: a publication run whose metrics.json would show a 3 fails and publishes nothing.

    The notebook runs in its own kernel, so the protected table is altered
    where the runner meets it: in the metrics.json the notebook wrote (after
    checking that the untouched file passes).
    """
    pytest.importorskip("papermill")
    from fairness.report import execute
    from fairness.report import runner as report

    path = tmp_path / "matrix.csv"
    synth.write(synth.generate("small", seed=1, scale=0.2), path)
    real = execute.run_notebook
    seen = {}

    def run_then_tamper(template, output, parameters, *, cwd, timeout):
        real(template, output, parameters, cwd=cwd, timeout=timeout)
        metrics_file = cwd / parameters["metrics_path"]
        metrics = json.loads(metrics_file.read_text(encoding="utf-8"))
        report.check_metrics(metrics)  # the real protected audit passes
        table = metrics["no_risk"]  # {"columns": [...], "data": [[...], ...]}
        col = table["columns"].index("count")
        row = next(i for i, r in enumerate(table["data"]) if isinstance(r[col], int) and r[col] >= 10)
        table["data"][row][col] = 3
        seen["row"] = row
        metrics_file.write_text(json.dumps(metrics), encoding="utf-8")

    monkeypatch.setattr(execute, "run_notebook", run_then_tamper)
    out = tmp_path / "reports"
    outcome = report.render_quarter(path, "latest", out_dir=out, mode="publication", pdf=False)
    assert not outcome.ok
    assert "SmallCountError" in outcome.error and f"table no_risk, row {seen['row']}, column count" in outcome.error
    target = out / outcome.quarter
    published = [p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file()]
    assert published == []  # no report, no metrics, no notebook showing the 3 (failures are kept elsewhere)
    kept = outcome.failed_at
    assert sorted(p.name for p in kept.iterdir()) == ["error.txt"]  # owner-only, outside reports/
    assert not (out / "trend_appendix.html").exists()
    assert not list(out.glob(f".{outcome.quarter}.tmp-*"))


def test_check_metrics_refuses_an_unprotected_audit_and_names_cells_not_values():
    from fairness.report import runner as report

    res = fairness.audit(fairness.validate_frame(_hand_tiny()))
    with pytest.raises(report.SmallCountError, match="'internal' mode"):
        report.check_metrics(json.loads(res.to_json()))
    metrics = json.loads(res.for_publication().to_json())
    report.check_metrics(metrics)
    rep = metrics["representation"]  # {"columns": [...], "data": [[...], ...]}
    rep["data"][1][rep["columns"].index("count")] = 7
    with pytest.raises(report.SmallCountError, match=r"table representation, row 1, column count") as err:
        report.check_metrics(metrics)
    assert " 7" not in str(err.value)
    # the same 7 in a file of format 1 (a list of records, as before format 2) is caught too
    old = {**metrics, "representation": [dict(zip(rep["columns"], r, strict=True)) for r in rep["data"]]}
    with pytest.raises(report.SmallCountError, match=r"table representation, row 1, column count"):
        report.check_metrics(old)
    # a table of neither shape is refused, never read as empty
    with pytest.raises(report.SmallCountError, match="cannot be checked before publication"):
        report.check_metrics({**metrics, "representation": {"rows": rep["data"]}})


def _four_boroughs(croydon: int, brent: int):
    """Hackney 20 and Lambeth 25 people (shown); Croydon and Brent small (hidden), same total."""
    rows, i = [], 0
    for borough, k in (("Hackney", 20), ("Lambeth", 25), ("Croydon", croydon), ("Brent", brent)):
        for j in range(k):
            rows.append(good_row(f"P{i}", borough=borough, ethnicity=["Black", "White"][i % 2],
                                 harm_score=["0", "5"][j % 2]))
            i += 1
    return fairness.audit(fairness.validate_frame(pd.DataFrame(rows))).for_publication()


def test_funnel_curves_do_not_depend_on_a_hidden_boroughs_n():
    a, b = _four_boroughs(4, 6), _four_boroughs(3, 7)
    for res in (a, b):
        nr = res.boroughs[res.boroughs["metric"] == "no_risk_share"].set_index("borough")
        assert hidden(nr.loc["Croydon", "n"]) and hidden(nr.loc["Brent", "n"])
        assert nr.loc["Hackney", "n"] == 20 and nr.loc["Lambeth", "n"] == 25
    grid_a = a.funnel_limits.loc[a.funnel_limits["metric"] == "no_risk_share", "n"].to_numpy()
    grid_b = b.funnel_limits.loc[b.funnel_limits["metric"] == "no_risk_share", "n"].to_numpy()
    np.testing.assert_array_equal(grid_a, grid_b)


def test_protect_audit_combines_small_groups_and_areas_once(audits, monkeypatch):
    """The suppression summary is counted from the tables protect_audit combined, not combined again;
    from the internal (uncombined) result, suppression_summary gives the same table."""
    from fairness.publish import publication

    internal, _ = audits("synth-1")
    calls = {"groups": 0, "areas": 0}
    groups, areas = publication.combine_small_groups, publication.combine_small_areas

    def count(name, f):
        def wrapped(*a, **k):
            calls[name] += 1
            return f(*a, **k)
        return wrapped

    monkeypatch.setattr(publication, "combine_small_groups", count("groups", groups))
    monkeypatch.setattr(publication, "combine_small_areas", count("areas", areas))
    pub = publication.protect_audit(internal)
    assert calls == {"groups": 1, "areas": 1}
    again = publication.suppression_summary(internal, pub, published_form=True)
    pd.testing.assert_frame_equal(again, pub.suppression)
