# The two commands that matter: `make demo` and `make test`. Both build .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
JS_STAMP := tests/js/node_modules/.installed
CHROMIUM_STAMP := $(VENV)/.chromium

.PHONY: demo test lint pytest bench bench-memory simulate schema clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[sim,dev]'
	touch $(STAMP)

# Debian's chromium for the dashboard test (Playwright drives it; never `playwright install`): installed
# with apt-get when missing and running as root; otherwise that test skips (and fails under CI=true).
$(CHROMIUM_STAMP):
	@if ! command -v chromium >/dev/null && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y -o DPkg::Lock::Timeout=600 chromium \
	    || { apt-get update && apt-get install -y -o DPkg::Lock::Timeout=600 chromium; }; \
	fi
	@if command -v chromium >/dev/null; then touch $@; else echo "chromium unavailable: the dashboard test skips"; fi

# Node packages the tests drive (tests/js: federation composition; the graphql-ws and graphql-sse
# subscription clients), pinned by the lockfile.
$(JS_STAMP): tests/js/package.json tests/js/package-lock.json
	cd tests/js && npm ci --no-audit --no-fund --loglevel=error
	touch $(JS_STAMP)

demo: $(STAMP)
	@echo "opsgraph demo: GraphiQL at http://127.0.0.1:8000/graphql"
	$(BIN)/opsgraph serve --demo --host 127.0.0.1 --port 8000

simulate: $(STAMP)
	$(BIN)/opsgraph simulate

lint: $(STAMP)
	$(BIN)/ruff check opsgraph simulators tests bench
	$(BIN)/ruff format --check opsgraph simulators tests bench
	$(BIN)/mypy

pytest: $(STAMP) $(JS_STAMP) $(CHROMIUM_STAMP)
	$(BIN)/pytest -q

test: lint pytest

STACK ?= classic

bench: $(STAMP)
	$(BIN)/python -m bench --stack $(STACK)
	$(BIN)/python -m bench.response_cache
	$(BIN)/python -m bench events
	$(BIN)/python -m bench workflows

bench-memory: $(STAMP)
	$(BIN)/python -m bench memory

schema: $(STAMP)
	$(BIN)/opsgraph export-schema > schema.graphql

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
