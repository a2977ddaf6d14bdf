"""Render the quarterly oversight report: notebook → HTML → PDF, atomically.

:func:`run_reports` is what ``fairness report`` runs. For each quarter it

1. takes a lock on ``<out>/.<quarter>.lock`` (``fcntl``), so two jobs for the
   same quarter run one after the other instead of writing over each other;
2. audits the quarter once, from the file read and validated once for the
   whole run (:func:`inspect_matrix`), and hands the result to the report
   and the briefing through a private file outside the report folder, removed
   with the run (:mod:`~fairness.report.handoff`; the notebooks' ``audit_file``
   parameter), then executes the report notebook with papermill (kernel
   ``python3``, which resolves to the Python running this code) into a hidden
   temporary folder beside the target, ``<out>/.<quarter>.tmp-*`` (same file
   system);
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

This module keeps the orchestration (reading the input once, the steps of one
quarter, keeping failures, many quarters); each step lives in its own module:
:mod:`~fairness.report.swap` (locks and atomic folder swaps),
:mod:`~fairness.report.execute` (running notebooks),
:mod:`~fairness.report.handoff` (the audit handed to the notebooks),
:mod:`~fairness.report.render` (HTML and PDF),
:mod:`~fairness.report.leakscan` (what must not be published),
:mod:`~fairness.report.appendix` (the trend appendix) and
:mod:`~fairness.report.layout` (the names of what a report folder holds).
Their public names are re-exported here.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fairness.errors import PersonIdLeakError, ReportFolderError, SmallCountError
from fairness.quarters import POOLED, normalise_quarter, quarter_label
from fairness.report import execute
from fairness.report.appendix import collect_metrics, headline_metrics, write_trend_appendix
from fairness.report.execute import (
    KERNEL_NAME,
    NOTEBOOKS,
    describe_error,
    notebook_path,
    reproducible_env,
    terminate_gracefully,
)
from fairness.report.handoff import Handoff, audit_options
from fairness.report.layout import (
    BRIEFING_MAX_PAGES,
    BRIEFING_STEM,
    FAILED_DIR,
    FAILED_DIR_ENV,
    INTERNAL_OUT,
    METRICS_FILE,
    POOLED_DIR,
    REPORT_DIR,
    REPORT_STEM,
    TREND_APPENDIX,
)
from fairness.report.leakscan import (
    check_metrics,
    check_metrics_file,
    check_no_paths,
    check_publication,
    find_person_ids,
    published_text,
    strip_paths,
)
from fairness.report.render import (
    ERR_MODE,
    MODES,
    PDF_SKIPPED,
    Mode,
    RenderedPdf,
    pdf_available,
    render_html,
    render_pdf,
)
from fairness.report.swap import clean_stale, fsync_tree, locked, recover, replace_dir

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
    "refuse_pooled",
    "render_html",
    "render_pdf",
    "render_quarter",
    "resolve_quarters",
    "run_reports",
    "terminate_gracefully",
    "write_trend_appendix",
    # names of the report folder and the notebooks, for callers of the runner
    "BRIEFING_STEM",
    "INTERNAL_OUT",
    "KERNEL_NAME",
    "METRICS_FILE",
    "MODES",
    "REPORT_STEM",
    "TREND_APPENDIX",
    "collect_metrics",
    "failures_dir",
    "headline_metrics",
]

ERR_NO_QUARTERS = "{source}: no valid rows, so no quarter to report"
#: ``fairness report --quarter Q`` of a pooled list (no snapshots): refused before any notebook runs. Without
#: ``--quarter`` (or with ``latest``) the list is reported as supplied, in ``<out>/pooled/``.
ERR_POOLED = ("{source}: a pooled list ({why}) has no quarters, so --quarter {asked} cannot be reported; leave "
              "--quarter out to report the list as supplied (in {folder}/)")
ERR_UNKNOWN_QUARTER = "quarter {quarter} is not in {source}; it has {available}"
ERR_NO_METRICS = "the notebook finished but did not write {file} (its metrics_path parameter)"
ERR_BRIEFING_PAGES = "the briefing prints to {pages} pages; at most {limit} are allowed"



# --------------------------------------------------------------------------- input


@dataclass(frozen=True)
class MatrixInfo:
    """What the runner needs to know about the input before running notebooks."""

    path: Path
    sha256: str
    quarters: tuple[str, ...]
    person_ids: frozenset[str]
    validation: Any = field(repr=False, default=None)
    #: why the list is pooled ("no snapshot_date column", ...), or "" for a list with snapshots
    pooled: str = ""


def inspect_matrix(matrix: str | os.PathLike[str], *, log_as: str | None = "report",
                   profile: Any = None) -> MatrixInfo:
    """Read and validate ``matrix`` once: its quarters, digest and person ids.

    The ids (valid and quarantined rows) are kept only in memory, to check
    that none reaches a publication-mode report. The read is written to the
    audit log as ``log_as`` (None: the caller logs it, as ``fairness report`` does).
    With ``profile``, the rows are validated against the profile's areas and groups.
    """
    from fairness.counts.duck import (
        ParquetValidation,
        quarters_and_ids,
        read_file_and_log,
        validate_file,
    )

    path = Path(matrix).resolve()
    # read and validated by DuckDB, as the notebooks' fairness.audit(path) reads it (issue 10)
    res = (validate_file(path, profile=profile) if log_as is None
           else read_file_and_log(path, command=log_as, profile=profile))
    quarters: tuple[str, ...] = ()
    ids: set[str] = set()
    if isinstance(res, ParquetValidation):
        quarters, ids = quarters_and_ids(res)
    elif len(res.valid) and "snapshot_date" in res.valid.columns:
        quarters = tuple(sorted(quarter_label(res.valid["snapshot_date"]).unique()))
    for frame in (res.valid, res.quarantined):
        if "person_id" in frame.columns:
            ids.update(str(v).strip() for v in frame["person_id"].dropna())
    ids.discard("")
    pooled = _pooled(res, profile)
    if pooled:
        quarters = (POOLED,)
    return MatrixInfo(path=path, sha256=res.sha256, quarters=quarters, person_ids=frozenset(ids), validation=res,
                      pooled=pooled)


def _pooled(res: Any, profile: Any) -> str:
    """Why the validated list is pooled, as :func:`fairness.audit` decides it
    (:func:`fairness.results.audit.pooled_reason`), or "" if it is not. A file without a
    ``snapshot_date`` column is validated in memory (never a ``ParquetValidation``); a file's
    snapshot dates are counted in DuckDB, without taking its rows out."""
    from fairness.counts.duck import ParquetValidation, valid_date_count
    from fairness.profiles import DEFAULT_PROFILE, load_profile
    from fairness.results.audit import pooled_reason

    if isinstance(res, ParquetValidation):
        if res.session is None or res.n_valid == 0:
            return ""
        return pooled_reason(has_dates=True, has_snapshots=load_profile(profile or DEFAULT_PROFILE).list.has_snapshots,
                             count_dates=lambda: valid_date_count(res))
    if not len(res.valid):
        return ""
    return pooled_reason(has_dates="snapshot_date" in res.valid.columns,
                         has_snapshots=load_profile(profile or DEFAULT_PROFILE).list.has_snapshots,
                         count_dates=lambda: res.valid["snapshot_date"].nunique())


def refuse_pooled(info: MatrixInfo, quarters: Sequence[str] = ("latest",)) -> None:
    """Raise ``ValueError`` (:data:`ERR_POOLED`) if ``info`` is a pooled list and ``quarters`` names a
    quarter: a pooled list has none. ``latest`` (the default) and ``pooled`` report the list as
    supplied, in ``<out>/pooled/``; a list with snapshots passes whatever is asked.

    :func:`run_reports` calls it before it touches the report folder (``fairness report`` goes
    through it), and :func:`render_quarter` for a caller that renders one quarter itself; in
    :func:`run_reports`' own calls of :func:`render_quarter` the quarter is already resolved, so the
    second call finds nothing to refuse."""
    why = info.pooled  # "" for a list with snapshots
    if not why:
        return
    asked = [str(q) for q in quarters if str(q).strip().lower() not in ("latest", POOLED)]
    if asked:
        raise ValueError(ERR_POOLED.format(source=info.path, why=why, asked=", ".join(asked), folder=POOLED_DIR))


def _list_title(profile: Any) -> str:
    """"Gang database" (the default), or the profile's list name ("Stop and search") in titles
    (:func:`fairness.report.format.list_title` of the profile's place)."""
    from types import SimpleNamespace

    from fairness.report.format import list_title
    from fairness.results.sentences import place

    return list_title(place(SimpleNamespace(profile=profile)) if profile else None)


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
        asked = str(q).strip().lower()
        label = available[-1] if asked == "latest" else POOLED if asked == POOLED else normalise_quarter(q)
        if label not in available:
            shown = f"{len(available)} quarters, {available[0]} to {available[-1]}"
            raise ValueError(ERR_UNKNOWN_QUARTER.format(quarter=label, source=source, available=shown))
        if label not in out:
            out.append(label)
    return out


#: What a report folder may hold besides quarter folders (a README or git's files are fine).
_REPORT_DIR_EXTRAS = frozenset({"README", "README.md", "README.txt", ".gitignore", ".gitkeep"})


def _foreign_entries(out: Path) -> list[str]:
    """Entries of an existing folder that a report run did not write (sorted), or [] if none."""
    from fairness.io.safe_write import REPORTS_MARKER

    own = {REPORTS_MARKER, TREND_APPENDIX, Path(TREND_APPENDIX).with_suffix(".pdf").name, *_REPORT_DIR_EXTRAS}
    foreign = []
    for entry in out.iterdir():
        name = entry.name
        bare = name[1:] if name.startswith(".") else name
        if name in own or REPORT_DIR.match(name) or (
            name.startswith(".") and (REPORT_DIR.match(bare.split(".", 1)[0]) or bare.startswith("trend_appendix"))):
            continue  # a quarter (or a pooled list's report), the appendix, or a lock / temporary folder of a run
        foreign.append(name + ("/" if entry.is_dir() else ""))
    return sorted(foreign)


def _mark_reports_dir(out: Path) -> None:
    """Mark ``out`` as a report output folder, so that no row-level file is ever written under it.

    An existing folder that is not marked yet must hold nothing but report
    output: marking a project folder (``--out .``) would then refuse every
    row-level file under it, and its files would sit beside published reports.
    """
    from fairness.io.safe_write import REPORTS_MARKER

    if out.is_dir() and not (out / REPORTS_MARKER).exists():
        foreign = _foreign_entries(out)
        if foreign:
            shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
            raise ReportFolderError(
                f"--out {out}: this folder already holds files that are not reports ({shown}). Reports "
                "need a folder of their own, because it is marked as a publication folder where no "
                "row-level file may be written: give a new or empty folder (the default is reports/)."
            )
    try:
        out.mkdir(parents=True, exist_ok=True)
        marker = out / REPORTS_MARKER
        if not marker.exists():
            marker.write_text("fairness report output: no row-level data may be written here\n", encoding="utf-8")
    except OSError:
        pass  # a read-only folder: the run reports that itself


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
        info = inspect_matrix(info, profile=(parameters or {}).get("profile"))
    refuse_pooled(info, [quarter])
    (quarter,) = resolve_quarters([quarter], info.quarters, source=str(info.path))
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    _mark_reports_dir(out)
    clean_stale(out)
    target = out / quarter
    jobs = [("report", Path(notebook) if notebook else notebook_path("report"), REPORT_STEM)]
    if briefing:
        jobs.append(("briefing", notebook_path("briefing"), BRIEFING_STEM))
    t0 = time.monotonic()
    with locked(out / f".{quarter}.lock", echo, quarter), reproducible_env():
        recover(out, quarter)
        # owner-only (mkdtemp: 0700) while it is written: metrics and the notebook are not for
        # other users until checked; opened to readers (0755) only when swapped in
        tmp = Path(tempfile.mkdtemp(prefix=f".{quarter}.tmp-", dir=out))
        try:
            # the quarter's audit is handed to its notebooks from a private folder of its own
            # (fairness.report.handoff), removed with the run; without the validation, they read the file
            with Handoff() if info.validation is not None else contextlib.nullcontext() as handoff:
                return _render_into(tmp, target, info, quarter, jobs, mode=mode, pdf=pdf, timeout=timeout,
                                    parameters=parameters or {}, t0=t0, handoff=handoff)
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
    handoff: Handoff | None = None,
) -> ReportOutcome:
    run_time = datetime.now(UTC).isoformat(timespec="seconds")
    handed: dict[str, Path] = {}
    from fairness.results.sentences import period

    when = period(quarter)  # a pooled list: "the list as supplied", not its label
    title_base = f"{_list_title(parameters.get('profile'))} oversight report, {when}"
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
            if handoff is not None:  # the audit made once, from the file read once (issue 10)
                params.update(_hand_over(handoff, handed, info, quarter, template, parameters))
            execute.run_notebook(template, tmp / f"{stem}.ipynb", params, cwd=tmp, timeout=timeout)
            if kind == "report" and not (tmp / METRICS_FILE).is_file():
                raise RuntimeError(ERR_NO_METRICS.format(file=METRICS_FILE))
            if kind == "report" and mode == "publication":
                check_metrics_file(tmp / METRICS_FILE, parameters.get("disclosure_threshold"))
            import nbformat

            nb = nbformat.read(tmp / f"{stem}.ipynb", as_version=4)
            title = title_base if kind == "report" else f"Scrutiny briefing, {when}"
            page = render_html(nb, title=title, mode=mode, kind=kind)  # type: ignore[arg-type]
            (tmp / f"{stem}.html").write_text(page, encoding="utf-8")
        if mode == "publication":
            strip_paths(tmp, [stem for _, _, stem in jobs])
            check_publication(tmp, info.person_ids)  # before spending time on PDFs
            check_no_paths(tmp, [info.path, info.path.parent, tmp, target, Path.home(),
                                 *([handoff.folder] if handoff is not None else [])])
        if pdf and not pdf_available():
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
        error = describe_error(exc, timeout)
        error, kept = _keep_failed(tmp, target, current, error, mode=mode, ids=info.person_ids, quarter=quarter,
                                   withhold=isinstance(exc, SmallCountError))
        return ReportOutcome(quarter, False, target, error=error, seconds=time.monotonic() - t0, failed_at=kept)
    if not any(kind == "briefing" for kind, _, _ in jobs):
        _keep_briefing(target, tmp)
    files = tuple(sorted(p.name for p in tmp.iterdir()))
    fsync_tree(tmp)
    os.chmod(tmp, 0o755)  # a report folder is for reading, once it is complete and checked
    replace_dir(tmp, target)
    _forget_failure(quarter, target.parent)
    return ReportOutcome(
        quarter, True, target, files=files, seconds=time.monotonic() - t0, pages=pages, warnings=tuple(warnings)
    )


def _notebook_defaults(template: Path) -> dict[str, Any] | None:
    """The defaults of a notebook's parameters cell (literals), or None if it takes no ``audit_file``
    or a default is not a literal: such a notebook audits the file itself."""
    import ast

    import papermill as pm

    found = pm.inspect_notebook(str(template))
    if "audit_file" not in found:
        return None
    try:
        return {name: ast.literal_eval(p["default"]) for name, p in found.items()
                if name in ("benchmarks", "reference", "alpha", "profile")}
    except (ValueError, SyntaxError):
        return None


def _hand_over(handoff: Handoff, handed: dict[str, Path], info: MatrixInfo, quarter: str, template: Path,
               parameters: Mapping[str, Any]) -> dict[str, str]:
    """``{"audit_file": path}`` for a notebook that takes one: the quarter audited once from the
    validation :func:`inspect_matrix` made, with the options the notebook will run with (its
    defaults, or ``parameters``), written by ``handoff``; shared by the notebooks of the quarter
    that use the same options. ``{}`` for a notebook that audits the file itself."""
    from fairness.results.audit import audit

    defaults = _notebook_defaults(template)
    if defaults is None:
        return {}
    given = {name: parameters.get(name, defaults.get(name)) for name in ("benchmarks", "reference", "alpha",
                                                                        "profile")}
    options = audit_options(quarter=quarter, **given)
    key = repr(sorted(options.items()))
    if key not in handed:
        result = audit(info.validation, quarter=quarter, benchmarks=options["benchmarks"],
                       reference=options["reference"], alpha=options["alpha"], profile=options["profile"])
        handed[key] = handoff.write(result, options, f"audit-{quarter}-{len(handed) + 1}")
    return {"audit_file": str(handed[key])}


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
                if find_person_ids({p.name: published_text(p)}, ids):
                    p.unlink()
        (failed / "error.txt").write_text(
            f"quarter: {quarter}\noutput: {target.parent}\nnotebook: {job[1].name if job else '-'}\n"
            f"error: {error}\ntime: {datetime.now(UTC).isoformat(timespec='seconds')}\n",
            encoding="utf-8",
        )
        for p in failed.iterdir():
            os.chmod(p, 0o600)
        fsync_tree(failed)
        replace_dir(failed, root / quarter)
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

    info = matrix if isinstance(matrix, MatrixInfo) else inspect_matrix(
        matrix, profile=(parameters or {}).get("profile"))
    refuse_pooled(info, quarters)
    todo = resolve_quarters(quarters, info.quarters, all_quarters=all_quarters, source=str(info.path))
    if notebook is None:
        notebook = notebook_path("report")
    if briefing:
        notebook_path("briefing")  # fail early if missing
    out = Path(out_dir)
    _mark_reports_dir(out)
    for name in clean_stale(out):
        echo(f"removed {name}, left in {out}/ by a run that was killed")
    t0 = time.monotonic()
    outcomes: list[ReportOutcome] = []
    n = len(todo)
    if info.pooled:
        echo(f"{info.path.name}: a pooled list ({info.pooled}), no quarters; reporting the list as supplied "
             f"in {mode} mode into {out / POOLED_DIR}/")
    else:
        echo(f"{info.path.name}: {len(info.quarters)} quarters; reporting {n} in {mode} mode into {out}/")
    for i, q in enumerate(todo, 1):
        echo(f"[{i}/{n}] {q}: running {Path(notebook).name}{' and the briefing' if briefing else ''} …")
        try:
            res = render_quarter(
                info, q, out_dir=out, mode=mode, briefing=briefing, notebook=notebook, pdf=pdf,
                timeout=timeout, parameters=parameters, echo=echo,
            )
        except Exception as exc:  # noqa: BLE001 - e.g. an unwritable folder or a full disk: report, go on
            error, kept = _keep_failed(None, out / q, None, describe_error(exc, timeout), mode=mode,
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
                echo(f"[{i}/{n}] warning: trend appendix not rebuilt: {describe_error(exc)}")
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

