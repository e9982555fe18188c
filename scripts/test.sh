#!/usr/bin/env bash
# The test suite as `make test` runs it: two pytest processes at once, since most of the
# suite's time is spent waiting (for the broker, for processes it started, for a browser)
# rather than computing. One runs the end-to-end tests (they share one `make run` system),
# the tests that start RabbitMQ nodes or a PostgreSQL server of their own and, to even out
# the two, a few of the longest integration files; the other the unit and the remaining
# integration tests (on 2026-12-02: 629 s and 983 s before the evening-out, 1,351 s
# one after the other). The second streams its output, the first's
# is printed when it ends; the script fails if either does. Arguments go to both pytests
# (e.g. `-x`, `-k name`); to run one file, call pytest directly.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}

OWN_SERVERS=(
  tests/integration/test_quorum_cluster.py
  tests/integration/test_broker_stops.py
  tests/integration/test_postgres_restart.py
  tests/integration/test_permission_matrix.py
  tests/integration/test_sigterm_drain.py
  tests/integration/test_accounts.py
  tests/integration/test_onboarding.py
  tests/integration/test_care_file.py
  tests/integration/test_reports.py
)
ignored=()
for path in "${OWN_SERVERS[@]}"; do ignored+=("--ignore=$path"); done

log=$(mktemp -t lianxin-e2e-XXXXXX.log)
echo "end-to-end, own-server and the longest integration tests: running beside the others (their output follows)"
"$BIN/python" -m pytest "$@" tests/e2e "${OWN_SERVERS[@]}" >"$log" 2>&1 &
first=$!
"$BIN/python" -m pytest "$@" tests/unit tests/integration "${ignored[@]}"
second=$?
wait "$first"
first_rc=$?
echo
echo "---- end-to-end, own-server and the longest integration tests ----"
cat "$log"
rm -f "$log"
if [ "$first_rc" -ne 0 ] || [ "$second" -ne 0 ]; then
  echo "tests failed (end-to-end and the others beside them: exit $first_rc; unit and integration: exit $second)" >&2
  exit 1
fi
