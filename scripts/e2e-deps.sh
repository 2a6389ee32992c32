#!/usr/bin/env bash
# Install what the browser end-to-end test (e2e/) needs: Debian's chromium,
# a CJK font so Chinese text renders in screenshots, and the npm packages.
# Idempotent: apt is skipped when chromium and Noto Sans CJK are already there.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# (grep without -q: it reads all of fc-list's output, so under pipefail
# fc-list is not killed by SIGPIPE when grep would stop at the first match)
have_cjk_font() { fc-list 2>/dev/null | grep "Noto Sans CJK" >/dev/null; }

if [ -x /usr/bin/chromium ] && have_cjk_font; then
  echo "e2e-deps: chromium and Noto Sans CJK already installed"
else
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y chromium fonts-noto-cjk
fi

cd "$here/e2e"
if [ -f package-lock.json ]; then
  npm ci --no-audit --no-fund
else
  npm install --no-audit --no-fund
fi
