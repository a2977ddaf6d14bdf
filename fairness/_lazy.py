"""Heavy third-party modules imported when first used, not when ``fairness`` is imported.

``import fairness`` should be quick (a notebook, ``fairness validate``), so
scipy.special (about 0.1 s) is bound to a :class:`LazyModule` in
:mod:`fairness.stats._distributions` and imported at the first attribute looked
up, and scipy.linalg likewise in :mod:`fairness.publish.disclosure`. An audit
imports neither scipy.stats, statsmodels, fairlearn nor scikit-learn (about
1.5 s between them): the distributions come from scipy.special, the case-mix
model is fitted in numpy, band performance's rates from the counts.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

__all__ = ["LazyModule"]


class LazyModule:
    """Stands for the module ``name``; imports it when an attribute is first looked up.

    >>> math = LazyModule("math")
    >>> math.sqrt(4.0)
    2.0
    """

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__") or attr in ("_name", "_module"):
            raise AttributeError(attr)
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return getattr(self._module, attr)

    def __repr__(self) -> str:
        return f"LazyModule({self._name!r}, loaded={self._module is not None})"
