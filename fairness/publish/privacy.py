"""Data protection: pseudonymisation, the audit log, and the publication scan.

A gang database extract is among the most sensitive data a police force holds,
about people already harmed by careless handling of it. This module holds the
three safeguards that are not statistics:

**Pseudonymisation** (:func:`pseudonymise_ids`, :func:`pseudonymise_file`,
:func:`load_key`) replaces ``person_id`` with a keyed hash,

.. math:: \\text{pseudonym}(id) = \\texttt{"p\\_"} \\,\\|\\,
          \\operatorname{hex}\\bigl(\\operatorname{HMAC-SHA256}(key,\\ \\operatorname{utf8}(id))\\bigr)_{1..32}

(``id`` with surrounding spaces removed, as validation compares ids). The same
key gives the same pseudonym in every file and quarter, so people can still be
followed over time; without the key the ids cannot be recomputed, even by
trying every possible id. 32 hex characters are 128 bits: for ``n`` distinct
ids the chance that any two share a pseudonym is about ``n**2 / 2**129``,
3e-27 for a million ids. The key comes from the environment variable
``FAIRNESS_PSEUDONYM_KEY`` or a key file, never from the command line (where it
would be kept in shell history and shown to other users by ``ps``) and never
from the repository. Pseudonymised data is still personal data (UK GDPR
recital 26): the output is written owner-only like any row-level file.
Anyone can reproduce a pseudonym with standard tools, e.g.
``printf %s P123 | openssl dgst -sha256 -hmac "$FAIRNESS_PSEUDONYM_KEY"``.

**The audit log** (:func:`log_read`, :func:`log_event`, :func:`audit_log_path`)
meets the logging duty of the Data Protection Act 2018, s.62 (law-enforcement
processing: collection, alteration, consultation, disclosure, combination and
erasure are logged, with date, time and, as far as possible, who). Every
command that reads a matrix appends one JSON line: time (UTC), user, host,
command, the s.62 operation, the input's path and SHA-256, row counts, the
files written and the toolkit version; never a row, a value or an identifier.
If the line cannot be written the command fails (exit 2): a run that skipped
the duty would be unlawful, and silence would hide it.

**The publication scan** (:func:`scan_publication`) is the last check before
something leaves the building: it raises :class:`PublicationLeakError` if any
person_id of the input appears in a report's text or tables, or a table shows
a count from 1 to ``threshold - 1``.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import html
import io
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from fairness.definitions import DEFAULT_SUPPRESSION_THRESHOLD
from fairness.errors import PseudonymKeyError, PublicationLeakError
from fairness.io.audit_log import (  # the audit log lives beside the reading it records; re-exported
    AUDIT_LOG_ENV,
    AUDIT_PURPOSE_ENV,  # noqa: F401  (re-exported)
    ERR_AUDIT_FIELD,  # noqa: F401  (re-exported)
    ERR_AUDIT_OFF,  # noqa: F401  (re-exported)
    ERR_AUDIT_WRITE,  # noqa: F401  (re-exported)
    OPERATIONS,  # noqa: F401  (re-exported)
    AuditLogError,
    audit_log_path,
    check_audit_log,
    log_event,
    log_failed_read,
    log_read,
)
from fairness.io.safe_write import refuse_reports_dir, write_private_bytes, write_private_csv

__all__ = [
    "AUDIT_LOG_ENV",
    "KEY_ENV",
    "MIN_KEY_BYTES",
    "AuditLogError",
    "PseudonymKeyError",
    "PublicationLeakError",
    "PublicationScan",
    "audit_log_path",
    "check_audit_log",
    "load_key",
    "log_event",
    "log_read",
    "pseudonymise_file",
    "pseudonymise_ids",
    "scan_publication",
]

#: Environment variable holding the pseudonymisation key.
KEY_ENV = "FAIRNESS_PSEUDONYM_KEY"
#: Shortest key accepted, in bytes.
MIN_KEY_BYTES = 16
#: Pseudonyms are this prefix and this many lowercase hex characters (128 bits).
PSEUDONYM_PREFIX, PSEUDONYM_HEX = "p_", 32

# ---------------------------------------------------------------- messages
# Tests compare against these, so change them here and nowhere else.
ERR_NO_KEY = (
    "no pseudonymisation key. Put the key in the environment variable {env} or in a file "
    "given with --key-file PATH (owner-only, outside any git repository). Make one with: "
    "python -c \"import secrets; print(secrets.token_hex(32))\" > PATH && chmod 600 PATH. "
    "Keep it safe: the same key must be used for every file that is to be linked."
)
ERR_EMPTY_ENV_KEY = "the environment variable {env} is set but empty; " + ERR_NO_KEY[len("no pseudonymisation key. "):]
ERR_SHORT_KEY = (
    "the pseudonymisation key is {n} bytes long; at least {min} are needed "
    "(e.g. 64 hex characters from secrets.token_hex(32))"
)
ERR_KEY_TYPE = "key must be bytes (from load_key), not {type}"
ERR_KEY_FILE_MISSING = (
    "the key file given with --key-file cannot be read ({error}); the path is not shown in "
    "case a key was typed there by mistake. --key-file takes the path of a file holding the key"
)
ERR_KEY_FILE_OPEN = (
    "the key file {path} can be read or changed by other users (mode {mode:04o}); "
    "run: chmod 600 {path}"
)
ERR_KEY_IN_REPO = (
    "the key file {path} is inside a git repository ({root}); keep the key outside every "
    "repository so that it can never be committed"
)
ERR_OUT_FORMAT = "{path}: unknown output type {suffix!r}; expected .csv or .parquet"
ERR_SAME_FILE = "{path}: the output would overwrite the input; raw data is never changed in place"
ERR_ALREADY = (
    "{path}: every person_id already looks like a pseudonym (p_ and 32 hex characters); "
    "pseudonymising twice gives ids that match no other file"
)
ERR_CHANGED = "{path}: the file changed while it was being read; run again"
ERR_RAGGED = (
    "{path}: {n} line(s) do not have one field per column ({lines}); Parquet needs every row "
    "complete. Fix those lines or write CSV (--out FILE.csv), which keeps them as they are"
)
ERR_LEAK = (
    "{n} disclosure problem(s) found; do not publish: {items}. Person ids are shown as "
    "id#<first 8 hex characters of their SHA-256>"
)
ERR_SCAN_TYPE = (
    "{path}: cannot scan files of type {suffix!r}; scan the text or table it was made from "
    "(supported: {supported})"
)
ERR_SCAN_INPUT = "scan_publication takes text, paths or DataFrames, not {type}"
ERR_PDF = (
    "{path}: cannot extract the text of a PDF: install pypdf (pip install pypdf) or "
    "poppler's pdftotext, or scan the HTML the PDF was made from"
)
_MAX_LISTED = 20



# ==================================================== pseudonymisation


def load_key(key_file: str | os.PathLike[str] | None = None) -> bytes:
    """The pseudonymisation key, from ``key_file`` or the environment.

    Parameters
    ----------
    key_file : path-like, optional
        A file holding the key (its contents, surrounding whitespace removed).
        It must not be readable by other users nor lie inside a git
        repository. Default: the environment variable ``FAIRNESS_PSEUDONYM_KEY``.

    Returns
    -------
    bytes
        At least :data:`MIN_KEY_BYTES` long.

    Raises
    ------
    PseudonymKeyError
        No key, an empty or short key, or an unsafe key file; the message
        says how to provide one.
    """
    if key_file is not None:
        path = Path(key_file).expanduser()
        try:
            st = path.stat()
            key = path.read_bytes().strip()
        except OSError as exc:
            raise PseudonymKeyError(ERR_KEY_FILE_MISSING.format(error=exc.strerror or exc)) from exc
        if os.name == "posix" and st.st_mode & 0o027:
            raise PseudonymKeyError(ERR_KEY_FILE_OPEN.format(path=path, mode=st.st_mode & 0o777))
        root = _git_root(path)
        if root is not None:
            raise PseudonymKeyError(ERR_KEY_IN_REPO.format(path=path, root=root))
    else:
        value = os.environ.get(KEY_ENV)
        if value is None:
            raise PseudonymKeyError(ERR_NO_KEY.format(env=KEY_ENV))
        key = value.encode("utf-8", "surrogateescape").strip()
        if not key:
            raise PseudonymKeyError(ERR_EMPTY_ENV_KEY.format(env=KEY_ENV))
    _check_key(key)
    return key


def _git_root(path: Path) -> Path | None:
    for parent in Path(os.path.abspath(path)).parents:
        if (parent / ".git").exists():
            return parent
    return None


def _check_key(key: object) -> bytes:
    if not isinstance(key, (bytes, bytearray)):
        raise TypeError(ERR_KEY_TYPE.format(type=type(key).__name__))
    if len(key) < MIN_KEY_BYTES:
        raise PseudonymKeyError(ERR_SHORT_KEY.format(n=len(key), min=MIN_KEY_BYTES))
    return bytes(key)


def _pseudonym(person_id: str, key: bytes) -> str:
    digest = hmac.digest(key, person_id.encode("utf-8"), "sha256")
    return PSEUDONYM_PREFIX + digest.hex()[:PSEUDONYM_HEX]


def pseudonymise_ids(ids: pd.Series, key: bytes) -> pd.Series:
    """Replace each person id by its keyed pseudonym.

    Parameters
    ----------
    ids : Series
        Person ids: text, or numbers (written as :func:`fairness.read_matrix`
        reads them, so ``123`` in Parquet and ``"123"`` in CSV agree).
        Surrounding spaces are ignored, as validation ignores them.
    key : bytes
        From :func:`load_key`; at least 16 bytes.

    Returns
    -------
    Series
        Same index and name, dtype object: ``"p_"`` and 32 lowercase hex
        characters, ``HMAC-SHA256(key, id)`` truncated. A missing or empty id
        stays as it was, so validation still reports it.

    Examples
    --------
    >>> s = pseudonymise_ids(pd.Series(["P1", " P1", ""]), b"0123456789abcdef")
    >>> s[0] == s[1], s[0][:2], len(s[0]), s[2]
    (True, 'p_', 34, '')
    """
    from fairness.io.validation import as_text

    key = _check_key(key)
    text = as_text(ids).str.strip()
    present = (text != "").to_numpy() & ids.notna().to_numpy()
    unique = pd.unique(text[present])
    mapping = {v: _pseudonym(v, key) for v in unique}
    out = ids.astype(object).copy()
    out[present] = text[present].map(mapping).to_numpy()
    return out


@dataclass(frozen=True)
class _Pseudonymised:
    path: Path
    n_pseudonymised: int
    n_without_id: int
    result: object  # ValidationResult of the input


def pseudonymise_file(
    src: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    key: bytes,
    encoding: str | None = None,
    delimiter: str = ",",
) -> int:
    """Write a copy of a matrix file with every ``person_id`` pseudonymised.

    The input is read and validated by :func:`fairness.read_matrix` (an
    unusable file raises :class:`~fairness.MatrixFileError`); rows that fail
    validation are pseudonymised too. Nothing else changes: CSV to CSV keeps
    every other cell byte for byte (the output is UTF-8), except that a cell a
    spreadsheet would run as a formula gets a leading ``'``, as in every CSV
    the toolkit writes; Parquet to Parquet keeps the other columns' types.
    CSV to Parquet stores every column as text; Parquet to CSV writes values
    as :func:`~fairness.read_matrix` reads them.

    Parameters
    ----------
    src : path-like
        Matrix file, ``.csv`` or ``.parquet``. Never changed.
    out : path-like
        ``.csv`` or ``.parquet``; written owner-only (0600), atomically.
        Refused under a ``reports/`` folder and if it is ``src``.
    key : bytes
        From :func:`load_key`.
    encoding, delimiter
        As in :func:`fairness.read_matrix`.

    Returns
    -------
    int
        Number of rows whose person_id was replaced.
    """
    return pseudonymise_file_details(src, out, key=key, encoding=encoding, delimiter=delimiter,
                              command="pseudonymise_file").n_pseudonymised


def pseudonymise_file_details(src, out, *, key, encoding=None, delimiter=",", command="pseudonymise",
                       max_bytes=None, max_columns=None) -> _Pseudonymised:
    """Pseudonymise ``src`` into ``out``, logging the read as ``command`` before writing anything.

    Every refusal (output type, reports folder, output = input or a link to
    it, unwritable audit log) comes before the input is read.
    """
    from fairness.io.safe_write import refuse_input_as_output
    from fairness.io.validation import decode_text, read_matrix_unlogged

    key = _check_key(key)
    src, out = Path(src), Path(out)
    out_kind = _file_kind(out)
    if out_kind is None:
        raise ValueError(ERR_OUT_FORMAT.format(path=out, suffix=out.suffix))
    refuse_reports_dir(out)
    if os.path.abspath(src) == os.path.abspath(out):
        raise ValueError(ERR_SAME_FILE.format(path=out))
    refuse_input_as_output(out, src)
    check_audit_log()  # stop before reading if this use cannot be logged
    try:
        res = read_matrix_unlogged(src, encoding=encoding, delimiter=delimiter, max_bytes=max_bytes,
                           max_columns=max_columns)
        data = src.read_bytes()
        if hashlib.sha256(data).hexdigest() != res.sha256:
            raise ValueError(ERR_CHANGED.format(path=src))
    except (ValueError, OSError) as exc:
        if not isinstance(exc, AuditLogError):
            log_failed_read(command=command, path=src, error=exc)
        raise
    def log_then_write(write, *args):
        # the log line comes before the output: with no line, no copy of the data exists
        log_read(command=command, result=res, outputs=[out])
        return write(*args)
    delimiter = {"tab": "\t", "\\t": "\t"}.get(delimiter, delimiter)
    cache: dict[str, str] = {}

    def pseudo(v: str) -> str:
        if v not in cache:
            cache[v] = _pseudonym(v, key)
        return cache[v]

    if _file_kind(src) == "csv":
        text = decode_text(data, str(src), encoding)
        if out_kind == "csv":
            body, n, empty = _rewrite_csv(text, delimiter, pseudo)
            _refuse_repseudonymising(src, cache)
            written = log_then_write(write_private_bytes, out, body.encode("utf-8"))
        else:
            frame, n, empty = _csv_to_frame(text, delimiter, pseudo, src)
            _refuse_repseudonymising(src, cache)
            written = log_then_write(write_private_bytes, out, _parquet_bytes(frame))
    else:
        table, n, empty = _pseudonymise_table(data, pseudo, src)
        _refuse_repseudonymising(src, cache)
        if out_kind == "parquet":
            written = log_then_write(write_private_bytes, out, _parquet_bytes(table))
        else:
            written = log_then_write(write_private_csv, _table_as_text(table), out)
    return _Pseudonymised(written, n, empty, res)


def _file_kind(path: Path) -> str | None:
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt", ".tsv"):
        return "csv"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    return None


def _refuse_repseudonymising(src: Path, cache: Mapping[str, str]) -> None:
    pattern = re.compile(rf"{PSEUDONYM_PREFIX}[0-9a-f]{{{PSEUDONYM_HEX}}}")
    if cache and all(pattern.fullmatch(v) for v in cache):
        raise ValueError(ERR_ALREADY.format(path=src))


def _rewrite_csv(text: str, delimiter: str, pseudo) -> tuple[str, int, int]:
    """Replace person_id in CSV text, keeping every other byte where possible."""
    from fairness.io.safe_write import is_formula as risky

    physical = io.StringIO(text, newline="").readlines()
    reader = csv.reader(iter(physical), delimiter=delimiter, strict=False)
    parts: list[str] = []
    done = n = empty = 0
    id_col = -1
    for row in reader:
        raw = "".join(physical[done : reader.line_num])
        done = reader.line_num
        new = list(row)
        changed: list[int] = []
        if id_col < 0:  # the header
            id_col = [h.strip().lower() for h in row].index("person_id")
        elif row:
            value = row[id_col].strip() if len(row) > id_col else ""
            if value:
                new[id_col] = pseudo(value)
                changed.append(id_col)
                n += 1
            else:
                empty += 1
        for j, v in enumerate(new):
            if risky(v):  # never a pseudonym: they start with "p_"
                new[j] = "'" + v
                changed.append(j)
        parts.append(_splice(raw, row, new, changed, delimiter) if changed else raw)
    return "".join(parts), n, empty


def _splice(raw: str, row: list[str], new: list[str], changed: list[int], delimiter: str) -> str:
    content = raw.rstrip("\r\n")
    end = raw[len(content) :]
    fields = _raw_fields(content, delimiter)
    if fields is not None and len(fields) == len(row) and [_unquote(f) for f in fields] == row:
        for j in changed:
            fields[j] = _quote(new[j], delimiter)
        return delimiter.join(fields) + end
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="\n").writerow(new)
    return buf.getvalue()[:-1] + end


_FIELD_PATTERNS: dict[str, re.Pattern[str]] = {}


def _raw_fields(content: str, delimiter: str) -> list[str] | None:
    """Split one record into its fields as written (quotes kept), or None if unusual."""
    pattern = _FIELD_PATTERNS.get(delimiter)
    if pattern is None:
        pattern = re.compile(r'"(?:[^"]|"")*"|[^"' + re.escape(delimiter) + r"\r\n]*")
        _FIELD_PATTERNS[delimiter] = pattern
    fields, pos = [], 0
    while True:
        m = pattern.match(content, pos)
        fields.append(m.group())
        pos = m.end()
        if pos == len(content):
            return fields
        if content[pos] != delimiter:
            return None
        pos += 1


def _unquote(field: str) -> str:
    if len(field) >= 2 and field[0] == '"' and field[-1] == '"':
        return field[1:-1].replace('""', '"')
    return field


def _quote(value: str, delimiter: str) -> str:
    if any(c in value for c in (delimiter, '"', "\r", "\n")):
        return '"' + value.replace('"', '""') + '"'
    return value


def _csv_to_frame(text: str, delimiter: str, pseudo, src: Path) -> tuple[pd.DataFrame, int, int]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    header = next(reader)
    id_col = [h.strip().lower() for h in header].index("person_id")
    rows, ragged = [], []
    start = reader.line_num + 1
    for row in reader:
        if row:
            if len(row) != len(header):
                ragged.append(start)
            rows.append(row)
        start = reader.line_num + 1
    if ragged:
        shown = ", ".join(map(str, ragged[:10])) + (" …" if len(ragged) > 10 else "")
        raise ValueError(ERR_RAGGED.format(path=src, n=len(ragged), lines="line " + shown))
    names = [h if h.strip() else f"(unnamed column {i + 1})" for i, h in enumerate(header)]
    frame = pd.DataFrame(rows, columns=names, dtype=object)
    ids = frame.iloc[:, id_col].str.strip()
    present = ids != ""
    column = frame.iloc[:, id_col].copy()
    column[present] = ids[present].map(pseudo)
    frame.iloc[:, id_col] = column
    return frame, int(present.sum()), int((~present).sum())


def _pseudonymise_table(data: bytes, pseudo, src: Path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from fairness.io.validation import to_text

    table = pq.read_table(io.BytesIO(data))
    i = [str(c).strip().lower() for c in table.column_names].index("person_id")
    column = table.column(i)
    text = to_text(column.to_pandas()).str.strip()
    null = column.is_null().to_numpy(zero_copy_only=False)
    present = (text != "").to_numpy() & ~null
    values = [pseudo(v) if p else (None if z else v) for v, p, z in zip(text, present, null, strict=True)]
    table = table.set_column(i, table.field(i).with_type(pa.string()), pa.array(values, pa.string()))
    return table, int(present.sum()), int((~present).sum())


def _parquet_bytes(data) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = data if isinstance(data, pa.Table) else pa.Table.from_pandas(data, preserve_index=False)
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def _table_as_text(table) -> pd.DataFrame:
    from fairness.io.validation import to_text

    try:
        df = table.to_pandas()
    except Exception:  # dates outside pandas' range stay objects
        df = table.to_pandas(timestamp_as_object=True, date_as_object=True)
    return pd.DataFrame({c: to_text(df[c]) for c in df.columns}, columns=list(df.columns))



# ================================================= the publication scan

#: Ids shorter than this are matched only as whole space-separated tokens.
MIN_ID_SUBSTRING = 4
_TEXT_SUFFIXES = (".html", ".htm", ".md", ".txt", ".json", ".tex", ".svg", ".xml", ".ipynb", ".rst")
_TABLE_SUFFIXES = (".csv", ".tsv", ".parquet")
_SKIPPED_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".css", ".js", ".woff", ".woff2", ".ttf")
#: Stripped from both ends of a space-separated token before a short id is compared
#: (sentence punctuation and brackets; not "%", "-", "/" or "#", which change the meaning).
_EDGE_PUNCTUATION = ".,;:!?()[]{}<>\"'“”‘’«»…"
_WORD = re.compile(r"\w+")
_FINDING_COLUMNS = ("source", "kind", "location", "detail")


@dataclass(frozen=True)
class PublicationScan:
    """What :func:`scan_publication` checked (it raises if it found anything).

    Attributes
    ----------
    sources : tuple of str
        Texts, files and tables scanned.
    skipped : tuple of str
        Files in a scanned folder that hold no text to scan (images, fonts,
        style sheets): check those by eye.
    n_ids : int
        Distinct person ids looked for.
    threshold : int
        Smallest count a table may show.
    """

    sources: tuple[str, ...]
    skipped: tuple[str, ...]
    n_ids: int
    threshold: int


class _IdIndex:
    """Person ids arranged for matching against a text's token set, not a regex per id."""

    def __init__(self, person_ids: Iterable[object]) -> None:
        self.word: dict[str, str] = {}  # casefolded id made of word characters -> id
        self.short: dict[str, str] = {}  # casefolded id shorter than MIN_ID_SUBSTRING -> id
        self.other: dict[str, tuple[str, tuple[str, ...]]] = {}  # casefolded -> (id, its words)
        for value in person_ids:
            if value is None or (not isinstance(value, str) and pd.isna(value)):
                continue
            pid = str(value).strip()
            if not pid:
                continue
            folded = pid.casefold()
            if len(pid) < MIN_ID_SUBSTRING:
                self.short[folded] = pid
            elif _WORD.fullmatch(pid):
                self.word[folded] = pid
            else:
                self.other[folded] = (pid, tuple(w.casefold() for w in _WORD.findall(pid)))

    def __len__(self) -> int:
        return len(self.word) + len(self.short) + len(self.other)

    def find(self, text: str) -> list[tuple[str, int]]:
        """(id, character offset of its first occurrence) for every id in ``text``."""
        found: dict[str, int] = {}
        if self.word or self.other:
            words = {m.casefold() for m in _WORD.findall(text)}
            hits = words & self.word.keys()
            if hits:
                for m in _WORD.finditer(text):
                    folded = m.group().casefold()
                    if folded in hits and self.word[folded] not in found:
                        found[self.word[folded]] = m.start()
            for folded, (pid, parts) in self.other.items():
                if all(p in words for p in parts):
                    m = re.search(r"(?<!\w)" + re.escape(folded) + r"(?!\w)", text, re.IGNORECASE)
                    if m and pid not in found:
                        found[pid] = m.start()
        if self.short:
            for m in re.finditer(r"\S+", text):
                folded = m.group().strip(_EDGE_PUNCTUATION).casefold()
                if folded in self.short and self.short[folded] not in found:
                    found[self.short[folded]] = m.start()
        return sorted(found.items(), key=lambda kv: kv[1])


def _id_hint(person_id: str) -> str:
    return "id#" + hashlib.sha256(person_id.encode("utf-8")).hexdigest()[:8]


def scan_publication(
    text_or_paths: str | os.PathLike[str] | pd.DataFrame | Iterable[str | os.PathLike[str] | pd.DataFrame],
    *,
    person_ids: Iterable[str],
    threshold: int = DEFAULT_SUPPRESSION_THRESHOLD,
    count_cols: Sequence[str] | None = None,
) -> PublicationScan:
    """Check what is about to be published for person ids and small counts.

    Parameters
    ----------
    text_or_paths : str, path-like, DataFrame, or an iterable of these
        A text (a ``str`` that names an existing file is read as that file),
        a file (HTML, Markdown, text, JSON, notebook, SVG, PDF; CSV, TSV or
        Parquet as a table), a folder (every such file in it, recursively), or
        a table.
    person_ids : iterable of str
        Every person id of the input matrix (e.g. ``result.valid["person_id"]``
        and ``result.quarantined["person_id"]``). 100,000 ids take a fraction
        of a second: the text is split into a set of tokens once.
    threshold : int, default 10
        A table cell in a count column holding 1 to ``threshold - 1`` is a
        disclosure (:func:`fairness.publish.disclosure.find_small_counts`).
    count_cols : sequence of str, optional
        Count columns of the tables; default: every column of whole numbers.

    Returns
    -------
    PublicationScan
        What was checked, if nothing was found.

    Raises
    ------
    PublicationLeakError
        Listing where each problem is. A person id is matched case-insensitively
        as a whole word (ids shorter than 4 characters only as a whole token
        between spaces), and shown only as a truncated hash. Numbers in
        running text are not checked (too ambiguous); numbers in tables are.

    Notes
    -----
    Short numeric ids (``"7"``, ``"1234"``) cannot be told apart from other
    numbers and will be reported wherever those numbers appear: pseudonymise
    the matrix first (:func:`pseudonymise_file`), and the scan looks for the
    distinctive ``p_…`` pseudonyms instead. Text that a PDF splits across
    lines or hyphenates is not matched; scan the HTML it was made from.
    """
    index = _IdIndex(person_ids)
    findings: list[tuple[str, str, str, str]] = []
    sources: list[str] = []
    skipped: list[str] = []
    for label, kind, content in _publication_items(text_or_paths, skipped):
        sources.append(label)
        if kind == "text":
            findings += _scan_text(label, content, index)
        else:
            findings += _scan_table(label, content, index, threshold, count_cols)
    if findings:
        table = pd.DataFrame(findings, columns=list(_FINDING_COLUMNS))
        items = "; ".join(
            f"{s} {loc}: {'a person_id ' + d if k == 'person_id' else 'count ' + d + f' (below {threshold})'}"
            for s, k, loc, d in findings[:_MAX_LISTED]
        )
        if len(findings) > _MAX_LISTED:
            items += f" (and {len(findings) - _MAX_LISTED} more)"
        raise PublicationLeakError(ERR_LEAK.format(n=len(findings), items=items), table)
    return PublicationScan(tuple(sources), tuple(skipped), len(index), threshold)


def _publication_items(obj, skipped: list[str]):
    if isinstance(obj, pd.DataFrame):
        yield "<table>", "table", obj
        return
    if isinstance(obj, str) and not _names_file(obj):
        yield "<text>", "text", obj
        return
    if isinstance(obj, (str, os.PathLike)):
        path = Path(obj)
        if path.is_dir():
            for f in sorted(p for p in path.rglob("*") if p.is_file()):
                if f.suffix.lower() in _SKIPPED_SUFFIXES:
                    skipped.append(str(f))
                else:
                    yield from _publication_items(f, skipped)
            return
        yield _read_publication_file(path)
        return
    if isinstance(obj, Iterable) and not isinstance(obj, (bytes, bytearray, Mapping)):
        for i, item in enumerate(obj):
            for label, kind, content in _publication_items(item, skipped):
                if label in ("<text>", "<table>"):
                    label = f"{label[:-1]} {i + 1}>"
                yield label, kind, content
        return
    raise TypeError(ERR_SCAN_INPUT.format(type=type(obj).__name__))


def _names_file(text: str) -> bool:
    if len(text) > 4096 or "\n" in text or not text.strip():
        return False
    try:
        return Path(text).is_file() or Path(text).is_dir()
    except (OSError, ValueError):
        return False


def _read_publication_file(path: Path) -> tuple[str, str, object]:
    suffix = path.suffix.lower()
    label = str(path)
    if suffix in (".csv", ".tsv"):
        sep = "\t" if suffix == ".tsv" else ","
        return label, "table", pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False)
    if suffix == ".parquet":
        return label, "table", pd.read_parquet(path)
    if suffix == ".pdf":
        return label, "text", _pdf_text(path)
    if suffix in _TEXT_SUFFIXES:
        text = path.read_text(encoding="utf-8", errors="replace")
        if suffix in (".html", ".htm", ".svg", ".xml"):
            # Tags become separate tokens (so "<td>7</td>" holds the token "7")
            # and entities are decoded ("P&#49;23" is "P123"); lines are unchanged.
            text = html.unescape(re.sub(r"<[^<>]*>", lambda m: f" {m.group()} ", text))
        return label, "text", text
    supported = ", ".join(_TEXT_SUFFIXES + _TABLE_SUFFIXES + (".pdf",))
    raise ValueError(ERR_SCAN_TYPE.format(path=path, suffix=path.suffix, supported=supported))


def _pdf_text(path: Path) -> str:
    try:
        from pypdf import PdfReader
    except ImportError:
        exe = shutil.which("pdftotext")
        if exe is None:
            raise ValueError(ERR_PDF.format(path=path)) from None
        done = subprocess.run([exe, "-enc", "UTF-8", str(path), "-"], capture_output=True, check=False)
        if done.returncode != 0:
            detail = done.stderr.decode(errors="replace").strip()
            raise ValueError(ERR_PDF.format(path=path) + f" (pdftotext: {detail})") from None
        return done.stdout.decode("utf-8", errors="replace")
    return "\n".join(page.extract_text() or "" for page in PdfReader(path).pages)


def _scan_text(label: str, text: str, index: _IdIndex) -> list[tuple[str, str, str, str]]:
    out = []
    for pid, offset in index.find(text):
        line = text.count("\n", 0, offset) + 1
        column = offset - (text.rfind("\n", 0, offset) + 1) + 1
        out.append((label, "person_id", f"line {line}, character {column}", _id_hint(pid)))
    return out


def _scan_table(label, table: pd.DataFrame, index: _IdIndex, threshold: int, count_cols) -> list:
    out = []
    header = "\n".join(map(str, list(table.columns) + list(table.index.names)))
    for pid, _ in index.find(header):
        out.append((label, "person_id", "column names", _id_hint(pid)))
    columns = [(c, table[c]) for c in table.columns]
    if not isinstance(table.index, pd.RangeIndex):  # a default index holds no data
        columns.insert(0, ("index", table.index.to_series()))
    for name, series in columns:
        cells = series.astype(object).where(series.notna(), "").map(str)
        text = "\n".join(cell.replace("\n", " ") for cell in cells)
        for pid, offset in index.find(text):
            row = series.index[text.count("\n", 0, offset)]
            where = f"row {row!r}, column {name!r}" if name != "index" else f"row label {row!r}"
            out.append((label, "person_id", where, _id_hint(pid)))
    from fairness.publish.disclosure import find_small_counts

    small = find_small_counts(_numeric_view(table), count_cols=count_cols, threshold=threshold)
    for r in small.itertuples(index=False):
        out.append((label, "small_count", f"row {r.row!r}, column {r.column!r}", f"{r.value:g}" if isinstance(r.value, float) else str(r.value)))
    return out


def _numeric_view(table: pd.DataFrame) -> pd.DataFrame:
    """Columns of numbers written as text (a CSV read as text) turned back into numbers."""
    out = table.copy()
    for c in out.columns:
        s = out[c]
        if pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s):
            text = s.astype(object).where(s.notna(), "").map(str).str.strip()
            blank = text.isin(["", "[c]", "[x]", "[z]", "..", "-"])
            numbers = pd.to_numeric(text.where(~blank, None), errors="coerce")
            if (~blank).any() and numbers[~blank].notna().all():
                out[c] = numbers.astype("float64")
    return out
