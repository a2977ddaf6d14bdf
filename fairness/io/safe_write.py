"""Writing files safely: owner-only permissions for row-level data, cells that a
spreadsheet would execute neutralised, and never row-level data under reports/.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd

from fairness.errors import FairnessError, RowLevelOutputError

__all__ = [
    "REPORTS_MARKER",
    "OutputPathError",
    "neutralise_formulas",
    "is_formula",
    "refuse_input_as_output",
    "check_output_suffix",
    "write_csv",
    "write_private_csv",
    "write_private_bytes",
    "refuse_reports_dir",
    "RowLevelOutputError",
]

# OWASP "CSV injection": a cell starting with one of these is read as a formula
# by Excel, LibreOffice and Google Sheets, also after spaces or tabs (which they skip).
_FORMULA_START = re.compile(r"^(?:[ \t\r]*[=+\-@]|[\t\r])")
_PLAIN_NUMBER = re.compile(r"^ *[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)? *$")


def is_formula(text: str) -> bool:
    """Whether a spreadsheet would execute this cell: it starts with ``=``, ``+``, ``-``, ``@``
    (also after spaces or tabs), tab or carriage return, and is not a plain number.

    >>> [is_formula(v) for v in ["=1+1", " @SUM(A1)", "-3", "ok", ""]]
    [True, True, False, False, False]
    """
    return bool(text) and text[0] in "=+-@\t\r " and bool(_FORMULA_START.match(text)) \
        and not _PLAIN_NUMBER.match(text)


ERR_REPORTS_DIR = (
    "{path}: refusing to write row-level data under a reports/ folder; reports are for "
    "publication and must never hold a person's record. Choose a path outside reports/."
)


ERR_SAME_AS_INPUT = (
    "{path}: this output would overwrite the input {input}{how}; the raw extract is never "
    "changed or replaced. Choose another file for the output"
)
ERR_OUTPUT_SUFFIX = "{path}: cannot write {what} as {suffix!r}; valid: {valid}"

#: A file of this name marks a folder as a report output folder (``fairness report`` writes
#: it into its ``--out``): no row-level file may be written anywhere under it.
REPORTS_MARKER = ".fairness-reports"


class OutputPathError(FairnessError, ValueError):
    """An output path that would overwrite an input, or of a type that cannot be written."""


def refuse_input_as_output(
    output: str | os.PathLike[str] | None, *inputs: str | os.PathLike[str] | None
) -> None:
    """Raise :class:`OutputPathError` if ``output`` is one of ``inputs``.

    Compared after resolving links (a symbolic link to the input is the
    input), case-insensitively on a case-insensitive file system, and by
    device and inode when both exist (a hard link is the input too). Call it
    before reading, so that nothing is read or written on the way to the error.
    """
    if output is None:
        return
    out = Path(output).expanduser()
    for inp in inputs:
        if inp is None:
            continue
        src = Path(inp).expanduser()
        how = ""
        same = os.path.realpath(out) == os.path.realpath(src)
        if not same:
            try:
                same = os.path.samefile(out, src)
                how = " (the same file under another name: a link)"
            except OSError:
                same = False
        elif os.path.abspath(out) != os.path.abspath(src):
            how = " (through a symbolic link)"
        if same:
            raise OutputPathError(ERR_SAME_AS_INPUT.format(path=output, input=inp, how=how))


def check_output_suffix(path: str | os.PathLike[str], valid: tuple[str, ...], what: str) -> str:
    """The lower-case suffix of ``path`` if it is one of ``valid``, else :class:`OutputPathError`."""
    suffix = Path(path).suffix.lower()
    if suffix not in valid:
        raise OutputPathError(ERR_OUTPUT_SUFFIX.format(path=path, what=what, suffix=Path(path).suffix or "(none)",
                                                       valid=" or ".join(valid)))
    return suffix


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """Return a copy in which text cells a spreadsheet would execute are made inert.

    A cell starting with ``=``, ``+``, ``-``, ``@`` (also after spaces or
    tabs, which spreadsheets skip), tab or carriage return is prefixed with a
    single quote, unless it is a plain number (``-3`` stays).

    >>> neutralise_formulas(pd.DataFrame({"a": ["=HYPERLINK(1)", "-3", "ok"]}))["a"].tolist()
    ["'=HYPERLINK(1)", '-3', 'ok']
    """
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if not (pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s)):
            continue
        text = s.astype("string")
        risky = text.str.match(_FORMULA_START).fillna(False) & ~text.str.match(_PLAIN_NUMBER).fillna(
            False
        )
        if risky.any():
            out[col] = s.astype(object).where(~risky, "'" + text.astype(object))
    # Header names can carry formulas too.
    out.columns = [
        ("'" + c) if isinstance(c, str) and is_formula(c) else c
        for c in out.columns
    ]
    return out


def refuse_reports_dir(path: str | os.PathLike[str]) -> None:
    """Raise :class:`RowLevelOutputError` if ``path`` lies inside a report output folder.

    A report output folder is any folder named ``reports`` (in any case:
    ``Reports/`` on a case-insensitive disk is the same folder) or marked by
    :data:`REPORTS_MARKER` (every ``fairness report --out`` folder is). The
    path is checked as written and as it really is, links resolved, so a
    symbolic link into ``reports/`` is refused too.
    """
    given = Path(os.path.abspath(Path(path).expanduser()))
    real = Path(os.path.realpath(given))
    for candidate in (given, real):
        folders = candidate.parents
        if any(part.casefold() == "reports" for part in candidate.parts[:-1]) or any(
            (folder / REPORTS_MARKER).exists() for folder in folders
        ):
            raise RowLevelOutputError(ERR_REPORTS_DIR.format(path=path))


def write_private_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` with owner-only permissions (0600), atomically."""
    path = Path(path)
    refuse_reports_dir(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_csv(df: pd.DataFrame, path: str | os.PathLike[str], *, private: bool = False) -> Path:
    """Write ``df`` as UTF-8 CSV with formula cells neutralised.

    ``private=True`` marks row-level data: the file is created owner-only and
    may not be written under a ``reports/`` folder.
    """
    # CRLF, the RFC 4180 line ending: the csv writer then quotes any cell holding
    # a bare \r or \n, so a reader never splits a row in two.
    text = neutralise_formulas(df).to_csv(index=False, lineterminator="\r\n")
    if private:
        return write_private_bytes(path, text.encode("utf-8"))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def write_private_csv(df: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write row-level data: owner-only, formulas neutralised, never under reports/."""
    return write_csv(df, path, private=True)
