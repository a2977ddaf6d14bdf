"""Render the quarterly oversight report: notebook → HTML → PDF, atomically.

:func:`run_reports` is what ``fairness report`` runs. For each quarter it

1. takes a lock on ``<out>/.<quarter>.lock`` (``fcntl``), so two jobs for the
   same quarter run one after the other instead of writing over each other;
2. executes the report notebook with papermill (kernel ``python3``, which
   resolves to the Python running this code) into a hidden temporary folder
   beside the target, ``<out>/.<quarter>.tmp-*`` (same file system);
3. renders HTML with the code hidden (nbconvert) and a PDF from that HTML
   (WeasyPrint, A4, with the CSS in ``fairness/report.css``);
4. in publication mode, checks ``metrics.json`` as soon as the notebook has
   written it: the run fails if the audit in it is not in publication mode or
   if any of its tables shows a count from 1 to 9 (below the
   ``disclosure_threshold`` parameter); then scans everything it is about to
   publish for any ``person_id`` of the input and fails the run if one
   appears. A run refused for a small count keeps only ``error.txt`` of its
   failure (the notebook would show the count);
5. swaps the new folder into place in one step (``renameat2(RENAME_EXCHANGE)``
   on Linux; elsewhere rename-aside, rename-in, delete-old, with recovery of
   the old folder on the next run if killed between the two renames).

A killed run therefore leaves the previous report intact and only a hidden,
owner-only temporary folder, removed at the start of the next run (of any
quarter). A failed run is kept owner-only outside the report folder, in
:func:`failures_dir` ``/<quarter>/`` (``$FAIRNESS_FAILED_DIR``, default
``~/.local/state/fairness/failed/``): the notebook papermill saved (also after
a cell timeout), its HTML with the code and the error shown, and
``error.txt``; the previous report is left as it was. Without WeasyPrint the
PDFs are skipped with a warning and the quarter does not fail.

Beside each report, ``metrics.json`` is the audit result
(:meth:`AuditResult.to_json`) in the report's mode. It holds no time stamp, so
re-running a quarter on unchanged data gives a byte-identical file; the time
of the run appears only in the provenance section of the report itself.

After each quarter, ``<out>/trend_appendix.html`` is rebuilt from every
``<out>/<quarter>/metrics.json`` found.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import html
import json
import os
import re
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from fairness.errors import PersonIdLeakError, SmallCountError
from fairness.quarters import normalise_quarter, quarter_label

__all__ = [
    "MatrixInfo",
    "NOTEBOOKS",
    "PersonIdLeakError",
    "RenderedPdf",
    "SmallCountError",
    "check_metrics",
    "ReportOutcome",
    "find_person_ids",
    "inspect_matrix",
    "notebook_path",
    "render_html",
    "render_pdf",
    "render_quarter",
    "resolve_quarters",
    "run_reports",
    "terminate_gracefully",
    "write_trend_appendix",
]

Mode = Literal["publication", "internal"]
MODES: tuple[str, ...] = ("publication", "internal")

#: The notebooks shipped in ``notebooks/``, by short name.
NOTEBOOKS: dict[str, str] = {
    "report": "quarterly_oversight_report.ipynb",
    "briefing": "scrutiny_briefing.ipynb",
    "walkthrough": "research_walkthrough.ipynb",
}
#: File names inside ``<out>/<quarter>/``.
REPORT_STEM, BRIEFING_STEM, METRICS_FILE = "report", "briefing", "metrics.json"
FAILED_DIR = "failed"
#: Environment variable naming the folder where failed runs are kept (see :func:`failures_dir`).
FAILED_DIR_ENV = "FAIRNESS_FAILED_DIR"
TREND_APPENDIX = "trend_appendix.html"
#: Default folder of ``fairness report --mode internal`` (never the published reports/).
INTERNAL_OUT = "internal-reports"
KERNEL_NAME = "python3"
#: The most pages the scrutiny briefing may print to.
BRIEFING_MAX_PAGES = 2

ERR_MODE = "mode must be one of {valid}; got {got!r}"
ERR_NO_QUARTERS = "{source}: no valid rows, so no quarter to report"
ERR_UNKNOWN_QUARTER = "quarter {quarter} is not in {source}; it has {available}"
ERR_NOTEBOOK = "report notebook {path} not found; set FAIRNESS_NOTEBOOKS to the folder holding {name}"
ERR_NO_METRICS = "the notebook finished but did not write {file} (its metrics_path parameter)"
ERR_LEAK = (
    "{count} person_id value(s) from the input appear in {files}; a publication-mode "
    "report must hold no row-level data, so nothing was published"
)
ERR_BRIEFING_PAGES = "the briefing prints to {pages} pages; at most {limit} are allowed"
ERR_SMALL_COUNT = (
    "{count} count(s) from 1 to {largest} would appear in {file} ({cells}); a publication-mode "
    "report must not show a count below {threshold}, so nothing was published; rerun in internal "
    "mode to see the tables"
)
ERR_NOT_PROTECTED = (
    "{file} holds an audit in {mode!r} mode; a publication-mode report must publish the output of "
    "AuditResult.for_publication(), so nothing was published"
)

_QUARTER_DIR = re.compile(r"^\d{4}Q[1-4]$")


# --------------------------------------------------------------------------- input


@dataclass(frozen=True)
class MatrixInfo:
    """What the runner needs to know about the input before running notebooks."""

    path: Path
    sha256: str
    quarters: tuple[str, ...]
    person_ids: frozenset[str]
    validation: Any = field(repr=False, default=None)


def inspect_matrix(matrix: str | os.PathLike[str], *, log_as: str | None = "report") -> MatrixInfo:
    """Read and validate ``matrix`` once: its quarters, digest and person ids.

    The ids (valid and quarantined rows) are kept only in memory, to check
    that none reaches a publication-mode report. The read is written to the
    audit log as ``log_as`` (None: the caller logs it, as ``fairness report`` does).
    """
    from fairness.io.validation import _read_matrix, read_and_log

    path = Path(matrix).resolve()
    res = _read_matrix(path) if log_as is None else read_and_log(path, command=log_as)
    quarters: tuple[str, ...] = ()
    if len(res.valid):
        quarters = tuple(sorted(quarter_label(res.valid["snapshot_date"]).unique()))
    ids: set[str] = set()
    for frame in (res.valid, res.quarantined):
        if "person_id" in frame.columns:
            ids.update(str(v).strip() for v in frame["person_id"].dropna())
    ids.discard("")
    return MatrixInfo(path=path, sha256=res.sha256, quarters=quarters, person_ids=frozenset(ids), validation=res)


def resolve_quarters(
    requested: Iterable[str], available: Sequence[str], *, all_quarters: bool = False, source: str = "the matrix"
) -> list[str]:
    """Turn ``--quarter`` values (``"2018Q4"``, ``"2018-q4"``, ``"latest"``) into quarters of the file.

    >>> resolve_quarters(["2018Q4", "latest", "2018q4"], ["2018Q3", "2018Q4", "2019Q1"])
    ['2018Q4', '2019Q1']
    """
    if not available:
        raise ValueError(ERR_NO_QUARTERS.format(source=source))
    if all_quarters:
        return list(available)
    out: list[str] = []
    for q in requested:
        label = available[-1] if str(q).strip().lower() == "latest" else normalise_quarter(q)
        if label not in available:
            shown = f"{len(available)} quarters, {available[0]} to {available[-1]}"
            raise ValueError(ERR_UNKNOWN_QUARTER.format(quarter=label, source=source, available=shown))
        if label not in out:
            out.append(label)
    return out


def notebook_path(name: str = "report") -> Path:
    """Path of a shipped notebook (``report``, ``briefing``, ``walkthrough``).

    Looked for in ``$FAIRNESS_NOTEBOOKS`` if set, else in ``notebooks/`` of the
    source tree this package was installed from.
    """
    file = NOTEBOOKS.get(name, name)
    folder = os.environ.get("FAIRNESS_NOTEBOOKS")
    base = Path(folder) if folder else Path(__file__).resolve().parents[2] / "notebooks"
    path = base / file
    if not path.is_file():
        raise FileNotFoundError(ERR_NOTEBOOK.format(path=path, name=file))
    return path


# --------------------------------------------------------------------------- rendering


def _css() -> str:
    return resources.files("fairness.report").joinpath("report.css").read_text(encoding="utf-8")


def _css_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _strip_for_report(nb: Any) -> Any:
    """A copy of ``nb`` without stderr streams (warnings are not for readers)."""
    import copy

    out = copy.deepcopy(nb)
    for cell in out.cells:
        if cell.get("cell_type") == "code":
            cell["outputs"] = [
                o for o in cell.get("outputs", []) if not (o.get("output_type") == "stream" and o.get("name") == "stderr")
            ]
    return out


def render_html(
    nb: Any,
    *,
    title: str,
    mode: Mode = "publication",
    show_code: bool = False,
    footer: str = "",
    kind: str = "report",
) -> str:
    """A standalone HTML page of an executed notebook.

    With ``show_code=False`` (reports) inputs and prompts are hidden
    (``exclude_input``, ``exclude_input_prompt``, ``exclude_output_prompt``)
    and stderr output is dropped; with ``show_code=True`` (failed runs) the
    code and the error are shown. Internal mode puts the banner
    "INTERNAL — NOT FOR PUBLICATION" at the top of the page and, in print, at
    the top of every page.
    """
    from nbconvert import HTMLExporter

    if mode not in MODES:
        raise ValueError(ERR_MODE.format(valid=", ".join(MODES), got=mode))
    exporter = HTMLExporter(
        template_name="basic",
        exclude_input=not show_code,
        exclude_input_prompt=not show_code,
        exclude_output_prompt=True,
        anchor_link_text="",
    )
    body, _ = exporter.from_notebook_node(nb if show_code else _strip_for_report(nb))
    return _page(body, title=title, mode=mode, footer=footer or title, kind=kind)


def _page(body: str, *, title: str, mode: str, footer: str, kind: str = "report") -> str:
    page_css = f"@page {{ @bottom-left {{ content: {_css_string(footer)}; }} }}\n"
    banner = ""
    if mode == "internal":
        page_css += (
            '@page { @top-center { content: "INTERNAL — NOT FOR PUBLICATION"; color: #a00000; '
            "font-weight: bold; font-size: 10pt; letter-spacing: 0.05em; } }\n"
        )
        banner = '<div class="internal-banner" role="note">INTERNAL — NOT FOR PUBLICATION</div>\n'
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en-GB">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n"
        f'<meta name="generator" content="fairness-audit">\n'
        f"<style>\n{_css()}\n{page_css}</style>\n</head>\n"
        f'<body class="mode-{mode} {html.escape(kind)}">\n{banner}<main>\n{body}\n</main>\n</body>\n</html>\n'
    )


@dataclass(frozen=True)
class RenderedPdf:
    """A PDF written by :func:`render_pdf`: its page count and anything sticking out of a page."""

    pages: int
    overflow: tuple[str, ...] = ()


def render_pdf(page: str, path: str | os.PathLike[str], *, base_url: str | None = None) -> RenderedPdf:
    """Write ``page`` (HTML) as an A4 PDF with WeasyPrint.

    Returns the page count and a description of every table, image or block
    that reaches past the right margin (it would be cut off when printed):
    none is expected.
    """
    import logging

    from weasyprint import HTML

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    doc = HTML(string=page, base_url=base_url).render()
    doc.write_pdf(str(path))
    return RenderedPdf(len(doc.pages), tuple(_overflow(doc)))


PDF_SKIPPED = (
    "PDF skipped: WeasyPrint is not installed (or its system libraries are missing), so the report "
    "is HTML only; for the PDF: pip install 'fairness-audit[pdf]' (see https://doc.courtbouillon.org/"
    "weasyprint/stable/first_steps.html for the system libraries), or pass --no-pdf to silence this"
)


def _pdf_available() -> bool:
    """Whether WeasyPrint can be imported (it needs Pango and friends as well as the package)."""
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError):
        return False
    return True


def _mark_reports_dir(out: Path) -> None:
    """Mark ``out`` as a report output folder, so that no row-level file is ever written under it."""
    from fairness.io.safe_write import REPORTS_MARKER

    try:
        out.mkdir(parents=True, exist_ok=True)
        marker = out / REPORTS_MARKER
        if not marker.exists():
            marker.write_text("fairness report output: no row-level data may be written here\n", encoding="utf-8")
    except OSError:
        pass  # a read-only folder: the run reports that itself


def _overflow(doc: Any, tolerance: float = 1.0) -> list[str]:
    """Boxes whose right edge lies past the page's content area (WeasyPrint layout)."""
    found: list[str] = []
    try:
        for number, page in enumerate(doc.pages, 1):
            root = page._page_box
            right = root.content_box_x() + root.width
            stack = list(root.children)
            while stack:
                box = stack.pop()
                edge = box.position_x + box.margin_width() - (box.margin_right or 0)
                if edge > right + tolerance:
                    tag = getattr(box, "element_tag", None) or type(box).__name__
                    if tag in ("table", "img", "figure", "pre", "svg") or not found:
                        found.append(f"page {number}: <{tag}> {edge - right:.0f} pt past the margin")
                    continue  # its children are reported with it
                stack.extend(getattr(box, "children", []) or [])
    except AttributeError:  # a WeasyPrint whose layout tree differs: skip the check
        return []
    return found


# --------------------------------------------------------------------------- privacy


_DATA_URI = re.compile(r"data:[\w/+.\-]+;base64,[A-Za-z0-9+/=\s]+")
_TOKEN_SPLITS = (re.compile(r"[^\w\-]+"), re.compile(r"[^\w]+"), re.compile(r"[^\w\-./:]+"))
#: An all-digit id shorter than this cannot be told from a count in a report;
#: the fallback scan skips it (fairness.publish.privacy.scan_publication, when
#: present, decides for itself).
_MIN_NUMERIC_ID = 8


def _published_text(path: Path) -> str:
    """The text of an output file that a reader could see (images removed)."""
    raw = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".ipynb":
        try:
            nb = json.loads(raw)
        except json.JSONDecodeError:
            return raw
        parts: list[str] = []
        for cell in nb.get("cells", []):
            parts.append("".join(cell.get("source", "")))
            for out in cell.get("outputs", []):
                parts.append("".join(out.get("text", "")))
                parts.append(str(out.get("evalue", "")))
                parts.extend(out.get("traceback", []))
                for mime, value in (out.get("data") or {}).items():
                    if mime.startswith("text/") or mime.endswith("json"):
                        parts.append(value if isinstance(value, str) else json.dumps(value))
        return "\n".join(parts)
    return _DATA_URI.sub(" ", raw)


def _fallback_scan(text: str, ids: frozenset[str]) -> set[str]:
    tokens: set[str] = set()
    unescaped = html.unescape(text)
    for splitter in _TOKEN_SPLITS:
        tokens.update(splitter.split(unescaped))
    found = tokens & ids
    return {i for i in found if not (i.isdigit() and len(i) < _MIN_NUMERIC_ID)}


def find_person_ids(texts: Mapping[str, str], ids: frozenset[str]) -> dict[str, int]:
    """How many distinct input ids appear in each text (name → count; only names with any).

    Uses :func:`fairness.publish.privacy.scan_publication` when the package has it,
    else a token match: the text is split on punctuation and space and every
    token compared with the set of ids. The ids themselves are never returned,
    so the error message cannot leak them.
    """
    if not ids:
        return {}
    scan = _privacy_scanner()
    hits: dict[str, int] = {}
    for name, text in texts.items():
        text = _DATA_URI.sub(" ", text)  # embedded images are not text
        found = scan(text, ids) if scan is not None else len(_fallback_scan(text, ids))
        if found:
            hits[name] = found
    return hits


def _privacy_scanner() -> Callable[[str, frozenset[str]], int] | None:
    """:func:`fairness.publish.privacy.scan_publication` as ``(text, ids) -> ids found``, if present."""
    try:
        from fairness.publish.privacy import PublicationLeakError, scan_publication
    except ImportError:
        return None

    def scan(text: str, ids: frozenset[str]) -> int:
        try:
            scan_publication(text, person_ids=ids)
        except PublicationLeakError as exc:
            findings = getattr(exc, "findings", None)
            if isinstance(findings, pd.DataFrame) and "kind" in findings:
                return int((findings["kind"] == "person_id").sum())
            return 1
        return 0

    return scan


def check_metrics(metrics: Mapping[str, Any], *, threshold: int | None = None, file: str = METRICS_FILE) -> None:
    """Refuse a publication's metrics that are unprotected or show a small count.

    Every table of the audit (columns that count people, see
    :func:`fairness.publish.publication.count_columns`) must hold no count from 1 to
    ``threshold - 1``. The error names the table, row and column of each,
    never the value. (The top-level ``n`` is not checked: a list of fewer than
    ten people is not protected by the audit's JSON; see AuditResult.to_dict.)

    Raises
    ------
    SmallCountError
    """
    from fairness.definitions import DEFAULT_SUPPRESSION_THRESHOLD
    from fairness.publish.publication import find_small_counts_in_tables
    from fairness.results.audit import TABLES

    if threshold is None:
        threshold = DEFAULT_SUPPRESSION_THRESHOLD
    mode = metrics.get("mode")
    if mode != "publication":
        raise SmallCountError(ERR_NOT_PROTECTED.format(file=file, mode=mode))
    tables = {name: metrics.get(name) or [] for name in TABLES}
    found = find_small_counts_in_tables(tables, threshold=threshold)
    cells = [f"table {r.table}, row {r.row}, column {r.column}" for r in found.itertuples(index=False)]
    if cells:
        shown = "; ".join(cells[:10]) + (f"; and {len(cells) - 10} more" if len(cells) > 10 else "")
        raise SmallCountError(ERR_SMALL_COUNT.format(count=len(cells), largest=threshold - 1, file=file,
                                                     cells=shown, threshold=threshold))
    # the publication audit again, on what is about to be published (issue 12)
    from fairness.publish.intruder import PublicationAuditError, assert_publication_safe

    try:
        assert_publication_safe(metrics, threshold=threshold)
    except PublicationAuditError as exc:
        raise SmallCountError(f"{file}: {exc}") from exc


def _check_metrics_file(path: Path, threshold: int | None) -> None:
    try:
        metrics = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise SmallCountError(f"{path.name} cannot be read to check it before publication: {exc}") from exc
    check_metrics(metrics, threshold=threshold, file=path.name)


def _check_publication(folder: Path, ids: frozenset[str]) -> None:
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in (".html", ".ipynb", ".json", ".txt"))
    texts = {str(p.relative_to(folder)): _published_text(p) for p in files}
    hits = find_person_ids(texts, ids)
    if hits:
        count = max(hits.values())
        raise PersonIdLeakError(ERR_LEAK.format(count=count, files=", ".join(sorted(hits))))


ERR_PATH_LEAK = (
    "{files} would publish a path of this machine ({what}); nothing was published. A publication holds no "
    "absolute path (papermill metadata and the parameters cell are stripped; do not print paths in a cell)"
)
_ABSOLUTE = re.compile(r"""(['"])((?:/|[A-Za-z]:[\\/])[^'"]*)\1""")


def _strip_paths(folder: Path, stems: Iterable[str]) -> None:
    """Remove every absolute path papermill leaves in the executed notebooks (issue 12).

    The ``papermill`` metadata (input and output paths, parameters) goes; in
    the injected-parameters cell a quoted absolute path becomes its file name.
    """
    import nbformat

    for stem in stems:
        path = folder / f"{stem}.ipynb"
        if not path.is_file():
            continue
        nb = nbformat.read(path, as_version=4)
        meta = nb.metadata.get("papermill")
        if meta is not None:
            for key in ("input_path", "output_path", "parameters", "environment_variables"):
                meta.pop(key, None)
        for cell in nb.cells:
            if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
                cell["source"] = _ABSOLUTE.sub(lambda m: f"{m.group(1)}{Path(m.group(2)).name}{m.group(1)}",
                                               cell["source"])
        nbformat.write(nb, path)


def _check_no_paths(folder: Path, paths: Iterable[os.PathLike[str] | str]) -> None:
    """Refuse a publication that shows a path of this machine (the input and its folder, the output, home)."""
    needles = sorted({str(Path(p).resolve()) for p in paths if p} | {str(p) for p in paths if p}, key=len,
                     reverse=True)
    needles = [n for n in needles if len(n) > 1]
    hits, what = [], ""
    for p in sorted(folder.rglob("*")):
        if not p.is_file() or p.suffix not in (".html", ".ipynb", ".json", ".txt"):
            continue
        text = p.read_text(encoding="utf-8", errors="replace")
        for needle in needles:
            if needle in text:
                hits.append(str(p.relative_to(folder)))
                what = what or "a folder or file path"
                break
    if hits:
        raise SmallCountError(ERR_PATH_LEAK.format(files=", ".join(hits), what=what))


# --------------------------------------------------------------------------- atomic folders


@contextlib.contextmanager
def _locked(lock_path: Path, echo: Callable[[str], None] | None = None, what: str = "") -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``lock_path`` (released when the process dies).

    The file is removed on release, while still locked, so no empty lock file
    is left in the reports folder; a job that was waiting on the removed file
    sees that it is no longer the one at ``lock_path`` and locks afresh.
    """
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if echo:
                    echo(f"{what}: another report job holds {lock_path.name}; waiting for it to finish")
                fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                current = os.stat(lock_path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                current = False
        except BaseException:
            os.close(fd)
            raise
        if current:
            break
        os.close(fd)
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(lock_path)
        os.close(fd)


_AT_FDCWD, _RENAME_EXCHANGE = -100, 2


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux ``renameat2``); False if unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EPERM, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(a))


def _fsync_tree(folder: Path) -> None:
    for p in folder.rglob("*"):
        if p.is_file():
            with open(p, "rb") as fh:
                os.fsync(fh.fileno())
    _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _replace_dir(new: Path, target: Path) -> None:
    """Put folder ``new`` at ``target``, replacing what was there, in one visible step."""
    if not target.exists():
        os.rename(new, target)
    elif _exchange(new, target):
        shutil.rmtree(new, ignore_errors=True)  # ``new`` now holds the old folder
    else:
        old = target.with_name(f".{target.name}.old-{os.getpid()}-{time.monotonic_ns()}")
        os.rename(target, old)
        os.rename(new, target)
        shutil.rmtree(old, ignore_errors=True)
    _fsync_dir(target.parent)


def _recover(out_dir: Path, quarter: str) -> None:
    """Under the quarter's lock: undo what a killed run left behind."""
    target = out_dir / quarter
    olds = sorted(out_dir.glob(f".{quarter}.old-*"), key=lambda p: p.stat().st_mtime)
    if olds and not target.exists():
        os.rename(olds.pop(), target)  # killed between rename-aside and rename-in
    for p in olds + list(out_dir.glob(f".{quarter}.tmp-*")):
        shutil.rmtree(p, ignore_errors=True)


# --------------------------------------------------------------------------- one quarter


@dataclass(frozen=True)
class ReportOutcome:
    """What happened to one quarter."""

    quarter: str
    ok: bool
    directory: Path
    files: tuple[str, ...] = ()
    error: str = ""
    seconds: float = 0.0
    pages: Mapping[str, int] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    #: Where the failure was kept (owner-only, outside the report folder), or None.
    failed_at: Path | None = None

    @property
    def failed_dir(self) -> Path | None:
        return self.failed_at


def _run_notebook(
    template: Path, output: Path, parameters: Mapping[str, Any], *, cwd: Path, timeout: float | None
) -> None:
    import papermill as pm

    pm.execute_notebook(
        str(template),
        str(output),
        parameters=dict(parameters),
        kernel_name=KERNEL_NAME,
        language="python",
        cwd=str(cwd),
        progress_bar=False,
        log_output=False,
        # saved as each cell starts, so a cell that times out still leaves the notebook to keep
        request_save_on_cell_execute=True,
        execution_timeout=timeout,
        # The kernel's own log (transport warnings, shutdown notices) is not the
        # notebook's output; errors in cells still reach the notebook.
        extra_arguments=["--IPKernelApp.log_level=CRITICAL"],
    )


def _describe_error(exc: BaseException, timeout: float | None = None) -> str:
    if type(exc).__name__ == "CellTimeoutError":  # nbclient: its message quotes the cell, over many lines
        limit = f"{timeout:g} s" if timeout else "the time limit"
        return f"CellTimeoutError: a notebook cell did not finish within {limit} (--timeout)"
    ename = getattr(exc, "ename", None)
    if ename:  # papermill.PapermillExecutionError
        cell = getattr(exc, "exec_count", None)
        where = f"cell [{cell}]" if cell is not None else f"cell #{getattr(exc, 'cell_index', '?')}"
        return f"{where}: {ename}: {getattr(exc, 'evalue', '')}".strip()
    return f"{type(exc).__name__}: {exc}"


@contextlib.contextmanager
def _reproducible_env() -> Iterator[None]:
    """Kernels started inside inherit a fixed hash seed (set iteration order)."""
    old = os.environ.get("PYTHONHASHSEED")
    os.environ["PYTHONHASHSEED"] = old if old is not None else "0"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("PYTHONHASHSEED", None)


def render_quarter(
    info: MatrixInfo | str | os.PathLike[str],
    quarter: str,
    *,
    out_dir: str | os.PathLike[str] = "reports",
    mode: Mode = "publication",
    briefing: bool = False,
    notebook: str | os.PathLike[str] | None = None,
    pdf: bool = True,
    timeout: float | None = None,
    parameters: Mapping[str, Any] | None = None,
    echo: Callable[[str], None] | None = None,
) -> ReportOutcome:
    """Render one quarter's report into ``<out_dir>/<quarter>/``, atomically.

    Parameters
    ----------
    info : MatrixInfo or path
        The input (from :func:`inspect_matrix`, or a path to read).
    quarter : str
        A quarter of the file ("2018Q4") or "latest".
    out_dir : path, default "reports"
    mode : {"publication", "internal"}, default "publication"
    briefing : bool, default False
        Also render the two-page scrutiny briefing.
    notebook : path, optional
        Report template (default :func:`notebook_path` ``("report")``).
    pdf : bool, default True
        Also write PDFs (needs WeasyPrint).
    timeout : float, optional
        Seconds each notebook cell may take.
    parameters : mapping, optional
        Extra notebook parameters (``benchmarks``, ``reference``, ``alpha`` …).

    Returns
    -------
    ReportOutcome
        ``ok=False`` with ``error`` set if the notebook failed, wrote no
        metrics, or (publication mode) showed a person_id; the previous report
        is then untouched and the failure kept in ``failed_at`` (owner-only, outside ``out_dir``).
    """
    if mode not in MODES:
        raise ValueError(ERR_MODE.format(valid=", ".join(MODES), got=mode))
    if not isinstance(info, MatrixInfo):
        info = inspect_matrix(info)
    (quarter,) = resolve_quarters([quarter], info.quarters, source=str(info.path))
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    _mark_reports_dir(out)
    _clean_stale(out)
    target = out / quarter
    jobs = [("report", Path(notebook) if notebook else notebook_path("report"), REPORT_STEM)]
    if briefing:
        jobs.append(("briefing", notebook_path("briefing"), BRIEFING_STEM))
    t0 = time.monotonic()
    with _locked(out / f".{quarter}.lock", echo, quarter), _reproducible_env():
        _recover(out, quarter)
        # owner-only (mkdtemp: 0700) while it is written: metrics and the notebook are not for
        # other users until checked; opened to readers (0755) only when swapped in
        tmp = Path(tempfile.mkdtemp(prefix=f".{quarter}.tmp-", dir=out))
        try:
            return _render_into(tmp, target, info, quarter, jobs, mode=mode, pdf=pdf, timeout=timeout,
                                parameters=parameters or {}, t0=t0)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def _render_into(
    tmp: Path,
    target: Path,
    info: MatrixInfo,
    quarter: str,
    jobs: list[tuple[str, Path, str]],
    *,
    mode: str,
    pdf: bool,
    timeout: float | None,
    parameters: Mapping[str, Any],
    t0: float,
) -> ReportOutcome:
    run_time = datetime.now(UTC).isoformat(timespec="seconds")
    title_base = f"Gang database oversight report, {quarter}"
    pages: dict[str, int] = {}
    warnings: list[str] = []
    current = jobs[0]
    try:
        for kind, template, stem in jobs:
            current = (kind, template, stem)
            params = {
                **parameters,
                "matrix": str(info.path),
                "quarter": quarter,
                "mode": mode,
                "run_time": run_time,
                "metrics_path": METRICS_FILE if kind == "report" else "",
            }
            _run_notebook(template, tmp / f"{stem}.ipynb", params, cwd=tmp, timeout=timeout)
            if kind == "report" and not (tmp / METRICS_FILE).is_file():
                raise RuntimeError(ERR_NO_METRICS.format(file=METRICS_FILE))
            if kind == "report" and mode == "publication":
                _check_metrics_file(tmp / METRICS_FILE, parameters.get("disclosure_threshold"))
            import nbformat

            nb = nbformat.read(tmp / f"{stem}.ipynb", as_version=4)
            title = title_base if kind == "report" else f"Scrutiny briefing, {quarter}"
            page = render_html(nb, title=title, mode=mode, kind=kind)  # type: ignore[arg-type]
            (tmp / f"{stem}.html").write_text(page, encoding="utf-8")
        if mode == "publication":
            _strip_paths(tmp, [stem for _, _, stem in jobs])
            _check_publication(tmp, info.person_ids)  # before spending time on PDFs
            _check_no_paths(tmp, [info.path, info.path.parent, tmp, target, Path.home()])
        if pdf and not _pdf_available():
            warnings.append(PDF_SKIPPED)
            pdf = False
        if pdf:
            for _, _, stem in jobs:
                page = (tmp / f"{stem}.html").read_text(encoding="utf-8")
                pdf_info = render_pdf(page, tmp / f"{stem}.pdf", base_url=str(tmp))
                pages[stem] = pdf_info.pages
                warnings += [f"{stem}.pdf {w}" for w in pdf_info.overflow]
            if pages.get(BRIEFING_STEM, 0) > BRIEFING_MAX_PAGES:
                warnings.append(ERR_BRIEFING_PAGES.format(pages=pages[BRIEFING_STEM], limit=BRIEFING_MAX_PAGES))
    except Exception as exc:  # noqa: BLE001 - every failure is kept and reported
        error = _describe_error(exc, timeout)
        error, kept = _keep_failed(tmp, target, current, error, mode=mode, ids=info.person_ids, quarter=quarter,
                                   withhold=isinstance(exc, SmallCountError))
        return ReportOutcome(quarter, False, target, error=error, seconds=time.monotonic() - t0, failed_at=kept)
    if not any(kind == "briefing" for kind, _, _ in jobs):
        _keep_briefing(target, tmp)
    files = tuple(sorted(p.name for p in tmp.iterdir()))
    _fsync_tree(tmp)
    os.chmod(tmp, 0o755)  # a report folder is for reading, once it is complete and checked
    _replace_dir(tmp, target)
    _forget_failure(quarter, target.parent)
    return ReportOutcome(
        quarter, True, target, files=files, seconds=time.monotonic() - t0, pages=pages, warnings=tuple(warnings)
    )


def failures_dir() -> Path:
    """Where failed runs are kept: ``$FAIRNESS_FAILED_DIR``, else ``$XDG_STATE_HOME/fairness/failed``
    (by default ``~/.local/state/fairness/failed``), beside the audit log and outside every report
    folder: a failed notebook may show a traceback, small counts or rows, so it is owner-only (0700)
    and never published."""
    value = os.environ.get(FAILED_DIR_ENV, "").strip()
    if value:
        return Path(value).expanduser()
    state = os.environ.get("XDG_STATE_HOME", "")
    base = Path(state) if state and os.path.isabs(state) else Path.home() / ".local" / "state"
    return base / "fairness" / FAILED_DIR


def _keep_briefing(target: Path, tmp: Path) -> None:
    """A run that did not render the briefing keeps the one already published (never deletes it)."""
    if not target.is_dir():
        return
    for suffix in (".html", ".pdf", ".ipynb"):
        old = target / f"{BRIEFING_STEM}{suffix}"
        if old.is_file() and not (tmp / old.name).exists():
            shutil.copy2(old, tmp / old.name)


def _keep_failed(
    tmp: Path | None,
    target: Path,
    job: tuple[str, Path, str] | None,
    error: str,
    *,
    mode: str,
    ids: frozenset[str],
    quarter: str,
    withhold: bool = False,
) -> tuple[str, Path | None]:
    """Keep the failed notebook (and its HTML with the code and the error) and ``error.txt`` in
    ``failures_dir()/<quarter>/`` (owner-only), replacing an older failure of that quarter; return
    the error text and the folder, or None with the reason added to the error when nothing could be
    kept (a full disk): the real error is never replaced by the failure to keep it.

    In publication mode, anything that shows a person_id of the input is not
    kept, and the error text is checked the same way; with ``withhold`` (the
    run was refused for a small count, which the notebook would show) only
    ``error.txt`` is kept.
    """
    if mode == "publication" and ids and find_person_ids({"error": error}, ids):
        error = "the error message quoted row-level data (a person_id) and is withheld; rerun in internal mode to see it"
    root = failures_dir()
    failed: Path | None = None
    try:
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(root, 0o700)
        failed = Path(tempfile.mkdtemp(prefix=f".{quarter}.tmp-", dir=root))  # 0700
        nb_path = tmp / f"{job[2]}.ipynb" if tmp is not None and job is not None else None
        if nb_path is not None and nb_path.is_file() and not (mode == "publication" and withhold):
            shutil.copyfile(nb_path, failed / nb_path.name)
            try:
                import nbformat

                nb = nbformat.read(nb_path, as_version=4)
                page = render_html(nb, title=f"FAILED: {job[2]}, {quarter}", mode="internal", show_code=True)
                (failed / f"{job[2]}.html").write_text(page, encoding="utf-8")
            except Exception:  # noqa: BLE001 - the notebook itself is still kept
                pass
        if mode == "publication" and ids:
            for p in list(failed.iterdir()):
                if find_person_ids({p.name: _published_text(p)}, ids):
                    p.unlink()
        (failed / "error.txt").write_text(
            f"quarter: {quarter}\noutput: {target.parent}\nnotebook: {job[1].name if job else '-'}\n"
            f"error: {error}\ntime: {datetime.now(UTC).isoformat(timespec='seconds')}\n",
            encoding="utf-8",
        )
        for p in failed.iterdir():
            os.chmod(p, 0o600)
        _fsync_tree(failed)
        _replace_dir(failed, root / quarter)
        return error, root / quarter
    except OSError as exc:
        if failed is not None:
            shutil.rmtree(failed, ignore_errors=True)
        return f"{error} (the failure could not be kept in {root}: {exc.strerror or exc})", None


def _forget_failure(quarter: str, out: Path) -> None:
    """After a success, remove the kept failure of that quarter if it was a run into ``out``."""
    folder = failures_dir() / quarter
    try:
        text = (folder / "error.txt").read_text(encoding="utf-8")
    except OSError:
        return
    if f"\noutput: {out}\n" in text:
        shutil.rmtree(folder, ignore_errors=True)


def _clean_stale(out: Path) -> list[str]:
    """Remove temporary folders that killed runs left in ``out`` (any quarter whose lock is free).

    A folder is stale when no running job holds its quarter's lock; one that
    does is left alone. Returns the names removed.
    """
    removed: list[str] = []
    for p in sorted(out.glob(".*.tmp-*")) if out.is_dir() else []:
        quarter = p.name[1:].split(".tmp-", 1)[0]
        if not _QUARTER_DIR.match(quarter) or not p.is_dir():
            continue
        try:
            fd = os.open(out / f".{quarter}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        try:
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p.name)
        finally:
            os.close(fd)
    return removed


def _one_line(error: str) -> str:
    """An error on one line (a cell-timeout message quotes the cell over several)."""
    first = error.strip().splitlines()[0] if error.strip() else error
    return first if len(first) <= 300 else first[:300] + " …"


# --------------------------------------------------------------------------- many quarters


def _fmt_seconds(s: float) -> str:
    return f"{s:.1f} s" if s < 120 else f"{int(s // 60)} min {int(s % 60):02d} s"


def run_reports(
    matrix: str | os.PathLike[str] | MatrixInfo,
    quarters: Sequence[str] = ("latest",),
    *,
    all_quarters: bool = False,
    out_dir: str | os.PathLike[str] = "reports",
    mode: Mode = "publication",
    briefing: bool = False,
    notebook: str | os.PathLike[str] | None = None,
    pdf: bool = True,
    timeout: float | None = None,
    parameters: Mapping[str, Any] | None = None,
    echo: Callable[[str], None] = print,
) -> list[ReportOutcome]:
    """Render several quarters; a failing quarter does not stop the others.

    Shows progress, each line starting with its UTC time in ISO 8601
    ("2026-01-05T06:30:12Z [i/n] quarter … ok in 12.3 s, elapsed 40.1 s"),
    rebuilds the trend appendix after each successful quarter and ends with
    the list of failures, each with its error (once) and the folder where it
    is kept. Temporary folders that killed runs left in ``out_dir`` are
    removed first. Without WeasyPrint the PDFs are skipped with a warning;
    the quarter does not fail for it. Returns one :class:`ReportOutcome` per quarter.
    """
    if mode not in MODES:
        raise ValueError(ERR_MODE.format(valid=", ".join(MODES), got=mode))
    plain_echo = echo

    def echo(message: str) -> None:
        plain_echo(f"{datetime.now(UTC).isoformat(timespec='seconds').replace('+00:00', 'Z')} {message}")

    info = matrix if isinstance(matrix, MatrixInfo) else inspect_matrix(matrix)
    todo = resolve_quarters(quarters, info.quarters, all_quarters=all_quarters, source=str(info.path))
    if notebook is None:
        notebook = notebook_path("report")
    if briefing:
        notebook_path("briefing")  # fail early if missing
    out = Path(out_dir)
    _mark_reports_dir(out)
    for name in _clean_stale(out):
        echo(f"removed {name}, left in {out}/ by a run that was killed")
    t0 = time.monotonic()
    outcomes: list[ReportOutcome] = []
    n = len(todo)
    echo(f"{info.path.name}: {len(info.quarters)} quarters; reporting {n} in {mode} mode into {out}/")
    for i, q in enumerate(todo, 1):
        echo(f"[{i}/{n}] {q}: running {Path(notebook).name}{' and the briefing' if briefing else ''} …")
        try:
            res = render_quarter(
                info, q, out_dir=out, mode=mode, briefing=briefing, notebook=notebook, pdf=pdf,
                timeout=timeout, parameters=parameters, echo=echo,
            )
        except Exception as exc:  # noqa: BLE001 - e.g. an unwritable folder or a full disk: report, go on
            error, kept = _keep_failed(None, out / q, None, _describe_error(exc, timeout), mode=mode,
                                       ids=info.person_ids, quarter=q)
            res = ReportOutcome(q, False, out / q, error=error, failed_at=kept)
        outcomes.append(res)
        elapsed = _fmt_seconds(time.monotonic() - t0)
        if res.ok:
            pages = ", ".join(f"{k}.pdf {v} page{'s' if v != 1 else ''}" for k, v in res.pages.items())
            echo(f"[{i}/{n}] {q}: ok in {_fmt_seconds(res.seconds)} → {res.directory}/ "
                 f"({pages or 'no PDF'}); elapsed {elapsed}")
            for w in res.warnings:
                echo(f"[{i}/{n}] warning: {w}")
            try:
                write_trend_appendix(out, pdf=pdf)
            except Exception as exc:  # noqa: BLE001 - the quarter itself is fine
                echo(f"[{i}/{n}] warning: trend appendix not rebuilt: {_describe_error(exc)}")
        else:
            echo(f"[{i}/{n}] {q}: FAILED after {_fmt_seconds(res.seconds)} (the error is listed at the end); "
                 f"elapsed {elapsed}")
    failed = [o for o in outcomes if not o.ok]
    done = n - len(failed)
    echo(f"done: {done} of {n} quarters rendered in {_fmt_seconds(time.monotonic() - t0)}")
    if done and (out / TREND_APPENDIX).is_file():
        echo(f"trend appendix: {out / TREND_APPENDIX}")
    if failed:
        echo(f"{len(failed)} failed:")
        for o in failed:
            where = f"kept in {o.failed_at}/ (owner-only)" if o.failed_at else "nothing could be kept"
            echo(f"  {o.quarter}: {_one_line(o.error)}; {where}")
    return outcomes


# --------------------------------------------------------------------------- trend appendix


def _records(metrics: Mapping[str, Any], name: str) -> pd.DataFrame:
    value = metrics.get(name)
    if isinstance(value, list):
        return pd.DataFrame(value)
    if isinstance(value, Mapping) and "data" in value:  # pandas "table"/"split" orient
        return pd.DataFrame(value["data"], columns=value.get("columns"))
    return pd.DataFrame()


def _pick(df: pd.DataFrame, **where: Any) -> pd.Series | None:
    sub = df
    for k, v in where.items():
        if k not in sub.columns:
            return None
        sub = sub[sub[k] == v]
    return sub.iloc[0] if len(sub) else None


def _num(row: pd.Series | None, col: str) -> float | str:
    """A number of a metrics record; a marker such as "[c]" (suppressed) is kept as it is."""
    if row is None or col not in row.index or row[col] is None:
        return float("nan")
    try:
        return float(row[col])
    except (TypeError, ValueError):
        return str(row[col])


def headline_metrics(metrics: Mapping[str, Any], *, group: str = "Black") -> dict[str, Any]:
    """The per-quarter headline numbers of one ``metrics.json`` (as a flat dict)."""
    rep = _records(metrics, "representation")
    rr = _records(metrics, "relative_rate")
    nr = _records(metrics, "no_risk")
    bor = _records(metrics, "boroughs")
    bench = str(rep["benchmark"].iloc[0]) if "benchmark" in rep and len(rep) else None
    rep_row = _pick(rep, benchmark=bench, group=group) if bench else _pick(rep, group=group)
    rr_bench = str(rr["benchmark"].iloc[0]) if "benchmark" in rr and len(rr) else None
    rr_row = _pick(rr, benchmark=rr_bench, group=group) if rr_bench else _pick(rr, group=group)
    nr_row = None
    if len(nr):
        overall = nr[nr["by"].astype(str).isin(["", "all", "overall", "None"])] if "by" in nr else nr
        if overall.empty and "n" in nr:
            overall = nr.sort_values("n", ascending=False, kind="stable")
        nr_row = overall.iloc[0] if len(overall) else None
    flagged: float = float("nan")
    if "flag" in bor:
        # boroughs far above London on the no-risk share (the one the appendix names)
        no_risk = bor[bor["metric"] == "no_risk_share"] if "metric" in bor else bor
        flagged = float(no_risk["flag"].astype(str).str.startswith("above_99.8").sum())
    return {
        "quarter": metrics.get("quarter"),
        "mode": metrics.get("mode", ""),
        "n": metrics.get("n"),
        "quarantined": metrics.get("quarantined"),
        "group": group,
        "benchmark": str(rep_row["benchmark_label"]) if rep_row is not None and "benchmark_label" in rep_row else bench,
        "share": _num(rep_row, "share"),
        "benchmark_share": _num(rep_row, "benchmark_share"),
        "ratio": _num(rep_row, "ratio"),
        "ratio_low": _num(rep_row, "ci_low"),
        "ratio_high": _num(rep_row, "ci_high"),
        "reference": str(rr_row["reference"]) if rr_row is not None and "reference" in rr_row else "",
        "rri": _num(rr_row, "rri"),
        "rri_low": _num(rr_row, "ci_low"),
        "rri_high": _num(rr_row, "ci_high"),
        "no_risk_share": _num(nr_row, "share"),
        "no_risk_low": _num(nr_row, "ci_low"),
        "no_risk_high": _num(nr_row, "ci_high"),
        "boroughs_above_998": flagged,
    }


def collect_metrics(out_dir: str | os.PathLike[str]) -> pd.DataFrame:
    """Headline metrics of every ``<out_dir>/<quarter>/metrics.json``, one row per quarter."""
    rows = []
    for d in sorted(Path(out_dir).iterdir()) if Path(out_dir).is_dir() else []:
        f = d / METRICS_FILE
        if _QUARTER_DIR.match(d.name) and f.is_file():
            try:
                metrics = json.loads(f.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError):
                continue
            row = headline_metrics(metrics)
            row["quarter"] = row["quarter"] or d.name
            rows.append(row)
    return pd.DataFrame(rows)


def _trend_figure(table: pd.DataFrame) -> str:
    """The appendix chart (:func:`fairness.plots.headline_trend`, drawn per quarter with gaps) as an inline PNG."""
    import base64
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from fairness import plots

    with plots.use_style():
        fig = Figure(figsize=(7.0, 3.8), dpi=150, layout="constrained")
        FigureCanvasAgg(fig)  # drawn without pyplot: no global figure state in the runner
        ax = fig.subplots()
        plots.headline_trend(table, group=str(table["group"].iloc[0]), ax=ax,
                             title="Headline measures by quarter reported")
        buf = io.BytesIO()
        fig.savefig(buf, format="png", metadata={"Software": None})
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return ('<figure class="chart"><img alt="Line chart of the headline measures of each quarter reported; '
            f'quarters with no report are gaps" src="data:image/png;base64,{data}" style="max-width:100%">'
            "<figcaption>Each quarter reported. Bars and the shaded band: 95% intervals of the no-risk share. "
            "Grey: quarters with no report, so nothing is known there and no line crosses them.</figcaption></figure>")


def _synthetic_reports(out: Path, quarters: Sequence[str]) -> bool:
    """True when any quarter's report says its data are synthetic (the appendix then says so too)."""
    for q in quarters:
        page = out / str(q) / f"{REPORT_STEM}.html"
        try:
            if page.is_file() and "synthetic-strip" in page.read_text(encoding="utf-8", errors="replace"):
                return True
        except OSError:
            continue
    return False


def _write_atomically(target: Path, write: Callable[[Path], None]) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_trend_appendix(out_dir: str | os.PathLike[str], *, pdf: bool = False) -> Path | None:
    """Rebuild ``<out_dir>/trend_appendix.html`` (and ``.pdf`` with ``pdf=True``) from every ``metrics.json``.

    Returns the path of the HTML page, or None when no quarter has metrics yet.
    """
    from fairness.report import format as fr

    out = Path(out_dir)
    with _locked(out / ".trend_appendix.lock"):
        table = collect_metrics(out)
        if table.empty:
            return None
        modes = sorted(set(table["mode"].astype(str)) - {""})
        if "publication" in modes and len(modes) > 1:  # never mix modes: internal quarters stay out (issue 12)
            table = table[table["mode"].astype(str) == "publication"].reset_index(drop=True)
            modes = ["publication"]
        shown = pd.DataFrame(
            {
                "Quarter": table["quarter"],
                "People listed": table["n"].map(fr.fmt_int),
                f"{table['group'].iloc[0]} share": table["share"].map(fr.fmt_pct),
                "Representation ratio (95% CI)": [
                    fr.fmt_ratio(r, lo, hi) for r, lo, hi in zip(table["ratio"], table["ratio_low"], table["ratio_high"], strict=True)
                ],
                f"RRI vs {table['reference'].iloc[0] or 'reference'} (95% CI)": [
                    fr.fmt_ratio(r, lo, hi) for r, lo, hi in zip(table["rri"], table["rri_low"], table["rri_high"], strict=True)
                ],
                "No-risk share (95% CI)": [
                    fr.fmt_share(s, lo, hi)
                    for s, lo, hi in zip(table["no_risk_share"], table["no_risk_low"], table["no_risk_high"], strict=True)
                ],
                "Boroughs with a no-risk share far above London's": table["boroughs_above_998"].map(fr.fmt_int),
                "Rows quarantined (file)": table["quarantined"].map(fr.fmt_int),
            }
        )
        tbl = fr.Table(
            shown,
            caption="Headline measures of every quarter reported",
            note=f"Representation ratio against {table['benchmark'].iloc[0]} "
            f"({table['group'].iloc[0]} share of that population: "
            f"{', '.join(sorted(set(table['benchmark_share'].map(fr.fmt_pct))))}). Built from the metrics.json "
            "beside each quarter's report; a quarter appears here once its report has been rendered. "
            "Boroughs far above London: outside the range that chance and the usual spread between boroughs "
            "would explain (the 99.8% funnel limit, in the report's methods).",
            numeric=tuple(shown.columns[1:]),
        )
        n = len(table)
        first, last = html.escape(str(table["quarter"].iloc[0])), html.escape(str(table["quarter"].iloc[-1]))
        span = f"{n} quarter reported, {first}" if n == 1 else f"{n} quarters reported, {first} to {last}"
        strip = ""
        if _synthetic_reports(out, table["quarter"].astype(str).tolist()):
            strip = ('<p class="synthetic-strip">SYNTHETIC DATA: these figures were generated by '
                     "<code>fairness synth</code> to match published figures; they describe no real person.</p>\n")
        mixed = len(modes) > 1
        body = (
            '<h1 id="trend-appendix">Trend appendix</h1>\n'
            + strip
            + f'<p class="lede">{span}. Quarters with no report are gaps in the chart, not lines.'
            + (" <strong>Warning: these quarters were rendered in different modes "
               f"({html.escape(', '.join(modes))}).</strong>" if mixed else "")
            + "</p>\n"
            + _trend_figure(table)
            + "\n"
            + tbl.to_html()
        )
        mode = "internal" if "internal" in modes else "publication"
        page = _page(body, title="Gang database oversight: trend appendix", mode=mode, footer="Trend appendix")
        target = out / TREND_APPENDIX
        _write_atomically(target, lambda p: p.write_text(page, encoding="utf-8"))
        if pdf:
            _write_atomically(target.with_suffix(".pdf"), lambda p: render_pdf(page, p, base_url=str(out)))
        return target


# --------------------------------------------------------------------------- signals


@contextlib.contextmanager
def terminate_gracefully() -> Iterator[None]:
    """Turn SIGTERM into KeyboardInterrupt, so a stopped job removes its temporary folder."""

    def _handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, _handler)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
