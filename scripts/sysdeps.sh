#!/usr/bin/env bash
# System libraries the PDF renderer (WeasyPrint: Pango, fonts) and the PDF page
# checks (poppler's pdftoppm) need. Installed from Debian only if missing, and
# only when we can (root with apt-get); otherwise say what is missing and go on:
# the PDF tests then skip and `make report` renders HTML with a clear error for PDF.
set -u
need=()
python3 - <<'PY' 2>/dev/null || need+=(libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core)
import ctypes.util, sys
sys.exit(0 if ctypes.util.find_library("pango-1.0") and ctypes.util.find_library("pangoft2-1.0") else 1)
PY
# HarfBuzz's subsetter: without it WeasyPrint warns that "HarfBuzz-Subset will be required by future
# versions" and subsets the fonts with fontTools. The pages look the same either way (compared at 60 and
# 150 dpi: only the large bold titles' anti-aliasing differs at 150 dpi); the files differ by a few bytes.
python3 - <<'PY' 2>/dev/null || need+=(libharfbuzz-subset0)
import ctypes.util, sys
sys.exit(0 if ctypes.util.find_library("harfbuzz-subset") else 1)
PY
command -v pdftoppm >/dev/null 2>&1 || need+=(poppler-utils)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing system packages: ${need[*]}"
  (apt-get install -y -q "${need[@]}" >/dev/null 2>&1 \
    || (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q "${need[@]}" >/dev/null 2>&1)) \
    || echo "warning: could not install ${need[*]}; PDF output may be unavailable"
else
  echo "warning: missing system packages ${need[*]} (install them with your package manager); PDF output may be unavailable"
fi
exit 0
