"""A profile's definitions in force: the areas, groups, bands, ages and outcome the audit counts.

:mod:`fairness.definitions` declares, as data, everything the engines derive
from a row (areas, groups, band order and thresholds, age bands, the outcome
column, which columns are required), and the engines read those values when
they run, never at import. :func:`profile_definitions` puts a profile's values
there for the length of a block, so the record-level audit (the cube, the
data-protection checks, case mix, band performance, trends, sharing) follows
the profile with no second code path. With ``london-gvm`` nothing changes.

The values are module state: a lock (:func:`definitions_lock`, which
:func:`fairness.audit` holds) makes audits in several threads run one after the
other, each with its own profile's definitions.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
from collections.abc import Iterator
from types import MappingProxyType
from typing import Any

from fairness.profiles._profile import DEFAULT_PROFILE, Profile, load_profile

__all__ = ["definitions_lock", "definitions_of", "missing_declarations", "profile_definitions"]

_LOCK = threading.RLock()


def definitions_lock() -> threading.RLock:
    """The lock held while a profile's definitions are in force (:func:`fairness.audit` holds it
    too, so audits in several threads run one after the other and each sees its own definitions)."""
    return _LOCK

#: What each record-level output needs a profile to declare, and the words for its absence.
NOT_DECLARED = "not assessable: {profile} declares no {thing}"


def definitions_of(profile: Profile) -> dict[str, Any]:
    """The values of :mod:`fairness.definitions` under ``profile``."""
    from fairness import definitions as defs

    bands = profile.bands.order
    lowest = bands[-1] if bands else defs.RISK_BANDS[-1]
    flags = tuple(
        dataclasses.replace(f, condition=dataclasses.replace(f.condition, value=lowest),
                            meaning=f"in the {lowest} band (the least severe)")
        if f.name == "green" else f
        for f in defs.FLAGS)
    rules = tuple(dataclasses.replace(r, label=f"{lowest} band (the least severe)") if r.name == "green_band" else r
                  for r in defs.NO_RISK_RULES)
    optional_extra = []
    required = list(defs.REQUIRED_COLUMNS)
    for column, declared in (("harm_score", profile.list.has_harm_score), ("risk_band", bool(bands)),
                             ("snapshot_date", profile.list.has_snapshots)):
        if not declared:
            required.remove(column)
            if column != "risk_band":  # a list without bands: a risk_band column is not read (kept as text)
                optional_extra.append(column)
    outcome = profile.outcomes[0] if profile.outcomes else None
    optional = [c for c in defs.OPTIONAL_COLUMNS if c != "outcome_violence_12m"] + optional_extra
    optional += [o.column for o in profile.outcomes if o.column not in optional and o.column not in required]
    return {
        "BOROUGH_CODES": {a.name: a.code for a in profile.areas},
        "BOROUGHS": profile.area_names,
        "ETHNICITIES": profile.groups.all,
        "CENSUS_ETHNICITIES": profile.groups.names,
        "DEFAULT_REFERENCE": profile.groups.reference,
        "SHARE_GROUP": profile.groups.share_group,
        "RISK_BANDS": bands,
        "BAND_THRESHOLDS": MappingProxyType(dict(profile.bands.thresholds)),
        "FLAGS": flags,
        "NO_RISK_RULES": rules,
        "AGE_MIN": profile.age.min,
        "AGE_MAX": profile.age.max,
        "AGE_BANDS": tuple(defs.AgeBand(label, lo, hi) for label, lo, hi in profile.age.bands),
        "OUTCOME_COLUMN": outcome.column if outcome else None,
        "OUTCOME_LABEL": outcome.label if outcome else "",
        "OUTCOME_WINDOW_MONTHS": outcome.window_months if outcome else 0,
        "PARTNER_TYPES": profile.partners or defs.PARTNER_TYPES,
        "CHECK_PARAMETERS": dataclasses.replace(defs.CHECK_PARAMETERS,
                                                min_age_at_addition=profile.age.youngest_at_addition),
        "REQUIRED_COLUMNS": tuple(required),
        "OPTIONAL_COLUMNS": tuple(optional),
        "ALL_COLUMNS": tuple(required) + tuple(optional),
    }


def missing_declarations(profile: Profile) -> dict[str, str]:
    """What ``profile`` does not declare that some output needs: output -> "not assessable: ... declares no ...".

    Keys: ``bands`` (band performance, band consistency, the green-band no-risk
    share), ``outcome`` (band performance), ``harm_score`` (no-risk
    definitions that read it, zero-harm checks), ``snapshots`` (checks and
    trends across snapshots).
    """
    out = {}
    if not profile.bands.order:
        out["bands"] = NOT_DECLARED.format(profile=profile.name, thing="bands")
    if not profile.outcomes:
        out["outcome"] = NOT_DECLARED.format(profile=profile.name, thing="outcome column")
    if not profile.list.has_harm_score:
        out["harm_score"] = NOT_DECLARED.format(profile=profile.name, thing="harm score")
    if not profile.list.has_snapshots:
        out["snapshots"] = NOT_DECLARED.format(profile=profile.name, thing="snapshots (the list is pooled)")
    return out


@contextlib.contextmanager
def profile_definitions(profile: str | os.PathLike[str] | Profile | None) -> Iterator[Profile]:
    """Make ``profile``'s values those of :mod:`fairness.definitions` inside the block.

    ``None`` or ``london-gvm``: nothing changes (the defaults are London's).
    """
    from fairness import definitions as defs

    p = load_profile(profile if profile is not None else DEFAULT_PROFILE)
    if p.name == DEFAULT_PROFILE and p.path == load_profile(DEFAULT_PROFILE).path:
        yield p
        return
    with _LOCK:
        values = definitions_of(p)
        saved = {k: getattr(defs, k) for k in values}
        try:
            for k, v in values.items():
                setattr(defs, k, v)
            yield p
        finally:
            for k, v in saved.items():
                setattr(defs, k, v)
