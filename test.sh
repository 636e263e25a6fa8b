#!/usr/bin/env bash
# Set up and run the whole test suite, browser tests included (installs Chromium if missing).
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh
# Chromium (browser tests, PDF pack), LibreOffice Impress and poppler (the PowerPoint and PDF
# packs are rendered and measured in tests/test_pack.py).
if ! command -v chromium >/dev/null 2>&1 || ! command -v soffice >/dev/null 2>&1 || ! command -v pdftoppm >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Chromium, LibreOffice Impress and poppler-utils for the browser and pack tests..."
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      chromium fonts-liberation libreoffice-impress poppler-utils >/dev/null
  else
    echo "Missing: install the Debian packages chromium, libreoffice-impress and poppler-utils (browser and pack tests will fail)." >&2
  fi
fi
if [ ! -f .cache/axe/node_modules/axe-core/axe.min.js ]; then
  npm install --silent --no-audit --no-fund --prefix .cache/axe axe-core@4.14.1
fi
.venv/bin/python -m playwright --version >/dev/null
.venv/bin/ruff check --quiet stls   # lint and type check (pyproject.toml); any finding fails the run
.venv/bin/mypy --no-error-summary
# Two workers (the machines have two cores): a module whose tests share a server, a browser or a
# database built for it stays on one worker, every other test goes to whichever is free
# (tests/conftest.py). Arguments after these win: `bash test.sh -n 0 tests/test_x.py` runs serially.
exec .venv/bin/python -m pytest -n 2 --dist loadgroup "$@"
