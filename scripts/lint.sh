#!/usr/bin/env bash
# Lint and types, as `make test` (and so CI) runs them before the tests: ruff check and
# ruff format --check on the whole tree, mypy on the files pyproject.toml names (the kit,
# the gateway and every service) with 0 errors.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}

"$BIN/ruff" check .
"$BIN/ruff" format --check .
"$BIN/mypy"
