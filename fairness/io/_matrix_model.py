"""The pandera model of the matrix format: :class:`fairness.io.schema.MatrixSchema`.

It lives apart from :mod:`fairness.io.schema` only so that pandera (about 0.2 s to
import) is loaded when a pandas frame is validated or the data dictionary printed, not by
every ``import fairness``; ``fairness.io.schema.MatrixSchema`` (and ``fairness.MatrixSchema``)
import it on first use. The format is declared here and nowhere else.
"""

from __future__ import annotations

from typing import Optional

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

__all__ = ["matrix_schema"]


def matrix_schema(*, AGE_MAX: int, AGE_MIN: int, BOROUGHS: tuple[str, ...], ETHNICITIES: tuple[str, ...],  # noqa: N803
                  PARTNER_TYPES: tuple[str, ...], RISK_BANDS: tuple[str, ...], SEXES: tuple[str, ...]) -> type:
    """The model declared with these values of :mod:`fairness.definitions` (the defaults, as
    :mod:`fairness.io.schema` read them when it was imported, whatever profile is in force now)."""

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

    return MatrixSchema
