"""``fairness report --profile``: the profile reaches the runner and the notebooks (fast checks, no rendering).

The full render of an england-wales-forces report is too slow for the suite
(about 90 s); tests/test_profile_words.py renders every word it would show.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fairness import synth
from fairness.cli import _profile_parameter
from fairness.report import runner

EW = "england-wales-forces"
NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


@pytest.fixture(scope="module")
def ew_csv(tmp_path_factory):
    out = tmp_path_factory.mktemp("ew") / "ew.csv"
    synth.write(synth.generate("small", seed=1, profile=EW), out)
    return out


def test_profile_parameter_as_the_notebooks_get_it(tmp_path):
    assert _profile_parameter(None) == "" and _profile_parameter("london-gvm") == ""
    assert _profile_parameter(EW) == EW
    mine = tmp_path / "mine.toml"
    assert _profile_parameter(str(mine)) == str(mine.resolve())  # the notebook runs in another folder


def test_inspect_matrix_validates_with_the_profile(ew_csv):
    # without the profile the file cannot be read as a London matrix: england-wales-forces declares no bands,
    # so the synthetic matrix has no risk_band column, which the default format requires
    from fairness.errors import MatrixFileError

    with pytest.raises(MatrixFileError, match="risk_band"):
        runner.inspect_matrix(ew_csv, log_as=None)
    info = runner.inspect_matrix(ew_csv, log_as=None, profile=EW)
    assert info.validation.n_quarantined == 0 and len(info.quarters) == 8


def test_report_title_names_the_profile_list():
    assert runner._list_title("") == "Gang database" and runner._list_title("london-gvm") == "Gang database"
    assert runner._list_title(EW) == "Stop and search"


@pytest.mark.parametrize("nb", ["quarterly_oversight_report.ipynb", "scrutiny_briefing.ipynb"])
def test_notebooks_take_a_profile_parameter_and_pass_it_to_the_audit(nb):
    cells = json.loads((NOTEBOOKS / nb).read_text(encoding="utf-8"))["cells"]
    params = "".join(cells[0]["source"])
    assert 'profile: str = ""' in params and "parameters" in cells[0]["metadata"]["tags"]
    load = "".join(cells[1]["source"])
    # the profile reaches the audit whether the notebook audits the matrix or takes the run's audit
    assert '"profile": profile or None' in load
    assert "fairness.audit(matrix or synth.DEFAULT_MATRIX, **options)" in load
    assert "handoff.read_audit(audit_file, **options)" in load


def test_a_section_the_audit_left_empty_says_why_in_one_sentence():
    from types import SimpleNamespace

    import pandas as pd

    from fairness.report import format as fr

    res = SimpleNamespace(
        parameters={"profile": EW}, band_reason="not assessable: england-wales-forces declares no bands",
        notes=("band consistency by area: not assessable: england-wales-forces declares no bands",),
        band_consistency=pd.DataFrame(), band_summary=pd.DataFrame(), trends=pd.DataFrame(),
        checks=pd.DataFrame({"status": ["not assessable"]}))
    assert not any(fr.assessable(res, s) for s in ("band_consistency", "bands", "trends", "checks"))
    assert str(fr.not_assessable(res, "band_consistency")) == (
        "Not shown: whether each police force area's bands follow the England and Wales-wide thresholds cannot be "
        "assessed for this audit (england-wales-forces declares no bands).")
    assert str(fr.not_assessable(res, "bands")).endswith("(england-wales-forces declares no bands).")
    res.band_status = "not assessable"
    assert str(fr.band_status_note(res)) == "Band performance not assessable: england-wales-forces declares no bands."
    # no reason in the audit: the sentence says the section runs with london-gvm only for now
    assert str(fr.not_assessable(res, "trends")) == (
        "Not shown: trends over the quarters cannot be assessed yet for an audit with profile "
        "'england-wales-forces'; it runs with the london-gvm profile only for now.")
    # London shows every section as before, whatever is in it
    assert fr.assessable(SimpleNamespace(parameters={}, trends=pd.DataFrame()), "trends")


def test_trend_appendix_takes_the_words_of_the_latest_quarters_profile(tmp_path):
    import pandas as pd

    from fairness.report import appendix

    (tmp_path / "2018Q4").mkdir()
    (tmp_path / "2018Q4" / "metrics.json").write_text(json.dumps({"parameters": {"profile": EW}}), encoding="utf-8")
    table = pd.DataFrame({"quarter": ["2018Q4"]})
    w = appendix._place(tmp_path, table).words()
    assert (w["Areas"], w["place"], w["Unit"]) == ("Police force areas", "England and Wales", "Searches")
    # a London report (no profile in its parameters) keeps London's words
    (tmp_path / "2018Q4" / "metrics.json").write_text(json.dumps({"parameters": {}}), encoding="utf-8")
    assert appendix._place(tmp_path, table).words()["Areas"] == "Boroughs"


def test_the_list_title_is_one_definition_for_the_report_the_runner_and_the_appendix(tmp_path):
    """Issue 10's loose end: the title was worked out three ways (runner, appendix, title_block)."""
    from types import SimpleNamespace

    from fairness.report import appendix
    from fairness.report import format as fr
    from fairness.results.sentences import place
    from tests.test_profiles import _write

    custom = _write(tmp_path)  # a list of "people listed" that is not the default profile
    for profile, title in ((None, "Gang database"), ("london-gvm", "Gang database"), (EW, "Stop and search"),
                           (str(custom), "Test list")):
        where = place(SimpleNamespace(profile=profile)) if profile else place()
        assert fr.list_title(where) == runner._list_title(profile) == title
        res = SimpleNamespace(profile=profile, quarter="2018Q4", n=12, parameters={}, source="m.csv") if profile else \
            SimpleNamespace(quarter="2018Q4", n=12, parameters={}, source="m.csv")
        assert f'<h1 id="top">{title} oversight report: 2018Q4</h1>' in fr.title_block(res).html
        out = tmp_path / (profile or "default").replace("/", "_")
        (out / "2018Q4").mkdir(parents=True)
        params = {"profile": profile} if profile else {}
        (out / "2018Q4" / "metrics.json").write_text(json.dumps({"quarter": "2018Q4", "parameters": params}),
                                                     encoding="utf-8")
        page = appendix.write_trend_appendix(out).read_text(encoding="utf-8")
        assert f"<title>{title} oversight: trend appendix</title>" in page


def test_is_this_the_default_profile_is_asked_of_the_place(tmp_path):
    """One definition (Place.is_default, Place.counted), not `unit == "people listed"` in six places:
    a list of people listed that is not London's gets the general words everywhere, as in sentences."""
    from types import SimpleNamespace

    from fairness import plots
    from fairness.report import format as fr
    from fairness.results.sentences import place
    from tests.test_profiles import _write

    where = place(SimpleNamespace(profile=str(_write(tmp_path))))
    assert (where.unit, where.is_default, where.counted) == ("people listed", False, "people")
    assert plots._listed(where) == "people listed" and plots._listed(place()) == "listed"
    assert plots._words("black_share", place(SimpleNamespace(profile=EW))) == "share of searches who are Black"
    res = SimpleNamespace(profile=str(_write(tmp_path)), quarter="2018Q4", n=1234, parameters={}, source="m.csv")
    assert "Quarter 2018Q4: 1,234 people on the list." in fr.title_block(res).text
    ew = SimpleNamespace(profile=EW, quarter="2018Q4", n=1234, parameters={}, source="m.csv")
    assert "Quarter 2018Q4: 1,234 searches on the list." in fr.title_block(ew).text
    for source in ("report/appendix.py", "report/format.py", "plots.py"):
        text = (Path(fr.__file__).parents[1] / source).read_text(encoding="utf-8")
        assert "== 'people listed'" not in text and '== "people listed"' not in text, source
