"""What a report folder holds: the names the runner, the checks and the trend appendix share.

``<out>/<quarter>/`` holds ``report.{ipynb,html,pdf}``, ``metrics.json`` and,
with ``--briefing``, ``briefing.{ipynb,html,pdf}``; ``<out>/`` holds the
quarter folders and ``trend_appendix.html``. A pooled list (no snapshots, so no
quarters) is reported in ``<out>/pooled/``, which the trend appendix leaves out. Failed runs are kept outside it
(:func:`fairness.report.runner.failures_dir`).
"""

from __future__ import annotations

import re

from fairness.quarters import POOLED

__all__ = [
    "BRIEFING_MAX_PAGES",
    "BRIEFING_STEM",
    "FAILED_DIR",
    "FAILED_DIR_ENV",
    "INTERNAL_OUT",
    "METRICS_FILE",
    "POOLED_DIR",
    "QUARTER_DIR",
    "REPORT_DIR",
    "REPORT_STEM",
    "TREND_APPENDIX",
]

#: File names inside ``<out>/<quarter>/``.
REPORT_STEM, BRIEFING_STEM, METRICS_FILE = "report", "briefing", "metrics.json"
FAILED_DIR = "failed"
#: Environment variable naming the folder where failed runs are kept.
FAILED_DIR_ENV = "FAIRNESS_FAILED_DIR"
TREND_APPENDIX = "trend_appendix.html"
#: Default folder of ``fairness report --mode internal`` (never the published reports/).
INTERNAL_OUT = "internal-reports"
#: The most pages the scrutiny briefing may print to.
BRIEFING_MAX_PAGES = 2
#: The name of a quarter's folder, ``2018Q4``.
QUARTER_DIR = re.compile(r"^\d{4}Q[1-4]$")
#: The folder of the report of a pooled list: its period, :data:`fairness.quarters.POOLED` (it has no quarter).
POOLED_DIR = POOLED
#: The name of any report's folder: a quarter's (:data:`QUARTER_DIR`) or a pooled list's (:data:`POOLED_DIR`).
REPORT_DIR = re.compile(rf"^(?:\d{{4}}Q[1-4]|{POOLED_DIR})$")
