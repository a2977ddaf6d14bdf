"""Running the report notebooks (papermill, kernel ``python3``).

:func:`notebook_path` finds a shipped notebook; :func:`run_notebook` executes
it with its parameters into a new file (never over the template), saving as
each cell starts so that a cell that times out still leaves the notebook;
:func:`describe_error` turns what went wrong into one line.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "ERR_NOTEBOOK",
    "KERNEL_NAME",
    "NOTEBOOKS",
    "describe_error",
    "notebook_path",
    "reproducible_env",
    "run_notebook",
    "terminate_gracefully",
]

KERNEL_NAME = "python3"
#: The notebooks shipped in ``notebooks/``, by short name.
NOTEBOOKS: dict[str, str] = {
    "report": "quarterly_oversight_report.ipynb",
    "briefing": "scrutiny_briefing.ipynb",
    "walkthrough": "research_walkthrough.ipynb",
}
ERR_NOTEBOOK = "report notebook {path} not found; set FAIRNESS_NOTEBOOKS to the folder holding {name}"


def notebook_path(name: str = "report") -> Path:
    """Path of a shipped notebook (``report``, ``briefing``, ``walkthrough``).

    Looked for in ``$FAIRNESS_NOTEBOOKS`` if set, else in ``notebooks/`` of the
    source tree this package was installed from.
    """
    file = NOTEBOOKS.get(name, name)
    folder = os.environ.get("FAIRNESS_NOTEBOOKS")
    base = Path(folder) if folder else Path(__file__).resolve().parents[2] / "notebooks"
    path = base / file
    if not path.is_file():
        raise FileNotFoundError(ERR_NOTEBOOK.format(path=path, name=file))
    return path


def run_notebook(
    template: Path, output: Path, parameters: Mapping[str, Any], *, cwd: Path, timeout: float | None
) -> None:
    """Execute ``template`` with ``parameters`` into ``output`` (papermill; ``timeout`` seconds per cell)."""
    import papermill as pm

    pm.execute_notebook(
        str(template),
        str(output),
        parameters=dict(parameters),
        kernel_name=KERNEL_NAME,
        language="python",
        cwd=str(cwd),
        progress_bar=False,
        log_output=False,
        # saved as each cell starts, so a cell that times out still leaves the notebook to keep
        request_save_on_cell_execute=True,
        execution_timeout=timeout,
        # The kernel's own log (transport warnings, shutdown notices) is not the
        # notebook's output; errors in cells still reach the notebook.
        extra_arguments=["--IPKernelApp.log_level=CRITICAL"],
    )


def describe_error(exc: BaseException, timeout: float | None = None) -> str:
    """What went wrong, in one line: the cell and the error of a failed notebook, or the exception."""
    if type(exc).__name__ == "CellTimeoutError":  # nbclient: its message quotes the cell, over many lines
        limit = f"{timeout:g} s" if timeout else "the time limit"
        return f"CellTimeoutError: a notebook cell did not finish within {limit} (--timeout)"
    ename = getattr(exc, "ename", None)
    if ename:  # papermill.PapermillExecutionError
        cell = getattr(exc, "exec_count", None)
        where = f"cell [{cell}]" if cell is not None else f"cell #{getattr(exc, 'cell_index', '?')}"
        return f"{where}: {ename}: {getattr(exc, 'evalue', '')}".strip()
    return f"{type(exc).__name__}: {exc}"


@contextlib.contextmanager
def reproducible_env() -> Iterator[None]:
    """Kernels started inside inherit a fixed hash seed (set iteration order)."""
    old = os.environ.get("PYTHONHASHSEED")
    os.environ["PYTHONHASHSEED"] = old if old is not None else "0"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("PYTHONHASHSEED", None)


@contextlib.contextmanager
def terminate_gracefully() -> Iterator[None]:
    """Turn SIGTERM into KeyboardInterrupt, so a stopped job removes its temporary folder."""

    def _handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, _handler)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
