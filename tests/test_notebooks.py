"""The report notebooks: papermill-ready, thin, and what they render is the audit.

The first group of tests reads the notebooks as files (fast). The second runs
them on the "small" synthetic matrix (about 300 people a quarter, 2017Q4 to
2019Q3): the report and the briefing of 2018Q4 once per test session through
``fairness.report.runner`` (HTML and PDF), shared by every test that reads them,
and the research walkthrough once through papermill. Those two renders are what
must stay slow (markers ``notebooks`` and ``slow``: ``make test-slow`` and CI run them).
"""

from __future__ import annotations

import ast
import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import papermill as pm
import pytest

import fairness
from fairness.report import leakscan
from fairness.report import runner as report
from fairness.results.contract import read_json_table

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NAMES = ("quarterly_oversight_report", "scrutiny_briefing", "research_walkthrough")
PARAMETERS = {
    "matrix",
    "quarter",
    "benchmarks",
    "reference",
    "alpha",
    "mode",
    "disclosure_threshold",
    "metrics_path",
    "run_time",
}
#: What a publication (report, briefing) also asks for.
PUBLISHED = {"contact", "publication_date", "profile",  # profile: fairness report --profile (issue 14)
             "audit_file"}  # the run's audit of the file, read once (fairness.report.handoff, issue 10)
#: The quarter the shared render reports: the "small" matrix runs on to 2019Q3.
QUARTER, LATER = "2018Q4", ("2019Q1", "2019Q2", "2019Q3")
# name: type = value  # comment
_TYPED_LINE = re.compile(r"^(\w+): (str|int|float|bool|list|dict) = .+  # \S.*$")


def _nb(name: str) -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOK_DIR / f"{name}.ipynb", as_version=4)


def _code(nb: nbformat.NotebookNode) -> list[str]:
    return [c.source for c in nb.cells if c.cell_type == "code"]


# --------------------------------------------------------------------------- static


@pytest.mark.parametrize("name", NAMES)
def test_one_parameters_cell_with_typed_commented_defaults(name: str):
    nb = _nb(name)
    tagged = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1
    lines = [ln for ln in tagged[0].source.splitlines() if ln.strip() and not ln.startswith("#")]
    assert lines, "the parameters cell is empty"
    for line in lines:
        assert _TYPED_LINE.match(line), f"not 'name: type = value  # comment': {line!r}"
    # only literals: no derived values in the parameters cell
    for node in ast.parse(tagged[0].source).body:
        assert isinstance(node, ast.AnnAssign)
        ast.literal_eval(node.value)


@pytest.mark.parametrize("name", NAMES)
def test_papermill_lists_the_parameters(name: str):
    found = pm.inspect_notebook(str(NOTEBOOK_DIR / f"{name}.ipynb"))
    assert set(found) == (PARAMETERS if name == "research_walkthrough" else PARAMETERS | PUBLISHED)
    assert all(p["help"] for p in found.values())
    assert found["mode"]["default"] == ('"internal"' if name == "research_walkthrough" else '"publication"')


@pytest.mark.parametrize("name", NAMES)
def test_stored_without_outputs(name: str):
    for cell in _nb(name).cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


@pytest.mark.parametrize("name", NAMES)
def test_notebooks_define_no_functions(name: str):
    for source in _code(_nb(name)):
        tree = ast.parse(source)
        kinds = {type(n) for n in ast.walk(tree)}
        assert not kinds & {ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef}, source
        assert "def " not in source


@pytest.mark.parametrize("name", NAMES)
def test_notebooks_call_the_package_for_everything(name: str):
    """No statistics in notebooks: no numpy, scipy or statsmodels of their own."""
    for source in _code(_nb(name)):
        assert not re.search(r"^\s*(import|from) (numpy|scipy|statsmodels)", source, re.M), source


@pytest.mark.parametrize("name", NAMES)
def test_default_matrix_does_not_depend_on_the_working_directory(name: str):
    """papermill template.ipynb out.ipynb -p quarter 2018Q4, from any folder: the package resolves the path."""
    from fairness import synth

    found = pm.inspect_notebook(str(NOTEBOOK_DIR / f"{name}.ipynb"))
    assert found["matrix"]["default"] == '""'
    assert "matrix or synth.DEFAULT_MATRIX" in "\n".join(_code(_nb(name)))
    assert synth.DEFAULT_MATRIX.is_absolute()
    # where `make data` writes it (Makefile: MATRIX := data/synthetic/gvm-history.csv)
    assert synth.DEFAULT_MATRIX == NOTEBOOK_DIR.parent / "data" / "synthetic" / "gvm-history.csv"


def test_publications_show_only_their_quarter_and_page_one_has_main_points():
    for name in ("quarterly_oversight_report", "scrutiny_briefing"):
        text = "\n".join(_code(_nb(name)))
        assert ".up_to_quarter()" in text
        first_cells = "\n".join(_code(_nb(name))[:4])
        assert "fr.title_block(res" in first_cells and "fr.main_points_box(res)" in first_cells


def test_publication_notebooks_apply_disclosure_control():
    for name in ("quarterly_oversight_report", "scrutiny_briefing"):
        text = "\n".join(_code(_nb(name)))
        assert "fairness.audit(" in text and ".for_publication(" in text
        assert "person_id" not in text


# --------------------------------------------------------------------------- executed


def notebooks(test):
    """Marker ``notebooks``, and ``slow``: the render (about 30 s of processor time) runs in
    ``make test-slow`` and CI, not in ``make test``."""
    return pytest.mark.slow(pytest.mark.notebooks(test))


@pytest.fixture(scope="session")
def small_matrix(tmp_path_factory) -> Path:
    from fairness import synth

    folder = tmp_path_factory.mktemp("synthetic")
    result = synth.generate("small")
    path = folder / "small.csv"
    synth.write(result, path)  # also writes small.truth.json beside it
    return path


@pytest.fixture(scope="session")
def expected(small_matrix: Path):
    """What fairness.results.audit returns for the same input and quarter, in publication mode."""
    return fairness.audit(small_matrix, quarter=QUARTER).up_to_quarter().for_publication()


@pytest.fixture(scope="session")
def rendered(small_matrix: Path, tmp_path_factory) -> report.ReportOutcome:
    """The report and the briefing of 2018Q4, rendered once per session and read by every test below."""
    pytest.importorskip("weasyprint")
    out = tmp_path_factory.mktemp("out") / "reports"
    outcomes = report.run_reports(small_matrix, [QUARTER], out_dir=out, briefing=True, echo=lambda s: None)
    assert len(outcomes) == 1
    return outcomes[0]


@notebooks
def test_report_and_briefing_render(rendered: report.ReportOutcome, expected):
    assert rendered.ok, rendered.error
    assert rendered.quarter == expected.quarter
    assert set(rendered.files) == {
        "report.ipynb", "report.html", "report.pdf", "briefing.ipynb", "briefing.html", "briefing.pdf", "metrics.json",
    }
    assert rendered.pages["briefing"] <= 2
    assert rendered.warnings == ()  # nothing past the page margin
    assert (rendered.directory.parent / "trend_appendix.html").is_file()


@notebooks
def test_html_shows_the_audit_headline(rendered: report.ReportOutcome, expected):
    sentences, points = expected.headline(), expected.main_points()
    assert 5 <= len(sentences) <= 7 and 3 <= len(points) <= 5
    for stem, shown in (("report", points + sentences), ("briefing", points)):
        page = html.unescape((rendered.directory / f"{stem}.html").read_text(encoding="utf-8"))
        for sentence in shown:
            assert sentence in page, (stem, sentence)
        # page 1: the main points come straight after the title (in the report, before the contents)
        assert page.index("Main points") < page.index(points[-1])
        if stem == "report":
            assert page.index(points[-1]) < page.index('id="contents"')
        assert "fairness.audit(" not in page  # code hidden
        assert "INTERNAL" not in page
        words = re.sub(r"<[^>]*>", " ", page.split('id="who"')[0])  # the text of page 1, the findings, the briefing
        for word in ("φ", "τ²", "funnel limit", "figure(s)", "check(s)", "e-0", "e+0", "times less"):
            assert word not in words, (stem, word)


@notebooks
def test_publications_show_nothing_after_their_quarter(rendered: report.ReportOutcome):
    for name in ("report.html", "briefing.html", "metrics.json"):
        text = (rendered.directory / name).read_text(encoding="utf-8")
        later = [q for q in LATER if q in text or f"{q[:4]} {q[4:]}" in text]
        assert later == [], (name, later)
    metrics = json.loads((rendered.directory / "metrics.json").read_text(encoding="utf-8"))
    assert max(metrics["quarters"]) == QUARTER
    assert set(read_json_table(metrics, "trends")["quarter"]) <= set(metrics["quarters"])


@notebooks
def test_briefing_has_provenance_date_and_contact(rendered: report.ReportOutcome, expected):
    page = html.unescape((rendered.directory / "briefing.html").read_text(encoding="utf-8"))
    assert expected.sha256 in page  # the whole digest, not a prefix
    assert "<strong>Published:</strong>" in page and "<strong>Contact:</strong>" in page
    from fairness.report.format import CONTACT_PLACEHOLDER

    assert CONTACT_PLACEHOLDER in page  # no contact given: the placeholder says it must be set


@notebooks
def test_report_has_its_sections_and_provenance(rendered: report.ReportOutcome, expected):
    page = (rendered.directory / "report.html").read_text(encoding="utf-8")
    for anchor in ("headline", "who", "no-risk", "boroughs", "bands", "data-protection", "trends", "quality",
                   "methods", "provenance"):
        assert f'id="{anchor}"' in page and f'href="#{anchor}"' in page
    assert expected.sha256 in page
    assert "SYNTHETIC DATA" in page
    assert "Time of the run" in page
    # every chart is drawn, or, where suppression empties it, replaced by one sentence saying so (issue 12):
    # on the small matrix (about 10 people a borough) the complement rule empties the three share funnels
    charts = page.count("<figure")
    withheld = page.count("is withheld: every figure in it rests on a count below the suppression threshold")
    assert charts >= 6  # composition, relative rate index, no-risk by group, rate per 1,000 residents, two trends
    assert charts + withheld >= 9


@notebooks
def test_metrics_json_is_the_audit_json(rendered: report.ReportOutcome, expected):
    written = (rendered.directory / "metrics.json").read_text(encoding="utf-8")
    assert written == expected.to_json() + "\n"
    data = json.loads(written)
    assert data["mode"] == "publication" and data["quarter"] == expected.quarter
    assert "run_time" not in written and "Time of the run" not in written


@notebooks
def test_no_person_id_anywhere_in_a_publication_report(rendered: report.ReportOutcome, small_matrix: Path):
    validation = fairness.read_matrix(small_matrix)
    ids = frozenset(validation.valid["person_id"].astype(str)) | frozenset(
        validation.quarantined.get("person_id", []).astype(str) if len(validation.quarantined) else []
    )
    assert ids
    texts = {
        p.name: leakscan.published_text(p)
        for p in rendered.directory.rglob("*")
        if p.suffix in (".html", ".ipynb", ".json")
    }
    assert set(texts) >= {"report.html", "briefing.html", "report.ipynb", "metrics.json"}
    assert report.find_person_ids(texts, ids) == {}
    assert leakscan._fallback_scan("\n".join(texts.values()), ids) == set()


@notebooks
def test_rerun_gives_byte_identical_metrics(rendered: report.ReportOutcome, small_matrix: Path):
    """The kernel's metrics.json and a fresh audit in this process give the same bytes.

    Two processes, each with its own hash seed and thread pool, agree; no second
    render is needed to show it (that took a third of this file's time).
    """
    before = (rendered.directory / "metrics.json").read_bytes()
    again = fairness.audit(small_matrix, quarter=QUARTER).up_to_quarter().for_publication()
    assert (again.to_json() + "\n").encode("utf-8") == before


@notebooks
def test_pdf_pages_render_to_png(rendered: report.ReportOutcome, tmp_path: Path):
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (Debian poppler-utils) not installed")
    for stem in ("report", "briefing"):
        subprocess.run(
            ["pdftoppm", "-png", "-r", "30", str(rendered.directory / f"{stem}.pdf"), str(tmp_path / stem)],
            check=True,
        )
        assert len(list(tmp_path.glob(f"{stem}-*.png"))) == rendered.pages[stem]


@notebooks
@pytest.mark.slow  # a third notebook run (the report and briefing above stay in make test)
def test_research_walkthrough_executes_in_internal_mode(small_matrix: Path, tmp_path: Path):
    out = tmp_path / "walkthrough.ipynb"
    pm.execute_notebook(
        str(NOTEBOOK_DIR / "research_walkthrough.ipynb"),
        str(out),
        parameters={"matrix": str(small_matrix), "quarter": QUARTER, "metrics_path": str(tmp_path / "metrics.json")},
        kernel_name=report.KERNEL_NAME,
        language="python",
        cwd=str(tmp_path),  # any folder: nothing in the template is relative to notebooks/
        progress_bar=False,
        extra_arguments=["--IPKernelApp.log_level=CRITICAL"],
    )
    nb = nbformat.read(out, as_version=4)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert errors == []
    assert sum(len(c.outputs) for c in nb.cells if c.cell_type == "code") >= 15
    # the researcher's tables display readably: intervals as "L–U", p-values without e-notation
    shown = html.unescape("\n".join(str(o.get("data", {}).get("text/html", "")) for c in nb.cells
                                    if c.cell_type == "code" for o in c.outputs))
    assert "fairness-readable" in shown and "< 0.001" in shown and "e-05" not in shown
    # it ends by writing the publication JSON: the same as the audit's (every quarter: a researcher's view)
    expected = fairness.audit(small_matrix, quarter=QUARTER).for_publication()
    assert (tmp_path / "metrics.json").read_text(encoding="utf-8") == expected.to_json() + "\n"
