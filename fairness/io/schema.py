"""The matrix format, declared once.

:class:`MatrixSchema` is a pandera ``DataFrameModel`` describing one row per
person per snapshot after parsing (written in :mod:`fairness.io._matrix_model` and built
the first time it is asked for, so that pandera is imported only where a pandas frame is
validated, never by an audit of a file DuckDB reads). It is the single source of truth for the
format: :func:`fairness.io.validation.validate_frame` checks rows against it, and
:func:`data_dictionary` turns it into the table README.md shows (run
``fairness schema`` to print it).

Parsing (text to typed values: case-insensitive categories, booleans written
``true/false``, ``yes/no`` or ``1/0``, dates ``YYYY-MM-DD``) happens before the
schema sees a frame; the schema holds the rules on typed values (ranges, valid
sets, the order of dates, one row per person per snapshot).
"""

from __future__ import annotations

import functools

import pandas as pd

from fairness import definitions as _defs
from fairness.definitions import OPTIONAL_COLUMNS, REQUIRED_COLUMNS

__all__ = ["MatrixSchema", "data_dictionary", "data_dictionary_markdown", "CHECK_RULES", "PARTNER_OTHER",  # noqa: F822
           "PARTNER_TYPES", "partner_label"]  # MatrixSchema: module __getattr__ below

#: Partner types ``shared_with`` may name (matched case-insensitively, with
#: spaces, hyphens and underscores alike). Only these labels are ever
#: published; anything else is counted as :data:`PARTNER_OTHER`.
#: (Declared in :data:`fairness.definitions.PARTNER_TYPES`, which a profile may set; this name is
#: the default list.)
PARTNER_TYPES: tuple[str, ...] = _defs.PARTNER_TYPES
PARTNER_OTHER = "Other"


def _partner_key(value: str) -> str:
    return "_".join(str(value).strip().lower().replace("-", " ").replace("_", " ").split())


def partner_label(value: str) -> str:
    """The declared partner type ``value`` names (:data:`fairness.definitions.PARTNER_TYPES` as it is
    now: a profile's ``[sharing] partners``), or ``"Other"`` (no free text is ever published)."""
    return _partner_keys(_defs.PARTNER_TYPES).get(_partner_key(value), PARTNER_OTHER)


@functools.lru_cache(maxsize=8)
def _partner_keys(partners: tuple[str, ...]) -> dict[str, str]:
    return {_partner_key(p): p for p in partners}



#: The values of :mod:`fairness.definitions` the schema is declared with: the defaults, read as this
#: module is imported (a profile's vocabulary is laid over them by :mod:`fairness.profiles`).
_DECLARED_WITH = {name: getattr(_defs, name) for name in (
    "AGE_MAX", "AGE_MIN", "BOROUGHS", "ETHNICITIES", "PARTNER_TYPES", "RISK_BANDS", "SEXES")}


@functools.cache
def _matrix_schema() -> type:
    from fairness.io._matrix_model import matrix_schema

    return matrix_schema(**_DECLARED_WITH)


def __getattr__(name: str):
    """:class:`MatrixSchema` is built (and pandera, about 0.2 s, imported) when first asked for:
    an audit of a file DuckDB reads never validates a pandas frame, so never needs it."""
    if name == "MatrixSchema":
        return _matrix_schema()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: Cross-column rules of the schema: the rule code reported for each failed
#: dataframe check, the column a problem is reported against, and what would
#: be valid.
CHECK_RULES: dict[str, tuple[str, str, str]] = {
    "date_added_after_snapshot": (
        "date_order",
        "date_added",
        "date_added is after snapshot_date; it must be on or before it",
    ),
    "last_reviewed_out_of_range": (
        "date_order",
        "last_reviewed",
        "last_reviewed is outside date_added..snapshot_date; it must lie between them",
    ),
    "duplicate_person_id": (
        "duplicate_person_id",
        "person_id",
        "the same person_id appears more than once in this snapshot; every row for it is quarantined "
        "(one row per person per snapshot)",
    ),
}


def data_dictionary() -> pd.DataFrame:
    """The matrix format as a table: ``column, required, type, valid, description``.

    Built from :class:`MatrixSchema`, so the documentation cannot drift from
    the checks.

    >>> dd = data_dictionary()
    >>> dd.loc[dd.column == "borough", "required"].item()
    True
    """
    schema = _matrix_schema().to_schema()
    rows = []
    for name in REQUIRED_COLUMNS + OPTIONAL_COLUMNS:
        col = schema.columns[name]
        meta = col.metadata or {}
        rows.append(
            {
                "column": name,
                "required": bool(col.required),
                "type": meta.get("type", str(col.dtype)),
                "valid": meta.get("valid", ""),
                "description": col.description or "",
            }
        )
    return pd.DataFrame(rows)


def data_dictionary_markdown() -> str:
    """The data dictionary as a Markdown table (what README.md shows)."""
    dd = data_dictionary()
    lines = [
        "| column | required | type | valid values | meaning |",
        "|---|---|---|---|---|",
    ]
    for r in dd.itertuples(index=False):
        lines.append(
            f"| {r.column} | {'yes' if r.required else 'no'} | {r.type} | {r.valid} | {r.description} |"
        )
    return "\n".join(lines)
