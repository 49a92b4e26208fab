#!/usr/bin/env bash
# The browser test's Chromium (tox -e html): Debian's chromium package, installed when it is
# missing and this runs as root with apt-get (as CI does); otherwise a clear failure, never
# a skipped test. CHROMIUM_PATH names another Chromium to use instead.
set -euo pipefail
if [ -n "${CHROMIUM_PATH:-}" ] || command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "tox -e html needs Chromium: install Debian's chromium package" \
    "(apt-get install chromium) or give a Chromium's path in CHROMIUM_PATH" >&2
  exit 1
fi
echo "installing Debian's chromium for the browser test" >&2
apt-get update -q
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium
