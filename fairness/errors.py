"""Every error the toolkit raises on purpose, in one hierarchy under :class:`FairnessError`.

Each says, for a person, what cannot be done and what would be valid; none
carries a row of the input (a message may be printed or logged). The command
line turns any :class:`FairnessError` into its message and the exit code
:attr:`FairnessError.exit_code`, never a traceback. Each class also derives
from the built-in exception it has always been (``ValueError``, ``OSError``,
``RuntimeError``), so ``except ValueError`` written before the hierarchy keeps
working, and each stays importable from the module that raises it
(``fairness.io.validation.MatrixFileError``, ...).

::

    FairnessError
    ├── MatrixFileError        the matrix file cannot be used at all (io.validation)
    ├── ProfileError           a profile cannot be used (profiles)
    ├── CountTableError        a count table cannot be audited (results.counts_table)
    ├── DisclosureError        a table would disclose a small count (publish.disclosure)
    ├── PublicationLeakError   an output would disclose a person or a small count (publish.privacy)
    ├── PersonIdLeakError      a report holds a person_id of the input (report.runner)
    ├── SmallCountError        a report would show a small count (report.runner)
    ├── RowLevelOutputError    row-level data would be written where reports go (io.safe_write)
    ├── ReportFolderError      a report --out folder already holds other files (report.runner)
    ├── RowLevelColumnError    a published table would show a row-level column (report.format)
    ├── PseudonymKeyError      no usable pseudonymisation key (publish.privacy)
    └── AuditLogError          the audit log cannot be written (publish.privacy)
"""

from __future__ import annotations

import pandas as pd

__all__ = [
    "AuditLogError",
    "CountTableError",
    "DisclosureError",
    "FairnessError",
    "MatrixFileError",
    "PersonIdLeakError",
    "ProfileError",
    "PseudonymKeyError",
    "PublicationLeakError",
    "ReportFolderError",
    "RowLevelColumnError",
    "RowLevelOutputError",
    "SmallCountError",
]

#: Columns of :attr:`DisclosureError.findings` (fairness.publish.disclosure.FINDING_COLUMNS).
DISCLOSURE_FINDING_COLUMNS: tuple[str, ...] = ("row", "column", "value", "context")


class FairnessError(Exception):
    """Base of the toolkit's own errors: the message is meant for a person.

    ``exit_code`` is what the command line exits with: 2, the input or the
    run cannot be used (the README's exit codes: 0 all good, 1 some rows or
    quarters failed, 2 unusable).
    """

    exit_code: int = 2


class MatrixFileError(FairnessError, ValueError):
    """The file cannot be used at all. Its message names the file and what would be valid."""


class ProfileError(FairnessError, ValueError):
    """A profile file, or a file it names, cannot be used (the message says where and why)."""


class CountTableError(FairnessError, ValueError):
    """A count table that cannot be audited (the message names file, line, column and what is valid)."""


class DisclosureError(FairnessError, ValueError):
    """A table or text would disclose a small count.

    ``findings`` holds the offending cells (columns
    :data:`DISCLOSURE_FINDING_COLUMNS`), or is empty when the problem is not
    cell by cell.
    """

    def __init__(self, message: str, findings: pd.DataFrame | None = None) -> None:
        super().__init__(message)
        self.findings = findings if findings is not None else pd.DataFrame(
            {c: pd.Series(dtype=object) for c in DISCLOSURE_FINDING_COLUMNS})


class PublicationLeakError(FairnessError, ValueError):
    """Something about to be published would disclose a person or a small count.

    ``findings`` is a DataFrame with columns ``source, kind, location, detail``:
    ``kind`` is ``"person_id"`` (``detail`` a truncated hash, never the id) or
    ``"small_count"`` (``detail`` the count).
    """

    def __init__(self, message: str, findings: pd.DataFrame) -> None:
        super().__init__(message)
        self.findings = findings


class PersonIdLeakError(FairnessError, RuntimeError):
    """A publication-mode output contains a person_id of the input."""


class SmallCountError(FairnessError, RuntimeError):
    """A publication-mode output would show a count from 1 to threshold − 1 (or an unprotected audit)."""


class RowLevelOutputError(FairnessError, ValueError):
    """Raised when row-level (personal) data would be written where reports go."""


class ReportFolderError(FairnessError, ValueError):
    """A report output folder that already holds files a report run did not write (``--out .``)."""


class RowLevelColumnError(FairnessError, ValueError):
    """A publication-mode table would have shown a row-level column."""


class PseudonymKeyError(FairnessError, ValueError):
    """No usable pseudonymisation key. The message says how to provide one."""


class AuditLogError(FairnessError, OSError):
    """The audit log could not be written; the command must stop."""
