# Two entry points (see README): `make run` and `make test`. Both need only Python >= 3.11 (with
# its pip) and make: the first use installs a pinned uv into .tools/ and then .venv exactly from
# uv.lock. `make lock` re-resolves uv.lock after a dependency change in pyproject.toml.
PYTHON     ?= python3
UV_VERSION := 0.13.9
TOOLS      := .tools/uv-$(UV_VERSION)
UV         := $(TOOLS)/bin/uv
VENV       := .venv
BIN        := $(VENV)/bin

# uv installs into .venv with this machine's Python and never downloads one.
export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(shell $(PYTHON) -c 'import sys; print(sys.executable)')
# --locked: install what uv.lock pins; fail (instead of re-resolving) if pyproject.toml changed
# without `make lock`. --inexact: add what a target needs, remove nothing another target installed.
SYNC := $(UV) sync --locked --inexact

.PHONY: run test bench lock clean

$(UV):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "lakeflow needs Python >= 3.11")'
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --target $(TOOLS) uv==$(UV_VERSION)

# One stamp per set of dependencies: each re-syncs when pyproject.toml, uv.lock or this file changes.
$(VENV)/.run-stamp: pyproject.toml uv.lock Makefile | $(UV)
	$(SYNC) --group examples
	touch $@

$(VENV)/.test-stamp: pyproject.toml uv.lock Makefile | $(UV)
	$(SYNC) --all-extras --all-groups
	touch $@

$(VENV)/.bench-stamp: pyproject.toml uv.lock Makefile | $(UV)
	$(SYNC) --extra bench --extra testing
	touch $@

## Set up and run the users example end to end on the embedded defaults (no dev tools, no Ray).
run: $(VENV)/.run-stamp
	$(BIN)/python -m examples.users

## Set up and run every gate CI runs: format, lint, types, import contract, tests.
test: $(VENV)/.test-stamp
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python tools/check_purity.py
	$(BIN)/pytest -q

bench: $(VENV)/.bench-stamp
	$(BIN)/python -m benchmarks $(ARGS)

## After changing dependencies in pyproject.toml: re-resolve uv.lock, then commit both files.
## `make lock ARGS='--upgrade-package ruff'` moves one pin; `ARGS=--upgrade` moves them all.
lock: | $(UV)
	$(UV) lock $(ARGS)

clean:
	rm -rf $(VENV) .tools .mypy_cache .ruff_cache .pytest_cache .hypothesis
