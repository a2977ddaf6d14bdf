"""Parquet files larger than memory: validated and counted by DuckDB, audited from the counts.

Years of pooled snapshots or a national record set may hold tens of millions
of rows. ``fairness.audit(path, engine="duckdb")`` (and ``fairness validate
--engine duckdb``) never loads them into pandas. DuckDB runs embedded (no
server), within a memory limit, spilling to a temporary directory.

1. **Rows SQL can vouch for, counted.** One scan marks every row whose values
   are already in the form validation accepts (a category in its canonical
   spelling, a date in range, an age of 10–99, text without spaces to strip,
   ...): the test is deliberately stricter than validation, so a row it
   passes is a row :mod:`fairness.io.validation` passes, with the same typed
   values. The same scan counts those rows into the cube's tables (GROUPING
   SETS over each row's codes, the SQL twin of
   :func:`fairness.counts.cube.frame_codes`) and lists the other rows.
2. **The rest, row by row.** The other rows (in a real file, few) are read
   with pyarrow and validated by :mod:`fairness.io.validation` itself, in batches:
   the same rules, the same messages, row numbers 1-based in file order (as
   ``read_matrix`` gives for Parquet). Rows it accepts (a borough in lower
   case, a padded id) are kept, and counted apart.
3. **People.** One hash group-by of the valid rows by person_id gives each
   person bit masks of the quarters they are listed in and of those with harm 0,
   their boroughs and their place in person_id order, in one query that stores
   nothing (people with the same masks come back counted together, only the few
   marked one by one); zero-harm streaks and
   re-listing follow from the bits (:func:`_mask_counts`), and the test cells
   are one more group-by (the person_id test pattern matched once per person).
   No row is sorted. The few people the masks cannot describe (two snapshots in
   a quarter, a move between boroughs, a key shared with a rejected row) are
   streamed out of DuckDB sorted by person and date, as every person was
   before, and counted with :func:`fairness.counts.cube.person_counts`; only
   they can hold rows sharing a person and a snapshot date (one row per person
   per snapshot: all of them quarantined, as validation does). A matrix of more
   quarters than the masks hold (252) is streamed whole. ``validate_parquet``
   alone finds duplicates with a hashed group-by instead.
4. **Deriving.** :func:`fairness.results.audit.audit_from_cube` computes every table,
   as for a DataFrame. Rows found to be duplicates are left out of the
   counts (the tables are counted again in the rare file that has any).

The result equals the in-memory path on the same data (``tests/test_duck.py``
compares them table by table, and the validation problems line by line).
Test patterns of the data-protection checks apply to every column of the
matrix format: numbers, dates and booleans are matched on each distinct value
as pandas writes it (:func:`_typed_matches`). A pattern on a column outside the
format is noted, not applied.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import glob
import hashlib
import math
import os
import re
import shutil
import tempfile
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fairness import definitions as defs
from fairness.counts.cube import (
    ERR_NO_VALID_ROWS,
    TABLE_KEYS,
    Layout,
    combine_tables,
    count_codes,
    finish_cube,
    pattern_searches,
    person_counts,
)
from fairness.definitions import (
    AGE_MAX,
    AGE_MIN,
    ALL_COLUMNS,
    BOROUGHS,
    ETHNICITIES,
    RISK_BANDS,
    SEXES,
)
from fairness.io.schema import CHECK_RULES
from fairness.io.validation import (
    ERR_MISSING,
    ERR_NO_ROWS,
    ERR_PARQUET,
    ERR_UNREADABLE,
    MAX_BYTES_ENV,
    MatrixFileError,
    ValidationResult,
    canonical_dtypes,
    check_header,
    check_input_file,
    check_width,
    invisible_hint,
    matrix_columns,
    parquet_text,
    parse_columns,
    parse_size,
    read_csv_text,
    read_matrix_unlogged,
    shown_value,
    validate_rows,
    visible_name,
)
from fairness.profiles._vocabulary import active_vocabulary, using_profile
from fairness.quarters import label_number, number_label, quarter_number, select_quarter

__all__ = [
    "DEFAULT_MEMORY_LIMIT",
    "ParquetValidation",
    "count_and_validate_parquet",
    "quarters_and_ids",
    "read_file_and_log",
    "records_count_table",
    "validate_file",
    "with_valid_rows",
    "is_parquet_path",
    "use_duckdb",
    "validate_parquet",
    "count_quarter",
    "valid_date_count",
    "valid_quarters",
]

#: DuckDB's memory limit (``SET memory_limit``); it spills to disk beyond it. With what Python
#: holds besides, a 50M-row audit peaked near 3 GB while its rows were sorted by person; 1.2 GB since
#: (no sort: see "People" above).
DEFAULT_MEMORY_LIMIT = "2.5GB"
#: Rows validated by pandas at a time, and rows counted in numpy at a time.
BATCH_ROWS = 250_000
STREAM_ROWS = 1_000_000

ERR_SCHEMAS = "{source}: the Parquet files do not share one schema ({first} and {other} differ)"
ERR_NO_FILES = "no Parquet files in {source}"
TEXT_SUFFIXES = (".csv", ".txt", ".tsv")
ERR_NOT_PARQUET = ("{source}: {file} is not a Parquet file (type {suffix!r}); a folder or a pattern of files "
                   "is read as Parquet files (.parquet or .pq) of one schema")
ERR_TOTAL_TOO_BIG = (
    "{source}: the {n} files hold {size} bytes in all, more than the limit of {limit} bytes ({env} or "
    "--max-bytes); raise the limit if the files are genuine"
)
NOTE_ROWS_IN_FILE = "valid rows are counted in the file (DuckDB), not loaded: use fairness.audit(result)"
NOTE_PATTERN = "column {column} is not in the matrix format: the DuckDB engine does not apply its test pattern"

_DATE_MIN, _DATE_MAX = "1677-09-22", "2262-04-11"  # the dates datetime64[ns] holds, as validation
_INTS = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT")
_FLOATS = ("FLOAT", "DOUBLE")
_TIMESTAMPS = ("TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS")
_PLAIN = _INTS + _FLOATS + _TIMESTAMPS + ("DATE", "BOOLEAN", "VARCHAR")
_EXACT = 9007199254740992  # 2**53: integers a float holds exactly
_CATEGORIES = {"borough": BOROUGHS, "ethnicity": ETHNICITIES, "sex": SEXES, "risk_band": RISK_BANDS}


# ---------------------------------------------------------------------- the source


@dataclass(frozen=True)
class _Source:
    """One Parquet file, or several with one schema read as one (rows numbered across them)."""

    source: str
    files: tuple[str, ...]
    offsets: tuple[int, ...]
    row_groups: tuple[tuple[int, ...], ...]  # rows in each row group, per file
    n_rows: int
    raw_names: tuple[str, ...]
    names: tuple[str, ...]
    types: dict[str, str]  # DuckDB type by normalised name
    sha256: str
    #: a CSV file: its rows as text (pyarrow, registered in DuckDB as ``__text`` with ``__row``, the
    #: file line, and ``__broken``, a row of the wrong shape), their lines, and the shape problems
    text: Any = field(default=None, compare=False, repr=False)
    lines: Any = field(default=None, compare=False, repr=False)
    shape_problems: tuple = field(default=(), compare=False, repr=False)
    line_label: str = "row"
    #: a plain CSV file read by DuckDB itself (:func:`_open_plain_csv`): its lines
    plain: Any = field(default=None, compare=False, repr=False)

    def scan(self) -> str:
        """The FROM clause: the file(s), with a 1-based row number in file order (a CSV file's
        line number; a plain CSV file's rows are numbered by the table they are read into)."""
        if self.plain is not None:
            return self.plain.scan(self.raw_names)
        if self.text is not None:
            return "__text"
        files = "[" + ", ".join(_literal(f) for f in self.files) + "]"
        if len(self.files) == 1:
            return f"(SELECT *, file_row_number + 1 AS __row FROM read_parquet({files}, file_row_number=true))"
        offsets = "[" + ", ".join(str(o) for o in self.offsets) + "]"
        return (f"(SELECT *, file_row_number + 1 + {offsets}[list_position({files}, filename)] AS __row "
                f"FROM read_parquet({files}, file_row_number=true, filename=true))")


def _literal(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def _text_list(values: Sequence[str]) -> str:
    return "[" + ", ".join(_literal(v) for v in values) + "]::VARCHAR[]"


def _files(path: str | os.PathLike[str]) -> list[str]:
    p = Path(path)
    if p.is_dir():
        return sorted(os.path.abspath(f) for f in p.iterdir() if f.suffix.lower() in (".parquet", ".pq"))
    if any(ch in str(path) for ch in "*?["):
        return sorted(os.path.abspath(f) for f in glob.glob(str(path)))
    return [os.path.abspath(p)]  # links kept by name (checked through them, not replaced by their targets)


def _checked_files(path: str | os.PathLike[str], max_bytes: int | str | None) -> list[str]:
    """The files to read, each checked before it is opened as a single file is
    (:func:`fairness.io.validation.check_input_file`: a regular file, links followed, within the
    size limit; a .parquet or .pq file), and their total within the limit too."""
    source = str(path)
    files = _files(path)
    if not files:
        raise MatrixFileError(ERR_UNREADABLE.format(source=source, error=ERR_NO_FILES.format(source=source)))
    limit = parse_size(max_bytes)
    several = len(files) > 1 or Path(path).is_dir() or any(ch in source for ch in "*?[")
    total = 0
    for f in files:
        if several and Path(f).suffix.lower() not in (".parquet", ".pq"):
            raise MatrixFileError(ERR_NOT_PARQUET.format(source=source, file=f, suffix=Path(f).suffix))
        try:
            info = check_input_file(f, max_bytes=limit)
        except MatrixFileError as exc:
            if not several:
                raise
            raise MatrixFileError(f"{source}: {exc}") from exc
        total += info.st_size
    if several and total > limit:
        raise MatrixFileError(ERR_TOTAL_TOO_BIG.format(source=source, n=len(files), size=f"{total:,}",
                                                       limit=f"{limit:,}", env=MAX_BYTES_ENV))
    return files


def is_text_path(path: Any) -> bool:
    """A .csv (.txt, .tsv) file: read as text, as :func:`fairness.read_matrix` reads it."""
    return isinstance(path, (str, os.PathLike)) and Path(path).suffix.lower() in TEXT_SUFFIXES


def _open_text(path: str | os.PathLike[str], con, *, encoding: str | None, delimiter: str,
               max_bytes: int | str | None, max_columns: int | None) -> _Source:
    """A CSV file, read as :func:`fairness.read_matrix` reads it (same checks, same messages, same
    file lines), into a pyarrow table of text that DuckDB scans in place; a plain one (no quotes, one
    row a line, every line as wide as the header) is read by DuckDB itself (:func:`_open_plain_csv`)."""
    import pyarrow as pa

    plain = _open_plain_csv(path, con, encoding=encoding, delimiter=delimiter, max_bytes=max_bytes,
                            max_columns=max_columns)
    if plain is not None:
        return plain
    source = str(path)
    table, lines, problems, digest = read_csv_text(path, encoding=encoding, delimiter=delimiter,
                                                   max_bytes=max_bytes, max_columns=max_columns)
    names = tuple(table.column_names)
    _check_required(list(names), source)
    if table.num_rows == 0:
        raise MatrixFileError(ERR_NO_ROWS.format(source=source))
    broken = np.zeros(table.num_rows, dtype=bool)
    broken[[int(p["index"]) for p in problems]] = True
    con.register("__text", table.append_column("__row", pa.array(lines, type=pa.int64()))
                 .append_column("__broken", pa.array(broken)))
    return _Source(source=source, files=(os.path.abspath(path),), offsets=(0,), row_groups=((table.num_rows,),),
                   n_rows=table.num_rows, raw_names=names, names=names, types=dict.fromkeys(names, "VARCHAR"),
                   sha256=digest, text=table, lines=lines, shape_problems=tuple(problems), line_label="line")


class _PlainCsv:
    """A CSV file without quotes whose every line after the header is one row of the header's width
    (the fast path of :func:`fairness.io.validation.read_csv_text`), read by DuckDB's own CSV reader.

    Its bytes stay here: the raw text of the few rows validation must see is cut from them by
    line (:meth:`rows`), read by the same pyarrow reader ``read_matrix`` uses.
    """

    def __init__(self, path: str, body: bytes, header: bytes, delimiter: str, width: int, n_lines: int):
        self.path, self.body, self.header, self.delimiter = path, body, header, delimiter
        self.width, self.n_lines = width, n_lines
        self._starts: np.ndarray | None = None

    def scan(self, names: Sequence[str]) -> str:
        """read_csv of the file: every cell as text (empty: NULL) under ``names``, header skipped, a
        line of another width an error (so the file goes the other way). No row numbers: DuckDB
        reads the file in parallel, and the table the rows are written to in file order numbers
        them (:func:`_open_plain_csv`; ``row_number() OVER ()`` here made the read and the typing
        one thread's work)."""
        columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(self.width)) + "}"
        renamed = ", ".join(f"c{i} AS {_ident(n)}" for i, n in enumerate(names))
        return (f"(SELECT {renamed} FROM read_csv({_literal(self.path)}, "
                f"header = false, skip = 1, delim = {_literal(self.delimiter)}, quote = '', escape = '', "
                f"auto_detect = false, strict_mode = true, null_padding = false, ignore_errors = false, "
                f"columns = {columns}))")

    def cell(self, start: int, index: int) -> str:
        """A cell of the line that begins at byte ``start``, from the bytes (to check the table's line
        numbers)."""
        end = self.body.find(b"\n", start)
        piece = self.body[start:] if end < 0 else self.body[start:end]
        piece = piece[:-1] if piece.endswith(b"\r") else piece
        return piece.decode("utf-8").split(self.delimiter)[index]

    def rows(self, lines: np.ndarray, names: list[str]):
        """The raw text of these file lines (sorted), as a pyarrow table of ``names``."""
        from fairness.io.validation import read_simple_csv

        if self._starts is None:
            newlines = np.flatnonzero(np.frombuffer(self.body, dtype=np.uint8) == 10)
            self._starts = np.append(newlines + 1, len(self.body) + 1)  # line k starts at [k - 2]
        starts = self._starts
        pieces = [self.header]
        for k in np.asarray(lines, dtype=np.int64):
            piece = self.body[starts[k - 2]:starts[k - 1] - 1]
            pieces.append(piece[:-1] if piece.endswith(b"\r") else piece)
        table = read_simple_csv(b"\n".join(pieces) + b"\n", names, self.delimiter, arrow=True)
        if table is None or table.num_rows != len(lines):  # cannot be: the lines were read as such
            raise RuntimeError(f"{self.path}: lines could not be read again")
        return table


def _open_plain_csv(path: str | os.PathLike[str], con, *, encoding: str | None, delimiter: str,
                    max_bytes: int | str | None, max_columns: int | None) -> _Source | None:
    """A plain CSV file (see :class:`_PlainCsv`) typed into ``__typed`` by DuckDB in one pass; None
    for any other file (or any problem), which :func:`fairness.io.validation.read_csv_text` then
    reads, with its own checks and messages.

    A plain file is one :func:`fairness.io.validation.plain_csv_body` accepts (the rule of
    ``read_matrix``'s fast path too), with a header that validation accepts and every line as wide
    as the header (DuckDB refuses any other) and as many rows as lines. Each row's file line is its
    place in the table (read in order) plus 2.
    """
    import duckdb

    from fairness.io.validation import parse_delimiter, plain_csv_body, read_file_bytes

    if encoding is not None:
        return None
    delimiter = parse_delimiter(delimiter)
    limit, width = parse_size(max_bytes), parse_columns(max_columns)
    check_input_file(path, max_bytes=limit)
    data = read_file_bytes(Path(path), limit)
    body = plain_csv_body(data, encoding=encoding, delimiter=delimiter)
    if body is None:
        return None
    end = body.find(b"\n")
    header = body[:end]
    header = header[:-1] if header.endswith(b"\r") else header
    n_lines, starts = _sample_lines(body)
    text_header = header.decode("utf-8")
    if not text_header.strip():
        return None
    raw = text_header.split(delimiter)
    if len(raw) > width:
        return None
    source = str(path)
    try:
        names = check_header(raw, source, delimiter)
    except MatrixFileError:
        return None
    _check_required(list(names), source)
    plain = _PlainCsv(os.path.abspath(path), body, header, delimiter, len(names), n_lines)
    src = _Source(source=source, files=(os.path.abspath(path),), offsets=(0,), row_groups=((n_lines,),),
                  n_rows=n_lines, raw_names=tuple(names), names=tuple(names),
                  types=dict.fromkeys(names, "VARCHAR"), sha256=hashlib.sha256(data).hexdigest(),
                  line_label="line", plain=plain)
    del data
    try:
        # the rows are written in file order (DuckDB keeps the order of a file read into a table, in
        # parallel), so a row's place in the table (rowid, from 0) + 2 is its file line
        con.execute("SET preserve_insertion_order = true")
        create = f"CREATE TEMP TABLE __typed_rows AS {_typed_view(src)}"
        if not _keeps_order(con, create):
            return None
        con.execute(create)
        con.execute("CREATE TEMP VIEW __typed AS SELECT rowid + 2 AS __row, * FROM __typed_rows")
        rows = con.sql("SELECT count(*) FROM __typed").fetchall()[0][0]
        # the numbering checked against the bytes: person_id (typed as it is written) of the first line,
        # the last, and lines spread over the file
        found = dict(con.sql(f"SELECT __row, person_id FROM __typed WHERE __row IN ({', '.join(map(str, starts))})")
                     .fetchall()) if rows == n_lines else {}
    except duckdb.Error:
        rows, found = -1, {}
    finally:
        con.execute("SET preserve_insertion_order = false")
    at = names.index("person_id")
    if rows != n_lines or any((found.get(k) or "") != plain.cell(start, at) for k, start in starts.items()):
        con.execute("DROP VIEW IF EXISTS __typed")
        con.execute("DROP TABLE IF EXISTS __typed_rows")
        return None
    return src


#: Operators that keep the order of the rows a file is read in: DuckDB writes such a read into a
#: table in file order (in parallel: BATCH_CREATE_TABLE_AS; or on one thread); a join, say, does
#: not, and with one in the plan the rows are written in any order.
_ORDER_KEEPING = frozenset({"BATCH_CREATE_TABLE_AS", "CREATE_TABLE_AS", "PROJECTION", "FILTER", "READ_CSV"})


def _keeps_order(con, statement: str) -> bool:
    """Whether DuckDB's plan of ``statement`` is made only of operators that keep the rows' order."""
    import json

    def names(node: dict) -> list[str]:
        return [node.get("name", "")] + [n for child in node.get("children", []) for n in names(child)]

    plan = json.loads(con.sql(f"EXPLAIN (FORMAT json) {statement}").fetchall()[0][1])
    return {n for node in plan for n in names(node)} <= _ORDER_KEEPING


def _sample_lines(body: bytes, parts: int = 8) -> tuple[int, dict[int, int]]:
    """The number of lines after the header of a plain file's bytes, and where a few of them begin
    (a byte offset, by file line): line 2, the first line to begin in each further ``1/parts`` of
    the bytes, and the last line. One pass of counting newlines, as ``body.count(b"\\n")``."""
    first = body.find(b"\n") + 1
    starts, line, at = {2: first}, 2, first
    for k in range(1, parts):
        newline = body.find(b"\n", first + (len(body) - first) * k // parts)
        if newline < 0 or newline + 1 >= len(body):
            break
        line += body.count(b"\n", at, newline + 1)
        at = newline + 1
        starts[line] = at
    n_lines = line - 1 + body.count(b"\n", at) - body.endswith(b"\n")
    starts[n_lines + 1] = body.rfind(b"\n", 0, len(body) - body.endswith(b"\n")) + 1
    return n_lines, starts


def _check_required(names: list[str], source: str) -> None:
    """The required columns, as validation checks them (the same message)."""
    required = matrix_columns()[0]  # a profile's while one is active
    missing = [c for c in required if c not in names]
    if missing:
        raise MatrixFileError(ERR_MISSING.format(source=source, missing=", ".join(missing),
                                                 found=", ".join(visible_name(c) for c in names) or "(none)",
                                                 required=", ".join(required)) + invisible_hint(names))
    if "snapshot_date" not in names:  # allowed by some profiles (a pooled list): validated in memory
        raise _InMemory(source, "it has no snapshot_date column (a pooled list, as the profile allows)")


def _open(path: str | os.PathLike[str], con, *, max_bytes: int | str | None = None,
          max_columns: int | None = None, encoding: str | None = None, delimiter: str = ",") -> _Source:
    import pyarrow.parquet as pq

    if is_text_path(path) and not any(ch in str(path) for ch in "*?["):
        return _open_text(path, con, encoding=encoding, delimiter=delimiter, max_bytes=max_bytes,
                          max_columns=max_columns)
    source = str(path)
    files = _checked_files(path, max_bytes)
    width = parse_columns(max_columns)
    schema, counts, groups = None, [], []
    digest = hashlib.sha256()
    for f in files:
        try:
            with open(f, "rb"):
                pass
        except OSError as exc:  # as read_matrix says it
            raise MatrixFileError(ERR_UNREADABLE.format(source=source, error=exc.strerror or exc)) from exc
        try:
            meta = pq.ParquetFile(f)
        except Exception as exc:  # pyarrow raises several types for a bad file
            raise MatrixFileError(ERR_PARQUET.format(source=source, error=exc)) from exc
        if schema is None:
            schema = meta.schema_arrow
            check_width(len(schema.names), source, width)
        elif not meta.schema_arrow.equals(schema):
            raise MatrixFileError(ERR_SCHEMAS.format(source=source, first=files[0], other=f))
        counts.append(meta.metadata.num_rows)
        groups.append(tuple(meta.metadata.row_group(i).num_rows for i in range(meta.metadata.num_row_groups)))
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 24), b""):
                digest.update(block)
    raw_names = tuple(schema.names)
    names = tuple(check_header(list(raw_names), source, ","))
    _check_required(list(names), source)
    n_rows = int(sum(counts))
    if n_rows == 0:
        raise MatrixFileError(ERR_NO_ROWS.format(source=source))
    described = con.sql(f"DESCRIBE SELECT * FROM read_parquet({_literal(files[0])})").fetchall()
    duck_types = {row[0]: str(row[1]) for row in described}
    types = {name: duck_types[raw] for raw, name in zip(raw_names, names, strict=True)}
    offsets = tuple(int(x) for x in np.concatenate([[0], np.cumsum(counts)[:-1]]))
    return _Source(source=source, files=tuple(files), offsets=offsets, row_groups=tuple(groups), n_rows=n_rows,
                   raw_names=raw_names, names=names, types=types, sha256=digest.hexdigest())


# ---------------------------------------------------------------------- rows SQL vouches for


def _base(t: str) -> str:
    return t.split("(")[0].upper()


def _nice(x: str) -> str:
    """Text that stripping leaves as it is: printable ASCII at both ends."""
    return f"(ascii({x}) BETWEEN 33 AND 126 AND ascii(reverse({x})) BETWEEN 33 AND 126)"


def _in_range(d: str) -> str:
    return f"({d} BETWEEN DATE '{_DATE_MIN}' AND DATE '{_DATE_MAX}')"


def _date(x: str, t: str, *, required: bool, parsed: str | None = None) -> tuple[str, str]:
    missing_ok = "" if required else f"{x} IS NULL OR "
    if t == "DATE":
        return f"({missing_ok}{_in_range(x)})", x
    if t in _TIMESTAMPS:
        return f"({missing_ok}{_in_range(f'CAST({x} AS DATE)')})", f"CAST({x} AS DATE)"
    if t == "VARCHAR":
        # a real date in range written exactly as DuckDB writes it back (YYYY-MM-DD, zero-padded: the
        # years in range have four digits): a cast and a comparison, several times faster than a
        # regular expression and strptime
        parsed = parsed or f"TRY_CAST({x} AS DATE)"
        ok = f"({_in_range(parsed)} AND CAST({parsed} AS VARCHAR) = {x})"
        if not required:
            return f"({x} IS NULL OR {x} = '' OR {ok})", parsed
        return ok, parsed
    return "FALSE", "CAST(NULL AS DATE)"


def _parsed(name: str, t: str, x: str) -> str | None:
    """SQL of the one parse of a text value that :func:`_vouch`'s test and its typed value share
    (a date, an integer, a boolean's spelling), or None. :func:`_typed_view` computes it once, a
    level below them, so each value is parsed once (written in both, it was parsed up to three
    times)."""
    if t != "VARCHAR":
        return None
    if name in ("snapshot_date", "date_added", "last_reviewed"):
        return f"TRY_CAST({x} AS DATE)"
    if name in ("age", "violent_offences_2y"):
        return f"TRY_CAST({x} AS BIGINT)"
    if name in ("victim_flag", "outcome_violence_12m"):
        # the usual spellings, listed (a comparison each, no lower()); other cases go to validation.
        # list_position, not list_contains: DuckDB makes list_contains of a constant list a join,
        # which would lose the order a plain CSV file's rows are numbered by
        return (f"CASE WHEN list_position({_spellings(_TRUE)}, {x}) IS NOT NULL THEN TRUE "
                f"WHEN list_position({_spellings(_FALSE)}, {x}) IS NOT NULL THEN FALSE END")
    return None


def _vouch(name: str, t: str, x: str, parsed: str | None = None) -> tuple[str, str]:
    """(SQL true only where validation surely accepts the value, SQL of the typed value).

    ``parsed``: the SQL of :func:`_parsed` of the value, computed once already (None: written
    out here)."""
    if name == "person_id":
        if t == "VARCHAR":
            return f"({x} IS NOT NULL AND strlen({x}) <= 200 AND {_nice(x)})", x
        if t in _INTS:
            return f"({x} IS NOT NULL AND abs({x}) < {_EXACT})", f"TRY_CAST({x} AS VARCHAR)"
        return "FALSE", "CAST(NULL AS VARCHAR)"
    if name == "snapshot_date":
        return _date(x, t, required=True, parsed=parsed)
    if name in ("date_added", "last_reviewed"):
        return _date(x, t, required=False, parsed=parsed)
    vocab = active_vocabulary()  # a profile's areas, groups, bands and ages, while validating with one
    categories = _CATEGORIES if vocab is None else vocab.categories
    age_min, age_max = (AGE_MIN, AGE_MAX) if vocab is None else (vocab.age_min, vocab.age_max)
    if name in _CATEGORIES:
        if t == "VARCHAR":
            return f"(list_position({_text_list(categories[name])}, {x}) IS NOT NULL)", x
        return "FALSE", "CAST(NULL AS VARCHAR)"
    if name == "age":
        if t in _INTS:
            return f"({x} BETWEEN {age_min} AND {age_max})", f"TRY_CAST({x} AS BIGINT)"
        if t in _FLOATS:
            return (f"(NOT isnan({x}) AND {x} BETWEEN {age_min} AND {age_max} AND {x} = floor({x}))",
                    f"TRY_CAST({x} AS BIGINT)")
        if t == "VARCHAR":
            # digits without a leading zero or sign (the integer written back is the text), in range
            p = parsed or f"TRY_CAST({x} AS BIGINT)"
            return f"({p} BETWEEN {max(age_min, 1)} AND {age_max} AND CAST({p} AS VARCHAR) = {x})", p
        return "FALSE", "CAST(NULL AS BIGINT)"
    if name == "harm_score":
        if t in _FLOATS:
            return f"(NOT isnan({x}) AND {x} >= 0 AND {x} < 1e15)", f"TRY_CAST({x} AS DOUBLE)"
        if t in _INTS:
            return f"({x} >= 0 AND {x} < 1e15)", f"TRY_CAST({x} AS DOUBLE)"
        if t == "VARCHAR":
            return f"regexp_full_match({x}, '[0-9]{{1,9}}(\\.[0-9]{{1,6}})?')", f"TRY_CAST({x} AS DOUBLE)"
        return "FALSE", "CAST(NULL AS DOUBLE)"
    if name in ("victim_flag", "outcome_violence_12m"):
        if t == "BOOLEAN":
            return "TRUE", x
        if t == "VARCHAR":
            # a listed spelling (the typed value is NULL for any other text, and for none)
            typed = parsed or _parsed(name, t, x)
            return f"({x} IS NULL OR {x} = '' OR {typed} IS NOT NULL)", typed
        if t in _INTS:
            return f"({x} IS NULL OR {x} IN (0, 1))", f"({x} = 1)"
        return "FALSE", "CAST(NULL AS BOOLEAN)"
    if name == "violent_offences_2y":
        if t in _INTS:
            return f"({x} IS NULL OR ({x} >= 0 AND {x} < {_EXACT}))", f"TRY_CAST({x} AS BIGINT)"
        if t in _FLOATS:
            return (f"({x} IS NULL OR isnan({x}) OR ({x} >= 0 AND {x} < {_EXACT} AND {x} = floor({x})))",
                    f"CASE WHEN isnan({x}) THEN NULL ELSE TRY_CAST({x} AS BIGINT) END")
        if t == "VARCHAR":
            p = parsed or f"TRY_CAST({x} AS BIGINT)"
            return f"({x} IS NULL OR {x} = '' OR {_plain_integer(x, p)})", p
        return "FALSE", "CAST(NULL AS BIGINT)"
    if name == "shared_with":
        if t == "VARCHAR":
            return f"({x} IS NULL OR {x} = '' OR (strlen({x}) <= 10000 AND {_nice(x)}))", f"coalesce({x}, '')"
        return "FALSE", "''"
    # a column not in the matrix format: only its length is checked
    if t == "VARCHAR":
        return f"({x} IS NULL OR strlen({x}) <= 10000)", "NULL"
    return ("TRUE" if t in _PLAIN or t.startswith("DECIMAL") else "FALSE"), "NULL"


_TRUE, _FALSE = tuple(sorted(defs.BOOLEAN_TRUE)), tuple(sorted(defs.BOOLEAN_FALSE))  # as validation reads them


def _spellings(words: Sequence[str]) -> str:
    """The words in lower case, capitalised and upper case, as an SQL list (a list, not ``IN``: a long
    ``IN`` becomes a join)."""
    return _text_list([v for w in words for v in dict.fromkeys((w, w.capitalize(), w.upper()))])


def _plain_integer(x: str, parsed: str) -> str:
    """SQL: text of one to nine digits without a leading zero (or "0"), the integer DuckDB writes back
    (``parsed``: the text cast to BIGINT)."""
    return f"coalesce({parsed} BETWEEN 0 AND 999999999 AND CAST({parsed} AS VARCHAR) = {x}, FALSE)"


#: Typed columns of the view every later query reads, with their SQL type.
TYPED: dict[str, str] = {
    "person_id": "VARCHAR", "snapshot_date": "DATE", "borough": "VARCHAR", "ethnicity": "VARCHAR",
    "sex": "VARCHAR", "age": "BIGINT", "harm_score": "DOUBLE", "risk_band": "VARCHAR", "victim_flag": "BOOLEAN",
    "violent_offences_2y": "BIGINT", "date_added": "DATE", "last_reviewed": "DATE", "shared_with": "VARCHAR",
    "outcome_violence_12m": "BOOLEAN",
}


def _typed_view(src: _Source) -> str:
    """SQL of the rows as typed values, with ``__row``, ``__ok`` (SQL vouches for the row) and
    ``__null<i>`` (the i-th column of the file is missing); a plain CSV file's without ``__row``
    (:func:`_open_plain_csv` numbers them)."""
    oks, cols, parses = [], [], []
    known = set(matrix_columns()[1])  # a profile's columns while one is active (the others are kept as text)
    for i, (raw, name) in enumerate(zip(src.raw_names, src.names, strict=True)):
        rule, t = name if name in known else "", _base(src.types[name])
        parse = _parsed(rule, t, _ident(raw))
        if parse is not None:  # parsed once, a level below the test and the typed value that read it
            parses.append(f"{parse} AS {_ident(f'__parsed{i}')}")
        ok, typed = _vouch(rule, t, _ident(raw), None if parse is None else _ident(f"__parsed{i}"))
        oks.append(f"coalesce({ok}, FALSE)")  # a NULL (e.g. a date that does not parse) is not a yes
        if name in TYPED and name in known:
            cols.append(f"TRY_CAST({typed} AS {TYPED[name]}) AS {_ident(name)}")
        if src.plain is None:  # (a plain CSV file's text has no missing values: an empty cell is "")
            cols.append(f"{_ident(raw)} IS NULL AS {_ident('__null' + str(i))}")
    present = set(src.names)
    order = []
    if "date_added" in present:
        order.append('("date_added" IS NULL OR "date_added" <= "snapshot_date")')
    if "last_reviewed" in present:
        earliest = ' AND ("date_added" IS NULL OR "last_reviewed" >= "date_added")' if "date_added" in present else ""
        order.append(f'("last_reviewed" IS NULL OR ("last_reviewed" <= "snapshot_date"{earliest}))')
    if src.text is not None:
        oks.append("NOT __broken")  # a line of the wrong shape: validated row by row, as read_matrix does
    rows = f"(SELECT *, {', '.join(parses)} FROM {src.scan()})" if parses else src.scan()
    number = "" if src.plain is not None else "__row, "  # (a plain CSV file's rows are numbered by their table)
    inner = f"SELECT {number}({' AND '.join(oks)}) AS __ok, {', '.join(cols)} FROM {rows}"
    ok_order = " AND ".join(order) if order else "TRUE"
    return f"SELECT * EXCLUDE (__ok), (__ok AND coalesce({ok_order}, FALSE)) AS __ok FROM ({inner})"


# ---------------------------------------------------------------------- the session


@dataclass
class _Session:
    """DuckDB, the source, and what validation found; kept for the audit that follows."""

    con: Any
    src: _Source
    temp_dir: str | None
    has_nulls: dict[str, bool]
    suspects: np.ndarray  # rows SQL did not vouch for
    results: list  # (ValidationResult, rows) of each batch of them
    keys: pd.DataFrame  # their parsed person_id, snapshot_date, valid, __row
    rescued: pd.DataFrame | None  # those validation accepted (typed, with __row)
    quarter_rows: dict[int, int]  # quarter number -> rows SQL vouched for
    sharing_values: list[str]  # shared_with texts of the rows SQL vouched for
    counted: dict | None = None  # the count tables of the rows SQL vouched for, with their config
    dup_keys: pd.DataFrame | None = None  # (pid, snap) of more than one row; None until looked for
    dropped: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.int64))
    dropped_quarters: dict[int, int] = field(default_factory=dict)
    profile: Any = None  # the Profile the rows were validated with (None: london-gvm)

    def __post_init__(self) -> None:
        # DuckDB's connection and spill folder go when the session does (or at exit)
        self._finalizer = weakref.finalize(self, _release, self.con, self.temp_dir)

    def close(self) -> None:
        self._finalizer()


def _release(con, temp_dir: str | None) -> None:
    try:
        con.close()
    finally:
        if temp_dir:
            shutil.rmtree(temp_dir, ignore_errors=True)


def _connect(memory_limit: str, temp_directory: str | None, threads: int | None):
    import duckdb

    own = None
    if temp_directory is None:
        own = temp_directory = tempfile.mkdtemp(prefix="fairness-duckdb-")
    config = {"memory_limit": memory_limit, "temp_directory": str(temp_directory),
              "preserve_insertion_order": False}
    if threads:
        config["threads"] = int(threads)
    return duckdb.connect(config=config), own


@dataclass(frozen=True)
class ParquetValidation(ValidationResult):
    """:class:`fairness.io.validation.ValidationResult` of a Parquet file validated in DuckDB.

    Everything is as ``read_matrix`` would report it (problems, quarantined
    rows with their file row numbers, counts), except ``valid``, which is
    empty: the valid rows stay in the file. ``fairness.audit(result)`` counts
    them there.
    """

    rows: int = 0
    session: Any = field(default=None, repr=False, compare=False)

    @property
    def n_valid(self) -> int:  # type: ignore[override]
        return self.rows - self.n_quarantined

    @property
    def n_rows(self) -> int:  # type: ignore[override]
        return self.rows


def is_parquet_path(path: Any) -> bool:
    """A .parquet (.pq) or .csv (.txt, .tsv) file, a folder, or a glob pattern: what the DuckDB
    engine reads."""
    if not isinstance(path, (str, os.PathLike)):
        return False
    p = Path(path)
    return (p.suffix.lower() in (".parquet", ".pq", *TEXT_SUFFIXES) or p.is_dir()
            or any(ch in str(path) for ch in "*?["))


def use_duckdb(path: Any) -> bool:
    """Whether ``engine="auto"`` reads ``path`` with DuckDB: any file input (a CSV or Parquet
    file, a folder of Parquet files, a glob); an in-memory frame stays in pandas.

    Something that is neither (a missing file, a folder without Parquet files, another file
    type) goes to :func:`fairness.read_matrix`, whose errors say what is wrong.
    """
    if not isinstance(path, (str, os.PathLike)):
        return False
    p = Path(path)
    if any(ch in str(path) for ch in "*?[") and not p.exists():
        return True
    if p.is_dir():
        return any(f.suffix.lower() in (".parquet", ".pq") for f in p.iterdir())
    return p.suffix.lower() in (".parquet", ".pq", *TEXT_SUFFIXES) and p.is_file()


# ---------------------------------------------------------------------- validation


def validate_parquet(
    path: str | os.PathLike[str],
    *,
    quarantine_path: str | os.PathLike[str] | None = None,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
    temp_directory: str | os.PathLike[str] | None = None,
    threads: int | None = None,
    max_bytes: int | str | None = None,
    max_columns: int | None = None,
    encoding: str | None = None,
    delimiter: str = ",",
    profile: Any = None,
) -> ParquetValidation:
    """Validate a Parquet file (or a folder of them) without loading it: see the module docstring.

    Returns a :class:`ParquetValidation` whose problems and quarantined rows
    are those :func:`fairness.read_matrix` would report. ``quarantine_path``:
    also write the quarantined rows there (personal data: owner-only).
    """
    loaded = _other_profile(profile)
    if not _sql_covers(loaded):
        raise _InMemory(str(path), "the profile's matrix has columns of its own")
    session = _start(path, memory_limit=memory_limit, temp_directory=temp_directory, threads=threads,
                     max_bytes=max_bytes, max_columns=max_columns, encoding=encoding, delimiter=delimiter,
                     profile=loaded)
    try:
        session.dup_keys = _duplicate_keys(session)
        result = _finish_validation(session)
    except BaseException:
        session.close()
        raise
    if quarantine_path is not None and result.n_quarantined:
        result.write_quarantine(quarantine_path)
    return result


def _start(path, *, memory_limit: str, temp_directory, threads, config=None, max_bytes=None,
           max_columns=None, encoding=None, delimiter=",", profile=None) -> _Session:
    """Open the file, mark the rows SQL vouches for, validate the others (all but duplicates).

    With ``config`` (a ChecksConfig), the same scan also counts the rows SQL
    vouched for into the cube's tables (:func:`_grouping_query`). With
    ``profile`` (another place's), values are checked against its vocabulary
    (areas, groups, bands, ages), in SQL and in validation alike.
    """
    con, own_temp = _connect(memory_limit, None if temp_directory is None else str(temp_directory), threads)
    try:
        with using_profile(profile):
            src = _open(path, con, max_bytes=max_bytes, max_columns=max_columns, encoding=encoding,
                        delimiter=delimiter)
            # a CSV's text is in memory already: typed once into a table, not again by every query
            kind = "TABLE" if src.text is not None else "VIEW"
            if src.plain is None:  # (a plain CSV file's is made as it is read)
                con.execute(f"CREATE TEMP {kind} __typed AS {_typed_view(src)}")
            has_nulls = _has_nulls(con, src)
            counted = None
            if config is None:
                quarter_rows, sharing_values, suspects = _scan(con, src)
            else:
                counted, suspects = _count_vouched(con, src, config)
                quarter_rows, sharing_values = counted["quarter_rows"], counted["sharing_values"]
            results, keys, rescued = _validate_suspects(src, suspects, has_nulls)
    except BaseException:
        con.close()
        if own_temp:
            shutil.rmtree(own_temp, ignore_errors=True)
        raise
    con.register("__suspects", pd.DataFrame({"__row": suspects}))
    return _Session(con=con, src=src, temp_dir=own_temp, has_nulls=has_nulls, suspects=suspects, results=results,
                    keys=keys, rescued=rescued, quarter_rows=quarter_rows, sharing_values=sharing_values,
                    counted=counted, profile=profile)


def _other_profile(profile: Any):
    """The Profile named (None: none given, the built-in London vocabulary)."""
    if profile is None:
        return None
    from fairness.profiles import load_profile

    return load_profile(profile)


ERR_IN_MEMORY = (
    "{source}: {why}, which the SQL checks do not cover; validate it with fairness.read_matrix "
    "(or fairness.counts.duck.validate_file, which does so itself)"
)


class _InMemory(MatrixFileError):
    """A file the SQL checks do not cover (a profile's list without snapshot dates, or with outcome
    columns of its own): :func:`validate_file` validates it in memory instead; called directly,
    :func:`validate_parquet` refuses it with a message saying so."""

    def __init__(self, source: str, why: str) -> None:
        super().__init__(ERR_IN_MEMORY.format(source=source, why=why))


def _sql_covers(profile: Any) -> bool:
    """Whether the SQL checks cover every column the profile's matrix may hold."""
    if profile is None:
        return True
    from fairness.io.validation import BOOLEAN_COLUMNS
    from fairness.profiles._vocabulary import vocabulary

    vocab = vocabulary(profile)
    return set(vocab.all_columns or ALL_COLUMNS) <= set(ALL_COLUMNS) and set(
        vocab.boolean_columns or ()) <= set(BOOLEAN_COLUMNS)


def validate_file(path: str | os.PathLike[str], *, profile: Any = None, encoding: str | None = None,
                  delimiter: str = ",", max_bytes: int | str | None = None, max_columns: int | None = None,
                  **engine: Any) -> ValidationResult:
    """Validate a file (CSV or Parquet, a folder or glob of Parquet files) in DuckDB, with a profile
    if given: a :class:`ParquetValidation`. A profile's list the SQL checks do not cover (no
    snapshot dates, or outcome columns of its own) is validated in memory, as
    :func:`fairness.read_matrix` does (the same result, with its valid rows)."""
    read = {"encoding": encoding, "delimiter": delimiter, "max_bytes": max_bytes, "max_columns": max_columns}
    try:
        return validate_parquet(path, profile=_other_profile(profile), **read, **engine)
    except _InMemory:
        return read_matrix_unlogged(path, profile=profile, **read)


def read_file_and_log(path: str | os.PathLike[str], *, command: str, profile: Any = None,
                      **read: Any) -> ValidationResult:
    """:func:`validate_file`, written to the audit log as :func:`fairness.io.validation.read_and_log`
    writes a read (checked first; a failed read logged too)."""
    from fairness.io.audit_log import AuditLogError, check_audit_log, log_failed_read, log_read

    check_audit_log()
    try:
        res = validate_file(path, profile=profile, **read)
    except (ValueError, OSError) as exc:
        if not isinstance(exc, AuditLogError):
            log_failed_read(command=command, path=path, error=exc)
        raise
    log_read(command=command, result=res)
    return res


def with_valid_rows(validation: ValidationResult) -> ValidationResult:
    """The validation with its valid rows in memory: for a :class:`ParquetValidation`, taken out of
    DuckDB in file order and typed as :func:`fairness.read_matrix` types them (with the profile it
    was validated with); any other result as it is."""
    session = getattr(validation, "session", None)
    if not isinstance(validation, ParquetValidation):
        return validation
    if session is None:
        raise ValueError("this ParquetValidation has been closed; validate the file again")
    src = session.src
    unknown = list(validation.unknown_columns)
    columns = [c for c in TYPED if c in src.names and c not in unknown]
    found = session.con.sql(f"SELECT __row, {', '.join(_ident(c) for c in columns)} FROM ({_valid_view(session)}) "
                            "ORDER BY __row").df()
    with using_profile(session.profile):
        dtypes = canonical_dtypes()
        order = [c for c in matrix_columns()[1] if c in columns]  # as validation orders them
        frame = pd.DataFrame({c: _typed_column(found[c], dtypes[c]) for c in order})
    if unknown:  # kept as text, as validation keeps them
        import pyarrow as pa

        raw = [src.raw_names[src.names.index(c)] for c in unknown]
        if src.plain is not None:  # cut from the file's lines
            valid_rows = found["__row"].to_numpy(dtype="int64")
            parts = [t.select(raw) for t, _ in _read_rows(src, valid_rows)]
            table = pa.concat_tables(parts) if parts else pa.table({r: pa.array([], pa.large_string()) for r in raw})
        else:
            session.con.register("__valid_rows", pd.DataFrame({"__row": found["__row"].to_numpy(dtype="int64")}))
            table = session.con.sql(f"SELECT {', '.join(_ident(r) for r in raw)} FROM {src.scan()} "
                                    "SEMI JOIN __valid_rows USING (__row) ORDER BY __row").arrow().read_all()
        text = parquet_text(table, unknown, session.has_nulls)
        frame = pd.concat([frame, text.set_axis(frame.index)], axis=1)
    return ValidationResult(source=validation.source, valid=frame, quarantined=validation.quarantined,
                            problems=validation.problems, unknown_columns=validation.unknown_columns,
                            sha256=validation.sha256, line_label=validation.line_label, notes=validation.notes)


def _typed_column(values: pd.Series, dtype: Any) -> pd.Series:
    if isinstance(dtype, pd.CategoricalDtype):
        return pd.Series(pd.Categorical(values.astype(object), dtype=dtype))
    if str(dtype).startswith("datetime64"):
        return pd.to_datetime(values).astype(dtype)
    return values.astype(dtype)


def quarters_and_ids(validation: ParquetValidation) -> tuple[tuple[str, ...], set[str]]:
    """The quarters of the valid rows ("2018Q4", sorted) and their person ids, counted in DuckDB
    (what the report runner needs of a file: its quarters, and the ids its leak scan looks for)."""
    session = validation.session
    if session is None:
        raise ValueError("this ParquetValidation has been closed; validate the file again")
    valid = _valid_view(session)
    numbers = session.con.sql(f"SELECT DISTINCT {_quarter_number('snapshot_date')} FROM ({valid})").fetchall()
    quarters = tuple(sorted(number_label(int(n)) for (n,) in numbers if n is not None))
    ids = {str(v).strip() for (v,) in session.con.sql(f"SELECT DISTINCT person_id FROM ({valid})").fetchall()
           if v is not None}
    return quarters, ids


def valid_date_count(validation: ParquetValidation) -> int:
    """How many distinct snapshot dates the valid rows of a validated file hold, counted in DuckDB
    (whether a list whose profile declares ``snapshots = false`` is pooled:
    :func:`fairness.results.audit.pooled_reason`), without taking the rows out."""
    session = validation.session
    if session is None:
        raise ValueError("this ParquetValidation has been closed; validate the file again")
    ((n,),) = session.con.sql(f"SELECT count(DISTINCT snapshot_date) FROM ({_valid_view(session)})").fetchall()
    return int(n)


def records_count_table(validation: ParquetValidation) -> pd.DataFrame:
    """The valid rows of a file validated with a profile, counted in DuckDB by quarter, area and
    group, with how many had a harm score of zero: what
    :func:`fairness.results.counts_table.counts_from_records` counts from a frame in memory
    (columns ``period, area, group, count, no_risk``, sorted)."""
    session = validation.session
    if session is None:
        raise ValueError("this ParquetValidation has been closed; validate the file again")
    q = _quarter_number("snapshot_date")
    found = session.con.sql(f"""
        SELECT {q} AS q, borough AS area, ethnicity AS "group", count(*) AS count,
               sum(CAST(harm_score = 0 AS BIGINT)) AS no_risk
        FROM ({_valid_view(session)}) GROUP BY ALL""").df()
    period = [number_label(int(n)) for n in found["q"]]
    out = pd.DataFrame({"period": period, "area": found["area"].astype(str), "group": found["group"].astype(str),
                        "count": found["count"].astype("int64"), "no_risk": found["no_risk"].astype("float64")})
    return out.sort_values(["period", "area", "group"], kind="stable").reset_index(drop=True)


def _finish_validation(session: _Session) -> ParquetValidation:
    """The ParquetValidation, once the duplicates are known."""
    src = session.src
    dup_rows = _duplicate_rows(session)
    problems, quarantined = _assemble(session, dup_rows)
    with using_profile(session.profile):
        known = set(matrix_columns()[1])
    unknown = tuple(c for c in src.names if c not in known)
    notes = []
    if unknown:
        notes.append(f"{len(unknown)} column(s) not in the matrix format kept as text: {', '.join(unknown)}")
    if session.profile is not None:  # as fairness.io.validation.validate_frame notes it
        notes.append(f"validated with profile {session.profile.name!r}")
    empty = pd.DataFrame({c: pd.Series(dtype=d) for c, d in canonical_dtypes().items() if c in src.names})
    return ParquetValidation(
        source=src.source, valid=empty, quarantined=quarantined, problems=problems, unknown_columns=unknown,
        sha256=src.sha256, line_label=src.line_label, notes=tuple(notes), rows=src.n_rows, session=session,
    )


def _has_nulls(con, src: _Source) -> dict[str, bool]:
    """Which columns of the whole file hold a missing value (from the Parquet statistics if complete)."""
    import pyarrow.parquet as pq

    found = dict.fromkeys(src.names, False)
    if src.text is not None or src.plain is not None:
        return found  # text read from a CSV file: an empty cell is "", never missing
    try:
        for f in src.files:
            meta = pq.ParquetFile(f).metadata
            for g in range(meta.num_row_groups):
                group = meta.row_group(g)
                for i, name in enumerate(src.names):
                    stats = group.column(i).statistics
                    if stats is None or not stats.has_null_count:
                        raise LookupError
                    found[name] = found[name] or stats.null_count > 0
        return found
    except (LookupError, IndexError):
        nulls = ", ".join(f"bool_or({_ident('__null' + str(i))})" for i in range(len(src.raw_names)))
        row = con.sql(f"SELECT {nulls} FROM __typed").fetchall()[0]
        return {name: bool(v) for name, v in zip(src.names, row, strict=True)}


def _scan(con, src: _Source):
    """One scan: rows per quarter and shared_with texts of the rows SQL vouches for; the others."""
    sharing = ('list(DISTINCT "shared_with") FILTER (WHERE __ok)' if "shared_with" in src.names
               else "CAST([] AS VARCHAR[])")
    row = con.sql(
        f"SELECT histogram({_quarter_number('snapshot_date')}) FILTER (WHERE __ok), {sharing}, "
        f"list(__row ORDER BY __row) FILTER (WHERE NOT __ok) FROM __typed"
    ).fetchall()[0]
    quarter_rows = {int(q): int(n) for q, n in dict(row[0] or {}).items()}
    sharing_values = sorted(v for v in (row[1] or []) if v is not None)
    suspects = np.asarray(row[2] or [], dtype=np.int64)
    return quarter_rows, sharing_values, suspects


def _quarter_number(d: str) -> str:
    """Quarters since 1970Q1, as fairness.quarters.quarter_number."""
    return f"CAST((year({_ident(d)}) - 1970) * 4 + quarter({_ident(d)}) - 1 AS INTEGER)"


def _read_rows(src: _Source, rows: np.ndarray, batch: int = BATCH_ROWS):
    """The raw rows with these 1-based row numbers (sorted), as pyarrow tables of up to ``batch`` rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if src.plain is not None:
        for start in range(0, len(rows), batch):
            yield src.plain.rows(rows[start:start + batch], list(src.raw_names)), rows[start:start + batch]
        return
    if src.text is not None:
        at = np.searchsorted(src.lines, rows)
        for start in range(0, len(rows), batch):
            yield src.text.take(pa.array(at[start:start + batch])), rows[start:start + batch]
        return
    pending, pending_rows = [], []
    count = 0
    for f, offset, groups in zip(src.files, src.offsets, src.row_groups, strict=True):
        start = offset
        parquet = None
        for g, size in enumerate(groups):
            lo, hi = np.searchsorted(rows, [start + 1, start + size + 1])
            if hi > lo:
                parquet = parquet or pq.ParquetFile(f)
                table = parquet.read_row_group(g)
                pending.append(table.take(pa.array(rows[lo:hi] - start - 1)))
                pending_rows.append(rows[lo:hi])
                count += hi - lo
                if count >= batch:
                    yield pa.concat_tables(pending), np.concatenate(pending_rows)
                    pending, pending_rows, count = [], [], 0
            start += size
    if pending:
        yield pa.concat_tables(pending), np.concatenate(pending_rows)


def _validate_suspects(src: _Source, suspects: np.ndarray, has_nulls: dict[str, bool]):
    """Validate, with fairness.io.validation, the rows SQL did not vouch for (duplicates aside)."""
    results, keys, rescued = [], [], []
    for table, rows in _read_rows(src, suspects):
        text = parquet_text(table, list(src.names), has_nulls)
        res, k = validate_rows(text, source=src.source, lines=rows, line_label=src.line_label, duplicates=False,
                                extra_problems=_shape_problems(src, rows))
        k = k.assign(__row=rows)
        results.append((res, rows))
        keys.append(k)
        if res.n_valid:
            rescued.append(res.valid.assign(__row=rows[k["valid"].to_numpy()]))
    keys_frame = pd.concat(keys, ignore_index=True) if keys else pd.DataFrame(
        {"person_id": pd.Series(dtype="string"), "snapshot_date": pd.Series(dtype="datetime64[ns]"),
         "valid": pd.Series(dtype=bool), "__row": pd.Series(dtype="int64")})
    rescued_frame = pd.concat(rescued, ignore_index=True) if rescued else None
    return results, keys_frame, rescued_frame


def _shape_problems(src: _Source, rows: np.ndarray) -> list[dict]:
    """The CSV shape problems of these rows (by file line), indexed by position among them."""
    if not src.shape_problems:
        return []
    at = {int(src.lines[p["index"]]): p for p in src.shape_problems}
    return [{**at[int(r)], "index": i} for i, r in enumerate(rows) if int(r) in at]


def _suspect_keys(keys: pd.DataFrame, *, invalid_only: bool = False) -> pd.DataFrame:
    """``pid, snap, __row`` of the rows SQL did not vouch for, as the duplicate rule sees them
    (a missing snapshot date is 1900-01-01, as in validation; a missing person_id never matches)."""
    if invalid_only:
        keys = keys[~keys["valid"].to_numpy(dtype=bool)]
    out = pd.DataFrame({
        "pid": keys["person_id"].astype(object).where(keys["person_id"].notna(), None),
        "snap": keys["snapshot_date"].fillna(pd.Timestamp("1900-01-01")).dt.date,
        "__row": keys["__row"].to_numpy(dtype="int64"),
    })
    return out[out["pid"].notna()].reset_index(drop=True)


def _duplicate_keys(session: _Session) -> pd.DataFrame:
    """(pid, snap) of more than one row, over the whole file, by a DuckDB group-by.

    Rows are grouped by a 64-bit hash of their key first (a small hash
    table); only keys whose hash occurs twice are compared exactly.
    """
    con = session.con
    con.register("__extra_keys", _suspect_keys(session.keys))
    both = """SELECT person_id AS pid, snapshot_date AS snap FROM __typed WHERE __ok
              UNION ALL SELECT CAST(pid AS VARCHAR), CAST(snap AS DATE) FROM __extra_keys"""
    hashes = con.sql(f"SELECT hash(pid, snap) AS h FROM ({both}) GROUP BY h HAVING count(*) > 1").df()
    if hashes.empty:
        return pd.DataFrame({"pid": pd.Series(dtype=object), "snap": pd.Series(dtype=object)})
    con.register("__dup_hashes", hashes)
    return con.sql(f"""SELECT pid, snap FROM ({both}) WHERE hash(pid, snap) IN (SELECT h FROM __dup_hashes)
                       GROUP BY pid, snap HAVING count(*) > 1""").df()


def _duplicate_rows(session: _Session) -> np.ndarray:
    """Row numbers of every row whose (person_id, snapshot date) is a duplicate key."""
    dup = session.dup_keys
    if dup is None or dup.empty:
        return np.array([], dtype=np.int64)
    con = session.con
    dup = pd.DataFrame({"pid": dup["pid"].astype(object), "snap": pd.to_datetime(dup["snap"]).dt.date})
    con.register("__dup_keys", dup)
    vouched = con.sql("""SELECT t.__row FROM __typed t SEMI JOIN __dup_keys d
                         ON t.person_id = d.pid AND t.snapshot_date = d.snap WHERE t.__ok""").df()["__row"]
    suspects = _suspect_keys(session.keys).merge(dup, on=["pid", "snap"])["__row"]
    return np.sort(np.concatenate([vouched.to_numpy(dtype=np.int64), suspects.to_numpy(dtype=np.int64)]))


_RANK = {"duplicate_person_id": 1, "bad_text": 2}  # within a row's person_id: as validation orders them


def _assemble(session: _Session, dup_rows: np.ndarray):
    """Problems and quarantined rows, in file order, as read_matrix reports them."""
    src, keys = session.src, session.keys
    text_parts, problem_parts = [], []
    valid_rows = keys.loc[keys["valid"], "__row"].to_numpy(dtype=np.int64)
    for res, _rows in session.results:
        if res.n_quarantined:
            text_parts.append(res.quarantined.drop(columns=["rules", "reasons"]))
            problem_parts.append(res.problems)
    # rows quarantined only as duplicates: SQL-vouched rows and rescued ones
    bad_rows = np.setdiff1d(keys["__row"].to_numpy(dtype=np.int64), valid_rows)
    newly = np.setdiff1d(dup_rows, bad_rows)
    if len(newly):
        for table, rows in _read_rows(src, newly):
            text = parquet_text(table, list(src.names), session.has_nulls)
            text.insert(0, "line", rows)
            text_parts.append(text)
    session.dropped = newly
    rescued = session.rescued
    if rescued is not None and len(newly):
        session.rescued = rescued[~rescued["__row"].isin(newly)].reset_index(drop=True)
    # the duplicate problem of each reportable row in a group
    reportable = np.union1d(newly, keys.loc[keys["snapshot_date"].notna() & keys["person_id"].notna(), "__row"]
                            .to_numpy(dtype=np.int64)) if len(dup_rows) else np.array([], dtype=np.int64)
    dup_report = np.intersect1d(dup_rows, reportable)
    texts = pd.concat(text_parts, ignore_index=True) if text_parts else None
    if len(dup_report):
        rule, column, message = CHECK_RULES["duplicate_person_id"]
        pid_text = texts.set_index("line")["person_id"] if texts is not None else pd.Series(dtype=object)
        values = [pid_text.loc[r] for r in dup_report]
        problem_parts.append(pd.DataFrame({"line": dup_report, "column": column, "value": values, "rule": rule,
                                           "message": [f"{shown_value(v)}: {message}" for v in values]}))
        dropped_q = _quarter_counts(session, newly)
        session.dropped_quarters = dropped_q
    if problem_parts:
        problems = pd.concat(problem_parts, ignore_index=True)
        problems["__rank"] = problems["rule"].map(_RANK).fillna(0)
        problems["__order"] = np.arange(len(problems))
        problems = problems.sort_values(["line", "column", "__rank", "__order"], kind="stable")
        problems = problems.drop(columns=["__rank", "__order"]).reset_index(drop=True)
    else:
        problems = pd.DataFrame({"line": pd.Series(dtype="int64"), "column": [], "value": [], "rule": [],
                                 "message": []})
    if texts is None:
        quarantined = pd.DataFrame({"line": pd.Series(dtype="int64"), **{c: pd.Series(dtype="str")
                                                                        for c in src.names}})
    else:
        quarantined = texts.sort_values("line", kind="stable").reset_index(drop=True)
    if len(problems):
        per_row = problems.groupby("line", sort=True)
        rules = per_row["rule"].agg(lambda r: ";".join(dict.fromkeys(r)))
        reasons = per_row["message"].agg(lambda m: " | ".join(m))
        quarantined["rules"] = rules.reindex(quarantined["line"]).to_numpy()
        quarantined["reasons"] = reasons.reindex(quarantined["line"]).to_numpy()
    else:
        quarantined["rules"] = pd.Series(dtype=object)
        quarantined["reasons"] = pd.Series(dtype=object)
    problems = problems.astype({"line": "int64"})
    quarantined["line"] = quarantined["line"].astype("int64")
    return problems, quarantined


def _quarter_counts(session: _Session, rows: np.ndarray) -> dict[int, int]:
    """Rows SQL vouched for (or rescued) per quarter number, among ``rows``."""
    if not len(rows):
        return {}
    con = session.con
    con.register("__rows", pd.DataFrame({"__row": rows}))
    found = con.sql(f"""SELECT {_quarter_number('snapshot_date')} AS q, count(*) AS n FROM __typed
                        SEMI JOIN __rows USING (__row) WHERE __ok GROUP BY q""").fetchall()
    return {int(q): int(n) for q, n in found}


# ---------------------------------------------------------------------- counting


@contextlib.contextmanager
def count_and_validate_parquet(matrix, *, quarter: str | None, checks_config=None,
                               memory_limit: str = DEFAULT_MEMORY_LIMIT, temp_directory=None,
                               threads: int | None = None, max_bytes: int | str | None = None,
                               max_columns: int | None = None, encoding: str | None = None,
                               delimiter: str = ","):
    """Count a Parquet file (or a :class:`ParquetValidation` of one) in DuckDB into a
    :class:`fairness.counts.cube.Cube`: see the module docstring.

    A context manager yielding ``(cube, facts, validation)``: the count tables,
    what the audit says about the file (``quarantined, n_rows, source, sha256,
    quarantine_reasons``) and the :class:`ParquetValidation` made on the way
    (for a path: one pass validates and counts). The cube reads the file again
    for the records a check names (``involved``), so use it inside the block;
    DuckDB's connection is closed on leaving it when this call opened it.
    :func:`fairness.results.audit.audit_parquet` audits the cube.
    ``checks_config`` is a :class:`fairness.checks.ChecksConfig` or any object with
    the fields of :class:`fairness.definitions.CheckParameters`.
    """
    config = checks_config or defs.CHECK_PARAMETERS
    owned = not isinstance(matrix, ParquetValidation)
    if owned:
        validation = None
        session = _start(matrix, memory_limit=memory_limit, temp_directory=temp_directory, threads=threads,
                         config=config, max_bytes=max_bytes, max_columns=max_columns, encoding=encoding,
                         delimiter=delimiter)
    else:
        validation, session = matrix, matrix.session
        if session is None:
            raise ValueError("this ParquetValidation has been closed; validate the file again")
    try:
        numbers = _present_quarter_numbers(session)
        if not numbers:
            raise ValueError(ERR_NO_VALID_ROWS)
        labels = [number_label(q) for q in numbers]
        layout, searches = _layout(session, labels, config)
        persons, tests, dup_keys = _hash_persons(session, numbers, layout, searches, config,
                                                 find_duplicates=validation is None)
        if validation is None:
            session.dup_keys = dup_keys
            validation = _finish_validation(session)
        final = [number_label(q) for q in _present_quarter_numbers(session)]
        if not final:
            raise ValueError(ERR_NO_VALID_ROWS)
        try:
            selected = select_quarter(quarter, tuple(final))
        except ValueError as exc:
            exc.validation = validation  # the file was read: the audit log gives its counts
            raise
        tables = _tables(session, config, layout, numbers)
        tables["harm"] = _harm(session, selected)
        tables["persons"], tables["test_cells"] = persons, tests
        cube = _cube_of(session, tables, layout, numbers, labels, selected)
        facts = {"quarantined": validation.n_quarantined, "n_rows": validation.n_rows,
                 "source": validation.source, "sha256": validation.sha256,
                 "quarantine_reasons": validation.quarantine_reasons()}
        yield cube, facts, validation
    finally:
        if owned:
            session.close()


def _present_quarter_numbers(session: _Session) -> list[int]:
    counts = dict(session.quarter_rows)
    for q, n in session.dropped_quarters.items():
        counts[q] = counts.get(q, 0) - n
    if session.rescued is not None and len(session.rescued):
        for q in quarter_number(session.rescued["snapshot_date"]):
            counts[int(q)] = counts.get(int(q), 0) + 1
    return sorted(q for q, n in counts.items() if n > 0)


def _rescued_view(session: _Session) -> str | None:
    """SQL of the rows validation accepted although SQL did not vouch for them (typed, less duplicates)."""
    rescued = session.rescued
    if rescued is None or not len(rescued):
        return None
    columns = _typed_columns(session)
    frame = pd.DataFrame({"__row": rescued["__row"].to_numpy(dtype="int64")})
    for c in columns:
        values = rescued[c]
        if c in ("snapshot_date", "date_added", "last_reviewed"):
            frame[c] = values.dt.date
        elif isinstance(values.dtype, pd.CategoricalDtype) or c in ("person_id", "shared_with"):
            frame[c] = values.astype(object).where(values.notna(), None)
        else:
            frame[c] = values
    session.con.register("__rescued", frame)
    return f"SELECT __row, {', '.join(f'CAST({_ident(c)} AS {TYPED[c]}) AS {_ident(c)}' for c in columns)} FROM __rescued"


def _typed_columns(session: _Session) -> list[str]:
    """The typed columns of the view: the matrix format's (a profile's, if validated with one)."""
    with using_profile(session.profile):
        known = set(matrix_columns()[1])
    return [c for c in TYPED if c in session.src.names and c in known]


def _valid_view(session: _Session) -> str:
    """SQL of the valid rows: those SQL vouched for (less duplicates), and the rescued ones.

    Rows are told apart by number (the rows SQL did not vouch for, and the
    duplicates), so the test SQL vouched with is not run again.
    """
    con = session.con
    columns = _typed_columns(session)
    vouched = f"SELECT __row, {', '.join(_ident(c) for c in columns)} FROM __typed ANTI JOIN __suspects USING (__row)"
    if len(session.dropped):
        con.register("__dropped", pd.DataFrame({"__row": session.dropped}))
        vouched += " ANTI JOIN __dropped USING (__row)"
    rescued = _rescued_view(session)
    return vouched if rescued is None else f"{vouched} UNION ALL {rescued}"


def _layout(session: _Session, labels: list[str], config):
    """The meaning of the codes (fairness.counts.cube.Layout), and the test pattern searches by column."""
    src = session.src
    present = set(src.names)
    values = set(session.sharing_values)
    if session.rescued is not None and "shared_with" in present and len(session.rescued):
        values |= set(session.rescued["shared_with"].astype(str))
    columns, notes, searches = _test_layout(src, config)
    layout = Layout(quarters=list(labels), categories={c: tuple(v) for c, v in _CATEGORIES.items()},
                    columns=frozenset(src.names), sharing_values=sorted(values) or [""],
                    test_columns=tuple(columns), test_notes=tuple(notes), n_rows=src.n_rows + 1)
    return layout, searches


def _test_layout(src: _Source, config):
    """Columns whose test pattern is applied (in bit order), notes on the others, and the searches."""
    present = set(src.names)
    columns, notes, searches = [], [], {}
    for column, search in pattern_searches(config):
        if column not in present:
            notes.append(f"matrix has no column {column}: its test pattern not applied")
        elif column in ("person_id", "shared_with") or column in _CATEGORIES or column in TYPED:
            columns.append(column)
            searches[column] = search
        else:
            notes.append(NOTE_PATTERN.format(column=column))
    return columns, notes, searches


def _codes(src: _Source, config) -> dict[str, str]:
    """SQL of each row's codes from its typed values, as fairness.counts.cube.frame_codes computes them.

    Categories are their codes already (:func:`_category_code`); shared_with stays text
    (mapped to codes on the small counted tables), the quarter its number (mapped likewise).
    ``tests`` holds the bits of the test patterns other than person_id's.
    """
    present = set(src.names)
    bands = " ".join(f"WHEN age BETWEEN {b.lo} AND {b.hi} THEN {i}" for i, b in enumerate(defs.AGE_BANDS))
    flags = " + ".join(f"{1 << i} * CAST({_condition_sql(f.condition, present)} AS INTEGER)"
                       for i, f in enumerate(defs.FLAGS))
    out = {
        "row": "__row",
        "qnum": _quarter_number("snapshot_date"),
        **{c: _category_code(c) for c in _CATEGORIES},
        "age_band": f"CAST(CASE {bands} ELSE -1 END AS INTEGER)",
        "flags": f"CAST({flags} AS INTEGER)",
        "harm_zero": _condition_sql(defs.flag("harm_zero").condition, present),
        "green": _condition_sql(defs.flag("green").condition, present),
        "child": _condition_sql(defs.Condition("age", "<", int(config.child_age)), present),
    }
    durations = defs.duration_codes()
    unknown, none = durations.index(defs.DURATION_UNKNOWN), durations.index(defs.DURATION_NONE)
    # days on the list and since the last review, each worked out once a row (a helper column, as
    # ``snapshot_date - date``: whole days, what date_diff('day', ...) gives for dates); a band's
    # bounds in days rounded up, which whole days compare with alike (d >= 365.25 is d >= 366)
    helpers = {}
    if "date_added" in present:
        helpers["__days_added"] = "snapshot_date - date_added"
    if "last_reviewed" in present:
        helpers["__days_reviewed"] = "snapshot_date - last_reviewed"
    if "date_added" in present:
        days = "__days_added"
        whens = " ".join(f"WHEN {days} >= {math.ceil(b.lo)} AND {days} < {math.ceil(b.hi)} THEN {i}"
                         if np.isfinite(b.hi) else f"WHEN {days} >= {math.ceil(b.lo)} THEN {i}"
                         for i, b in enumerate(defs.DURATION_BANDS))
        out["duration"] = f"CAST(CASE WHEN date_added IS NULL THEN {unknown} {whens} ELSE {none} END AS INTEGER)"
    else:
        out["duration"] = str(unknown)
    out["outcome"] = ("CAST(CASE WHEN outcome_violence_12m IS NULL THEN -1 WHEN outcome_violence_12m THEN 1 "
                      "ELSE 0 END AS INTEGER)" if "outcome_violence_12m" in present else "-1")
    out["shared_with"] = "shared_with" if "shared_with" in present else "''"
    out["shared"] = "(shared_with <> '')" if "shared_with" in present else "FALSE"
    victim = defs.no_risk_rules()[defs.VICTIM_RULE]
    vs = {name: defs.VICTIM_STATES.index(name) for name in defs.VICTIM_STATES}
    if all(c in present for c in victim.needs):
        unknown_victim = " OR ".join(f"{_ident(c)} IS NULL" for c in dict.fromkeys((*victim.needs, "harm_score")))
        flagged = " AND ".join(_condition_sql(defs.flag(f).condition, present) for f in victim.flags)
        out["victim_state"] = (f"CAST(CASE WHEN {unknown_victim} THEN {vs['excluded']} WHEN {flagged} "
                               f"THEN {vs['flagged']} ELSE {vs['eligible']} END AS INTEGER)")
    else:
        out["victim_state"] = str(vs["excluded"])
    rs = {name: defs.REVIEW_STATES.index(name) for name in defs.REVIEW_STATES}
    if "last_reviewed" in present:
        d = int(config.review_days)
        stale = f"coalesce(__days_reviewed > {d}, FALSE)"
        never = "last_reviewed IS NULL"
        if "date_added" in present:
            never += f" AND NOT coalesce(__days_added <= {d}, FALSE)"
        out["review_state"] = (f"CAST(CASE WHEN {never} THEN {rs['never']} WHEN {stale} THEN {rs['stale']} "
                               f"ELSE {rs['ok']} END AS INTEGER)")
    else:
        out["review_state"] = str(rs["ok"])
    ds = {name: defs.DATE_STATES.index(name) for name in defs.DATE_STATES}
    if "date_added" in present:
        start = pd.Timestamp(config.matrix_start)
        early = f"coalesce(CAST(date_added AS TIMESTAMP) < TIMESTAMP {_literal(start.isoformat(sep=' '))}, FALSE)"
        if start == start.normalize():  # midnight: a date before it is a date before its day
            early = f"coalesce(date_added < DATE {_literal(start.date().isoformat())}, FALSE)"
        after = "coalesce(date_added > snapshot_date, FALSE)"
        young = f"coalesce((age + 1) - __days_added / 365.25 <= {int(config.min_age_at_addition)}, FALSE)"
        out["date_state"] = (f"CAST(CASE WHEN {early} THEN {ds['early']} WHEN {after} THEN {ds['after']} "
                             f"WHEN {young} THEN {ds['young']} ELSE {ds['']} END AS INTEGER)")
    else:
        out["date_state"] = str(ds[""])
    columns, _, searches = _test_layout(src, config)
    bits = []
    for i, column in enumerate(columns):
        if column == "person_id":
            continue  # matched in Python, once per person, as the rows stream past sorted by person
        values = _CATEGORIES[column] if column in _CATEGORIES else None
        if values is None:  # shared_with and the typed columns: their distinct values are matched when known
            bits.append((i, column))
            continue
        matched = [v for v in values if searches[column](v)]
        bits.append(f"{1 << i} * CAST(coalesce(list_contains({_text_list(matched)}, {_ident(column)}), FALSE) "
                    f"AS INTEGER)")
    out["__bits"] = bits  # finished by _tests_sql once shared_with's texts are known
    out["__helpers"] = ", ".join(f"{sql} AS {name}" for name, sql in helpers.items())
    return out


def _category_code(column: str) -> str:
    """SQL of a category's code, its index in :data:`_CATEGORIES` (-1: any other value or none),
    as :func:`fairness.counts.cube.frame_codes` codes it: a cast to an ENUM of the categories (a
    hash lookup, and a one-byte group key) instead of a search of the list and a text key."""
    enum = f"ENUM({', '.join(_literal(v) for v in _CATEGORIES[column])})"
    return f"coalesce(CAST(enum_code(TRY_CAST({_ident(column)} AS {enum})) AS TINYINT), -1)"


_SQL_OPS = {"==": "=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


def _condition_sql(condition: defs.Condition, present) -> str:
    """SQL of a :class:`fairness.definitions.Condition` on the typed view (missing values and
    absent columns: FALSE), as :func:`fairness.counts.groups.condition_mask` computes it."""
    if condition.column not in present:
        return "FALSE"
    column = _ident(condition.column)
    if condition.op == "is true":
        return f"coalesce({column}, FALSE)"
    value = condition.value
    literal = _literal(value) if isinstance(value, str) else repr(float(value) if isinstance(value, float) else value)
    return f"coalesce({column} {_SQL_OPS[condition.op]} {literal}, FALSE)"


def _tests_sql(bits, searches, sharing_values: list[str], others: dict[str, str] | None = None) -> str:
    """The test bits but person_id's; ``others``: SQL of the matches of the typed columns
    (:func:`_typed_matches`)."""
    parts = []
    for bit in bits:
        if isinstance(bit, tuple) and bit[1] != "shared_with":
            i, column = bit
            parts.append(f"{1 << i} * CAST({(others or {}).get(column, 'FALSE')} AS INTEGER)")
        elif isinstance(bit, tuple):
            i, column = bit
            matched = [v for v in sharing_values if searches[column](v)]
            parts.append(f"{1 << i} * CAST(coalesce(list_contains({_text_list(matched)}, {_ident(column)}), FALSE) "
                         f"AS INTEGER)")
        else:
            parts.append(bit)
    return "CAST(" + (" + ".join(parts) if parts else "0") + " AS INTEGER)"


#: The tables counted in SQL, by the codes of :func:`_codes` (text for categories, a number for quarters).
_SETS: dict[str, tuple[str, ...]] = {
    "people": ("qnum", "borough", "ethnicity", "sex", "age_band", "flags"),
    "durations": ("qnum", "flags", "duration"),
    "outcomes": ("qnum", "ethnicity", "age_band", "sex", "risk_band", "outcome"),
    "sharing": ("qnum", "risk_band", "harm_zero", "shared_with"),
    "checks": ("qnum", "borough", "harm_zero", "green", "shared", "child", "victim_state", "review_state",
               "date_state"),
}


def _grouping_query(source: str, codes: dict[str, str], *, with_ok: bool) -> tuple[str, list[str]]:
    """GROUPING SETS over the codes of ``source``: every table in one scan (counted by all the codes
    together first).

    With ``with_ok``, each table is also split by ``__ok`` (only the rows SQL
    vouched for are kept) and one more set lists the other rows' numbers.
    """
    keys = list(dict.fromkeys(k for ks in _SETS.values() for k in ks))
    select = [f"{codes[k]} AS {_ident(k)}" for k in keys] + ["__row AS row"]
    sets = [("__ok",) + ks if with_ok else ks for ks in _SETS.values()]
    if with_ok:
        select += ["__ok", "CASE WHEN NOT __ok THEN __row END AS __suspect"]
        sets.append(("__suspect",))
        keys = keys + ["__ok", "__suspect"]
    grouping = ", ".join("(" + ", ".join(_ident(k) for k in ks) + ")" for ks in sets)
    columns = ", ".join(_ident(k) for k in keys)
    # two stages: the rows counted once by every key together (one hash table, whose groups are far
    # fewer than the rows), then those counts summed into each set (five hash tables over the rows
    # cost more)
    helpers = codes.get("__helpers")
    if helpers:  # the helper columns the codes share (days on the list, ...), worked out once a row
        source = f"SELECT *, {helpers} FROM ({source})"
    finest = (f"SELECT {columns}, count(*) AS count, min(row) AS first "
              f"FROM (SELECT {', '.join(select)} FROM ({source})) GROUP BY ALL")
    query = (f"SELECT GROUPING({columns}) AS __set, {columns}, CAST(sum(count) AS BIGINT) AS count, "
             f"min(first) AS first FROM ({finest}) GROUP BY GROUPING SETS ({grouping})")
    return query, keys


def _split(result: pd.DataFrame, keys: list[str], *, with_ok: bool) -> dict[str, pd.DataFrame]:
    """The tables of a grouping query's result (still with text and quarter numbers)."""
    out = {}
    for name, ks in _SETS.items():
        ks = (("__ok",) + ks) if with_ok else ks
        mask = sum(1 << (len(keys) - 1 - keys.index(k)) for k in keys if k not in ks)
        t = result[result["__set"] == mask]
        if with_ok:
            t = t[t["__ok"].astype(bool)]
        columns = list(_SETS[name]) + ["count"] + (["first"] if name == "checks" else [])
        out[name] = t[columns].reset_index(drop=True)
    return out


def _count_vouched(con, src: _Source, config):
    """The scan that marks the rows SQL vouches for, counting them at the same time."""
    codes = _codes(src, config)
    query, keys = _grouping_query("SELECT * FROM __typed", codes, with_ok=True)
    result = con.sql(query).df()
    mask = sum(1 << (len(keys) - 1 - keys.index(k)) for k in keys if k != "__suspect")
    suspects = result.loc[(result["__set"] == mask) & result["__suspect"].notna(), "__suspect"]
    tables = _split(result, keys, with_ok=True)
    people = tables["people"]
    quarter_rows = people.groupby("qnum")["count"].sum().astype(int).to_dict()
    sharing_values = sorted(v for v in tables["sharing"]["shared_with"].dropna().unique())
    counted = {"tables": tables, "config": config, "quarter_rows": {int(k): v for k, v in quarter_rows.items()},
               "sharing_values": sharing_values}
    return counted, np.sort(suspects.to_numpy(dtype=np.int64))


def _tables(session: _Session, config, layout, numbers: list[int]) -> dict[str, pd.DataFrame]:
    """Every table but persons, harm and the test cells, as code tables (fairness.counts.cube's form)."""
    counted = session.counted
    parts = []
    if counted is not None and counted["config"] == config and not len(_vouched_dropped(session)):
        parts.append(counted["tables"])
    else:  # counted with another configuration, or duplicates to leave out: count again
        source = "SELECT * FROM __typed ANTI JOIN __suspects USING (__row)"
        if len(session.dropped):
            session.con.register("__dropped", pd.DataFrame({"__row": session.dropped}))
            source += " ANTI JOIN __dropped USING (__row)"
        query, keys = _grouping_query(source, _codes(session.src, config), with_ok=False)
        parts.append(_split(session.con.sql(query).df(), keys, with_ok=False))
    rescued = _rescued_view(session)
    if rescued is not None:
        query, keys = _grouping_query(rescued, _codes(session.src, config), with_ok=False)
        parts.append(_split(session.con.sql(query).df(), keys, with_ok=False))
    coded = [_to_codes(p, layout, numbers) for p in parts]
    return combine_tables(coded) if len(coded) > 1 else coded[0]


def _vouched_dropped(session: _Session) -> np.ndarray:
    """The duplicates among the rows SQL vouched for."""
    return np.setdiff1d(session.dropped, session.suspects)


def _to_codes(tables: dict[str, pd.DataFrame], layout, numbers: list[int]) -> dict[str, pd.DataFrame]:
    """shared_with's text and quarter numbers to the codes of fairness.counts.cube (indices into the
    layout's lists; the categories are coded in SQL)."""
    lookups = {"shared_with": {v: i for i, v in enumerate(layout.sharing_values)}}
    out = {}
    for name, t in tables.items():
        t = t.rename(columns={"qnum": "quarter"}).copy()
        t["quarter"] = np.searchsorted(numbers, t["quarter"].to_numpy(dtype=np.int64))
        for c, lookup in lookups.items():
            if c in t:
                t[c] = t[c].map(lookup).fillna(-1).astype(np.int64)
        if name == "checks":
            t["test_mask"] = 0
        for k in TABLE_KEYS[name]:
            t[k] = t[k].astype(bool) if k in ("harm_zero", "green", "shared", "child") else t[k].astype(np.int64)
        t["count"] = t["count"].astype(np.int64)
        if "first" in t:
            t["first"] = t["first"].astype(np.int64)
        out[name] = t[list(TABLE_KEYS[name]) + ["count"] + (["first"] if "first" in t else [])]
    return out


def _harm(session: _Session, selected: str) -> pd.DataFrame:
    """Records of the selected quarter counted by borough, band and harm score (band consistency)."""
    year, q = int(selected[:4]), int(selected[-1])
    start = dt.date(year, 3 * q - 2, 1)
    end = dt.date(year + (q == 4), (3 * q) % 12 + 1, 1)
    found = session.con.sql(f"""
        SELECT borough, risk_band, harm_score, count(*) AS count FROM ({_valid_view(session)})
        WHERE snapshot_date >= DATE '{start}' AND snapshot_date < DATE '{end}' GROUP BY ALL""").df()
    lookups = {c: {v: i for i, v in enumerate(_CATEGORIES[c])} for c in ("borough", "risk_band")}
    out = pd.DataFrame({c: found[c].map(lookups[c]).fillna(-1).astype(np.int64) for c in ("borough", "risk_band")})
    out["harm_score"] = found["harm_score"].astype("float64")
    out["count"] = found["count"].astype(np.int64)
    return out.sort_values(["borough", "risk_band", "harm_score"], kind="stable").reset_index(drop=True)


def _typed_matches(session: _Session, layout, searches) -> dict[str, str]:
    """SQL true where a typed column's value matches its test pattern, as
    :func:`fairness.counts.cube.matches` decides it on the typed column in memory: each distinct
    value of the valid rows is written as pandas writes it (``astype("string")``, a missing value
    as "") and matched once."""
    from fairness.counts.cube import matches

    out = {}
    dtypes = canonical_dtypes()
    for k, column in enumerate(layout.test_columns):
        if column in ("person_id", "shared_with") or column in _CATEGORIES or column not in TYPED:
            continue
        found = session.con.sql(f"SELECT DISTINCT {_ident(column)} AS v FROM ({_valid_view(session)}) "
                                "WHERE v IS NOT NULL").df()
        typed = _typed_column(found["v"], dtypes[column]) if column in dtypes else found["v"]
        hit = matches(typed, searches[column]) if len(typed) else np.zeros(0, dtype=bool)
        name = f"__test_values_{k}"
        session.con.register(name, found.loc[hit, ["v"]].reset_index(drop=True))
        missing = "TRUE" if searches[column]("") else "FALSE"
        out[column] = (f"(CASE WHEN {_ident(column)} IS NULL THEN {missing} "
                       f"ELSE coalesce({_ident(column)} IN (SELECT v FROM {name}), FALSE) END)")
    return out


def _stream_persons(session: _Session, numbers: list[int], layout, searches, config, *, find_duplicates: bool,
                    other_bits: str | None = None, bad: pd.DataFrame | None = None, ranked: str | None = None,
                    seen: list | None = None):
    """Stream the valid rows sorted by person and date: the ``persons`` table, the test cells
    (person_id's pattern matched once per person), and (if asked) every duplicate key.

    ``ranked``: a table of ``pid, rank`` (the person's place in person_id order among all the
    valid rows' people): only their rows are streamed, and ``first`` is that rank
    (:func:`_hash_persons` streams so the people it cannot count from their quarter masks).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    con, src = session.con, session.src
    if other_bits is None:
        other_bits = _tests_sql(_codes(src, config)["__bits"], searches, layout.sharing_values,
                                _typed_matches(session, layout, searches))
    rank = ", __r.rank AS rank" if ranked else ""
    join = f" JOIN {ranked} AS __r ON person_id = __r.pid" if ranked else ""
    query = f"""SELECT person_id AS pid, snapshot_date AS snap, __row AS row,
                       CAST({_quarter_number('snapshot_date')} AS SMALLINT) AS q,
                       {_category_code("borough")} AS b,
                       {_condition_sql(defs.flag("harm_zero").condition, set(src.names))} AS z,
                       CAST({other_bits} AS INTEGER) AS bits{rank}
                FROM ({_valid_view(session)}){join} ORDER BY pid, snap"""
    reader = con.sql(query).to_arrow_reader(STREAM_ROWS)
    if bad is None:
        bad = _suspect_keys(session.keys, invalid_only=True) if find_duplicates else None
    bad_keys = set(zip(bad["pid"], bad["snap"], strict=True)) if bad is not None and len(bad) else set()
    bad_pids = pa.array(sorted({p for p, _ in bad_keys}), type=pa.string())
    person_bit = layout.test_columns.index("person_id") if "person_id" in layout.test_columns else None
    person_search = searches.get("person_id")
    number_list = np.asarray(numbers, dtype=np.int64)
    sizes = {**layout.sizes(), "quarter": len(numbers)}
    parts, dup_keys = [], []
    people_before = 0

    def process(table: pa.Table) -> None:
        nonlocal people_before
        pid = table.column("pid").combine_chunks()
        snap = table.column("snap").combine_chunks()
        n = len(pid)
        same_pid = np.zeros(n, dtype=bool)
        if n > 1:
            same_pid[1:] = pc.equal(pid.slice(1), pid.slice(0, n - 1)).to_numpy(zero_copy_only=False)
        if find_duplicates:
            same = np.zeros(n, dtype=bool)
            if n > 1:
                same[1:] = same_pid[1:] & pc.equal(snap.slice(1), snap.slice(0, n - 1)).to_numpy(
                    zero_copy_only=False)
            dup = same.copy()
            dup[:-1] |= same[1:]
            if bad_keys:
                # a row sharing its key with a row validation rejected (few: look at their people only)
                maybe = np.flatnonzero(pc.is_in(pid, value_set=bad_pids).to_numpy(zero_copy_only=False))
                if len(maybe):
                    idx = pa.array(maybe)
                    pairs = zip(pid.take(idx).to_pylist(), snap.take(idx).to_pylist(), strict=True)
                    dup[maybe] |= np.fromiter(((p, d) in bad_keys for p, d in pairs), dtype=bool,
                                              count=len(maybe))
            if dup.any():
                idx = pa.array(np.flatnonzero(dup))
                found = pd.DataFrame({"pid": pid.take(idx).to_pylist(), "snap": snap.take(idx).to_pylist()})
                dup_keys.append(found.drop_duplicates())
                table = table.take(pa.array(np.flatnonzero(~dup)))
                pid = table.column("pid").combine_chunks()
                n = len(pid)
                same_pid = np.zeros(n, dtype=bool)
                if n > 1:
                    same_pid[1:] = pc.equal(pid.slice(1), pid.slice(0, n - 1)).to_numpy(zero_copy_only=False)
        if n == 0:
            return
        new_person = ~same_pid
        if ranked:
            person = table.column("rank").to_numpy().astype(np.int64)
            if seen is not None:
                seen.append(np.unique(person))
        else:
            person = people_before + np.cumsum(new_person) - 1
            people_before = int(person[-1]) + 1
        q = np.searchsorted(number_list, table.column("q").to_numpy().astype(np.int64))
        borough = table.column("b").to_numpy().astype(np.int64)
        zero = table.column("z").to_numpy(zero_copy_only=False).astype(bool)
        row = table.column("row").to_numpy().astype(np.int64)
        mask = table.column("bits").to_numpy().astype(np.int64)
        if person_bit is not None:
            starts = np.flatnonzero(new_person)
            hit = _id_matches(pid.take(pa.array(starts)), person_search)
            mask = mask | (hit[np.cumsum(new_person) - 1].astype(np.int64) << person_bit)
        parts.append({
            "persons": person_counts(new_person, q, borough, zero, person, len(numbers), len(BOROUGHS)),
            "test_cells": count_codes({"quarter": q, "borough": borough, "test_mask": mask}, sizes, first=True,
                                      order=row),
        })

    def chunks():
        """The stream in pieces of about STREAM_ROWS rows."""
        pending, size = [], 0
        for batch in reader:
            pending.append(batch)
            size += batch.num_rows
            if size >= STREAM_ROWS:
                yield pa.Table.from_batches(pending)
                pending, size = [], 0
        if pending:
            yield pa.Table.from_batches(pending)

    carry = None
    for table in chunks():
        if carry is not None:
            table = pa.concat_tables([carry, table])
        pid = table.column("pid").combine_chunks()
        n = len(pid)
        if n == 0:
            continue
        # hold back the last person's rows: a person is counted in one piece
        first_of_last = int(np.flatnonzero(pc.equal(pid, pid[n - 1]).to_numpy(zero_copy_only=False))[0])
        if first_of_last == 0:
            carry = table
            continue
        process(table.slice(0, first_of_last))
        carry = table.slice(first_of_last)
    if carry is not None and carry.num_rows:
        process(carry)
    if parts:
        combined = combine_tables(parts)
        persons, tests = combined["persons"], combined["test_cells"]
    else:
        persons = person_counts(np.zeros(0, dtype=bool), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64),
                                np.zeros(0, dtype=bool), np.zeros(0, dtype=np.int64), len(numbers), len(BOROUGHS))
        tests = pd.DataFrame({k: np.array([], dtype=np.int64) for k in ("quarter", "borough", "test_mask", "count",
                                                                       "first")})
    if bad is not None and len(bad):  # keys shared by rows validation rejected (not streamed): as validate_parquet
        dup_keys.append(bad.loc[bad.duplicated(["pid", "snap"], keep=False), ["pid", "snap"]])
    duplicates = pd.concat(dup_keys, ignore_index=True).drop_duplicates() if dup_keys else pd.DataFrame(
        {"pid": pd.Series(dtype=object), "snap": pd.Series(dtype=object)})
    return persons, tests, duplicates


#: Quarters held by one word of a person's quarter mask (a BIGINT: bit 63 is its sign).
_MASK_BITS = 63
#: Words of a quarter mask at most: a matrix of more quarters (252) is streamed sorted by person.
MASK_WORDS = 4


def _hash_persons(session: _Session, numbers: list[int], layout, searches, config, *, find_duplicates: bool):
    """What :func:`_stream_persons` returns (the same tables, to the integer), without sorting
    every row by person: hash aggregates.

    One group-by of the valid rows by person_id gives each person the quarters they are
    listed in and those with harm 0 as bit masks, their boroughs and their place in person_id
    order. A person listed at most once a quarter, in one borough, with no key shared with a
    row validation rejected (nearly everyone) is counted from the masks alone: people with the
    same masks and borough are counted together, then spread over their quarters (streaks and
    re-listing follow from the bits). The others (a second snapshot in a quarter, a move, a
    possible duplicate) are streamed sorted by person and date as before, and are the only
    rows that can hold a duplicate key (two rows with one key are in one quarter). The test
    cells are one more group-by of the other people's rows, person_id's pattern matched once
    per person.
    """
    n_quarters = len(numbers)
    n_words = max(1, -(-n_quarters // _MASK_BITS))
    if n_words > MASK_WORDS:
        return _stream_persons(session, numbers, layout, searches, config, find_duplicates=find_duplicates)
    con, src = session.con, session.src
    other_bits = _tests_sql(_codes(src, config)["__bits"], searches, layout.sharing_values,
                            _typed_matches(session, layout, searches))
    qi = (f"CAST(list_position([{', '.join(str(int(q)) for q in numbers)}], "
          f"{_quarter_number('snapshot_date')}) - 1 AS INTEGER)")
    if list(numbers) == list(range(numbers[0], numbers[0] + n_quarters)):  # no quarter missing: a subtraction
        qi = f"CAST({_quarter_number('snapshot_date')} - {int(numbers[0])} AS INTEGER)"
    rows = f"""SELECT person_id AS pid, {qi} AS qi, __row AS row,
                      {_category_code("borough")} AS b,
                      {_condition_sql(defs.flag("harm_zero").condition, set(src.names))} AS z,
                      CAST({other_bits} AS INTEGER) AS bits
               FROM ({_valid_view(session)})"""

    def bit(w: int, when: str = "TRUE") -> str:
        return (f"bit_or(CASE WHEN {when} AND qi // {_MASK_BITS} = {w} "
                f"THEN CAST(1 AS BIGINT) << (qi % {_MASK_BITS}) ELSE CAST(0 AS BIGINT) END)")

    words = [f"l{w}" for w in range(n_words)] + [f"z{w}" for w in range(n_words)]
    aggregates = ([f"{bit(w)} AS l{w}" for w in range(n_words)]
                  + [f"{bit(w, 'z')} AS z{w}" for w in range(n_words)])
    bad = _suspect_keys(session.keys, invalid_only=True) if find_duplicates else None
    not_bad = ""
    if bad is not None and len(bad):
        con.register("__bad_pids", pd.DataFrame({"pid": pd.Series(sorted(set(bad["pid"])), dtype=object)}))
        not_bad = " AND pid NOT IN (SELECT pid FROM __bad_pids)"
    # whether a person's id matches the test pattern, decided once per person: by RE2 in DuckDB where
    # it decides as Python's re does (printable ASCII, a plain pattern), else NULL (in Python, below)
    hit = "FALSE"
    if "person_id" in layout.test_columns:
        text = _re2_pattern(searches["person_id"])
        hit = "CAST(NULL AS BOOLEAN)" if text is None else (f"CASE WHEN regexp_matches(pid, {_literal(_PRINTABLE)}) "
                                           f"THEN regexp_matches(pid, {_literal(text)}) END")
    simple = f"n = {' + '.join(f'CAST(bit_count(l{w}) AS INTEGER)' for w in range(n_words))} AND b = b_max{not_bad}"
    # One query, nothing stored (a table of 4.6M people written and read back cost more than the
    # group-by itself): the people counted from their masks come back grouped by masks and borough,
    # and only the few marked (irregular, or an id that matches or is undecided) one by one, with
    # their id and place in person_id order.
    found = con.sql(f"""
        SELECT {', '.join(words)}, b, simple, hit, CASE WHEN simple AND hit IS NOT DISTINCT FROM FALSE
                                                       THEN NULL ELSE pid END AS pid,
               count(*) AS count, min(rank) AS first
        FROM (SELECT *, {simple} AS simple, {hit} AS hit, row_number() OVER (ORDER BY pid) - 1 AS rank
              FROM (SELECT pid, {', '.join(aggregates)}, min(b) AS b, max(b) AS b_max, count(*) AS n
                    FROM ({rows}) GROUP BY pid))
        GROUP BY ALL""").arrow().read_all()
    is_simple = found.column("simple").to_numpy(zero_copy_only=False).astype(bool)
    at = np.flatnonzero(is_simple)
    persons = _mask_counts({c: found.column(c).to_numpy(zero_copy_only=False)[at]
                            for c in (*words, "b", "count", "first")}, n_quarters)
    slow_at = np.flatnonzero(~is_simple)
    slow = pd.DataFrame({"pid": pd.Series(found.column("pid").take(slow_at).to_pylist(), dtype=object),
                         "rank": found.column("first").to_numpy()[slow_at].astype(np.int64)})
    try:
        con.register("__slow_persons", slow)
        # the few people marked (irregular: counted by the stream; or a test id), looked up once a row
        marked = "SELECT pid, TRUE AS slow, FALSE AS hit FROM __slow_persons"
        mask = "bits"
        if "person_id" in layout.test_columns:
            con.register("__person_hits", _person_hits(found, searches["person_id"]))
            marked = (f"SELECT pid, bool_or(slow) AS slow, bool_or(hit) AS hit FROM ({marked} UNION ALL "
                      "SELECT pid, FALSE, TRUE FROM __person_hits) GROUP BY pid")
            mask = (f"bits | CASE WHEN coalesce(__m.hit, FALSE) "
                    f"THEN {1 << layout.test_columns.index('person_id')} ELSE 0 END")
        tests = con.sql(f"""SELECT qi AS quarter, CAST(b AS BIGINT) AS borough, CAST({mask} AS BIGINT) AS test_mask,
                                   count(*) AS count, min(row) AS first
                            FROM ({rows}) LEFT JOIN ({marked}) AS __m USING (pid)
                            WHERE NOT coalesce(__m.slow, FALSE) GROUP BY ALL""").df()
        tests = tests.astype("int64").sort_values(["quarter", "borough", "test_mask"]).reset_index(drop=True)
        slow_ranks = slow["rank"].to_numpy(dtype=np.int64)
        if not len(slow_ranks):
            shared = [] if bad is None else [bad.loc[bad.duplicated(["pid", "snap"], keep=False), ["pid", "snap"]]]
            duplicates = pd.concat(shared, ignore_index=True).drop_duplicates() if shared else pd.DataFrame(
                {"pid": pd.Series(dtype=object), "snap": pd.Series(dtype=object)})
            return persons, tests, duplicates
        seen: list[np.ndarray] = []
        slow_persons, slow_tests, duplicates = _stream_persons(
            session, numbers, layout, searches, config, find_duplicates=find_duplicates, other_bits=other_bits,
            bad=bad, ranked="__slow_persons", seen=seen)
        # people all of whose rows were duplicates are not counted: the others' places close up
        gone = np.setdiff1d(slow_ranks, np.concatenate(seen) if seen else np.zeros(0, dtype=np.int64))
        if len(gone):
            for table in (persons, slow_persons):
                table["first"] = table["first"] - np.searchsorted(np.sort(gone), table["first"].to_numpy())
        combined = combine_tables([{"persons": persons, "test_cells": tests},
                                   {"persons": slow_persons, "test_cells": slow_tests}])
        return combined["persons"], combined["test_cells"], duplicates
    finally:
        for name in ("__slow_persons", "__person_hits"):
            with contextlib.suppress(Exception):
                con.unregister(name)


def _person_hits(found, search):
    """The people of ``found`` (the query of :func:`_hash_persons`) whose person_id matches its test
    pattern, as :func:`_id_matches` decides it: ``hit`` where DuckDB decided (RE2, as pyarrow's),
    the undecided ones (NULL) matched here."""
    import pyarrow as pa
    import pyarrow.compute as pc

    hit, pid = found.column("hit"), found.column("pid")
    decided = pid.filter(pc.fill_null(hit, False)).combine_chunks().cast(pa.string())
    ids = pid.filter(pc.is_null(hit)).combine_chunks().cast(pa.string())
    if len(ids):
        ids = ids.filter(pa.array(_id_matches(ids, search)))
    return pa.table({"pid": pa.concat_arrays([decided, ids])})


def _mask_counts(people: dict[str, np.ndarray], n_quarters: int) -> pd.DataFrame:
    """The ``persons`` table of people counted by their quarter masks (``l*``: listed, ``z*``: harm 0
    at the quarter's snapshot), borough ``b``, ``count`` and ``first``, as
    :func:`fairness.counts.cube.person_counts` counts them from their rows."""
    keys = list(TABLE_KEYS["persons"])
    count = np.asarray(people["count"], dtype=np.int64)
    if not len(count):
        return pd.DataFrame({k: np.array([], dtype=np.int64) for k in (*keys, "count", "first")})
    first = np.asarray(people["first"], dtype=np.int64)
    borough = np.asarray(people["b"], dtype=np.int64)
    sizes = (n_quarters, len(BOROUGHS) + 1, 2, n_quarters + 1, 2)  # quarter, borough + 1, harm 0, streak, relisted
    space = int(np.prod(sizes))
    total = np.zeros(space, dtype=np.int64)
    lowest = np.full(space, np.iinfo(np.int64).max, dtype=np.int64)
    run = np.zeros(len(count), dtype=np.int64)
    before = np.zeros(len(count), dtype=bool)
    was_listed = np.zeros(len(count), dtype=bool)
    was_zero = np.zeros(len(count), dtype=bool)
    for i in range(n_quarters):
        w, k = divmod(i, _MASK_BITS)
        listed = ((np.asarray(people[f"l{w}"], dtype=np.int64) >> k) & 1).astype(bool)
        zero = ((np.asarray(people[f"z{w}"], dtype=np.int64) >> k) & 1).astype(bool) & listed
        run = np.where(zero, np.where(was_zero, run + 1, 1), 0)
        relisted = listed & ~was_listed & before
        at = np.flatnonzero(listed)
        if len(at):
            key = ((((i * sizes[1] + borough[at] + 1) * 2 + zero[at]) * sizes[3] + run[at]) * 2 + relisted[at])
            np.add.at(total, key, count[at])
            np.minimum.at(lowest, key, first[at])
        before |= listed
        was_listed, was_zero = listed, zero
    cells = np.flatnonzero(total)
    rest, out = cells, {}
    for name, size in zip(reversed(keys), reversed(sizes), strict=True):
        rest, out[name] = np.divmod(rest, size)
    out["borough"] = out["borough"] - 1
    table = pd.DataFrame({k: out[k].astype(np.int64) for k in keys})
    table["count"], table["first"] = total[cells], lowest[cells]
    return table


#: A pattern of letters, digits, ``_``, ``-``, alternatives, groups and anchors (``(?i)`` first
#: allowed): on text of printable ASCII (no newline), Python's ``re`` and RE2 match it alike.
_PLAIN_PATTERN = re.compile(r"(\(\?i\))?[A-Za-z0-9_|^$()-]*")
_PRINTABLE = "^[ -~]*$"


def _re2_pattern(search) -> str | None:
    """The pattern of ``search`` (a compiled pattern's bound ``search``) if it is plain
    (:data:`_PLAIN_PATTERN`, flags as written), so that RE2 decides it as Python's ``re`` does on
    printable ASCII; else None (match in Python)."""
    pattern = getattr(search, "__self__", None)
    text = getattr(pattern, "pattern", None)
    if isinstance(text, str) and _PLAIN_PATTERN.fullmatch(text) and re.compile(text).flags == pattern.flags:
        return text
    return None


def _id_matches(ids, search) -> np.ndarray:
    """``bool(search(id))`` for each id (a pyarrow string array), as Python's ``re`` decides it.

    A plain pattern (:data:`_PLAIN_PATTERN`, like the default test-id pattern) is matched by
    pyarrow's RE2 on the ids of printable ASCII, all at once; any other id, or any other pattern,
    one at a time in Python (a regular expression's meaning can differ between the two engines
    beyond that: ``$`` before a final newline, ``\\s`` on control characters, ``{,n}``, ...).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    text = _re2_pattern(search)
    if text is None:
        return np.fromiter((bool(search(p)) for p in ids.to_pylist()), dtype=bool, count=len(ids))
    hit = pc.match_substring_regex(ids, text).to_numpy(zero_copy_only=False).astype(bool)
    other = np.flatnonzero(~pc.match_substring_regex(ids, _PRINTABLE).to_numpy(zero_copy_only=False).astype(bool))
    if len(other):
        names = ids.take(pa.array(other, type=pa.int64())).to_pylist()
        hit[other] = np.fromiter((bool(search(p)) for p in names), dtype=bool, count=len(names))
    return hit


def _cube_of(session: _Session, tables, layout, numbers: list[int], labels: list[str], selected: str):
    con = session.con
    quarter_names = np.asarray(labels, dtype=object)

    def involved(person_ids) -> pd.DataFrame:
        con.register("__people", pd.DataFrame({"pid": pd.Series(list(person_ids), dtype=object)}))
        found = con.sql(f"""SELECT person_id, strftime(snapshot_date, '%Y-%m-%d') AS date,
                                   {_quarter_number('snapshot_date')} AS q, borough, __row AS row
                            FROM ({_valid_view(session)}) WHERE person_id IN (SELECT pid FROM __people)
                            ORDER BY __row""").df()
        codes = np.searchsorted(numbers, found["q"].to_numpy())
        return pd.DataFrame({"person_id": found["person_id"].astype(object).to_numpy(),
                             "date": found["date"].astype(object).to_numpy(),
                             "quarter": quarter_names[codes] if len(found) else np.array([], dtype=object),
                             "borough": found["borough"].astype(object).to_numpy(),
                             "row": found["row"].to_numpy()})

    return finish_cube(tables, layout, quarter=selected, involved=involved)


# ---------------------------------------------------------------------- one quarter's counts (the disparity table)


def valid_quarters(validation: ParquetValidation) -> tuple[str, ...]:
    """The quarters of a validated file's valid rows ("2018Q4", sorted), from the counts its validating
    scan made (no further read of the file)."""
    session = validation.session
    if session is None:
        raise ValueError("this ParquetValidation has been closed; validate the file again")
    return tuple(number_label(q) for q in _present_quarter_numbers(session))


def count_quarter(validation: ParquetValidation, columns: Sequence[str], *, quarter: str) -> pd.DataFrame:
    """The valid rows of one quarter of a validated file, counted by ``columns`` in DuckDB.

    The rows are those :func:`fairness.read_matrix` would return as valid (the rows SQL vouched
    for, less duplicates, and those validation accepted row by row), their values typed as it
    types them. Returns one row per combination found, in the order of ``columns``' values (missing
    last), the same on every run and any number of threads: ``columns`` (text, booleans; a missing
    value is ``None``) and ``count``. What :func:`fairness.disparity_table` counts from a file.
    """
    session = validation.session
    if session is None:
        raise ValueError("this ParquetValidation has been closed; validate the file again")
    missing = [c for c in columns if c not in _typed_columns(session)]
    if missing:
        raise ValueError(f"{validation.source}: no column {', '.join(missing)} among the matrix format's columns "
                         f"of the file ({', '.join(_typed_columns(session))})")
    number = label_number(quarter)
    names = ", ".join(_ident(c) for c in columns)
    found = session.con.sql(f"""SELECT {names}, count(*) AS count FROM ({_valid_view(session)})
                                WHERE {_quarter_number('snapshot_date')} = {number} GROUP BY ALL ORDER BY ALL""").fetchall()
    out = pd.DataFrame({c: pd.Series([row[i] for row in found], dtype=object) for i, c in enumerate(columns)})
    out["count"] = np.asarray([row[-1] for row in found], dtype=np.int64)
    return out
