"""One entry point: :func:`audit` returns every result as one :class:`AuditResult`.

Notebooks, the command line and the reports all use it, so a number in a
report is the number a researcher gets in a notebook. ``AuditResult`` is a
frozen dataclass of tidy tables (contract: ``docs/audit_contract.md``);
:meth:`AuditResult.for_publication` applies disclosure control to every table.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from fairness.checks import REGISTRY, ChecksConfig, run_checks_on_counts, sharing_from_counts
from fairness.counts.cube import (
    ERR_NO_VALID_ROWS,
    Cube,
    borough_metric_counts,
    casemix_grouped,
    cube_from_frame,
    duration_counts,
    in_quarter,
    list_counts,
    no_risk_counts,
    people_in_quarter,
    trend_counts,
)
from fairness.counts.duck import (
    ParquetValidation,
    count_and_validate_parquet,
    is_parquet_path,
    read_file_and_log,
    use_duckdb,
    with_valid_rows,
)
from fairness.definitions import DEFAULT_REFERENCE
from fairness.errors import CountTableError
from fairness.io.benchmarks import get_benchmark
from fairness.io.validation import ValidationResult, read_and_log, validate_frame
from fairness.quarters import ERR_QUARTER, POOLED, quarter_codes, select_quarter
from fairness.results.counts_table import (
    ERR_PROFILE_MISMATCH,
    CountTableAudit,
    profile_sentences,
    restricted_benchmarks,
)
from fairness.results.result import PRECISION_NOTE, SIGNIFICANT_DIGITS, TABLES, AuditResult, replace
from fairness.results.sentences import ratio_sentences
from fairness.stats.bands import band_performance_from_cells
from fairness.stats.boroughs import (
    BOROUGH_METRICS,
    CASEMIX_COVARIATES,
    band_consistency_from_counts,
    casemix_from_grouped,
    funnel_from_counts,
    heterogeneity_from_counts,
)
from fairness.stats.disproportionality import (
    benchmark_sensitivity,
    relative_rate_from_counts,
    representation_from_counts,
)
from fairness.stats.no_risk import (
    ERR_DEFINITION,
    NO_RISK_DEFINITIONS,
    duration_from_counts,
    not_assessable_duration,
    not_assessable_share,
    share_from_counts,
)
from fairness.stats.trends import trends_from_counts

__all__ = ["AuditResult", "audit", "audit_and_validate_parquet", "audit_parquet", "TABLES"]

__all__ += ["ERR_NO_VALID_ROWS", "ERR_QUARTER", "PRECISION_NOTE", "SIGNIFICANT_DIGITS", "replace"]  # kept importable from here
ERR_INPUT = "audit() takes a path, a ValidationResult or a validated DataFrame, not {type}"
NO_RISK_BY: tuple[str, ...] = ("borough", "ethnicity", "age_band", "sex", "quarter")


# ---------------------------------------------------------------------- audit


def _load(matrix: Any) -> tuple[pd.DataFrame, ValidationResult | None]:
    if isinstance(matrix, ValidationResult):
        return matrix.valid, matrix
    if isinstance(matrix, (str, os.PathLike)):
        res = read_and_log(matrix, command="audit")  # logged (s.62) as `fairness audit` logs it
        return res.valid, res
    if isinstance(matrix, pd.DataFrame):
        zoned = any(isinstance(t, pd.DatetimeTZDtype) for t in matrix.dtypes)  # validation reads them in their zone
        if zoned or (str(matrix["borough"].dtype) != "category" if "borough" in matrix else True):
            res = validate_frame(matrix)
            return res.valid, res
        return matrix, None
    raise TypeError(ERR_INPUT.format(type=type(matrix).__name__))


def _holding_definitions(function):
    """Run ``function`` holding the lock of :func:`fairness.profiles.profile_definitions`, so an
    audit never reads definitions another thread's audit under another profile has put in force."""
    import functools

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        from fairness.profiles._apply import definitions_lock

        with definitions_lock():
            return function(*args, **kwargs)

    return wrapper


@_holding_definitions
def audit(
    matrix: str | os.PathLike[str] | ValidationResult | pd.DataFrame,
    *,
    quarter: str | None = None,
    benchmarks: Sequence[str] = ("residents_2021", "residents_2011"),
    reference: str = DEFAULT_REFERENCE,
    alpha: float = 0.05,
    method: Literal["katz", "poisson-exact", "mid-p"] = "katz",
    adjust: Literal["holm", "bh", "bonferroni", "none"] = "holm",
    no_risk: str = "harm_zero",
    checks_config: Any = None,
    engine: Literal["auto", "pandas", "duckdb"] = "auto",
    profile: Any = None,
    covers: Any = None,
) -> AuditResult:
    """Audit one quarter of a matrix (and all quarters for trends).

    Parameters
    ----------
    matrix : path, ValidationResult or DataFrame
        A path is read and validated (rows quarantined and counted); a
        DataFrame that has not been validated is validated first.
    quarter : str, optional
        "2018Q4"; default the latest quarter in the file.
    benchmarks : sequence of str
        Benchmark names or CSV paths; the first is the headline benchmark.
    reference : str, default "White"
        Reference group for relative rates.
    alpha : float, default 0.05
        1 − confidence level for every interval.
    method : {"katz", "poisson-exact", "mid-p"}
        Interval method for ratios.
    adjust : {"holm", "bh", "bonferroni", "none"}
        Multiplicity adjustment of p-values within each family.
    no_risk : str, default "harm_zero"
        Headline no-risk definition (all definitions are reported).
    checks_config : fairness.checks.ChecksConfig, optional
        Thresholds and parameters of the data-protection checks.
    engine : {"auto", "pandas", "duckdb"}, default "auto"
        Where the rows are counted. ``"duckdb"``: a file (CSV or Parquet, or
        a folder or glob of Parquet files) is validated and counted by DuckDB
        without its rows being loaded into pandas (see
        :mod:`fairness.counts.duck`; a Parquet file larger than memory is
        fine); ``"pandas"``: in memory. ``"auto"``: DuckDB for a path, pandas
        for a DataFrame or a ValidationResult already in memory. Both give the
        same results.
    covers : "all", "none" or a list of area names, optional
        Areas the list is known to cover, passed to every per-area statistic
        (the funnels and the heterogeneity test): an area there with no rows
        lists nobody (a true 0 with its interval); elsewhere an area with no
        rows is "no data". Default: the profile's ``[list] covers_all_areas``
        (london-gvm: true, its extract is of the whole Met).
    profile : str, path or Profile, optional
        ``None`` or ``"london-gvm"``: the London matrix, as always. Another
        profile (:mod:`fairness.profiles`): the matrix is validated with its
        areas, groups and ages and audited from its counts with its benchmarks
        and words (:func:`fairness.audit_counts`); the record-level checks,
        case-mix adjustment, band performance and trends run with london-gvm
        only for now, and the result says so.

    Returns
    -------
    AuditResult
        In ``internal`` mode; call :meth:`AuditResult.for_publication` before
        publishing anything.
    """
    options = {"benchmarks": benchmarks, "reference": reference, "alpha": alpha, "method": method,
               "adjust": adjust, "no_risk": no_risk}
    covered = resolve_covers(covers, profile)
    if engine not in ENGINES:
        raise ValueError(ERR_ENGINE.format(engine=engine, valid=", ".join(ENGINES)))
    if profile is not None:
        from fairness.profiles import load_profile

        if load_profile(profile).name != "london-gvm":
            options["reference"] = reference if reference != DEFAULT_REFERENCE else None
            with _single_threaded_blas():
                return _audit_with_profile(matrix, load_profile(profile), quarter=quarter, options=options,
                                           covers=covered, checks_config=checks_config, engine=engine)
    duck = _duckdb_input(matrix, engine)
    if duck is not None and isinstance(duck, (str, os.PathLike)):
        return _logged(lambda: audit_and_validate_parquet(duck, quarter=quarter, checks_config=checks_config,
                                                          covers=covered, **options), duck)
    if duck is not None:
        return audit_parquet(duck, quarter=quarter, checks_config=checks_config, covers=covered, **options)
    frame, validation = _load(matrix)
    if len(frame) == 0:
        raise ValueError(ERR_NO_VALID_ROWS)
    codes, quarters = quarter_codes(frame["snapshot_date"])
    q = select_quarter(quarter, tuple(quarters))
    config = checks_config or ChecksConfig()
    cube = cube_from_frame(frame, quarter=q, config=config)
    records = _records_for_checks(frame, codes, quarters.index(q))
    facts = _facts(validation, len(frame))
    return audit_from_cube(
        cube, facts=facts, quarantine=validation.quarantined if validation is not None else None,
        benchmarks=benchmarks, reference=reference, alpha=alpha, method=method, adjust=adjust,
        no_risk=no_risk, checks_config=config, records=records, covers=covered,
    )


#: ``covers`` values of :func:`audit` besides "all" and area names: the list is known to cover no area
#: beyond those with rows (an area with no rows is "no data").
COVERS_NONE = ("none",)
ERR_COVERS_AUDIT = "covers must be 'all', 'none', or a list of area names; got {value!r}"


def resolve_covers(covers: Any, profile: Any = None) -> Any:
    """The areas a list is known to cover, as the per-area statistics take it (``covers=`` of
    :func:`fairness.stats.boroughs.borough_funnel`): ``"all"``, a tuple of area names, or ``()``
    (only the areas with rows). ``None`` takes the profile's ``[list] covers_all_areas``
    (london-gvm: true, the extract is of the whole Met)."""
    if covers is None:
        from fairness.profiles import load_profile

        return "all" if load_profile(profile if profile is not None else "london-gvm").list.covers_all_areas else ()
    if isinstance(covers, str):
        word = covers.strip().casefold()
        if word in COVERS_NONE:
            return ()
        if word == "all":
            return "all"
        return tuple(a.strip() for a in covers.split(",") if a.strip())
    if isinstance(covers, (list, tuple, set, frozenset)):
        return tuple(str(a) for a in covers)
    raise ValueError(ERR_COVERS_AUDIT.format(value=covers))


def _audit_with_profile(matrix: Any, profile: Any, *, quarter: str | None, options: dict[str, Any],
                        covers: Any = (), checks_config: Any = None, engine: str = "auto") -> AuditResult:
    """A matrix of another place: validated with ``profile`` and audited with its definitions in force
    (:func:`fairness.profiles.profile_definitions`): its areas, groups, bands, ages, outcome and
    benchmarks. What the profile does not declare is "not assessable: <profile> declares no <thing>".
    A list without snapshots (no ``snapshot_date``, or one date for all where the profile declares
    ``snapshots = false``) is audited pooled, and the result says so (``quarter`` "pooled",
    ``parameters["pooled"]``, the headline and a note)."""
    from fairness.profiles._apply import missing_declarations, profile_definitions

    duck = _duckdb_input(matrix, engine)
    if duck is not None and isinstance(duck, (str, os.PathLike)):
        # read and validated in DuckDB with the profile (logged as `fairness audit` logs it); the valid
        # rows come out typed, as read_matrix(path, profile=...) gives them
        res = with_valid_rows(read_file_and_log(duck, command="audit", profile=profile))
    elif isinstance(matrix, ParquetValidation):
        res = with_valid_rows(matrix)
    elif isinstance(matrix, ValidationResult):
        res = matrix
    elif isinstance(matrix, (str, os.PathLike)):
        res = read_and_log(matrix, command="audit", profile=profile)  # logged as `fairness audit` logs it
    elif isinstance(matrix, pd.DataFrame):
        res = validate_frame(matrix, profile=profile)
    else:
        raise TypeError(ERR_INPUT.format(type=type(matrix).__name__))
    frame = res.valid
    if len(frame) == 0:
        raise ValueError(ERR_NO_VALID_ROWS)
    if list(frame["borough"].cat.categories) != list(profile.area_names):
        raise CountTableError(ERR_PROFILE_MISMATCH.format(source=res.source, profile=profile.name))
    missing = missing_declarations(profile)
    if "harm_score" in frame.columns:  # declared optional, but this file has one: it is used
        missing.pop("harm_score", None)
    notes = []
    no_dates = "snapshot_date" not in frame.columns
    pooled = bool(pooled_reason(has_dates=not no_dates, has_snapshots=profile.list.has_snapshots,
                                count_dates=lambda: frame["snapshot_date"].nunique()))
    if no_dates:
        # one stand-in date so the counting runs; everything that reads the date says it is not assessable
        frame = frame.assign(snapshot_date=pd.Timestamp(POOLED_STAND_IN_DATE))
        missing["snapshot_date"] = NOTE_NO_SNAPSHOT_DATE
    if pooled:
        missing.setdefault("snapshots", NOTE_POOLED)
        notes.append(NOTE_POOLED)
    frame = frame.drop(columns=[c for c in ("risk_band",) if c in frame.columns and "bands" in missing])
    with profile_definitions(profile) as p:
        reference = options["reference"] or p.groups.reference
        codes, quarters = quarter_codes(frame["snapshot_date"])
        q = select_quarter(None if pooled else quarter, tuple(quarters))
        config = checks_config or ChecksConfig()
        cube = cube_from_frame(frame, quarter=q, config=config)
        present = [a for a in p.area_names if a in set(frame.loc[codes == quarters.index(q), "borough"].astype(str))]
        everywhere = covers == "all" or set(p.area_names) <= set(covers)
        benches = _profile_benchmarks(p, options["benchmarks"], None if everywhere else present)
        if not everywhere and len(present) < len(p.areas):
            notes.append(f"{len(present)} of {len(p.areas)} {p.place.area_word_plural} listed"
                         f"{'' if pooled else ' in ' + q}; the list "
                         f"is not declared to cover the others (covers), so benchmarks are restricted to them")
        result = audit_from_cube(
            cube, facts=_facts(res, len(frame)), quarantine=res.quarantined, benchmarks=benches,
            reference=reference, alpha=options["alpha"], method=options["method"], adjust=options["adjust"],
            no_risk=options["no_risk"], checks_config=config,
            records=_records_for_checks(frame, codes, quarters.index(q)), covers=covers,
            undeclared=missing, rate_benchmark=benches[0], count_kind=p.list.counts)
    from fairness.checks import ALL_BANDS, ALL_BOROUGHS

    params = {**result.parameters, "input": "records", "profile": p.name, "period": q, "pooled": pooled,
              "place": p.place.name, "place_people": p.place.people,
              # the group whose share is compared ("" if none), so a reader of the JSON alone (the trend
              # appendix of a profile read from a path) knows it
              "share_group": p.groups.share_group,
              # the profile's words, so a publication check of the JSON alone knows them (no path)
              "vocabulary": {"areas": [*p.area_names, p.place.name, f"All {p.place.area_word_plural}"],
                             "groups": list(p.groups.all), "age_bands": [b[0] for b in p.age.bands],
                             "bands": list(p.bands.order) or [ALL_BANDS], "partners": list(p.partners)}}

    changes: dict[str, Any] = _pooled(result) if pooled else {}
    if pooled:
        params.update(quarter=POOLED, period=POOLED)
    checks = changes.get("checks", result.checks)
    changes.update({"parameters": params, "notes": (*result.notes, *notes, *res.notes),
                    "checks": checks.assign(borough=checks["borough"].replace(
                        {ALL_BOROUGHS: f"All {p.place.area_word_plural}"})),
                    "sentences": profile_sentences(result.relative_rate, p, alpha=options["alpha"])})
    fields = {f.name: getattr(result, f.name) for f in dataclasses.fields(result)}
    return CountTableAudit(**{**fields, **changes}, profile=p)


#: why a list is audited pooled (:func:`pooled_reason`), as ``fairness report`` says it
POOLED_NO_DATES = "no snapshot_date column"
POOLED_ONE_DATE = "one snapshot date, and its profile declares snapshots = false"


def pooled_reason(*, has_dates: bool, has_snapshots: bool, count_dates: Callable[[], int]) -> str:
    """Why a list is audited pooled (one period, "pooled", not a quarter), or "" if it is not: the
    one rule, which :func:`fairness.audit` and the report runner both follow. A list is pooled
    when it has no ``snapshot_date`` column, or when its profile declares ``snapshots = false``
    and it holds at most one snapshot date. ``count_dates`` gives the number of distinct snapshot
    dates of the valid rows; it is called only when the answer depends on it."""
    if not has_dates:
        return POOLED_NO_DATES
    if not has_snapshots and count_dates() <= 1:
        return POOLED_ONE_DATE
    return ""


POOLED_STAND_IN_DATE = "2000-01-01"
NOTE_POOLED = ("no snapshots: every record is audited as one pooled list (not a quarter); figures over time and "
               "checks across snapshots are not assessable")
NOTE_NO_SNAPSHOT_DATE = "not assessable: the list has no snapshot_date (reviews, dates and time on the list need it)"


def _pooled(result: AuditResult) -> dict[str, Any]:
    """The quarter labels of a pooled audit replaced by "pooled" everywhere they appear."""
    q = result.quarter
    out: dict[str, Any] = {"quarter": POOLED, "quarters": (POOLED,)}
    for name in ("trends", "checks", "sharing_by_partner", "band_by_group", "band_versus_reference",
                 "band_summary", "band_calibration"):
        t = getattr(result, name)
        if "quarter" in t.columns:
            out[name] = t.assign(quarter=t["quarter"].astype(str).replace({q: POOLED}))
    nr = result.no_risk
    if "by" in nr.columns:
        nr = nr.copy()
        nr.loc[(nr["by"] == "quarter") & (nr["group"].astype(str) == q), "group"] = POOLED
        out["no_risk"] = nr
    return out


def _profile_benchmarks(p: Any, names: Sequence[Any], present: list[str] | None) -> list:
    """The profile's benchmarks by name (its own list when the default London names are given),
    restricted to ``present`` areas when the list does not cover every area."""

    wanted = [b for b in names if str(b) in p.benchmark_names] if names else []
    if names and not wanted and tuple(names) != ("residents_2021", "residents_2011"):
        wanted = list(names)  # let restricted_benchmarks name the unknown one
    return restricted_benchmarks(p, wanted or None, present if present is not None else list(p.area_names))


ENGINES: tuple[str, ...] = ("auto", "pandas", "duckdb")
ERR_ENGINE = "engine must be one of {valid}; got {engine!r}"
ERR_ENGINE_INPUT = (
    "engine='duckdb' counts files: give the path of a .csv or .parquet file, or of a folder of Parquet files "
    "(got {what})"
)


def _duckdb_input(matrix: Any, engine: str):
    """What to audit in DuckDB (a Parquet path or a ParquetValidation), or None to audit in memory."""
    if isinstance(matrix, ParquetValidation):
        return matrix
    if engine == "pandas":
        return None
    if engine == "duckdb":
        if not is_parquet_path(matrix):
            is_path = isinstance(matrix, (str, os.PathLike))
            raise ValueError(ERR_ENGINE_INPUT.format(what=repr(str(matrix)) if is_path else type(matrix).__name__))
        return matrix
    return matrix if use_duckdb(matrix) else None


def _logged(run, path) -> AuditResult:
    """Run a DuckDB audit of ``path``, logged (s.62) as ``fairness audit`` logs it: a failed read too."""
    from fairness.io.audit_log import AuditLogError, check_audit_log, log_failed_read, log_read

    check_audit_log()
    try:
        result, validation = run()
    except (ValueError, OSError) as exc:
        if not isinstance(exc, AuditLogError):
            read = getattr(exc, "validation", None)  # the file was read, then the audit stopped
            counts = None if read is None else {"rows": read.n_rows, "valid": read.n_valid,
                                                "quarantined": read.n_quarantined}
            log_failed_read(command="audit", path=path, error=exc, sha256=getattr(read, "sha256", None) or None,
                            counts=counts)
        raise
    log_read(command="audit", result=validation)
    return result


def audit_parquet(matrix, *, quarter: str | None, checks_config=None, **options) -> AuditResult:
    """Audit a Parquet file (or a :class:`~fairness.counts.duck.ParquetValidation` of one) counted
    in DuckDB (see :mod:`fairness.counts.duck`).

    ``options`` are :func:`audit`'s statistical options and DuckDB's ``memory_limit``,
    ``temp_directory`` and ``threads``; the result is the same :class:`AuditResult`.
    """
    return audit_and_validate_parquet(matrix, quarter=quarter, checks_config=checks_config, **options)[0]


def audit_and_validate_parquet(matrix, *, quarter: str | None, checks_config=None, **options):
    """:func:`audit_parquet`, and the :class:`~fairness.counts.duck.ParquetValidation` made on the
    way (for a path: one pass validates and counts; the command line logs the validation)."""
    config = checks_config or ChecksConfig()
    engine = {k: options.pop(k) for k in ("memory_limit", "temp_directory", "threads", "max_bytes", "max_columns",
                                        "encoding", "delimiter")
              if k in options}
    with count_and_validate_parquet(matrix, quarter=quarter, checks_config=config, **engine) as counted:
        cube, facts, validation = counted
        result = audit_from_cube(cube, facts=facts, quarantine=validation.quarantined, checks_config=config,
                                 **options)
    return result, validation


def _facts(validation: Any, n_frame: int) -> dict[str, Any]:
    """What the audit says about the file it read."""
    if validation is None:
        return {"quarantined": 0, "n_rows": n_frame, "source": "<frame>", "sha256": "",
                "quarantine_reasons": pd.DataFrame(columns=["rule", "column", "rows"])}
    return {"quarantined": validation.n_quarantined, "n_rows": validation.n_rows, "source": validation.source,
            "sha256": validation.sha256, "quarantine_reasons": validation.quarantine_reasons()}


def _records_for_checks(frame: pd.DataFrame, codes, selected: int):
    """The records, for registered checks that read them (none of the built-in ones do)."""
    if not any(c.on == "records" for c in REGISTRY):
        return None
    return frame, frame.loc[codes == selected].reset_index(drop=True)


def audit_from_cube(
    cube: Cube,
    *,
    facts: dict[str, Any],
    quarantine: pd.DataFrame | None,
    benchmarks: Sequence[str] = ("residents_2021", "residents_2011"),
    reference: str = DEFAULT_REFERENCE,
    alpha: float = 0.05,
    method: str = "katz",
    adjust: str = "holm",
    no_risk: str = "harm_zero",
    checks_config: Any = None,
    records: tuple[pd.DataFrame, pd.DataFrame] | None = None,
    covers: Any = "all",
    undeclared: dict[str, str] | None = None,
    rate_benchmark: Any = "residents_2021",
    count_kind: str = "people",
) -> AuditResult:
    """Every table of :func:`audit` from the count tables (pandas or DuckDB made them).

    ``facts`` holds ``quarantined, n_rows, source, sha256, quarantine_reasons``;
    ``records`` (the whole matrix and the selected quarter's rows) only serve
    registered checks that read records; ``covers`` (:func:`resolve_covers`) the
    areas known to be covered, passed to every per-area statistic; ``undeclared`` what the
    list's profile does not declare (:func:`fairness.profiles.missing_declarations`: bands,
    outcome, harm_score, snapshots, snapshot_date -> reason), whose outputs say "not assessable"
    with that reason; ``rate_benchmark`` the population of the rate per 1,000 by area.
    """
    # Every matrix here is small (the case-mix model has a few hundred rows):
    # a multi-threaded BLAS only spins, and on a busy two-core laptop turns a
    # 5 ms pseudo-inverse into 0.7 s. One thread also makes the figures the
    # same to the last bit under cron (env -i) and in a terminal (issue 11).
    reference, method, adjust, no_risk = _canonical_options(reference, method, adjust, no_risk)
    with _single_threaded_blas():
        return _audit_from_cube(cube, facts=facts, quarantine=quarantine, benchmarks=benchmarks,
                                reference=reference, alpha=alpha, method=method, adjust=adjust, no_risk=no_risk,
                                checks_config=checks_config, records=records, covers=covers,
                                undeclared=dict(undeclared or {}), rate_benchmark=rate_benchmark,
                                count_kind=count_kind)


def _single_threaded_blas():
    """One thread in every BLAS and OpenMP pool, the lazily loaded ones included (see
    :mod:`fairness.stats._threads`; limiting only ``user_api="blas"`` at entry missed SciPy's)."""
    from fairness.stats._threads import pinned_threads

    return pinned_threads()


def _canonical_options(reference: str, method: str, adjust: str, no_risk: str) -> tuple[str, str, str, str]:
    """Options matched as data values are (``reference="white"`` is White), so the result's
    parameters and every table name them one way."""
    from fairness.definitions import CENSUS_ETHNICITIES
    from fairness.stats._options import match_option
    from fairness.stats.disproportionality import ADJUST_METHODS, RATIO_METHODS
    from fairness.stats.no_risk import NO_RISK_DEFINITIONS

    def loose(value: str, valid) -> str:
        try:
            return match_option(value, valid, name="option")
        except ValueError:
            return value  # left for the function that checks it to reject, with its own message

    return (loose(reference, CENSUS_ETHNICITIES), loose(method, RATIO_METHODS), loose(adjust, ADJUST_METHODS),
            loose(no_risk, NO_RISK_DEFINITIONS))


def _audit_from_cube(cube, *, facts, quarantine, benchmarks, reference, alpha, method, adjust, no_risk,
                     checks_config, records, covers="all", undeclared=None,
                     rate_benchmark="residents_2021", count_kind="people") -> AuditResult:
    q = cube.quarter
    config = checks_config or ChecksConfig()
    n = people_in_quarter(cube)
    benches = [get_benchmark(b) for b in benchmarks]
    notes = [f"benchmark {b.label}: {b.assumption}" for b in benches if b.assumption]
    counts = list_counts(cube)
    representation = representation_from_counts(counts, benches, alpha=alpha, method=method)
    relative = relative_rate_from_counts(counts, benches, reference=reference, alpha=alpha, method=method,
                                         adjust=adjust, kind=count_kind)

    undeclared = undeclared or {}

    def share(definition: str, by: str | None) -> pd.DataFrame:
        missing = [c for c in NO_RISK_DEFINITIONS[definition].needs if c not in cube.columns]
        why = _undeclared_rule(NO_RISK_DEFINITIONS[definition], cube.columns, undeclared)
        if why or missing:
            size = int(cube.people["count"].sum()) if by == "quarter" else n
            t = not_assessable_share(definition, by, size, missing or ["(none)"])
            return t.assign(note=why) if why else t
        return share_from_counts(no_risk_counts(cube, definition, by), definition=definition, by=by, alpha=alpha)

    if no_risk not in NO_RISK_DEFINITIONS:
        raise ValueError(ERR_DEFINITION.format(name=no_risk, valid=", ".join(NO_RISK_DEFINITIONS)))
    ordered = [no_risk] + [d for d in NO_RISK_DEFINITIONS if d != no_risk]
    no_risk_tables = [share(definition, None) for definition in ordered]
    no_risk_tables += [share(no_risk, by) for by in NO_RISK_BY]
    missing = [c for c in (*NO_RISK_DEFINITIONS[no_risk].needs, "date_added") if c not in cube.columns]
    why = (_undeclared_rule(NO_RISK_DEFINITIONS[no_risk], cube.columns, undeclared)
           or undeclared.get("snapshot_date", ""))
    if why:
        duration = not_assessable_duration(no_risk, ["(none)"]).assign(note=why)
    elif missing:
        duration = not_assessable_duration(no_risk, missing)
    else:
        band_counts, flagged = duration_counts(cube, no_risk)
        duration = duration_from_counts(band_counts, flagged, definition=no_risk, alpha=alpha)

    # a per-area metric that reads what the profile does not declare is left out (and noted)
    metric_needs = {"no_risk_share": "harm_score", "green_share": "bands"}
    skipped = {m: undeclared[k] for m, k in metric_needs.items() if k in undeclared and k not in cube.columns}
    if _share_group() not in _groups_in_force():  # a place whose groups have no "Black" and name no other
        skipped["black_share"] = (
            "not assessable: the profile's [groups] share_group is not set and its groups have no 'Black' "
            "to take by default; "
            f"set [groups] share_group to one of: {', '.join(_groups_in_force())}")
    metric_counts = {metric: borough_metric_counts(cube, metric, benchmark=rate_benchmark)
                     for metric in BOROUGH_METRICS if metric not in skipped}
    notes += [f"{m} by area: {why}" for m, why in skipped.items()]
    boroughs, overdispersion, limits = funnel_from_counts(metric_counts, covers=covers)
    if "no_risk_share" in skipped:
        casemix, casemix_test = _casemix_not_assessable(skipped["no_risk_share"])
    else:
        casemix, casemix_test = _casemix(cube, alpha=alpha, adjust=adjust, notes=notes)

    whole, current = records if records is not None else (None, None)
    from fairness.checks import undeclared_checks

    unavailable = undeclared_checks(undeclared)
    checks = run_checks_on_counts(cube.check_data, quarantine=quarantine, by=("quarter",), config=config,
                                  alpha=alpha, matrix=whole, not_assessable=unavailable)
    checks_b = run_checks_on_counts(cube.check_data.only(q), quarantine=quarantine, by=("quarter", "borough"),
                                    config=config, alpha=alpha, matrix=current, not_assessable=unavailable)
    checks_all = pd.concat([checks, checks_b], ignore_index=True)
    sharing = (sharing_from_counts(in_quarter(cube.sharing, q), alpha=alpha) if "shared_with" in cube.columns
               else pd.DataFrame())
    from fairness import definitions as defs

    outcome = defs.OUTCOME_COLUMN
    bands = band_performance_from_cells(cube.outcomes, quarter=q, reference=reference, alpha=alpha,
                                        thresholds=tuple(defs.BAND_THRESHOLDS),
                                        has_outcome=outcome is not None and outcome in cube.columns
                                        and not ({"bands", "outcome"} & set(undeclared)))
    band_why = undeclared.get("bands") or undeclared.get("outcome")
    if band_why:
        bands = dataclasses.replace(bands, reason=band_why)
    can_compare = "bands" not in undeclared and len(defs.RISK_BANDS) == 3 and "harm_score" in cube.columns
    consistency = (band_consistency_from_counts(_as_red_amber_green(cube.harm), alpha=alpha) if can_compare
                   else pd.DataFrame())
    if not can_compare:
        notes.append("band consistency by area: " + (undeclared.get("bands") or undeclared.get("harm_score")
                                                     or "not assessable: needs exactly three bands and a harm score"))
    trend_quarters, sizes, trend_hits = trend_counts(cube)
    trend_hits = {m: v for m, v in trend_hits.items() if m not in skipped}

    params = {
        "quarter": q, "benchmarks": [b.name for b in benches], "reference": reference, "alpha": alpha,
        "method": method, "adjust": adjust, "no_risk": no_risk,
    }
    return AuditResult(
        quarter=q,
        quarters=cube.quarters,
        n=n,
        quarantined=facts["quarantined"],
        n_rows=facts["n_rows"],
        source=facts["source"],
        sha256=facts["sha256"],
        mode="internal",
        parameters=params,
        representation=representation,
        relative_rate=relative,
        sensitivity=benchmark_sensitivity(relative, representation),
        sentences=ratio_sentences(relative, alpha=alpha),
        no_risk=pd.concat(no_risk_tables, ignore_index=True),
        no_risk_duration=duration,
        boroughs=boroughs,
        overdispersion=overdispersion,
        funnel_limits=limits,
        heterogeneity=heterogeneity_from_counts(metric_counts, covers=covers),
        casemix=casemix,
        casemix_test=casemix_test,
        band_consistency=consistency,
        trends=trends_from_counts(trend_quarters, sizes, trend_hits, alpha=alpha),
        checks=checks_all,
        sharing_by_partner=sharing,
        band_by_group=bands.by_group,
        band_versus_reference=bands.versus_reference,
        band_summary=bands.summary,
        band_calibration=bands.calibration,
        band_status=bands.status,
        band_reason=bands.reason,
        quarantine_reasons=facts["quarantine_reasons"],
        notes=tuple(notes),
    )


def _share_group() -> str:
    from fairness import definitions as defs

    return defs.SHARE_GROUP


def _groups_in_force() -> tuple[str, ...]:
    from fairness import definitions as defs

    return defs.CENSUS_ETHNICITIES


def _undeclared_rule(rule: Any, columns: frozenset[str], undeclared: dict[str, str]) -> str:
    """Why a no-risk rule cannot be assessed under the list's profile ("" if it can): it reads the
    harm score or the band, and the profile declares none (and the file has no such column)."""
    from fairness.definitions import flag

    for f in rule.flags:
        column = flag(f).condition.column
        key = {"harm_score": "harm_score", "risk_band": "bands"}.get(column)
        if key in undeclared and column not in columns:
            return undeclared[key]
    return ""


def _as_red_amber_green(harm: pd.DataFrame) -> pd.DataFrame:
    """The harm table with a profile's three bands (most severe first) read as Red, Amber, Green,
    the labels band consistency reasons in (London's bands unchanged)."""
    from fairness import definitions as defs

    names = dict(zip(defs.RISK_BANDS, ("Red", "Amber", "Green"), strict=True))
    if all(k == v for k, v in names.items()):
        return harm
    return harm.assign(risk_band=harm["risk_band"].astype(str).map(names))


def _casemix_not_assessable(reason: str):
    cols = ["metric", "borough", "observed", "expected", "n", "oe_ratio", "ci_low", "ci_high", "z",
            "p_value", "p_adjusted", "flag"]
    return pd.DataFrame(columns=cols), pd.DataFrame(
        [{"metric": "no_risk_share", "lr_statistic": np.nan, "df": np.nan, "p_value": np.nan, "covariates": reason}])


def _casemix(cube: Cube, *, alpha: float, adjust: str, notes: list[str]):
    """Case-mix adjustment, or an explicit 'not estimable' when the model cannot be fitted."""
    try:
        return casemix_from_grouped(casemix_grouped(cube, CASEMIX_COVARIATES), alpha=alpha, adjust=adjust)
    except Exception as exc:  # statsmodels raises several types for degenerate data
        notes.append(f"case-mix adjustment not estimable: {type(exc).__name__}: {exc}")
        cols = ["metric", "borough", "observed", "expected", "n", "oe_ratio", "ci_low", "ci_high", "z",
                "p_value", "p_adjusted", "flag"]
        return pd.DataFrame(columns=cols), pd.DataFrame(
            [{"metric": "no_risk_share", "lr_statistic": np.nan, "df": np.nan, "p_value": np.nan,
              "covariates": f"not estimable: {exc}"}])
