"""A profile's vocabulary for validating a matrix: valid areas, groups, bands and ages.

:func:`fairness.read_matrix` and :func:`fairness.validate_frame` take
``profile=``; while they run, :func:`using_profile` makes the profile's
vocabulary the active one (a context variable, so threads and notebooks do not
see each other's). With no profile nothing changes: the built-in London
vocabulary of :mod:`fairness.definitions` is used exactly as before.

The columns keep their names (``borough`` holds the profile's area, whatever
the profile calls it; ``ethnicity`` its group). Areas are accepted by name,
any spelling the profile lists, or code; groups by name or any raw value in
the profile's ``[groups.map]``; case and surrounding spaces are ignored, and
the valid rows hold the canonical names.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import pandas as pd

from fairness.profiles._profile import Profile, load_profile

__all__ = ["Vocabulary", "active_vocabulary", "data_dictionary_for", "markdown_table", "using_profile", "vocabulary"]


@dataclass(frozen=True)
class Vocabulary:
    """What a profile allows in the matrix's columns."""

    profile: str
    categories: dict[str, tuple[str, ...]]
    lookups: dict[str, dict[str, str]]
    valid_text: dict[str, str]
    age_min: int
    age_max: int
    schema: Any  # pandera.DataFrameSchema
    #: required columns (harm_score, risk_band, snapshot_date optional where the profile says so),
    #: every known column (the profile's outcome columns included), and the boolean ones
    required: tuple[str, ...] = ()
    all_columns: tuple[str, ...] = ()
    boolean_columns: tuple[str, ...] = ()


_ACTIVE: contextvars.ContextVar[Vocabulary | None] = contextvars.ContextVar("fairness_vocabulary", default=None)


def active_vocabulary() -> Vocabulary | None:
    """The vocabulary of the profile being validated against, or None for the built-in one."""
    return _ACTIVE.get()


@contextlib.contextmanager
def using_profile(profile: str | os.PathLike[str] | Profile | None) -> Iterator[Vocabulary | None]:
    """Make ``profile``'s vocabulary the active one inside the block (None: the built-in one)."""
    vocab = None if profile is None else vocabulary(load_profile(profile))
    token = _ACTIVE.set(vocab)
    try:
        yield vocab
    finally:
        _ACTIVE.reset(token)


@lru_cache(maxsize=16)
def vocabulary(profile: Profile) -> Vocabulary:
    """The vocabulary of ``profile`` (cached)."""
    import pandera.pandas as pa

    from fairness.definitions import RISK_BANDS, SEXES
    from fairness.io.schema import MatrixSchema

    bands = profile.bands.order or RISK_BANDS
    categories = {"borough": profile.area_names, "ethnicity": profile.groups.all, "sex": SEXES, "risk_band": bands}
    lookups = {
        "borough": profile.area_lookup(codes=True),
        "ethnicity": profile.groups.lookup(),
        "sex": {s.lower(): s for s in SEXES},
        "risk_band": {b.lower(): b for b in bands},
    }
    valid_text = {
        "borough": (f"one of the {len(profile.areas)} {profile.place.area_word_plural} of profile {profile.name!r} "
                    f"(name, spelling or code; `fairness profiles {profile.name}` lists them)"),
        "ethnicity": ", ".join(profile.groups.all) + (" (or a value in the profile's [groups.map])"
                                                      if profile.groups.mapping else ""),
        "sex": ", ".join(SEXES),
        "risk_band": ", ".join(bands),
        "age": f"{profile.age.min}–{profile.age.max} at snapshot_date",
    }
    base = MatrixSchema.to_schema()

    def meta(col: str) -> dict[str, Any]:
        return {**(base.columns[col].metadata or {}), "valid": valid_text[col]}

    schema = base.update_columns({
        "borough": {"checks": [pa.Check.isin(list(categories["borough"]))], "metadata": meta("borough"),
                    "description": f"{profile.place.area_word[:1].upper()}{profile.place.area_word[1:]} holding the record "
                                   f"({profile.place.police})"},
        "ethnicity": {"checks": [pa.Check.isin(list(categories["ethnicity"]))], "metadata": meta("ethnicity"),
                      "description": f"Group as recorded ({', '.join(profile.groups.names)}"
                                     + (f"; {profile.groups.not_stated!r} has no benchmark)"
                                        if profile.groups.not_stated else ")")},
        "risk_band": {"checks": [pa.Check.isin(list(bands))], "metadata": meta("risk_band")},
        "shared_with": {"metadata": {**(base.columns["shared_with"].metadata or {}),
                                     "valid": "partner types separated by ';' (" + ", ".join(profile.partners)
                                              + "; anything else is counted as Other); empty: not shared"}},
        "age": {"checks": [pa.Check.ge(profile.age.min), pa.Check.le(profile.age.max)], "metadata": meta("age")},
    })
    from fairness.profiles._apply import definitions_of

    values = definitions_of(profile)
    outcomes = tuple(o.column for o in profile.outcomes)
    schema = schema.update_columns({c: {"required": False} for c in ("harm_score", "risk_band", "snapshot_date")
                                    if c not in values["REQUIRED_COLUMNS"]})
    return Vocabulary(profile=profile.name, categories=categories, lookups=lookups, valid_text=valid_text,
                      age_min=profile.age.min, age_max=profile.age.max, schema=schema,
                      required=values["REQUIRED_COLUMNS"], all_columns=values["ALL_COLUMNS"],
                      boolean_columns=tuple(dict.fromkeys(("victim_flag", *outcomes))))


def data_dictionary_for(profile: str | os.PathLike[str] | Profile) -> pd.DataFrame:
    """:func:`fairness.io.schema.data_dictionary` as the profile sets it (areas, groups, bands, ages, outcome)."""
    from fairness.io.schema import data_dictionary

    p = load_profile(profile)
    schema = vocabulary(p).schema
    dd = data_dictionary()
    for col in ("borough", "ethnicity", "risk_band", "age", "shared_with"):
        spec = schema.columns[col]
        dd.loc[dd["column"] == col, "valid"] = (spec.metadata or {}).get("valid", "")
        if col != "shared_with":
            dd.loc[dd["column"] == col, "description"] = spec.description or ""
    vocab = vocabulary(p)
    dd["required"] = dd["column"].isin(vocab.required)
    dd = dd[dd["column"].isin(vocab.all_columns) | (dd["column"] == "outcome_violence_12m")]
    # the outcome columns are the profile's (none, or its own names)
    template = dd[dd["column"] == "outcome_violence_12m"]
    dd = dd[dd["column"] != "outcome_violence_12m"]
    rows = []
    for outcome in p.outcomes:
        row = template.copy()
        row["column"] = outcome.column
        row["description"] = (f"{outcome.label[:1].upper()}{outcome.label[1:]} "
                              f"({outcome.window_months} months after the snapshot)")
        rows.append(row)
    return pd.concat([dd, *rows], ignore_index=True)


def markdown_table(dd: pd.DataFrame) -> str:
    """A data dictionary as the Markdown table README.md shows."""
    lines = ["| column | required | type | valid values | meaning |", "|---|---|---|---|---|"]
    lines += [f"| {r.column} | {'yes' if r.required else 'no'} | {r.type} | {r.valid} | {r.description} |"
              for r in dd.itertuples(index=False)]
    return "\n".join(lines)
