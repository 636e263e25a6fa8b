#!/usr/bin/env bash
# Set up and start the dashboard at http://localhost:8501 (builds the demo database on first run).
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh
exec .venv/bin/python -m stls serve --server.port "${PORT:-8501}" "$@"
