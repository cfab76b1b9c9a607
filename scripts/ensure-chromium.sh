#!/usr/bin/env bash
# The apps-page test drives Debian's chromium with playwright-core (playwright's own browser
# download is not reachable here). Installs it from Debian's packages when it is missing.
set -euo pipefail
chromium="${STUBRUN_CHROMIUM:-/usr/bin/chromium}"
[ -x "$chromium" ] && exit 0
echo "Installing Debian's chromium for the apps page test (apt-get install chromium)..." >&2
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
if ! command -v apt-get >/dev/null 2>&1; then
  echo "No apt-get here: install chromium yourself and point STUBRUN_CHROMIUM at it." >&2
  exit 1
fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null
[ -x "$chromium" ] || { echo "chromium is still missing at $chromium" >&2; exit 1; }
