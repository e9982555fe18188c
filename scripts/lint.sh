#!/usr/bin/env bash
# Lint and types, as `make test` (and so CI) runs them before the tests.
#   ruff check, ruff format --check: the whole tree.
#   mypy: the files pyproject.toml names (the kit, the gateway, every service's domain
#   modules) with 0 errors; the rest of services/ (entrypoints, models, channels) is counted
#   against the budget in scripts/mypy-budget, which may shrink but never grow.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}

"$BIN/ruff" check .
"$BIN/ruff" format --check .
"$BIN/mypy"

budget=$(tr -dc '0-9' < scripts/mypy-budget)
count=$("$BIN/mypy" services --exclude '/migrations/' --no-error-summary 2>/dev/null \
        | grep -c ': error:' || true)
echo "mypy on all of services/: $count errors (budget $budget)"
if (( count > budget )); then
    echo "mypy errors in services/ grew past the budget ($count > $budget): fix the new ones" >&2
    exit 1
fi
