#!/usr/bin/env bash
# make venv: create VENV with PYTHON and install the package into it (editable) with its dev
# and pdf extras. The installer is uv (from PyPI, installed into the venv by pip), which
# resolves and installs the ~145 packages in a few seconds where pip takes about a minute of
# processor time; if uv cannot be installed or fails, pip does the same install.
# Neither installer compiles the libraries' bytecode here (pip's compiling of every .py of every
# package was about half of its time): Python writes each module's bytecode the first time it is
# imported, and the Makefile lets it (it unexports PYTHONDONTWRITEBYTECODE), so only what is
# imported is ever compiled, once. README (Development) gives the measurements.
# uv does not read pip's configuration: the indexes, find-links and constraints this machine's
# pip is set up with (pip config, PIP_* variables) are passed to uv as its own UV_* settings,
# and uv then picks the best version across all indexes, as pip does, so both install the same.
set -euo pipefail
PYTHON=${1:-python3}
VENV=${2:-.venv}
INSTALLER=${3:-uv}  # uv, or pip to install with pip alone (make venv INSTALLER=pip)
BIN=$VENV/bin
SPEC=".[dev,pdf]"

test -x "$BIN/python" || "$PYTHON" -m venv "$VENV"

pip_setting() {  # pip's value for a setting: its PIP_* variable, else its configuration files
  local key=$1 var
  var=PIP_$(echo "$key" | tr 'a-z-' 'A-Z_')
  if [ -n "${!var:-}" ]; then echo "${!var}"; return; fi
  "$BIN/python" -m pip config get "global.$key" 2>/dev/null \
    || "$BIN/python" -m pip config get "install.$key" 2>/dev/null || true
}

with_uv() {
  "$BIN/python" -m pip install --quiet --disable-pip-version-check "uv>=0.5" || return 1
  local index extra links constraint
  index=$(pip_setting index-url); extra=$(pip_setting extra-index-url)
  links=$(pip_setting find-links | tr -s ' \t' ','); constraint=$(pip_setting constraint)
  env ${index:+UV_INDEX_URL="$index"} ${extra:+UV_EXTRA_INDEX_URL="$extra"} \
      ${links:+UV_FIND_LINKS="$links"} ${constraint:+UV_CONSTRAINT="$constraint"} \
      UV_INDEX_STRATEGY=unsafe-best-match \
      "$BIN/uv" pip install --quiet --python "$BIN/python" -e "$SPEC"
}

if [ "$INSTALLER" = pip ] || ! with_uv; then
  [ "$INSTALLER" = pip ] || echo "uv unavailable or failed: installing with pip instead"
  "$BIN/python" -m pip install --quiet --disable-pip-version-check --no-compile -e "$SPEC"
fi
