"""Same inputs, same outputs, everywhere (issue 11): model fits on one thread, whatever the environment.

A multi-threaded BLAS sums in an order that depends on its thread count, so
``metrics.json`` written under cron (``env -i``) differed in the last digits of
the case-mix figures from one written in a terminal. Every path that fits a
model now runs with every BLAS and OpenMP pool limited to one thread.
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import pandas as pd
import pytest
from threadpoolctl import threadpool_info

from fairness import audit, casemix_adjusted
from fairness.definitions import ETHNICITIES
from fairness.stats import boroughs

# The audit the subprocess runs: the synthetic "small" scenario, seed 4, latest quarter.
AUDIT_SCRIPT = """
import sys
import fairness
from fairness.synth import generate
sys.stdout.write(fairness.audit(generate("small", seed=4).matrix).to_json())
"""


def _matrix() -> pd.DataFrame:
    parts = [pd.DataFrame({"borough": b, "sex": "Male", "ethnicity": "Black", "age": age,
                           "harm_score": [0.0] * o + [5.0] * (100 - o),
                           "snapshot_date": pd.Timestamp("2018-12-31")})
             for b, o, age in (("Hackney", 41, 20), ("Barnet", 35, 30), ("Brent", 38, 20))]
    m = pd.concat(parts, ignore_index=True)
    m["ethnicity"] = pd.Categorical(m["ethnicity"], categories=list(ETHNICITIES))
    return m


def test_casemix_models_are_fitted_on_one_thread(monkeypatch):
    # casemix_adjusted called directly (the from-records path) used to fit with every
    # BLAS thread; only audit() limited them, and only the BLAS libraries already loaded.
    # (The fit was statsmodels' GLM.fit; it is now its numpy twin, boroughs._binomial_glm.)
    seen: list[list[int]] = []
    fit = boroughs._binomial_glm

    def recording_fit(*args, **kwargs):
        seen.append([pool["num_threads"] for pool in threadpool_info()])
        return fit(*args, **kwargs)

    monkeypatch.setattr(boroughs, "_binomial_glm", recording_fit)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        casemix_adjusted(_matrix())
    assert len(seen) == 2  # the model without and with the borough term
    assert all(threads and set(threads) == {1} for threads in seen), seen


def test_threads_are_released_after_the_fit():
    before = [pool["num_threads"] for pool in threadpool_info()]
    with boroughs.pinned_threads():
        assert {pool["num_threads"] for pool in threadpool_info()} == {1}
    assert [pool["num_threads"] for pool in threadpool_info()] == before


@pytest.mark.slow  # a second Python process importing everything and auditing
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX environment handling")
def test_audit_json_is_byte_identical_under_another_environment():
    # The same audit in this process and in a fresh one with another environment: a cron-like
    # minimal environment (no HOME), other thread counts and the C locale. Same bytes.
    from fairness.synth import generate

    here = audit(generate("small", seed=4).matrix).to_json()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "OMP_NUM_THREADS": "3",
           "OPENBLAS_NUM_THREADS": "2", "MKL_NUM_THREADS": "2", "PYTHONHASHSEED": "123",
           "FAIRNESS_AUDIT_LOG": os.devnull}
    there = subprocess.run([sys.executable, "-c", AUDIT_SCRIPT], env=env, capture_output=True, check=True,
                           timeout=600).stdout.decode("utf-8")
    assert len(here) > 10_000
    assert there == here
