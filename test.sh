#!/usr/bin/env bash
# Set up and run the whole test suite, browser tests included (installs Chromium if missing).
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Chromium for the browser tests..."
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-liberation >/dev/null
  else
    echo "Chromium is missing: install the Debian package 'chromium' (browser tests will fail)." >&2
  fi
fi
if [ ! -f .cache/axe/node_modules/axe-core/axe.min.js ]; then
  npm install --silent --no-audit --no-fund --prefix .cache/axe axe-core@4.14.1
fi
.venv/bin/python -m playwright --version >/dev/null
.venv/bin/ruff check --quiet stls   # lint and type check (pyproject.toml); any finding fails the run
.venv/bin/mypy --no-error-summary
exec .venv/bin/python -m pytest "$@"
