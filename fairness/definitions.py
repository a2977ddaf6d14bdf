"""Vocabulary shared by every module: the matrix format's columns and valid values.

This module has no side effects and imports nothing from the package, so any
module may import it.
"""

from __future__ import annotations

#: The 32 London boroughs policed by the Metropolitan Police, ONS spelling and
#: ONS local-authority code. The City of London (E09000001) has its own force and
#: is deliberately absent.
BOROUGH_CODES: dict[str, str] = {
    "Barking and Dagenham": "E09000002",
    "Barnet": "E09000003",
    "Bexley": "E09000004",
    "Brent": "E09000005",
    "Bromley": "E09000006",
    "Camden": "E09000007",
    "Croydon": "E09000008",
    "Ealing": "E09000009",
    "Enfield": "E09000010",
    "Greenwich": "E09000011",
    "Hackney": "E09000012",
    "Hammersmith and Fulham": "E09000013",
    "Haringey": "E09000014",
    "Harrow": "E09000015",
    "Havering": "E09000016",
    "Hillingdon": "E09000017",
    "Hounslow": "E09000018",
    "Islington": "E09000019",
    "Kensington and Chelsea": "E09000020",
    "Kingston upon Thames": "E09000021",
    "Lambeth": "E09000022",
    "Lewisham": "E09000023",
    "Merton": "E09000024",
    "Newham": "E09000025",
    "Redbridge": "E09000026",
    "Richmond upon Thames": "E09000027",
    "Southwark": "E09000028",
    "Sutton": "E09000029",
    "Tower Hamlets": "E09000030",
    "Waltham Forest": "E09000031",
    "Wandsworth": "E09000032",
    "Westminster": "E09000033",
}
BOROUGHS: tuple[str, ...] = tuple(BOROUGH_CODES)

#: Ethnic groups in the matrix format. The first five are the Census high-level
#: groups; "Not stated" has no census denominator.
ETHNICITIES: tuple[str, ...] = ("White", "Black", "Asian", "Mixed", "Other", "Not stated")
CENSUS_ETHNICITIES: tuple[str, ...] = ("White", "Black", "Asian", "Mixed", "Other")
SEXES: tuple[str, ...] = ("Male", "Female", "Not stated")
RISK_BANDS: tuple[str, ...] = ("Red", "Amber", "Green")

AGE_MIN, AGE_MAX = 10, 99

#: Age bands used wherever results are broken down by age (labels are stable:
#: they appear in JSON and reports).
AGE_BANDS: tuple[tuple[str, int, int], ...] = (
    ("10-17", 10, 17),
    ("18-24", 18, 24),
    ("25-34", 25, 34),
    ("35+", 35, 99),
)

REQUIRED_COLUMNS: tuple[str, ...] = (
    "person_id",
    "snapshot_date",
    "borough",
    "ethnicity",
    "sex",
    "age",
    "harm_score",
    "risk_band",
)
OPTIONAL_COLUMNS: tuple[str, ...] = (
    "victim_flag",
    "violent_offences_2y",
    "date_added",
    "last_reviewed",
    "shared_with",
    "outcome_violence_12m",
)
ALL_COLUMNS: tuple[str, ...] = REQUIRED_COLUMNS + OPTIONAL_COLUMNS

BOOLEAN_TRUE: frozenset[str] = frozenset({"true", "yes", "1"})
BOOLEAN_FALSE: frozenset[str] = frozenset({"false", "no", "0"})

#: Separator for the partner types in ``shared_with``.
SHARED_WITH_SEPARATOR = ";"

#: Default reference group for relative rates.
DEFAULT_REFERENCE = "White"

#: Default threshold below which a count is suppressed in publication mode.
DEFAULT_SUPPRESSION_THRESHOLD = 10
