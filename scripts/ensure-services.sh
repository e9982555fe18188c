#!/usr/bin/env bash
# Make sure what Lianxin needs is running on this machine: RabbitMQ (with the management
# plugin, which the tests use to create a vhost per test), PostgreSQL and Redis (the shared
# throttle of public intake, tested against a real server). Starts them when
# they are installed but stopped; fails loudly, saying what to do, when it cannot.
# Installs promtool (Debian's prometheus package) for the deploy checks when missing.
#   --check-rabbitmq   only check that RabbitMQ answers (what `make run` needs)
set -u

AMQP_PORT=${AMQP_PORT:-5672}
PG_PORT=${PG_PORT:-5432}
REDIS_PORT=${REDIS_PORT:-6379}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {  # port seconds
  for _ in $(seq 1 "$2"); do port_open "$1" && return 0; sleep 1; done
  return 1
}

fail() { echo "ERROR: $*" >&2; exit 1; }

ensure_rabbitmq() {
  if ! port_open "$AMQP_PORT"; then
    command -v rabbitmq-server >/dev/null \
      || fail "RabbitMQ is not running on 127.0.0.1:$AMQP_PORT and is not installed (apt-get install rabbitmq-server)."
    echo "starting RabbitMQ (rabbitmq-server -detached) ..."
    rabbitmq-server -detached >/dev/null 2>&1 || true
    wait_port "$AMQP_PORT" 90 || fail "RabbitMQ did not come up on port $AMQP_PORT; see /var/log/rabbitmq/."
  fi
}

ensure_management() {
  if ! port_open 15672; then
    command -v rabbitmq-plugins >/dev/null \
      || fail "the RabbitMQ management API (port 15672) is needed by the tests; enable rabbitmq_management."
    echo "enabling the RabbitMQ management plugin ..."
    rabbitmq-plugins enable rabbitmq_management >/dev/null \
      || fail "could not enable rabbitmq_management (rabbitmq-plugins enable rabbitmq_management)."
    wait_port 15672 60 || fail "the RabbitMQ management API did not come up on port 15672."
  fi
}

# The broker-stop tests (tests/integration/test_broker_stops.py, test_quorum_cluster.py) start
# private RabbitMQ nodes of their own (tests/rabbitnodes.py), never touching the shared one:
# they need the server's scripts and rabbitmqctl, not a running service.
ensure_rabbitmq_tools() {
  command -v rabbitmq-server >/dev/null && command -v rabbitmqctl >/dev/null \
    || fail "rabbitmq-server and rabbitmqctl are needed by the broker-stop tests (apt-get install rabbitmq-server)."
}

ensure_postgres() {
  if ! port_open "$PG_PORT"; then
    command -v pg_ctlcluster >/dev/null \
      || fail "PostgreSQL is not running on 127.0.0.1:$PG_PORT and pg_ctlcluster is not installed."
    echo "starting PostgreSQL ..."
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start \
      || fail "could not start PostgreSQL (pg_ctlcluster ... main start)."
    wait_port "$PG_PORT" 60 || fail "PostgreSQL did not come up on port $PG_PORT."
  fi
  psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -Atqc "select 1" >/dev/null 2>&1 \
    || fail "PostgreSQL answers on $PG_PORT but user postgres cannot log in (trust auth expected for tests)."
}

ensure_redis() {
  if ! port_open "$REDIS_PORT"; then
    command -v redis-server >/dev/null \
      || fail "Redis is not running on 127.0.0.1:$REDIS_PORT and is not installed (apt-get install redis-server)."
    echo "starting Redis ..."
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes >/dev/null \
      || fail "could not start Redis (redis-server --daemonize yes)."
    wait_port "$REDIS_PORT" 30 || fail "Redis did not come up on port $REDIS_PORT."
  fi
}

# promtool, for tests/unit/test_deploy.py (`promtool check rules` / `check config`).
# Debian's prometheus package brings it; installed once, then found on PATH.
ensure_promtool() {
  command -v promtool >/dev/null && return 0
  command -v apt-get >/dev/null && [ "$(id -u)" = 0 ] \
    || fail "promtool is missing (tests/unit/test_deploy.py needs it): apt-get install -y prometheus"
  echo "installing promtool (apt-get install -y prometheus) ..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q prometheus >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q prometheus >/dev/null; } \
    || fail "could not install promtool (apt-get install -y prometheus)."
  command -v promtool >/dev/null || fail "apt-get installed prometheus but promtool is not on PATH."
}

if [ "${1:-}" = "--check-rabbitmq" ]; then
  port_open "$AMQP_PORT" || fail "RabbitMQ is not reachable on 127.0.0.1:$AMQP_PORT.
Start it with:  rabbitmq-server -detached   (or set AMQP_URI to a running broker)"
  exit 0
fi

# Chromium and a Chinese font, for the end-to-end tests in a real browser (Playwright drives
# Debian's chromium; `playwright install` is never run: it downloads a browser).
ensure_browser() {
  if command -v chromium >/dev/null && fc-list :lang=zh 2>/dev/null | grep -q .; then return 0; fi
  command -v apt-get >/dev/null && [ "$(id -u)" = 0 ] \
    || fail "Chromium and a Chinese font are needed by the browser tests: apt-get install -y chromium fonts-noto-cjk"
  echo "installing chromium and fonts-noto-cjk (apt-get) ..."
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium fonts-noto-cjk >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null 2>&1 \
         && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium fonts-noto-cjk >/dev/null; } \
    || fail "could not install chromium and fonts-noto-cjk (apt-get)."
  command -v chromium >/dev/null || fail "apt-get installed chromium but it is not on PATH."
}

# A TrueType Chinese font the reports and certificates embed in their PDFs (reportlab embeds
# TrueType, not the CFF outlines of Noto CJK): Debian's fonts-wqy-zenhei; and pdffonts
# (poppler-utils), with which the tests check that every font of a PDF is embedded.
ensure_pdf_font() {
  [ -f /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc ] && command -v pdffonts >/dev/null && return 0
  command -v apt-get >/dev/null && [ "$(id -u)" = 0 ] \
    || fail "the PDF font or pdffonts is missing: apt-get install -y fonts-wqy-zenhei poppler-utils"
  echo "installing fonts-wqy-zenhei and poppler-utils (apt-get) ..."
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q fonts-wqy-zenhei poppler-utils >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null 2>&1 \
         && DEBIAN_FRONTEND=noninteractive apt-get install -y -q fonts-wqy-zenhei poppler-utils >/dev/null; } \
    || fail "could not install fonts-wqy-zenhei and poppler-utils (apt-get)."
}

ensure_rabbitmq
ensure_management
ensure_rabbitmq_tools
ensure_postgres
ensure_redis
ensure_promtool
ensure_browser
ensure_pdf_font
echo "RabbitMQ, PostgreSQL and Redis are up; promtool, chromium and a Chinese font are installed."
