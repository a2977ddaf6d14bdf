"""Read a matrix file and validate it: every row used or quarantined, with reasons.

:func:`read_matrix` reads CSV (UTF-8 with or without BOM; UTF-16 with a BOM) or
Parquet, parses every cell, checks rows against :class:`fairness.io.schema.MatrixSchema`
and returns a :class:`ValidationResult`: the valid rows (typed), the
quarantined rows (as they were in the file, with the file line and the rules
they broke), one record per problem, and the counts. ``n_rows == n_valid +
n_quarantined`` always.

A file that cannot be used at all (unreadable, empty, a required column
missing, a header naming a column twice) raises :class:`MatrixFileError`, whose
message names the file and says what would be valid.
"""

from __future__ import annotations

import csv
import dataclasses
import difflib
import functools
import hashlib
import io
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from fairness.definitions import (
    ALL_COLUMNS,
    BOOLEAN_FALSE,
    BOOLEAN_TRUE,
    BOROUGHS,
    ETHNICITIES,
    REQUIRED_COLUMNS,
    RISK_BANDS,
    SEXES,
)
from fairness.errors import MatrixFileError
from fairness.io.safe_write import (
    check_output_suffix,
    refuse_reports_dir,
    write_private_bytes,
    write_private_csv,
)
from fairness.io.schema import CHECK_RULES
from fairness.profiles._vocabulary import active_vocabulary, using_profile

if TYPE_CHECKING:  # pandera is imported where a frame is validated (fairness.io.schema); pa is pyarrow
    import pandera.pandas as pandera

__all__ = [
    "ValidationResult",
    "MatrixFileError",
    "check_input_file",
    "read_and_log",
    "read_matrix",
    "validate",
    "validate_frame",
    "canonical_dtypes",
]

CATEGORIES: dict[str, tuple[str, ...]] = {
    "borough": BOROUGHS,
    "ethnicity": ETHNICITIES,
    "sex": SEXES,
    "risk_band": RISK_BANDS,
}


def _categories() -> dict[str, tuple[str, ...]]:
    """The valid values of each category column: a profile's while one is active (see ``profile=``)."""
    vocab = active_vocabulary()
    return CATEGORIES if vocab is None else vocab.categories


BOOLEAN_COLUMNS = ("victim_flag", "outcome_violence_12m")


def matrix_columns() -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """Required, all known and boolean columns: a profile's while one is active (harm_score,
    risk_band and snapshot_date may be optional; its outcome columns are booleans)."""
    vocab = active_vocabulary()
    if vocab is None or not vocab.required:
        return REQUIRED_COLUMNS, ALL_COLUMNS, BOOLEAN_COLUMNS
    return vocab.required, vocab.all_columns, vocab.boolean_columns
INTEGER_COLUMNS = ("age", "violent_offences_2y")
NUMBER_COLUMNS = ("harm_score",)
DATE_COLUMNS = ("snapshot_date", "date_added", "last_reviewed")
TEXT_COLUMNS = ("person_id", "shared_with")

#: A single cell longer than this is almost always a broken quote that has
#: swallowed following lines; the row is quarantined rather than trusted.
MAX_FIELD_LENGTH = 10_000
_DATE_MIN, _DATE_MAX = pd.Timestamp.min.ceil("D"), pd.Timestamp.max.floor("D")
_SHOWN_VALUE_LENGTH = 60

ERR_EMPTY = "{source}: the file is empty; expected a header line naming the columns {required}"
ERR_NO_ROWS = "{source}: the file has a header but no data rows"
ERR_MISSING = (
    "{source}: required column(s) {missing} missing. Columns found: {found}. "
    "Required: {required}."
)
ERR_DUPLICATE_HEADER = (
    "{source}: the header names column {name!r} {times} times (positions {positions}); "
    "each column must appear once"
)
ERR_DELIMITER = (
    "{source}: the header has a single column but contains {sep!r}: the file looks "
    "{sep_name}-separated. Re-save it comma-separated, or pass delimiter={sep!r} "
    "(command line: --delimiter {sep_cli})"
)
ERR_ENCODING = (
    "{source}: not valid UTF-8 (byte 0x{byte:02x} at line {line}). The file looks like "
    "{guess}; re-save it as UTF-8, or pass encoding={enc!r} (command line: --encoding {enc})"
)
ERR_UTF16_NO_BOM = (
    "{source}: looks like UTF-16 text without a byte-order mark (every other byte is zero). "
    "Re-save it as UTF-8, or pass encoding={enc!r} (command line: --encoding {enc})"
)
ERR_NOT_TEXT = (
    "{source}: not a CSV text file: {what}. Save or export the data as CSV (UTF-8) or Parquet"
)
ERR_DELIMITER_ARG = "delimiter must be one character (or 'tab'), not {delimiter!r}"
ERR_UNREADABLE = "{source}: cannot be read: {error}"
ERR_PARQUET = "{source}: not a readable Parquet file: {error}"
ERR_FORMAT = "{source}: unknown file type {suffix!r}; expected .csv or .parquet"
ERR_UNTERMINATED = (
    "{source}: a quoted field starting near line {line} is never closed, so the rest of "
    "the file cannot be split into rows; close the quote or remove it"
)


#: Extensions a quarantine file may have.
QUARANTINE_SUFFIXES = (".csv", ".parquet", ".pq")


@dataclass(frozen=True)
class ValidationResult:
    """What :func:`read_matrix` found in one file.

    Attributes
    ----------
    source : str
        The file (or frame) read.
    valid : DataFrame
        Rows that passed, typed (see :func:`canonical_dtypes`), with unknown
        columns kept as text.
    quarantined : DataFrame
        Rows that failed, as written in the file (text), with ``line`` (file
        line, or row number for Parquet), ``rules`` (';'-joined rule codes)
        and ``reasons`` (one sentence per problem).
    problems : DataFrame
        One record per problem: ``line, column, value, rule, message``.
    unknown_columns : tuple of str
        Columns not in the matrix format (kept, not an error).
    sha256 : str
        SHA-256 of the file's bytes ("" for an in-memory frame).
    line_label : str
        "line" for CSV (file line numbers, header = line 1), "row" for Parquet.
    """

    source: str
    valid: pd.DataFrame
    quarantined: pd.DataFrame
    problems: pd.DataFrame
    unknown_columns: tuple[str, ...] = ()
    sha256: str = ""
    line_label: str = "line"
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def n_valid(self) -> int:
        return len(self.valid)

    @property
    def n_quarantined(self) -> int:
        return len(self.quarantined)

    @property
    def n_rows(self) -> int:
        return self.n_valid + self.n_quarantined

    @property
    def exit_code(self) -> int:
        """0 if every row is valid, 1 if some rows were quarantined."""
        return 0 if self.n_quarantined == 0 else 1

    def summary(self) -> str:
        """``N rows: V valid, Q quarantined``."""
        return f"{self.n_rows:,} rows: {self.n_valid:,} valid, {self.n_quarantined:,} quarantined"

    def __repr__(self) -> str:
        """A short view (counts, problems by rule, the first problems), not the frames themselves."""
        lines = [f"ValidationResult({self.source}): {self.summary()}"]
        if len(self.problems):
            by_rule = self.problems.groupby(["rule", "column"], sort=True).size()
            lines.append(f"{len(self.problems):,} problems by rule:")
            lines += [f"  {rule:<22} {column:<22} {n:>8,}" for (rule, column), n in by_rule.items()]
            lines.append("first problems:")
            lines += [f"  {x}" for x in self.problem_lines(limit=5)]
            if len(self.problems) > 5:
                lines.append(f"  … {len(self.problems) - 5:,} more in .problems")
        if self.unknown_columns:
            lines.append(f"unknown columns (kept): {', '.join(self.unknown_columns)}")
        lines.append("rows: .valid, .quarantined; one record per problem: .problems")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        import html as _html

        return f"<pre>{_html.escape(repr(self))}</pre>"

    def problem_lines(self, limit: int | None = None) -> list[str]:
        """One readable line per problem (file line, column, value, what is wrong)."""
        p = self.problems if limit is None else self.problems.head(limit)
        return [
            f"{self.source}:{self.line_label} {r.line}: column {r.column}: {r.message}"
            for r in p.itertuples(index=False)
        ]

    def quarantine_reasons(self) -> pd.DataFrame:
        """Counts of quarantined rows by rule: ``rule, column, rows`` (no values).

        Safe to publish after disclosure control: it holds no row-level data.
        A row breaking several rules is counted under each.
        """
        if self.problems.empty:
            return pd.DataFrame({"rule": [], "column": [], "rows": []}).astype(
                {"rule": object, "column": object, "rows": "int64"}
            )
        out = (
            self.problems.drop_duplicates(["line", "column", "rule"])
            .groupby(["rule", "column"], sort=True)
            .size()
            .rename("rows")
            .reset_index()
            .sort_values(["rows", "rule"], ascending=[False, True], kind="stable")
            .reset_index(drop=True)
        )
        return out

    def write_quarantine(self, path: str | os.PathLike[str]) -> Path | None:
        """Write the quarantined rows (personal data: owner-only, never under reports/).

        ``.csv`` (formulas neutralised) or ``.parquet`` (every cell as the text
        it was), by the extension; any other extension is refused.
        """
        suffix = check_output_suffix(path, QUARANTINE_SUFFIXES, "quarantined rows")
        if suffix in (".parquet", ".pq"):
            import pyarrow as pa
            import pyarrow.parquet as pq

            refuse_reports_dir(path)
            table = pa.Table.from_pandas(self.quarantined.astype(
                {c: object for c in self.quarantined.columns if c != "line"}), preserve_index=False)
            buf = io.BytesIO()
            pq.write_table(table, buf)
            return write_private_bytes(path, buf.getvalue())
        return write_private_csv(self.quarantined, path)


def canonical_dtypes() -> dict[str, object]:
    """The dtype of every matrix column in :attr:`ValidationResult.valid`."""
    cats = _categories()
    return {
        "person_id": "string",
        "snapshot_date": "datetime64[ns]",
        "borough": pd.CategoricalDtype(cats["borough"]),
        "ethnicity": pd.CategoricalDtype(cats["ethnicity"]),
        "sex": pd.CategoricalDtype(cats["sex"]),
        "age": "int64",
        "harm_score": "float64",
        "risk_band": pd.CategoricalDtype(cats["risk_band"]),
        "victim_flag": "boolean",
        "violent_offences_2y": "Int64",
        "date_added": "datetime64[ns]",
        "last_reviewed": "datetime64[ns]",
        "shared_with": "string",
        "outcome_violence_12m": "boolean",
    }


# --------------------------------------------------------------------------- reading


def _logged_as(command: str):
    """Make the function it decorates (a reader of one file) log every call as ``command``
    (:func:`read_and_log`); the reader itself, unlogged, stays as ``__wrapped__``."""

    def decorate(read):
        import inspect

        signature = inspect.signature(read)

        @functools.wraps(read)
        def logged(path, **options):
            try:  # the reader's own arguments only, checked before the log is opened
                signature.bind(path, **options)
            except TypeError as exc:
                raise TypeError(f"{read.__name__}() {exc}") from None
            return read_and_log(path, command=command, **options)

        return logged

    return decorate


@_logged_as("read_matrix")
def read_matrix(
    path: str | os.PathLike[str],
    *,
    encoding: str | None = None,
    delimiter: str = ",",
    profile: Any = None,
    max_bytes: int | str | None = None,
    max_columns: int | None = None,
) -> ValidationResult:
    """Read and validate a matrix file (CSV or Parquet, by extension).

    Every call is recorded in the audit log (Data Protection Act 2018 s.62;
    :mod:`fairness.io.audit_log`), a failed read too, as the command line
    records it; if the log cannot be written, :class:`~fairness.io.audit_log.AuditLogError`
    is raised before the file is read.

    Parameters
    ----------
    path : path-like
        ``.csv`` (UTF-8, with or without BOM; UTF-16 with a BOM is decoded too)
        or ``.parquet``. A regular file (links are followed): a folder, a named
        pipe or a device is refused before it is opened.
    encoding : str, optional
        Force a text encoding for CSV, e.g. ``"latin-1"``.
    delimiter : str, default ","
        Field separator for CSV.
    profile : str, path or Profile, optional
        Validate areas, groups, bands and ages against a profile
        (:mod:`fairness.profiles`); default: the built-in London vocabulary.
    max_bytes : int or str, optional
        Largest file read, in bytes, or with a unit: ``"500M"``, ``"2G"``.
        Default: ``$FAIRNESS_MAX_BYTES``, else 8G.
    max_columns : int, optional
        Most columns a file may have. Default: ``$FAIRNESS_MAX_COLUMNS``,
        else 1,000 (the format has 14).

    Returns
    -------
    ValidationResult

    Raises
    ------
    MatrixFileError
        If the file cannot be used at all.
    """
    delimiter = parse_delimiter(delimiter)
    limit, width = parse_size(max_bytes), parse_columns(max_columns)
    path = Path(path)
    source = str(path)
    suffix = path.suffix.lower()
    check_input_file(path, max_bytes=limit)
    if suffix not in (".parquet", ".pq", ".csv", ".txt", ".tsv"):
        raise MatrixFileError(ERR_FORMAT.format(source=source, suffix=path.suffix))
    data = read_file_bytes(path, limit)
    digest = hashlib.sha256(data).hexdigest()
    if suffix in (".parquet", ".pq"):
        raw, lines = _read_parquet_bytes(data, source, max_columns=width)
        label = "row"
        return _with_digest(validate_frame(raw, source=source, lines=lines, line_label=label, profile=profile), digest)
    raw, lines, extra_problems = _read_csv_bytes(data, source, encoding=encoding, delimiter=delimiter,
                                                 max_columns=width)
    res = validate_frame(raw, source=source, lines=lines, line_label="line", extra_problems=extra_problems,
                         profile=profile)
    return _with_digest(res, digest)


#: :func:`read_matrix` without the audit log, for callers that log the read themselves
#: (:func:`read_and_log`, the command line, DuckDB's in-memory fallback, the publication scan).
read_matrix_unlogged = read_matrix.__wrapped__


def validate(
    source: str | os.PathLike[str] | pd.DataFrame,
    *,
    encoding: str | None = None,
    delimiter: str = ",",
    profile: Any = None,
    max_bytes: int | str | None = None,
    max_columns: int | None = None,
) -> ValidationResult:
    """What ``fairness validate FILE`` does, from Python: read, validate, quarantine.

    A path is read as :func:`read_matrix` reads it, with the same options, and
    the read is logged under the command ``validate``; a DataFrame is
    validated by :func:`validate_frame` (nothing to log: no file is read).

    >>> import fairness
    >>> fairness.validate  # doctest: +ELLIPSIS
    <function validate at ...>
    """
    if isinstance(source, pd.DataFrame):
        return validate_frame(source, profile=profile)
    return read_and_log(source, command="validate", encoding=encoding, delimiter=delimiter, profile=profile,
                        max_bytes=max_bytes, max_columns=max_columns)


def read_and_log(
    path: str | os.PathLike[str],
    *,
    command: str,
    outputs: Sequence[str | os.PathLike[str]] = (),
    **options,
) -> ValidationResult:
    """:func:`read_matrix` logged as ``command``, with the ``outputs`` about to be written.

    The log is checked before the file is read and the line written after
    reading and before anything is written: when it cannot be written,
    nothing is. A read that fails is logged with the kind of error.
    """
    from fairness.io.audit_log import check_audit_log, log_failed_read, log_read

    check_audit_log()
    try:
        res = read_matrix_unlogged(path, **options)
    except (MatrixFileError, OSError) as exc:
        log_failed_read(command=command, path=path, error=exc)
        raise
    log_read(command=command, result=res, outputs=outputs)
    return res


#: Environment variables giving the default limits on what is read.
MAX_BYTES_ENV, MAX_COLUMNS_ENV = "FAIRNESS_MAX_BYTES", "FAIRNESS_MAX_COLUMNS"
DEFAULT_MAX_BYTES = 8 * 1024**3
DEFAULT_MAX_COLUMNS = 1_000
_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}

ERR_NOT_REGULAR = (
    "{source}: not a regular file ({what}); give the path of a .csv or .parquet file"
)
ERR_TOO_BIG = (
    "{source}: the file is {size} bytes, more than the limit of {limit} bytes ({env} or "
    "{option}); raise the limit if the file is genuine, or for a file larger than memory write "
    "Parquet and use --engine duckdb"
)
ERR_TOO_WIDE = (
    "{source}: the file has {n:,} columns, more than the limit of {limit:,} ({env} or --max-columns; "
    "the matrix format has 14); raise the limit if the columns are genuine"
)
ERR_LIMIT = "{what} must be a whole number of {unit} ≥ 1{extra}, not {value!r}"


def parse_size(value: int | str | None, *, what: str = "max_bytes") -> int:
    """A size in bytes from ``123``, ``"500M"``, ``"2G"`` (powers of 1024); None → the default.

    >>> parse_size("2K"), parse_size(10)
    (2048, 10)
    """
    if value is None:
        value = os.environ.get(MAX_BYTES_ENV, "").strip() or DEFAULT_MAX_BYTES
        what = MAX_BYTES_ENV if os.environ.get(MAX_BYTES_ENV, "").strip() else what
    if isinstance(value, int) and not isinstance(value, bool):
        n = value
    else:
        m = re.fullmatch(r"\s*(\d+)\s*([KMGT]?)B?\s*", str(value), re.IGNORECASE)
        if not m:
            raise ValueError(ERR_LIMIT.format(what=what, unit="bytes", extra=", optionally with K, M, G or T",
                                              value=value))
        n = int(m.group(1)) * _UNITS[m.group(2).upper()]
    if n < 1:
        raise ValueError(ERR_LIMIT.format(what=what, unit="bytes", extra="", value=value))
    return n


def parse_columns(value: int | str | None, *, what: str = "max_columns") -> int:
    """The column limit: ``value``, else ``$FAIRNESS_MAX_COLUMNS``, else 1,000."""
    if value is None:
        env = os.environ.get(MAX_COLUMNS_ENV, "").strip()
        value, what = (env, MAX_COLUMNS_ENV) if env else (DEFAULT_MAX_COLUMNS, what)
    try:
        n = int(str(value).strip()) if not isinstance(value, int) else value
    except ValueError:
        n = 0
    if isinstance(value, bool) or n < 1:
        raise ValueError(ERR_LIMIT.format(what=what, unit="columns", extra="", value=value))
    return n


def check_input_file(path: str | os.PathLike[str], *, max_bytes: int | str | None = None) -> os.stat_result:
    """Refuse, before opening it, anything but a regular file within the size limit.

    Links are followed (a link to a regular file is fine; a link to
    ``/dev/zero`` is a device). A named pipe would block the reader forever
    and a device could be endless, so neither is opened.

    Raises
    ------
    MatrixFileError
    """
    import stat as st

    source = str(path)
    try:
        info = os.stat(path)
    except OSError as exc:
        raise MatrixFileError(ERR_UNREADABLE.format(source=source, error=exc.strerror or exc)) from exc
    if not st.S_ISREG(info.st_mode):
        what = (
            "a folder" if st.S_ISDIR(info.st_mode)
            else "a named pipe (FIFO), which would never end" if st.S_ISFIFO(info.st_mode)
            else "a device, such as /dev/zero, which may never end" if st.S_ISCHR(info.st_mode) or st.S_ISBLK(info.st_mode)
            else "a socket" if st.S_ISSOCK(info.st_mode)
            else "a special file"
        )
        raise MatrixFileError(ERR_NOT_REGULAR.format(source=source, what=what))
    limit = parse_size(max_bytes)
    if info.st_size > limit:
        raise MatrixFileError(ERR_TOO_BIG.format(source=source, size=f"{info.st_size:,}", limit=f"{limit:,}",
                                                 env=MAX_BYTES_ENV, option="--max-bytes"))
    return info


def read_file_bytes(path: Path, limit: int) -> bytes:
    """The file's bytes, opened without blocking and read no further than ``limit``."""
    import stat as st

    source = str(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise MatrixFileError(ERR_UNREADABLE.format(source=source, error=exc.strerror or exc)) from exc
    try:
        if not st.S_ISREG(os.fstat(fd).st_mode):  # swapped since it was checked
            raise MatrixFileError(ERR_NOT_REGULAR.format(source=source, what="it changed while being opened"))
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise MatrixFileError(ERR_UNREADABLE.format(source=source, error=exc.strerror or exc)) from exc
    finally:
        os.close(fd)
    if len(data) > limit:
        raise MatrixFileError(ERR_TOO_BIG.format(source=source, size=f"more than {limit:,}", limit=f"{limit:,}",
                                                 env=MAX_BYTES_ENV, option="--max-bytes"))
    return data


def check_width(n: int, source: str, max_columns: int) -> None:
    """Refuse a file of ``n`` columns when that is more than ``max_columns`` (naming the limit's variable)."""
    if n > max_columns:
        raise MatrixFileError(ERR_TOO_WIDE.format(source=source, n=n, limit=max_columns, env=MAX_COLUMNS_ENV))


def _with_digest(res: ValidationResult, digest: str) -> ValidationResult:
    return ValidationResult(
        source=res.source,
        valid=res.valid,
        quarantined=res.quarantined,
        problems=res.problems,
        unknown_columns=res.unknown_columns,
        sha256=digest,
        line_label=res.line_label,
        notes=res.notes,
    )


def decode_text(data: bytes, source: str, encoding: str | None) -> str:
    """A file's bytes as text: in ``encoding`` if given, else UTF-16 by its BOM or UTF-8; a clear error
    naming the file (and the line of a bad byte) for anything else."""
    if encoding:
        try:
            return data.decode(encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise MatrixFileError(ERR_UNREADABLE.format(source=source, error=exc)) from exc
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    utf16 = _utf16_without_bom(data[:4096])
    if utf16:
        raise MatrixFileError(ERR_UTF16_NO_BOM.format(source=source, enc=utf16))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        what = _binary_kind(data[:4096])
        if what:
            raise MatrixFileError(ERR_NOT_TEXT.format(source=source, what=what)) from exc
        line = data[: exc.start].count(b"\n") + 1
        byte = data[exc.start]
        guess, enc = "Latin-1 / Windows-1252 (common in Excel exports)", "cp1252"
        raise MatrixFileError(
            ERR_ENCODING.format(source=source, byte=byte, line=line, guess=guess, enc=enc)
        ) from exc


def _utf16_without_bom(head: bytes) -> str | None:
    """'utf-16-le' / 'utf-16-be' if zero bytes sit at every other position, else None."""
    half = len(head) // 2
    if half < 4 or b"\x00" not in head:
        return None
    even, odd = head[0::2].count(0), head[1::2].count(0)
    if odd >= 0.4 * half and even <= 0.05 * half:
        return "utf-16-le"
    if even >= 0.4 * half and odd <= 0.05 * half:
        return "utf-16-be"
    return None


_MAGIC = (
    (b"PK\x03\x04", "it is a ZIP archive, probably an Excel workbook (.xlsx) renamed .csv"),
    (b"\xd0\xcf\x11\xe0", "it is an old Excel workbook (.xls) renamed .csv"),
    (b"PAR1", "it is a Parquet file: give it the extension .parquet"),
    (b"%PDF", "it is a PDF document"),
    (b"\x1f\x8b", "it is gzip-compressed: decompress it first"),
)


def _binary_kind(head: bytes) -> str | None:
    """Say what a non-text file looks like, or None if it may be text in another encoding."""
    for magic, what in _MAGIC:
        if head.startswith(magic):
            return what
    control = sum(head.count(b) for b in bytes(range(32)) if b not in b"\t\n\r")
    if control > 0.02 * max(len(head), 1):
        return "it holds binary data (control bytes), not text"
    return None


def check_header(header: list[str], source: str, delimiter: str) -> list[str]:
    """The header's column names (known ones lower-cased); refuses one column that looks split by
    another delimiter, and a name given twice."""
    names = [h.strip() or f"(unnamed column {i + 1})" for i, h in enumerate(header)]
    if len(names) == 1:
        for sep, sep_name, sep_cli in ((";", "semicolon", "';'"), ("\t", "tab", "tab"), ("|", "pipe", "'|'")):
            if sep != delimiter and sep in names[0]:
                raise MatrixFileError(
                    ERR_DELIMITER.format(source=source, sep=sep, sep_name=sep_name, sep_cli=sep_cli)
                )
    lowered = [n.lower() for n in names]
    seen: dict[str, list[int]] = {}
    for i, n in enumerate(lowered):
        seen.setdefault(n, []).append(i + 1)
    for n, positions in seen.items():
        if len(positions) > 1 and n:
            raise MatrixFileError(
                ERR_DUPLICATE_HEADER.format(
                    source=source, name=n, times=len(positions), positions=", ".join(map(str, positions))
                )
            )
    # Known columns are matched case-insensitively; unknown ones keep their spelling.
    known = set(matrix_columns()[1])
    return [n.lower() if n.lower() in known else n for n in names]


def read_csv_text(
    path: str | os.PathLike[str],
    *,
    encoding: str | None = None,
    delimiter: str = ",",
    max_bytes: int | str | None = None,
    max_columns: int | None = None,
):
    """A CSV file as read_matrix reads it, before validation: every cell as text, in a pyarrow table.

    Returns ``(table, lines, extra_problems, sha256)``: the table's columns are
    the checked header names (``large_string``), ``lines`` each row's file line,
    ``extra_problems`` the rows whose shape is wrong (``index`` into the table),
    as :func:`read_matrix_unlogged` passes them to validation. The same checks come
    first (regular file, size and column limits, encoding, header).
    """
    import pyarrow as pa

    delimiter = parse_delimiter(delimiter)
    limit, width = parse_size(max_bytes), parse_columns(max_columns)
    path = Path(path)
    check_input_file(path, max_bytes=limit)
    data = read_file_bytes(path, limit)
    digest = hashlib.sha256(data).hexdigest()
    raw, lines, extra = _read_csv_bytes(data, str(path), encoding=encoding, delimiter=delimiter,
                                        max_columns=width, arrow=True)
    del data
    if not isinstance(raw, pa.Table):
        raw = pa.table({c: pa.array(raw[c].astype(object).to_numpy(), type=pa.large_string()) for c in raw.columns})
    return raw, np.asarray(lines, dtype=np.int64), extra, digest


def parse_delimiter(delimiter: str) -> str:
    """The delimiter argument as one character ("tab" or "\\t" is a tab); refuses anything else."""
    delimiter = {"tab": "\t", "\\t": "\t"}.get(delimiter, delimiter)
    if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in '"\r\n':
        raise ValueError(ERR_DELIMITER_ARG.format(delimiter=delimiter))
    return delimiter


def _read_csv_bytes(
    data: bytes, source: str, *, encoding: str | None, delimiter: str, max_columns: int = DEFAULT_MAX_COLUMNS,
    arrow: bool = False,
) -> tuple[pd.DataFrame, np.ndarray, list[dict]]:
    """The rows as text, their file lines and the problems of their shape. ``arrow``: a file
    read on the fast path is returned as a pyarrow table (not converted to pandas)."""
    text = decode_text(data, source, encoding)
    if not text.strip():
        raise MatrixFileError(ERR_EMPTY.format(source=source, required=", ".join(matrix_columns()[0])))
    first_line = re.split(r"\r\n|\r|\n", text, maxsplit=1)[0]
    try:
        header = next(csv.reader([first_line], delimiter=delimiter))
    except csv.Error as exc:
        raise MatrixFileError(ERR_UNREADABLE.format(source=source, error=f"line 1 (header): {exc}")) from exc
    check_width(len(header), source, max_columns)
    names = check_header(header, source, delimiter)
    if '"' not in text and text.count("\r") == text.count("\r\n"):
        # Fast path: no quoting and no bare CR (a line break to pandas, not to
        # the split below), so one physical line is one row and the field
        # count of each line can be read off the text directly.
        utf8 = _utf8_body(data, encoding, delimiter)
        if utf8 is not None:
            # a plain file (plain_csv_body: the same rule as DuckDB's reader of it) that pyarrow
            # reads into one row per line has every line's width right (pyarrow refuses a line of
            # another width than the header's): the shapes need not be counted. Any other file,
            # or one pyarrow refuses (a line of another width, a field longer than its block), is
            # read by pandas below: reading it with pyarrow again could not succeed.
            plain = plain_csv_body(data, encoding=encoding, delimiter=delimiter, decoded=True)
            raw = None if plain is None else read_simple_csv(plain, names, delimiter, arrow=arrow)
            n_lines = utf8.count(b"\n") - utf8.endswith(b"\n")
            if raw is not None and (raw.num_rows if arrow else len(raw)) == n_lines:
                lines = np.arange(2, n_lines + 2)
                # every line has one field per column: a last row of empty cells is a line of
                # delimiters, a row to count, not a final newline
                return (raw, lines, []) if arrow else _drop_trailing_blank(raw, lines, [], last_line_blank=False)
            fields, blank = _line_shapes(utf8, delimiter, len(names))
            body = None
        else:
            body = text.split("\n")[1:]
            if body and body[-1] == "":
                body = body[:-1]
            fields = np.fromiter((ln.count(delimiter) + 1 for ln in body), dtype=np.int64, count=len(body))
            blank = None
        raw = pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
            header=0,
            names=names,
            engine="c",
            on_bad_lines="error",
        ) if (fields <= len(names)).all() else None
        if raw is not None and len(raw) == len(fields):
            lines = np.arange(2, len(raw) + 2)
            if blank is None:
                blank = np.fromiter((ln.strip() == "" for ln in body), dtype=bool, count=len(body))
            extra = _field_count_problems(fields, blank, len(names))
            return _drop_trailing_blank(raw.fillna(""), lines, extra,
                                        last_line_blank=bool(len(fields)) and fields[-1] != len(names))
    return _read_csv_slow(text, source, names, delimiter)


_UTF8_BOM = b"\xef\xbb\xbf"
_MAX_EXACT_INTEGER = 2.0**53
_PANDAS_INDEX = re.compile(r"__index_level_\d+__")


def plain_csv_body(data: bytes, *, encoding: str | None, delimiter: str, decoded: bool = False) -> bytes | None:
    """The bytes of a plain CSV file after any UTF-8 BOM; None for any other file.

    The one definition of a "plain" file, for both of its readers:
    :func:`read_matrix`'s fast path (pyarrow, :func:`_read_csv_bytes`) and DuckDB's own CSV
    reader (:func:`fairness.counts.duck._open_plain_csv`). A plain file is UTF-8 (a BOM allowed;
    no ``encoding`` given), split by an ASCII delimiter, without a quote character, without a
    carriage return but before a newline, without an empty line, and has a line after its
    header. A NUL byte is allowed: both readers keep it as a character of its value, as the
    general reader does. Each reader also requires every line to be as wide as the header
    (pyarrow and DuckDB refuse any other) and a row for each line; a file that fails either is
    read the general way, with its shape problems counted line by line.

    ``decoded``: the caller has decoded ``data`` as :func:`read_matrix` does (UTF-8, no
    UTF-16 without a BOM), so it is not decoded again.
    """
    body = _utf8_body(data, encoding, delimiter)
    if body is None:
        return None
    if not decoded:
        if _utf16_without_bom(data[:4096]):
            return None
        if not data.isascii():  # (ASCII is UTF-8: only other files are decoded, to test them)
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                return None
    if b'"' in body or b"\n\n" in body:
        return None
    # (the tests for a carriage return are skipped where there is none, as in most files)
    if b"\r" in body and (b"\n\r\n" in body or body.count(b"\r") != body.count(b"\r\n")):
        return None
    first = body.find(b"\n")  # a line after the header: a newline that does not end the file
    if first < 0 or first == len(body) - 1:
        return None
    return body


def _utf8_body(data: bytes, encoding: str | None, delimiter: str) -> bytes | None:
    """The file's bytes after any UTF-8 BOM, when read as UTF-8 (no ``encoding`` given, no UTF-16 BOM)
    with an ASCII delimiter; None otherwise. The first test of :func:`plain_csv_body`; the fast path
    of :func:`read_matrix` reads the shapes of a file that is not plain from these bytes too."""
    if encoding is not None or len(delimiter.encode("utf-8")) != 1 or data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None
    return data[len(_UTF8_BOM):] if data.startswith(_UTF8_BOM) else data


def _line_shapes(utf8: bytes, delimiter: str, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Fields per line and whether each line is blank, for the lines after the header.

    The same as ``line.count(delimiter) + 1`` and ``line.strip() == ""`` over
    ``text.split("\\n")[1:]`` (a last empty piece dropped), vectorised over
    the bytes (an ASCII delimiter byte never occurs inside a multi-byte
    character). Blankness only matters for a line of another width than the
    header's, so only those lines are decoded and stripped.
    """
    b = np.frombuffer(utf8, dtype=np.uint8)
    newlines = np.flatnonzero(b == 10)
    starts = newlines + 1
    if len(starts) and starts[-1] == len(b):  # the file ends with a newline: no last line
        starts = starts[:-1]
    if not len(starts):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool)
    # delimiters per line: how many lie before each line's start, differenced (one pass of
    # comparisons and a binary search; np.add.reduceat over the bytes took seconds at 1M rows)
    delimiters = np.flatnonzero(b == ord(delimiter))
    before = np.searchsorted(delimiters, np.append(starts, len(b)))
    fields = np.diff(before).astype(np.int64) + 1
    blank = np.zeros(len(starts), dtype=bool)
    ends = np.append(newlines[1:], len(b))
    for i in np.flatnonzero(fields != width):
        blank[i] = utf8[starts[i]:ends[i]].decode("utf-8").strip() == ""
    return fields, blank


def read_simple_csv(utf8: bytes, names: list[str], delimiter: str, *, arrow: bool = False) -> pd.DataFrame | None:
    """Read unquoted CSV whose every line has one field per column, all as text, with pyarrow.

    What ``pd.read_csv(dtype=str, na_filter=False)`` returns for such a file,
    several times faster. None if pyarrow reads it otherwise.
    """
    import pyarrow as pa
    from pyarrow import csv as pa_csv

    try:
        table = pa_csv.read_csv(
            io.BytesIO(utf8),
            # one thread: several were 5x slower (thread start-up and contention), and on a shared
            # machine much worse
            read_options=pa_csv.ReadOptions(column_names=names, skip_rows=1, use_threads=False),
            parse_options=pa_csv.ParseOptions(delimiter=delimiter, quote_char=False, double_quote=False,
                                              escape_char=False, newlines_in_values=False,
                                              ignore_empty_lines=False),
            convert_options=pa_csv.ConvertOptions(column_types={n: pa.large_string() for n in names}, null_values=[],
                                                  strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
    except (pa.ArrowInvalid, ValueError):
        return None
    if arrow:
        return table
    text = pd.StringDtype("pyarrow", na_value=np.nan)
    return table.to_pandas(types_mapper={pa.string(): text, pa.large_string(): text}.get)


def _field_count_problems(fields: np.ndarray, blank: np.ndarray, width: int) -> list[dict]:
    return [
        {
            "index": int(i),
            "column": "(row)",
            "value": "",
            "rule": "wrong_field_count",
            "message": f"the line has {int(fields[i])} fields, the header {width}: "
            "a truncated or broken line",
        }
        for i in np.flatnonzero((fields != width) & ~blank)
    ]


def _drop_trailing_blank(raw: pd.DataFrame, lines: np.ndarray, extra: list[dict], *, last_line_blank: bool = True):
    # A single empty line at the very end (an extra newline) is not a row;
    # a last line of too few or too many commas is (it is reported), and so is
    # a last line of nothing but delimiters (``last_line_blank=False``): it is
    # quarantined as an empty row, so that the counts add up.
    last = len(raw) - 1
    if (last_line_blank and len(raw) and (raw.iloc[-1] == "").all() and raw.shape[1] > 1
            and all(p["index"] != last for p in extra)):
        raw = raw.iloc[:-1]
        lines = lines[:-1]
    return raw.reset_index(drop=True), lines, extra


def _read_csv_slow(text: str, source: str, names: list[str], delimiter: str):
    """A row-by-row reader that keeps true file line numbers and flags bad rows."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    csv.field_size_limit(2**31 - 1)
    rows: list[list[str]] = []
    lines: list[int] = []
    extra: list[dict] = []
    width = len(names)
    last_empty = False
    try:
        next(reader)  # header
        start = reader.line_num + 1
        for row in reader:
            idx = len(rows)
            if len(row) != width and not (len(row) == 0):
                extra.append(
                    {
                        "index": idx,
                        "column": "(row)",
                        "value": "",
                        "rule": "wrong_field_count",
                        "message": f"the line has {len(row)} fields, the header {width}: "
                        "a truncated or broken line",
                    }
                )
            last_empty = len(row) == 0
            row = (row + [""] * width)[:width]
            rows.append(row)
            lines.append(start)
            start = reader.line_num + 1
    except csv.Error as exc:
        raise MatrixFileError(ERR_UNTERMINATED.format(source=source, line=start)) from exc
    if rows and _ends_inside_quote(text, rows[-1], lines[-1], delimiter):
        raise MatrixFileError(ERR_UNTERMINATED.format(source=source, line=lines[-1]))
    raw = pd.DataFrame(rows, columns=names, dtype=object)
    return _drop_trailing_blank(raw, np.asarray(lines, dtype=np.int64), extra,
                                last_line_blank=bool(rows) and last_empty)


def _ends_inside_quote(text: str, last_row: list[str], start: int, delimiter: str) -> bool:
    """True if the last record is a quoted field never closed (it swallowed the lines after it).

    The lenient reader silently ends such a field at the end of the file; a
    strict re-read of just the last record tells the two apart.
    """
    if not any("\n" in f or "\r" in f for f in last_row):
        return False
    tail = "".join(io.StringIO(text, newline="").readlines()[start - 1 :])
    try:
        for _ in csv.reader(io.StringIO(tail, newline=""), delimiter=delimiter, strict=True):
            pass
    except csv.Error as exc:
        return "unexpected end of data" in str(exc)
    return False


def _read_parquet_bytes(
    data: bytes, source: str, *, max_columns: int = DEFAULT_MAX_COLUMNS
) -> tuple[pd.DataFrame, np.ndarray]:
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(io.BytesIO(data))
    except Exception as exc:  # pyarrow raises several types for a bad file
        raise MatrixFileError(ERR_PARQUET.format(source=source, error=exc)) from exc
    check_width(len(schema.names), source, max_columns)
    try:
        table = pq.read_table(io.BytesIO(data))
    except Exception as exc:  # pyarrow raises several types for a bad file
        raise MatrixFileError(ERR_PARQUET.format(source=source, error=exc)) from exc
    # pandas stores an unnamed index as __index_level_0__ (not data); a named one
    # (person_id written as the index) is an ordinary column of the file
    table = table.select([i for i, n in enumerate(table.column_names) if not _PANDAS_INDEX.fullmatch(str(n))])
    names = check_header(list(table.column_names), source, ",")
    try:
        raw = parquet_text(table, names)
    except Exception as exc:
        raise MatrixFileError(ERR_PARQUET.format(source=source, error=exc)) from exc
    return raw, np.arange(1, len(raw) + 1)


def parquet_text(table, names: list[str], has_nulls: dict[str, bool] | None = None) -> pd.DataFrame:
    """Every column as the text a CSV would hold (:func:`to_text`), one distinct value at a time.

    Each column is dictionary-encoded by pyarrow and only its distinct values
    are converted to Python and written as text; the text is then spread back
    with the codes. A distinct value is converted as pandas converts the whole
    column (a column with missing values is converted with one, so booleans
    become objects and integers floats, as ``Table.to_pandas`` does).
    ``has_nulls`` says, for rows taken from a larger file, which columns of
    the whole file have missing values.
    """
    import pyarrow as pa

    # Columns are converted one by one from the table, never through
    # Table.to_pandas(), which would move a column that pandas wrote as the
    # index (person_id, say) out of the columns.
    text_type = pd.StringDtype("pyarrow", na_value=np.nan)
    columns = {}
    for name, column in zip(names, table.columns, strict=True):
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            # text is written as it is ("" when missing)
            as_text = column.cast(pa.large_string()).fill_null("")
            columns[name] = pd.Series(as_text.to_pandas(types_mapper={pa.large_string(): text_type}.get),
                                      dtype=text_type)
            continue
        try:
            if pa.types.is_dictionary(column.type):
                column = column.cast(column.type.value_type)
            encoded = column.dictionary_encode().combine_chunks()
        except (pa.ArrowNotImplementedError, pa.ArrowInvalid, TypeError):
            columns[name] = to_text(_column_to_pandas(column)).astype(object)
            continue
        dictionary = encoded.dictionary
        nulls = bool(column.null_count) or bool((has_nulls or {}).get(name, False))
        if nulls:
            dictionary = pa.concat_arrays([dictionary, pa.nulls(1, dictionary.type)])
        text = _to_text_each(_column_to_pandas(dictionary)).to_numpy(dtype=object)
        if nulls:
            text = text[:-1]
        indices = encoded.indices.fill_null(len(text)) if column.null_count else encoded.indices
        as_text = pa.array(np.append(text, "").astype(object) if column.null_count else text, type=pa.large_string())
        columns[name] = pd.Series(as_text.take(indices).to_pandas(types_mapper={pa.large_string(): text_type}.get),
                                  dtype=text_type)
    return pd.DataFrame(columns)


def _column_to_pandas(values) -> pd.Series:
    try:
        return pd.Series(values.to_pandas())
    except Exception:  # e.g. a date outside pandas' range (year 9999): keep it as an object
        return pd.Series(values.to_pandas(timestamp_as_object=True, date_as_object=True))


def to_text(s: pd.Series) -> pd.Series:
    """Render a typed column as the text a CSV would hold, so both formats share one parser.

    Worked out once per distinct value for numbers, dates and booleans (whose
    distinct values cannot be confused); per cell for objects.
    """
    if s.dtype != object and len(s):
        try:
            codes, uniques = pd.factorize(s, use_na_sentinel=False)
        except TypeError:
            return _to_text_each(s)
        text = _to_text_each(pd.Series(uniques, dtype=s.dtype)).to_numpy(dtype=object)
        return pd.Series(text[codes], index=s.index, dtype=object)
    return _to_text_each(s)


def _to_text_each(s: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(s):
        out = s.dt.strftime("%Y-%m-%d")
    elif pd.api.types.is_bool_dtype(s):
        out = s.map({True: "true", False: "false"})
    elif pd.api.types.is_float_dtype(s):
        out = s.map(lambda v: "" if pd.isna(v) else (str(int(v)) if float(v).is_integer() else repr(float(v))))
    else:
        out = s.map(lambda v: "" if v is None or (not isinstance(v, (list, tuple, dict, np.ndarray)) and pd.isna(v)) else str(v))
        if s.dtype == object and len(s) and s.map(lambda v: hasattr(v, "strftime")).any():
            out = s.map(lambda v: v.strftime("%Y-%m-%d") if hasattr(v, "strftime") else ("" if v is None else str(v)))
    return out.fillna("").astype(object)


# --------------------------------------------------------------------------- validating


def shown_value(value: object) -> str:
    """A value as a message shows it: quoted, and cut short when very long."""
    text = str(value)
    if len(text) > _SHOWN_VALUE_LENGTH:
        text = text[:_SHOWN_VALUE_LENGTH] + f"… ({len(text):,} characters)"
    return repr(text)


def _suggest(value: str, valid: Sequence[str]) -> str:
    match = difflib.get_close_matches(value.strip().lower(), [v.lower() for v in valid], n=1, cutoff=0.6)
    if not match:
        return ""
    return next(v for v in valid if v.lower() == match[0])


def validate_frame(
    raw: pd.DataFrame,
    *,
    source: str = "<frame>",
    lines: Sequence[int] | np.ndarray | None = None,
    line_label: str = "line",
    extra_problems: Sequence[dict] = (),
    profile: Any = None,
) -> ValidationResult:
    """Validate a frame of matrix rows (against ``profile``'s vocabulary if given, as :func:`read_matrix`).

    ``raw`` may hold text (as read from CSV) or typed values (a frame built in
    Python); either way every cell is parsed by the same rules. ``lines``
    gives each row's file line (default: header on line 1, so row ``i`` is
    line ``i + 2``).

    Raises
    ------
    MatrixFileError
        If a required column is missing or the frame has no rows.
    """
    with using_profile(profile) as vocab:
        result, _ = validate_rows(raw, source=source, lines=lines, line_label=line_label,
                                   extra_problems=extra_problems)
    if vocab is not None:
        result = dataclasses.replace(result, notes=(*result.notes, f"validated with profile {vocab.profile!r}"))
    return result


def validate_rows(
    raw: pd.DataFrame,
    *,
    source: str = "<frame>",
    lines: Sequence[int] | np.ndarray | None = None,
    line_label: str = "line",
    extra_problems: Sequence[dict] = (),
    duplicates: bool = True,
) -> tuple[ValidationResult, pd.DataFrame]:
    """:func:`validate_frame`, and each row's parsed ``person_id`` and ``snapshot_date`` (missing
    where they do not parse). ``duplicates=False`` leaves out the one-row-per-person rule (for rows
    checked in batches, whose duplicates are looked for across the whole file elsewhere)."""
    raw = raw.copy()
    raw.columns = check_header([str(c) for c in raw.columns], source, ",")
    required_columns, all_columns, _ = matrix_columns()
    missing = [c for c in required_columns if c not in raw.columns]
    if missing:
        raise MatrixFileError(
            ERR_MISSING.format(
                source=source,
                missing=", ".join(missing),
                found=", ".join(visible_name(c) for c in raw.columns) or "(none)",
                required=", ".join(required_columns),
            )
            + invisible_hint(list(raw.columns))
        )
    if len(raw) == 0:
        raise MatrixFileError(ERR_NO_ROWS.format(source=source))
    raw = raw.reset_index(drop=True)
    lines = np.arange(2, len(raw) + 2) if lines is None else np.asarray(lines)
    text = pd.DataFrame({c: as_text(raw[c]) for c in raw.columns})

    problems: list[pd.DataFrame] = []
    if extra_problems:
        problems.append(pd.DataFrame(list(extra_problems)))
    typed = pd.DataFrame(index=raw.index)
    for col in [c for c in all_columns if c in text.columns]:
        values, found = _parse_by_value(col, text[col])
        typed[col] = values
        if found is not None and len(found):
            problems.append(found)

    long_cells = _long_field_problems(text)
    if long_cells is not None:
        problems.append(long_cells)
    empty_rows = _empty_row_problems(text)
    if empty_rows is not None:
        problems.append(empty_rows)

    # Rules on typed values: ranges, valid sets, date order, one row per person.
    problems.append(_schema_problems(typed, text, duplicates=duplicates))

    prob = _assemble_problems(problems, lines)
    bad_index = np.unique(prob["index"].to_numpy()) if len(prob) else np.array([], dtype=int)
    bad_mask = np.zeros(len(raw), dtype=bool)
    bad_mask[bad_index] = True

    unknown = tuple(c for c in raw.columns if c not in all_columns)
    valid = typed.loc[~bad_mask] if bad_mask.any() else typed.copy()
    if unknown:  # added in one step: one column at a time costs the square of the column count
        valid = pd.concat([valid, text.loc[~bad_mask, list(unknown)]], axis=1)
    valid = valid.astype({k: v for k, v in canonical_dtypes().items() if k in valid.columns and k in all_columns})
    valid = valid.reset_index(drop=True)

    quarantined = text.loc[bad_mask].copy()
    quarantined.insert(0, "line", lines[bad_mask])
    if len(prob):
        per_row = prob.groupby("index", sort=True)
        rules = per_row["rule"].agg(lambda r: ";".join(dict.fromkeys(r)))
        reasons = per_row["message"].agg(lambda m: " | ".join(m))
        quarantined["rules"] = rules.reindex(quarantined.index).to_numpy()
        quarantined["reasons"] = reasons.reindex(quarantined.index).to_numpy()
    else:
        quarantined["rules"] = pd.Series(dtype=object)
        quarantined["reasons"] = pd.Series(dtype=object)
    quarantined = quarantined.reset_index(drop=True)

    notes = []
    if unknown:
        notes.append(
            f"{len(unknown)} column(s) not in the matrix format kept as text: {', '.join(unknown)}"
        )
    keys = pd.DataFrame({"person_id": typed["person_id"],
                         "snapshot_date": typed["snapshot_date"] if "snapshot_date" in typed else pd.NaT,
                         "valid": ~bad_mask})
    return ValidationResult(
        source=source,
        valid=valid,
        quarantined=quarantined,
        problems=prob.drop(columns=["index"]),
        unknown_columns=unknown,
        line_label=line_label,
        notes=tuple(notes),
    ), keys


#: Characters that cannot be seen but make a column name differ from the one expected.
_INVISIBLE = {
    "\ufeff": "U+FEFF (a byte-order mark; a file saved with two of them, or one inside the text)",
    "\u200b": "U+200B (zero-width space)",
    "\u200c": "U+200C (zero-width non-joiner)",
    "\u200d": "U+200D (zero-width joiner)",
    "\u2060": "U+2060 (word joiner)",
    "\u00a0": "U+00A0 (no-break space)",
    "\u00ad": "U+00AD (soft hyphen)",
}
ERR_INVISIBLE = (
    " Column {shown} holds the invisible character {what}, so it does not match {name!r}; "
    "remove it (re-save the file as UTF-8 with at most one byte-order mark)"
)


def visible_name(name: object) -> str:
    """A column name with invisible characters written out (``<U+FEFF>person_id``)."""
    text = str(name)
    for ch in _INVISIBLE:
        text = text.replace(ch, f"<U+{ord(ch):04X}>")
    return text


def invisible_hint(columns: list[object]) -> str:
    """A sentence for the first column name with an invisible character in it, or "" for none."""
    for c in columns:
        text = str(c)
        found = [ch for ch in _INVISIBLE if ch in text]
        if found:
            cleaned = text
            for ch in found:
                cleaned = cleaned.replace(ch, "")
            return ERR_INVISIBLE.format(shown=visible_name(text), what=_INVISIBLE[found[0]], name=cleaned.strip().lower())
    return ""


def _empty_row_problems(text: pd.DataFrame) -> pd.DataFrame | None:
    """Rows whose every cell is empty (a line of delimiters): one problem each, so they are counted."""
    empty = np.ones(len(text), dtype=bool)
    for c in text.columns:
        empty &= (text[c].astype(str).str.strip() == "").to_numpy()
    if not empty.any():
        return None
    idx = np.flatnonzero(empty)
    return pd.DataFrame({"index": idx, "column": "(row)", "value": "", "rule": "empty_row",
                         "message": "every cell is empty (a line of delimiters only): an empty row"})


def as_text(s: pd.Series) -> pd.Series:
    """Each cell as text ("" when missing), as a pyarrow-backed string column.

    Text stays text (no per-cell Python work for a column of strings); other
    values are written as a CSV would hold them (:func:`to_text`).
    """
    if pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s):
        if isinstance(s.dtype, pd.StringDtype) or pd.api.types.infer_dtype(s, skipna=True) in ("string", "empty"):
            try:
                return s.astype("str").fillna("")
            except (TypeError, ValueError, UnicodeError):  # e.g. a lone surrogate arrow cannot encode
                pass
        return _text_column(s.astype(object).where(s.notna(), "").map(str))
    return _text_column(to_text(s))


def _text_column(s: pd.Series) -> pd.Series:
    try:
        return s.astype("str")
    except (TypeError, ValueError, UnicodeError):
        return s.astype(object)


def _problem_frame(mask: np.ndarray, col: str, values: pd.Series, rule: str, message) -> pd.DataFrame:
    idx = np.flatnonzero(mask)
    vals = values.iloc[idx]
    if callable(message):
        msgs = [message(v) for v in vals]
    else:
        msgs = [f"{shown_value(v)} {message}" for v in vals]
    return pd.DataFrame({"index": idx, "column": col, "value": vals.to_numpy(), "rule": rule, "message": msgs})


def _parse_by_value(col: str, s: pd.Series) -> tuple[pd.Series, pd.DataFrame | None]:
    """:func:`_parse_column` on each distinct text of ``s``, spread back to its rows.

    A million rows hold a few thousand distinct ages, dates or scores: each is
    parsed (and, if wrong, described) once. Every row of a value gets that
    value's parsed value and its problems.
    """
    codes, uniques = pd.factorize(s, use_na_sentinel=False)
    distinct = pd.Series(np.asarray(uniques, dtype=object), dtype=object)
    values_u, found_u = _parse_column(col, distinct)
    cats = _categories()
    if col in cats:
        cat = pd.Categorical(values_u, categories=list(cats[col]))
        values = pd.Series(pd.Categorical.from_codes(cat.codes[codes], categories=cat.categories), index=s.index)
    elif col in TEXT_COLUMNS:
        values = pd.Series(pd.array(values_u, dtype="string")[codes], index=s.index)
    else:
        values = values_u.iloc[codes].set_axis(s.index)
    if found_u is None or not len(found_u):
        return values, None
    rows = np.flatnonzero(np.isin(codes, found_u["index"].to_numpy()))
    spread = pd.DataFrame({"index": rows, "u": codes[rows]}).merge(
        found_u.rename(columns={"index": "u"}), on="u", how="inner", sort=False
    )
    return values, spread[["index", "column", "value", "rule", "message"]]


def _parse_column(col: str, s: pd.Series) -> tuple[pd.Series, pd.DataFrame | None]:
    stripped = s.str.strip()
    empty = (stripped == "").to_numpy()
    required_columns, _, boolean_columns = matrix_columns()
    required = col in required_columns
    found: list[pd.DataFrame] = []
    if required and empty.any():
        found.append(
            _problem_frame(empty, col, s, "missing_value", lambda v: f"empty, but {col} is required")
        )

    vocab = active_vocabulary()
    if col in CATEGORIES:
        valid = CATEGORIES[col] if vocab is None else vocab.categories[col]
        lookup = {v.lower(): v for v in valid} if vocab is None else vocab.lookups[col]
        values = stripped.str.lower().map(lookup)
        bad = values.isna().to_numpy() & ~empty
        if bad.any():
            cache: dict[str, str] = {}

            def message(v: str, col=col, valid=valid, cache=cache) -> str:
                if v not in cache:
                    hint = _suggest(v, valid)
                    did = f"; did you mean {hint!r}?" if hint else ""
                    what = (
                        "one of the 32 London boroughs, ONS spelling"
                        if col == "borough"
                        else "one of " + ", ".join(valid)
                    ) if vocab is None else vocab.valid_text[col]
                    extra = ""
                    if vocab is None and col == "borough" and v.strip().lower() in ("city of london", "city"):
                        extra = " (the City of London has its own police force)"
                    cache[v] = f"{shown_value(v)} is not valid{extra}{did or '.'} Valid: {what}"
                return cache[v]

            found.append(_problem_frame(bad, col, s, "invalid_category", message))
        return values.astype(object), _concat(found)

    if col in boolean_columns:
        low = stripped.str.lower()
        values = pd.Series(pd.NA, index=s.index, dtype="boolean")
        values[low.isin(BOOLEAN_TRUE).to_numpy()] = True
        values[low.isin(BOOLEAN_FALSE).to_numpy()] = False
        bad = values.isna().to_numpy() & ~empty
        if bad.any():
            found.append(
                _problem_frame(bad, col, s, "bad_boolean", "is not a boolean. Valid: true/false, yes/no, 1/0 (any case), or empty")
            )
        return values, _concat(found)

    if col in INTEGER_COLUMNS or col in NUMBER_COLUMNS:
        num = pd.to_numeric(stripped.where(~pd.Series(empty, index=s.index), None), errors="coerce")
        num = num.astype("float64")
        not_number = num.isna().to_numpy() & ~empty
        infinite = np.isinf(num.to_numpy())
        if col in INTEGER_COLUMNS:
            with np.errstate(invalid="ignore"):  # inf % 1 is NaN; inf is reported above
                fractional = ~np.isnan(num.to_numpy()) & ~infinite & (np.mod(num.to_numpy(), 1) != 0)
            bad = not_number | infinite | fractional
            if bad.any():
                found.append(_problem_frame(bad, col, s, "not_an_integer",
                                            f"is not a whole number. Valid: a whole number {_valid_text(col)}"))
            # beyond 2**53 a float no longer holds every whole number (and past 2**63 no
            # integer column does): no age or count is that large
            with np.errstate(invalid="ignore"):
                huge = ~bad & ~np.isnan(num.to_numpy()) & (np.abs(num.to_numpy()) >= _MAX_EXACT_INTEGER)
            if huge.any():
                found.append(_problem_frame(huge, col, s, "out_of_range",
                                            f"is far out of range. Valid: a whole number {_valid_text(col)}"))
                bad = bad | huge
        else:
            bad = not_number | infinite
            if bad.any():
                found.append(_problem_frame(bad, col, s, "not_a_number",
                                            f"is not a finite number. Valid: a number {_valid_text(col)}"))
        num = num.where(~pd.Series(bad, index=s.index))
        if col == "age":
            return num, _concat(found)
        if col in INTEGER_COLUMNS:
            return num.round().astype("Int64"), _concat(found)
        return num, _concat(found)

    if col in DATE_COLUMNS:
        dates = pd.to_datetime(stripped.where(~pd.Series(empty, index=s.index), None), format="%Y-%m-%d", errors="coerce")
        bad = dates.isna().to_numpy() & ~empty
        if bad.any():
            found.append(_problem_frame(bad, col, s, "bad_date", "is not a date. Valid: a real date written YYYY-MM-DD"))
        # A real date outside what datetime64[ns] holds (e.g. the placeholder 9999-12-31).
        far = (dates.notna() & ((dates < _DATE_MIN) | (dates > _DATE_MAX))).to_numpy()
        if far.any():
            found.append(_problem_frame(far, col, s, "bad_date", f"is outside the usable dates {_DATE_MIN:%Y-%m-%d} to {_DATE_MAX:%Y-%m-%d} (a placeholder?). Valid: a real date written YYYY-MM-DD"))
            dates = dates.where(~pd.Series(far, index=s.index))
        return dates.astype("datetime64[ns]"), _concat(found)

    # text columns
    if col == "shared_with":
        return stripped.astype(object), _concat(found)
    return stripped.astype(object).where(~pd.Series(empty, index=s.index), None), _concat(found)


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame | None:
    frames = [f for f in frames if f is not None and len(f)]
    return pd.concat(frames, ignore_index=True) if frames else None


def _long_field_problems(text: pd.DataFrame) -> pd.DataFrame | None:
    found = []
    for col in text.columns:
        lengths = text[col].str.len().to_numpy()
        bad = lengths > MAX_FIELD_LENGTH
        if bad.any():
            found.append(
                _problem_frame(
                    bad,
                    col,
                    text[col],
                    "field_too_long",
                    lambda v: f"{shown_value(v)} is longer than {MAX_FIELD_LENGTH:,} characters: "
                    "probably a broken quote that swallowed other lines",
                )
            )
    return _concat(found)


_COLUMN_RULES = {
    "isin": "invalid_category",
    "greater_than_or_equal_to": "out_of_range",
    "less_than_or_equal_to": "out_of_range",
    "str_length": "bad_text",
}


def _schema_problems(typed: pd.DataFrame, text: pd.DataFrame, *, duplicates: bool = True) -> pd.DataFrame:
    """Run the pandera schema; turn its failure cases into problem records."""
    # Columns that failed to parse are NaN; pandera's not-null check would
    # report them again, so only rows with a value are shown to range checks.
    frame = typed.copy()
    if "age" in frame:
        frame["age"] = frame["age"].fillna(AGE_FILL).astype("int64")
    cats = _categories()
    fill = {"person_id": "x", "borough": cats["borough"][0], "ethnicity": cats["ethnicity"][0], "sex": SEXES[0],
            "risk_band": cats["risk_band"][0]}
    for c, v in fill.items():
        if c in frame:
            frame[c] = frame[c].fillna(v)
    if "harm_score" in frame:
        frame["harm_score"] = frame["harm_score"].fillna(0.0)
    if "snapshot_date" in frame:
        frame["snapshot_date"] = frame["snapshot_date"].fillna(pd.Timestamp("1900-01-01"))
    else:  # a list without snapshots (its profile says so): one pooled snapshot, after every date
        frame["snapshot_date"] = _DATE_MAX
    # person_id placeholders must not collide with each other in the duplicate check
    if "person_id" in frame:
        missing_id = typed["person_id"].isna()
        frame.loc[missing_id, "person_id"] = [f"\x00missing{i}" for i in np.flatnonzero(missing_id)]
    snap_missing = (typed["snapshot_date"].isna() if "snapshot_date" in typed
                    else pd.Series(False, index=typed.index))
    records = []
    for check, column, idx in _schema_failures(frame, duplicates=duplicates):
        name = check.name
        if name in CHECK_RULES:
            rule, column, message = CHECK_RULES[name]
            if name == "duplicate_person_id":
                idx = idx[~snap_missing.iloc[idx].to_numpy() & typed["person_id"].iloc[idx].notna().to_numpy()]
            elif rule == "date_order":
                idx = idx[~snap_missing.iloc[idx].to_numpy()]  # snapshot_date already reported
            for i in idx:
                value = text[column].iloc[i] if column in text else ""
                records.append((i, column, value, rule, f"{shown_value(value)}: {message}"))
            continue
        missing = typed[column].isna().to_numpy()
        rule = _COLUMN_RULES.get(name, "invalid")
        valid = _active_schema().columns[column].metadata.get("valid", "")
        what = "is too long" if rule == "bad_text" else "is out of range"
        for i in idx:
            if missing[i]:
                continue  # already reported as a parse failure or missing value
            raw_value = text[column].iloc[i] if column in text else ""
            records.append((i, column, raw_value, rule, f"{shown_value(raw_value)} {what}. Valid: {valid}"))
    return pd.DataFrame(records, columns=["index", "column", "value", "rule", "message"])


def _valid_text(column: str) -> str:
    """What the schema says is valid in ``column`` (its data-dictionary entry)."""
    spec = _schema().columns.get(column)
    return (spec.metadata or {}).get("valid", "") if spec is not None else ""


@functools.cache
def _schema() -> pandera.DataFrameSchema:
    from fairness.io.schema import MatrixSchema

    return MatrixSchema.to_schema()


def _active_schema() -> pandera.DataFrameSchema:
    """:class:`MatrixSchema`, or the active profile's version of it (areas, groups, bands, ages)."""
    vocab = active_vocabulary()
    return _schema() if vocab is None else vocab.schema


def _schema_failures(frame: pd.DataFrame, *, duplicates: bool = True) -> list[tuple[pandera.Check, str | None, np.ndarray]]:
    """Every failed check of :class:`MatrixSchema`: (check, column, row positions), in the order
    pandera lists its failure cases (frame-wide checks, then each column's).

    The schema's own :class:`pandera.Check` objects are applied: the frame-wide
    ones to the frame, the column ones to each column's distinct values (a
    range or set check of a value does not depend on the row), which is what
    ``MatrixSchema.validate(frame, lazy=True)`` reports without its per-cell
    bookkeeping (tests/test_validate.py checks they agree).
    """
    schema = _active_schema()
    out: list[tuple[pandera.Check, str | None, np.ndarray]] = []
    for check in schema.checks:
        if check.name == "duplicate_person_id" and not duplicates:
            continue
        passed = check(frame).check_output
        failed = np.flatnonzero(~np.asarray(passed, dtype=bool))
        if len(failed):
            out.append((check, None, failed))
    for column, spec in schema.columns.items():
        if column not in frame or not spec.checks:
            continue
        codes, uniques = pd.factorize(frame[column])
        distinct = pd.Series(uniques)
        if not len(distinct):
            continue
        for check in spec.checks:
            passed = np.asarray(check(distinct).check_output, dtype=bool)
            bad = np.flatnonzero(~passed)
            if len(bad):
                out.append((check, column, np.flatnonzero(np.isin(codes, bad))))
    return out


AGE_FILL = 30  # placeholder for unparseable ages (already reported) so range checks run


def _assemble_problems(frames: list[pd.DataFrame], lines: np.ndarray) -> pd.DataFrame:
    frames = [f for f in frames if f is not None and len(f)]
    if not frames:
        return pd.DataFrame(
            {"index": pd.Series(dtype="int64"), "line": pd.Series(dtype="int64"), "column": [], "value": [], "rule": [], "message": []}
        )
    prob = pd.concat(frames, ignore_index=True)
    prob["index"] = prob["index"].astype("int64")
    prob = prob.drop_duplicates(["index", "column", "rule"])
    prob.insert(1, "line", lines[prob["index"].to_numpy()])
    return prob.sort_values(["line", "column"], kind="stable").reset_index(drop=True)[
        ["index", "line", "column", "value", "rule", "message"]
    ]
