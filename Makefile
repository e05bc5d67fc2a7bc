# 石榴 Shiliu — the two set-up commands are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TOOLS := .tools
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test lint format bench install tools system-deps compose-check clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is needed ($(PYTHON) not found)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

## make run: the whole platform on the embedded default, with demo data, at http://127.0.0.1:8000
run: $(STAMP)
	$(BIN)/shiliu dev

## Debian packages the tests need, installed when missing: chromium and a CJK font (browser
## tests), nginx (the production gateway: `nginx -t` checks its configuration, the production
## shape runs behind it).
system-deps:
	@if ! command -v chromium >/dev/null || ! fc-list 2>/dev/null | grep -qi "noto.*cjk"; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing chromium and fonts-noto-cjk (apt-get)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	  else echo "please install chromium and fonts-noto-cjk"; exit 1; fi; \
	fi
	@if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing nginx (apt-get)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null; \
	  else echo "please install nginx"; exit 1; fi; \
	fi

$(TOOLS)/node_modules/.installed: infra/tools/package.json
	@mkdir -p $(TOOLS)
	cp infra/tools/package.json $(TOOLS)/package.json
	cd $(TOOLS) && npm install --silent --no-audit --no-fund >/dev/null
	@touch $@

tools: $(TOOLS)/node_modules/.installed

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## make test: lint, validate docker-compose.yml, then the whole suite (SQLite, and PostgreSQL when it answers)
## on PYTEST_WORKERS processes (pytest-xdist, a module at a time to each, those with the most tests
## first; 0 runs it in one process).
## The tests mostly wait on brokers, databases and browsers, so three keep two cores busy.
PYTEST_WORKERS ?= 3
test: $(STAMP) system-deps tools lint compose-check
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

## docker-compose.yml against the Compose Specification's JSON schema (no Docker needed)
compose-check: $(STAMP)
	$(BIN)/check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yml

## make bench: throughput against raw kafka-python on the same broker, in the same run; then
## the reminder fan-out against a bare insert, and the attendance → inbox lag under load; then
## the statistics report of a district's year and the statistics consumer against a bare insert
bench: $(STAMP)
	$(BIN)/shiliu bench
	$(BIN)/shiliu bench notifications
	$(BIN)/shiliu bench stats

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .ruff_cache test-artifacts
