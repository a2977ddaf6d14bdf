"""Profiles: one declarative TOML file per list and place.

Everything the toolkit would otherwise assume about the Metropolitan Police's
Gangs Violence Matrix (the 32 London boroughs, the Census benchmarks, the six
ethnic groups and the reference group, the red/amber/green bands, the outcome
column, the age range, "Londoners" in sentences) is declared in a profile.
``london-gvm`` is the default; ``england-wales-forces`` covers the 43 police
force areas of England and Wales. ``load_profile(path)`` reads your own.
"""

from fairness.profiles._apply import missing_declarations, profile_definitions
from fairness.profiles._profile import (
    DEFAULT_PROFILE,
    AgeSpec,
    Area,
    BandSpec,
    BenchmarkSpec,
    CountTableSpec,
    GroupSpec,
    ListSpec,
    Outcome,
    PlaceSpec,
    Profile,
    ProfileError,
    list_profiles,
    load_profile,
    profile_dir,
    shipped_profiles,
)

__all__ = [
    "DEFAULT_PROFILE",
    "AgeSpec",
    "Area",
    "BandSpec",
    "BenchmarkSpec",
    "CountTableSpec",
    "GroupSpec",
    "ListSpec",
    "Outcome",
    "PlaceSpec",
    "Profile",
    "ProfileError",
    "list_profiles",
    "load_profile",
    "missing_declarations",
    "profile_definitions",
    "profile_dir",
    "shipped_profiles",
]
