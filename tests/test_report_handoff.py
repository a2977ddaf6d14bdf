"""The audit a report run hands to its notebooks (fairness.report.handoff): the file read once (issue 10).

The runner tests replace the notebook run by a function that does in this
process what the notebooks' loading cell does (``handoff.read_audit`` with the
notebook's parameters), so they take no kernel.
"""

from __future__ import annotations

import json
import os
import pickle
import stat
from pathlib import Path

import nbformat
import pandas as pd
import pytest

import fairness
from fairness.report import execute, handoff
from fairness.report import runner as report
from fairness.results.result import TABLES
from tests.conftest import good_row

#: The report notebook's defaults (its parameters cell), as the runner reads them.
DEFAULTS = {"benchmarks": ["residents_2021", "residents_2011"], "reference": "White", "alpha": 0.05, "profile": ""}


@pytest.fixture(scope="module")
def matrix(tmp_path_factory) -> Path:
    """Two quarters, five people each (P0–P4)."""
    rows = [good_row(f"P{i}", snapshot_date=d, last_reviewed=r)
            for d, r in (("2018-09-30", "2018-08-30"), ("2018-12-31", "2018-11-30")) for i in range(5)]
    path = tmp_path_factory.mktemp("handoff") / "matrix.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def result(matrix: Path):
    """The audit the report notebook makes of ``matrix`` at 2018Q4 with ``-p alpha 0.1``."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FAIRNESS_AUDIT_LOG", str(matrix.parent / "audit.log"))
        return fairness.audit(matrix, quarter="2018Q4", alpha=0.1)


def _options(**over):
    return {"quarter": "2018Q4", **DEFAULTS, **over}


def test_notebooks_take_an_audit_file_and_the_runner_reads_their_defaults():
    template = execute.notebook_path("report")
    assert report._notebook_defaults(template) == DEFAULTS
    assert report._notebook_defaults(execute.notebook_path("briefing")) == DEFAULTS


def test_a_notebook_without_audit_file_audits_the_file_itself(tmp_path: Path):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    cell = nbformat.v4.new_code_cell('matrix: str = ""  # matrix file\nalpha: float = 0.05  # level')
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell]
    nbformat.write(nb, tmp_path / "custom.ipynb")
    assert report._notebook_defaults(tmp_path / "custom.ipynb") is None


def test_round_trip_is_exact_private_and_removed_with_the_run(result):
    with handoff.Handoff() as h:
        path = h.write(result, handoff.audit_options(**_options()), "audit-2018Q4-1")
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(h.folder.stat().st_mode) == 0o700
        got = handoff.read_audit(path, **_options())
    assert not h.folder.exists() and handoff.KEY_ENV not in os.environ
    assert got.to_json() == result.to_json()
    for name in TABLES:  # every float to the last bit, every dtype (categories too)
        pd.testing.assert_frame_equal(getattr(got, name), getattr(result, name), check_exact=True)
    assert (got.quarter, got.quarters, got.n, got.sha256, got.notes) == (
        result.quarter, result.quarters, result.n, result.sha256, result.notes)


def test_refuses_a_file_outside_a_run_or_from_another_run(result, tmp_path: Path):
    with handoff.Handoff() as h:
        path = h.write(result, handoff.audit_options(**_options()), "a")
        with handoff.Handoff() as other:  # another run (its key while it runs, then this run's again)
            stranger = h.folder / "stranger.pickle"
            other.write(result, handoff.audit_options(**_options()), "b").rename(stranger)
        assert os.environ[handoff.KEY_ENV] == h.key.hex()
        with pytest.raises(ValueError, match="not written by this run"):
            handoff.read_audit(stranger, **_options())
        data = bytearray(path.read_bytes())
        data[-5] ^= 0xFF  # one byte of the pickle changed
        tampered = h.folder / "tampered.pickle"
        tampered.write_bytes(bytes(data))
        tampered.chmod(0o600)
        with pytest.raises(ValueError, match="HMAC does not match"):
            handoff.read_audit(tampered, **_options())
        path.chmod(0o644)  # others could read it
        with pytest.raises(ValueError, match="not a private regular file"):
            handoff.read_audit(path, **_options())
    with pytest.raises(ValueError, match=f"no key in {handoff.KEY_ENV}.*leave audit_file empty and set matrix"):
        handoff.read_audit(tmp_path / "any.pickle", **_options())


def test_an_unchecked_pickle_is_never_loaded(tmp_path: Path):
    """Loading a pickle can run code: a file without this run's HMAC is refused before it is unpickled."""
    planted = tmp_path / "planted"

    class Evil:
        def __reduce__(self):
            return (os.mkdir, (str(planted),))

    with handoff.Handoff() as h:
        bad = h.folder / "evil.pickle"
        fd = os.open(bad, os.O_WRONLY | os.O_CREAT, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(b"fairness-audit-handoff-1\n" + b"\0" * 32 + pickle.dumps(Evil()))
        with pytest.raises(ValueError, match="not written by this run"):
            handoff.read_audit(bad, **_options())
        # the same bytes signed with the run's key are loaded, and then refused for what they hold
        signed = h.write({"not": "an audit"}, handoff.audit_options(**_options()), "dict")
        with pytest.raises(ValueError, match="holds a dict, not an AuditResult"):
            handoff.read_audit(signed, **_options())
    assert not planted.exists()


def test_refuses_an_audit_made_with_other_options(result):
    with handoff.Handoff() as h:
        path = h.write(result, handoff.audit_options(**_options()), "a")
        with pytest.raises(ValueError, match=r"alpha 0\.05 \(the notebook: 0\.1\)"):
            handoff.read_audit(path, **_options(alpha=0.1))
        with pytest.raises(ValueError, match=r"quarter '2018Q4' \(the notebook: '2018Q3'\)"):
            handoff.read_audit(path, **_options(quarter="2018Q3"))
        # "" and None are the same profile (the notebooks pass `profile or None`), a tuple the same list
        assert handoff.read_audit(path, **_options(profile=None, benchmarks=("residents_2021", "residents_2011")))


def _kernel_like(seen: list[dict]):
    """What the notebooks' loading cell does, in this process: the run's audit, else the file's."""

    def run(template, output, parameters, *, cwd, timeout):
        options = {k: parameters.get(k, DEFAULTS[k]) for k in DEFAULTS}
        res = handoff.read_audit(parameters["audit_file"], quarter=parameters["quarter"], **options)
        seen.append({"template": Path(template).name, "audit_file": parameters["audit_file"],
                     "folder_mode": stat.S_IMODE(Path(parameters["audit_file"]).parent.stat().st_mode),
                     "json": res.to_json()})
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell("print('hello')")]
        nbformat.write(nb, output)
        if parameters.get("metrics_path"):
            res.up_to_quarter().to_json(Path(cwd) / parameters["metrics_path"])

    return run


def test_report_reads_the_file_once_and_hands_each_quarter_its_audit(matrix: Path, result, tmp_path: Path,
                                                                     monkeypatch):
    log = tmp_path / "audit.log"
    monkeypatch.setenv("FAIRNESS_AUDIT_LOG", str(log))
    seen: list[dict] = []
    monkeypatch.setattr(execute, "run_notebook", _kernel_like(seen))
    out = tmp_path / "reports"
    (outcome,) = report.run_reports(matrix, ["2018Q4"], out_dir=out, mode="internal", briefing=True, pdf=False,
                                    parameters={"alpha": 0.1}, echo=lambda s: None)
    assert outcome.ok, outcome.error
    reads = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["command"] for r in reads] == ["report"]  # one read for the whole run, logged once
    assert [s["template"] for s in seen] == ["quarterly_oversight_report.ipynb", "scrutiny_briefing.ipynb"]
    # audited once per quarter: the report and the briefing share one file
    assert seen[0]["audit_file"] == seen[1]["audit_file"]
    assert seen[0]["folder_mode"] == 0o700
    assert str(out) not in seen[0]["audit_file"]  # never inside the report folder
    assert not Path(seen[0]["audit_file"]).parent.exists()  # removed with the run
    assert handoff.KEY_ENV not in os.environ
    # the audit the notebook would have made itself, with the run's options (alpha 0.1)
    assert seen[0]["json"] == seen[1]["json"] == result.to_json()
    assert (out / "2018Q4" / "metrics.json").read_text() == result.up_to_quarter().to_json() + "\n"
    assert json.loads(seen[0]["json"])["parameters"]["alpha"] == 0.1


@pytest.mark.slow  # a synthetic matrix of another place, validated and audited twice (about 10 s)
@pytest.mark.parametrize("given", ["inspected", "path"])
def test_under_a_profile_the_handed_audit_is_the_notebooks_own(tmp_path: Path, monkeypatch, given: str):
    """`fairness report --profile england-wales-forces`: the file validated with the profile once, and
    the audit the notebook would make under it (its profile object travels with the result). From
    Python with a path, the runner validates the file under the profile of ``parameters`` (it used the
    default profile, and the hand-over's audit then refused the result)."""
    from fairness import synth

    ew = "england-wales-forces"
    path = tmp_path / "ew.csv"
    synth.write(synth.generate("small", seed=1, profile=ew), path)
    info = report.inspect_matrix(path, profile=ew) if given == "inspected" else path
    seen: list[dict] = []
    monkeypatch.setattr(execute, "run_notebook", _kernel_like(seen))
    (outcome,) = report.run_reports(info, ["latest"], out_dir=tmp_path / "r", mode="internal", pdf=False,
                                    parameters={"profile": ew}, echo=lambda s: None)
    assert outcome.ok, outcome.error
    own = fairness.audit(path, quarter=outcome.quarter, profile=ew)
    assert type(own).__name__ == "CountTableAudit" and seen[0]["json"] == own.to_json()


def test_an_audit_that_fails_in_the_runner_fails_the_quarter_and_leaves_no_handoff(matrix: Path, tmp_path: Path,
                                                                                  monkeypatch):
    import fairness.results.audit as audit_module

    folders: list[Path] = []
    real = handoff.Handoff.__init__

    def recording(self):
        real(self)
        folders.append(self.folder)

    def boom(*args, **kwargs):
        raise ValueError("the audit failed here")

    monkeypatch.setattr(handoff.Handoff, "__init__", recording)
    monkeypatch.setattr(audit_module, "audit", boom)
    monkeypatch.setattr(execute, "run_notebook", lambda *a, **k: pytest.fail("no notebook runs without its audit"))
    (outcome,) = report.run_reports(matrix, ["2018Q4"], out_dir=tmp_path / "r", pdf=False, echo=lambda s: None)
    assert not outcome.ok and outcome.error == "ValueError: the audit failed here"
    assert (outcome.failed_at / "error.txt").is_file() and not (tmp_path / "r" / "2018Q4").exists()
    assert len(folders) == 1 and not folders[0].exists() and handoff.KEY_ENV not in os.environ
