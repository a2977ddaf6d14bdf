"""Aequitas's group disparity table for one quarter, timed: the peer in benchmarks/run.py.

Runs with the Python of ``benchmarks/.venv-aequitas`` (``benchmarks/setup_aequitas.sh``),
because Aequitas pins pandas < 3 and the toolkit needs pandas 3. Reads the
same validated Parquet file as the other peers (loading is not timed), then
times what an Aequitas user would do to get selection rate, false positive
rate and false negative rate by ethnic group, with disparities against a
reference group, at the Red-or-Amber cut-off:

1. keep the quarter's records whose outcome is known; ``score`` = 1 for Red
   or Amber, ``label_value`` = the outcome; ethnicity as text (Aequitas
   refuses categorical attribute columns);
2. ``Group().get_crosstabs``;
3. ``Bias().get_disparity_predefined_groups`` with the reference group.

As run.py does for the other peers, the table is computed once, then
``--repeat`` times more (default 1), each on a fresh deep copy of the input
(copying not timed; fewer once the calls have taken 5 s, never fewer than 5
when asked for more): ``seconds`` is the median of those further calls (the
computation), ``cpu_seconds`` their median processor time (user + system),
``repeats`` how many were made, ``first_seconds`` the first call (which also
pays for whatever Aequitas loads on first use). Importing Aequitas is timed
apart (``import_seconds``).

Prints one JSON object on stdout: ``seconds``, ``first_seconds``,
``import_seconds``; ``peak_mb``, the peak resident memory of this process
during both calls (the peak is reset after loading); ``delta_mb``, that peak
less the resident memory just before; ``rows_used``, ``version`` and
``groups`` (per group: selection_rate = Aequitas ``pprev``, ``fpr``,
``fnr``), so run.py can check the numbers agree.

With ``--raw``, end to end from the raw file (issue 10): ``FILE`` is the matrix
as written (CSV or Parquet), and the timed call reads it with pandas
(``read_csv`` / ``read_parquet``, every column, as a user would; no
validation), parses the snapshot dates and then does 1–3 above; the file is
read afresh in each of the two calls (the operating system's cache is warm
for both).

Usage: python aequitas_disparity.py PARQUET --start 2022-10-01 --end 2023-01-01 [--reference White]
       python aequitas_disparity.py FILE.csv|FILE.parquet --raw --start ... --end ...
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import resource
import statistics
import time
import warnings
from importlib.metadata import version

import pandas as pd

OUTCOME = "outcome_violence_12m"
SELECTED_BANDS = ("Red", "Amber")
COLUMNS = ["snapshot_date", "ethnicity", "risk_band", OUTCOME]


def _status_mb(key: str) -> float:
    """A memory line of /proc/self/status (VmRSS, VmHWM) in MB; NaN where there is none."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return math.nan


def _reset_peak() -> bool:
    """Reset the peak resident set size to the current one (Linux >= 4.0), as run.py does."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _number(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def disparity_table(
    frame: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp, reference: str, group, bias
) -> pd.DataFrame:
    """Aequitas crosstabs and disparities for the quarter [start, end).

    ``group`` and ``bias`` are the classes ``aequitas.group.Group`` and
    ``aequitas.bias.Bias`` (imported by the caller, so the import is timed apart).
    """
    dates = frame["snapshot_date"]
    sub = frame[((dates >= start) & (dates < end) & frame[OUTCOME].notna()).to_numpy()]
    data = pd.DataFrame(
        {
            "score": sub["risk_band"].isin(SELECTED_BANDS).astype(int),
            "label_value": sub[OUTCOME].astype(bool).astype(int),
            "ethnicity": sub["ethnicity"].astype(str).astype(object),
        }
    )
    crosstabs, _ = group().get_crosstabs(data, attr_cols=["ethnicity"])
    return bias().get_disparity_predefined_groups(
        crosstabs,
        original_df=data,
        ref_groups_dict={"ethnicity": reference},
        check_significance=False,
    )


def read_raw(path: str) -> pd.DataFrame:
    """The matrix file as an Aequitas user reads it: pandas, every column, dates parsed."""
    frame = pd.read_parquet(path) if path.endswith((".parquet", ".pq")) else pd.read_csv(path)
    frame["snapshot_date"] = pd.to_datetime(frame["snapshot_date"])
    return frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("parquet")
    parser.add_argument("--start", required=True, help="first day of the quarter, e.g. 2022-10-01")
    parser.add_argument("--end", required=True, help="first day after the quarter, e.g. 2023-01-01")
    parser.add_argument("--reference", default="White")
    parser.add_argument("--raw", action="store_true", help="end to end: read the raw file inside the timed call")
    parser.add_argument("--repeat", type=int, default=1, help="calls timed after the first (median reported)")
    args = parser.parse_args()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Aequitas's own pandas deprecation warnings
        t0 = time.perf_counter()
        from aequitas.bias import Bias
        from aequitas.group import Group

        import_seconds = time.perf_counter() - t0

        start, end = pd.Timestamp(args.start), pd.Timestamp(args.end)
        if args.raw:
            def run(path):
                return disparity_table(read_raw(path), start, end, args.reference, Group, Bias)

            frame = args.parquet
        else:
            def run(frame):
                return disparity_table(frame, start, end, args.reference, Group, Bias)

            frame = pd.read_parquet(args.parquet, columns=COLUMNS)
            frame["snapshot_date"] = pd.to_datetime(frame["snapshot_date"])
        gc.collect()
        before = _status_mb("VmRSS")
        reset = _reset_peak()
        t0 = time.perf_counter()
        run(frame)
        first_seconds = time.perf_counter() - t0
        walls, cpus = [], []
        while len(walls) < max(args.repeat, 1):
            if len(walls) >= 5 and sum(walls) > 5.0:  # the calls' own time, copies aside
                break
            state = frame if args.raw else frame.copy(deep=True)
            gc.collect()
            c0, t0 = time.process_time(), time.perf_counter()
            table = run(state)
            walls.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
        seconds, cpu_seconds = statistics.median(walls), statistics.median(cpus)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux
    if reset and math.isfinite(_status_mb("VmHWM")):
        peak = _status_mb("VmHWM")
    groups = {
        str(row.attribute_value): {
            "selection_rate": _number(row.pprev),
            "fpr": _number(row.fpr),
            "fnr": _number(row.fnr),
        }
        for row in table.itertuples()
    }
    print(
        json.dumps(
            {
                "seconds": seconds,
                "cpu_seconds": cpu_seconds,
                "repeats": len(walls),
                "first_seconds": first_seconds,
                "import_seconds": import_seconds,
                "peak_mb": peak,
                "delta_mb": peak - before,
                "peak_reset": reset,
                "rows_used": int(table["group_size"].sum()),
                "version": version("aequitas"),
                "pandas": pd.__version__,
                "groups": groups,
            }
        )
    )


if __name__ == "__main__":
    main()
