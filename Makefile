# The two commands that matter: `make demo` and `make test`. Both build .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
JS_STAMP := tests/js/node_modules/.installed

.PHONY: demo test lint pytest bench bench-memory simulate schema clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[sim,dev]'
	touch $(STAMP)

# Node packages the tests drive (tests/js: federation composition), pinned by the lockfile.
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

pytest: $(STAMP) $(JS_STAMP)
	$(BIN)/pytest -q

test: lint pytest

STACK ?= classic

bench: $(STAMP)
	$(BIN)/python -m bench --stack $(STACK)
	$(BIN)/python -m bench workflows

bench-memory: $(STAMP)
	$(BIN)/python -m bench memory

schema: $(STAMP)
	$(BIN)/opsgraph export-schema > schema.graphql

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
