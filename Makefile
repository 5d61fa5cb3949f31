# Two commands on a fresh machine with Python 3.11+: `make dev` and `make test`.
# Both create .venv and (re)install the project into it when pyproject.toml changes.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: dev test lint unit integration bench schemas clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,report,rocksdb]'
	touch $(STAMP)

dev: $(STAMP)
	$(BIN)/stream-app dev $(ARGS)

test: $(STAMP) lint
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check stream_app tests bench
	$(BIN)/mypy stream_app

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

integration: $(STAMP)
	$(BIN)/pytest -q tests/integration

bench: $(STAMP)
	$(BIN)/python bench/core_decisions.py

schemas: $(STAMP)
	$(BIN)/stream-app topics schemas

clean:
	rm -rf $(VENV) .stream-app .pytest_cache .mypy_cache .ruff_cache
