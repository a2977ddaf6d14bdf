"""Measure calibrated figures on a matrix: the arithmetic behind :func:`fairness.synth.check`.

Every measure is a small function of the matrix and one target spec, looked
up by name in :data:`MEASURES`; each works on the matrix alone (never on the
generator's internals), so it checks what a user would see.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from fairness.quarters import quarter_label

CHECK_COLUMNS: tuple[str, ...] = (
    "id",
    "quarter",
    "figure",
    "target",
    "achieved",
    "tolerance",
    "ok",
    "source",
)
ERR_MEASURE = "unknown measure {name!r} in a calibration target; valid: {valid}"


class Snapshots:
    """Row positions of each quarter in a matrix, so measures touch one quarter's rows only."""

    def __init__(self, matrix: pd.DataFrame) -> None:
        codes, uniques = pd.factorize(matrix["snapshot_date"], sort=True)
        labels = quarter_label(pd.Series(uniques)).tolist()
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(len(labels) + 1))
        self.matrix = matrix
        self.quarters = labels
        self.rows = {q: order[bounds[i] : bounds[i + 1]] for i, q in enumerate(labels)}

    def column(self, name: str, quarter: str) -> pd.Series:
        """Column ``name`` restricted to the rows of ``quarter`` (empty if absent)."""
        rows = self.rows.get(quarter, np.zeros(0, np.int64))
        return self.matrix[name].iloc[rows]


def _share(mask: pd.Series) -> float:
    values = np.asarray(mask, dtype=bool)
    return float(values.mean()) if len(values) else float("nan")


def people(s: Snapshots, spec: dict) -> float:
    """People on the list at the quarter."""
    return float(len(s.rows.get(spec["quarter"], ())))


def share_black(s: Snapshots, spec: dict) -> float:
    """Share recorded Black."""
    return _share(s.column("ethnicity", spec["quarter"]).astype(str) == "Black")


def share_not_white(s: Snapshots, spec: dict) -> float:
    """Share not recorded White (BAME or not stated)."""
    return _share(s.column("ethnicity", spec["quarter"]).astype(str) != "White")


def share_male(s: Snapshots, spec: dict) -> float:
    """Share recorded male."""
    return _share(s.column("sex", spec["quarter"]).astype(str) == "Male")


def share_under_18(s: Snapshots, spec: dict) -> float:
    """Share aged under 18 at the snapshot."""
    return _share(s.column("age", spec["quarter"]) < 18)


def count_under_18(s: Snapshots, spec: dict) -> float:
    """People aged under 18 at the snapshot."""
    return float((s.column("age", spec["quarter"]) < 18).sum())


def share_under_25(s: Snapshots, spec: dict) -> float:
    """Share aged under 25 at the snapshot."""
    return _share(s.column("age", spec["quarter"]) < 25)


def share_harm_zero(s: Snapshots, spec: dict) -> float:
    """Share with a harm score of exactly 0."""
    return _share(s.column("harm_score", spec["quarter"]) == 0)


def share_no_violent_offence(s: Snapshots, spec: dict) -> float:
    """Share with no violent offence in the two years to the snapshot."""
    return _share(s.column("violent_offences_2y", spec["quarter"]).fillna(-1) == 0)


def share_victim(s: Snapshots, spec: dict) -> float:
    """Share flagged as victims of violence."""
    return _share(s.column("victim_flag", spec["quarter"]).fillna(False))


def borough_harm_zero_share(s: Snapshots, spec: dict) -> float:
    """Share with harm 0 in one borough (``spec["borough"]``)."""
    in_borough = (s.column("borough", spec["quarter"]).astype(str) == spec["borough"]).to_numpy()
    return _share(s.column("harm_score", spec["quarter"]).to_numpy()[in_borough] == 0)


def count_additions(s: Snapshots, spec: dict) -> float:
    """People on the list in a quarter who were not on it the quarter before, summed from..to."""
    quarters = s.quarters
    lo, hi = quarters.index(spec["from"]), quarters.index(spec["to"])
    total = 0
    for i in range(max(lo, 1), hi + 1):
        now, before = s.column("person_id", quarters[i]), s.column("person_id", quarters[i - 1])
        seen = pc.is_in(pa.array(now, pa.string()), value_set=pa.array(before, pa.string()))
        total += len(now) - int(pc.sum(seen).as_py() or 0)
    return float(total)


MEASURES: dict[str, Callable[[Snapshots, dict], float]] = {
    f.__name__: f
    for f in (
        people,
        share_black,
        share_not_white,
        share_male,
        share_under_18,
        count_under_18,
        share_under_25,
        share_harm_zero,
        share_no_violent_offence,
        share_victim,
        borough_harm_zero_share,
        count_additions,
    )
}


def within(kind: str, target: float, achieved: float, tolerance: float) -> bool:
    """Whether ``achieved`` meets ``target``: absolute (share), relative (count) or one-sided (above).

    >>> within("count", 14.6, 15.0, 0.005), within("share", 0.78, 0.7701, 0.01), within("above", 0.4, 0.4, 0)
    (True, True, False)
    """
    if not np.isfinite(achieved):
        return False
    if kind == "above":
        return achieved > target
    # counts: relative, but never tighter than rounding to a whole person (small scales)
    if kind == "count":
        return abs(achieved - target) <= max(tolerance * target, 0.5) + 1e-9
    return abs(achieved - target) <= tolerance + 1e-9


def measure_targets(matrix: pd.DataFrame, specs: list[dict]) -> pd.DataFrame:
    """Target vs achieved for every spec, columns :data:`CHECK_COLUMNS`."""
    snapshots = Snapshots(matrix)
    rows = []
    for spec in specs:
        if spec["measure"] not in MEASURES:
            raise ValueError(ERR_MEASURE.format(name=spec["measure"], valid=", ".join(MEASURES)))
        achieved = MEASURES[spec["measure"]](snapshots, spec)
        rows.append(
            {
                "id": spec["id"],
                "quarter": spec["quarter"],
                "figure": spec["figure"],
                "target": float(spec["target"]),
                "achieved": achieved,
                "tolerance": float(spec["tolerance"]),
                "ok": within(
                    spec["kind"], float(spec["target"]), achieved, float(spec["tolerance"])
                ),
                "source": spec["source"],
            }
        )
    return pd.DataFrame(rows, columns=list(CHECK_COLUMNS))
