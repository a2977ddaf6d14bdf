"""Scenario files for the synthetic matrix: find, read, and turn into a quarterly plan.

A scenario is a TOML file (see the comment header of
``data/synthetic/scenarios/gvm-history.toml`` for every key). :func:`build_plan`
turns its trajectories into exact integer targets for each quarter at a given
scale; :func:`calibration_targets` lists the published figures among them.
"""

from __future__ import annotations

import datetime as _dt
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fairness.quarters import normalise_quarter, parse_quarter
from fairness.synth.quota import largest_remainder

SCENARIO_DIR = Path(__file__).resolve().parents[2] / "data" / "synthetic" / "scenarios"

ASSUMPTION = "assumption"

ERR_UNKNOWN_SCENARIO = "unknown scenario {name!r}: valid names are {valid} (in {folder}), or give the path of a .toml file"
ERR_NO_FILE = "{path}: no such scenario file"
ERR_UNKNOWN_TRAJECTORY = "{path}: unknown trajectory {name!r}; valid: {valid}"
ERR_COUNT_SERIES = "{path}: trajectory {name!r} takes counts (people at scale 1), not {kind!r}"
ERR_MISSING_KEY = "{path}: missing [{section}] key {key!r}"
ERR_KEYFRAME = "{path}: trajectory {name!r}, keyframe {index}: needs 'quarter' and exactly one of {kinds}; got {got}"
ERR_KEYFRAME_RANGE = (
    "{path}: trajectory {name!r}: keyframe quarter {quarter} is outside {first}..{last}"
)
ERR_UNKNOWN_SOURCE = (
    "{path}: {where} cites source {source!r}, which is not in [sources] and is not 'assumption'; "
    "valid: {valid}"
)
ERR_SHARE = "{path}: {what} = {value} is not a proportion in [0, 1]"
ERR_PLAN = "{path}: quarter {quarter}: {problem}"
ERR_WEIGHTS = "{path}: [[additions_totals]] weights: need one per quarter ({k}); got {got}"
ERR_SCALE = "scale must be a positive finite number; got {scale!r}"
ERR_SMALLEST_SCALE = "{path}: [scenario] smallest_scale must be a positive number; got {value!r}"
ERR_SCALE_TOO_SMALL = (
    "{path}: scale {scale:g} is too small for scenario {name!r}: the smallest scale that works is "
    "{smallest:g} ([scenario] smallest_scale). At {scale:g} the list holds as few as {people} people "
    "({quarter}){totals}: too few for the composition targets (Black, not White, under 18, under 25), "
    "rounded to whole people every quarter, to be reached within the published additions total and "
    "the published shares within their tolerance. Use --scale {smallest:g} or more"
)

#: Stock series (enforced with exact quotas every quarter) and behaviour series.
STOCK_TRAJECTORIES: tuple[str, ...] = (
    "people",
    "additions",
    "black_share",
    "not_white_share",
    "under_18_share",
    "under_25_share",
    "harm_zero_share",
)
BEHAVIOUR_TRAJECTORIES: tuple[str, ...] = (
    "offence_rate_multiplier",
    "low_risk_removal_log_weight",
    "review_miss_rate",
    "low_risk_shared_rate",
    "high_risk_shared_rate",
)
_SHARE_SERIES = (
    "black_share",
    "not_white_share",
    "under_18_share",
    "under_25_share",
    "harm_zero_share",
)

#: The check() measure behind each calibrated trajectory (count keyframes in a
#: share series use the ``count_*`` twin).
TRAJECTORY_MEASURES: dict[str, str] = {
    "people": "people",
    "black_share": "share_black",
    "not_white_share": "share_not_white",
    "under_18_share": "share_under_18",
    "under_25_share": "share_under_25",
    "harm_zero_share": "share_harm_zero",
}
INITIAL_MEASURES: dict[str, str] = {
    "male_share": "share_male",
    "no_violent_offence_share": "share_no_violent_offence",
    "victim_share": "share_victim",
}


# --------------------------------------------------------------------------- finding


def scenario_paths() -> dict[str, Path]:
    """Scenario name -> TOML path, for every file in :data:`SCENARIO_DIR`."""
    return {p.stem: p for p in sorted(SCENARIO_DIR.glob("*.toml"))}


def resolve_scenario(scenario: str | Path) -> Path:
    """Path of the TOML file named by ``scenario`` (a name or a path)."""
    path = Path(scenario)
    if path.suffix == ".toml":
        if not path.is_file():
            raise ValueError(ERR_NO_FILE.format(path=path))
        return path
    known = scenario_paths()
    if str(scenario) in known:
        return known[str(scenario)]
    raise ValueError(
        ERR_UNKNOWN_SCENARIO.format(name=str(scenario), valid=", ".join(known), folder=SCENARIO_DIR)
    )


def read_scenario(path: Path) -> dict[str, Any]:
    """Parse a scenario file and check its required keys and sources."""
    with open(path, "rb") as fh:
        raw = tomllib.load(fh)
    for section, key in (
        ("scenario", "first_quarter"),
        ("scenario", "last_quarter"),
        ("sources", None),
    ):
        if section not in raw or (key is not None and key not in raw[section]):
            raise ValueError(ERR_MISSING_KEY.format(path=path, section=section, key=key or ""))
    for name in ("people", "additions"):
        if name not in raw.get("trajectories", {}):
            raise ValueError(ERR_MISSING_KEY.format(path=path, section="trajectories", key=name))
    for name in raw.get("trajectories", {}):
        if name not in STOCK_TRAJECTORIES + BEHAVIOUR_TRAJECTORIES:
            valid = ", ".join(STOCK_TRAJECTORIES + BEHAVIOUR_TRAJECTORIES)
            raise ValueError(ERR_UNKNOWN_TRAJECTORY.format(path=path, name=name, valid=valid))
    _check_sources(raw, path)
    return raw


def _check_sources(raw: dict[str, Any], path: Path) -> None:
    valid = set(raw["sources"]) | {ASSUMPTION}
    cited = [
        (f"trajectory {n!r}", k.get("source", ASSUMPTION))
        for n, t in raw.get("trajectories", {}).items()
        for k in t.get("keyframes", [])
    ]
    cited += [
        (f"[initial] {k}", v.get("source", ASSUMPTION))
        for k, v in raw.get("initial", {}).items()
        if isinstance(v, dict)
    ]
    cited += [
        ("[[additions_totals]]", t.get("source", ASSUMPTION))
        for t in raw.get("additions_totals", [])
    ]
    cited += [
        ("[[checks]]", c.get("source", c.get("id", ASSUMPTION))) for c in raw.get("checks", [])
    ]
    for where, source in cited:
        if source not in valid:
            raise ValueError(
                ERR_UNKNOWN_SOURCE.format(
                    path=path, where=where, source=source, valid=sorted(valid)
                )
            )


def jsonable(value: Any) -> Any:
    """A copy of parsed TOML (or any nested value) with only JSON-native types."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, _dt.date | _dt.datetime | _dt.time):
        return value.isoformat()
    if isinstance(value, np.generic):
        return value.item()
    return value


# --------------------------------------------------------------------------- quarters


def quarter_labels(first: str, last: str) -> tuple[str, ...]:
    """Every quarter label from ``first`` to ``last`` inclusive.

    >>> quarter_labels("2017Q4", "2018Q2")
    ('2017Q4', '2018Q1', '2018Q2')
    """
    periods = pd.period_range(parse_quarter(first), parse_quarter(last), freq="Q")
    return tuple(f"{p.year}Q{p.quarter}" for p in periods)


def quarter_end_days(quarters: tuple[str, ...]) -> np.ndarray:
    """Quarter-end dates as days since 1970-01-01 (int64)."""
    return np.array(
        [parse_quarter(q).to_datetime64() for q in quarters], dtype="datetime64[D]"
    ).astype(np.int64)


def quarter_start_days(quarters: tuple[str, ...]) -> np.ndarray:
    """First day of each quarter as days since 1970-01-01 (int64)."""
    starts = [pd.Period(parse_quarter(q), freq="Q").start_time for q in quarters]
    return np.array([s.to_datetime64() for s in starts], dtype="datetime64[D]").astype(np.int64)


# --------------------------------------------------------------------------- series


def keyframe_kind(frame: dict[str, Any]) -> str:
    """Which of ``share``, ``count``, ``value`` a keyframe gives."""
    kinds = [k for k in ("share", "count", "value") if k in frame]
    return kinds[0] if len(kinds) == 1 else ""


def interpolate(points: list[tuple[int, float]], n_quarters: int) -> np.ndarray:
    """Linear interpolation of ``(quarter index, value)`` points, flat outside them."""
    points = sorted(points)
    xs = np.array([p[0] for p in points], dtype=float)
    ys = np.array([p[1] for p in points], dtype=float)
    return np.interp(np.arange(n_quarters, dtype=float), xs, ys)


def _keyframes(raw: dict, name: str, quarters: tuple[str, ...], path: Path) -> list[dict[str, Any]]:
    frames = raw.get("trajectories", {}).get(name, {}).get("keyframes", [])
    out = []
    for i, frame in enumerate(frames):
        kind = keyframe_kind(frame)
        if "quarter" not in frame or not kind:
            raise ValueError(
                ERR_KEYFRAME.format(
                    path=path, name=name, index=i, kinds="share/count/value", got=frame
                )
            )
        q = normalise_quarter(frame["quarter"])
        if q not in quarters:
            raise ValueError(
                ERR_KEYFRAME_RANGE.format(
                    path=path, name=name, quarter=q, first=quarters[0], last=quarters[-1]
                )
            )
        if kind == "share" and not 0 <= frame["share"] <= 1:
            raise ValueError(
                ERR_SHARE.format(path=path, what=f"{name} at {q}", value=frame["share"])
            )
        if name in ("people", "additions") and kind != "count":
            raise ValueError(ERR_COUNT_SERIES.format(path=path, name=name, kind=kind))
        out.append({**frame, "quarter": q, "index": quarters.index(q), "kind": kind})
    if not out and name in STOCK_TRAJECTORIES:
        raise ValueError(
            ERR_MISSING_KEY.format(path=path, section=f"trajectories.{name}", key="keyframes")
        )
    return out


def behaviour_series(
    raw: dict, name: str, quarters: tuple[str, ...], default: float, path: Path
) -> np.ndarray:
    """A behaviour trajectory at every quarter (``default`` where the file has none)."""
    frames = _keyframes(raw, name, quarters, path)
    if not frames:
        return np.full(len(quarters), float(default))
    return interpolate([(f["index"], float(f[f["kind"]])) for f in frames], len(quarters))


# --------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class Plan:
    """Exact integer targets per quarter, at one scale.

    Attributes
    ----------
    quarters : tuple of str
    ends, starts : ndarray of int64
        Quarter end and start, days since 1970-01-01.
    people, additions : ndarray of int
        List size; people added in the quarter (0 in the first).
    additions_fixed : ndarray of bool
        Quarters whose additions are a calibrated total (not to be raised).
    scale : float
        The scale the targets are at (1: the published sizes).
    additions_block : ndarray of int
        Which ``[[additions_totals]]`` block each quarter belongs to (-1: none). The
        block's total is the calibrated figure; its split over the quarters is
        an assumption, so a quarter may take additions from a later quarter of
        its block when rounding at a small scale leaves it short.
    black, not_white, under_18, under_25, harm_zero : ndarray of int
        Exact numbers of people with each property at each quarter.
    behaviour : dict of str to ndarray
        The behaviour series.
    """

    quarters: tuple[str, ...]
    ends: np.ndarray
    starts: np.ndarray
    people: np.ndarray
    additions: np.ndarray
    additions_fixed: np.ndarray
    additions_block: np.ndarray
    black: np.ndarray
    not_white: np.ndarray
    under_18: np.ndarray
    under_25: np.ndarray
    harm_zero: np.ndarray
    behaviour: dict[str, np.ndarray]
    scale: float = 1.0


_BEHAVIOUR_DEFAULTS = {
    "offence_rate_multiplier": 1.0,
    "low_risk_removal_log_weight": 0.0,
    "review_miss_rate": 0.05,
    "low_risk_shared_rate": 0.1,
    "high_risk_shared_rate": 0.5,
}


def build_plan(raw: dict, scale: float, path: Path) -> Plan:
    """Turn a scenario's trajectories into exact integer targets at ``scale``."""
    if not (isinstance(scale, int | float) and np.isfinite(scale) and scale > 0):
        raise ValueError(ERR_SCALE.format(scale=scale))
    quarters = quarter_labels(raw["scenario"]["first_quarter"], raw["scenario"]["last_quarter"])
    nq = len(quarters)
    people_frames = _keyframes(raw, "people", quarters, path)
    people_raw = interpolate([(f["index"], float(f["count"])) for f in people_frames], nq)
    people = np.rint(people_raw * scale).astype(np.int64)
    additions, fixed, block = _additions(raw, quarters, scale, path)
    _check_smallest_scale(raw, scale, people, additions, block, quarters, path)
    counts = {
        name: _share_counts(raw, name, quarters, people_raw, people, scale, path)
        for name in _SHARE_SERIES
    }
    behaviour = {
        name: behaviour_series(raw, name, quarters, _BEHAVIOUR_DEFAULTS[name], path)
        for name in BEHAVIOUR_TRAJECTORIES
    }
    plan = Plan(
        quarters=quarters,
        ends=quarter_end_days(quarters),
        starts=quarter_start_days(quarters),
        people=people,
        additions=additions,
        additions_fixed=fixed,
        additions_block=block,
        black=counts["black_share"],
        not_white=counts["not_white_share"],
        under_18=counts["under_18_share"],
        under_25=counts["under_25_share"],
        harm_zero=counts["harm_zero_share"],
        behaviour=behaviour,
        scale=float(scale),
    )
    _check_plan(plan, path)
    return plan


def _check_smallest_scale(
    raw: dict,
    scale: float,
    people: np.ndarray,
    additions: np.ndarray,
    block: np.ndarray,
    quarters: tuple[str, ...],
    path: Path,
) -> None:
    """Refuse a scale below the scenario's declared ``smallest_scale``, saying why."""
    smallest = raw["scenario"].get("smallest_scale")
    if smallest is None:
        return
    if isinstance(smallest, bool) or not isinstance(smallest, int | float) or not 0 < smallest < np.inf:
        raise ValueError(ERR_SMALLEST_SCALE.format(path=path, value=smallest))
    if scale >= smallest:
        return
    totals = [
        f"{int(additions[block == b].sum())} additions {quarters[int(np.argmax(block == b))]}–"
        f"{quarters[len(block) - 1 - int(np.argmax(block[::-1] == b))]}"
        for b in sorted(set(block[block >= 0].tolist()))
    ]
    raise ValueError(
        ERR_SCALE_TOO_SMALL.format(
            path=path,
            scale=scale,
            name=raw["scenario"].get("name", path.stem),
            smallest=float(smallest),
            people=int(people.min()),
            quarter=quarters[int(np.argmin(people))],
            totals=f" and its calibrated additions total is {', '.join(totals)}" if totals else "",
        )
    )


def _additions(
    raw: dict, quarters: tuple[str, ...], scale: float, path: Path
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    nq = len(quarters)
    frames = _keyframes(raw, "additions", quarters, path)
    series = interpolate([(f["index"], float(f["count"])) for f in frames], nq) * scale
    additions = np.rint(series).astype(np.int64)
    fixed = np.zeros(nq, dtype=bool)
    block_of = np.full(nq, -1, dtype=np.int64)
    for b, block in enumerate(raw.get("additions_totals", [])):
        lo, hi = (
            quarters.index(normalise_quarter(block["from"])),
            quarters.index(normalise_quarter(block["to"])),
        )
        k = hi - lo + 1
        total = int(round(block["count"] * scale))
        weights = np.asarray(block.get("weights", [1.0] * k), dtype=float)
        if len(weights) != k:
            raise ValueError(ERR_WEIGHTS.format(path=path, k=k, got=len(weights)))
        additions[lo : hi + 1] = largest_remainder(weights, total)
        fixed[lo : hi + 1] = True
        block_of[lo : hi + 1] = b
    additions[0] = 0
    return additions, fixed, block_of


def _share_counts(
    raw: dict,
    name: str,
    quarters: tuple[str, ...],
    people_raw: np.ndarray,
    people: np.ndarray,
    scale: float,
    path: Path,
) -> np.ndarray:
    frames = _keyframes(raw, name, quarters, path)
    if not frames:
        raise ValueError(ERR_MISSING_KEY.format(path=path, section="trajectories", key=name))
    points = []
    for f in frames:
        value = f["share"] if f["kind"] == "share" else f["count"] / people_raw[f["index"]]
        points.append((f["index"], float(value)))
    counts = np.rint(interpolate(points, len(quarters)) * people).astype(np.int64)
    for f in frames:
        if f["kind"] == "count":
            counts[f["index"]] = int(round(f["count"] * scale))
    return counts


def _check_plan(plan: Plan, path: Path) -> None:
    for i, q in enumerate(plan.quarters):
        n = plan.people[i]
        problems = []
        if n <= 0:
            problems.append(f"list size {n} is not positive")
        if plan.black[i] > plan.not_white[i]:
            problems.append(
                f"more Black people ({plan.black[i]}) than non-White ({plan.not_white[i]})"
            )
        if plan.under_18[i] > plan.under_25[i]:
            problems.append(
                f"more under 18 ({plan.under_18[i]}) than under 25 ({plan.under_25[i]})"
            )
        if max(plan.not_white[i], plan.under_25[i], plan.harm_zero[i]) > n:
            problems.append("a share target exceeds the list size")
        if problems:
            raise ValueError(ERR_PLAN.format(path=path, quarter=q, problem="; ".join(problems)))


# --------------------------------------------------------------------------- targets


def calibration_targets(raw: dict, plan: Plan, scale: float, path: Path) -> list[dict[str, Any]]:
    """Every published figure the scenario calibrates to, as check() specs.

    Each spec has ``id, quarter, figure, measure, target, tolerance, kind,
    source`` and any parameters of its measure (``borough``, ``from``, ``to``).
    ``kind`` is ``"share"`` (absolute tolerance), ``"count"`` (relative
    tolerance) or ``"above"`` (one-sided: achieved must exceed target).
    """
    sources = raw["sources"]
    cal = raw.get("calibration", {})
    share_tol = float(cal.get("share_tolerance", 0.01))
    count_tol = float(cal.get("count_tolerance", 0.005))
    specs: list[dict[str, Any]] = []

    def cite(sid: str) -> str:
        return f"{sid} {sources[sid]}"

    for name, measure in TRAJECTORY_MEASURES.items():
        trajectory = raw.get("trajectories", {}).get(name, {})
        for f in _keyframes(raw, name, plan.quarters, path):
            sid = f.get("source", ASSUMPTION)
            if sid == ASSUMPTION:
                continue
            figure = f.get("figure", trajectory.get("figure", name))
            if f["kind"] == "share":
                specs.append(
                    dict(
                        measure=measure, target=float(f["share"]), tolerance=share_tol, kind="share"
                    )
                )
            else:
                m = measure if name == "people" else measure.replace("share_", "count_")
                specs.append(
                    dict(
                        measure=m,
                        target=float(f["count"]) * scale,
                        tolerance=count_tol,
                        kind="count",
                    )
                )
            specs[-1].update(id=sid, quarter=f["quarter"], figure=figure, source=cite(sid))
    for key, measure in INITIAL_MEASURES.items():
        item = raw.get("initial", {}).get(key)
        if isinstance(item, dict) and item.get("source", ASSUMPTION) != ASSUMPTION:
            specs.append(
                dict(
                    id=item["source"],
                    quarter=plan.quarters[0],
                    figure=item.get("figure", key),
                    measure=measure,
                    target=float(item["share"]),
                    tolerance=share_tol,
                    kind="share",
                    source=cite(item["source"]),
                )
            )
    for block in raw.get("additions_totals", []):
        if block.get("source", ASSUMPTION) == ASSUMPTION:
            continue
        specs.append(
            {
                "id": block["source"],
                "quarter": normalise_quarter(block["to"]),
                "figure": block.get("figure", "people added"),
                "measure": "count_additions",
                "target": float(block["count"]) * scale,
                "tolerance": count_tol,
                "kind": "count",
                "source": cite(block["source"]),
                "from": normalise_quarter(block["from"]),
                "to": normalise_quarter(block["to"]),
            }
        )
    for extra in raw.get("checks", []):
        sid = extra.get("source", extra["id"])
        direction = extra.get("direction", "")
        specs.append(
            {
                "id": extra["id"],
                "quarter": normalise_quarter(extra["quarter"]),
                "figure": extra.get("figure", extra["measure"]),
                "measure": extra["measure"],
                "target": float(extra["share"]),
                "tolerance": 0.0 if direction else share_tol,
                "kind": "above" if direction == "above" else "share",
                "source": cite(sid),
                "borough": extra.get("borough"),
            }
        )
    order = {q: i for i, q in enumerate(plan.quarters)}
    specs.sort(key=lambda s: (order[s["quarter"]], _id_number(s["id"]), s["measure"]))
    return specs


def _id_number(sid: str) -> tuple[str, int]:
    digits = "".join(ch for ch in sid if ch.isdigit())
    return (sid.rstrip("0123456789"), int(digits) if digits else 0)
