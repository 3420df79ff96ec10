#!/usr/bin/env bash
# Install Debian's chromium for the headless browser tests when it is missing (idempotent).
# The tests drive /usr/bin/chromium through the playwright python package; Playwright's own
# browser download (`playwright install`) is never used.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "ensure_chromium: /usr/bin/chromium is missing and this is not root (no sudo)" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
/usr/bin/chromium --version
