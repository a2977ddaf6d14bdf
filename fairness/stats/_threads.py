"""One thread for every numerical library while a model is fitted: same inputs, same bytes.

A multi-threaded BLAS sums in an order that depends on its thread count, so a
GLM fitted under cron (``env -i``: OpenBLAS picks every core) and in a
terminal (``OMP_NUM_THREADS=4``, say) differs in the last digits. The fits
here are small (a few hundred grouped rows), so one thread costs nothing.

:func:`pinned_threads` limits *every* thread pool (BLAS and OpenMP) to one.
threadpoolctl can only limit the libraries already loaded, so the libraries a
fit may call are imported first. The case-mix fit calls numpy's LAPACK
(``numpy.linalg.lstsq`` and ``svd``; see
:func:`fairness.stats.boroughs._binomial_glm`) and ``scipy.special.gammaln``;
importing scipy.special loads SciPy's own OpenBLAS too. ``scipy.linalg``
(about 0.15 s) is no longer imported here: no fit uses it.
"""

from __future__ import annotations

import contextlib

__all__ = ["pinned_threads"]


def pinned_threads() -> contextlib.AbstractContextManager:
    """A context in which every loaded BLAS and OpenMP pool runs one thread."""
    import numpy.linalg  # noqa: F401  (numpy's OpenBLAS, the one the fits use)
    import scipy.special  # noqa: F401  (the fit's gammaln; loads SciPy's own OpenBLAS)

    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - a declared dependency
        return contextlib.nullcontext()
    return threadpool_limits(limits=1)
