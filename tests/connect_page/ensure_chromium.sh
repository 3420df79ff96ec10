#!/usr/bin/env bash
# Install Debian's chromium for the Connect page browser test when it is missing (idempotent).
# Playwright's own browser download is never used: the test drives /usr/bin/chromium.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null; then SUDO="sudo"; else
        echo "ensure_chromium: /usr/bin/chromium missing and not root; the browser test will skip" >&2
        exit 0
    fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
/usr/bin/chromium --version
