"""Every sentence the toolkit writes about a result, from one place.

The headline, the main points on page 1 of a report, the scrutiny briefing,
the per-group sentences of the report and the JupyterLab view of an
:class:`~fairness.results.audit.AuditResult` all call the functions here, so
one wording rule holds everywhere. The rules (each has its own test in
``tests/test_sentences.py``):

1. **A direction only when the interval supports it.** A ratio is said to be
   higher or lower only when its whole interval lies on one side of 1 and not
   wholly inside the parity band 0.8–1.25; otherwise the sentence says there
   is *no clear difference* (:func:`direction`).
2. **Never "N times less likely".** A rate below the reference rate is
   given as a fraction of it ("about a quarter of the rate", "67% of the
   rate") with the two rates side by side (:func:`fraction_words`).
3. **Count and interval in every sentence**, and **the benchmark named**.
4. **One headline benchmark**: the first benchmark of the audit (the most
   recent census by default); the others are in the sensitivity table.
5. **No statisticians' words** in the headline, the main points or the
   briefing: no φ, τ², "funnel limits" or "figure(s)". Boroughs that stand
   out are named, above *and* below.
6. **No e-notation**: p-values are "< 0.001", "0.013", "0.12"
   (:func:`fmt_p`).
7. **One place name**: every "London" and "Londoners" comes from
   :func:`place` (a profile will set it).

In publication mode the result's tables are already protected: a value that
was suppressed is "[c]" there, and the sentences say so instead of a number.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from fairness.definitions import DEFAULT_SHARE_GROUP, fill_words
from fairness.quarters import POOLED, quarter_before

if TYPE_CHECKING:  # pragma: no cover
    from fairness.results.audit import AuditResult

__all__ = [
    "PARITY_BAND",
    "POOLED_PERIOD",
    "Place",
    "borough_sentence",
    "checks_sentence",
    "count_rate_sentence",
    "direction",
    "dispersion_sentence",
    "fmt_p",
    "fraction_words",
    "headline_sentences",
    "is_pooled",
    "is_withheld",
    "main_points",
    "no_risk_sentence",
    "place",
    "rate_sentence",
    "period",
    "ratio_sentences",
    "representation_sentence",
    "trend_sentence",
]

#: Ratios whose whole interval lies inside this band are treated as parity.
PARITY_BAND: tuple[float, float] = (0.8, 1.25)
SUPPRESSED = "[c]"
_EN = "–"


@dataclass(frozen=True)
class Place:
    """The place a list covers and the list itself, as they are written in sentences, labels and reports.

    The defaults are the ``london-gvm`` profile's words; :func:`place` gives
    another profile's.
    """

    name: str = "London"  # "London's residents", "London as a whole"
    people: str = "Londoners"  # "Black Londoners"
    area: str = "borough"  # "by borough", "police force area"
    areas: str = "boroughs"
    police: str = "Metropolitan Police"
    list_name: str = "Gangs Violence Matrix"
    unit: str = "people listed"  # what the list counts, plural
    unit_singular: str = "person"
    profile: str = "london-gvm"
    #: the group whose share of the list is compared across areas (the profile's [groups] share_group)
    share_group: str = DEFAULT_SHARE_GROUP

    @property
    def counted(self) -> str:
        """What a number of the list counts: "people" (for "people listed"), else the unit ("searches")."""
        return "people" if self.unit == "people listed" else self.unit

    @property
    def all_areas(self) -> str:
        """The label of the rows that total every area: "All boroughs", "All police force areas"."""
        return f"All {self.areas}"

    @property
    def is_default(self) -> bool:
        """True for the London words (the ``london-gvm`` profile)."""
        return self.profile == "london-gvm"

    def words(self) -> dict[str, str]:
        """Placeholders for report text: ``{place}``, ``{area}``, ``{Areas}``, ``{unit}``, ``{Unit}``, ``{list}`` …"""
        cap = lambda t: t[:1].upper() + t[1:]  # noqa: E731
        return {"place": self.name, "people": self.people, "area": self.area, "areas": self.areas,
                "Area": cap(self.area), "Areas": cap(self.areas), "police": self.police,
                "list": self.list_name, "List": cap(self.list_name), "unit": self.unit, "Unit": cap(self.unit),
                "unit_singular": self.unit_singular, "share_group": self.share_group}

    def fill(self, text: str) -> str:
        """``text`` with each placeholder of :meth:`words` filled in (``"{share_group} share"`` ->
        ``"Black share"``); other braces are left as written (no ``str.format``).

        >>> Place(share_group="Asian").fill("{share_group} share of the {unit}")
        'Asian share of the people listed'
        """
        return fill_words(text, self.words())


def _from_profile(profile: Any) -> Place:
    from fairness.profiles import load_profile

    p = load_profile(profile)
    spec = p.place
    return Place(spec.name, spec.people, spec.area_word, spec.area_word_plural, spec.police, p.list.name,
                 p.list.unit, p.list.unit_singular, p.name, p.groups.share_group)


def place(parameters: Any = None) -> Place:
    """The place and list words of every sentence and label (the one function for another place).

    ``parameters`` is an audit result (its profile, or its parameters), or an
    audit's parameters: they may carry ``place`` and ``place_people``, or the
    ``profile`` the audit used (its ``[place]`` and ``[list]``); otherwise London.
    """
    profile = getattr(parameters, "profile", None)
    if profile is not None and not isinstance(parameters, Mapping):
        return _from_profile(profile)
    if parameters is not None and not isinstance(parameters, Mapping):
        parameters = getattr(parameters, "parameters", None)
    p = parameters or {}
    if p.get("profile"):
        from fairness.errors import ProfileError

        try:
            return _from_profile(str(p["profile"]))
        except ProfileError:  # a profile read from a path: its stem is not a shipped name; its place words are kept
            if not p.get("place"):
                raise
            every = [a for a in (p.get("vocabulary") or {}).get("areas", []) if str(a).startswith("All ")]
            areas = every[-1][4:] if every else "areas"
            return Place(str(p["place"]), str(p.get("place_people") or f"residents of {p['place']}"),
                         areas[:-1] if areas.endswith("s") else areas, areas, "the police", "list",
                         "people listed", "person", str(p["profile"]),
                         # recorded by audits since it was added; older files: London's default
                         str(p["share_group"]) if p.get("share_group") is not None else DEFAULT_SHARE_GROUP)
    name = str(p.get("place") or "London")
    people = str(p.get("place_people") or ("Londoners" if name == "London" else f"residents of {name}"))
    return Place(name, people)


#: How a pooled list's period reads (it has no quarter; "pooled" is its label in the data, not a word for readers).
POOLED_PERIOD = "the list as supplied"


def is_pooled(res: Any) -> bool:
    """True for the audit of a pooled list (no snapshots: its quarter is "pooled"), or for that label itself."""
    return str(res if isinstance(res, str) else getattr(res, "quarter", "")) == POOLED


def period(res: Any) -> str:
    """The period an audit covers, as a report names it: its quarter, or :data:`POOLED_PERIOD` for a
    pooled list (``res``: an audit result, or its quarter label).

    >>> period("2018Q4"), period("pooled")
    ('2018Q4', 'the list as supplied')
    """
    label = str(res if isinstance(res, str) else getattr(res, "quarter", ""))
    return POOLED_PERIOD if is_pooled(label) else label


def _people(group: str, where: Place) -> str:
    """"Black Londoners"; "Black residents of Kent" when the place has no demonym."""
    return f"{group} {where.people}"


# --------------------------------------------------------------------------- numbers


def _num(v: Any) -> float | None:
    if v is None or v is pd.NA or v is pd.NaT or isinstance(v, bool):
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _hidden(v: Any) -> bool:
    return isinstance(v, str) and v.strip() == SUPPRESSED


def fmt_count(v: Any) -> str:
    """``3,806``; a suppressed count as "suppressed"."""
    f = _num(v)
    if f is None:
        return "suppressed" if _hidden(v) else "not available"
    return f"{int(round(f)):,}"


def fmt_pct(v: Any, digits: int = 1) -> str:
    """A fraction as a percentage: ``0.3801`` → ``38.0%``."""
    f = _num(v)
    if f is None:
        return SUPPRESSED if _hidden(v) else "n/a"
    return f"{100 * f:.{digits}f}%"


def fmt_share(share: Any, low: Any, high: Any, level: int = 95, *, bare: bool = False) -> str:
    """``38.0% (95% CI 36.5–39.5)``; ``bare=True``: ``38.0%, 95% CI 36.5–39.5`` (inside brackets)."""
    s, lo, hi = _num(share), _num(low), _num(high)
    if s is None:
        return "suppressed" if _hidden(share) else "not estimable"
    if lo is None or hi is None:
        return f"{100 * s:.1f}%"
    ci = f"{level}% CI {100 * lo:.1f}{_EN}{100 * hi:.1f}"
    return f"{100 * s:.1f}%, {ci}" if bare else f"{100 * s:.1f}% ({ci})"


def _ratio_digits(r: float) -> int:
    return 1 if r >= 2 else 2


def fmt_ratio(r: Any, lo: Any = None, hi: Any = None, level: int = 95, *, bare: bool = False) -> str:
    """``26.5 (95% CI 24.0–29.2)``: one decimal from 2 up, two below; ``bare``: ``26.5, 95% CI 24.0–29.2``."""
    v, a, b = _num(r), _num(lo), _num(hi)
    if v is None:
        return "suppressed" if _hidden(r) else "not estimable"
    d = _ratio_digits(v)
    if a is None or b is None:
        return f"{v:.{d}f}"
    ci = f"{level}% CI {a:.{d}f}{_EN}{b:.{d}f}"
    return f"{v:.{d}f}, {ci}" if bare else f"{v:.{d}f} ({ci})"


def fmt_rate(v: Any) -> str:
    """A rate per 1,000 to two significant figures below 10 (2.6, 0.099, 0.0066), one decimal above."""
    f = _num(v)
    if f is None:
        return "suppressed" if _hidden(v) else "n/a"
    if f == 0:
        return "0"
    if f >= 10:
        return f"{f:,.1f}"
    digits = max(1, 1 - math.floor(math.log10(abs(f))))
    return f"{f:.{digits}f}"


def fmt_p(p: Any) -> str:
    """A p-value for people, never in e-notation.

    >>> fmt_p(1.5e-05), fmt_p(0.0), fmt_p(0.01234), fmt_p(0.1266)
    ('< 0.001', '< 0.001', '0.012', '0.13')
    """
    f = _num(p)
    if f is None:
        return SUPPRESSED if _hidden(p) else "—"
    if f < 0.001:
        return "< 0.001"
    if f < 0.1:
        return f"{f:.3f}"
    return f"{f:.2f}"


def confidence_level(parameters: Mapping[str, Any] | None) -> int:
    alpha = _num((parameters or {}).get("alpha", 0.05))
    return round(100 * (1 - (alpha if alpha is not None else 0.05)))


# --------------------------------------------------------------------------- rules


Direction = Literal["higher", "lower", "no clear difference", "not estimable"]


def direction(low: Any, high: Any, *, band: tuple[float, float] = PARITY_BAND) -> Direction:
    """What the interval of a ratio supports.

    "higher" or "lower" only when the whole interval lies on one side of 1
    and not wholly inside the parity ``band``; "no clear difference" when it
    includes 1 or lies inside the band.

    >>> direction(24.0, 29.2), direction(0.93, 1.74), direction(1.05, 1.20), direction(0.55, 0.82)
    ('higher', 'no clear difference', 'no clear difference', 'lower')
    """
    lo, hi = _num(low), _num(high)
    if lo is None or hi is None:
        return "not estimable"
    if lo <= 1 <= hi or (band[0] <= lo and hi <= band[1]):
        return "no clear difference"
    return "higher" if lo > 1 else "lower"


_FRACTIONS = ((1 / 2, "half"), (1 / 3, "a third"), (2 / 3, "two-thirds"), (1 / 4, "a quarter"),
              (3 / 4, "three-quarters"), (1 / 5, "a fifth"), (1 / 10, "a tenth"))


def fraction_words(ratio: float) -> str:
    """A ratio below 1 as a share of the reference rate, never "times less".

    Within 5% of a simple fraction it is named ("about a quarter of");
    otherwise a percentage ("67% of").

    >>> fraction_words(0.26), fraction_words(0.669939), fraction_words(0.4)
    ('about a quarter of', 'about two-thirds of', '40% of')
    """
    for value, words in _FRACTIONS:
        if abs(ratio - value) <= 0.05 * value:
            return f"about {words} of"
    pct = 100 * ratio
    return f"{pct:.0f}% of" if pct >= 1 else "less than 1% of"


# --------------------------------------------------------------------------- relative rates


def _get(row: Any, name: str, default: Any = None) -> Any:
    if isinstance(row, Mapping):
        return row.get(name, default)
    return getattr(row, name, default)


def rate_sentence(row: Any, *, reference_rate: Any = None, level: int = 95, where: Place | None = None,
                  unit: str | None = None) -> str:
    """One sentence for one relative-rate row (a mapping or a named tuple).

    ``reference_rate`` is the reference group's rate per 1,000 (for the two
    rates side by side); without it only the ratio is given. ``unit`` (a
    profile's ``list.unit``, e.g. "searches") words the sentence for a count
    table (:func:`count_rate_sentence`); without it the sentence is about
    people listed.
    """
    if unit is not None:
        return count_rate_sentence(row, reference_rate=reference_rate, level=level, where=where, unit=unit)
    where = where or place()
    group, ref = str(_get(row, "group")), str(_get(row, "reference"))
    label = str(_get(row, "benchmark_label", _get(row, "benchmark", "")))
    rri, lo, hi = _num(_get(row, "rri")), _num(_get(row, "ci_low")), _num(_get(row, "ci_high"))
    rate = _get(row, "rate_per_1000")
    count = fmt_count(_get(row, "count"))
    borough = _get(row, "borough")
    at = f" in {borough}" if isinstance(borough, str) and borough else ""
    them, us = _people(group, where), _people(ref, where)
    if at:
        them, us = f"{group} residents{at}", f"{ref} residents{at}"
    side = (f"{fmt_rate(rate)} against {fmt_rate(reference_rate)} per 1,000 residents"
            if _num(rate) is not None and _num(reference_rate) is not None else "")
    bench = f"benchmark: {label}"
    if rri is None:
        why = _get(row, "note") or "not estimable"
        return (f"The rate at which {them} were listed, relative to {us}, could not be estimated "
                f"({why}; {count} {group} people listed; {bench}).")
    if lo is None or hi is None:
        return (f"{them} were listed at a rate ratio of {fmt_ratio(rri)} relative to {us}, with no interval "
                f"({count} {group} people listed; {bench}).")
    ci = f"rate ratio {fmt_ratio(rri, lo, hi, level, bare=True)}"
    tail = f"{count} {group} people listed; {ci}; {bench}"
    if rri == 0:
        return (f"No {them} were on the list, against {fmt_rate(reference_rate)} per 1,000 {us} "
                f"({ci}; {bench}).")
    verdict = direction(lo, hi)
    if verdict == "higher":
        head = f"{them} were listed at {rri:.{_ratio_digits(rri)}f} times the rate of {us}"
    elif verdict == "lower":
        head = f"{them} were listed at {fraction_words(rri)} the rate of {us}"
    else:
        what = "includes parity" if lo <= 1 <= hi else f"lies within the parity band {PARITY_BAND[0]}–{PARITY_BAND[1]}"
        head = (f"There was no clear difference between the rates at which {them} and {us} were listed "
                f"(the interval {what})")
    return f"{head}: {side} ({tail})." if side else f"{head} ({tail})."


def count_rate_sentence(row: Any, *, reference_rate: Any = None, level: int = 95, where: Place | None = None,
                        unit: str = "searches") -> str:
    """One sentence for one relative-rate row of a count table, in the profile's ``unit``.

    The same rules as :func:`rate_sentence`: "There were 23.7 searches per
    1,000 Black people in England and Wales against 5.8 per 1,000 White people
    in England and Wales: 4.1 times the rate (Black: 215,234 searches; rate
    ratio 4.1, 95% CI …; benchmark: residents, Census 2021)" only when the
    interval lies above 1 and outside the parity band; a fraction of the rate
    below it; otherwise "no clear difference". A value hidden by disclosure
    control is said to be suppressed.
    """
    where = where or place()
    group, ref = str(_get(row, "group")), str(_get(row, "reference"))
    label = str(_get(row, "benchmark_label", _get(row, "benchmark", "")))
    bench = f"benchmark: {label}"
    them, us = _people(group, where), _people(ref, where)
    raw = (_get(row, "rri"), _get(row, "ci_low"), _get(row, "ci_high"), _get(row, "rate_per_1000"), reference_rate)
    if any(_hidden(v) for v in raw):
        return (f"The rate for {them} relative to {us} is suppressed (it rests on a small count, or on one "
                f"that would reveal a small count; {bench}).")
    rri, lo, hi = _num(raw[0]), _num(raw[1]), _num(raw[2])
    rate, ref_rate = _num(raw[3]), _num(reference_rate)
    counted = f"{group}: {fmt_count(_get(row, 'count'))} {unit}"
    if rri is None:
        why = _get(row, "note") or "not estimable"
        side = (f"; {fmt_rate(rate)} against {fmt_rate(ref_rate)} {unit} per 1,000"
                if rate is not None and ref_rate is not None else "")
        return (f"The rate for {them} relative to {us} could not be estimated ({why}{side}; {counted}; {bench}).")
    if lo is None or hi is None:
        return (f"{them} had a rate ratio of {fmt_ratio(rri)} relative to {us}, with no interval "
                f"({counted}; {bench}).")
    tail = f"{counted}; rate ratio {fmt_ratio(rri, lo, hi, level, bare=True)}; {bench}"
    verdict = direction(lo, hi)
    if verdict == "higher":
        how = f"{rri:.{_ratio_digits(rri)}f} times the rate"
    elif verdict == "lower":
        how = f"{fraction_words(rri)} the rate"
    else:
        what = "includes parity" if lo <= 1 <= hi else f"lies within the parity band {PARITY_BAND[0]}–{PARITY_BAND[1]}"
        how, tail = "no clear difference between the rates", f"the interval {what}; {tail}"
    if rate is not None and ref_rate is not None:
        return (f"There were {fmt_rate(rate)} {unit} per 1,000 {them} against {fmt_rate(ref_rate)} per 1,000 "
                f"{us}: {how} ({tail}).")
    if verdict in ("higher", "lower"):
        return f"{them} had {how} of {us} ({tail}; shares only, no rate per 1,000)."
    return f"For {them} and {us} there was {how} ({tail}; shares only, no rate per 1,000)."


def ratio_sentences(relative_rate: pd.DataFrame, *, alpha: float = 0.05,
                    parameters: Mapping[str, Any] | None = None, where: Place | None = None,
                    unit: str | None = None) -> pd.DataFrame:
    """A sentence for each group of each benchmark (not the reference, not "Not stated").

    Follows every rule of this module: "Black Londoners were listed at 26.5
    times the rate of White Londoners: 2.61 against 0.099 per 1,000 residents
    (3,105 Black people listed; rate ratio 26.5 (95% CI 24.0–29.2); benchmark:
    residents, Census 2021)". A table by borough (a ``borough`` column) names
    the borough. ``where`` overrides the place of ``parameters``; ``unit``
    (a profile's ``list.unit``) gives the count-table wording of
    :func:`count_rate_sentence`.

    Returns ``benchmark, group, sentence``.
    """
    level = round(100 * (1 - alpha))
    where = where or place(parameters)
    rows: list[dict[str, Any]] = []
    if relative_rate is None or relative_rate.empty:
        return pd.DataFrame(rows, columns=["benchmark", "group", "sentence"])
    keys = ["benchmark", "borough"] if "borough" in relative_rate else ["benchmark"]
    records = relative_rate.to_dict("records")
    rates = {(*(r[k] for k in keys), r["group"]): r.get("rate_per_1000") for r in records}
    for r in records:
        if r["group"] == r["reference"] or r["group"] == "Not stated":
            continue
        ref_rate = rates.get((*(r[k] for k in keys), r["reference"]))
        rows.append({"benchmark": r["benchmark"], "group": r["group"],
                     "sentence": rate_sentence(r, reference_rate=ref_rate, level=level, where=where,
                                                  unit=unit)})
    return pd.DataFrame(rows, columns=["benchmark", "group", "sentence"])


# --------------------------------------------------------------------------- other findings


def is_withheld(res: Any, table: str, column: str, row: Any) -> bool:
    """True when disclosure control withheld ``table[row].column`` (publication mode; rule "withheld")."""
    d = getattr(res, "disclosure", None)
    if not isinstance(d, pd.DataFrame) or not len(d) or not {"table", "column", "row", "rule"} <= set(d.columns):
        return False
    return bool(((d["table"] == table) & (d["column"] == column) & (d["row"] == row)
                 & (d["rule"] == "withheld")).any())


def _row(table: pd.DataFrame | None, **match: Any) -> pd.Series | None:
    if table is None or len(table) == 0:
        return None
    mask = pd.Series(True, index=table.index)
    for k, v in match.items():
        if k not in table:
            return None
        mask &= table[k].astype(str) == str(v)
    hit = table[mask]
    return hit.iloc[0] if len(hit) else None


def _headline_benchmark(res: AuditResult) -> str:
    return (res.parameters.get("benchmarks") or ["residents_2021"])[0]


def _list_size(res: AuditResult, v: Any) -> str:
    """The list size (not in a protected table): "fewer than 10" below the threshold in publication."""
    from fairness.definitions import DEFAULT_SUPPRESSION_THRESHOLD

    f = _num(v)
    threshold = res.parameters.get("disclosure_threshold", DEFAULT_SUPPRESSION_THRESHOLD)
    if res.mode == "publication" and f is not None and 0 < f < threshold:
        return f"fewer than {threshold}"
    return fmt_count(v)


def representation_sentence(res: AuditResult, *, group: str | None = None, short: bool = False) -> str | None:
    """The group's share of the list against its share of the headline benchmark (``group``: default the
    profile's share group, "Black" for the London list)."""
    group = group if group is not None else place(res).share_group
    rep = _row(res.representation, benchmark=_headline_benchmark(res), group=group)
    if rep is None:
        return None
    level = confidence_level(res.parameters)
    label = rep["benchmark_label"]
    size = _list_size(res, res.n)
    where = place(res)
    one, many = ("person", "people") if where.is_default else (where.unit_singular, where.unit)
    listed = (f"The list as supplied (not broken down by quarter) held {size} {one if size == '1' else where.counted}"
              if is_pooled(res) else
              f"In {res.quarter}, {size} {one + ' was' if size == '1' else many + ' were'} on the list")
    those = "those listed" if where.is_default else f"the {where.unit}"
    if _hidden(rep["count"]) or _hidden(rep["share"]):
        return (f"{listed}; the number of them who were {group} is suppressed (a small count, or one that "
                f"would reveal a small count), so their share is not compared with {label}.")
    from fairness.stats.intervals import confint_proportion

    count, n = _num(rep["count"]), _num(rep["n"])
    lo, hi = (confint_proportion(int(count), int(n), alpha=1 - level / 100) if count is not None and n
              else (None, None))
    share = fmt_share(rep["share"], _num(lo), _num(hi), level)
    if short:
        return (f"{group} people were {share} of {those} with a stated ethnicity "
                f"({fmt_count(count)} of {fmt_count(n)}), against {fmt_pct(rep['benchmark_share'])} of "
                f"the benchmark population ({label}).")
    verdict = direction(rep["ci_low"], rep["ci_high"])
    how = {"higher": "over-represented", "lower": "under-represented"}.get(verdict, "listed in proportion, as far as the data can tell")
    return (f"{listed}; {group} people were "
            f"{share} of the {fmt_count(n)} with a stated ethnicity ({fmt_count(count)} {where.counted}), against "
            f"{fmt_pct(rep['benchmark_share'])} of the benchmark population ({label}): {how}, with a "
            f"representation ratio of {fmt_ratio(rep['ratio'], rep['ci_low'], rep['ci_high'], level)}.")


def headline_rate_sentence(res: AuditResult, *, group: str | None = None) -> str | None:
    """The relative-rate sentence of ``group`` (default the profile's share group) under the headline benchmark."""
    group = group if group is not None else place(res).share_group
    s = _row(res.sentences, benchmark=_headline_benchmark(res), group=group)
    return None if s is None else str(s["sentence"])


def no_risk_sentence(res: AuditResult, *, short: bool = False) -> str | None:
    """The headline no-risk share with its count and interval."""
    nr = _row(res.no_risk, definition=res.parameters.get("no_risk", "harm_zero"), by="all")
    if nr is None:
        return None
    label = str(nr["definition_label"])
    unit = place(res).unit
    if _hidden(nr["share"]) or _hidden(nr["count"]):
        return (f"The share of {unit} with {label} is suppressed (a small count, or one that would "
                "reveal a small count).")
    share = fmt_share(nr["share"], nr["ci_low"], nr["ci_high"], confidence_level(res.parameters))
    if _num(nr["share"]) is None:
        why = nr.get("note") or "not assessable from this extract"
        return f"The share of {unit} with {label} could not be worked out ({why})."
    return (f"{share} of the {unit} ({fmt_count(nr['count'])} of {fmt_count(nr['n'])}) were assessed "
            f"as posing no risk of violence ({label}).")


_METRIC_WORDS = {
    "no_risk_share": ("people assessed as posing no risk", "no-risk share"),
    "black_share": ("{share_group} people", "{share_group} share"),
    "green_share": ("people in the Green band", "Green-band share"),
    "rate_per_1000": ("people per 1,000 residents", "rate of listing"),
}


def _named(rows: pd.DataFrame, level: int, rate: bool) -> list[str]:
    from fairness.stats.intervals import confint_proportion

    out = []
    for r in rows.itertuples(index=False):
        c, n, v = _num(r.count), _num(r.n), _num(r.value)
        if v is None:
            continue
        if rate or c is None or not n:
            out.append(f"{r.borough} ({fmt_rate(v) if rate else fmt_pct(v)})")
            continue
        lo, hi = confint_proportion(int(c), int(n), alpha=1 - level / 100)
        out.append(f"{r.borough} ({fmt_share(v, lo, hi, level, bare=True)}; {fmt_count(c)} of {fmt_count(n)})")
    return out


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def borough_sentence(res: AuditResult, *, metric: str = "no_risk_share", short: bool = False) -> str | None:
    """Which boroughs stand out, above and below, in words (no φ, no "funnel limits")."""
    b = res.boroughs
    if b is None or len(b) == 0 or "metric" not in b:
        return None
    sub = b[b["metric"] == metric]
    flags = sub["flag"].astype(str)
    from fairness.definitions import COMBINED_FLAG

    # a row of small areas published together ("Other boroughs (2)") is not an area: not compared
    compared = int((~flags.isin(["not_estimable", SUPPRESSED, COMBINED_FLAG])).sum())
    if compared < 2:
        return None
    level = confidence_level(res.parameters)
    key = lambda d: d.assign(_z=pd.to_numeric(d["z"], errors="coerce").abs()).sort_values("_z", ascending=False)  # noqa: E731
    above, below = key(sub[flags == "above_99.8"]), key(sub[flags == "below_99.8"])
    rate = metric == "rate_per_1000"
    what = place(res).fill(_METRIC_WORDS.get(metric, (metric.replace("_", " "), metric))[0])
    target = _num(sub["target"].iloc[0]) if "target" in sub else None
    city = fmt_rate(target) if rate else fmt_pct(target)
    hidden = int(flags.eq(SUPPRESSED).sum())
    where = place(res)
    area, areas = where.area, where.areas
    more = f"; {hidden} more {area if hidden == 1 else areas} not shown: small counts suppressed" if hidden else ""
    more += "".join(f"; {label} published together, not compared"
                    for label in sub.loc[flags == COMBINED_FLAG, "borough"].astype(str))
    if above.empty and below.empty:
        return (f"No {area}'s share of {what} stands out from {where.name} as a whole ({city}) by more than "
                f"chance and the usual spread between {areas} would explain ({compared} {areas} compared{more}).")
    hi_names, lo_names = list(above["borough"]), list(below["borough"])
    if short:
        parts = []
        if hi_names:
            parts.append(f"{_and(hi_names[:3])} list{'s' if len(hi_names) == 1 else ''} a far larger share of {what} "
                         f"than other {areas}")
        if lo_names:
            parts.append(f"{_and(lo_names[:3])} a far smaller share" if hi_names else
                         f"{_and(lo_names[:3])} list{'s' if len(lo_names) == 1 else ''} a far smaller share of {what} "
                         f"than other {areas}")
        shown = _named(pd.concat([above.head(3), below.head(3)]), level, rate)
        return f"{'; '.join(parts)}: {_and(shown)}, against {city} across {where.name}."
    parts = []
    if hi_names:
        parts.append(f"higher in {_and(_named(above, level, rate))}")
    if lo_names:
        parts.append(f"lower in {_and(_named(below, level, rate))}")
    n_out = len(hi_names) + len(lo_names)
    return (f"The share of {what} was far {' and far '.join(parts)}, against {city} across {where.name}: "
            f"{n_out} of {compared} {areas} differ by more than chance and the usual spread between "
            f"{areas} would explain{f' ({more[2:]})' if more else ''}.")


def dispersion_sentence(res: AuditResult, metric: str = "no_risk_share") -> str | None:
    """How much the boroughs differ, reconciling φ with the heterogeneity test (for the methods part).

    φ is estimated from winsorised z-scores: the most extreme boroughs are
    pulled in first, so it measures the spread of the bulk. The heterogeneity
    test and I² count every borough in full. A few far-out boroughs among
    otherwise alike ones give a small φ beside a very small p: both hold.
    """
    od = _row(res.overdispersion, metric=metric)
    het = _row(getattr(res, "heterogeneity", None), metric=metric)
    if od is None:
        return None
    phi = _num(od["phi"])
    p = _num(het["p_value"]) if het is not None else None
    i2 = _num(het["i2"]) if het is not None else None
    what = place(res).fill(_METRIC_WORDS.get(metric, (metric, metric.replace("_", " ")))[1])
    area, areas = place(res).area, place(res).areas
    if metric == "rate_per_1000" and not place(res).is_default:
        what = f"rate of {place(res).unit}"
    test = ""
    if p is not None:
        shown = fmt_p(p)
        test = (f"the heterogeneity test, which counts every {area} in full, gives "
                f"p {shown if shown.startswith('<') else '= ' + shown}"
                + (f" and I² = {100 * i2:.0f}%" if i2 is not None else ""))
    if phi is None:
        if is_withheld(res, "overdispersion", "phi", od.name):
            return (f"{what.capitalize()}: the spread between {areas} is not published: it is computed from "
                    "counts that are suppressed to protect individuals.")
        return f"{what.capitalize()}: the spread between {areas} could not be estimated."
    overdispersed = bool(od.get("adjusted", od.get("overdispersed", False)))
    if overdispersed:
        return (f"{what.capitalize()}: {areas} differ more than chance would make them (φ = {phi:.2f}"
                + (f"; {test}" if test else "") + "): a real difference in practice, so the funnel limits are "
                f"widened by the between-{area} variance τ² and a{'n' if area[:1] in 'aeiou' else ''} {area} is "
                "flagged only if it stands out from that spread.")
    if p is not None and p < 0.05:
        return (f"{what.capitalize()}: most {areas} differ no more than chance would make them (φ = {phi:.2f}, "
                f"estimated after pulling in the most extreme {areas}), yet {test}. Both hold: a few {areas} "
                f"stand far out from an otherwise alike majority. The limits are not widened, and the {areas} "
                "outside them are the ones to look at.")
    return (f"{what.capitalize()}: {areas} differ no more than chance would make them (φ = {phi:.2f}"
            + (f"; {test}" if test else "") + "); the funnel limits are not widened.")


def trend_sentence(res: AuditResult) -> str | None:
    """The list size against a year earlier (complete counts: no interval)."""
    t = res.trends
    if t is None or len(t) == 0 or is_pooled(res):  # a pooled list has no year before
        return None
    listed = t[t["metric"] == "listed"]
    cur = listed[listed["quarter"].astype(str) == res.quarter]
    if cur.empty:
        return None
    v, d = _num(cur["value"].iloc[0]), _num(cur["diff_year"].iloc[0])
    if v is None or d is None:
        return None
    prev = v - d
    pct = 100 * d / prev if prev else None
    change = ("no change" if d == 0 else f"{abs(pct):.0f}% {'more' if d > 0 else 'fewer'}") if pct is not None else "none a year earlier"
    year_before = quarter_before(res.quarter, 4)
    return (f"The list held {_list_size(res, v)} {place(res).counted} in {res.quarter}, against {_list_size(res, prev)} a year "
            f"earlier in {year_before} ({change}); these are complete counts of the list, so they carry no interval.")


def checks_sentence(res: AuditResult, *, short: bool = False) -> str | None:
    """How many data-protection checks raised a concern, the largest with its count and interval."""
    c = res.checks
    if c is None or len(c) == 0:
        return None
    cur = c
    if "quarter" in c and "borough" in c:
        cur = c[(c["quarter"].astype(str) == res.quarter) & (c["borough"].astype(str) == place(res).all_areas)]
    concern = cur[cur["status"] == "concern"]
    not_assessable = int((cur["status"] == "not assessable").sum())
    if len(cur) == 0 or not_assessable == len(cur):  # nothing to count (e.g. a count table, another profile)
        return None
    if concern.empty:
        return f"None of the {len(cur)} data-protection checks raised a concern" + (
            f"; {not_assessable} could not be assessed from this extract." if not_assessable else ".")
    level = confidence_level(res.parameters)
    shares = pd.to_numeric(concern["share"], errors="coerce")
    counts = pd.to_numeric(concern["count"], errors="coerce")
    shown = shares.notna() & counts.notna()
    largest = ""
    if shown.any():
        row = concern.loc[shares[shown].idxmax()]
        largest = (f"; the largest, {str(row['check']).replace('_', ' ')}: {fmt_count(row['count'])} of "
                   f"{fmt_count(row['n'])} ({fmt_share(row['share'], row['ci_low'], row['ci_high'], level, bare=True)})")
    names = ", ".join(str(x).replace("_", " ") for x in concern["check"])
    lead = f"{len(concern)} of the {len(cur)} data-protection checks raised a concern"
    if short:
        return f"{lead}{largest}." if largest else f"{lead} ({names}); their counts are suppressed."
    tail = f"; {not_assessable} could not be assessed from this extract." if not_assessable else "."
    return f"{lead} ({names}){largest or '; their counts are suppressed'}{tail}"


# --------------------------------------------------------------------------- the lists


def main_points(res: AuditResult) -> list[str]:
    """3–5 main points in plain words for page 1, each with its number, interval and benchmark."""
    points = [
        representation_sentence(res, short=True),
        headline_rate_sentence(res),
        no_risk_sentence(res, short=True),
        borough_sentence(res, short=True),
        checks_sentence(res, short=True),
    ]
    return [p for p in points if p][:5]


def headline_sentences(res: AuditResult) -> list[str]:
    """The headline findings in full sentences (at most 7), after the main points."""
    out = [
        representation_sentence(res),
        headline_rate_sentence(res),
        no_risk_sentence(res),
        borough_sentence(res),
        trend_sentence(res),
        checks_sentence(res),
    ]
    return [s for s in out if s][:7]
