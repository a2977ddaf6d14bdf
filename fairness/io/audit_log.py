"""The audit log: one JSON line for every read of a matrix (Data Protection Act 2018, s.62).

Law-enforcement processing must log collection, alteration, consultation,
disclosure, combination and erasure, with date, time and, as far as possible,
who. Every read of a matrix file appends one JSON line: time (UTC, ISO 8601),
user, host, command, the s.62 operation, the input's path and SHA-256, row
counts, the files about to be written and the toolkit version; never a row, a
value or an identifier. A read that fails (a required column missing, a quarter
not in the file) is logged too, with the kind of error: the file was read.

The line is written before any output: if it cannot be written,
:class:`AuditLogError` is raised and nothing is written. The command line, and
the Python API (:func:`fairness.read_matrix`, :func:`fairness.validate`,
:func:`fairness.audit` on a path,
:func:`fairness.publish.privacy.pseudonymise_file`), log the same way.

It lives in :mod:`fairness.io` because reading is where the duty arises;
:mod:`fairness.publish.privacy` re-exports it.
"""

from __future__ import annotations

import datetime as _dt
import getpass
import json
import os
import re
import socket
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

from fairness.errors import AuditLogError

__all__ = [
    "AUDIT_LOG_ENV",
    "AUDIT_PURPOSE_ENV",
    "AuditLogError",
    "audit_log_path",
    "check_audit_log",
    "log_event",
    "log_failed_read",
    "log_read",
]

#: Environment variable naming the audit log file ("off" disables it: tests only).
AUDIT_LOG_ENV = "FAIRNESS_AUDIT_LOG"
#: Environment variable recording why the data is consulted (s.62(3)(a) justification).
AUDIT_PURPOSE_ENV = "FAIRNESS_AUDIT_PURPOSE"
#: The s.62 operation each command performs; any other command is a consultation.
OPERATIONS: dict[str, str] = {"pseudonymise": "alteration", "pseudonymise_file": "alteration"}

ERR_AUDIT_WRITE = (
    "cannot write the audit log {path}: {error}. The Data Protection Act 2018 s.62 requires a "
    "log of every use of this data, so the command was stopped. Set {env} to a file you can "
    "write (it is created owner-only)"
)
ERR_AUDIT_OFF = (
    "warning: audit log disabled ({env}=off); no record of this use is kept. "
    "Use this only with synthetic data"
)
ERR_AUDIT_FIELD = "audit log {what} must be {valid}, not {value!r} (the log never holds row-level data)"


def audit_log_path() -> Path | None:
    """Where the audit log is written; None if ``FAIRNESS_AUDIT_LOG=off``.

    ``$FAIRNESS_AUDIT_LOG`` if set; otherwise per user,
    ``$XDG_STATE_HOME/fairness/audit.log`` or ``~/.local/state/fairness/audit.log``.
    """
    value = os.environ.get(AUDIT_LOG_ENV, "").strip()
    if value.lower() == "off":
        return None
    if value:
        return Path(value).expanduser()
    state = os.environ.get("XDG_STATE_HOME", "")
    base = Path(state) if state and os.path.isabs(state) else Path.home() / ".local" / "state"
    return base / "fairness" / "audit.log"


def check_audit_log() -> Path | None:
    """Make sure the audit log can be written (creating it owner-only) before work starts.

    Raises
    ------
    AuditLogError
        If it cannot.
    """
    path = audit_log_path()
    if path is not None:
        _append(path, b"")
    return path


def log_read(*, command: str, result, outputs: Iterable[str | os.PathLike[str]] = ()) -> dict:
    """Log that ``command`` read a matrix: one JSON line, counts only.

    Parameters
    ----------
    command : str
        The sub-command, e.g. ``"validate"``.
    result : ValidationResult
        What :func:`fairness.read_matrix` returned; only its ``source``,
        ``sha256`` and counts are logged.
    outputs : iterable of path-like
        Files the command is about to write (the line is written first).

    Returns
    -------
    dict
        The record written (see :func:`log_event`).
    """
    counts = {"rows": result.n_rows, "valid": result.n_valid, "quarantined": result.n_quarantined}
    in_memory = not result.sha256  # validate_frame on a DataFrame: no file to name
    return log_event(
        command,
        input_path=None if in_memory else result.source,
        sha256=None if in_memory else result.sha256,
        counts=counts,
        outputs=outputs,
    )


def log_failed_read(
    *,
    command: str,
    path: str | os.PathLike[str],
    error: BaseException,
    sha256: str | None = None,
    counts: Mapping[str, int] | None = None,
) -> dict:
    """Log a read that failed (the file was opened and read, or tried): no counts unless known.

    ``error`` is recorded by its type only (``MatrixFileError``,
    ``FileNotFoundError``): its message may quote the file.
    """
    return log_event(command, input_path=path, sha256=sha256, counts=counts or {},
                     error=type(error).__name__)


def log_event(
    command: str,
    *,
    input_path: str | os.PathLike[str] | None = None,
    sha256: str | None = None,
    counts: Mapping[str, int] | None = None,
    outputs: Iterable[str | os.PathLike[str]] = (),
    operation: str | None = None,
    error: str | None = None,
) -> dict:
    """Append one record to the audit log (one JSON line, one ``write``).

    The record has the keys ``time`` (UTC, ISO 8601), ``user``, ``host``,
    ``pid``, ``command``, ``operation`` (the s.62 category: ``consultation``
    unless :data:`OPERATIONS` says otherwise), ``purpose`` (from
    ``$FAIRNESS_AUDIT_PURPOSE``, or null), ``input`` (absolute path),
    ``sha256``, ``counts`` (a mapping of names to whole numbers), ``outputs``
    (absolute paths) and ``version``; for a read that failed, also ``error``
    (the kind of error, e.g. ``"MatrixFileError"``, never its message, which
    may quote the file). Values are checked so that no row-level
    data can slip in: counts must be whole numbers, the command a plain word.

    The file is opened with ``O_APPEND`` and the line written in one call, so
    concurrent runs do not interleave; it is created owner-only (0600) in a
    0700 folder, and flushed to disk.

    Returns
    -------
    dict
        The record (also when the log is ``off`` and nothing was written).

    Raises
    ------
    AuditLogError
        If the line cannot be written. Commands stop with exit code 2.
    """
    if not isinstance(command, str) or not re.fullmatch(r"[a-z][a-z0-9_-]{0,39}", command):
        raise ValueError(ERR_AUDIT_FIELD.format(what="command", valid="a sub-command name", value=command))
    clean_counts: dict[str, int] = {}
    for name, value in (counts or {}).items():
        if not isinstance(name, str) or not re.fullmatch(r"[a-z_]{1,40}", name):
            raise ValueError(ERR_AUDIT_FIELD.format(what="count name", valid="a word", value=name))
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(ERR_AUDIT_FIELD.format(what=f"count {name!r}", valid="a whole number ≥ 0", value=value))
        clean_counts[name] = int(value)
    if sha256 is not None and not re.fullmatch(r"[0-9a-f]{64}", str(sha256)):
        raise ValueError(ERR_AUDIT_FIELD.format(what="sha256", valid="64 hex characters", value=sha256))
    if error is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,60}", str(error)):
        raise ValueError(ERR_AUDIT_FIELD.format(what="error", valid="the name of an error type", value=error))
    from fairness import __version__

    record = {
        "time": _dt.datetime.now(_dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "user": _user(),
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "command": command,
        "operation": operation or OPERATIONS.get(command, "consultation"),
        "purpose": os.environ.get(AUDIT_PURPOSE_ENV) or None,
        "input": os.path.abspath(input_path) if input_path is not None else None,
        "sha256": sha256,
        "counts": clean_counts,
        "outputs": [os.path.abspath(p) for p in outputs],
        "version": __version__,
    }
    if error is not None:
        record["error"] = error
    path = audit_log_path()
    if path is None:
        print(f"fairness: {ERR_AUDIT_OFF.format(env=AUDIT_LOG_ENV)}", file=sys.stderr)
        return record
    line = json.dumps(record, ensure_ascii=True, separators=(",", ":")) + "\n"
    _append(path, line.encode("ascii"))
    return record


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (some containers): fall back to the uid
        return f"uid:{os.getuid()}" if hasattr(os, "getuid") else "unknown"


def _append(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
        try:
            if data:
                if os.write(fd, data) != len(data):
                    raise OSError("the line was only partly written")
                os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise AuditLogError(
            ERR_AUDIT_WRITE.format(path=path, error=exc.strerror or exc, env=AUDIT_LOG_ENV)
        ) from exc

