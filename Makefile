# The two commands of the README: `make run` and `make test`. Each creates .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint bench clean

# The example plugin's entry points are written at install: a change to them needs a new install too.
$(STAMP): pyproject.toml examples/ordo-example-plugin/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m pip install --quiet -e examples/ordo-example-plugin
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/ordo serve --demo

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check --no-cache .
	$(BIN)/ruff format --no-cache --check .
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/ordo bench

clean:
	rm -rf $(VENV) ordo.db ordo.db-wal ordo.db-shm
