"""Where a synthetic matrix is set: the London boroughs by default, or the areas of a profile.

``fairness synth --profile NAME`` (:func:`fairness.synth.generate` with
``profile=``) lists people in the areas of another place, in proportion to
the residents of each group in the profile's headline benchmark (its first).
Everything else comes from the scenario unchanged: the list's size, its
Black and non-White shares, ages, harm scores, bands and defects, which were
calibrated to the published figures about the Met's matrix. The scenario's
planted borough practices and its checks of named boroughs name London
boroughs, so they are left out for another place (the truth file says so),
and there being no census of residents aged 10-24 in a profile, no area is
weighted by its young residents.

Without a profile (or with ``london-gvm``) nothing here is used, and the
default synthetic matrix is byte for byte what it was.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np

from fairness.definitions import ETHNICITIES, RISK_BANDS

__all__ = ["Place", "place_for", "scenario_for_place", "ERR_GROUPS", "ERR_BANDS", "ERR_AGES"]

ERR_GROUPS = ("synth --profile {profile}: the profile's groups must be {valid} (the scenario's calibrated "
              "shares are of Black and non-White people, and the rest are split among Asian, Mixed, Other and "
              "Not stated); the profile has {found}")
ERR_BANDS = ("synth --profile {profile}: the profile's bands must be {valid} (the scenario's cut-points make "
             "Red, Amber and Green); the profile has {found}")
ERR_AGES = ("synth --profile {profile}: the profile's ages ({lo}–{hi}) must include 10–99, the ages the "
            "synthetic people can have")

#: The scenario's tables whose keys name London boroughs (section, key).
LONDON_TABLES: tuple[tuple[str, str], ...] = (
    ("boroughs", "listing_multiplier"),
    ("boroughs", "zero_harm_logit_offset"),
    ("bands", "boroughs"),
    ("reviews", "borough_miss_multiplier"),
)


@dataclass(frozen=True)
class Place:
    """The areas of a profile and their residents, as the synthetic engine needs them.

    Attributes
    ----------
    profile : str
        The profile's name.
    names, codes : tuple of str
        The areas in the profile's order, and their codes ("" where none).
    residents : dict of str to ndarray
        Residents of each group of :data:`fairness.definitions.ETHNICITIES` by
        area ("Not stated": all residents), from the headline benchmark.
    benchmark : str
        The benchmark's name and label, for the truth file.
    dropped : tuple of str
        Columns the profile does not declare, left out of the matrix:
        ``risk_band`` without ``[bands]``, an outcome column not among its
        ``[[outcomes]]``.
    """

    profile: str
    names: tuple[str, ...]
    codes: tuple[str, ...]
    residents: dict[str, np.ndarray]
    benchmark: str
    dropped: tuple[str, ...] = ()


def place_for(profile: Any) -> Place | None:
    """The place of ``profile`` (a name, a path or a Profile); None for ``london-gvm`` or None.

    Raises :class:`fairness.errors.ProfileError` when the profile's groups,
    bands or ages cannot hold what the synthetic engine makes.
    """
    if profile is None:
        return None
    from fairness.errors import ProfileError
    from fairness.profiles import DEFAULT_PROFILE, load_profile

    p = load_profile(profile)
    if p.name == DEFAULT_PROFILE:
        return None
    if set(p.groups.all) != set(ETHNICITIES):
        raise ProfileError(ERR_GROUPS.format(profile=p.name, valid=", ".join(ETHNICITIES),
                                             found=", ".join(p.groups.all)))
    if p.bands.order and tuple(p.bands.order) != RISK_BANDS:
        raise ProfileError(ERR_BANDS.format(profile=p.name, valid=", ".join(RISK_BANDS),
                                            found=", ".join(p.bands.order)))
    if p.age.min > 10 or p.age.max < 99:
        raise ProfileError(ERR_AGES.format(profile=p.name, lo=p.age.min, hi=p.age.max))
    bench = p.benchmark()  # the headline benchmark
    table = bench.table.pivot(index="borough", columns="group", values="count").reindex(list(p.area_names))
    residents = {g: table[g].to_numpy(dtype=float) for g in p.groups.names}
    residents[p.groups.not_stated] = table[list(p.groups.names)].sum(axis=1).to_numpy(dtype=float)
    dropped = (() if p.bands.order else ("risk_band",)) + tuple(
        c for c in ("outcome_violence_12m",) if c not in {o.column for o in p.outcomes})
    return Place(profile=p.name, names=p.area_names, codes=tuple(a.code for a in p.areas),
                 residents=residents, benchmark=f"{bench.name} ({bench.label})", dropped=dropped)


def scenario_for_place(raw: dict[str, Any], place: Place) -> tuple[dict[str, Any], list[str]]:
    """The scenario without what names London boroughs, and a note of each thing left out."""
    out = copy.deepcopy(raw)
    notes = []
    for section, key in LONDON_TABLES:
        table = out.get(section, {})
        if table.get(key):
            notes.append(f"[{section}.{key}] ({', '.join(table[key])}): names London boroughs, not used for "
                         f"profile {place.profile!r}")
            del table[key]
    kept = []
    for check in out.get("checks", []):
        if check.get("borough") and check["borough"] not in place.names:
            notes.append(f"check {check.get('id', '')} ({check['borough']}): names a London borough, not used for "
                         f"profile {place.profile!r}")
        else:
            kept.append(check)
    if "checks" in out:
        out["checks"] = kept
    return out, notes

