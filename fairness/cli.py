"""The ``fairness`` command line.

Each sub-command is a small function ``_cmd_<name>(args) -> int`` registered in
:data:`COMMANDS` with its argument builder; ``main`` dispatches and turns the
toolkit's own errors into a clear message and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from fairness.errors import FairnessError

__all__ = ["main"]

EXIT_OK, EXIT_SOME_INVALID, EXIT_UNUSABLE = 0, 1, 2


def _add_read_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--encoding", help="text encoding of a CSV file (default: UTF-8, with or without BOM)")
    p.add_argument("--delimiter", default=",", help="CSV field separator (default: ',')")
    p.add_argument("--max-bytes", metavar="SIZE", default=None,
                   help="refuse a larger input file, e.g. 500M or 2G (default: $FAIRNESS_MAX_BYTES, else 8G)")
    p.add_argument("--max-columns", metavar="N", type=int, default=None,
                   help="refuse a file with more columns (default: $FAIRNESS_MAX_COLUMNS, else 1000)")


def _add_engine_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--engine",
        default="auto",
        choices=("auto", "pandas", "duckdb"),
        help="duckdb: validate and count the file (CSV or Parquet, or a folder or glob of Parquet files) in "
        "DuckDB without loading its rows into pandas; pandas: in memory (the older path, same results); "
        "auto (default): duckdb",
    )


def _in_duckdb(args: argparse.Namespace) -> bool:
    """Whether the file is validated and counted in DuckDB (the default for every file) rather than
    in memory."""
    if args.engine == "pandas":
        return False
    from fairness.counts.duck import is_parquet_path, use_duckdb

    if args.engine == "duckdb":
        if not is_parquet_path(args.file):
            from fairness.results.audit import ERR_ENGINE_INPUT

            raise ValueError(ERR_ENGINE_INPUT.format(what=repr(args.file)))
        return True
    return use_duckdb(args.file)


def _check_input(path: str, args: argparse.Namespace) -> None:
    """Refuse a folder, FIFO, device or oversized file before anything opens it (a folder or a
    glob of Parquet files is fine for the DuckDB engine, which checks each of its files, and their
    total, in the same way before opening any)."""
    from fairness.io.validation import check_input_file

    if getattr(args, "engine", "pandas") != "pandas" and (Path(path).is_dir() or any(c in path for c in "*?[")):
        return
    check_input_file(path, max_bytes=getattr(args, "max_bytes", None))


def _read(args: argparse.Namespace):
    """Read and validate the matrix, in memory or (for big Parquet) in DuckDB; a failed read is
    logged (the file was read) before the error goes on."""
    from fairness.io.validation import read_matrix_unlogged

    profile = getattr(args, "profile", None)
    try:
        _check_input(args.file, args)
        if _in_duckdb(args):
            from fairness.counts.duck import validate_file

            return validate_file(args.file, max_bytes=args.max_bytes, max_columns=args.max_columns,
                                 encoding=args.encoding, delimiter=args.delimiter, profile=profile)
        return read_matrix_unlogged(args.file, encoding=args.encoding, delimiter=args.delimiter, profile=profile,
                            max_bytes=args.max_bytes, max_columns=args.max_columns)
    except (ValueError, OSError) as exc:
        _log_failed(args, args.file, exc)
        raise


def _log_failed(args: argparse.Namespace, path: str, exc: BaseException, res=None) -> None:
    """Log a read that failed; the audit log's own failure is not logged again."""
    from fairness.io.audit_log import AuditLogError, log_failed_read

    if isinstance(exc, AuditLogError):
        return
    counts = None if res is None else {"rows": res.n_rows, "valid": res.n_valid, "quarantined": res.n_quarantined}
    log_failed_read(command=args.command, path=path, error=exc, sha256=getattr(res, "sha256", None) or None,
                    counts=counts)


def _refuse_outputs(inputs: Sequence[str], *outputs: str | None, row_level: bool = False) -> None:
    """Before anything is read: no output may be an input (or a link to it); row-level outputs
    never inside a report folder."""
    from fairness.io.safe_write import refuse_input_as_output, refuse_reports_dir

    for out in outputs:
        if out is None:
            continue
        refuse_input_as_output(out, *inputs)
        if row_level:
            refuse_reports_dir(out)


# --------------------------------------------------------------------- validate


def _args_validate(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="matrix file (.csv or .parquet)")
    p.add_argument(
        "--quarantine",
        metavar="OUT.csv",
        help="write the quarantined rows here, .csv or .parquet (personal data: owner-only; refused under "
        "reports/ and over the input); a clean run removes an older quarantine file there",
    )
    p.add_argument("--limit", type=int, default=200, help="show at most this many problems (default 200; 0 = all)")
    p.add_argument("--profile", default=None, help="validate areas, groups, bands and ages against a profile "
                   "(name or TOML path; default: the built-in London vocabulary)")
    _add_read_options(p)
    _add_engine_option(p)


def _cmd_validate(args: argparse.Namespace) -> int:
    from fairness.io.validation import QUARANTINE_SUFFIXES

    if args.quarantine:
        from fairness.io.safe_write import check_output_suffix

        check_output_suffix(args.quarantine, QUARANTINE_SUFFIXES, "quarantined rows")
    _refuse_outputs([args.file], args.quarantine, row_level=True)
    _check_log()
    res = _read(args)
    written = [args.quarantine] if args.quarantine and res.n_quarantined else []
    _log_read(args, res, written)  # before any output: if it cannot be written, nothing is
    print(res.summary())
    for note in res.notes:
        print(f"note: {note}")
    limit = None if args.limit == 0 else args.limit
    for line in res.problem_lines(limit):
        print(line)
    if limit is not None and len(res.problems) > limit:
        print(f"… and {len(res.problems) - limit:,} more problems (use --limit 0 to see all)")
    if args.quarantine and res.n_quarantined:
        path = res.write_quarantine(args.quarantine)
        print(f"quarantined rows written to {path} (owner-only: it holds personal data)")
    elif args.quarantine:
        print(_old_quarantine(Path(args.quarantine)))
    return res.exit_code


def _old_quarantine(path: Path) -> str:
    """A clean run and an older file at the --quarantine path: remove it if it is a quarantine
    file (stale personal data), else leave it; say which."""
    if not path.exists():
        return f"no rows quarantined; nothing written to {path}"
    columns: list[str] = []
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            columns = list(pq.read_schema(path).names)
        else:
            with open(path, encoding="utf-8", errors="replace") as fh:
                columns = fh.readline().strip().split(",")
    except Exception:  # noqa: BLE001 - unreadable: not ours to remove
        columns = []
    if path.is_file() and columns[:1] == ["line"] and {"rules", "reasons"} <= set(columns):
        path.unlink()
        return f"no rows quarantined; removed the older quarantine file {path} (from an earlier run)"
    return (f"no rows quarantined; left {path} as it was (it is not a quarantine file written by fairness); "
            "it does not describe this run")


def _check_log() -> None:
    """Fail before any work if the audit log cannot be written (the logging duty is not optional)."""
    try:
        from fairness.publish.privacy import check_audit_log
    except ImportError:
        return
    check_audit_log()


def _log_read(args: argparse.Namespace, res, outputs: Sequence[str] = ()) -> None:
    """Append one line to the audit log, if the audit-log module is present."""
    try:
        from fairness.publish.privacy import log_read
    except ImportError:
        return
    log_read(command=args.command, result=res, outputs=list(outputs))


# --------------------------------------------------------------------- schema


def _args_schema(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=("markdown", "csv"), default="markdown")
    p.add_argument("--profile", default=None, help="the format as a profile sets it (areas, groups, bands, ages)")


def _cmd_schema(args: argparse.Namespace) -> int:
    from fairness.io.schema import data_dictionary, data_dictionary_markdown

    if args.profile:
        from fairness.profiles._vocabulary import data_dictionary_for, markdown_table

        dd = data_dictionary_for(args.profile)
        print(markdown_table(dd) if args.format == "markdown" else dd.to_csv(index=False), end="\n"
              if args.format == "markdown" else "")
        return EXIT_OK
    if args.format == "markdown":
        print(data_dictionary_markdown())
    else:
        print(data_dictionary().to_csv(index=False), end="")
    return EXIT_OK


# --------------------------------------------------------------------- benchmarks


def _args_benchmarks(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", nargs="?", help="show one benchmark's London-wide shares")


def _cmd_benchmarks(args: argparse.Namespace) -> int:
    from fairness.io.benchmarks import get_benchmark, list_benchmarks

    if not args.name:
        print(list_benchmarks().to_string(index=False))
        return EXIT_OK
    b = get_benchmark(args.name)
    print(f"{b.label}\n{b.source}")
    if b.assumption:
        print(f"assumption: {b.assumption}")
    t = b.london()
    t["share"] = (100 * t["share"]).map("{:.1f}%".format)
    print(t.to_string(index=False))
    return EXIT_OK


# --------------------------------------------------------------------- profiles


def _args_profiles(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", nargs="?", help="show one profile (a name or the path of a .toml file)")


def _cmd_profiles(args: argparse.Namespace) -> int:
    from fairness.profiles import list_profiles, load_profile

    if not args.name:
        print(list_profiles().to_string(index=False))
        return EXIT_OK
    p = load_profile(args.name)
    print(f"{p.name}: {p.title}")
    if p.description:
        print(p.description)
    print(f"list: {p.list.name} ({p.list.unit}); place: {p.place.name} ({p.place.people})")
    print(f"groups: {', '.join(p.groups.names)} (reference {p.groups.reference}; "
          f"share compared by area: {p.groups.share_group or 'none'})")
    for b in p.benchmarks:
        print(f"benchmark {b.name}: {b.label}")
    print(f"{len(p.areas)} {p.place.area_word_plural}:")
    for a in p.areas:
        extra = "; ".join(x for x in (a.code, ", ".join(a.spellings) and "also: " + ", ".join(a.spellings)) if x)
        print(f"  {a.name}" + (f" ({extra})" if extra else ""))
    return EXIT_OK


# --------------------------------------------------------------------- synth


def _args_synth(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scenario", default="gvm-history", help="scenario name or TOML path (default gvm-history)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: the scenario's)")
    p.add_argument("--scale", type=float, default=1.0, help="multiply every size by this (default 1)")
    p.add_argument("--out", help="output file, .csv or .parquet; truth goes beside it as <stem>.truth.json")
    p.add_argument("--check", action="store_true", help="print target vs achieved for every calibrated figure")
    p.add_argument("--list", action="store_true", help="list the scenarios")
    p.add_argument("--profile", default=None, help="profile name or TOML path: list people in its areas, "
                   "weighted by its headline benchmark (default london-gvm: the 32 London boroughs)")


def _cmd_synth(args: argparse.Namespace) -> int:
    from fairness import synth

    if args.list:
        print(synth.list_scenarios().to_string(index=False))
        return EXIT_OK
    if not args.out and not args.check:
        raise _UsageError("synth needs --out FILE (or --check)")
    kwargs = {"scale": args.scale}
    if args.seed is not None:
        kwargs["seed"] = args.seed
    if args.profile:
        kwargs["profile"] = args.profile
    result = synth.generate(args.scenario, **kwargs)
    if args.out:
        from fairness.io.safe_write import refuse_reports_dir

        refuse_reports_dir(args.out)
        matrix_path, truth_path = synth.write(result, Path(args.out))
        print(f"wrote {len(result.matrix):,} rows to {matrix_path} (ground truth: {truth_path})")
    if args.check:
        table = synth.check(result)
        print(synth.format_check(table) if hasattr(synth, "format_check") else table.to_string(index=False))
        if not bool(table["ok"].all()):
            return EXIT_SOME_INVALID
    return EXIT_OK


# --------------------------------------------------------------------- report


def _args_report(p: argparse.ArgumentParser) -> None:
    which = p.add_mutually_exclusive_group()
    which.add_argument(
        "--quarter",
        action="append",
        metavar="Q",
        help="quarter to report, e.g. 2018Q4, or 'latest'; repeat for several (default: latest). A pooled "
        "list (no snapshots) has no quarters: it is reported as supplied, in <out>/pooled/",
    )
    which.add_argument("--all", action="store_true", help="every quarter in the file")
    p.add_argument(
        "--matrix",
        default="data/synthetic/gvm-history.csv",
        metavar="FILE",
        help="matrix file, .csv or .parquet (default data/synthetic/gvm-history.csv)",
    )
    p.add_argument("--out", default=None, metavar="DIR",
                   help="output folder (default reports/; internal-reports/ with --mode internal)")
    p.add_argument(
        "--mode",
        choices=("publication", "internal"),
        default="publication",
        help="publication: disclosure control on every table (default); internal: "
        "no suppression, every page marked INTERNAL — NOT FOR PUBLICATION",
    )
    p.add_argument("--briefing", action="store_true", help="also render the two-page scrutiny briefing")
    p.add_argument("--profile", default=None, metavar="NAME|PATH",
                   help="profile name or TOML path (default london-gvm): the matrix is validated with its areas "
                   "and groups, and the report and briefing use its benchmarks and words")
    p.add_argument("--notebook", metavar="FILE.ipynb", help="report template (default notebooks/quarterly_oversight_report.ipynb)")
    p.add_argument("--no-pdf", action="store_true", help="HTML only (skip WeasyPrint)")
    p.add_argument("--timeout", type=float, metavar="SECONDS", help="time limit for each notebook cell")
    p.add_argument("--contact", default="", metavar="TEXT",
                   help="contact line printed in the report and the briefing (unset: a placeholder saying it must be set)")
    p.add_argument("--publication-date", default="", metavar="YYYY-MM-DD",
                   help="date of publication printed in the report and the briefing (default: the date of the run)")
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.epilog = REPORT_EPILOG


REPORT_EPILOG = """\
exit codes:
  0  every quarter rendered
  1  some quarters failed (the others were rendered; the failures are listed at the end)
  2  nothing was done: the input cannot be used, a quarter is not in the file, the audit
     log cannot be written, or an option is wrong

where failures go:
  a failed quarter keeps its notebook (with the error), an HTML copy showing the code and the
  traceback, and error.txt in $FAIRNESS_FAILED_DIR/<quarter>/ (default
  ~/.local/state/fairness/failed/<quarter>/): owner-only, never inside --out, since a traceback
  can show data. The previous report in --out is left as it was. Without WeasyPrint the PDF is
  skipped with a warning (HTML and metrics.json are still written; the quarter does not fail).

environment variables:
  FAIRNESS_AUDIT_LOG      audit log file (default ~/.local/state/fairness/audit.log); every
                          run is logged before it writes anything (Data Protection Act 2018 s.62)
  FAIRNESS_AUDIT_PURPOSE  why the data is used, recorded in the audit log
  FAIRNESS_FAILED_DIR     where failed runs are kept (default ~/.local/state/fairness/failed)
  FAIRNESS_NOTEBOOKS      folder holding the report notebooks
  FAIRNESS_MAX_BYTES      largest input file read (default 8G); FAIRNESS_MAX_COLUMNS: most columns (1000)
  FAIRNESS_DEBUG=1        show tracebacks (they may show data from the file)
"""


def _profile_parameter(profile: str | None) -> str:
    """The profile as the notebooks get it: "" for the default; a path made absolute (they run elsewhere)."""
    if not profile or profile == "london-gvm":
        return ""
    from fairness.profiles import shipped_profiles

    return profile if profile in shipped_profiles() else str(Path(profile).resolve())


def _cmd_report(args: argparse.Namespace) -> int:
    from fairness.report import runner as report

    if args.out is None:  # internal reports never land in the published folder by default (issue 12)
        args.out = report.INTERNAL_OUT if args.mode == "internal" else "reports"
    _check_log()
    with report.terminate_gracefully():
        try:
            _check_input(args.matrix, args)
            info = report.inspect_matrix(args.matrix, log_as=None, profile=args.profile)
        except (ValueError, OSError) as exc:
            _log_failed(args, args.matrix, exc)
            raise
        # logged before any output is written: if the audit log cannot be written, nothing is
        _log_read(args, info.validation, outputs=[args.out])
        # a pooled list is reported as supplied (<out>/pooled/); --quarter Q of it is refused by run_reports
        # before any folder is made or notebook runs
        outcomes = report.run_reports(
            info,
            args.quarter or ["latest"],
            all_quarters=args.all,
            out_dir=args.out,
            mode=args.mode,
            briefing=args.briefing,
            notebook=args.notebook,
            pdf=not args.no_pdf,
            timeout=args.timeout,
            parameters={k: v for k, v in (("contact", args.contact), ("publication_date", args.publication_date),
                                          ("profile", _profile_parameter(args.profile))) if v},
        )
    return EXIT_OK if all(o.ok for o in outcomes) else EXIT_SOME_INVALID


# --------------------------------------------------------------------- audit


def _args_audit(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", nargs="?", help="matrix file (.csv or .parquet); or --counts TABLE.csv instead")
    p.add_argument("--counts", metavar="TABLE", help="audit a count table (area × group × count CSV) instead of "
                   "a matrix; its areas, groups and benchmarks come from --profile")
    p.add_argument("--profile", default=None, help="profile name or TOML path (default london-gvm; "
                   "`fairness profiles` lists them): the areas, groups and benchmarks of a matrix or --counts table")
    p.add_argument("--period", default=None, help="with --counts: the period to audit (default: the latest)")
    p.add_argument("--covers", default=None, metavar="all|none|AREA,AREA",
                   help="areas the list is known to cover: an area with no rows there lists nobody (a true 0 in "
                   "per-area statistics), elsewhere it is 'no data' (default: the profile's covers_all_areas; "
                   "london-gvm: all)")
    p.add_argument("--quarter", default=None, help="quarter to audit, e.g. 2018Q4 (default: the latest in the file)")
    p.add_argument(
        "--benchmark",
        action="append",
        dest="benchmarks",
        metavar="NAME",
        help="benchmark name or CSV path; repeat for several (default: residents_2021 and residents_2011)",
    )
    p.add_argument("--reference", default=None,
                   help="reference group for relative rates (default White; with --counts, the profile's)")
    p.add_argument("--alpha", type=float, default=0.05, help="1 - confidence level (default 0.05)")
    p.add_argument("--method", default="katz", choices=("katz", "poisson-exact", "mid-p"),
                   help="interval method for ratios (default katz)")
    p.add_argument("--adjust", default="holm", choices=("holm", "bh", "bonferroni", "none"),
                   help="multiple-testing adjustment (default holm)")
    p.add_argument("--mode", default="publication", choices=("publication", "internal"),
                   help="publication (default): small counts suppressed; internal: not for publication")
    p.add_argument("--json", metavar="OUT", help="write the audit as JSON here")
    _add_read_options(p)
    _add_engine_option(p)


def _cmd_audit_counts(args: argparse.Namespace) -> int:
    """``fairness audit --counts TABLE --profile NAME``: a count table, not a matrix (no rows, no audit log)."""
    from fairness.results.counts_table import audit_counts

    if args.file:
        raise _UsageError("give a matrix file or --counts TABLE, not both")
    if args.quarter:
        raise _UsageError("--quarter is for a matrix; for a count table use --period")
    result = audit_counts(args.counts, profile=args.profile or "london-gvm", period=args.period,
                          benchmarks=args.benchmarks, reference=args.reference, alpha=args.alpha,
                          method=args.method, adjust=args.adjust)
    if args.mode == "publication":
        result = result.for_publication()
    if args.json:
        result.to_json(args.json)
    print(result.summary())
    if args.json:
        print(f"\nJSON written to {args.json}")
    return EXIT_OK


def _cmd_audit_profile(args: argparse.Namespace) -> int:
    """A matrix of another place: validated with the profile, then audited with its definitions."""
    from fairness.results.audit import audit

    _check_log()
    res = _read(args)
    try:
        result = audit(res, profile=args.profile, quarter=args.quarter,
                       benchmarks=tuple(args.benchmarks or ("residents_2021", "residents_2011")),
                       reference=args.reference or "White", alpha=args.alpha, method=args.method,
                       adjust=args.adjust, covers=args.covers)
    except (ValueError, OSError) as exc:
        _log_failed(args, args.file, exc, res)  # the file was read
        raise
    if args.mode == "publication":
        result = result.for_publication()
    _log_read(args, res, [args.json] if args.json else [])  # before any output
    if args.json:
        result.to_json(args.json)
    print(result.summary())
    if args.json:
        print(f"\nJSON written to {args.json}")
    return EXIT_OK


def _cmd_audit(args: argparse.Namespace) -> int:
    from fairness.results.audit import audit

    _refuse_outputs([f for f in (args.file, getattr(args, "counts", None)) if f], args.json)
    if args.counts:
        return _cmd_audit_counts(args)
    if not args.file:
        raise _UsageError("audit needs a matrix file (or --counts TABLE.csv --profile NAME)")
    if args.period:
        raise _UsageError("--period is for --counts; for a matrix use --quarter")
    if args.profile not in (None, "london-gvm"):
        return _cmd_audit_profile(args)
    _check_log()
    options = {
        "quarter": args.quarter,
        "benchmarks": tuple(args.benchmarks or ("residents_2021", "residents_2011")),
        "reference": args.reference or "White",
        "alpha": args.alpha,
        "method": args.method,
        "adjust": args.adjust,
    }
    from fairness.results.audit import resolve_covers

    options["covers"] = resolve_covers(args.covers, args.profile)
    res = None
    try:
        if _in_duckdb(args):
            # one pass over the file validates and counts
            from fairness.results.audit import audit_and_validate_parquet

            _check_input(args.file, args)
            result, res = audit_and_validate_parquet(args.file, max_bytes=args.max_bytes,
                                                     max_columns=args.max_columns, encoding=args.encoding,
                                                     delimiter=args.delimiter, **options)
        else:
            res = _read(args)
            result = audit(res, **options)
    except (ValueError, OSError) as exc:
        if res is not None or _in_duckdb(args):  # _read logs its own failures
            _log_failed(args, args.file, exc, res if res is not None else getattr(exc, "validation", None))
        raise
    if args.mode == "publication":
        result = result.for_publication()
    _log_read(args, res, [args.json] if args.json else [])  # before any output
    if args.json:
        result.to_json(args.json)
    print(result.summary())
    if args.json:
        print(f"\nJSON written to {args.json}")
    return EXIT_OK


# --------------------------------------------------------------------- pseudonymise


def _args_pseudonymise(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="matrix file (.csv or .parquet); never changed")
    p.add_argument(
        "--out",
        required=True,
        metavar="FILE",
        help="output .csv or .parquet (still personal data: owner-only; refused under reports/)",
    )
    p.add_argument(
        "--key-file",
        metavar="PATH",
        help="file holding the secret key (default: the FAIRNESS_PSEUDONYM_KEY environment variable); "
        "the key itself is never given on the command line",
    )
    _add_read_options(p)


def _cmd_pseudonymise(args: argparse.Namespace) -> int:
    from fairness.publish import privacy

    key = privacy.load_key(args.key_file)
    # refuses a bad output and an unwritable log before reading; logs the read before writing
    done = privacy.pseudonymise_file_details(
        args.file, args.out, key=key, encoding=args.encoding, delimiter=args.delimiter,
        command="pseudonymise", max_bytes=args.max_bytes, max_columns=args.max_columns,
    )
    print(f"{done.n_pseudonymised:,} rows pseudonymised (input: {done.result.summary()})")
    if done.n_without_id:
        print(f"{done.n_without_id:,} rows have no person_id and were left as they were")
    if done.result.n_quarantined:
        print("note: rows that fail validation are pseudonymised too; run fairness validate for the reasons")
    print(f"written to {done.path} (owner-only: pseudonymised data is still personal data)")
    return EXIT_OK


# --------------------------------------------------------------------- dispatch


class _UsageError(Exception):
    pass


Command = tuple[str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]

COMMANDS: list[Command] = [
    ("validate", _args_validate, _cmd_validate),
    ("schema", _args_schema, _cmd_schema),
    ("benchmarks", _args_benchmarks, _cmd_benchmarks),
    ("profiles", _args_profiles, _cmd_profiles),
    ("synth", _args_synth, _cmd_synth),
    ("audit", _args_audit, _cmd_audit),
    ("pseudonymise", _args_pseudonymise, _cmd_pseudonymise),
    ("report", _args_report, _cmd_report),
]

_HELP = {
    "validate": "check a matrix file: every row used or quarantined, with reasons (exit 0, 1 or 2)",
    "schema": "print the matrix format (data dictionary)",
    "benchmarks": "list the population benchmarks, or show one",
    "profiles": "list the profiles (a list and a place: areas, groups, benchmarks), or show one",
    "synth": "generate a synthetic matrix calibrated to the published figures",
    "audit": "audit one quarter: representation, relative rates, no-risk share, boroughs, trends, checks",
    "pseudonymise": "replace person_id with a keyed hash (HMAC-SHA-256); key from FAIRNESS_PSEUDONYM_KEY or --key-file",
    "report": "render the quarterly oversight report (HTML, PDF, metrics.json) into reports/<quarter>/",
}


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors never echo the values of unknown options.

    ``fairness pseudonymise ... --key SECRET`` must fail without printing
    SECRET: only option names are repeated back.
    """

    def error(self, message: str):  # type: ignore[override]
        if message.startswith("unrecognized arguments:"):
            words = message.split(":", 1)[1].split()
            names = [w.split("=", 1)[0] for w in words if w.startswith("-")]
            message = "unrecognized option(s): " + (", ".join(names) or "(values not shown)")
        super().error(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="fairness",
        allow_abbrev=False,
        description="Audit a gang database extract for disproportionality and data-protection failures.",
    )
    from fairness import __version__

    parser.add_argument("--version", action="version", version=f"fairness-audit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, add_args, _ in COMMANDS:
        p = sub.add_parser(name, help=_HELP.get(name, ""), description=_HELP.get(name, ""), allow_abbrev=False)
        add_args(p)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse's own exit (usage error, --help, --version)
        return int(exc.code or 0) if not isinstance(exc.code, str) else EXIT_UNUSABLE
    if not args.command:
        parser.print_help()
        return EXIT_UNUSABLE
    handler = {name: fn for name, _, fn in COMMANDS}[args.command]
    try:
        return handler(args)
    except _UsageError as exc:
        parser.error(str(exc))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except FairnessError as exc:  # the toolkit's own errors (fairness.errors): message and exit code
        print(f"fairness {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except (ValueError, OSError) as exc:
        # Other errors (MatrixFileError, unknown options, files that
        # cannot be written) carry a message meant for a person.
        print(f"fairness {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    except Exception as exc:  # noqa: BLE001  last resort: a traceback could print row-level data
        if os.environ.get("FAIRNESS_DEBUG"):
            raise
        print(
            f"fairness {args.command}: internal error ({type(exc).__name__}). This is a bug in fairness, "
            "not in your file; set FAIRNESS_DEBUG=1 to see the traceback (it may show data from the file), "
            "and report it without the data (see SECURITY.md).",
            file=sys.stderr,
        )
        return EXIT_UNUSABLE
    return EXIT_UNUSABLE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
