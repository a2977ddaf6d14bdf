"""The matrix format, declared once.

:class:`MatrixSchema` is a pandera ``DataFrameModel`` describing one row per
person per snapshot after parsing. It is the single source of truth for the
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
from typing import Optional

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from fairness import definitions as _defs
from fairness.definitions import (
    AGE_MAX,
    AGE_MIN,
    BOROUGHS,
    ETHNICITIES,
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    RISK_BANDS,
    SEXES,
)

__all__ = ["MatrixSchema", "data_dictionary", "data_dictionary_markdown", "CHECK_RULES", "PARTNER_OTHER",
           "PARTNER_TYPES", "partner_label"]

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



class MatrixSchema(pa.DataFrameModel):
    """One row per person per quarterly snapshot of a gang database."""

    person_id: Series[str] = pa.Field(
        str_length={"min_value": 1, "max_value": 200},
        description="Identifier of the person; stable across snapshots",
        metadata={"type": "text", "valid": "non-empty (at most 200 characters); unique within a snapshot"},
    )
    snapshot_date: Series[pd.Timestamp] = pa.Field(
        description="Date of the extract (quarter end); the quarter is the calendar quarter of this date",
        metadata={"type": "date YYYY-MM-DD", "valid": "a real date, YYYY-MM-DD"},
    )
    borough: Series[str] = pa.Field(
        isin=list(BOROUGHS),
        description="Metropolitan Police borough holding the record",
        metadata={
            "type": "text",
            "valid": "one of the 32 London boroughs, ONS spelling (City of London is not a Metropolitan Police borough)",
        },
    )
    ethnicity: Series[str] = pa.Field(
        isin=list(ETHNICITIES),
        description="Ethnic group as recorded (Census 2021 high-level groups)",
        metadata={"type": "text", "valid": ", ".join(ETHNICITIES)},
    )
    sex: Series[str] = pa.Field(
        isin=list(SEXES),
        description="Sex as recorded",
        metadata={"type": "text", "valid": ", ".join(SEXES)},
    )
    age: Series[int] = pa.Field(
        ge=AGE_MIN,
        le=AGE_MAX,
        description="Age in whole years at snapshot_date",
        metadata={"type": "integer", "valid": f"{AGE_MIN}–{AGE_MAX} at snapshot_date"},
    )
    harm_score: Series[float] = pa.Field(
        ge=0,
        description="Harm score from violence and weapons offences and intelligence",
        metadata={"type": "number", "valid": "≥ 0 (finite)"},
    )
    risk_band: Series[str] = pa.Field(
        isin=list(RISK_BANDS),
        description="Red / amber / green band",
        metadata={"type": "text", "valid": ", ".join(RISK_BANDS)},
    )
    victim_flag: Optional[Series[pd.BooleanDtype]] = pa.Field(
        nullable=True,
        description="Recorded as a victim of violence in the scoring window",
        metadata={"type": "boolean", "valid": "true/false, yes/no, 1/0 (any case); empty if unknown"},
    )
    violent_offences_2y: Optional[Series[pd.Int64Dtype]] = pa.Field(
        ge=0,
        nullable=True,
        description="Violence or weapons offences in the two years before the snapshot",
        metadata={"type": "integer", "valid": "≥ 0; empty if unknown"},
    )
    date_added: Optional[Series[pd.Timestamp]] = pa.Field(
        nullable=True,
        description="Date the person was added to the list",
        metadata={"type": "date YYYY-MM-DD", "valid": "on or before snapshot_date"},
    )
    last_reviewed: Optional[Series[pd.Timestamp]] = pa.Field(
        nullable=True,
        description="Date of the last review of the record",
        metadata={"type": "date YYYY-MM-DD", "valid": "between date_added and snapshot_date"},
    )
    shared_with: Optional[Series[str]] = pa.Field(
        nullable=True,
        description="Partner types the record was shared with, separated by ';'",
        metadata={"type": "text", "valid": "partner types separated by ';' (" + ", ".join(PARTNER_TYPES)
                  + "; anything else is counted as Other); empty: not shared"},
    )
    outcome_violence_12m: Optional[Series[pd.BooleanDtype]] = pa.Field(
        nullable=True,
        description="Charged with a violence or weapons offence in the 12 months after the snapshot",
        metadata={"type": "boolean", "valid": "true/false, yes/no, 1/0; empty where not yet known"},
    )

    @pa.dataframe_check(name="date_added_after_snapshot")
    def _date_added_not_after_snapshot(cls, df: pd.DataFrame) -> Series[bool]:
        if "date_added" not in df:
            return pd.Series(True, index=df.index)
        return ~(df["date_added"] > df["snapshot_date"]).fillna(False)

    @pa.dataframe_check(name="last_reviewed_out_of_range")
    def _last_reviewed_in_range(cls, df: pd.DataFrame) -> Series[bool]:
        if "last_reviewed" not in df:
            return pd.Series(True, index=df.index)
        after = (df["last_reviewed"] > df["snapshot_date"]).fillna(False)
        before = pd.Series(False, index=df.index)
        if "date_added" in df:
            before = (df["last_reviewed"] < df["date_added"]).fillna(False)
        return ~(after | before)

    @pa.dataframe_check(name="duplicate_person_id")
    def _one_row_per_person_per_snapshot(cls, df: pd.DataFrame) -> Series[bool]:
        return ~df.duplicated(subset=["snapshot_date", "person_id"], keep=False)

    class Config:
        strict = False  # extra columns are kept and reported as unknown
        coerce = True
        name = "matrix"


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
    schema = MatrixSchema.to_schema()
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
