"""The planted ground truth of a synthetic matrix: parameters, outliers, defects, exact counts.

Counts here are computed from the generated records with the stated
definitions (the same ones :mod:`fairness.checks` uses), so a check that
reproduces a count has found exactly what was planted.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fairness.definitions import ETHNICITIES, RISK_BANDS
from fairness.synth.engine import GREEN, Simulation
from fairness.synth.frame import Records
from fairness.synth.scenario import jsonable

TRUTH_FORMAT = "fairness.synth truth, version 1"
DIGITS = 6

OVERDUE_DAYS = 92

DEFINITIONS = {
    "victims_as_offenders": "victim_flag true, violent_offences_2y == 0 and harm_score == 0",
    "low_risk_shared": "risk_band Green or harm_score == 0, and shared_with not empty",
    "reviews_overdue": (
        f"last_reviewed more than {OVERDUE_DAYS} days before snapshot_date; in this generator that is "
        "the same as before the previous quarter end (reviews happen at least 30 days before a quarter "
        "ends, so a missed review is always at least 120 days old)"
    ),
    "zero_harm_retained": "harm_score == 0 in this and the previous k-1 consecutive quarterly snapshots (k = min_consecutive_quarters)",
    "relisted": "person_id present in this snapshot, absent from the previous one, and present in an earlier one",
    "test_records": "person_id looks like test data (starts TEST or DUMMY); every other field is valid",
    "duplicate_person": "a second row for the same person_id and snapshot_date, in another borough (a validation error)",
}


def clean(value: Any) -> Any:
    """JSON-native copy: numpy scalars to Python, floats rounded to 6 places, NaN to None."""
    value = jsonable(value)
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean(v) for v in value]
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, float):
        return round(value, DIGITS) if np.isfinite(value) else None
    return value


def by_quarter(sim: Simulation, records: Records, mask: np.ndarray) -> dict[str, int]:
    """Count of ``mask`` per quarter label."""
    counts = np.bincount(records.quarter[mask], minlength=len(sim.plan.quarters))
    return {q: int(c) for q, c in zip(sim.plan.quarters, counts, strict=True)}


def defect_masks(sim: Simulation, records: Records, ids: np.ndarray) -> dict[str, np.ndarray]:
    """Per-record masks of every planted defect."""
    pool = sim.pool
    k = int(
        sim.raw.get("defects", {}).get("zero_harm_retained", {}).get("min_consecutive_quarters", 4)
    )
    snapshot = sim.plan.ends[records.quarter]
    text = ids.astype(str)
    test_person = np.char.startswith(text, "TEST") | np.char.startswith(text, "DUMMY")
    return {
        "victims_as_offenders": pool.victim[records.person]
        & (records.violent_2y == 0)
        & (records.harm == 0),
        "low_risk_shared": ((records.band == GREEN) | (records.harm == 0)) & (records.partners > 0),
        "reviews_overdue": (snapshot - records.last_reviewed) > OVERDUE_DAYS,
        "zero_harm_retained": records.zero_run >= k,
        "relisted": records.relisted & ~records.duplicate,
        "test_records": test_person[records.person],
        "duplicate_person": records.duplicate,
    }


def defects(
    sim: Simulation, records: Records, ids: np.ndarray, test_ids: list[str]
) -> dict[str, Any]:
    """Each defect: definition, the scenario parameter that plants it, exact counts."""
    d = sim.raw.get("defects", {})
    params = {
        "victims_as_offenders": {
            "victim_weight_non_violent": d.get("victims_as_offenders", {}).get(
                "victim_weight_non_violent", 1.0
            ),
            "victim_share": sim.raw.get("additions", {}).get("victim_share"),
        },
        "low_risk_shared": {
            "low_risk_shared_rate": sim.plan.behaviour["low_risk_shared_rate"].tolist()
        },
        "reviews_overdue": {
            "review_miss_rate": sim.plan.behaviour["review_miss_rate"].tolist(),
            "planted_misses": int(records.missed_review.sum()),
        },
        "zero_harm_retained": {
            "min_consecutive_quarters": d.get("zero_harm_retained", {}).get(
                "min_consecutive_quarters", 4
            )
        },
        "relisted": {"share_of_additions": d.get("relisted", {}).get("share_of_additions", 0.0)},
        "test_records": {
            "count": d.get("test_records", {}).get("count", 0),
            "person_ids": test_ids,
        },
        "duplicate_person": {"share": d.get("duplicate_person", {}).get("share", 0.0)},
    }
    out = {}
    for name, mask in defect_masks(sim, records, ids).items():
        out[name] = {
            "definition": DEFINITIONS[name],
            "parameters": params[name],
            "records": int(mask.sum()),
            "people": int(
                np.count_nonzero(np.bincount(records.person[mask], minlength=sim.pool.n))
            ),
            "records_by_quarter": by_quarter(sim, records, mask),
        }
    return out


def borough_truth(sim: Simulation, records: Records) -> dict[str, Any]:
    """Per borough: census denominators, planted practice, achieved counts and rates by quarter."""
    b = sim.boroughs
    nq = len(sim.plan.quarters)
    real = ~records.duplicate
    people = np.zeros((len(b.names), nq), np.int64)
    zero = np.zeros((len(b.names), nq), np.int64)
    np.add.at(people, (records.borough[real], records.quarter[real]), 1)
    np.add.at(
        zero,
        (records.borough[real], records.quarter[real]),
        (records.harm[real] == 0).astype(np.int64),
    )
    out = {}
    for i, name in enumerate(b.names):
        n = people[i]
        out[name] = {
            "ons_code": b.codes[i],
            "residents_2021": int(b.residents[i]),
            "residents_10_24_2021": int(b.residents_10_24[i]),
            "listing_multiplier": float(b.listing_multiplier[i]),
            "zero_harm_logit_offset": float(b.zero_harm_offset[i]),
            "non_violent_listing_share": float(b.non_violent_share[i]),
            "review_miss_multiplier": float(b.miss_multiplier[i]),
            "band_cut_points": {"amber": float(b.amber[i]), "red": float(b.red[i])},
            "people_by_quarter": dict(zip(sim.plan.quarters, n.tolist(), strict=True)),
            "listing_rate_per_1000_aged_10_24_by_quarter": dict(
                zip(
                    sim.plan.quarters,
                    # residents aged 10-24 are not known for another place's areas: no rate
                    (1000 * n / b.residents_10_24[i] if b.residents_10_24[i] else np.full(nq, np.nan)).tolist(),
                    strict=True,
                )
            ),
            "zero_harm_share_by_quarter": dict(
                zip(
                    sim.plan.quarters,
                    np.divide(zero[i], n, out=np.full(nq, np.nan), where=n > 0).tolist(),
                    strict=True,
                )
            ),
        }
    return out


def planted_outliers(sim: Simulation, borough_table: dict[str, Any]) -> dict[str, Any]:
    """The practice differences planted on purpose (from the scenario file), with what they produced."""
    raw = sim.raw
    london = raw.get("bands", {})
    zero = []
    for name, offset in raw.get("boroughs", {}).get("zero_harm_logit_offset", {}).items():
        shares = borough_table[name]["zero_harm_share_by_quarter"]
        zero.append(
            {
                "borough": name,
                "logit_offset": float(offset),
                "direction": "more zero-harm people" if offset > 0 else "fewer zero-harm people",
                "planted_share_by_quarter": {
                    q: 1.0 / (1.0 + np.exp(-(np.log(c / (1 - c)) + offset)))
                    for q, c in zip(sim.plan.quarters, sim.zero_harm_common, strict=True)
                },
                "achieved_share_by_quarter": shares,
            }
        )
    cuts = [
        {
            "borough": name,
            "amber": float(c.get("amber", london.get("amber"))),
            "red": float(c.get("red", london.get("red"))),
            "london_amber": float(london.get("amber")),
            "london_red": float(london.get("red")),
        }
        for name, c in london.get("boroughs", {}).items()
    ]
    listing = [
        {"borough": k, "listing_multiplier": float(v)}
        for k, v in raw.get("boroughs", {}).get("listing_multiplier", {}).items()
    ]
    reviews = [
        {"borough": k, "miss_multiplier": float(v)}
        for k, v in raw.get("reviews", {}).get("borough_miss_multiplier", {}).items()
    ]
    return {
        "zero_harm": zero,
        "band_cut_points": cuts,
        "listing": listing,
        "review_practice": reviews,
    }


def outcome_truth(sim: Simulation, records: Records) -> dict[str, Any]:
    """The latent outcome model and the outcome rates it produced (known follow-up only)."""
    off = sim.raw.get("offending", {})
    known = (records.outcome >= 0) & ~records.duplicate
    eth = sim.pool.eth[records.person]

    def rate(mask: np.ndarray) -> float | None:
        m = known & mask
        return float(records.outcome[m].mean()) if m.any() else None

    return {
        "definition": sim.raw.get("outcome", {}).get(
            "description", "any violent offence in the 4 quarters after the snapshot"
        ),
        "model": (
            "offences in quarter q ~ Poisson(rate_i * exp(-age_decline * max(0, age_iq - age_peak)) * period_q); "
            "rate_i = non_violent_rate for the non-violent class, else Gamma(active_rate_shape, scale "
            "active_rate_mean / active_rate_shape); outcome_violence_12m = offences in quarters t+1..t+4 > 0"
        ),
        "ethnicity_effect": 0.0,
        "note": "no ethnicity term anywhere in the latent risk; any disparity in band performance comes from listing and scoring",
        "parameters": off,
        "missing_quarters": list(sim.plan.quarters[-4:]),
        "rate_overall": rate(np.ones(len(known), bool)),
        "rate_by_band": {band: rate(records.band == i) for i, band in enumerate(RISK_BANDS)},
        "rate_by_ethnicity": {g: rate(eth == i) for i, g in enumerate(ETHNICITIES)},
    }


def harm_truth(sim: Simulation) -> dict[str, Any]:
    """How harm scores and bands were made."""
    return {
        "model": (
            "harm = offence_weight * seriousness_i * sum_k decay_k * offences(quarter t-k, k=0..3) + "
            "exp(intel_log_mean + intel_log_sd * intelligence_it), rounded to 0.1; exactly harm_zero_share of "
            "the list (chosen per borough among people with no offence in 12 months, least intelligence "
            "first) scores 0"
        ),
        "parameters": sim.raw.get("harm", {}),
        "band_rule": "Red if harm >= red, Amber if harm >= amber, else Green (borough cut-points)",
        "london_cut_points": {
            "amber": sim.raw.get("bands", {}).get("amber"),
            "red": sim.raw.get("bands", {}).get("red"),
        },
        "common_zero_harm_share_by_quarter": dict(
            zip(sim.plan.quarters, sim.zero_harm_common, strict=True)
        ),
    }


def sizes(sim: Simulation, records: Records) -> dict[str, Any]:
    """People, additions (new and re-listed) and removals per quarter."""
    counts = np.bincount(records.quarter[~records.duplicate], minlength=len(sim.plan.quarters))
    out = {}
    for t, q in enumerate(sim.plan.quarters):
        flow = (
            sim.flows[t - 1]
            if t
            else {"additions": 0, "removals": 0, "relisted": 0, "new": int(counts[0])}
        )
        out[q] = {"people": int(counts[t]), **flow}
    return out
