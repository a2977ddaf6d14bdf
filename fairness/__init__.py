"""fairness: audit police gang databases for disproportionality and data-protection failures.

The toolkit reads a *matrix* (one row per person per quarterly snapshot, the
format in :mod:`fairness.io.schema`), validates it so that every row is either
used or quarantined with its reasons, compares who is listed with named
population benchmarks, and turns the results into reports a scrutiny body can
publish: every number with its count, its interval and method, and its
benchmark or reference group; small numbers suppressed.

Nothing here promises a "fair" result: the names say what each function
measures.
"""

from fairness.errors import FairnessError
from fairness.io.benchmarks import Benchmark, get_benchmark, list_benchmarks, load_benchmark_csv
from fairness.io.schema import data_dictionary
from fairness.io.validation import (
    MatrixFileError,
    ValidationResult,
    read_matrix,
    validate,
    validate_frame,
)
from fairness.profiles import Profile, ProfileError, list_profiles, load_profile
from fairness.results.audit import AuditResult, audit
from fairness.results.counts_table import CountTableError, audit_counts, relative_rate_by_area
from fairness.results.sentences import ratio_sentences
from fairness.stats.boroughs import (
    band_consistency,
    borough_funnel,
    borough_heterogeneity,
    casemix_adjusted,
)
from fairness.stats.disparity import disparity_table
from fairness.stats.disproportionality import (
    benchmark_sensitivity,
    relative_rate_index,
    representation_ratio,
)
from fairness.stats.no_risk import no_risk_duration, no_risk_share
from fairness.stats.trends import quarterly_trends

__version__ = "0.1.0"


def __getattr__(name: str):
    """``fairness.MatrixSchema`` is built, and pandera imported, when first asked for
    (:mod:`fairness.io.schema`): ``import fairness`` and an audit of a file do without it."""
    if name == "MatrixSchema":
        from fairness.io import schema

        return schema.MatrixSchema
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "__version__",
    "AuditResult",
    "Benchmark",
    "CountTableError",
    "FairnessError",
    "MatrixFileError",
    "MatrixSchema",
    "Profile",
    "ProfileError",
    "ValidationResult",
    "audit",
    "audit_counts",
    "band_consistency",
    "benchmark_sensitivity",
    "borough_funnel",
    "borough_heterogeneity",
    "casemix_adjusted",
    "data_dictionary",
    "disparity_table",
    "get_benchmark",
    "list_benchmarks",
    "list_profiles",
    "load_benchmark_csv",
    "load_profile",
    "no_risk_duration",
    "no_risk_share",
    "quarterly_trends",
    "ratio_sentences",
    "read_matrix",
    "relative_rate_by_area",
    "relative_rate_index",
    "representation_ratio",
    "validate",
    "validate_frame",
]
