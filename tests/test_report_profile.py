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
    w = appendix._words(tmp_path, table)
    assert (w["Areas"], w["place"], w["Unit"]) == ("Police force areas", "England and Wales", "Searches")
    # a London report (no profile in its parameters) keeps London's words
    (tmp_path / "2018Q4" / "metrics.json").write_text(json.dumps({"parameters": {}}), encoding="utf-8")
    assert appendix._words(tmp_path, table)["Areas"] == "Boroughs"
