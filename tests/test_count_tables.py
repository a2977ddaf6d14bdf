"""Count tables (area × group × count) audited with a profile; the Home Office stop and search example."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import fairness
from fairness.publish.disclosure import MARKER
from fairness.results.audit import TABLES
from fairness.results.counts_table import (
    NOT_ASSESSABLE,
    CountTableError,
    audit_counts,
    relative_rate_by_area,
)

EW = Path(__file__).resolve().parents[1] / "data" / "reference" / "england-wales"
STOP_SEARCH = EW / "stop_search_by_force_and_ethnicity_2020-21_to_2024-25.csv"
RATES = EW / "stop_search_rates_per_1000_by_force_2022-23.csv"
PROFILE = "england-wales-forces"


@pytest.fixture(scope="module")
def ss_2022():
    return audit_counts(STOP_SEARCH, profile=PROFILE, period="2022/23")


def _rate(table: pd.DataFrame, group: str, benchmark: str = "residents_2021", **where) -> float:
    t = table[(table["group"] == group) & (table["benchmark"] == benchmark)]
    for k, v in where.items():
        t = t[t[k] == v]
    assert len(t) == 1
    return float(t["rate_per_1000"].iloc[0])


# ------------------------------------------------------------ the published figures


def test_stop_and_search_england_and_wales_rates_as_published(ss_2022):
    rel = ss_2022.relative_rate
    # GOV.UK Ethnicity Facts and Figures, "Stop and search", year ending March 2023, England and Wales
    # excluding British Transport Police (row "All - excluding BTP" of
    # data/reference/england-wales/stop_search_rates_per_1000_by_force_2022-23.csv):
    assert round(_rate(rel, "Black"), 1) == 23.7  # published 23.7 per 1,000 Black people
    assert round(_rate(rel, "White"), 1) == 5.8  # published 5.8 per 1,000 White people
    assert round(_rate(rel, "Asian"), 1) == 8.3  # published 8.3
    assert round(_rate(rel, "Mixed"), 1) == 9.5  # published 9.5
    assert round(_rate(rel, "Other"), 1) == 7.3  # published 7.3
    # the exact counts behind them: 57,121 searches ÷ 2,409,283 Black residents (Census 2021, built by force area)
    black = rel[(rel.group == "Black") & (rel.benchmark == "residents_2021")].iloc[0]
    assert (black["count"], black["population"]) == (57_121, 2_409_283)
    assert black["rri"] == pytest.approx((57_121 / 2_409_283) / (282_957 / 48_699_231), rel=1e-12)
    assert ss_2022.n == 411_353


def test_only_census_2021_denominators_reproduce_the_published_rates(ss_2022):
    # The same searches over Census 2011 populations give 30.6, not the published 23.7:
    # 57,121 ÷ 1,864,890 (Census 2011 Black residents, SOURCES.md). The denominator matters.
    assert round(_rate(ss_2022.relative_rate, "Black", "residents_2011"), 1) == 30.6
    assert _rate(ss_2022.relative_rate, "Black", "residents_2011") == pytest.approx(1000 * 57_121 / 1_864_890)


def test_metropolitan_police_black_rate_as_published():
    # Ethnicity Facts and Figures, year ending March 2023: 32.8 per 1,000 Black people in the
    # Metropolitan Police area (SOURCES.md: 38,961 ÷ 1,188,137).
    by_area = relative_rate_by_area(STOP_SEARCH, profile=PROFILE, period="2022/23")
    assert round(_rate(by_area, "Black", area="Metropolitan Police"), 1) == 32.8
    # the Met's own table: the benchmark is restricted to the areas the table covers
    ss = pd.read_csv(STOP_SEARCH)
    met = ss[(ss.police_force == "Metropolitan Police") & (ss.financial_year == "2022/23")]
    res = audit_counts(met, profile=PROFILE)
    assert round(_rate(res.relative_rate, "Black"), 1) == 32.8
    assert _rate(res.relative_rate, "Black") == pytest.approx(1000 * 38_961 / 1_188_137, rel=1e-12)
    assert any("1 of 43 police force areas" in n for n in res.notes)


def test_force_rates_match_the_published_table_except_surrey_and_north_yorkshire():
    # SOURCES.md: counts ÷ Census 2021 force populations reproduce the published rates to ±0.05
    # per 1,000 in 40 of 42 forces (Surrey and North Yorkshire differ, probably later revisions).
    p = fairness.load_profile(PROFILE)
    by_area = relative_rate_by_area(STOP_SEARCH, profile=p, period="2022/23", benchmarks=["residents_2021"])
    published = pd.read_csv(RATES, skiprows=[1]).rename(columns={"Unnamed: 0": "force"})
    rates = dict(zip(zip(by_area["area"], by_area["group"], strict=True), by_area["rate_per_1000"], strict=True))
    matched, differ = set(), set()
    for row in published.itertuples(index=False):
        area = p.area_for(row.force)
        if area is None or np.isnan(row.Black):  # the England and Wales rows, BTP; City of London unpublished
            continue
        for g in ("Asian", "Black", "Mixed", "White", "Other"):
            ours = rates[(area, g)]
            (matched if abs(round(ours, 1) - getattr(row, g)) < 0.051 else differ).add(area)
    assert differ == {"Surrey", "North Yorkshire"}
    assert len(matched - differ) == 40


def test_an_area_with_more_events_than_residents_gets_its_ratio_as_events():
    # stop and search counts events ([list] counts = "events"): a rate above 1,000 per 1,000 is legitimate
    by_area = relative_rate_by_area(STOP_SEARCH, profile=PROFILE, period="2022/23", benchmarks=["residents_2011"])
    city = by_area[(by_area.area == "London, City of")].set_index("group")
    # 232 searches of Black people, 193 Black residents in Census 2011 (census2011_ethnic_group_by_pfa.csv);
    # 578 searches of White people, 5,799 White residents
    assert (city.loc["Black", "count"], city.loc["Black", "population"]) == (232, 193)
    assert city.loc["Black", "rate_per_1000"] == pytest.approx(1000 * 232 / 193)
    # RRI = (232/193)/(578/5799) = 12.0603; Katz for Poisson counts: exp(±1.959964·sqrt(1/232 + 1/578))
    assert city.loc["Black", "rri"] == pytest.approx(12.0603, rel=1e-4)
    assert city.loc["Black", "ci_low"] == pytest.approx(10.3562, rel=1e-4)
    assert city.loc["Black", "ci_high"] == pytest.approx(14.0447, rel=1e-4)
    assert city.loc["Black", "flag"] == "above_band"


def test_a_table_of_one_area_with_more_events_than_residents_is_audited_with_ratios():
    ss = pd.read_csv(STOP_SEARCH)
    city = ss[(ss.police_force == "London, City of") & (ss.financial_year == "2022/23")]
    rel = audit_counts(city, profile=PROFILE).relative_rate
    black = rel[(rel.group == "Black") & (rel.benchmark == "residents_2011")].iloc[0]
    assert black["rate_per_1000"] == pytest.approx(1000 * 232 / 193)
    assert black["rri"] == pytest.approx(12.0603, rel=1e-4)


# ------------------------------------------------------------ the rest of the audit


def test_count_table_audit_keeps_the_json_contract_and_says_what_is_not_assessable(ss_2022):
    d = json.loads(ss_2022.to_json())
    assert set(TABLES) <= set(d) and d["quarter"] == "2022/23"
    assert d["quarters"] == ["2020/21", "2021/22", "2022/23", "2023/24", "2024/25"]
    assert d["parameters"]["input"] == "count table" and d["parameters"]["profile"] == PROFILE
    assert set(ss_2022.checks["status"]) == {"not assessable"}
    assert ss_2022.checks["detail"].str.startswith(NOT_ASSESSABLE).all()
    assert ss_2022.band_status == "not assessable" and ss_2022.band_reason == NOT_ASSESSABLE
    assert (ss_2022.no_risk["note"] == f"{NOT_ASSESSABLE} without a no-risk count column").all()
    assert d["headline"][1].startswith("There were 23.7 searches per 1,000 Black people in England and Wales "
                                       "against 5.8 per 1,000 White people in England and Wales")
    assert not any("London" in s for s in d["headline"])


def test_funnel_of_forces(ss_2022):
    b = ss_2022.boroughs
    assert set(b["metric"]) == {"rate_per_1000", "black_share", "asian_share", "mixed_share", "other_share"}
    met = b[(b.metric == "rate_per_1000") & (b.borough == "Metropolitan Police")].iloc[0]
    # all 123,583 Met searches of 2022/23 over its 8,791,152 residents (Census 2021, built file)
    assert (met["count"], met["n"]) == (123_583, 8_791_152)
    assert met["value"] == pytest.approx(1000 * 123_583 / 8_791_152)
    assert len(b[b.metric == "rate_per_1000"]) == 43


TINY = """area,group,count,no_risk
Cumbria,White,90,30
Cumbria,Black,30,0
Cumbria,White: Irish,0,0
Lancashire,Black,3,3
Lancashire,White,100,20
"""


def test_a_small_table_worked_by_hand(tmp_path):
    path = tmp_path / "foi.csv"
    path.write_text(TINY, encoding="utf-8")
    res = audit_counts(path, profile=PROFILE)
    assert res.quarter == "pooled" and res.parameters["pooled"]
    assert any("pooled" in n for n in res.notes)
    assert res.n == 223
    nr = res.no_risk
    all_ = nr[nr.by == "all"].iloc[0]
    assert (all_["count"], all_["n"]) == (53, 223)
    cumbria = nr[(nr.by == "borough") & (nr.group == "Cumbria")].iloc[0]
    # 30 of 120 had no risk: 25%, Wilson 95% interval 18.11%–33.44% (worked by the Wilson formula)
    assert (cumbria["count"], cumbria["n"], cumbria["share"]) == (30, 120, 0.25)
    assert cumbria["ci_low"] == pytest.approx(0.181098, abs=1e-6)
    assert cumbria["ci_high"] == pytest.approx(0.334411, abs=1e-6)
    # two forces only: Cumbria 1,194 and Lancashire 10,096 Black residents (Census 2021 built file)
    rel = res.relative_rate
    assert _rate(rel, "Black") == pytest.approx(1000 * 33 / (1_194 + 10_096))
    b = res.boroughs
    nrb = b[(b.metric == "no_risk_share") & (b.borough == "Lancashire")].iloc[0]
    assert (nrb["count"], nrb["n"]) == (23, 103)
    pub = res.for_publication()
    lanc = pub.no_risk[(pub.no_risk.by == "borough") & (pub.no_risk.group == "Lancashire")]
    assert lanc["count"].iloc[0] == 23  # not small
    black = pub.representation[(pub.representation.group == "Black")]
    assert set(black["count"]) == {33}
    sentences = " ".join(pub.sentences["sentence"])
    assert "Londoners" not in sentences


def test_publication_suppresses_small_counts_and_says_so(tmp_path):
    path = tmp_path / "foi.csv"
    path.write_text("area,group,count\nCumbria,White,90\nCumbria,Black,3\nCumbria,Asian,40\n", encoding="utf-8")
    pub = audit_counts(path, profile=PROFILE).for_publication()
    black = pub.relative_rate[(pub.relative_rate.group == "Black") & (pub.relative_rate.benchmark == "residents_2021")]
    assert black["count"].iloc[0] == MARKER and black["rri"].iloc[0] == MARKER
    s = pub.sentences[(pub.sentences.group == "Black") & (pub.sentences.benchmark == "residents_2021")]
    assert s["sentence"].iloc[0].startswith("The rate for Black people in England and Wales relative to White "
                                            "people in England and Wales is suppressed")
    assert pub.mode == "publication" and "suppressed" in pub.summary()


def test_raw_values_that_map_to_one_group_are_summed():
    t = pd.DataFrame({"police_force": ["Cumbria"] * 3, "ethnicity": ["White: Irish", "White: Roma", "Black"],
                      "total_searches": [5, 7, 4]})
    res = audit_counts(t, profile=PROFILE)
    rep = res.representation
    assert rep[(rep.group == "White") & (rep.benchmark == "residents_2021")]["count"].iloc[0] == 12


# ------------------------------------------------------------ bad tables


@pytest.mark.parametrize("text, message", [
    ("area,group,count\nAvon and Somerst,White,4\n",
     r"foi.csv: line 2: column area: 'Avon and Somerst' is not a police force area of profile "
     r"'england-wales-forces' \(closest: 'Avon and Somerset'\)"),
    ("area,group,count\nCumbria,Hispanic,4\n",
     r"line 2: column group: 'Hispanic' is not a group of profile 'england-wales-forces'; valid: White, Black"),
    ("area,group,count\nCumbria,White,4.5\n", r"line 2: column count: '4.5' is not valid; valid: a whole number ≥ 0"),
    ("area,group,count\nCumbria,White,-1\n", r"line 2: column count: '-1' is not valid"),
    ("area,group,count,no_risk\nCumbria,White,4,5\n",
     r"line 2: column no_risk: '5' is more than the count \(4\); valid: a whole number from 0 to the count"),
    ("area,group,count\nCumbria,White,4\ncumbria,white,5\n",
     r"line 3: police force area 'Cumbria', group 'white' already given on line 2"),
    ("place,group,count\nCumbria,White,4\n",
     r"foi.csv: column\(s\) 'area' not found. A count table of profile 'england-wales-forces' needs the columns "
     r"area, group, count .* columns found: 'place', 'group', 'count'"),
    ("area,group,count\n", r"foi.csv: the count table has no rows"),
])
def test_a_bad_count_table_names_file_line_column_and_what_is_valid(tmp_path, text, message):
    path = tmp_path / "foi.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CountTableError, match=message):
        audit_counts(path, profile=PROFILE, columns={"area": "area", "group": "group", "count": "count"})


def test_every_problem_is_listed_at_once(tmp_path):
    path = tmp_path / "foi.csv"
    path.write_text("area,group,count\nNowhere,White,1\nCumbria,Purple,x\n", encoding="utf-8")
    with pytest.raises(CountTableError, match=r"3 problem\(s\)") as err:
        audit_counts(path, profile=PROFILE, columns={"area": "area", "group": "group", "count": "count"})
    assert "line 2: column area" in str(err.value) and "line 3: column group" in str(err.value)
    assert "line 3: column count" in str(err.value)


def test_an_unknown_period_lists_the_periods():
    with pytest.raises(CountTableError, match=r"period '2019/20' is not in the table; periods found: 2020/21, "):
        audit_counts(STOP_SEARCH, profile=PROFILE, period="2019/20")


def test_cli_audits_a_count_table(tmp_path):
    from fairness.cli import main

    out = tmp_path / "audit.json"
    buf = io.StringIO()
    with redirect_stdout(buf):
        code = main(["audit", "--counts", str(STOP_SEARCH), "--profile", PROFILE, "--period", "2022/23",
                     "--json", str(out)])
    assert code == 0
    assert "There were 23.7 searches per 1,000 Black people in England and Wales" in buf.getvalue()
    d = json.loads(out.read_text(encoding="utf-8"))
    assert d["mode"] == "publication" and d["n"] == 411_353 and d["source"] == STOP_SEARCH.name


# ------------------------------------------------------------ the worked example notebook

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "stop_and_search_example.ipynb"


def test_example_notebook_is_thin_and_papermill_ready():
    import ast
    import re

    import nbformat
    import papermill as pm

    nb = nbformat.read(NOTEBOOK, as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1
    for node in ast.parse(tagged[0].source).body:  # literals only, typed and commented
        assert isinstance(node, ast.AnnAssign)
        ast.literal_eval(node.value)
    for line in tagged[0].source.splitlines()[1:]:
        assert re.match(r"^\w+: (str|int|float|bool|list) = .+  # \S", line), line
    assert set(pm.inspect_notebook(str(NOTEBOOK))) == {"table", "profile_name", "period", "alpha",
                                                      "disclosure_threshold"}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        assert cell.outputs == [] and cell.execution_count is None
        kinds = {type(n) for n in ast.walk(ast.parse(cell.source))}
        assert not kinds & {ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.If, ast.For}
        assert not re.search(r"^\s*(import|from) (numpy|scipy|statsmodels)", cell.source, re.M)


@pytest.mark.notebooks
@pytest.mark.slow  # a notebook run under papermill
def test_example_notebook_executes_and_shows_the_published_figures(tmp_path):
    import nbformat
    import papermill as pm

    from fairness.report.runner import KERNEL_NAME

    out = tmp_path / "example.ipynb"
    pm.execute_notebook(str(NOTEBOOK), str(out), parameters={"table": str(STOP_SEARCH)}, kernel_name=KERNEL_NAME,
                        language="python", cwd=str(NOTEBOOK.parent), progress_bar=False,
                        extra_arguments=["--IPKernelApp.log_level=CRITICAL"])
    nb = nbformat.read(out, as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert [o for o in outputs if o.output_type == "error"] == []
    text = "\n".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", "")) for o in outputs)
    assert "There were 23.7 searches per 1,000 Black people in England and Wales against 5.8 per 1,000" in text
    assert "32.79" in text  # the Metropolitan Police row: 38,961 ÷ 1,188,137 × 1,000 = 32.79
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 2  # the forest plot and the funnel of forces


# ------------------------------------------------------------ sentences (fairness.results.sentences rules)

# Cumbria only, worked by hand over its Census 2021 residents (census2021_ethnic_group5_by_pfa_built.csv:
# Asian 4,911, Mixed 4,002, White 488,025): White 500 searches = 1.02 per 1,000; Asian 50 = 10.2 per 1,000,
# rate ratio 9.94, Katz interval exp(±1.96·√(1/50 − 1/4,911 + 1/500 − 1/488,025)) = 7.44–13.27 (above 1);
# Mixed 5 = 1.25 per 1,000, rate ratio 1.22, an interval far from excluding 1 with 5 searches (0.39–2.86).
DIRECTIONS = "area,group,count\nCumbria,White,500\nCumbria,Asian,50\nCumbria,Mixed,5\n"


def _sentence(res, group: str, benchmark: str = "residents_2021") -> str:
    s = res.sentences[(res.sentences.group == group) & (res.sentences.benchmark == benchmark)]
    assert len(s) == 1
    return str(s["sentence"].iloc[0])


def test_count_table_sentences_give_a_direction_only_when_the_interval_excludes_parity(tmp_path):
    path = tmp_path / "foi.csv"
    path.write_text(DIRECTIONS, encoding="utf-8")
    res = audit_counts(path, profile=PROFILE)
    rel = res.relative_rate[res.relative_rate.benchmark == "residents_2021"].set_index("group")
    assert rel.loc["Asian", "rri"] == pytest.approx((50 / 4_911) / (500 / 488_025), rel=1e-12)  # 9.937
    assert rel.loc["Mixed", "rri"] == pytest.approx((5 / 4_002) / (500 / 488_025), rel=1e-12)  # 1.219
    assert rel.loc["Asian", "ci_low"] > 1 and rel.loc["Mixed", "ci_low"] < 1 < rel.loc["Mixed", "ci_high"]
    asian, mixed = _sentence(res, "Asian"), _sentence(res, "Mixed")
    # interval above 1: a direction, with the two rates, the count, the interval and the benchmark
    assert asian.startswith("There were 10.2 searches per 1,000 Asian people in England and Wales against "
                            "1.0 per 1,000 White people in England and Wales: 9.9 times the rate "
                            "(Asian: 50 searches; rate ratio 9.9, 95% CI ")
    # interval includes 1: no direction, never "1.22 times the rate"
    assert mixed.startswith("There were 1.2 searches per 1,000 Mixed people in England and Wales against "
                            "1.0 per 1,000 White people in England and Wales: no clear difference between the "
                            "rates (the interval includes parity; Mixed: 5 searches; rate ratio 1.22, 95% CI ")
    assert "times" not in mixed
    for s in (asian, mixed):
        assert "benchmark: " in s and "London" not in s and "less likely" not in s


def test_stop_and_search_sentence_keeps_the_published_rates(ss_2022):
    # 23.7 and 5.8 per 1,000 (Ethnicity Facts and Figures, year ending March 2023, excluding BTP); the rate
    # ratio (57,121 / 2,409,283) / (282,957 / 48,699,231) = 4.08, its interval far above 1
    black = _sentence(ss_2022, "Black")
    assert black.startswith("There were 23.7 searches per 1,000 Black people in England and Wales against 5.8 "
                            "per 1,000 White people in England and Wales: 4.1 times the rate (Black: 57,121 "
                            "searches; rate ratio 4.1, 95% CI ")
    assert "benchmark: " in black
    ss = pd.read_csv(STOP_SEARCH)
    met = audit_counts(ss[(ss.police_force == "Metropolitan Police") & (ss.financial_year == "2022/23")],
                       profile=PROFILE)
    # the Met: 32.8 per 1,000 Black people (38,961 ÷ 1,188,137, SOURCES.md)
    assert _sentence(met, "Black").startswith("There were 32.8 searches per 1,000 Black people")
    assert "38,961 searches" in _sentence(met, "Black")


def test_count_tables_have_no_sentence_generator_of_their_own():
    import fairness.results.counts_table as ct

    assert not hasattr(ct, "count_sentences")
