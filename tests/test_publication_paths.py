"""Nothing published names this machine, and internal reports stay out of reports/ (issue 12)."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from fairness import cli
from fairness.publish.disclosure import MARKER
from fairness.report import leakscan, runner


def _executed_notebook(path: Path, matrix: str, tmp: str) -> None:
    """A notebook as papermill leaves it: paths in the metadata and in the injected cell."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["papermill"] = {"input_path": "/srv/fairness/notebooks/quarterly_oversight_report.ipynb",
                                "output_path": f"{tmp}/report.ipynb", "parameters": {"matrix": matrix},
                                "version": "2.6.0"}
    injected = nbformat.v4.new_code_cell(f'# Parameters\nmatrix = "{matrix}"\nquarter = "2018Q4"\n')
    injected.metadata["tags"] = ["injected-parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# Report"), injected]
    nbformat.write(nb, path)


def test_published_notebooks_carry_no_absolute_path(tmp_path: Path):
    matrix = "/secure/extracts/gvm-2024Q1.csv"
    _executed_notebook(tmp_path / "report.ipynb", matrix, str(tmp_path))
    with pytest.raises(runner.SmallCountError, match="report.ipynb would publish a path"):
        leakscan.check_no_paths(tmp_path, [matrix, tmp_path])
    leakscan.strip_paths(tmp_path, ["report"])
    text = (tmp_path / "report.ipynb").read_text()
    assert "/secure" not in text and str(tmp_path) not in text and "/srv/fairness" not in text
    nb = nbformat.read(tmp_path / "report.ipynb", as_version=4)
    assert 'matrix = "gvm-2024Q1.csv"' in nb.cells[1].source
    assert 'quarter = "2018Q4"' in nb.cells[1].source
    assert nb.metadata["papermill"] == {"version": "2.6.0"}
    leakscan.check_no_paths(tmp_path, [matrix, tmp_path])  # nothing left to find


def _metrics(folder: Path, quarter: str, mode: str, share: float) -> None:
    (folder / quarter).mkdir()
    (folder / quarter / "metrics.json").write_text(json.dumps({
        "quarter": quarter, "n": 3000, "quarantined": 0, "mode": mode,
        "representation": [{"benchmark": "residents_2021", "group": "Black", "count": 2400, "n": 3000,
                            "share": share, "benchmark_share": 0.135, "ratio": 5.9, "ci_low": 5.7, "ci_high": 6.1}],
    }))


def test_the_trend_appendix_never_mixes_modes(tmp_path: Path):
    _metrics(tmp_path, "2018Q3", "publication", 0.79)
    _metrics(tmp_path, "2018Q4", "internal", 0.81)
    text = runner.write_trend_appendix(tmp_path).read_text()
    assert "2018Q3" in text and "2018Q4" not in text
    assert "INTERNAL" not in text  # the published appendix is not turned internal by one internal quarter


def test_internal_reports_default_to_their_own_folder(monkeypatch):
    seen = {}

    def fake_run_reports(info, quarters, **kw):
        seen.update(kw)
        return []

    monkeypatch.setattr(runner, "inspect_matrix", lambda path, **kw: type("I", (), {"validation": None})())
    monkeypatch.setattr(runner, "run_reports", fake_run_reports)
    for name in ("_log_read", "_check_log", "_check_input"):  # no audit log, no file: only --out matters here
        monkeypatch.setattr(cli, name, lambda *a, **k: None)
    parser = cli.build_parser()
    args = parser.parse_args(["report", "--mode", "internal"])
    cli._cmd_report(args)
    assert seen["out_dir"] == runner.INTERNAL_OUT == "internal-reports"
    args = parser.parse_args(["report"])
    cli._cmd_report(args)
    assert seen["out_dir"] == "reports"


def test_the_runner_refuses_metrics_that_fail_the_publication_audit():
    metrics = {"mode": "publication", "n": 52, "quarter": "2023Q4",
               "boroughs": [{"metric": "no_risk_share", "borough": "Hackney", "count": MARKER, "n": MARKER,
                             "value": MARKER, "target": 6 / 52}]}
    with pytest.raises(runner.SmallCountError, match=r"metrics.json: .*boroughs\[0\]\.target from 0\.115385 × 52"):
        runner.check_metrics(metrics)
    metrics["boroughs"][0]["target"] = None
    runner.check_metrics(metrics)
