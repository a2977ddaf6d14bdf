"""What must never reach a publication: person ids, small counts, paths of this machine.

Run by the report runner on everything it is about to publish, before the
folder is swapped into place:

* :func:`check_metrics`: ``metrics.json`` must hold an audit in publication
  mode with no count from 1 to 9, and pass the publication audit
  (:mod:`fairness.publish.intruder`);
* :func:`check_publication`: no ``person_id`` of the input in any published
  text (:func:`find_person_ids`; the ids are never returned, so no error can
  leak them);
* :func:`strip_paths` and :func:`check_no_paths`: papermill's paths removed
  from the executed notebooks, and a publication refused if a path of this
  machine (the input, the output, home) is still in it.
"""

from __future__ import annotations

import html
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from fairness.errors import PersonIdLeakError, SmallCountError
from fairness.report.layout import METRICS_FILE

__all__ = [
    "ERR_LEAK",
    "ERR_NOT_PROTECTED",
    "ERR_PATH_LEAK",
    "ERR_SMALL_COUNT",
    "check_metrics",
    "check_metrics_file",
    "check_no_paths",
    "check_publication",
    "find_person_ids",
    "published_text",
    "strip_paths",
]

ERR_LEAK = (
    "{count} person_id value(s) from the input appear in {files}; a publication-mode "
    "report must hold no row-level data, so nothing was published"
)
ERR_SMALL_COUNT = (
    "{count} count(s) from 1 to {largest} would appear in {file} ({cells}); a publication-mode "
    "report must not show a count below {threshold}, so nothing was published; rerun in internal "
    "mode to see the tables"
)
ERR_NOT_PROTECTED = (
    "{file} holds an audit in {mode!r} mode; a publication-mode report must publish the output of "
    "AuditResult.for_publication(), so nothing was published"
)


_DATA_URI = re.compile(r"data:[\w/+.\-]+;base64,[A-Za-z0-9+/=\s]+")
_TOKEN_SPLITS = (re.compile(r"[^\w\-]+"), re.compile(r"[^\w]+"), re.compile(r"[^\w\-./:]+"))
#: An all-digit id shorter than this cannot be told from a count in a report;
#: the fallback scan skips it (fairness.publish.privacy.scan_publication, when
#: present, decides for itself).
_MIN_NUMERIC_ID = 8


def published_text(path: Path) -> str:
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
    from fairness.results.contract import read_json_table

    if threshold is None:
        threshold = DEFAULT_SUPPRESSION_THRESHOLD
    mode = metrics.get("mode")
    if mode != "publication":
        raise SmallCountError(ERR_NOT_PROTECTED.format(file=file, mode=mode))
    try:  # either JSON format (fairness.results.contract.read_json_table); an unknown shape is refused
        tables = {name: read_json_table(metrics, name) for name in TABLES}
    except ValueError as exc:
        raise SmallCountError(f"{file} cannot be checked before publication: {exc}") from exc
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


def check_metrics_file(path: Path, threshold: int | None) -> None:
    try:
        metrics = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise SmallCountError(f"{path.name} cannot be read to check it before publication: {exc}") from exc
    check_metrics(metrics, threshold=threshold, file=path.name)


def check_publication(folder: Path, ids: frozenset[str]) -> None:
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in (".html", ".ipynb", ".json", ".txt"))
    texts = {str(p.relative_to(folder)): published_text(p) for p in files}
    hits = find_person_ids(texts, ids)
    if hits:
        count = max(hits.values())
        raise PersonIdLeakError(ERR_LEAK.format(count=count, files=", ".join(sorted(hits))))


ERR_PATH_LEAK = (
    "{files} would publish a path of this machine ({what}); nothing was published. A publication holds no "
    "absolute path (papermill metadata and the parameters cell are stripped; do not print paths in a cell)"
)
_ABSOLUTE = re.compile(r"""(['"])((?:/|[A-Za-z]:[\\/])[^'"]*)\1""")


def strip_paths(folder: Path, stems: Iterable[str]) -> None:
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


def check_no_paths(folder: Path, paths: Iterable[os.PathLike[str] | str]) -> None:
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

