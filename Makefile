# Two commands on a fresh machine with Python 3.11+: `make dev` and `make test`.
# Both create .venv and (re)install the project into it when pyproject.toml changes.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: dev test lint unit integration bench schemas clean browser

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,report,rocksdb]'
	touch $(STAMP)

dev: $(STAMP)
	$(BIN)/stream-app dev $(ARGS)

# The console's browser tests drive Debian's chromium (no browser download): installed
# here when missing and we may (root on Debian), as on a fresh CI machine.
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; }

test: $(STAMP) lint browser
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
