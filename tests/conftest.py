"""Shared fixtures: small matrices built by hand, so expected answers are known.

Also the two hypothesis profiles: ``full`` (the default: every property test
tries the number of examples written beside it) and ``fast`` (``make test``:
a fifth of them, at least 3), chosen with ``--hypothesis-profile``. ``make
test-slow`` runs every property test again under ``full``, so CI tries every
example.
"""

from __future__ import annotations

import sys

import pandas as pd
import pytest
from hypothesis import settings

# jsonschema (which nbformat imports) checks the "iri" formats with rfc3987-syntax when that is
# installed (jupyter-events asks for it), and rfc3987-syntax builds its grammar when imported:
# about 2 s of processor time in every test process that imports nbformat. No schema the tests
# meet uses those formats (nbformat's have no "format" at all), so the tests' processes go without.
sys.modules.setdefault("rfc3987_syntax", None)

#: Share of each property test's examples that the fast profile tries.
FAST_SHARE = 5
settings.register_profile("full")
settings.register_profile("fast")


def examples(n: int) -> int:
    """``n`` examples under the full profile; a fifth of ``n`` (at least 3) under ``fast``.

    Read when a test module is imported, after ``--hypothesis-profile`` has loaded a profile.
    """
    if settings.get_current_profile_name() == "fast":
        return max(3, n // FAST_SHARE)
    return n

HEADER = (
    "person_id,snapshot_date,borough,ethnicity,sex,age,harm_score,risk_band,"
    "victim_flag,violent_offences_2y,date_added,last_reviewed,shared_with,outcome_violence_12m"
)


def good_row(pid: str = "P1", **over) -> dict:
    row = {
        "person_id": pid,
        "snapshot_date": "2018-12-31",
        "borough": "Hackney",
        "ethnicity": "Black",
        "sex": "Male",
        "age": "17",
        "harm_score": "0",
        "risk_band": "Green",
        "victim_flag": "true",
        "violent_offences_2y": "0",
        "date_added": "2017-03-01",
        "last_reviewed": "2018-11-30",
        "shared_with": "",
        "outcome_violence_12m": "",
    }
    row.update({k: str(v) for k, v in over.items()})
    return row


@pytest.fixture(autouse=True)
def _isolated_audit_log(tmp_path, monkeypatch):
    """Every test logs to its own file, never the user's real audit log, and has no pseudonym key."""
    monkeypatch.setenv("FAIRNESS_AUDIT_LOG", str(tmp_path / "audit.log"))
    monkeypatch.setenv("FAIRNESS_FAILED_DIR", str(tmp_path / "failed-runs"))  # failed report runs (owner-only)
    monkeypatch.delenv("FAIRNESS_PSEUDONYM_KEY", raising=False)


@pytest.fixture
def write_csv(tmp_path):
    """Write rows (dicts) to a CSV file and return its path."""

    def _write(rows: list[dict], name: str = "matrix.csv", header: list[str] | None = None) -> str:
        cols = header or list(rows[0].keys())
        lines = [",".join(cols)] + [",".join(str(r.get(c, "")) for c in cols) for r in rows]
        path = tmp_path / name
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return str(path)

    return _write


@pytest.fixture
def good_frame() -> pd.DataFrame:
    return pd.DataFrame([good_row(f"P{i}") for i in range(5)])
