"""Profiles: what the toolkit assumes about a list and a place, declared in a TOML file.

A profile says what the list is called and what it counts, which areas it
covers (names, codes, other spellings), the benchmark populations by area and
group (each a CSV with its source), the groups, the reference group and how
raw values map to groups, the bands and their thresholds, the outcome columns,
the age range and age bands, the place's words for sentences, and how a count
table's columns are named. The format is documented in README.md ("Auditing
another list"); every key is checked here, and a bad one is reported with the
file, the key and what would be valid.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fairness.definitions import DEFAULT_SHARE_GROUP
from fairness.errors import ProfileError

__all__ = [
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
    "DEFAULT_PROFILE",
    "list_profiles",
    "load_profile",
    "profile_dir",
]

DEFAULT_PROFILE = "london-gvm"

ERR_UNKNOWN_PROFILE = "unknown profile {name!r}; valid: {valid}, or the path of a .toml file"
ERR_READ = "{path}: cannot be read: {error}"
ERR_TOML = "{path}: not valid TOML: {error}"
ERR_MISSING = "{path}: [{where}] needs the key {key!r} ({what})"
ERR_UNKNOWN_KEY = "{path}: [{where}] has an unknown key {key!r}; valid keys: {valid}"
ERR_TYPE = "{path}: {where}: {value!r} is not valid; expected {what}"
ERR_DUPLICATE = "{path}: {where}: {value!r} appears more than once; each must be unique"
ERR_NOT_IN = "{path}: {where}: {value!r} is not one of {what}: {valid}"
ERR_AGE_BANDS = ("{path}: [age] bands must cover {lo}–{hi} without gaps or overlaps, in order; "
                 "band {label!r} starts at {start}, expected {expected}")
ERR_BENCH_FILE = "{path}: [benchmarks.{name}] file {file!r} not found (looked in {base})"
ERR_BENCH_COLUMNS = "{file}: benchmark {name!r} of profile {profile!r}: column(s) {missing} not in the file; columns found: {found}"
ERR_BENCH_AREA = ("{file}: line {line}: column {column}: {value!r} is not an area of profile {profile!r}"
                  "{hint}; valid: the profile's area names, codes or spellings, or list it under 'exclude'")
ERR_BENCH_VALUE = "{file}: line {line}: column {column}: {value!r} is not valid; valid: a whole number ≥ 0"
ERR_BENCH_MISSING_AREAS = "{file}: benchmark {name!r} of profile {profile!r} has no row for: {areas}"
ERR_BENCH_TWICE = "{file}: line {line}: area {area!r} already had a row (line {first}); each area once"
ERR_UNKNOWN_BENCHMARK = "profile {profile!r} has no benchmark {name!r}; valid: {valid}"


# ----------------------------------------------------------------- the model


@dataclass(frozen=True)
class Area:
    """One area: canonical name, code (e.g. ONS), and other spellings accepted on input."""

    name: str
    code: str = ""
    spellings: tuple[str, ...] = ()


@dataclass(frozen=True)
class ListSpec:
    """What the list is: ``name`` ("Gangs Violence Matrix"), ``unit`` ("people listed"), ``unit_singular``."""

    name: str
    unit: str
    unit_singular: str
    has_snapshots: bool = True
    #: "people" (each row or count is a distinct person, one of the benchmark population) or
    #: "events" (searches, arrests: a rate above 1 per person is possible)
    counts: str = "people"
    #: the list covers every area: an area with no rows lists nobody (a true 0), not "no data"
    covers_all_areas: bool = False
    #: the list records a harm score (``harm_score`` is then a required column)
    has_harm_score: bool = True


@dataclass(frozen=True)
class PlaceSpec:
    """The place's words for sentences."""

    name: str  #: "London"
    people: str  #: "Londoners"
    area_word: str  #: "borough"
    area_word_plural: str  #: "boroughs"
    police: str  #: "Metropolitan Police"


@dataclass(frozen=True)
class GroupSpec:
    """The groups compared, the reference group, and how raw values map to groups."""

    names: tuple[str, ...]
    reference: str
    not_stated: str
    mapping: tuple[tuple[str, str], ...] = ()
    #: the group whose share of the list is compared across areas ([groups] share_group; the reader
    #: fills in definitions.DEFAULT_SHARE_GROUP when the groups have it, else "": the per-area share
    #: is then not assessable)
    share_group: str = ""

    @property
    def all(self) -> tuple[str, ...]:
        """The groups, then the not-stated value (the values a validated row may hold)."""
        return (*self.names, self.not_stated) if self.not_stated else self.names

    def lookup(self) -> dict[str, str]:
        """Lower-cased raw value (group names, the not-stated value and every mapped value) -> group."""
        out = {g.lower(): g for g in self.all}
        out.update({raw.lower(): g for raw, g in self.mapping})
        return out


@dataclass(frozen=True)
class BenchmarkSpec:
    """A benchmark population declared by a profile (a wide CSV: one row per area, a column or columns per group)."""

    name: str
    label: str
    source: str
    file: Path | None = None
    builtin: str = ""
    area_column: str = ""
    code_column: str = ""
    columns: tuple[tuple[str, tuple[str, ...]], ...] = ()
    exclude: tuple[str, ...] = ()
    assumption: str = ""


@dataclass(frozen=True)
class BandSpec:
    """Bands in order (most severe first) and named thresholds (bands read as a positive prediction)."""

    order: tuple[str, ...] = ()
    thresholds: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True)
class Outcome:
    """An outcome column: its label (for captions) and its window in months."""

    column: str
    label: str
    window_months: int


@dataclass(frozen=True)
class AgeSpec:
    """Valid ages, the age bands results are broken down by (``label, low, high`` inclusive), and the
    youngest age at which a person can be added to the list (``impossible_dates`` flags anyone certainly
    younger; default 10, the age of criminal responsibility in England and Wales)."""

    min: int
    max: int
    bands: tuple[tuple[str, int, int], ...]
    youngest_at_addition: int = 10


@dataclass(frozen=True)
class CountTableSpec:
    """Column names of a count table (area × group × count, optionally period, no-risk count)."""

    area: str = "area"
    group: str = "group"
    count: str = "count"
    period: str = "period"
    no_risk: str = "no_risk"


@dataclass(frozen=True)
class Profile:
    """A list and a place (see README, "Auditing another list")."""

    name: str
    title: str
    description: str
    path: str
    list: ListSpec
    place: PlaceSpec
    areas: tuple[Area, ...]
    groups: GroupSpec
    benchmarks: tuple[BenchmarkSpec, ...]
    bands: BandSpec
    outcomes: tuple[Outcome, ...]
    age: AgeSpec
    count_table: CountTableSpec
    #: partner types ``shared_with`` may name ([sharing] partners; default the built-in list)
    partners: tuple[str, ...] = ()

    @property
    def area_names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.areas)

    @property
    def benchmark_names(self) -> tuple[str, ...]:
        return tuple(b.name for b in self.benchmarks)

    def area_lookup(self, *, codes: bool = False) -> dict[str, str]:
        """Lower-cased name or spelling (and code, with ``codes=True``) -> canonical area name."""
        out: dict[str, str] = {}
        for a in self.areas:
            keys = [a.name, *a.spellings] + ([a.code] if codes and a.code else [])
            out.update({k.strip().lower(): a.name for k in keys})
        return out

    def area_for(self, value: Any, *, codes: bool = False) -> str | None:
        """The canonical area for a raw value (case and surrounding spaces ignored), or None."""
        return self.area_lookup(codes=codes).get(str(value).strip().lower())

    def closest_area(self, value: Any) -> str | None:
        """The nearest area name or spelling to a misspelt value, for error messages."""
        lookup = self.area_lookup()
        hit = difflib.get_close_matches(str(value).strip().lower(), list(lookup), n=1, cutoff=0.6)
        return lookup[hit[0]] if hit else None

    def benchmark(self, name: str | None = None):
        """The :class:`fairness.io.benchmarks.Benchmark` named ``name`` (default: the first, the headline)."""
        if name is None:
            name = self.benchmarks[0].name
        spec = next((b for b in self.benchmarks if b.name == name), None)
        if spec is None:
            raise ProfileError(ERR_UNKNOWN_BENCHMARK.format(profile=self.name, name=name,
                                                            valid=", ".join(self.benchmark_names)))
        return _load_benchmark(self, spec)


# ----------------------------------------------------------------- loading


def profile_dir() -> Path:
    """The folder of the shipped profiles (package data)."""
    return Path(__file__).resolve().parent


def _reference_root() -> Path:
    """Where the shipped profiles' benchmark files live: the project's ``data/reference``."""
    env = os.environ.get("FAIRNESS_REFERENCE_DIR")
    if env:  # the census folder; its parent holds the other places' folders
        return Path(env).parent
    return Path(__file__).resolve().parents[2] / "data" / "reference"


def shipped_profiles() -> dict[str, Path]:
    """The profiles shipped with the package: name -> TOML file."""
    return {p.stem: p for p in sorted(profile_dir().glob("*.toml"))}


def list_profiles() -> pd.DataFrame:
    """The shipped profiles: ``name, title, areas, groups, benchmarks``."""
    rows = []
    for name in shipped_profiles():
        p = load_profile(name)
        rows.append({"name": p.name, "title": p.title, "areas": len(p.areas),
                     "groups": ", ".join(p.groups.names), "benchmarks": ", ".join(p.benchmark_names)})
    return pd.DataFrame(rows, columns=["name", "title", "areas", "groups", "benchmarks"])


def load_profile(name_or_path: str | os.PathLike[str] | Profile = DEFAULT_PROFILE) -> Profile:
    """A shipped profile by name (``"london-gvm"``, ``"england-wales-forces"``) or a TOML file by path.

    Raises :class:`ProfileError` naming the file and key of anything invalid.
    """
    if isinstance(name_or_path, Profile):
        return name_or_path
    key = str(name_or_path)
    shipped = shipped_profiles()
    if key in shipped:
        return _load_shipped(key)
    path = Path(key)
    if path.suffix.lower() == ".toml" or path.exists():
        return _load_file(path, base=path.parent, name=path.stem)
    raise ProfileError(ERR_UNKNOWN_PROFILE.format(name=key, valid=", ".join(shipped)))


@lru_cache(maxsize=8)
def _load_shipped(name: str) -> Profile:
    return _load_file(shipped_profiles()[name], base=_reference_root(), name=name)


def _load_file(path: Path, *, base: Path, name: str) -> Profile:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProfileError(ERR_READ.format(path=path, error=exc.strerror or exc)) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(ERR_TOML.format(path=path, error=exc)) from None
    return _Reader(path, base).profile(data, name)


# Keys of each table: key -> (required, what a valid value is)
_KEYS: dict[str, dict[str, tuple[bool, str]]] = {
    "": {"title": (True, "text"), "description": (False, "text"), "list": (True, "a table"),
         "place": (True, "a table"), "areas": (True, "an array of tables [[areas]]"),
         "groups": (True, "a table"), "benchmarks": (True, "tables [benchmarks.NAME]"),
         "bands": (False, "a table"), "outcomes": (False, "an array of tables [[outcomes]]"),
         "age": (True, "a table"), "count_table": (False, "a table"), "sharing": (False, "a table")},
    "sharing": {"partners": (False, "an array of text: the partner types shared_with may name")},
    "list": {"name": (True, "text"), "unit": (True, "text, plural (\"people listed\")"),
             "unit_singular": (True, "text (\"person\")"), "snapshots": (False, "true or false"),
             "counts": (False, "\"people\" or \"events\""), "covers_all_areas": (False, "true or false"),
             "harm_score": (False, "true or false")},
    "place": {"name": (True, "text (\"London\")"), "people": (True, "text (\"Londoners\")"),
              "area_word": (True, "text (\"borough\")"), "area_word_plural": (True, "text (\"boroughs\")"),
              "police": (True, "text (\"Metropolitan Police\")")},
    "areas": {"name": (True, "text"), "code": (False, "text"), "spellings": (False, "an array of text")},
    "groups": {"names": (True, "an array of text"), "reference": (True, "one of the names"),
               "not_stated": (False, "text (\"Not stated\"), or \"\" for none"),
               "map": (False, "a table: raw value = group"),
               "share_group": (False, "one of the names: the group whose share of the list is compared "
                                      "across areas (default \"Black\")")},
    "benchmarks": {"label": (True, "text"), "source": (True, "text"), "file": (False, "a CSV path"),
                   "builtin": (False, "a built-in benchmark name"), "area_column": (False, "a column name"),
                   "code_column": (False, "a column name"),
                   "columns": (False, "a table: group = [columns summed]"),
                   "exclude": (False, "an array of area names or codes in the file that are not areas"),
                   "assumption": (False, "text")},
    "bands": {"order": (False, "an array of text"), "thresholds": (False, "a table: name = [bands]")},
    "outcomes": {"column": (True, "a column name"), "label": (True, "text"),
                 "window_months": (True, "a whole number ≥ 1")},
    "age": {"min": (True, "a whole number ≥ 0"), "max": (True, "a whole number"),
            "bands": (True, "an array of [label, low, high]"),
            "youngest_at_addition": (False, "a whole number ≥ 1")},
    "count_table": {"area": (False, "a column name"), "group": (False, "a column name"),
                    "count": (False, "a column name"), "period": (False, "a column name"),
                    "no_risk": (False, "a column name")},
}


class _Reader:
    def __init__(self, path: Path, base: Path):
        self.path = path
        self.base = base

    # -- helpers
    def _table(self, data: Any, section: str, where: str) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise ProfileError(ERR_TYPE.format(path=self.path, where=where, value=data, what="a table"))
        keys = _KEYS[section]
        for k in data:
            if k not in keys:
                raise ProfileError(ERR_UNKNOWN_KEY.format(path=self.path, where=where or "top level", key=k,
                                                          valid=", ".join(keys)))
        for k, (required, what) in keys.items():
            if required and k not in data:
                raise ProfileError(ERR_MISSING.format(path=self.path, where=where or "top level", key=k, what=what))
        return data

    def _text(self, value: Any, where: str, *, empty: bool = False) -> str:
        if not isinstance(value, str) or (not empty and not value.strip()):
            raise ProfileError(ERR_TYPE.format(path=self.path, where=where, value=value, what="non-empty text"))
        return value.strip()

    def _texts(self, value: Any, where: str) -> tuple[str, ...]:
        if isinstance(value, str) or not isinstance(value, list):
            raise ProfileError(ERR_TYPE.format(path=self.path, where=where, value=value, what="an array of text"))
        out = tuple(self._text(v, f"{where}[{i}]") for i, v in enumerate(value))
        self._unique(out, where)
        return out

    def _int(self, value: Any, where: str, low: int | None = None) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or (low is not None and value < low):
            what = "a whole number" + (f" ≥ {low}" if low is not None else "")
            raise ProfileError(ERR_TYPE.format(path=self.path, where=where, value=value, what=what))
        return value

    def _unique(self, values: tuple[str, ...], where: str) -> None:
        seen: set[str] = set()
        for v in values:
            if v.lower() in seen:
                raise ProfileError(ERR_DUPLICATE.format(path=self.path, where=where, value=v))
            seen.add(v.lower())

    def _one_of(self, value: str, valid: tuple[str, ...], where: str, what: str) -> str:
        if value not in valid:
            raise ProfileError(ERR_NOT_IN.format(path=self.path, where=where, value=value, what=what,
                                                 valid=", ".join(valid)))
        return value

    # -- sections
    def profile(self, data: dict[str, Any], name: str) -> Profile:
        top = self._table(data, "", "")
        lst = self._table(top["list"], "list", "list")
        place = self._table(top["place"], "place", "place")
        groups = self._groups(top["groups"])
        areas = self._areas(top["areas"])
        return Profile(
            name=name,
            title=self._text(top["title"], "title"),
            description=self._text(top.get("description", ""), "description", empty=True),
            path=str(self.path),
            list=ListSpec(
                name=self._text(lst["name"], "list.name"), unit=self._text(lst["unit"], "list.unit"),
                unit_singular=self._text(lst["unit_singular"], "list.unit_singular"),
                has_snapshots=self._bool(lst.get("snapshots", True), "list.snapshots"),
                counts=self._one_of(self._text(lst.get("counts", "people"), "list.counts"), ("people", "events"),
                                    "list.counts", "the kinds of count"),
                covers_all_areas=self._bool(lst.get("covers_all_areas", False), "list.covers_all_areas"),
                has_harm_score=self._bool(lst.get("harm_score", True), "list.harm_score"),
            ),
            place=PlaceSpec(**{k: self._text(place[k], f"place.{k}") for k in _KEYS["place"]}),
            areas=areas,
            groups=groups,
            benchmarks=self._benchmarks(top["benchmarks"], groups),
            bands=self._bands(top.get("bands", {})),
            outcomes=self._outcomes(top.get("outcomes", [])),
            age=self._age(top["age"]),
            count_table=self._count_table(top.get("count_table", {})),
            partners=self._partners(top.get("sharing", {})),
        )

    def _partners(self, value: Any) -> tuple[str, ...]:
        from fairness.definitions import PARTNER_TYPES

        t = self._table(value, "sharing", "sharing")
        return self._texts(t["partners"], "sharing.partners") if "partners" in t else PARTNER_TYPES

    def _bool(self, value: Any, where: str) -> bool:
        if not isinstance(value, bool):
            raise ProfileError(ERR_TYPE.format(path=self.path, where=where, value=value, what="true or false"))
        return value

    def _areas(self, value: Any) -> tuple[Area, ...]:
        if not isinstance(value, list) or not value:
            raise ProfileError(ERR_TYPE.format(path=self.path, where="areas", value=value,
                                               what="a non-empty array of tables [[areas]]"))
        areas = []
        for i, raw in enumerate(value):
            where = f"areas[{i}]"
            t = self._table(raw, "areas", where)
            areas.append(Area(name=self._text(t["name"], f"{where}.name"),
                              code=self._text(t.get("code", ""), f"{where}.code", empty=True),
                              spellings=self._texts(t.get("spellings", []), f"{where}.spellings")))
        self._unique(tuple(a.name for a in areas), "areas[].name")
        self._unique(tuple(a.code for a in areas if a.code), "areas[].code")
        # a spelling may not name two areas
        self._unique(tuple(s for a in areas for s in {a.name.lower(), *(x.lower() for x in a.spellings)}),
                     "areas[].name and areas[].spellings")
        return tuple(areas)

    def _groups(self, value: Any) -> GroupSpec:
        t = self._table(value, "groups", "groups")
        names = self._texts(t["names"], "groups.names")
        if not names:
            raise ProfileError(ERR_TYPE.format(path=self.path, where="groups.names", value=[],
                                               what="at least one group"))
        reference = self._one_of(self._text(t["reference"], "groups.reference"), names, "groups.reference",
                                 "the groups")
        not_stated = self._text(t.get("not_stated", "Not stated"), "groups.not_stated", empty=True)
        raw_map = t.get("map", {})
        if not isinstance(raw_map, dict):
            raise ProfileError(ERR_TYPE.format(path=self.path, where="groups.map", value=raw_map,
                                               what="a table: raw value = group"))
        valid = (*names, not_stated) if not_stated else names
        mapping = tuple((self._text(k, "groups.map key"),
                         self._one_of(self._text(v, f"groups.map.{k!r}"), valid, f"groups.map.{k!r}",
                                      "the groups"))
                        for k, v in raw_map.items())
        if "share_group" in t:
            share_group = self._one_of(self._text(t["share_group"], "groups.share_group"), names,
                                       "groups.share_group", "the groups")
        else:
            share_group = DEFAULT_SHARE_GROUP if DEFAULT_SHARE_GROUP in names else ""
        return GroupSpec(names=names, reference=reference, not_stated=not_stated, mapping=mapping,
                         share_group=share_group)

    def _benchmarks(self, value: Any, groups: GroupSpec) -> tuple[BenchmarkSpec, ...]:
        if not isinstance(value, dict) or not value:
            raise ProfileError(ERR_TYPE.format(path=self.path, where="benchmarks", value=value,
                                               what="at least one table [benchmarks.NAME]"))
        out = []
        for name, raw in value.items():
            where = f"benchmarks.{name}"
            t = self._table(raw, "benchmarks", where)
            label, source = self._text(t["label"], f"{where}.label"), self._text(t["source"], f"{where}.source")
            assumption = self._text(t.get("assumption", ""), f"{where}.assumption", empty=True)
            if "builtin" in t:
                from fairness.io.benchmarks import BUILTIN_BENCHMARKS

                builtin = self._one_of(self._text(t["builtin"], f"{where}.builtin"), tuple(BUILTIN_BENCHMARKS),
                                       f"{where}.builtin", "the built-in benchmarks")
                out.append(BenchmarkSpec(name=name, label=label, source=source, builtin=builtin,
                                         assumption=assumption))
                continue
            for k in ("file", "columns"):
                if k not in t:
                    raise ProfileError(ERR_MISSING.format(path=self.path, where=where, key=k,
                                                          what=_KEYS["benchmarks"][k][1] + " (or builtin)"))
            if "area_column" not in t and "code_column" not in t:
                raise ProfileError(ERR_MISSING.format(path=self.path, where=where, key="area_column",
                                                      what="the column naming the area (or code_column)"))
            file = Path(self._text(t["file"], f"{where}.file"))
            resolved = file if file.is_absolute() else self.base / file
            if not resolved.is_file():
                raise ProfileError(ERR_BENCH_FILE.format(path=self.path, name=name, file=str(file), base=self.base))
            cols = t["columns"]
            if not isinstance(cols, dict):
                raise ProfileError(ERR_TYPE.format(path=self.path, where=f"{where}.columns", value=cols,
                                                   what="a table: group = [columns summed]"))
            columns = []
            for g, c in cols.items():
                self._one_of(g, groups.names, f"{where}.columns key", "the groups")
                columns.append((g, (self._text(c, f"{where}.columns.{g}"),) if isinstance(c, str)
                                else self._texts(c, f"{where}.columns.{g}")))
            out.append(BenchmarkSpec(
                name=name, label=label, source=source, file=resolved,
                area_column=self._text(t.get("area_column", ""), f"{where}.area_column", empty=True),
                code_column=self._text(t.get("code_column", ""), f"{where}.code_column", empty=True),
                columns=tuple(columns), exclude=self._texts(t.get("exclude", []), f"{where}.exclude"),
                assumption=assumption,
            ))
        return tuple(out)

    def _bands(self, value: Any) -> BandSpec:
        t = self._table(value, "bands", "bands")
        order = self._texts(t.get("order", []), "bands.order")
        raw = t.get("thresholds", {})
        if not isinstance(raw, dict):
            raise ProfileError(ERR_TYPE.format(path=self.path, where="bands.thresholds", value=raw,
                                               what="a table: name = [bands]"))
        thresholds = []
        for k, v in raw.items():
            bands = self._texts(v, f"bands.thresholds.{k}")
            for b in bands:
                self._one_of(b, order, f"bands.thresholds.{k}", "bands.order")
            # a threshold is a cut: the most severe bands, in order
            if bands != order[:len(bands)]:
                raise ProfileError(ERR_TYPE.format(path=self.path, where=f"bands.thresholds.{k}", value=list(bands),
                                                   what=f"the first bands of bands.order, e.g. {list(order[:2])}"))
            thresholds.append((k, bands))
        return BandSpec(order=order, thresholds=tuple(thresholds))

    def _outcomes(self, value: Any) -> tuple[Outcome, ...]:
        if not isinstance(value, list):
            raise ProfileError(ERR_TYPE.format(path=self.path, where="outcomes", value=value,
                                               what="an array of tables [[outcomes]]"))
        out = []
        for i, raw in enumerate(value):
            t = self._table(raw, "outcomes", f"outcomes[{i}]")
            out.append(Outcome(column=self._text(t["column"], f"outcomes[{i}].column"),
                               label=self._text(t["label"], f"outcomes[{i}].label"),
                               window_months=self._int(t["window_months"], f"outcomes[{i}].window_months", 1)))
        self._unique(tuple(o.column for o in out), "outcomes[].column")
        return tuple(out)

    def _age(self, value: Any) -> AgeSpec:
        t = self._table(value, "age", "age")
        lo = self._int(t["min"], "age.min", 0)
        hi = self._int(t["max"], "age.max", lo + 1)
        raw = t["bands"]
        if not isinstance(raw, list) or not raw:
            raise ProfileError(ERR_TYPE.format(path=self.path, where="age.bands", value=raw,
                                               what="a non-empty array of [label, low, high]"))
        bands = []
        expected = lo
        for i, b in enumerate(raw):
            where = f"age.bands[{i}]"
            if not isinstance(b, list) or len(b) != 3:
                raise ProfileError(ERR_TYPE.format(path=self.path, where=where, value=b,
                                                   what="[label, low, high], e.g. [\"10-17\", 10, 17]"))
            label = self._text(b[0], where)
            start, end = self._int(b[1], where, 0), self._int(b[2], where, 0)
            if start != expected or end < start:
                raise ProfileError(ERR_AGE_BANDS.format(path=self.path, lo=lo, hi=hi, label=label, start=start,
                                                        expected=expected))
            bands.append((label, start, end))
            expected = end + 1
        if expected != hi + 1:
            raise ProfileError(ERR_AGE_BANDS.format(path=self.path, lo=lo, hi=hi, label="(after the last)",
                                                    start=expected, expected=f"the last band to end at {hi}"))
        self._unique(tuple(b[0] for b in bands), "age.bands labels")
        youngest = (self._int(t["youngest_at_addition"], "age.youngest_at_addition", 1)
                    if "youngest_at_addition" in t else AgeSpec.youngest_at_addition)
        return AgeSpec(min=lo, max=hi, bands=tuple(bands), youngest_at_addition=youngest)

    def _count_table(self, value: Any) -> CountTableSpec:
        t = self._table(value, "count_table", "count_table")
        spec = CountTableSpec(**{k: self._text(v, f"count_table.{k}") for k, v in t.items()})
        self._unique(tuple(getattr(spec, k) for k in _KEYS["count_table"]), "count_table columns")
        return spec


# ----------------------------------------------------------------- benchmarks


def _number(raw: str) -> float | None:
    s = str(raw).strip().replace(",", "")
    try:
        v = float(s)
    except ValueError:
        return None
    return v if np.isfinite(v) and v >= 0 else None


@lru_cache(maxsize=32)
def _load_benchmark(profile: Profile, spec: BenchmarkSpec):
    from fairness.io.benchmarks import Benchmark, get_benchmark

    if spec.builtin:
        b = get_benchmark(spec.builtin)
        return Benchmark(name=spec.name, label=spec.label, table=b.table, source=spec.source,
                         assumption=spec.assumption or b.assumption)
    file = spec.file
    assert file is not None  # the reader requires file or builtin
    try:
        df = pd.read_csv(file, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except Exception as exc:  # pandas raises several types
        raise ProfileError(f"{file}: cannot be read as CSV: {exc}") from None
    needed = [c for c in (spec.code_column or spec.area_column,) if c]
    needed += [c for _, cols in spec.columns for c in cols]
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise ProfileError(ERR_BENCH_COLUMNS.format(file=file, name=spec.name, profile=profile.name,
                                                    missing=", ".join(map(repr, missing)),
                                                    found=", ".join(map(repr, df.columns))))
    by_code = bool(spec.code_column)
    column = spec.code_column or spec.area_column
    lookup = ({a.code.lower(): a.name for a in profile.areas if a.code} if by_code else profile.area_lookup())
    exclude = {e.strip().lower() for e in spec.exclude}
    rows: dict[str, tuple[int, list[float]]] = {}
    for i, rec in enumerate(df.to_dict("records"), start=2):
        raw = str(rec[column]).strip()
        if raw.lower() in exclude:
            continue
        area = lookup.get(raw.lower())
        if area is None:
            near = None if by_code else profile.closest_area(raw)
            raise ProfileError(ERR_BENCH_AREA.format(file=file, line=i, column=column, value=raw,
                                                     profile=profile.name,
                                                     hint=f" (closest: {near!r})" if near else ""))
        if area in rows:
            raise ProfileError(ERR_BENCH_TWICE.format(file=file, line=i, area=area, first=rows[area][0]))
        values = []
        for _, cols in spec.columns:
            total = 0.0
            for c in cols:
                v = _number(rec[c])
                if v is None:
                    raise ProfileError(ERR_BENCH_VALUE.format(file=file, line=i, column=c, value=rec[c]))
                total += v
            values.append(total)
        rows[area] = (i, values)
    absent = [a for a in profile.area_names if a not in rows]
    if absent:
        raise ProfileError(ERR_BENCH_MISSING_AREAS.format(file=file, name=spec.name, profile=profile.name,
                                                          areas=", ".join(absent)))
    groups = [g for g, _ in spec.columns]
    order = [g for g in profile.groups.names if g in groups]
    records = [(area, g, rows[area][1][groups.index(g)]) for area in profile.area_names for g in order]
    t = pd.DataFrame(records, columns=["borough", "group", "count"])
    t["count"] = t["count"].astype("float64")
    t["share"] = t["count"] / t.groupby("borough", sort=False)["count"].transform("sum")
    return Benchmark(name=spec.name, label=spec.label, table=t, source=spec.source, assumption=spec.assumption)
