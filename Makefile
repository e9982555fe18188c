# Lianxin (连心桥) — the two commands a new machine needs: `make run` and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test setup node-setup migrate seed lint bench clean services

run: setup migrate ## install, migrate, start every service + the gateway, load the demo center
	@bash scripts/ensure-pdf-font.sh
	$(BIN)/lianxin run --seed

test: setup node-setup services lint ## install, start RabbitMQ/PostgreSQL/Redis if needed, lint and types, run unit + integration + e2e tests
	BIN=$(BIN) bash scripts/test.sh

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null || { echo "需要 Python 3.11 ($(PYTHON) not found)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

# The official AsyncAPI parser checks the event document (tests/unit/kit/test_asyncapi_parser.py).
node-setup: node_modules/.package-lock.json

node_modules/.package-lock.json: package.json package-lock.json
	@command -v npm >/dev/null || { echo "需要 Node.js 18+ 与 npm（apt-get install -y nodejs npm），用于 AsyncAPI 官方解析器检查"; exit 1; }
	npm ci --no-audit --no-fund

migrate: setup
	$(BIN)/lianxin migrate

seed: setup
	$(BIN)/lianxin seed

services: ## start RabbitMQ (with management), PostgreSQL and Redis when they are not running
	bash scripts/ensure-services.sh

lint: setup ## ruff check, ruff format --check, mypy (scripts/lint.sh)
	BIN=$(BIN) bash scripts/lint.sh

bench: setup services
	$(BIN)/python bench/intake.py

clean:
	rm -rf var/ .pytest_cache node_modules
