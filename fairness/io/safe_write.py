"""Writing files safely: owner-only permissions for row-level data, cells that a
spreadsheet would execute neutralised, and never row-level data under reports/.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd

from fairness.errors import RowLevelOutputError

__all__ = [
    "neutralise_formulas",
    "write_csv",
    "write_private_csv",
    "write_private_bytes",
    "refuse_reports_dir",
    "RowLevelOutputError",
]

# OWASP "CSV injection": a cell starting with one of these is read as a formula
# by Excel, LibreOffice and Google Sheets.
_FORMULA_START = re.compile(r"^[=+\-@\t\r]")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")

ERR_REPORTS_DIR = (
    "{path}: refusing to write row-level data under a reports/ folder; reports are for "
    "publication and must never hold a person's record. Choose a path outside reports/."
)


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """Return a copy in which text cells a spreadsheet would execute are made inert.

    A cell starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return is
    prefixed with a single quote, unless it is a plain number (``-3`` stays).

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
        ("'" + c) if isinstance(c, str) and _FORMULA_START.match(c) and not _PLAIN_NUMBER.match(c) else c
        for c in out.columns
    ]
    return out


def refuse_reports_dir(path: str | os.PathLike[str]) -> None:
    """Raise :class:`RowLevelOutputError` if ``path`` lies inside a ``reports`` folder."""
    parts = Path(os.path.abspath(path)).parts
    if "reports" in parts[:-1]:
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
