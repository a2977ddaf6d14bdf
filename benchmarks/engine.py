"""The file engine against its floors (issue 10): ``fairness audit --json`` from a file, end to end.

Run by ``make bench`` after ``run.py`` (or alone: ``.venv/bin/python benchmarks/engine.py``).
Each figure is a whole process (imports included), as a user meets it, timed
against its floor in the same run, in turn (A B A B ...), so the ratio holds
when the machine's speed drifts; the table gives the median of each and the
median of the pairwise ratios, and each process's peak memory (``wait4``).

- **1M CSV / 1M Parquet**: ``fairness audit FILE --mode internal --json OUT``
  (the default engine) against the floor: pandas ``read_csv`` (``read_parquet``)
  of the same file and one ``groupby(["borough", "ethnicity"]).size()``.
- **10M Parquet**: the same, against the same floor.
- **50M Parquet**: against a bare DuckDB group-by over all the columns of the
  same file: rows counted by borough and ethnicity with an aggregate of every
  column (``count(DISTINCT person_id)`` among them), so every column is read,
  as an audit must.

Data: the 1M files of ``run.py`` (``gvm-history``, seed 20181231); 10M and 50M
are that Parquet file written 10 and 50 times over by DuckDB with each copy's
``person_id`` suffixed (so every row stays valid and distinct). Written once to
``benchmarks/data/`` (git-ignored; ~0.5 GB for 50M).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / "data"
PYTHON = sys.executable
FAIRNESS = [PYTHON, "-m", "fairness.cli"]
RESULTS = HERE / "results.md"
START, END = "<!-- engine:start -->", "<!-- engine:end -->"

#: (label, file, floor kind, target ratio, memory target in GB)
TARGETS = (
    ("1M rows, CSV", "gvm-history-1M.csv", "pandas", 2.5, 1.0),
    ("1M rows, Parquet", "gvm-history-1M.parquet", "pandas", 2.5, 1.0),
    ("10M rows, Parquet", "gvm-history-10M-x.parquet", "pandas", 2.0, 1.5),
    ("50M rows, Parquet", "gvm-history-50M-x.parquet", "duckdb", 2.0, 3.0),
)

#: the fixed cost of a run: the smallest file run.py writes (``--sizes 10k``), timed alone
SMALL_FILE = "gvm-history-10k.parquet"
SMALL_LABEL = "fixed cost (10k rows, Parquet)"

FLOOR_PANDAS = """
import sys, pandas as pd
path = sys.argv[1]
frame = pd.read_csv(path, low_memory=False) if path.endswith(".csv") else pd.read_parquet(path)
print(int(frame.groupby(["borough", "ethnicity"]).size().sum()))
"""
FLOOR_DUCKDB = """
import sys, duckdb
con = duckdb.connect(config={"memory_limit": "2.5GB"})
print(con.sql(f"SELECT count(*), count(DISTINCT person_id), sum(harm_score), min(snapshot_date), "
              f"max(date_added), max(last_reviewed), count(shared_with), count(victim_flag), "
              f"sum(age), count(outcome_violence_12m), sum(violent_offences_2y), count(risk_band), "
              f"count(sex) FROM read_parquet('{sys.argv[1]}') GROUP BY borough, ethnicity").fetchall()[:1])
"""


def make_replicas() -> None:
    """Write the 10M and 50M Parquet files from the 1M one (each copy's person_id suffixed)."""
    import duckdb

    source = DATA / "gvm-history-1M.parquet"
    if not source.exists():
        subprocess.run([PYTHON, str(HERE / "run.py"), "--worker", "make_data", "--size", "1M"], check=True,
                       stdout=subprocess.DEVNULL)
    for copies, name in ((10, "gvm-history-10M-x.parquet"), (50, "gvm-history-50M-x.parquet")):
        out = DATA / name
        if out.exists():
            continue
        # the progress bar is a setting of the connection, not of the database (DuckDB 2 refuses it in
        # ``config``)
        con = duckdb.connect(config={"memory_limit": "2GB", "preserve_insertion_order": True})
        con.execute("SET enable_progress_bar = false")
        tmp = out.with_suffix(".tmp")
        con.sql(f"""COPY (SELECT * REPLACE (person_id || '-' || CAST(k AS VARCHAR) AS person_id)
                          FROM range({copies}) t(k), read_parquet('{source}') ORDER BY k)
                    TO '{tmp}' (FORMAT parquet, ROW_GROUP_SIZE 500000)""")
        con.close()
        tmp.rename(out)


def run_once(argv: list[str]) -> tuple[float, float, int]:
    """Wall seconds, peak memory (GB) and exit code of one process."""
    env = {**os.environ, "FAIRNESS_AUDIT_LOG": str(DATA / "audit.log")}
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=ROOT)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss / 1024**2, proc.returncode


def measure(path: Path, floor: str, runs: int) -> dict:
    out = Path(tempfile.mkdtemp(prefix="fairness-bench-")) / "audit.json"
    tool = [*FAIRNESS, "audit", str(path), "--mode", "internal", "--json", str(out)]
    base = [PYTHON, "-c", FLOOR_PANDAS if floor == "pandas" else FLOOR_DUCKDB, str(path)]
    tools, floors = [], []
    for _ in range(runs):  # A B A B ...
        tools.append(run_once(tool))
        out.unlink(missing_ok=True)
        floors.append(run_once(base))
    bad = [code for _, _, code in tools + floors if code != 0]
    if bad:
        raise RuntimeError(f"{path.name}: a run failed (exit {bad[0]})")
    return {
        "seconds": statistics.median(t for t, _, _ in tools),
        "peak_gb": max(m for _, m, _ in tools),
        "floor_seconds": statistics.median(t for t, _, _ in floors),
        "floor_peak_gb": max(m for _, m, _ in floors),
        "ratio": statistics.median(a[0] / b[0] for a, b in zip(tools, floors, strict=True)),
        "ratios": [a[0] / b[0] for a, b in zip(tools, floors, strict=True)],
        "runs": runs,
    }


def rows_of(path: Path) -> int:
    if path.suffix == ".csv":
        with open(path, "rb") as fh:
            return sum(block.count(b"\n") for block in iter(lambda: fh.read(1 << 24), b"")) - 1
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).metadata.num_rows


def report(results: dict, load: tuple[float, float, float], runs: int) -> str:
    lines = [
        "## The file engine against its floors (`benchmarks/engine.py`)",
        "",
        f"`fairness audit FILE --mode internal --json OUT` (DuckDB, the default for files), whole process, "
        f"against its floor in turn (A B A B, {runs} pairs; median of each, median of the pairwise ratios). "
        f"Load average at the start: {load[0]:.1f} (2 cores, shared: other work was running, so times are "
        "upper bounds; the ratios are what to read).",
        "",
        "| input | rows | `fairness audit` | peak memory | floor | floor time | ratio (pairs) | target | met? |",
        "|---|---:|---:|---:|---|---:|---:|---|---|",
    ]
    for label, _name, floor, target, memory in TARGETS:
        r = results.get(label)
        if r is None:
            continue
        ok = r["ratio"] <= target and r["peak_gb"] <= memory
        floor_text = ("pandas read + group-by" if floor == "pandas" else "bare DuckDB group-by")
        pairs = ", ".join(f"{x:.2f}" for x in r["ratios"])
        lines.append(f"| {label} | {r['rows']:,} | {r['seconds']:.1f} s | {r['peak_gb']:.2f} GB | {floor_text} | "
                     f"{r['floor_seconds']:.1f} s | **{r['ratio']:.2f}×** ({pairs}) | ≤ {target}×, ≤ {memory} GB | "
                     f"{'yes' if ok else 'no'} |")
    parquet = {label: r for label, r in results.items() if "Parquet" in label and label != SMALL_LABEL}
    per_row = {label: r["seconds"] / r["rows"] * 1e6 for label, r in parquet.items()}
    if len(per_row) > 1:
        lo, hi = min(per_row.values()), max(per_row.values())
        lines += ["", "Time per row (Parquet), the whole run ÷ its rows: "
                  + ", ".join(f"{k.split(',')[0]} {v:.2f} µs" for k, v in per_row.items())
                  + f"; largest ÷ smallest {hi / lo:.2f} (target ≤ 1.5: {'yes' if hi / lo <= 1.5 else 'no'})."]
        small = results.get(SMALL_LABEL)
        if small is not None:
            net = {label: (r["seconds"] - small["seconds"]) / (r["rows"] - small["rows"]) * 1e6
                   for label, r in parquet.items()}
            lo, hi = min(net.values()), max(net.values())
            lines += ["", f"The same net of the fixed cost of a run (`fairness audit` of the {small['rows']:,}-row "
                      f"Parquet file, median of {small['runs']} runs: {small['seconds']:.2f} s), i.e. what each "
                      "further row costs: " + ", ".join(f"{k.split(',')[0]} {v:.3f} µs" for k, v in net.items())
                      + f"; largest ÷ smallest {hi / lo:.2f}. This is not the issue's measure (which divides the "
                      "whole run, start-up included); it says whether the work grows in proportion to the rows."]
    return "\n".join(lines) + "\n"


def measure_small(runs: int) -> dict | None:
    """The fixed cost of a run: ``fairness audit`` of the smallest Parquet file of run.py (no floor)."""
    path = DATA / SMALL_FILE
    if not path.exists():
        return None
    out = Path(tempfile.mkdtemp(prefix="fairness-bench-")) / "audit.json"
    tool = [*FAIRNESS, "audit", str(path), "--mode", "internal", "--json", str(out)]
    times = []
    for _ in range(runs):
        wall, _peak, code = run_once(tool)
        out.unlink(missing_ok=True)
        if code != 0:
            raise RuntimeError(f"{path.name}: a run failed (exit {code})")
        times.append(wall)
    return {"seconds": statistics.median(times), "rows": rows_of(path), "runs": runs}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2, help="pairs of runs per input (default 2)")
    parser.add_argument("--only", action="append", help="inputs whose label contains this (e.g. 1M, 50M)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    make_replicas()
    load = os.getloadavg()
    results = {}
    for label, name, floor, _target, _memory in TARGETS:
        if args.only and not any(o in label for o in args.only):
            continue
        path = DATA / name
        print(f"  {label} ...", flush=True)
        results[label] = {**measure(path, floor, args.runs), "rows": rows_of(path)}
        print("   ", json.dumps({k: v for k, v in results[label].items() if k != "ratios"}), flush=True)
    if any("Parquet" in label for label in results):
        print(f"  {SMALL_LABEL} ...", flush=True)
        small = measure_small(2 * args.runs)
        if small is not None:
            results[SMALL_LABEL] = small
    text = report(results, load, args.runs)
    print("\n" + text)
    write_section(args.out, text)
    print(f"written to {args.out}")
    return 0


def write_section(path: Path, text: str) -> None:
    """Put ``text`` between the engine markers of ``path`` (added at the end if absent), leaving
    what run.py wrote around it."""
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    block = f"{START}\n{text}{END}\n"
    if START in old and END in old:
        new = old[:old.index(START)] + block + old[old.index(END) + len(END):].lstrip("\n")
    else:
        new = old.rstrip("\n") + ("\n\n" if old else "") + block
    path.write_text(new, encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
