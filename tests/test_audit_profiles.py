"""audit() under any profile: covers, pooled mode, optional columns, record-level checks (issues 11, 14).

Small hand-made matrices; every expected count is worked out by hand beside it.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import fairness
from fairness.results.audit import resolve_covers

from tests.conftest import good_row


def _two_boroughs() -> pd.DataFrame:
    """30 people in Hackney, 20 in Barnet, one snapshot (2018-12-31)."""
    rows = [good_row(f"H{i}", borough="Hackney") for i in range(30)]
    rows += [good_row(f"B{i}", borough="Barnet", ethnicity="White") for i in range(20)]
    return pd.DataFrame(rows)


# ------------------------------------------------------------ issue 11: covers


def _rate(res) -> pd.DataFrame:
    return res.boroughs[res.boroughs["metric"] == "rate_per_1000"].set_index("borough")


def _rate_k(res) -> int:
    return int(res.overdispersion.set_index("metric").loc["rate_per_1000", "k"])


@pytest.fixture(scope="module")
def covers_audits() -> dict:
    """The two-borough matrix audited as london-gvm declares (covers all), with none, and with a list."""
    m = _two_boroughs()
    return {"profile": fairness.audit(m), "none": fairness.audit(m, covers="none"),
            "list": fairness.audit(m, covers=["Hackney", "Barnet", "Camden"])}


def test_london_gvm_covers_every_borough_so_a_borough_with_no_rows_is_a_true_zero(covers_audits):
    assert fairness.load_profile("london-gvm").list.covers_all_areas is True
    res = covers_audits["profile"]
    rate = _rate(res)
    # 2 boroughs with rows + 30 listing nobody: all 32 compared
    assert _rate_k(res) == 32
    camden = rate.loc["Camden"]
    assert camden["count"] == 0 and camden["value"] == 0 and camden["flag"] != "not_estimable"
    assert np.isfinite(camden["z"]) and camden["upper_95"] > 0  # a 0 with its limits
    assert "no data" not in res.overdispersion.set_index("metric").loc["rate_per_1000", "method"]


def test_covers_none_or_a_list_overrides_the_profile(covers_audits):
    res = covers_audits["none"]
    assert _rate_k(res) == 2 and _rate(res).loc["Camden", "flag"] == "not_estimable"
    assert "30 borough(s) with no rows in the file: no data, not zero" in \
        res.overdispersion.set_index("metric").loc["rate_per_1000", "method"]
    res3 = covers_audits["list"]
    assert _rate_k(res3) == 3 and _rate(res3).loc["Camden", "flag"] != "not_estimable"
    assert _rate(res3).loc["Brent", "flag"] == "not_estimable"


def test_resolve_covers_reads_the_profile_default():
    assert resolve_covers(None) == "all"
    assert resolve_covers(None, "england-wales-forces") == ()
    assert resolve_covers("Hackney, Barnet") == ("Hackney", "Barnet")
    assert resolve_covers("NONE") == () and resolve_covers("All") == "all"
    with pytest.raises(ValueError, match="covers must be 'all', 'none', or a list of area names; got 3"):
        resolve_covers(3)


def test_covers_naming_an_unknown_area_is_refused():
    from fairness.stats.boroughs import funnel_from_counts

    counts = {"rate_per_1000": pd.DataFrame({"borough": ["Hackney", "Barnet"], "count": [3, 0], "n": [1000, 2000]})}
    with pytest.raises(ValueError, match="'Gotham', which is not a borough"):
        funnel_from_counts(counts, covers=resolve_covers(["Gotham"]))


@pytest.mark.slow
def test_cli_covers_flag(tmp_path, capsys):
    from fairness.cli import main

    path = tmp_path / "m.csv"
    _two_boroughs().to_csv(path, index=False)
    out = tmp_path / "a.json"
    assert main(["audit", str(path), "--covers", "none", "--json", str(out)]) == 0
    d = json.loads(out.read_text(encoding="utf-8"))
    k = {r["metric"]: r["k"] for r in d["overdispersion"]}
    assert k["rate_per_1000"] == 2
