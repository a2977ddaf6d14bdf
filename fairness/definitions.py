"""Vocabulary shared by every module: the matrix format's columns and valid values.

This module has no side effects and imports nothing from the package, so any
module may import it.

Every derived column and flag the audit counts is declared here once, as
data: age bands (:data:`AGE_BANDS`), the row flags (:data:`FLAGS`, each a
:class:`Condition` on one column), the no-risk definitions
(:data:`NO_RISK_RULES`: which flags a row must have), time on the list
(:data:`DURATION_BANDS`), band thresholds (:data:`BAND_THRESHOLDS`), the states
of the row-level checks and their default parameters. Each engine renders
them: pandas and numpy in :mod:`fairness.counts.groups` (used by
:mod:`fairness.counts.cube` and the row-level statistics), SQL in
:mod:`fairness.counts.duck`. The engines read them when they run, never at
import, so replacing one of these values (a profile, or a test's
``monkeypatch``) changes every engine at once.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal, NamedTuple

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
#: The group whose share of the list is compared across areas (the per-area share funnel and the
#: share's trend; their metric key stays ``black_share``). A profile sets it with ``[groups]
#: share_group``; without one it is :data:`DEFAULT_SHARE_GROUP` where the profile's groups have it,
#: else "" (the per-area share is then not assessable).
DEFAULT_SHARE_GROUP: str = "Black"
SHARE_GROUP: str = DEFAULT_SHARE_GROUP
SEXES: tuple[str, ...] = ("Male", "Female", "Not stated")
RISK_BANDS: tuple[str, ...] = ("Red", "Amber", "Green")

#: Ages the matrix format accepts (whole years at snapshot_date, both ends inclusive).
AGE_MIN, AGE_MAX = 10, 99


class AgeBand(NamedTuple):
    """An age band: ``label`` for ages ``lo`` to ``hi``, both inclusive."""

    label: str
    lo: int
    hi: int


#: Age bands used wherever results are broken down by age (labels are stable:
#: they appear in JSON and reports). Contiguous and in order; an age outside
#: every band has no band.
AGE_BANDS: tuple[AgeBand, ...] = (
    AgeBand("10-17", 10, 17),
    AgeBand("18-24", 18, 24),
    AgeBand("25-34", 25, 34),
    AgeBand("35+", 35, 99),
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

#: The outcome column band performance reads (a profile's first ``[[outcomes]]``), its label for
#: captions and its window; ``None`` when the list declares no outcome.
OUTCOME_COLUMN: str | None = "outcome_violence_12m"
OUTCOME_LABEL = "violence in the next 12 months"
OUTCOME_WINDOW_MONTHS = 12

BOOLEAN_TRUE: frozenset[str] = frozenset({"true", "yes", "1"})
BOOLEAN_FALSE: frozenset[str] = frozenset({"false", "no", "0"})

#: Separator for the partner types in ``shared_with``.
SHARED_WITH_SEPARATOR = ";"

#: Partner types ``shared_with`` may name (a profile's ``[sharing] partners``); see
#: :func:`fairness.io.schema.partner_label`. Only these are ever published, anything else as "Other".
PARTNER_TYPES: tuple[str, ...] = (
    "housing", "education", "school", "council", "local_authority", "DWP", "social_services", "health",
    "probation", "youth_offending", "immigration", "private_landlord",
)

#: Default reference group for relative rates.
DEFAULT_REFERENCE = "White"

#: Default threshold below which a count is suppressed in publication mode.
DEFAULT_SUPPRESSION_THRESHOLD = 10


# ---------------------------------------------------------------------- row flags


@dataclass(frozen=True)
class Condition:
    """A test on one column of a row: ``column op value``.

    ``op`` is ``"=="``, ``"<"``, ``"<="``, ``">"``, ``">="`` (``value`` a number
    or a text) or ``"is true"`` (a boolean column; ``value`` unused). A missing
    value never meets a condition, and neither does any row of a matrix
    without the column.
    """

    column: str
    op: Literal["==", "<", "<=", ">", ">=", "is true"]
    value: float | int | str | None = None

    def __post_init__(self) -> None:
        if self.op not in CONDITION_OPS:
            raise ValueError(f"condition op must be one of {', '.join(CONDITION_OPS)}; got {self.op!r}")


CONDITION_OPS: tuple[str, ...] = ("==", "<", "<=", ">", ">=", "is true")


@dataclass(frozen=True)
class Flag:
    """A yes/no property of a row, counted as one bit of ``flags`` (bit ``1 << i`` for the
    i-th flag of :data:`FLAGS`)."""

    name: str
    condition: Condition
    meaning: str


#: Age below which a person is a child (the ``under18`` flag and the checks).
CHILD_AGE = 18

#: The row flags the count tables keep, in bit order.
FLAGS: tuple[Flag, ...] = (
    Flag("harm_zero", Condition("harm_score", "==", 0), "harm score of zero"),
    Flag("no_violence", Condition("violent_offences_2y", "==", 0),
         "no violent offence in two years (unknown is not 0)"),
    Flag("green", Condition("risk_band", "==", "Green"), "in the green band"),
    Flag("victim", Condition("victim_flag", "is true"), "recorded as a victim (unknown is not true)"),
    Flag("under18", Condition("age", "<", CHILD_AGE), "aged under 18"),
)


def fill_words(text: str, words: Mapping[str, str]) -> str:
    """``text`` with each ``{key}`` of ``words`` replaced by its value, in one pass: any other brace
    is left as written (not ``str.format``), and a word's own braces are not filled again (a
    profile's place called "Town {unit}" stays so). The one way labels and report prose get their
    words: :meth:`fairness.results.sentences.Place.fill`, the statistics' labels and
    :func:`fairness.report.format.fill` alike.

    >>> fill_words("{share_group} share of {unit} {other}", {"share_group": "Black", "unit": "people listed"})
    'Black share of people listed {other}'
    >>> fill_words("{place}: {unit}", {"place": "Town {unit}", "unit": "searches"})
    'Town {unit}: searches'
    """
    return _WORD.sub(lambda m: words.get(m.group(1), m.group(0)), text)


#: a ``{word}`` placeholder (:func:`fill_words`)
_WORD = re.compile(r"\{(\w+)\}")


def flag_bits() -> dict[str, int]:
    """Bit of each flag of :data:`FLAGS` (as they are now), by name.

    >>> flag_bits()["green"]
    4
    """
    return {f.name: 1 << i for i, f in enumerate(FLAGS)}


def flag(name: str) -> Flag:
    """The flag of :data:`FLAGS` called ``name``."""
    for f in FLAGS:
        if f.name == name:
            return f
    raise ValueError(f"unknown flag {name!r}; valid: {', '.join(f.name for f in FLAGS)}")


# ---------------------------------------------------------------------- no risk


@dataclass(frozen=True)
class NoRiskRule:
    """A definition of "no assessed risk": a row meets it when it has every flag in ``flags``.

    ``needs``: the optional columns it reads (without them it is not assessable).
    """

    name: str
    label: str
    flags: tuple[str, ...]

    @property
    def needs(self) -> tuple[str, ...]:
        columns = dict.fromkeys(flag(f).condition.column for f in self.flags)
        return tuple(c for c in columns if c in OPTIONAL_COLUMNS)

    @property
    def mask(self) -> int:
        """The bits of ``flags`` a row must have."""
        bits = flag_bits()
        return sum(bits[f] for f in self.flags)


#: The no-risk definitions (see :mod:`fairness.stats.no_risk`), the default first.
NO_RISK_RULES: tuple[NoRiskRule, ...] = (
    NoRiskRule("harm_zero", "harm score of zero", ("harm_zero",)),
    NoRiskRule("no_violence_2y", "no violent offence in two years", ("no_violence",)),
    NoRiskRule("green_band", "green band", ("green",)),
    NoRiskRule("victim_only",
               "listed as a victim only (victim, no violent offence in two years, harm score zero)",
               ("victim", "no_violence", "harm_zero")),
)


def no_risk_rules() -> dict[str, NoRiskRule]:
    """:data:`NO_RISK_RULES` (as they are now) by name."""
    return {r.name: r for r in NO_RISK_RULES}


# ---------------------------------------------------------------------- time on the list


class DurationBand(NamedTuple):
    """Time on the list from ``lo`` days (inclusive) to ``hi`` days (exclusive; ``inf``: no end)."""

    label: str
    lo: float
    hi: float


_YEAR = 365.25
#: Bands for how long people had been on the list (``snapshot_date - date_added``).
DURATION_BANDS: tuple[DurationBand, ...] = (
    DurationBand("under 1 year", 0, _YEAR),
    DurationBand("1–2 years", _YEAR, 2 * _YEAR),
    DurationBand("2–3 years", 2 * _YEAR, 3 * _YEAR),
    DurationBand("3 years or more", 3 * _YEAR, math.inf),
)
#: Label of the people without a ``date_added``.
DURATION_UNKNOWN = "date added unknown"
#: Code of the rows in no band (added after the snapshot): counted, never shown.
DURATION_NONE = "none"


def duration_codes() -> tuple[str, ...]:
    """Codes of ``duration`` in the count tables: the bands, then unknown, then none."""
    return (*(b.label for b in DURATION_BANDS), DURATION_UNKNOWN, DURATION_NONE)


# ---------------------------------------------------------------------- bands read as predictions

#: Band cut-offs read as predictions: the bands predicted positive (violent) under each.
BAND_THRESHOLDS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {"red": ("Red",), "red_amber": ("Red", "Amber")}
)

# ---------------------------------------------------------------------- row-level check states

#: States of the row-level data-protection checks (their codes are the positions).
#: victims_as_offenders: victim_flag or violent_offences_2y unknown; known; flagged
#: (meets the ``victim_only`` no-risk rule).
VICTIM_STATES: tuple[str, ...] = ("excluded", "eligible", "flagged")
#: reviews_overdue: reviewed in time; last review too long ago; never reviewed.
REVIEW_STATES: tuple[str, ...] = ("ok", "stale", "never")
#: impossible_dates: none; added before the matrix began; added after the snapshot;
#: too young when added.
DATE_STATES: tuple[str, ...] = ("", "early", "after", "young")
#: The no-risk rule whose rows ``victims_as_offenders`` flags.
VICTIM_RULE = "victim_only"


@dataclass(frozen=True)
class CheckParameters:
    """Defaults of the parameters that decide each row's check state
    (:class:`fairness.checks.ChecksConfig` documents each)."""

    review_days: int = 92
    zero_harm_snapshots: int = 4
    matrix_start: str = "2012-01-01"
    min_age_at_addition: int = AGE_MIN
    child_age: int = CHILD_AGE
    test_id_pattern: str = r"(?i)^(test|dummy|sample|xxx|zzz)|(test|dummy)$"
    test_value_patterns: Mapping[str, str] = field(
        default_factory=lambda: MappingProxyType({"shared_with": r"(?i)(^|;)\s*(test|dummy)\b"}))


#: The defaults in force.
CHECK_PARAMETERS = CheckParameters()


# ---------------------------------------------------------------------- disclosure control

#: Published label of small boroughs combined into one row.
OTHER_BOROUGHS = "Other boroughs"
#: The label of a row of small areas published together (disclosure control): ``areas`` is the
#: profile's plural area word ("boroughs", "police force areas"), ``k`` how many areas it holds.
OTHER_AREAS = "Other {areas} ({k})"
#: The flag (and a check's status) of such a row: it is shown in the tables, but it is not an area, so
#: it is not compared with the funnel limits, the place-wide thresholds or a check's threshold.
COMBINED_FLAG = "combined"


@dataclass(frozen=True)
class GroupCombination:
    """Groups of one breakdown published together as one row (disclosure control).

    As official statistics do, a group too small to publish alone is combined
    with its neighbours *before* suppression, so that suppressing it does not
    cost a large group its figures. ``by`` names the breakdown (``"age_band"``,
    ``"ethnicity"``), ``label`` is what the combined row is called and
    ``parts`` are the groups it replaces (adjacent age bands; the smaller
    ethnic groups). :mod:`fairness.publish.publication` decides when to use
    one; :mod:`fairness.publish.intruder` checks that a combined row minus the
    parts shown elsewhere gives no hidden count back.
    """

    by: str
    label: str
    parts: tuple[str, ...]


#: Declared combinations, tried in this order. A combination is used only
#: where one of its parts holds a count below the threshold and suppressing
#: it would otherwise hide the figures of a group of
#: :data:`COMBINE_TO_SAVE` people or more.
GROUP_COMBINATIONS: tuple[GroupCombination, ...] = (
    GroupCombination("age_band", "25 and over", ("25-34", "35+")),
    GroupCombination("age_band", "Under 25", ("10-17", "18-24")),
    GroupCombination("ethnicity", "Asian, Mixed and Other", ("Asian", "Mixed", "Other")),
)
#: Groups of this many people or more are the ones whose figures combining saves.
COMBINE_TO_SAVE = 100
#: Group counts published as data-quality counts, whatever their size: the
#: number of people whose ethnicity (or sex) is "Not stated" says nothing about
#: any person's ethnicity (it is the number listed minus the stated total, as
#: the number quarantined is the rows read minus the rows kept). What those
#: people's records hold (no-risk counts, outcomes, bands) is still protected.
DATA_QUALITY_GROUPS: tuple[str, ...] = ("Not stated",)
