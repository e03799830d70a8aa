#!/usr/bin/env bash
# Debian packages the portal needs beyond Python: WeasyPrint's pango and harfbuzz-subset (without
# which each PDF is 40-100x slower, silently), a CJK font (else PDFs and screenshots show boxes),
# gettext for compiling translations, and for the tests Chromium and poppler-utils.
# Installs them when run as root on Debian/Ubuntu; otherwise prints the exact command and fails.
set -euo pipefail
want=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk gettext)
if [ "${1:-demo}" = test ]; then
  want+=(chromium poppler-utils)
fi
missing=()
if command -v dpkg >/dev/null 2>&1; then
  for pkg in "${want[@]}"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
else
  echo "system-packages: not a Debian system; install the equivalents of: ${want[*]}" >&2
  exit 0
fi
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "Missing system packages: ${missing[*]}" >&2
  echo "Run: sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi
