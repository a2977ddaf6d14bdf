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

from fairness.benchmarks import Benchmark, get_benchmark, list_benchmarks, load_benchmark_csv
from fairness.schema import MatrixSchema, data_dictionary
from fairness.validate import MatrixFileError, ValidationResult, read_matrix, validate_frame

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "Benchmark",
    "MatrixFileError",
    "MatrixSchema",
    "ValidationResult",
    "data_dictionary",
    "get_benchmark",
    "list_benchmarks",
    "load_benchmark_csv",
    "read_matrix",
    "validate_frame",
]
