#!/usr/bin/env bash
# Create benchmarks/.venv-aequitas with Aequitas, for the peer comparison in
# benchmarks/run.py. Aequitas pins its own pandas/numpy/scikit-learn, which
# clash with the toolkit's, so it lives in its own virtual environment.
#
# Idempotent: does nothing when the environment already imports aequitas.
# Usage: benchmarks/setup_aequitas.sh            (PYTHON=python3.11 to choose the interpreter)
# Exit status 0 when aequitas is importable afterwards, 1 otherwise (the
# reason is in benchmarks/.venv-aequitas/install.log).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.venv-aequitas"
PYTHON="${PYTHON:-python3}"
# Tried in order; the first that installs wins. 1.x is the current API,
# 0.42 the last release of the older, lighter package (same Group/Bias API).
VERSIONS=(${AEQUITAS_VERSIONS:-1.1.0 0.42.0})

if [[ -x "$VENV/bin/python" ]] && "$VENV/bin/python" -c "import aequitas" 2>/dev/null; then
    echo "aequitas $("$VENV/bin/python" -c 'from importlib.metadata import version; print(version("aequitas"))') already installed in $VENV"
    exit 0
fi

[[ -x "$VENV/bin/python" ]] || "$PYTHON" -m venv "$VENV"
LOG="$VENV/install.log"
: > "$LOG"
"$VENV/bin/python" -m pip install --quiet --upgrade pip >>"$LOG" 2>&1 || true
for v in "${VERSIONS[@]}"; do
    echo "installing aequitas==$v into $VENV (log: $LOG)"
    if "$VENV/bin/python" -m pip install "aequitas==$v" pyarrow >>"$LOG" 2>&1 \
        && "$VENV/bin/python" -c "from aequitas.group import Group; from aequitas.bias import Bias" >>"$LOG" 2>&1; then
        echo "aequitas $v installed"
        exit 0
    fi
    echo "aequitas $v did not install or import; see $LOG" >&2
done
echo "could not install aequitas (tried ${VERSIONS[*]}); see $LOG" >&2
exit 1
