#!/usr/bin/env bash
# Set up packgen on a Debian-like machine: system libraries WeasyPrint needs, a CJK font, and a
# virtual environment in .venv with packgen installed. Safe to run again; it installs only what is
# missing. Usage: scripts/setup.sh [--test]   (--test adds the test tools and Chromium)
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

# Pango (with HarfBuzz and its subset library: without it CJK fonts subset ~20x slower),
# fontconfig, and a font that covers Chinese. poppler-utils (pdftoppm, pdftotext): `packgen serve`
# shows booklet pages with them, and the tests read PDFs back with them (pdffonts too).
# Chromium for the tests only: the browser tests of `packgen serve` drive it with Playwright.
packages=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 fontconfig fonts-noto-cjk poppler-utils)
[ "$want_test" = 1 ] && packages+=(chromium)

missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c "import ensurepip" >/dev/null 2>&1; then
  missing+=(python3-venv)
fi
if [ "${#missing[@]}" -gt 0 ]; then
  if ! command -v apt-get >/dev/null; then
    echo "setup: please install: ${missing[*]} (no apt-get on this machine)" >&2
    exit 2
  fi
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
if [ "$want_test" = 1 ]; then
  .venv/bin/python -m pip install -q -e ".[test]"
else
  .venv/bin/python -m pip install -q .
fi
echo "setup: done; run .venv/bin/packgen --help"
