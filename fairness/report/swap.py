"""Locks and atomic folder swaps: a report folder is replaced in one step or not at all.

* :func:`locked`: an exclusive ``flock`` on ``<out>/.<quarter>.lock``, so two
  jobs for the same quarter run one after the other; the lock file is removed
  on release;
* :func:`replace_dir`: the finished temporary folder swapped into place in one
  step (``renameat2(RENAME_EXCHANGE)`` on Linux; elsewhere rename-aside,
  rename-in, delete-old), and :func:`recover` to undo what a run killed
  between those renames left;
* :func:`clean_stale`: temporary folders of killed runs removed (only those
  whose quarter's lock is free);
* :func:`write_atomically`: one file written beside its target and renamed
  over it.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from fairness.report.layout import REPORT_DIR

__all__ = ["clean_stale", "fsync_tree", "locked", "recover", "replace_dir", "write_atomically"]


@contextlib.contextmanager
def locked(lock_path: Path, echo: Callable[[str], None] | None = None, what: str = "") -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``lock_path`` (released when the process dies).

    The file is removed on release, while still locked, so no empty lock file
    is left in the reports folder; a job that was waiting on the removed file
    sees that it is no longer the one at ``lock_path`` and locks afresh.
    """
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if echo:
                    echo(f"{what}: another report job holds {lock_path.name}; waiting for it to finish")
                fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                current = os.stat(lock_path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                current = False
        except BaseException:
            os.close(fd)
            raise
        if current:
            break
        os.close(fd)
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(lock_path)
        os.close(fd)


_AT_FDCWD, _RENAME_EXCHANGE = -100, 2


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux ``renameat2``); False if unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EPERM, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(a))


def fsync_tree(folder: Path) -> None:
    for p in folder.rglob("*"):
        if p.is_file():
            with open(p, "rb") as fh:
                os.fsync(fh.fileno())
    _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def replace_dir(new: Path, target: Path) -> None:
    """Put folder ``new`` at ``target``, replacing what was there, in one visible step."""
    if not target.exists():
        os.rename(new, target)
    elif _exchange(new, target):
        shutil.rmtree(new, ignore_errors=True)  # ``new`` now holds the old folder
    else:
        old = target.with_name(f".{target.name}.old-{os.getpid()}-{time.monotonic_ns()}")
        os.rename(target, old)
        os.rename(new, target)
        shutil.rmtree(old, ignore_errors=True)
    _fsync_dir(target.parent)


def recover(out_dir: Path, quarter: str) -> None:
    """Under the quarter's lock: undo what a killed run left behind."""
    target = out_dir / quarter
    olds = sorted(out_dir.glob(f".{quarter}.old-*"), key=lambda p: p.stat().st_mtime)
    if olds and not target.exists():
        os.rename(olds.pop(), target)  # killed between rename-aside and rename-in
    for p in olds + list(out_dir.glob(f".{quarter}.tmp-*")):
        shutil.rmtree(p, ignore_errors=True)



def clean_stale(out: Path) -> list[str]:
    """Remove temporary folders that killed runs left in ``out`` (any quarter whose lock is free).

    A folder is stale when no running job holds its quarter's lock; one that
    does is left alone. Returns the names removed.
    """
    removed: list[str] = []
    for p in sorted(out.glob(".*.tmp-*")) if out.is_dir() else []:
        quarter = p.name[1:].split(".tmp-", 1)[0]
        if not REPORT_DIR.match(quarter) or not p.is_dir():
            continue
        try:
            fd = os.open(out / f".{quarter}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        try:
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p.name)
        finally:
            os.close(fd)
    return removed



def write_atomically(target: Path, write: Callable[[Path], None]) -> None:
    """Write ``target`` by calling ``write`` on a temporary file beside it, then renaming it over ``target``."""
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

