"""The audit a report run hands to its notebooks, so that the file is read and validated once (issue 10).

``fairness report`` reads and validates the matrix once
(:func:`fairness.report.runner.inspect_matrix`), audits each quarter once from
that validation, and hands the :class:`~fairness.results.result.AuditResult` to
the report and the briefing of the quarter through a file (the notebooks'
``audit_file`` parameter). Run by hand, a notebook leaves ``audit_file`` empty
and audits ``matrix`` itself, as before.

Why a pickle, and how it is kept safe:

* **What the kernel needs** is the whole result, exactly: every table with its
  dtypes (categories, nullable integers), the profile of an audit under
  another profile, and every float to the last bit, so that
  ``for_publication()`` and the report's rounding give the bytes they give
  from an audit made in the kernel. ``metrics.json`` (``to_json``) is rounded
  to 4 significant figures and has no reader for a whole result, so it would
  not do.
* **Never published**: the file is written in a private folder of its own
  (``mkdtemp``: owner-only, 0700) in the system's temporary folder, never
  inside the report folder, and the folder is removed when the run ends (a
  stopped run too: SIGTERM is turned into an exception by the runner). The
  result is the internal-mode audit (small counts not yet suppressed), which
  is why it is treated like the failed-run folder: owner-only, and gone after.
  It holds aggregate tables only, never a row of the matrix.
* **Only a file this run wrote is unpickled** (loading a pickle can run code):
  each file starts with an HMAC-SHA256 of its bytes under a random key made
  for the run, which the kernels get in their environment
  (:data:`KEY_ENV`; not a notebook parameter, so it is never in a published
  notebook). :func:`read_audit` checks the HMAC before unpickling, and refuses
  a file without a key in the environment, a file that is not a regular file
  of this user, or one that group or others can read or write.
* **The notebook's options are checked**: the runner records the options it
  audited with (quarter, benchmarks, reference, alpha, profile) and
  :func:`read_audit` refuses the result if the notebook's parameters differ,
  so a report never shows an audit made with other options than its own.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import pickle
import secrets
import shutil
import stat
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "ERR_HANDOFF",
    "KEY_ENV",
    "Handoff",
    "audit_options",
    "read_audit",
]

#: Environment variable holding the run's key (hex) while the notebooks of a run execute.
KEY_ENV = "FAIRNESS_REPORT_HANDOFF_KEY"
ERR_HANDOFF = (
    "audit_file {name}: {why}. audit_file is set only by `fairness report` (a private file of the run); "
    "to run this notebook by hand, leave audit_file empty and set matrix"
)
_MAGIC = b"fairness-audit-handoff-1\n"
_DIGEST = hashlib.sha256().digest_size
#: The options of :func:`fairness.audit` a report notebook passes, in the order the record keeps them.
OPTIONS: tuple[str, ...] = ("quarter", "benchmarks", "reference", "alpha", "profile")


def audit_options(*, quarter: str, benchmarks: Any, reference: str, alpha: float, profile: Any) -> dict[str, Any]:
    """The options of an audit as the record keeps them and compares them: ``benchmarks`` a list,
    ``alpha`` a float, ``profile`` None for the default ("" or None)."""
    return {"quarter": str(quarter), "benchmarks": [str(b) for b in benchmarks], "reference": str(reference),
            "alpha": float(alpha), "profile": str(profile) if profile else None}


class Handoff:
    """The private folder and key of one report run; a context manager.

    >>> with Handoff() as h:
    ...     folder = h.folder
    ...     oct(folder.stat().st_mode & 0o777), os.environ[KEY_ENV] == h.key.hex()
    ('0o700', True)
    >>> folder.exists(), KEY_ENV in os.environ
    (False, False)
    """

    def __init__(self) -> None:
        self.key = secrets.token_bytes(32)
        self.folder = Path(tempfile.mkdtemp(prefix="fairness-report-"))  # 0700
        self._old_key: str | None = None

    def __enter__(self) -> Handoff:
        self._old_key = os.environ.get(KEY_ENV)
        os.environ[KEY_ENV] = self.key.hex()  # kernels started inside inherit it
        return self

    def __exit__(self, *exc: object) -> None:
        if self._old_key is None:
            os.environ.pop(KEY_ENV, None)
        else:
            os.environ[KEY_ENV] = self._old_key
        shutil.rmtree(self.folder, ignore_errors=True)

    def write(self, result: Any, options: Mapping[str, Any], name: str) -> Path:
        """Write ``result`` (audited with ``options``, see :func:`audit_options`) to ``<folder>/<name>.pickle``,
        owner-only (0600), and return its path."""
        payload = pickle.dumps({"options": dict(options), "result": result}, protocol=pickle.HIGHEST_PROTOCOL)
        path = self.folder / f"{name}.pickle"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(_MAGIC + hmac.new(self.key, payload, hashlib.sha256).digest() + payload)
        return path


def _refuse(path: Path, why: str) -> ValueError:
    return ValueError(ERR_HANDOFF.format(name=path.name, why=why))


def read_audit(audit_file: str | os.PathLike[str], *, quarter: str, benchmarks: Any, reference: str, alpha: float,
               profile: Any = None) -> Any:
    """The :class:`~fairness.results.result.AuditResult` ``fairness report`` handed to this notebook.

    The options are the notebook's own parameters; the result is refused
    (:data:`ERR_HANDOFF`, a ``ValueError``) if the runner audited with other
    ones, if the file was not written by this run (its HMAC under the key in
    :data:`KEY_ENV`), or if it is not a private file of this user.
    """
    from fairness.results.result import AuditResult

    path = Path(audit_file)
    key = os.environ.get(KEY_ENV, "")
    if not key:
        raise _refuse(path, f"no key in {KEY_ENV}: this is not a kernel of a `fairness report` run")
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise _refuse(path, f"cannot be opened ({exc.strerror or exc})") from exc
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
            raise _refuse(path, "not a private regular file of this user (owner-only, 0600)")
        data = fh.read()
    head, digest, payload = data[:len(_MAGIC)], data[len(_MAGIC):len(_MAGIC) + _DIGEST], data[len(_MAGIC) + _DIGEST:]
    try:
        expected = hmac.new(bytes.fromhex(key), payload, hashlib.sha256).digest()
    except ValueError as exc:
        raise _refuse(path, f"{KEY_ENV} is not a key") from exc
    if head != _MAGIC or not hmac.compare_digest(digest, expected):
        raise _refuse(path, "not written by this run (its HMAC does not match the run's key)")
    record = pickle.loads(payload)  # noqa: S301 - written by this run, checked by its HMAC above
    result = record["result"]
    if not isinstance(result, AuditResult):
        raise _refuse(path, f"holds a {type(result).__name__}, not an AuditResult")
    wanted = audit_options(quarter=quarter, benchmarks=benchmarks, reference=reference, alpha=alpha, profile=profile)
    if record["options"] != wanted:
        differ = ", ".join(f"{k} {record['options'].get(k)!r} (the notebook: {wanted[k]!r})" for k in OPTIONS
                           if record["options"].get(k) != wanted[k])
        raise _refuse(path, f"audited with other options than this notebook's: {differ}")
    return result
