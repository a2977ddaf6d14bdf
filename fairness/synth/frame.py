"""From a finished simulation to the matrix table, and from the table to files.

The matrix uses the same dtypes as the valid rows of
:func:`fairness.io.validation.read_matrix` (see ``canonical_dtypes``), so analyses
run on a generated matrix exactly as on a file that was read back.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from fairness.definitions import (
    ALL_COLUMNS,
    ETHNICITIES,
    RISK_BANDS,
    SEXES,
    SHARED_WITH_SEPARATOR,
)
from fairness.synth.engine import Quarter, Simulation, ages_at, outcome_codes

ID_PREFIX = "GVM"
TEST_ID_PREFIXES = ("TEST", "DUMMY")
ERR_PARTNER_NAME = (
    '[sharing] partner {name!r} contains one of , ; " or a line break; use a plain name'
)


@dataclass(frozen=True)
class Records(Quarter):
    """Every record of the history, in output order: a :class:`~fairness.synth.engine.Quarter`'s
    fields for all quarters at once, with the quarter and what the truth needs besides."""

    quarter: np.ndarray
    outcome: np.ndarray
    borough: np.ndarray
    duplicate: np.ndarray


def gather_records(sim: Simulation) -> Records:
    """Concatenate the quarters (rows still in simulation order)."""
    qs = sim.quarters
    per_record = {f.name: np.concatenate([getattr(q, f.name) for q in qs]) for f in fields(Quarter)}
    quarter = np.concatenate([np.full(len(q.person), t, np.int16) for t, q in enumerate(qs)])
    outcome = np.concatenate([outcome_codes(sim, t, q.person) for t, q in enumerate(qs)])
    borough = sim.pool.borough[per_record["person"]].astype(np.int16)
    return Records(
        quarter=quarter,
        outcome=outcome,
        borough=borough,
        duplicate=np.zeros(len(quarter), bool),
        **per_record,
    )


def person_ids(sim: Simulation, records: Records, test_count: int) -> tuple[np.ndarray, list[str]]:
    """Text ids for everyone in the pool; ``test_count`` short-lived people get test-like ids."""
    n = sim.pool.n
    numbers = sim.rng.permutation(n) + 1
    width = max(7, len(str(n)))
    ids = np.char.add(ID_PREFIX, np.char.zfill(numbers.astype(str), width)).astype(object)
    if test_count <= 0:
        return ids, []
    rows = np.bincount(records.person, minlength=n)
    short = np.flatnonzero((rows > 0) & (rows <= 2))
    pool = short if len(short) >= test_count else np.flatnonzero(rows > 0)
    chosen = np.sort(sim.rng.choice(pool, size=min(test_count, len(pool)), replace=False))
    test_ids = [f"{TEST_ID_PREFIXES[i % 2]}{i + 1:04d}" for i in range(len(chosen))]
    ids[chosen] = test_ids
    return ids, test_ids


def order_records(records: Records, ids: np.ndarray) -> Records:
    """Sort by quarter, then person_id (a stable, documented row order)."""
    rank = np.empty(len(ids), np.int64)
    rank[np.argsort(ids.astype(str), kind="stable")] = np.arange(len(ids))
    key = (
        records.quarter.astype(np.int64) * len(ids) + rank[records.person]
    ) * 2 + records.duplicate
    order = np.argsort(key, kind="stable")
    return Records(**{k: v[order] for k, v in vars(records).items()})


def add_duplicates(sim: Simulation, records: Records, share: float) -> Records:
    """Copy ``share`` of each snapshot's records into a second borough (a validation error)."""
    if share <= 0:
        return records
    picks = []
    for t in range(len(sim.plan.quarters)):
        rows = np.flatnonzero(records.quarter == t)
        k = int(round(share * len(rows)))
        picks.append(np.sort(sim.rng.choice(rows, size=k, replace=False)))
    pick = np.concatenate(picks)
    extra = {k: v[pick].copy() for k, v in vars(records).items()}
    names = sim.boroughs.names
    extra["borough"] = (
        (extra["borough"] + sim.rng.integers(1, len(names), size=len(pick))) % len(names)
    ).astype(np.int16)
    extra["duplicate"][:] = True
    return Records(**{k: np.concatenate([getattr(records, k), extra[k]]) for k in extra})


def partner_strings(partners: list[str]) -> np.ndarray:
    """Text of every partner bitmask: ``strings[mask]`` ("" for 0)."""
    for name in partners:
        if any(ch in name for ch in ',;"\n\r'):
            raise ValueError(ERR_PARTNER_NAME.format(name=name))
    masks = np.arange(1 << len(partners))
    return np.array(
        [
            SHARED_WITH_SEPARATOR.join(p for i, p in enumerate(partners) if m >> i & 1)
            for m in masks
        ],
        dtype=object,
    )


def _dates(days: np.ndarray) -> pd.Series:
    return pd.Series(np.asarray(days, np.int64).astype("datetime64[D]").astype("datetime64[ns]"))


def matrix_frame(
    sim: Simulation, records: Records, ids: np.ndarray, partners: list[str]
) -> pd.DataFrame:
    """The matrix: one row per person per snapshot, columns exactly ALL_COLUMNS."""
    pool, plan = sim.pool, sim.plan
    person = records.person
    snapshot = plan.ends[records.quarter]
    outcome = pd.array(records.outcome == 1, dtype="boolean")
    outcome[records.outcome < 0] = pd.NA
    id_table = pa.array(ids, pa.string())
    shared_table = pa.array(partner_strings(partners), pa.string())
    columns = {
        "person_id": pd.arrays.ArrowStringArray(id_table.take(pa.array(person))),
        "snapshot_date": _dates(snapshot),
        "borough": pd.Categorical.from_codes(records.borough, categories=list(sim.boroughs.names)),
        "ethnicity": pd.Categorical.from_codes(pool.eth[person], categories=list(ETHNICITIES)),
        "sex": pd.Categorical.from_codes(pool.sex[person], categories=list(SEXES)),
        "age": ages_at(sim, person, records.quarter.astype(np.int64)),
        "harm_score": records.harm.astype(np.float64),
        "risk_band": pd.Categorical.from_codes(records.band, categories=list(RISK_BANDS)),
        "victim_flag": pd.array(pool.victim[person], dtype="boolean"),
        "violent_offences_2y": pd.array(records.violent_2y, dtype="Int64"),
        "date_added": _dates(records.date_added),
        "last_reviewed": _dates(records.last_reviewed),
        "shared_with": pd.arrays.ArrowStringArray(
            shared_table.take(pa.array(records.partners.astype(np.int64)))
        ),
        "outcome_violence_12m": outcome,
    }
    frame = pd.DataFrame(
        {k: (v.to_numpy() if isinstance(v, pd.Series) else v) for k, v in columns.items()}
    )
    return frame[list(ALL_COLUMNS)]


# --------------------------------------------------------------------------- files


#: Arrow type of every column in written files.
ARROW_SCHEMA = pa.schema(
    [
        ("person_id", pa.string()),
        ("snapshot_date", pa.date32()),
        ("borough", pa.string()),
        ("ethnicity", pa.string()),
        ("sex", pa.string()),
        ("age", pa.int64()),
        ("harm_score", pa.float64()),
        ("risk_band", pa.string()),
        ("victim_flag", pa.bool_()),
        ("violent_offences_2y", pa.int64()),
        ("date_added", pa.date32()),
        ("last_reviewed", pa.date32()),
        ("shared_with", pa.string()),
        ("outcome_violence_12m", pa.bool_()),
    ]
)


def _arrow_column(series: pd.Series, kind: pa.DataType) -> pa.Array:
    if isinstance(series.dtype, pd.CategoricalDtype):
        return (
            pa.array(series.astype(object).to_numpy(), kind)
            if len(series) == 0
            else pa.array(series).dictionary_decode().cast(kind)
        )
    if pa.types.is_date32(kind):
        return pa.array(series.to_numpy().astype("datetime64[D]"), kind)
    if pa.types.is_string(kind):
        return pa.array(series.fillna(""), kind)
    return pa.array(series, kind)


def arrow_table(matrix: pd.DataFrame) -> pa.Table:
    """The matrix as an Arrow table typed by :data:`ARROW_SCHEMA` (dates as date32, nullable booleans).

    Columns the matrix leaves out (a profile without bands or outcomes) are left out of the table.
    """
    schema = pa.schema([f for f in ARROW_SCHEMA if f.name in matrix.columns])
    return pa.Table.from_arrays([_arrow_column(matrix[f.name], f.type) for f in schema], schema=schema)


def _needs_quotes(table: pa.Table) -> bool:
    """Whether a text value holds a comma, a quote or a line break ("London, City of")."""
    for column in table.columns:
        if pa.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type)
        if pa.types.is_string(column.type) and pc.any(pc.match_substring_regex(column, '[,"\r\n]')).as_py():
            return True
    return False


def write_csv(table: pa.Table, path: Path) -> None:
    """UTF-8 CSV: unquoted header, YYYY-MM-DD dates, true/false, empty for missing.

    Values are quoted only where they must be (a comma, a quote or a line break
    inside, as in the police force area "London, City of"); written to a
    temporary file first, so a failure never leaves half a matrix behind.
    """
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write((",".join(table.column_names) + "\n").encode("utf-8"))
            if not _needs_quotes(table):
                pacsv.write_csv(table, fh, pacsv.WriteOptions(include_header=False, quoting_style="none"))
            else:  # Arrow quotes every text value or none: re-write its rows, quoting only where needed
                buffer = io.BytesIO()
                pacsv.write_csv(table, buffer, pacsv.WriteOptions(include_header=False, quoting_style="needed"))
                text = io.TextIOWrapper(io.BytesIO(buffer.getvalue()), encoding="utf-8", newline="")
                out = io.TextIOWrapper(fh, encoding="utf-8", newline="")
                csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_MINIMAL).writerows(csv.reader(text))
                out.flush()
                out.detach()
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_parquet(table: pa.Table, path: Path) -> None:
    """Parquet with the table's types (zstd; no timestamps in the file)."""
    pq.write_table(table, path, compression="zstd")
