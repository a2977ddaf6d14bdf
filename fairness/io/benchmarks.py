"""Population benchmarks: who the list is compared with.

A disproportionality figure is only as good as its denominator, so every
benchmark is a named object that carries its source and, where it rests on an
assumption, says so. Built in (ONS Census, Open Government Licence v3.0,
© Crown copyright; files in ``data/reference/census`` with ``SOURCES.md``):

``residents_2021``
    Usual residents, Census 2021 (TS021), per borough and ethnic group.
``residents_2011``
    Usual residents, Census 2011 (QS201EW), per borough and ethnic group.
``residents_10_24_2021``
    Residents aged 10–24, Census 2021 (TS007A), split by ethnic group using
    each borough's all-ages ethnic shares. **Modelled**: it assumes the age
    profile is the same in every ethnic group, which is false in London
    (minority groups are younger), so it is a sensitivity analysis, never the
    headline denominator.

Users add their own with :func:`load_benchmark_csv`: a small CSV with columns
``group`` and ``count`` or ``share`` (optionally ``borough``), e.g. the cohort
responsible for serious youth violence (27% Black; Amnesty 2018 citing Met
figures).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from fairness.definitions import BOROUGH_CODES, BOROUGHS, CENSUS_ETHNICITIES, ETHNICITIES

__all__ = [
    "Benchmark",
    "BUILTIN_BENCHMARKS",
    "get_benchmark",
    "list_benchmarks",
    "load_benchmark_csv",
    "census_residents",
    "reference_dir",
    "ATTRIBUTION",
]

ATTRIBUTION = (
    "Source: Office for National Statistics, Census 2011 and 2021, licensed under the "
    "Open Government Licence v3.0 (© Crown copyright)."
)
MODELLED_10_24_ASSUMPTION = (
    "modelled: each borough's all-ages ethnic shares applied to its residents aged 10–24; "
    "assumes the same age profile in every ethnic group, which is false in London "
    "(minority groups are younger) — a sensitivity analysis, not a headline denominator"
)

ERR_UNKNOWN_BENCHMARK = "unknown benchmark {name!r}; valid: {valid}, or a path to a CSV file"
ERR_BENCHMARK_COLUMNS = (
    "{path}: a benchmark CSV needs a column 'group' and a column 'count' or 'share'; "
    "columns found: {found}"
)
ERR_BENCHMARK_GROUP = (
    "{path}: line {line}: column group: {value!r} is not a group of the matrix. Valid: {valid}"
)
ERR_BENCHMARK_VALUE = (
    "{path}: line {line}: column {column}: {value!r} is not valid. Valid: {valid}"
)
ERR_BENCHMARK_BOROUGH = (
    "{path}: line {line}: column borough: {value!r} is not one of the 32 London boroughs (ONS spelling)"
)

_ETHNIC_COLUMNS = {"White": "white", "Black": "black", "Asian": "asian", "Mixed": "mixed", "Other": "other"}


def reference_dir() -> Path:
    """Folder holding the census files (``data/reference/census``).

    ``FAIRNESS_REFERENCE_DIR`` overrides it (for an installed copy without the
    repository's ``data/``).
    """
    env = os.environ.get("FAIRNESS_REFERENCE_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "data" / "reference" / "census"


@dataclass(frozen=True)
class Benchmark:
    """A benchmark population.

    Attributes
    ----------
    name : str
        Short key, e.g. ``"residents_2021"``.
    label : str
        How outputs name it, e.g. ``"residents, Census 2021"``.
    table : DataFrame
        ``borough, group, count, share``; ``borough`` is ``"London"`` for the
        whole of the Metropolitan Police area; ``count`` is NaN for a
        share-only benchmark; ``share`` is the group's share within its borough.
    source : str
        Where the numbers come from.
    assumption : str
        Empty, or the assumption the benchmark rests on (shown wherever it is used).
    """

    name: str
    label: str
    table: pd.DataFrame
    source: str
    assumption: str = ""

    @property
    def has_counts(self) -> bool:
        """True if the benchmark gives population counts (so rates per 1,000 exist)."""
        return bool(self.table["count"].notna().all())

    @property
    def has_boroughs(self) -> bool:
        return bool((self.table["borough"] != "London").any())

    def london(self) -> pd.DataFrame:
        """``group, count, share`` for the whole Metropolitan Police area."""
        t = self.table
        if self.has_boroughs:
            if not self.has_counts:
                raise ValueError(f"benchmark {self.name}: borough shares without counts cannot be pooled")
            g = t.groupby("group", sort=False, observed=True)["count"].sum()
            out = g.rename("count").reset_index()
        else:
            out = t.loc[t["borough"] == "London", ["group", "count", "share"]].reset_index(drop=True)
            return out
        out["share"] = out["count"] / out["count"].sum()
        return out

    def by_borough(self) -> pd.DataFrame:
        """``borough, group, count, share`` (raises if the benchmark has no borough detail)."""
        if not self.has_boroughs:
            raise ValueError(f"benchmark {self.name} has no borough detail")
        return self.table.copy()


@lru_cache(maxsize=8)
def _census_file(name: str, include_city: bool = False) -> pd.DataFrame:
    path = reference_dir() / name
    df = pd.read_csv(path)
    if include_city:
        df["borough"] = df["la_name"]
        return df
    df = df[df["la_code"].isin(BOROUGH_CODES.values())].copy()
    if len(df) != len(BOROUGHS):
        raise ValueError(f"{path}: expected the 32 Metropolitan Police boroughs, found {len(df)}")
    code_to_name = {v: k for k, v in BOROUGH_CODES.items()}
    df["borough"] = df["la_code"].map(code_to_name)
    return df


def census_residents(year: int, *, include_city: bool = False) -> pd.DataFrame:
    """Usual residents per borough and ethnic group: ``borough, group, count``.

    The 32 Metropolitan Police boroughs only, unless ``include_city=True``
    adds the City of London (for checking totals against published figures).

    >>> int(census_residents(2021)["count"].sum())  # 8,799,810 less the City's 8,588
    8791222
    """
    if year not in (2011, 2021):
        raise ValueError(f"census year {year!r} not available; valid: 2011, 2021")
    col_total = "all_usual_residents"
    df = _census_file(f"ethnicity_by_borough_census{year}.csv", include_city)
    long = df.melt(
        id_vars=["borough", col_total],
        value_vars=list(_ETHNIC_COLUMNS.values()),
        var_name="group",
        value_name="count",
    )
    long["group"] = long["group"].map({v: k for k, v in _ETHNIC_COLUMNS.items()})
    if include_city:
        return long[["borough", "group", "count"]].reset_index(drop=True)
    return _order(long[["borough", "group", "count"]])


def _order(t: pd.DataFrame) -> pd.DataFrame:
    t = t.copy()
    t["borough"] = pd.Categorical(t["borough"], categories=list(BOROUGHS) + ["London"])
    t["group"] = pd.Categorical(t["group"], categories=list(ETHNICITIES))
    t = t.sort_values(["borough", "group"]).reset_index(drop=True)
    t["borough"] = t["borough"].astype(str)
    t["group"] = t["group"].astype(str)
    return t


def _with_shares(t: pd.DataFrame) -> pd.DataFrame:
    t = t.copy()
    t["count"] = t["count"].astype("float64")
    t["share"] = t["count"] / t.groupby("borough", sort=False)["count"].transform("sum")
    return t


def _residents(year: int) -> Benchmark:
    table = ["TS021", "QS201EW"][year == 2011]
    return Benchmark(
        name=f"residents_{year}",
        label=f"residents, Census {year}",
        table=_with_shares(census_residents(year)),
        source=f"ONS Census {year}, table {table}, usual residents by ethnic group. {ATTRIBUTION}",
    )


def _residents_10_24() -> Benchmark:
    eth = census_residents(2021)
    eth["share"] = eth["count"] / eth.groupby("borough")["count"].transform("sum")
    age = _census_file("age_by_borough_census2021.csv")[["borough", "age_10_24"]]
    t = eth.merge(age, on="borough", how="left")
    t["count"] = t["share"] * t["age_10_24"]
    return Benchmark(
        name="residents_10_24_2021",
        label="residents aged 10–24, Census 2021 (modelled)",
        table=_with_shares(t[["borough", "group", "count"]]),
        source=f"ONS Census 2021, TS007A (age) and TS021 (ethnic group). {ATTRIBUTION}",
        assumption=MODELLED_10_24_ASSUMPTION,
    )


BUILTIN_BENCHMARKS: dict[str, str] = {
    "residents_2021": "usual residents, Census 2021 (TS021)",
    "residents_2011": "usual residents, Census 2011 (QS201EW)",
    "residents_10_24_2021": "residents aged 10–24, Census 2021, ethnic split modelled",
}
_BUILDERS = {
    "residents_2021": lambda: _residents(2021),
    "residents_2011": lambda: _residents(2011),
    "residents_10_24_2021": _residents_10_24,
}


def list_benchmarks() -> pd.DataFrame:
    """The built-in benchmarks: ``name, description``."""
    return pd.DataFrame({"name": list(BUILTIN_BENCHMARKS), "description": list(BUILTIN_BENCHMARKS.values())})


def get_benchmark(name: str | os.PathLike[str] | Benchmark) -> Benchmark:
    """A built-in benchmark by name, a user CSV by path, or a Benchmark unchanged."""
    if isinstance(name, Benchmark):
        return name
    key = str(name)
    if key in _BUILDERS:
        return _cached(key)
    if key.lower().endswith(".csv") or Path(key).is_file():
        return load_benchmark_csv(key)
    raise ValueError(
        ERR_UNKNOWN_BENCHMARK.format(name=key, valid=", ".join(BUILTIN_BENCHMARKS))
    )


@lru_cache(maxsize=8)
def _cached(key: str) -> Benchmark:
    return _BUILDERS[key]()


def load_benchmark_csv(
    path: str | os.PathLike[str], *, name: str | None = None, label: str | None = None
) -> Benchmark:
    """Read a user-supplied benchmark.

    The CSV has a column ``group`` (ethnic groups as in the matrix:
    White, Black, Asian, Mixed, Other) and either ``count`` (population
    counts: rates per 1,000 become available) or ``share`` (fractions or
    percentages; only representation ratios and relative rates from shares).
    An optional ``borough`` column gives borough detail; optional ``label``
    and ``source`` columns (first row) name it. Groups not listed are taken
    as absent from the benchmark, and outputs say "not estimable" for them.

    Example (the serious-youth-violence comparator, Amnesty 2018)::

        group,share,label,source
        Black,27,"people responsible for serious youth violence (Met)","Amnesty (2018) citing Met figures"
        White,...
    """
    path = Path(path)
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except Exception as exc:  # pandas raises several types
        raise ValueError(f"{path}: cannot be read as CSV: {exc}") from exc
    df.columns = [c.strip().lower() for c in df.columns]
    value_col = "count" if "count" in df.columns else ("share" if "share" in df.columns else None)
    if "group" not in df.columns or value_col is None:
        raise ValueError(ERR_BENCHMARK_COLUMNS.format(path=path, found=", ".join(df.columns)))
    lookup = {g.lower(): g for g in ETHNICITIES}
    groups, values, boroughs = [], [], []
    blookup = {b.lower(): b for b in BOROUGHS}
    for i, row in enumerate(df.itertuples(index=False), start=2):
        g = lookup.get(str(row.group).strip().lower())
        if g is None:
            raise ValueError(
                ERR_BENCHMARK_GROUP.format(path=path, line=i, value=row.group, valid=", ".join(CENSUS_ETHNICITIES))
            )
        raw = str(getattr(row, value_col)).strip().rstrip("%")
        try:
            v = float(raw)
        except ValueError:
            v = float("nan")
        if not np.isfinite(v) or v < 0:
            raise ValueError(
                ERR_BENCHMARK_VALUE.format(path=path, line=i, column=value_col, value=raw, valid="a number ≥ 0")
            )
        b = "London"
        if "borough" in df.columns and str(row.borough).strip():
            b = blookup.get(str(row.borough).strip().lower())
            if b is None:
                raise ValueError(ERR_BENCHMARK_BOROUGH.format(path=path, line=i, value=row.borough))
        groups.append(g)
        values.append(v)
        boroughs.append(b)
    t = pd.DataFrame({"borough": boroughs, "group": groups, "value": values})
    if value_col == "count":
        t["count"] = t["value"]
        t["share"] = t["count"] / t.groupby("borough")["count"].transform("sum")
    else:
        total = t.groupby("borough")["value"].transform("sum")
        scale = 100.0 if (t["value"] > 1).any() else 1.0
        t["count"] = np.nan
        t["share"] = t["value"] / scale
        # Shares that do not sum to 1 are kept as given (a comparator may list
        # only some groups); say so rather than renormalising silently.
        _ = total
    first = df.iloc[0]
    bench_label = label or (first["label"] if "label" in df.columns and first["label"] else path.stem)
    source = first["source"] if "source" in df.columns and first["source"] else f"user-supplied: {path.name}"
    return Benchmark(
        name=name or path.stem,
        label=bench_label,
        table=t[["borough", "group", "count", "share"]],
        source=source,
        assumption="" if value_col == "count" else "shares only: no population counts, so no rates per 1,000",
    )
