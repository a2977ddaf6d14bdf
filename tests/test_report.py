"""The report runner (fairness.report.runner): atomic output, failures kept, locks, kills.

These tests use tiny notebooks written here (no audit), so they test the
runner alone; tests/test_notebooks.py runs the real notebooks.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest

from fairness import cli
from fairness.report import execute, leakscan, swap
from fairness.report import format as fr
from fairness.report import runner as report
from tests.conftest import good_row

PARAMETERS = textwrap.dedent(
    """\
    matrix: str = ""  # matrix file
    quarter: str = ""  # quarter to report
    mode: str = "publication"  # publication or internal
    metrics_path: str = ""  # where to write metrics.json
    run_time: str = ""  # time of the run
    fail_on: str = ""  # raise for this quarter, or * for every quarter
    sleep: float = 0.0  # seconds to sleep before writing anything
    token: str = "t"  # marks which run wrote a file
    leak: bool = False  # print a person_id (to test the publication scan)
    """
)
BODY = textwrap.dedent(
    """\
    import json, sys, time
    import pandas as pd  # not fairness: these notebooks test the runner, and a kernel importing less starts faster
    v = pd.read_csv(matrix, dtype=str)
    n = int((pd.to_datetime(v["snapshot_date"]).dt.to_period("Q").astype(str) == quarter).sum())
    if sleep:
        open("started", "w").close()  # cwd is the run's temporary folder
    time.sleep(sleep)
    if fail_on in (quarter, "*"):
        raise RuntimeError(f"deliberate failure for {quarter}")
    """
)
WRITE = textwrap.dedent(
    """\
    if metrics_path:
        with open(metrics_path, "w") as fh:
            fh.write(json.dumps({"quarter": quarter, "n": n, "mode": mode, "token": token,
                                 "python": sys.executable, "prefix": sys.prefix}, sort_keys=True))
    print(f"Report for {quarter}: {n:,} people; token {token}.")
    if leak:
        print("first person:", v["person_id"].iloc[0])
    """
)


def _notebook(path: Path, **defaults: object) -> Path:
    params = PARAMETERS
    for name, value in defaults.items():
        params = "\n".join(
            f"{name}: {type(value).__name__} = {value!r}  # set by the test" if line.startswith(f"{name}:") else line
            for line in params.splitlines()
        )
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    cell = nbformat.v4.new_code_cell(params)
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Test report"),
        cell,
        nbformat.v4.new_code_cell(BODY),
        nbformat.v4.new_code_cell(WRITE),
    ]
    nbformat.write(nb, path)
    return path


@pytest.fixture(autouse=True)
def _audit_log(tmp_path: Path, monkeypatch):
    """The commands' s.62 audit log goes to the test's folder, not the user's."""
    monkeypatch.setenv("FAIRNESS_AUDIT_LOG", str(tmp_path / "audit.log"))
    monkeypatch.setenv("FAIRNESS_FAILED_DIR", str(tmp_path / "state" / "failed"))


@pytest.fixture(autouse=True)
def _no_handed_audit(monkeypatch):
    """The runner alone: no audit is made to hand to the notebooks (the fake runs below would not
    read it); tests/test_report_handoff.py tests the audit the runner hands over."""
    monkeypatch.setattr(report, "_notebook_defaults", lambda template: None)


@pytest.fixture
def matrix(tmp_path: Path) -> Path:
    """Two quarters, five people each (P0–P4)."""
    rows = [
        good_row(f"P{i}", snapshot_date=d, last_reviewed=r)
        for d, r in (("2018-09-30", "2018-08-30"), ("2018-12-31", "2018-11-30"))
        for i in range(5)
    ]
    path = tmp_path / "matrix.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


@pytest.fixture
def nb(tmp_path: Path) -> Path:
    return _notebook(tmp_path / "ok.ipynb")


def _metrics(out: Path, quarter: str) -> dict:
    return json.loads((out / quarter / "metrics.json").read_text())


def _visible(out: Path) -> set[str]:
    return {p.name for p in out.iterdir() if not p.name.startswith(".")}


def _hidden_dirs(out: Path) -> list[str]:
    return [p.name for p in out.iterdir() if p.name.startswith(".") and p.is_dir()]


# --------------------------------------------------------------------------- helpers


def test_resolve_quarters_latest_duplicates_and_unknown():
    avail = ("2018Q3", "2018Q4", "2019Q1")
    assert report.resolve_quarters(["2018-q4", "latest", "2019Q1"], avail) == ["2018Q4", "2019Q1"]
    assert report.resolve_quarters([], avail, all_quarters=True) == list(avail)
    with pytest.raises(ValueError, match="2017Q1 is not in"):
        report.resolve_quarters(["2017Q1"], avail)
    with pytest.raises(ValueError, match="no quarter"):
        report.resolve_quarters(["latest"], ())


def test_formatting_for_people():
    assert fr.fmt_share(0.38237, 0.3671, 0.3984) == "38.2% (36.7–39.8)"
    assert fr.fmt_int(1234567) == "1,234,567"
    assert fr.fmt_ratio(3.4123, 3.2, 3.634) == "3.41 (3.20–3.63)"
    assert fr.fmt_share(float("nan"), 0.1, 0.2) == fr.DASH
    assert fr.fmt_p(0.0004) == "< 0.001" and fr.fmt_p(1.5e-05) == "< 0.001"  # never 1.5e-05
    t = fr.display_table(
        pd.DataFrame({"group": ["Black"], "count": [12345], "share": [0.8], "ci_low": [0.79], "ci_high": [0.81]}),
        "publication",
    )
    html = t.to_html()
    assert "12,345" in html and "80.0% (79.0–81.0)" in html
    with pytest.raises(fr.RowLevelColumnError, match="person_id"):
        fr.display_table(pd.DataFrame({"person_id": ["P1"], "count": [1]}), "publication")
    assert "P1" in fr.display_table(pd.DataFrame({"person_id": ["P1"]}), "internal").to_html()


def test_person_id_scan_finds_ids_but_not_in_images():
    ids = frozenset({"GVM-00017", "P3"})
    assert report.find_person_ids({"a": "<td>GVM-00017</td>"}, ids) == {"a": 1}
    assert report.find_person_ids({"a": "person P3 here"}, ids) == {"a": 1}
    assert report.find_person_ids({"a": "P30 and XP3 are not (P3)"}, ids) == {"a": 1}
    assert report.find_person_ids({"a": "P30 and XP3"}, ids) == {}
    assert report.find_person_ids({"a": '<img src="data:image/png;base64,AAP3/P3+GVM-00017==">'}, ids) == {}
    # the runner's own check, used when fairness.publish.privacy is absent
    assert leakscan._fallback_scan("<td>GVM-00017</td> (P3) P30 XP3", ids) == {"GVM-00017", "P3"}
    assert leakscan._fallback_scan("P30 XP3 2018", ids | {"2018"}) == set()  # short numbers are counts


def test_trend_appendix_from_metrics_files(tmp_path: Path):
    for q, share in (("2018Q3", 0.79), ("2018Q4", 0.8)):
        (tmp_path / q).mkdir()
        metrics = {
            "quarter": q,
            "n": 3000,
            "quarantined": 12,
            "mode": "publication",
            "representation": [
                {"benchmark": "residents_2021", "benchmark_label": "Residents (Census 2021)", "group": "Black",
                 "count": 2400, "n": 3000, "share": share, "benchmark_share": 0.135, "ratio": 5.9,
                 "ci_low": 5.7, "ci_high": 6.1},
            ],
            "relative_rate": [
                {"benchmark": "residents_2021", "group": "Black", "reference": "White", "rri": 14.2,
                 "ci_low": 12.9, "ci_high": 15.6},
            ],
            "no_risk": [{"definition": "harm_zero", "by": "all", "group": "all", "count": 1146, "n": 3000,
                         "share": 0.382, "ci_low": 0.365, "ci_high": 0.4}],
            "boroughs": [{"metric": "rate", "borough": "Hackney", "flag": "above_99.8"}],
        }
        (tmp_path / q / "metrics.json").write_text(json.dumps(metrics))
    (tmp_path / ".2019Q1.tmp-x").mkdir()  # a killed run's folder is not a quarter
    path = report.write_trend_appendix(tmp_path)
    text = path.read_text()
    assert "2018Q3" in text and "2018Q4" in text and "2019Q1" not in text
    assert "38.2% (36.5–40.0)" in text and "5.90 (5.70–6.10)" in text and "14.20 (12.90–15.60)" in text
    assert "<img" in text
    if importlib.util.find_spec("weasyprint"):
        assert report.render_pdf(text, tmp_path / "appendix.pdf").overflow == ()  # fits an A4 page


def test_trend_appendix_per_quarter_with_gaps_banner_and_pdf(tmp_path: Path):
    """Two quarters five years apart: a gap, not a line; SYNTHETIC when the reports are; a PDF; plurals."""
    from fairness import plots

    for q in ("2018Q4", "2023Q4"):
        (tmp_path / q).mkdir()
        (tmp_path / q / "metrics.json").write_text(json.dumps({
            "quarter": q, "n": 3000, "quarantined": 0, "mode": "publication",
            "representation": [{"benchmark": "residents_2021", "benchmark_label": "residents, Census 2021",
                                "group": "Black", "count": 2400, "n": 3000, "share": 0.8, "benchmark_share": 0.135,
                                "ratio": 5.9, "ci_low": 5.7, "ci_high": 6.1}],
            "no_risk": [{"by": "all", "share": 0.38, "ci_low": 0.36, "ci_high": 0.4}]}))
    (tmp_path / "2018Q4" / "report.html").write_text('<p class="synthetic-strip">SYNTHETIC DATA</p>')
    path = report.write_trend_appendix(tmp_path, pdf=importlib.util.find_spec("weasyprint") is not None)
    text = path.read_text()
    assert "2 quarters reported, 2018Q4 to 2023Q4" in text and "quarter(s)" not in text
    assert 'class="synthetic-strip"' in text
    assert list(tmp_path.glob(".*.lock")) == [] and list(tmp_path.glob(".trend_appendix*")) == []  # none left
    if importlib.util.find_spec("weasyprint"):
        assert (tmp_path / "trend_appendix.pdf").read_bytes()[:5] == b"%PDF-"
    # the chart: 21 quarter positions, the 19 between the two reported ones shaded as "no data", no line across
    table = report.collect_metrics(tmp_path)
    ax = plots.headline_trend(table)
    line = ax.get_lines()[0]
    y = np.asarray(line.get_ydata(), dtype=float)
    assert len(y) == 21 and np.isfinite(y).sum() == 2  # NaN between: matplotlib draws no segment across
    assert any("no data (2019 Q1–2023 Q3)" == t.get_text() for t in ax.get_legend().get_texts())
    (tmp_path / "2018Q4" / "metrics.json").unlink()
    one = report.write_trend_appendix(tmp_path).read_text()
    assert "1 quarter reported, 2023Q4" in one


def test_lock_file_is_removed_and_a_waiting_job_still_waits(tmp_path: Path):
    import threading

    lock = tmp_path / ".2018Q4.lock"
    order: list[str] = []
    with swap.locked(lock):
        assert lock.exists()
        waiter = threading.Thread(target=lambda: _hold(lock, order))
        waiter.start()
        order.append("first done")
    waiter.join(5)
    assert order == ["first done", "second"]
    assert not lock.exists()


def _hold(lock: Path, order: list[str]) -> None:
    with swap.locked(lock):
        order.append("second")


def test_a_run_without_the_briefing_keeps_the_one_published(tmp_path: Path):
    target, tmp = tmp_path / "2018Q4", tmp_path / ".2018Q4.tmp"
    target.mkdir()
    tmp.mkdir()
    for name in ("briefing.html", "briefing.pdf", "report.html"):
        (target / name).write_text(f"old {name}")
    (tmp / "report.html").write_text("new report")
    report._keep_briefing(target, tmp)
    assert sorted(p.name for p in tmp.iterdir()) == ["briefing.html", "briefing.pdf", "report.html"]
    assert (tmp / "report.html").read_text() == "new report" and (tmp / "briefing.pdf").read_text() == "old briefing.pdf"


# --------------------------------------------------------------------------- runs


def test_report_writes_html_pdf_metrics_and_appendix(matrix: Path, nb: Path, tmp_path: Path, capsys):
    out = tmp_path / "reports"
    code = cli.main(["report", "--matrix", str(matrix), "--all", "--out", str(out), "--notebook", str(nb)])
    assert code == 0
    assert _visible(out) == {"2018Q3", "2018Q4", "trend_appendix.html", "trend_appendix.pdf"}
    assert _hidden_dirs(out) == []
    assert list(out.glob("*.lock")) == [] and list(out.glob(".*.lock")) == []  # no lock files left
    files = {p.name for p in (out / "2018Q4").iterdir()}
    assert files == {"report.ipynb", "report.html", "report.pdf", "metrics.json"}
    html = (out / "2018Q4" / "report.html").read_text()
    assert "Report for 2018Q4: 5 people" in html
    assert "import json" not in html  # code hidden
    assert (out / "2018Q4" / "report.pdf").read_bytes()[:5] == b"%PDF-"
    m = _metrics(out, "2018Q4")
    assert m["n"] == 5 and m["mode"] == "publication"
    # the kernel is the Python running the runner (the venv's), not some other one
    assert m["prefix"] == sys.prefix and Path(m["python"]).parent == Path(sys.executable).parent
    printed = capsys.readouterr().out
    assert "[1/2] 2018Q3" in printed and "[2/2] 2018Q4" in printed and "elapsed" in printed
    # re-running a quarter on unchanged data gives the same numbers, byte for byte
    first = (out / "2018Q4" / "metrics.json").read_bytes()
    args = ["report", "--matrix", str(matrix), "--quarter", "2018Q4", "--out", str(out), "--notebook", str(nb)]
    assert cli.main([*args, "--no-pdf"]) == 0
    assert (out / "2018Q4" / "metrics.json").read_bytes() == first


def test_failed_notebook_kept_previous_report_intact(matrix: Path, tmp_path: Path, capsys):
    out = tmp_path / "reports"
    good = _notebook(tmp_path / "good.ipynb", token="old")
    bad = _notebook(tmp_path / "bad.ipynb", fail_on="*", token="new")
    assert cli.main(["report", "--matrix", str(matrix), "--out", str(out), "--notebook", str(good), "--no-pdf"]) == 0
    before = {p.name: p.read_bytes() for p in (out / "2018Q4").iterdir()}
    code = cli.main(["report", "--matrix", str(matrix), "--out", str(out), "--notebook", str(bad), "--no-pdf"])
    assert code != 0
    after = {p.name: p.read_bytes() for p in (out / "2018Q4").iterdir() if p.is_file()}
    assert after == before  # previous report untouched
    assert not (out / "2018Q4" / "failed").exists()  # nothing with a traceback in the published folder
    failed = tmp_path / "state" / "failed" / "2018Q4"
    assert {p.name for p in failed.iterdir()} == {"report.ipynb", "report.html", "error.txt"}
    assert stat.S_IMODE(failed.stat().st_mode) == 0o700  # owner-only, and so are its files
    assert {stat.S_IMODE(p.stat().st_mode) for p in failed.iterdir()} == {0o600}
    assert "deliberate failure for 2018Q4" in (failed / "error.txt").read_text()
    assert "deliberate failure for 2018Q4" in (failed / "report.html").read_text()
    assert "RuntimeError" in (failed / "report.html").read_text()
    assert _hidden_dirs(out) == []
    assert "1 failed" in capsys.readouterr().out
    # a later success replaces the report and forgets the failure
    assert cli.main(["report", "--matrix", str(matrix), "--out", str(out), "--notebook", str(good), "--no-pdf"]) == 0
    assert not failed.exists()


def test_failure_without_previous_report_leaves_only_failed(matrix: Path, tmp_path: Path):
    out = tmp_path / "reports"
    bad = _notebook(tmp_path / "bad.ipynb", fail_on="*")
    assert cli.main(["report", "--matrix", str(matrix), "--out", str(out), "--notebook", str(bad), "--no-pdf"]) == 1
    assert _visible(out) == set() and _hidden_dirs(out) == []
    assert (tmp_path / "state" / "failed" / "2018Q4" / "report.ipynb").is_file()
    assert not (out / "trend_appendix.html").exists()


def test_all_continues_past_a_failing_quarter(matrix: Path, tmp_path: Path, capsys):
    out = tmp_path / "reports"
    nb = _notebook(tmp_path / "q3fails.ipynb", fail_on="2018Q3")
    code = cli.main(["report", "--matrix", str(matrix), "--all", "--out", str(out), "--notebook", str(nb), "--no-pdf"])
    assert code == 1
    assert (out / "2018Q4" / "metrics.json").is_file()
    assert (tmp_path / "state" / "failed" / "2018Q3" / "error.txt").is_file()
    printed = capsys.readouterr().out
    tail = printed[printed.index("1 failed:"):]
    assert "2018Q3" in tail and "deliberate failure" in tail and "2018Q4" not in tail
    assert "2018Q4" in (out / "trend_appendix.html").read_text()


def test_publication_mode_refuses_a_person_id(matrix: Path, tmp_path: Path, capsys):
    out = tmp_path / "reports"
    leaky = _notebook(tmp_path / "leaky.ipynb", leak=True)
    code = cli.main(["report", "--matrix", str(matrix), "--out", str(out), "--notebook", str(leaky), "--no-pdf"])
    assert code == 1
    assert "person_id" in capsys.readouterr().out
    assert not (out / "2018Q4" / "metrics.json").exists()
    failed = tmp_path / "state" / "failed" / "2018Q4"
    # nothing showing the id is kept, only the error
    assert {p.name for p in failed.iterdir()} == {"error.txt"}
    assert "P0" not in (failed / "error.txt").read_text()
    # internal mode may show it (and marks every page)
    code = cli.main(["report", "--matrix", str(matrix), "--out", str(out), "--notebook", str(leaky),
                     "--no-pdf", "--mode", "internal"])
    assert code == 0
    html = (out / "2018Q4" / "report.html").read_text()
    assert "first person: P0" in html
    assert html.count("INTERNAL — NOT FOR PUBLICATION") >= 2  # on screen, and @page for every printed page
    assert "@top-center" in html


# --------------------------------------------------------------------------- processes

_RUN = textwrap.dedent(
    """\
    import sys
    from fairness.report import runner as report
    with report.terminate_gracefully():
        res = report.run_reports(sys.argv[1], ["2018Q4"], out_dir=sys.argv[2], notebook=sys.argv[3], pdf=False,
                                 parameters={{"token": sys.argv[4], "sleep": float(sys.argv[5])}})
    sys.exit(0 if all(r.ok for r in res) else 1)
    """
)


def _spawn(matrix: Path, out: Path, nb: Path, token: str, sleep: float) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", _RUN.format(), str(matrix), str(out), str(nb), token, str(sleep)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: killing it kills its kernel too
        cwd=Path(__file__).resolve().parents[1],
    )


def _wait_for_tmp(out: Path, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        tmps = list(out.glob(".2018Q4.tmp-*"))
        if tmps and any((t / "started").exists() for t in tmps):
            return
        assert proc.poll() is None, proc.stdout.read()
        time.sleep(0.1)
    raise AssertionError("the run never started its notebook")


@pytest.mark.slow  # two runner processes, each with a kernel
def test_two_jobs_for_one_quarter_do_not_corrupt_it(matrix: Path, nb: Path, tmp_path: Path):
    out = tmp_path / "reports"
    out.mkdir()
    a = _spawn(matrix, out, nb, "first", 2.0)
    time.sleep(0.3)
    b = _spawn(matrix, out, nb, "second", 0.0)
    out_a, _ = a.communicate(timeout=120)
    out_b, _ = b.communicate(timeout=120)
    assert a.returncode == 0, out_a
    assert b.returncode == 0, out_b
    assert "waiting" in out_a + out_b  # one waited for the other's lock
    token = _metrics(out, "2018Q4")["token"]
    html = (out / "2018Q4" / "report.html").read_text()
    assert f"token {token}." in html  # the report and its metrics come from the same run
    assert _visible(out) == {"2018Q4", "trend_appendix.html"}
    assert _hidden_dirs(out) == []


@pytest.mark.slow  # a runner process killed mid-notebook, then kernels run again
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_killed_run_leaves_previous_report_intact(matrix: Path, tmp_path: Path, sig: int):
    out = tmp_path / "reports"
    good = _notebook(tmp_path / "good.ipynb", token="old")
    slow = _notebook(tmp_path / "slow.ipynb", token="new", sleep=60.0)
    assert report.run_reports(matrix, ["2018Q4"], out_dir=out, notebook=good, pdf=False, echo=lambda s: None)[0].ok
    before = {p.name: p.read_bytes() for p in (out / "2018Q4").iterdir()}
    proc = _spawn(matrix, out, slow, "new", 60.0)
    _wait_for_tmp(out, proc)
    if sig == signal.SIGKILL:
        os.killpg(proc.pid, sig)  # the runner and its kernel, at once
    else:
        proc.send_signal(sig)  # the runner only: it must clean up after itself
    proc.communicate(timeout=60)
    assert proc.returncode != 0
    after = {p.name: p.read_bytes() for p in (out / "2018Q4").iterdir()}
    assert after == before
    assert _visible(out) == {"2018Q4", "trend_appendix.html"}
    if sig == signal.SIGTERM:
        assert _hidden_dirs(out) == []  # it removed its own temporary folder
        return
    assert _hidden_dirs(out) != []  # SIGKILL: the temporary folder is left, hidden
    # the next run clears whatever a killed run left behind
    assert report.run_reports(matrix, ["2018Q4"], out_dir=out, notebook=good, pdf=False, echo=lambda s: None)[0].ok
    assert _hidden_dirs(out) == []


# --------------------------------------------------------------------------- unattended runs
# These replace the notebook run by a function that writes what papermill would, so they take
# no kernel and run in a fraction of a second.


def _fake_run(modes: dict | None = None, fail: BaseException | None = None):
    def run(template, output, parameters, *, cwd, timeout):
        if modes is not None:
            modes["tmp"] = stat.S_IMODE(os.stat(cwd).st_mode)
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell("print('hello')")]
        nbformat.write(nb, output)
        if fail is not None:
            raise fail
        if parameters.get("metrics_path"):
            (cwd / parameters["metrics_path"]).write_text(
                json.dumps({"quarter": parameters["quarter"], "mode": parameters["mode"], "n": 5}))

    return run


def test_temporary_folder_owner_only_and_stale_ones_cleaned(matrix: Path, tmp_path: Path, monkeypatch):
    """A killed run used to leave a world-readable hidden folder with metrics.json and the
    notebook until that same quarter ran again."""
    out = tmp_path / "reports"
    stale = out / ".2018Q3.tmp-killed"
    stale.mkdir(parents=True)
    (stale / "metrics.json").write_text("{}")
    modes: dict = {}
    monkeypatch.setattr(execute, "run_notebook", _fake_run(modes))
    lines: list[str] = []
    outcomes = report.run_reports(matrix, ["2018Q4"], out_dir=out, pdf=False, echo=lines.append)
    assert outcomes[0].ok
    assert modes["tmp"] == 0o700  # while it is written
    assert stat.S_IMODE((out / "2018Q4").stat().st_mode) == 0o755  # once complete and checked
    assert not stale.exists() and _hidden_dirs(out) == []  # another quarter's leftovers, cleaned at the start
    assert any("removed .2018Q3.tmp-killed" in line for line in lines)
    assert (out / ".fairness-reports").is_file()  # row-level files are refused under it from now on


def test_progress_lines_carry_an_iso_timestamp(matrix: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setattr(execute, "run_notebook", _fake_run())
    lines: list[str] = []
    report.run_reports(matrix, ["2018Q4"], out_dir=tmp_path / "reports", pdf=False, echo=lines.append)
    assert lines and all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ ", line) for line in lines)
    assert any(re.search(r"Z \[1/1\] 2018Q4: ok in", line) for line in lines)


def test_out_folder_holding_other_files_is_refused(matrix: Path, tmp_path: Path, monkeypatch, capsys):
    """`fairness report --out .` in a project folder used to mark the project root as a report
    folder, after which every row-level file under it (synth output, quarantine) was refused."""
    monkeypatch.setattr(execute, "run_notebook", _fake_run())
    project = tmp_path / "project"
    (project / "fairness").mkdir(parents=True)
    (project / "pyproject.toml").write_text("[project]\n")
    code = cli.main(["report", "--matrix", str(matrix), "--out", str(project)])
    err = capsys.readouterr().err
    assert code == 2
    assert "pyproject.toml" in err and "fairness/" in err and "folder of their own" in err
    assert not (project / ".fairness-reports").exists() and sorted(p.name for p in project.iterdir()) == [
        "fairness", "pyproject.toml"]  # nothing written, nothing marked
    # a folder of reports (quarters, the appendix, a README, a run's hidden leftovers) is accepted
    reports = tmp_path / "site"
    (reports / "2018Q3").mkdir(parents=True)
    (reports / ".2018Q3.tmp-killed").mkdir()
    for name in ("README.md", "trend_appendix.html", ".2018Q4.lock"):
        (reports / name).write_text("")
    assert cli.main(["report", "--matrix", str(matrix), "--out", str(reports), "--no-pdf"]) == 0
    assert (reports / ".fairness-reports").is_file() and (reports / "2018Q4" / "metrics.json").is_file()


def test_report_without_weasyprint_renders_html_and_says_pdf_skipped(matrix: Path, tmp_path: Path, monkeypatch,
                                                                      capsys):
    """A pip install without the [pdf] extra used to fail the whole quarter with
    ModuleNotFoundError: weasyprint."""
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # `import weasyprint` now raises ImportError
    monkeypatch.setattr(execute, "run_notebook", _fake_run())
    out = tmp_path / "reports"
    assert cli.main(["report", "--matrix", str(matrix), "--out", str(out)]) == 0
    assert {p.name for p in (out / "2018Q4").iterdir()} == {"report.ipynb", "report.html", "metrics.json"}
    printed = capsys.readouterr().out
    assert "warning: PDF skipped: WeasyPrint is not installed" in printed
    assert "pip install 'fairness-audit[pdf]'" in printed and "no PDF" in printed


def test_cell_timeout_keeps_the_notebook_and_prints_the_message_once(matrix: Path, tmp_path: Path, monkeypatch):
    class CellTimeoutError(TimeoutError):  # nbclient's: its message quotes the cell over many lines
        pass

    boom = CellTimeoutError("A cell timed out while it was being executed, after 3 seconds.\n"
                            "Here is a preview of the cell contents:\n-------------------\nsleep(60)\n")
    monkeypatch.setattr(execute, "run_notebook", _fake_run(fail=boom))
    lines: list[str] = []
    (outcome,) = report.run_reports(matrix, ["2018Q4"], out_dir=tmp_path / "reports", pdf=False, timeout=3,
                                    echo=lines.append)
    assert not outcome.ok
    assert outcome.error == "CellTimeoutError: a notebook cell did not finish within 3 s (--timeout)"
    assert sum("did not finish within 3 s" in line for line in lines) == 1
    kept = tmp_path / "state" / "failed" / "2018Q4"
    assert outcome.failed_at == kept and {p.name for p in kept.iterdir()} == {"report.ipynb", "report.html",
                                                                              "error.txt"}
    assert any(f"kept in {kept}/ (owner-only)" in line for line in lines)


def test_full_disk_keeps_the_real_error_and_points_at_a_folder_that_exists(matrix: Path, tmp_path: Path,
                                                                           monkeypatch):
    def no_space(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(report, "_render_into", no_space)
    lines: list[str] = []
    (outcome,) = report.run_reports(matrix, ["2018Q4"], out_dir=tmp_path / "reports", pdf=False, echo=lines.append)
    assert "No space left on device" in outcome.error
    assert outcome.failed_at.is_dir() and "No space left on device" in (outcome.failed_at / "error.txt").read_text()
    # and when the failure cannot be kept either, the real error stays, and no folder is named
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("FAIRNESS_FAILED_DIR", str(blocker / "failed"))
    lines.clear()
    (outcome,) = report.run_reports(matrix, ["2018Q4"], out_dir=tmp_path / "reports", pdf=False, echo=lines.append)
    assert outcome.error.startswith("OSError: [Errno 28] No space left on device (the failure could not be kept in")
    assert outcome.failed_at is None and any("nothing could be kept" in line for line in lines)


def test_report_help_lists_exit_codes_environment_and_failures(capsys):
    assert cli.main(["report", "--help"]) == 0
    text = capsys.readouterr().out
    for words in ("exit codes:", "  1  some quarters failed", "FAIRNESS_AUDIT_LOG", "FAIRNESS_FAILED_DIR",
                  "FAIRNESS_NOTEBOOKS", "FAIRNESS_DEBUG", "where failures go:", "owner-only", "WeasyPrint"):
        assert words in text, words
