"""A synthetic gang database calibrated to every published figure about the Met's matrix.

The Gangs Violence Matrix was never published row by row, so the toolkit
ships a synthetic one: one row per person per quarterly snapshot, people
persisting across quarters under stable ids, with additions, removals and
re-listings. At every quarter the published figures (list size, Black and
non-White shares, under-18 and under-25 shares, the zero-harm share, ...) hold
exactly up to rounding, for any seed: randomness decides *who*, exact quotas
decide *how many*. Between published figures the scenario file interpolates.

Practice differs by borough (some list far more zero-harm people, some band
with their own cut-points) and governance failures are planted at documented
rates: victims listed as offenders, low-risk records shared, overdue reviews,
zero-harm people kept, re-listing, test-like ids. The planted ground truth is
returned beside the matrix, so every analysis in the toolkit can be tested
against a known answer.

Scenarios are TOML files in ``data/synthetic/scenarios/`` (the header of
``gvm-history.toml`` documents every key).

Examples
--------
>>> from fairness import synth
>>> result = synth.generate("small", seed=1)
>>> bool(synth.check(result)["ok"].all())
True
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fairness.synth.calibration import CHECK_COLUMNS, measure_targets
from fairness.synth.engine import simulate
from fairness.synth.frame import (
    add_duplicates,
    arrow_table,
    gather_records,
    matrix_frame,
    order_records,
    person_ids,
    write_csv,
    write_parquet,
)
from fairness.synth.place import place_for, scenario_for_place
from fairness.synth.scenario import (
    build_plan,
    calibration_targets,
    jsonable,
    quarter_labels,
    read_scenario,
    resolve_scenario,
    scenario_paths,
)
from fairness.synth.truth import (
    TRUTH_FORMAT,
    borough_truth,
    clean,
    defects,
    harm_truth,
    outcome_truth,
    planted_outliers,
    sizes,
)

__all__ = [
    "SynthResult",
    "generate",
    "write",
    "check",
    "format_check",
    "list_scenarios",
    "truth_path",
    "DEFAULT_SCENARIO",
    "DEFAULT_SEED",
    "DEFAULT_MATRIX",
    "CHECK_COLUMNS",
]

DEFAULT_SCENARIO = "gvm-history"
#: The default seed: the day the MOPAC review of the matrix was published.
DEFAULT_SEED = 20181231
#: Where ``make data`` writes the default synthetic matrix: an absolute path, so a report
#: template run from any folder (papermill, JupyterLab) finds it.
DEFAULT_MATRIX = Path(__file__).resolve().parents[2] / "data" / "synthetic" / f"{DEFAULT_SCENARIO}.csv"
WRITERS = {".csv": write_csv, ".parquet": write_parquet}

ERR_SUFFIX = "{path}: unknown output type {suffix!r}; valid: {valid}"
ERR_SEED = "seed must be a non-negative integer; got {seed!r}"


@dataclass(frozen=True)
class SynthResult:
    """A synthetic matrix and its planted ground truth.

    Attributes
    ----------
    matrix : DataFrame
        One row per person per snapshot, columns exactly
        :data:`fairness.definitions.ALL_COLUMNS` (with ``profile=``, less the
        columns the profile does not declare), dtypes as the valid rows of
        :func:`fairness.io.validation.read_matrix`; rows sorted by snapshot_date,
        then person_id.
    truth : dict
        JSON-native: ``scenario`` (name, seed, scale, quarters), ``parameters``
        (the scenario file as read), ``calibration`` (every published figure
        with target and achieved), ``sizes``, ``boroughs`` (per borough:
        census denominators, planted practice, people, listing rate per 1,000
        residents aged 10-24 and zero-harm share by quarter),
        ``planted_outliers``, ``harm_model``, ``outcome_model`` and
        ``defects`` (definition, parameters and exact counts of each).
    """

    matrix: pd.DataFrame
    truth: dict[str, Any]


def generate(
    scenario: str | Path = DEFAULT_SCENARIO,
    *,
    seed: int = DEFAULT_SEED,
    scale: float = 1.0,
    profile: Any = None,
) -> SynthResult:
    """Generate a synthetic matrix from a scenario.

    Parameters
    ----------
    scenario : str or Path, default "gvm-history"
        A scenario name (see :func:`list_scenarios`) or the path of a TOML file.
    seed : int, default 20181231
        Seed of ``numpy.random.default_rng``; the same seed gives the same
        matrix, row for row.
    scale : float, default 1.0
        Multiplies every size (people, additions, counts of test records);
        shares are unchanged. Below the scenario's ``[scenario] smallest_scale``
        (0.03 for ``gvm-history``) a ValueError says why and names it.
    profile : str, path or Profile, optional
        Set the matrix in another place (:mod:`fairness.synth.place`): people
        are listed in the profile's areas in proportion to each group's
        residents in its headline benchmark; the scenario's borough-named
        plantings and checks are left out (``truth["place"]`` lists them).
        None or ``"london-gvm"``: the London boroughs, exactly as without it.

    Returns
    -------
    SynthResult

    Raises
    ------
    ValueError
        Unknown scenario, a malformed scenario file (the message names the
        file and key), or targets that cannot all be met (the message names
        the quarter).
    """
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(ERR_SEED.format(seed=seed))
    path = resolve_scenario(scenario)
    raw = read_scenario(path)
    place = place_for(profile)
    left_out: list[str] = []
    if place is not None:
        raw, left_out = scenario_for_place(raw, place)
    plan = build_plan(raw, float(scale), path)
    rng = np.random.default_rng(int(seed))
    sim = simulate(raw, plan, rng, path, place)
    records = gather_records(sim)
    test_count = int(raw.get("defects", {}).get("test_records", {}).get("count", 0))
    test_count = max(1, round(test_count * scale)) if test_count > 0 else 0
    ids, test_ids = person_ids(sim, records, test_count)
    share = float(raw.get("defects", {}).get("duplicate_person", {}).get("share", 0.0))
    records = order_records(add_duplicates(sim, records, share), ids)
    partners = list(
        raw.get("sharing", {}).get(
            "partners", ["housing", "education", "DWP", "social_services", "private_landlord"]
        )
    )
    matrix = matrix_frame(sim, records, ids, partners)
    specs = calibration_targets(raw, plan, float(scale), path)
    achieved = measure_targets(matrix, specs)
    boroughs = borough_truth(sim, records)
    truth = {
        "format": TRUTH_FORMAT,
        "scenario": {
            "name": raw["scenario"].get("name", path.stem),
            "description": raw["scenario"].get("description", ""),
            "file": path.name,
            "seed": int(seed),
            "scale": float(scale),
            "quarters": list(plan.quarters),
            "rows": int(len(matrix)),
            "people_ever_listed": int(
                np.count_nonzero(np.bincount(records.person, minlength=sim.pool.n))
            ),
        },
        "parameters": jsonable(raw),
        "calibration": [
            {**spec, "achieved": float(a), "ok": bool(ok)}
            for spec, a, ok in zip(specs, achieved["achieved"], achieved["ok"], strict=True)
        ],
        "sizes": sizes(sim, records),
        "boroughs": boroughs,
        "planted_outliers": planted_outliers(sim, boroughs),
        "harm_model": harm_truth(sim),
        "outcome_model": outcome_truth(sim, records),
        "defects": defects(sim, records, ids, test_ids),
    }
    if place is not None:  # absent for London, so the default truth file is unchanged
        truth["place"] = {
            "profile": place.profile,
            "areas": len(place.names),
            "benchmark": place.benchmark,
            "note": ("people are listed in the profile's areas in proportion to each group's residents in "
                     "the benchmark; the list's size and composition follow the scenario, which is calibrated "
                     "to published figures about the Metropolitan Police's matrix, not to this place"),
            "left_out": left_out,
            "columns_left_out": list(place.dropped),  # not declared by the profile (no bands, no such outcome)
        }
        matrix = matrix.drop(columns=list(place.dropped))
    return SynthResult(matrix=matrix, truth=clean(truth))


def truth_path(out: Path) -> Path:
    """Where :func:`write` puts the truth for a matrix written to ``out``: ``<stem>.truth.json``.

    >>> truth_path(Path("data/synthetic/gvm-history.csv")).as_posix()
    'data/synthetic/gvm-history.truth.json'
    """
    out = Path(out)
    return out.with_name(out.stem + ".truth.json")


def write(result: SynthResult, out: Path) -> tuple[Path, Path]:
    """Write the matrix (CSV or Parquet, by extension) and ``<stem>.truth.json`` beside it.

    CSV is UTF-8 with a header line, dates ``YYYY-MM-DD``, booleans
    ``true``/``false`` and empty cells for missing values (and for "not
    shared"). Parquet keeps types: dates as ``date32``, nullable booleans,
    64-bit integers. The truth is indented JSON with sorted keys. Nothing
    written depends on the time or the machine, so the same seed gives
    byte-identical files.

    Parameters
    ----------
    result : SynthResult
    out : Path
        ``.csv`` or ``.parquet``.

    Returns
    -------
    tuple of Path
        The matrix file and the truth file.
    """
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in WRITERS:
        raise ValueError(ERR_SUFFIX.format(path=out, suffix=suffix, valid=", ".join(WRITERS)))
    out.parent.mkdir(parents=True, exist_ok=True)
    WRITERS[suffix](arrow_table(result.matrix), out)
    truth = truth_path(out)
    truth.write_text(
        json.dumps(result.truth, sort_keys=True, indent=2, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    return out, truth


def check(result: SynthResult) -> pd.DataFrame:
    """Target vs achieved for every calibrated published figure, measured on the matrix.

    Returns
    -------
    DataFrame
        Columns ``id, quarter, figure, target, achieved, tolerance, ok,
        source``. Shares are proportions with an absolute tolerance; counts
        have a relative tolerance (0.005: within 0.5%); a one-sided figure
        ("more than 40%") has tolerance 0 and is ok when achieved exceeds
        target. ``source`` is the figure's id and citation, e.g. ``"S1
        Amnesty International UK, Trapped in the Matrix (2018)"``.
    """
    specs = [
        {k: v for k, v in spec.items() if k not in ("achieved", "ok")}
        for spec in result.truth["calibration"]
    ]
    return measure_targets(result.matrix, specs)


def format_check(table: pd.DataFrame) -> str:
    """The :func:`check` table as text: shares in percent, counts as whole numbers."""
    shown = table.copy()
    is_count = shown["target"].gt(1)  # shares are proportions; counts are people

    def fmt(v: float, count: bool) -> str:
        return f"{v:,.0f}" if count else f"{100 * v:.1f}%"

    shown["target"] = [fmt(v, c) for v, c in zip(table["target"], is_count, strict=True)]
    shown["achieved"] = [fmt(v, c) for v, c in zip(table["achieved"], is_count, strict=True)]
    shown["tolerance"] = [
        ("one-sided" if t == 0 else f"±{100 * t:.1f}%" + (" rel." if c else " pt"))
        for t, c in zip(table["tolerance"], is_count, strict=True)
    ]
    shown["ok"] = shown["ok"].map({True: "ok", False: "FAIL"})
    return shown.to_string(index=False)


def list_scenarios() -> pd.DataFrame:
    """The scenarios shipped with the package.

    Returns
    -------
    DataFrame
        Columns ``name, description, first_quarter, last_quarter, quarters,
        file``, one row per TOML file in ``data/synthetic/scenarios/``.
    """
    rows = []
    for name, path in scenario_paths().items():
        raw = read_scenario(path)
        sc = raw["scenario"]
        rows.append(
            {
                "name": name,
                "description": sc.get("description", ""),
                "first_quarter": sc["first_quarter"],
                "last_quarter": sc["last_quarter"],
                "quarters": len(quarter_labels(sc["first_quarter"], sc["last_quarter"])),
                "file": path.name,
            }
        )
    return pd.DataFrame(
        rows, columns=["name", "description", "first_quarter", "last_quarter", "quarters", "file"]
    )
