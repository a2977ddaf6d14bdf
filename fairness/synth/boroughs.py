"""Borough practice in the synthetic matrix: where people are listed and how boroughs differ.

Each borough gets a listing weight per ethnic group from Census 2021
residents, tilted toward boroughs with more residents aged 10-24, times a
practice multiplier; a zero-harm offset (how readily it lists people with no
recorded harm); band cut-points; and a review-miss multiplier. Planted values
come from the scenario file; the rest are drawn from the seed (within two
standard deviations, so that the planted values are the clear outliers).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from fairness.definitions import BOROUGH_CODES, BOROUGHS, ETHNICITIES
from fairness.synth.place import Place
from fairness.synth.quota import capped_largest_remainder

CENSUS_DIR = Path(__file__).resolve().parents[2] / "data" / "reference" / "census"
ETHNICITY_FILE = "ethnicity_by_borough_census2021.csv"
AGE_FILE = "age_by_borough_census2021.csv"

ERR_BOROUGH = "{where}: {name!r} is not one of the 32 boroughs; valid: {valid}"
ERR_CUTS = (
    "{where}: cut-points for {name} must satisfy 0 < amber < red; got amber={amber}, red={red}"
)

#: Census column holding the residents of each matrix ethnic group ("Not
#: stated" has no census group: all residents stand in).
_CENSUS_COLUMN = {
    "White": "white",
    "Black": "black",
    "Asian": "asian",
    "Mixed": "mixed",
    "Other": "other",
    "Not stated": "all_usual_residents",
}


@dataclass(frozen=True)
class Boroughs:
    """Per-borough arrays in :data:`fairness.definitions.BOROUGHS` order.

    Attributes
    ----------
    residents, residents_10_24 : ndarray of int
        Census 2021 usual residents, all ages and aged 10-24.
    weight_by_ethnicity : ndarray, shape (6, 32)
        P(borough | ethnic group) for a new listing; rows follow ETHNICITIES.
    listing_multiplier, zero_harm_offset, miss_multiplier : ndarray of float
        Practice parameters (planted or drawn).
    non_violent_share : ndarray of float
        Chance a new listing is "non-violent" (listed without recent violence).
    amber, red : ndarray of float
        Band cut-points: Amber from ``amber``, Red from ``red``.
    """

    residents: np.ndarray
    residents_10_24: np.ndarray
    weight_by_ethnicity: np.ndarray
    listing_multiplier: np.ndarray
    zero_harm_offset: np.ndarray
    miss_multiplier: np.ndarray
    non_violent_share: np.ndarray
    amber: np.ndarray
    red: np.ndarray
    #: The areas (default: the 32 London boroughs) and their codes; another place's with ``place``.
    names: tuple[str, ...] = BOROUGHS
    codes: tuple[str, ...] = tuple(BOROUGH_CODES[b] for b in BOROUGHS)


def read_census() -> pd.DataFrame:
    """Census 2021 residents of the 32 boroughs by ethnic group, with the 10-24 count."""
    eth = pd.read_csv(CENSUS_DIR / ETHNICITY_FILE)
    age = pd.read_csv(CENSUS_DIR / AGE_FILE)[["la_code", "age_10_24"]]
    table = eth.merge(age, on="la_code", how="left").set_index("la_code")
    return table.loc[[BOROUGH_CODES[b] for b in BOROUGHS]]


def planted(raw: dict, key: str, where: str) -> dict[int, float]:
    """Planted per-borough values from a scenario table, keyed by borough index."""
    out = {}
    for name, value in raw.get(key, {}).items():
        if name not in BOROUGHS:
            raise ValueError(ERR_BOROUGH.format(where=where, name=name, valid=", ".join(BOROUGHS)))
        out[BOROUGHS.index(name)] = value
    return out


def _drawn_with_planted(
    rng: np.random.Generator, sd: float, planted_values: dict[int, float], log: bool, n: int = len(BOROUGHS)
) -> np.ndarray:
    # unplanned variation is kept within 2 sd, so the planted values stay the clear outliers
    draws = np.clip(rng.normal(0.0, sd, size=n), -2 * sd, 2 * sd)
    values = np.exp(draws) if log else draws
    for i, v in planted_values.items():
        values[i] = float(v)
    return values


def _cut_points(raw: dict, names: tuple[str, ...] = BOROUGHS) -> tuple[np.ndarray, np.ndarray]:
    bands = raw.get("bands", {})
    amber = np.full(len(names), float(bands.get("amber", 12.0)))
    red = np.full(len(names), float(bands.get("red", 35.0)))
    for i, cuts in planted(bands, "boroughs", "[bands.boroughs]").items():
        amber[i] = float(cuts.get("amber", amber[i]))
        red[i] = float(cuts.get("red", red[i]))
    for i in range(len(names)):
        if not 0 < amber[i] < red[i]:
            raise ValueError(
                ERR_CUTS.format(where="[bands]", name=names[i], amber=amber[i], red=red[i])
            )
    return amber, red


def build_boroughs(raw: dict, rng: np.random.Generator, place: Place | None = None) -> Boroughs:
    """Borough arrays for a scenario: census weights, planted practice, drawn variation.

    With ``place`` (:func:`fairness.synth.place.place_for`), the areas of
    another place weighted by their residents of each group; the scenario
    must then plant nothing by borough name (see
    :func:`fairness.synth.place.scenario_for_place`).
    """
    if place is not None:
        return _build_place(raw, rng, place)
    census = read_census()
    cfg = raw.get("boroughs", {})
    multiplier = _drawn_with_planted(
        rng,
        float(cfg.get("listing_multiplier_sd", 0.0)),
        planted(cfg, "listing_multiplier", "[boroughs.listing_multiplier]"),
        log=True,
    )
    offset = _drawn_with_planted(
        rng,
        float(cfg.get("zero_harm_offset_sd", 0.0)),
        planted(cfg, "zero_harm_logit_offset", "[boroughs.zero_harm_logit_offset]"),
        log=False,
    )
    miss = np.ones(len(BOROUGHS))
    for i, v in planted(
        raw.get("reviews", {}), "borough_miss_multiplier", "[reviews.borough_miss_multiplier]"
    ).items():
        miss[i] = float(v)
    residents = census["all_usual_residents"].to_numpy(dtype=float)
    young = census["age_10_24"].to_numpy(dtype=float)
    youth = (young / residents) / (young.sum() / residents.sum())
    tilt = youth ** float(cfg.get("youth_exponent", 1.0)) * multiplier
    weights = np.stack(
        [census[_CENSUS_COLUMN[g]].to_numpy(dtype=float) * tilt for g in ETHNICITIES]
    )
    weights /= weights.sum(axis=1, keepdims=True)
    base = float(cfg.get("non_violent_share", 0.3))
    non_violent = 1.0 / (1.0 + np.exp(-(np.log(base / (1.0 - base)) + offset)))
    amber, red = _cut_points(raw)
    return Boroughs(
        residents=residents.astype(np.int64),
        residents_10_24=young.astype(np.int64),
        weight_by_ethnicity=weights,
        listing_multiplier=multiplier,
        zero_harm_offset=offset,
        miss_multiplier=miss,
        non_violent_share=non_violent,
        amber=amber,
        red=red,
    )


def _build_place(raw: dict, rng: np.random.Generator, place: Place) -> Boroughs:
    """:func:`build_boroughs` for another place: residents by group from its benchmark, no youth tilt."""
    cfg = raw.get("boroughs", {})
    n = len(place.names)
    multiplier = _drawn_with_planted(rng, float(cfg.get("listing_multiplier_sd", 0.0)), {}, log=True, n=n)
    offset = _drawn_with_planted(rng, float(cfg.get("zero_harm_offset_sd", 0.0)), {}, log=False, n=n)
    residents = place.residents["Not stated"]
    weights = np.stack([place.residents[g] * multiplier for g in ETHNICITIES])
    weights /= weights.sum(axis=1, keepdims=True)
    base = float(cfg.get("non_violent_share", 0.3))
    non_violent = 1.0 / (1.0 + np.exp(-(np.log(base / (1.0 - base)) + offset)))
    amber, red = _cut_points(raw, place.names)
    return Boroughs(
        residents=residents.astype(np.int64),
        residents_10_24=np.zeros(n, np.int64),  # not known for another place
        weight_by_ethnicity=weights,
        listing_multiplier=multiplier,
        zero_harm_offset=offset,
        miss_multiplier=np.ones(n),
        non_violent_share=non_violent,
        amber=amber,
        red=red,
        names=place.names,
        codes=place.codes,
    )


def zero_harm_quota(
    people: np.ndarray, room: np.ndarray, total: int, offset: np.ndarray, rng: np.random.Generator | None = None
) -> tuple[np.ndarray, float]:
    """Zero-harm counts per borough summing exactly to ``total``.

    Borough ``b``'s expected share is ``expit(mu + offset[b])`` with the
    common ``mu`` solved so the expected counts sum to ``total``. With
    ``rng``, the counts are a multinomial draw of ``total`` over the boroughs
    in proportion to their expected counts, so each borough's count varies as
    a real borough's would (binomial noise on top of its practice); without
    it, they are the expected counts rounded by largest remainder. Either way
    no borough gets more than ``room[b]`` (people who could score zero): the
    excess is shared out again by largest remainder. Returns the counts and
    the common share ``expit(mu)``.
    """
    lo, hi = -30.0, 30.0
    for _ in range(80):
        mu = (lo + hi) / 2
        expected = people / (1.0 + np.exp(-(mu + offset)))
        lo, hi = (mu, hi) if expected.sum() < total else (lo, mu)
    room = np.asarray(room, dtype=np.int64)
    if rng is None or total <= 0 or expected.sum() <= 0:
        counts = capped_largest_remainder(expected, int(total), room)
    else:
        drawn = np.minimum(rng.multinomial(int(total), expected / expected.sum()), room)
        spare = int(total) - int(drawn.sum())
        counts = drawn + (capped_largest_remainder(expected, spare, room - drawn) if spare else 0)
    return counts, float(1.0 / (1.0 + np.exp(-mu)))
