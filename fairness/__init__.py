"""fairness: audit police gang databases for disproportionality and data-protection failures.

The toolkit reads a *matrix* (one row per person per quarterly snapshot, the
format in :mod:`fairness.schema`), validates it so that every row is either
used or quarantined with its reasons, compares who is listed with named
population benchmarks, and turns the results into reports a scrutiny body can
publish: every number with its count, its interval and method, and its
benchmark or reference group; small numbers suppressed.

Nothing here promises a "fair" result: the names say what each function
measures.
"""

from fairness.audit import AuditResult, audit
from fairness.benchmarks import Benchmark, get_benchmark, list_benchmarks, load_benchmark_csv
from fairness.schema import MatrixSchema, data_dictionary
from fairness.boroughs import band_consistency, borough_funnel, borough_heterogeneity, casemix_adjusted
from fairness.disparity import disparity_table
from fairness.disproportionality import (
    benchmark_sensitivity,
    ratio_sentences,
    relative_rate_index,
    representation_ratio,
)
from fairness.no_risk import no_risk_duration, no_risk_share
from fairness.trends import quarterly_trends
from fairness.validate import MatrixFileError, ValidationResult, read_matrix, validate_frame

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "AuditResult",
    "Benchmark",
    "MatrixFileError",
    "MatrixSchema",
    "ValidationResult",
    "audit",
    "band_consistency",
    "benchmark_sensitivity",
    "borough_funnel",
    "borough_heterogeneity",
    "casemix_adjusted",
    "data_dictionary",
    "disparity_table",
    "get_benchmark",
    "list_benchmarks",
    "load_benchmark_csv",
    "no_risk_duration",
    "no_risk_share",
    "quarterly_trends",
    "ratio_sentences",
    "read_matrix",
    "relative_rate_index",
    "representation_ratio",
    "validate_frame",
]
