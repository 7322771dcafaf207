#!/usr/bin/env bash
# Installs Debian's chromium for the web-UI browser tests. `npx playwright install` cannot reach
# its download host from our machines, so playwright-core drives the distribution's build instead.
# Idempotent: does nothing when the browser is already there. Non-interactive.
set -euo pipefail

CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"

if [[ -x "$CHROMIUM_PATH" ]]; then
  echo "install-chromium: $CHROMIUM_PATH already present ($("$CHROMIUM_PATH" --version 2>/dev/null || echo 'version unknown')); nothing to do."
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-chromium: $CHROMIUM_PATH is missing and apt-get is not available; install chromium by hand and set CHROMIUM_PATH." >&2
  exit 1
fi

# apt needs root; use sudo only when we are not root already and it exists.
SUDO=""
if [[ "$(id -u)" -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "install-chromium: need root (or sudo) to run apt-get." >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
echo "install-chromium: $CHROMIUM_PATH missing; running apt-get update"
$SUDO apt-get update -q
echo "install-chromium: running apt-get install -y --no-install-recommends chromium"
$SUDO apt-get install -y -q --no-install-recommends chromium

if [[ ! -x "$CHROMIUM_PATH" ]]; then
  echo "install-chromium: apt-get finished but $CHROMIUM_PATH is still missing; set CHROMIUM_PATH to the installed binary." >&2
  exit 1
fi
echo "install-chromium: installed $("$CHROMIUM_PATH" --version 2>/dev/null || echo "$CHROMIUM_PATH")"
