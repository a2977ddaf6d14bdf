"""Tests for fairness.results.audit: the one entry point and its contract (docs/audit_contract.md).

A small matrix is made by hand (``good_row`` from conftest), so the counts the
audit must report are known: how many people in each quarter, how many rows
quarantined, which quarter is the latest. The statistics themselves are
tested against hand-worked and published values in the module tests
(test_disproportionality, test_no_risk, test_boroughs, test_trends); here the
audit's tables must agree with those functions on the same rows.

``fairness.checks.run_checks`` belongs to another module: the contract tests
replace it with an empty table (``isolated``) so that a fault there does not
hide the audit's own behaviour, and ``test_audit_end_to_end`` runs everything
for real.
"""

from __future__ import annotations

import dataclasses
import json
import math

import pandas as pd
import pytest
import statsmodels.api  # noqa: F401  (imported first: it installs warning filters of its own)

import fairness
from fairness import read_matrix, relative_rate_index, representation_ratio
from fairness.definitions import ALL_COLUMNS
from fairness.results import contract
from fairness.results.audit import TABLES, AuditResult
from fairness.results.contract import read_json_table
from tests.conftest import good_row

BOROUGHS6 = ["Hackney", "Lambeth", "Southwark", "Haringey", "Newham", "Croydon"]
ETHNICITY = ["Black", "Black", "Black", "White", "Black", "Asian", "Black", "Mixed", "White", "Other"]
HARM = [0, 5, 0, 20, 60, 0, 5, 0, 100, 12]
AGE = [15, 17, 19, 22, 25, 30, 16, 40, 21, 23]
VIOLENT = [0, 1, 0, 2, 3, 0, 0, 0, 4, 1]
#: snapshot date -> number of boroughs with ten people each
SNAPSHOTS = {"2017-12-31": 4, "2018-03-31": 5, "2018-06-30": 6, "2018-09-30": 6, "2018-12-31": 6}

# People per quarter, by hand: 4, 5, 6, 6, 6 boroughs of ten, and one person of
# unstated ethnicity added in 2018Q4: 40, 50, 60, 60, 61. One more row names a
# borough that does not exist, so it is quarantined: 272 rows read.
PEOPLE = {"2017Q4": 40, "2018Q1": 50, "2018Q2": 60, "2018Q3": 60, "2018Q4": 61}
N_ROWS = 272

#: The tables this file's matrix fills, with their columns from the registry (fairness.results.contract;
#: tests/test_contract.py checks every table, kinds too, on a matrix with outcomes and checks).
CONTRACT_COLUMNS = {name: list(contract.table(name).column_names) for name in (
    "representation", "relative_rate", "sentences", "no_risk", "no_risk_duration", "boroughs", "overdispersion",
    "funnel_limits", "heterogeneity", "casemix", "band_consistency", "trends", "quarantine_reasons")}
# The hand-made boroughs are identical, so the case-mix model fits them exactly.
pytestmark = pytest.mark.filterwarnings("ignore::statsmodels.tools.sm_exceptions.ModelWarning")

JSON_TOP = ["quarter", "n", "quarantined", "representation", "relative_rate", "no_risk", "boroughs",
            "overdispersion"]


def rows() -> list[dict]:
    out = []
    for date, k in SNAPSHOTS.items():
        for borough in BOROUGHS6[:k]:
            for i in range(10):
                h = HARM[i]
                out.append(good_row(
                    f"{borough[:3].upper()}{i}", snapshot_date=date, borough=borough, ethnicity=ETHNICITY[i],
                    sex="Female" if i == 9 else "Male", age=AGE[i], harm_score=h,
                    risk_band="Green" if h < 10 else ("Amber" if h < 50 else "Red"),
                    victim_flag="true" if i % 2 else "false", violent_offences_2y=VIOLENT[i],
                    date_added="2017-03-01", last_reviewed=date,
                    shared_with="council;school" if i < 3 else "",
                ))
    out.append(good_row("NS1", snapshot_date="2018-12-31", ethnicity="Not stated", harm_score=0))
    out.append(good_row("BAD1", snapshot_date="2018-12-31", borough="Narnia"))
    assert len(out) == N_ROWS
    return out


@pytest.fixture(scope="module")
def matrix_path(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("audit") / "matrix.csv"
    data = rows()
    lines = [",".join(ALL_COLUMNS)] + [",".join(str(r[c]) for c in ALL_COLUMNS) for r in data]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def isolated(matrix_path):
    """Run audits with the data-protection checks replaced by an empty table."""
    import fairness.checks

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(fairness.checks, "run_checks", lambda *a, **k: pd.DataFrame())
        yield lambda **kw: fairness.audit(matrix_path, **kw)


@pytest.fixture(scope="module")
def result(isolated) -> AuditResult:
    return isolated()


# ---------------------------------------------------------------- end to end


def test_audit_end_to_end(matrix_path):
    # Everything for real, checks and band performance included.
    res = fairness.audit(matrix_path)
    assert res.n == PEOPLE["2018Q4"] and res.quarantined == 1
    assert len(res.checks) > 0
    json.loads(res.to_json())


def test_audit_end_to_end_clean_file(tmp_path):
    # The commonest case: a file in which every row is valid.
    data = [r for r in rows() if r["person_id"] != "BAD1"]
    path = tmp_path / "clean.csv"
    path.write_text("\n".join([",".join(ALL_COLUMNS)] + [",".join(str(r[c]) for c in ALL_COLUMNS) for r in data])
                    + "\n", encoding="utf-8")
    res = fairness.audit(str(path))
    assert res.quarantined == 0 and res.n == PEOPLE["2018Q4"]


def test_single_borough_matrix(tmp_path):
    # Each borough kept its own matrix: auditing one must not fail on the
    # between-borough comparisons, which are simply not estimable.
    import fairness.checks

    data = [r for r in rows() if r["borough"] == "Hackney"]
    path = tmp_path / "hackney.csv"
    path.write_text("\n".join([",".join(ALL_COLUMNS)] + [",".join(str(r[c]) for c in ALL_COLUMNS) for r in data])
                    + "\n", encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(fairness.checks, "run_checks", lambda *a, **k: pd.DataFrame())
        res = fairness.audit(str(path))
    assert res.n == 11  # ten people and the one of unstated ethnicity
    shares = res.boroughs[res.boroughs["metric"] != "rate_per_1000"]
    assert (shares["flag"] == "not_estimable").all()
    assert math.isnan(res.overdispersion.set_index("metric").loc["no_risk_share", "phi"])
    assert not any("boroughs differ" in s or "No borough" in s for s in res.headline())
    json.loads(json.dumps(res.to_dict(), allow_nan=False, default=str))


# ---------------------------------------------------------------- the result


def test_top_level_facts(result):
    assert isinstance(result, AuditResult)
    assert result.quarter == "2018Q4"  # the default is the latest quarter in the file
    assert result.quarters == tuple(PEOPLE)
    assert result.n == PEOPLE["2018Q4"]
    assert result.quarantined == 1
    assert result.n_rows == N_ROWS
    assert result.mode == "internal"
    assert len(result.sha256) == 64
    assert result.parameters["benchmarks"] == ["residents_2021", "residents_2011"]
    assert result.parameters["reference"] == "White"
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.n = 0  # type: ignore[misc]


def test_tables_have_the_contract_columns(result):
    tables = result.tables()
    assert list(tables) == list(TABLES)
    for name, cols in CONTRACT_COLUMNS.items():
        table = getattr(result, name)
        assert isinstance(table, pd.DataFrame), name
        missing = [c for c in cols if c not in table.columns]
        assert not missing, f"{name}: {missing}"


def test_tables_agree_with_the_module_functions(result, matrix_path):
    valid = read_matrix(matrix_path).valid
    current = valid[valid["snapshot_date"] == pd.Timestamp("2018-12-31")].reset_index(drop=True)
    rep = representation_ratio(current)
    pd.testing.assert_frame_equal(result.representation.reset_index(drop=True), rep)
    rri = relative_rate_index(current)
    pd.testing.assert_frame_equal(result.relative_rate.reset_index(drop=True), rri)
    # by hand: 6 boroughs × 5 Black of 10 = 30 Black; 60 of 61 with a stated ethnicity
    black = result.representation.query("benchmark == 'residents_2021' and group == 'Black'").iloc[0]
    assert (black["count"], black["n"]) == (30, 60)
    ns = result.representation.query("benchmark == 'residents_2021' and group == 'Not stated'").iloc[0]
    assert ns["count"] == 1 and math.isnan(ns["ratio"])


def test_no_risk_tables(result):
    nr = result.no_risk
    head = nr[(nr["definition"] == "harm_zero") & (nr["by"] == "all")].iloc[0]
    # harm 0 for people 0, 2, 5 and 7 of each ten: 4 × 6 = 24, plus the person of unstated ethnicity
    assert (head["count"], head["n"]) == (25, 61)
    assert set(nr["definition"]) == {"harm_zero", "no_violence_2y", "green_band", "victim_only"}
    assert set(nr["by"]) == {"all", "borough", "ethnicity", "age_band", "sex", "quarter"}
    assert len(nr[(nr["by"] == "borough")]) == 32  # empty boroughs kept, n = 0
    q = nr[nr["by"] == "quarter"].set_index("group")["n"]
    assert q.to_dict() == PEOPLE  # the quarter breakdown uses every quarter in the file
    # everyone was added on 2017-03-01: 670 days before 2018-12-31, "1–2 years"
    d = result.no_risk_duration.set_index("duration")["count"]
    assert d["1–2 years"] == 25 and d.sum() == 25


def test_trends_cover_every_quarter(result):
    listed = result.trends[result.trends["metric"] == "listed"]
    assert listed["quarter"].tolist() == list(PEOPLE)
    assert listed["value"].tolist() == list(PEOPLE.values())
    # 61 in 2018Q4 against 40 in 2017Q4
    assert listed.iloc[-1]["diff_year"] == 21


def test_boroughs_all_32_each_metric(result):
    b = result.boroughs
    assert b.groupby("metric").size().to_dict() == {m: 32 for m in b["metric"].unique()}
    assert set(b["flag"]) <= {"above_99.8", "above_95", "within", "below_95", "below_99.8", "not_estimable"}
    assert set(result.overdispersion["metric"]) == set(b["metric"])


# ---------------------------------------------------------------- quarter selection


def test_quarter_selection(isolated):
    res = isolated(quarter="2018-q1")  # spelling normalised
    assert res.quarter == "2018Q1" and res.n == PEOPLE["2018Q1"]
    assert res.quarters == tuple(PEOPLE)  # trends still use every quarter
    assert res.trends[res.trends["metric"] == "listed"]["quarter"].tolist() == list(PEOPLE)
    black = res.representation.query("benchmark == 'residents_2021' and group == 'Black'").iloc[0]
    assert (black["count"], black["n"]) == (25, 50)


def test_quarter_not_in_the_file_is_a_clear_error(isolated):
    with pytest.raises(ValueError, match=r"quarter 2016Q2 is not in the file; quarters found: 2017Q4, 2018Q1"):
        isolated(quarter="2016Q2")
    with pytest.raises(ValueError, match="YYYYQn"):
        isolated(quarter="Christmas 2018")


def test_accepts_a_validation_result_and_a_frame(isolated, matrix_path, result):
    import fairness.checks

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(fairness.checks, "run_checks", lambda *a, **k: pd.DataFrame())
        v = read_matrix(matrix_path)
        from_validation = fairness.audit(v)
        from_frame = fairness.audit(v.valid)
    assert from_validation.n == result.n and from_validation.quarantined == 1
    assert from_frame.n == result.n and from_frame.quarantined == 0
    with pytest.raises(TypeError, match="not int"):
        fairness.audit(3)


# ---------------------------------------------------------------- JSON, text, HTML


def _no_nan(obj, where="$"):
    if isinstance(obj, float):
        assert math.isfinite(obj), where
    elif isinstance(obj, dict):
        for k, v in obj.items():
            _no_nan(v, f"{where}.{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            _no_nan(v, f"{where}[{i}]")


def test_json_contract_and_no_nan(result, tmp_path):
    text = result.to_json(tmp_path / "audit.json")
    assert (tmp_path / "audit.json").read_text(encoding="utf-8") == text + "\n"
    data = json.loads(text)
    for key in JSON_TOP:
        assert key in data
    assert (data["quarter"], data["n"], data["quarantined"]) == ("2018Q4", 61, 1)
    assert data["format"] == 2
    for name in ("representation", "relative_rate", "no_risk", "boroughs", "overdispersion"):
        # format 2: {"columns": [...], "data": [[...], ...]}, every row as long as the columns
        assert set(data[name]) == {"columns", "data"} and data[name]["data"], name
        missing = [c for c in CONTRACT_COLUMNS[name] if c not in data[name]["columns"]]
        assert not missing, f"{name}: {missing}"
        assert {len(row) for row in data[name]["data"]} == {len(data[name]["columns"])}, name
    # NaN and infinity become null; a strict round trip succeeds
    _no_nan(data)
    assert json.loads(json.dumps(data, allow_nan=False)) == data
    ns = [r for r in read_json_table(data, "representation").to_dict("records") if r["group"] == "Not stated"][0]
    assert pd.isna(ns["ratio"]) and ns["note"]  # null in the JSON
    assert data == json.loads(json.dumps(result.to_dict(), allow_nan=False, default=str))


def test_headline_and_summary(result):
    lines = result.headline()
    assert 5 <= len(lines) <= 7
    # Wilson interval of 30 of 60: 0.5 ± 1.96 / 63.84 × √(15 + 0.96) = 37.7%–62.3%
    assert lines[0].startswith("In 2018Q4, 61 people were on the list; Black people were 50.0% (95% CI 37.7–62.3) "
                               "of the 60 with a stated ethnicity (30 people)")
    assert any("times the rate of White Londoners" in s and "95% CI" in s for s in lines)
    assert any("(25 of 61)" in s for s in lines)
    assert any(s.startswith("No borough's share") and "(6 boroughs compared)" in s for s in lines)
    assert any(s.startswith("The list held 61 people in 2018Q4, against 40 a year earlier in 2017Q4 (52% more)")
               for s in lines)
    text = result.summary()
    assert "272 rows read: 271 used, 1 quarantined; 61 people in 2018Q4" in text
    assert "NOT FOR PUBLICATION" in text


def test_repr_html_shows_counts_and_intervals(result):
    html = result._repr_html_()
    assert "INTERNAL — NOT FOR PUBLICATION" in html
    assert "61 people listed" in html and "272 rows read, 1 quarantined" in html
    assert "<h4>Main points</h4>" in html and "95% CI" in html
    black = result.representation.query("benchmark == 'residents_2021' and group == 'Black'").iloc[0]
    # intervals as one "L–U" cell, rounded; the table itself keeps full values
    assert f"<td>{black['ci_low']:.2f}–{black['ci_high']:.2f}</td>" in html
    assert "<td>30</td>" in html  # the Black count
    assert "not_estimable" not in html.split("Boroughs outside the 95% funnel limits")[1].split("</table>")[0]
    assert 'res.show("relative_rate")' in html
    shown = result.show("relative_rate").frame
    assert "95% CI" in shown.columns and "ci_low" not in shown.columns
    assert "ci_low" in result.relative_rate.columns
    assert repr(result).startswith("AuditResult(quarter='2018Q4', n=61, quarantined=1")


# ---------------------------------------------------------------- the fixed cost of an audit (issue 10)

HEAVY_IMPORT_SCRIPT = """
import sys
from fairness.cli import main
code = main(["audit", sys.argv[1], "--mode", "internal", "--json", sys.argv[2]])
heavy = ("scipy.stats", "scipy.linalg", "statsmodels", "patsy", "fairlearn", "sklearn", "pandera")
print(code, ",".join(m for m in heavy if m in sys.modules))
"""


@pytest.mark.slow  # a second Python process importing everything and auditing
def test_an_audit_imports_no_scipy_stats_statsmodels_or_fairlearn(write_csv, tmp_path):
    """Every audit paid about 1.5 s of processor time importing scipy.stats, statsmodels (with
    patsy) and, with outcomes, fairlearn and scikit-learn; their few functions now come from
    scipy.special and numpy (the same numbers: test_distributions, test_boroughs, test_bands).
    An audit whose case-mix model is fitted and whose band performance is assessed imports none."""
    import subprocess
    import sys

    boroughs = ("Hackney", "Barnet", "Brent", "Croydon")
    rows = [good_row(f"P{i}", borough=boroughs[i % 4], ethnicity=("Black", "White", "Asian")[i % 3],
                     age=15 + i % 20, sex=("Male", "Female")[i % 5 == 0], harm_score=(0, 3.5, 12)[i % 3],
                     risk_band=("Green", "Amber", "Red")[i % 3], outcome_violence_12m=("true", "false")[i % 4 > 0])
            for i in range(60)]
    path = write_csv(rows)
    out = subprocess.run([sys.executable, "-c", HEAVY_IMPORT_SCRIPT, path, str(tmp_path / "audit.json")],
                         capture_output=True, text=True, check=True)
    code, _, heavy = out.stdout.strip().rpartition("\n")[2].partition(" ")
    assert code == "0", out.stdout + out.stderr
    assert heavy == ""
    result = json.loads((tmp_path / "audit.json").read_text(encoding="utf-8"))
    assert result["band_performance_status"] == "assessed"  # band performance ran (it was fairlearn's)
    (test,) = result["casemix_test"]["data"]  # the case-mix model was fitted (it was statsmodels')
    assert test[4] == "age_band, sex, ethnicity" and test[1] >= 0 and test[2] == 3  # four boroughs: 3 df
