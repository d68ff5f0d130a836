# ringfence: every target creates .venv when missing and installs what it needs.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
VAULT ?= $(CURDIR)/.ringfence/vault
DROP ?= $(CURDIR)/.ringfence/drop

.PHONY: run test bench lint demo clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev,media]'
	touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	RINGFENCE_VAULT="$(VAULT)" $(BIN)/python -m vault quickstart --drop "$(DROP)"

demo: $(VENV)/.installed-dev
	$(BIN)/ringfence demo

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -n 2 -q

bench: $(VENV)/.installed-dev
	$(BIN)/python -m bench

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check vault tui tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
