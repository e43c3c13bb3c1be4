# tierpath developer / CI entry points.
#
#   make install        create .venv (if missing) and install '.[dev]' into it
#   make test           ruff, mypy, pytest on SQLite, pytest on PostgreSQL (if installed)
#   make test-sqlite    pytest on SQLite only
#   make test-postgres  pytest on a throwaway PostgreSQL cluster only
#   make lint | typecheck | bench | demo | clean
#
# Extra pytest arguments: make test PYTEST_ARGS='-x -k launch'
# TIERPATH_REQUIRE_POSTGRES=1 makes a missing PostgreSQL an error in `make test`.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
PYTEST_ARGS ?=
BENCH_ARGS ?=

VPY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

export PIP_DISABLE_PIP_VERSION_CHECK := 1
export PIP_NO_INPUT := 1
ifneq ($(CI),)
export PIP_PROGRESS_BAR := off
endif

.PHONY: help venv install verifier ob2-validator demo test test-sqlite test-postgres test-postgres-optional \
        lint typecheck bench bench-badges clean

help:
	@echo "targets: install (venv), test, test-sqlite, test-postgres, lint, typecheck,"
	@echo "         bench, demo, clean"
	@echo "vars:    PYTHON=$(PYTHON) VENV=$(VENV) PYTEST_ARGS='$(PYTEST_ARGS)'"

# --- environment -----------------------------------------------------------------

$(VPY):
	$(PYTHON) -m venv $(VENV)

# Re-run the install only when pyproject.toml changes (editable install: code changes
# need no reinstall). Delete $(STAMP) to force it.
$(STAMP): pyproject.toml | $(VPY)
	$(VPY) -m pip install --upgrade pip
	$(VPY) -m pip install -e '.[dev]'
	@touch $@

install: $(STAMP)

venv: install

# The independent Open Badges verifier (npm Digital Bazaar stack) the badge tests
# check our credentials against. Without npm its tests skip (fail in CI).
VERIFIER := tools/ob-verifier
$(VERIFIER)/node_modules/.installed: $(VERIFIER)/package-lock.json
	npm ci --prefix $(VERIFIER) --no-audit --no-fund --loglevel=error
	@touch $@

verifier:
	@if command -v npm >/dev/null 2>&1; then \
		$(MAKE) --no-print-directory $(VERIFIER)/node_modules/.installed; \
	else \
		echo "npm not installed: the badge verifier tests will skip (.ci/run installs it)"; \
	fi

# The independent Open Badges 2.0 verifier (PyPI openbadges 1.1.2) in its own venv:
# its pins conflict with ours and break on Python 3.11, so install it, then
# override three of them (tools/ob2-validator/overrides.txt). Without this venv
# its tests skip (fail with TIERPATH_REQUIRE_BADGE_ORACLE=1).
OB2_VALIDATOR := tools/ob2-validator
OB2_VENV := $(OB2_VALIDATOR)/.venv
$(OB2_VENV)/.installed: $(OB2_VALIDATOR)/requirements.txt $(OB2_VALIDATOR)/overrides.txt
	rm -rf -- $(OB2_VENV)
	$(PYTHON) -m venv $(OB2_VENV)
	$(OB2_VENV)/bin/python -m pip install -r $(OB2_VALIDATOR)/requirements.txt
	$(OB2_VENV)/bin/python -m pip install -r $(OB2_VALIDATOR)/overrides.txt
	@if $(OB2_VENV)/bin/python -m pip show cryptography >/dev/null 2>&1; then \
		echo "cryptography must not be installed in $(OB2_VENV)" >&2; exit 1; \
	fi
	$(OB2_VENV)/bin/python -c 'import openbadges, responses'
	@touch $@

ob2-validator: $(OB2_VENV)/.installed

# --- checks ----------------------------------------------------------------------

lint: install
	$(VENV)/bin/ruff check .

typecheck: install
	$(VENV)/bin/mypy

# SQLite: with TIERPATH_DATABASE_URL unset the suite uses its own temp SQLite file.
test-sqlite: install verifier ob2-validator
	env -u TIERPATH_DATABASE_URL $(VPY) -m pytest $(PYTEST_ARGS)

# PostgreSQL: throwaway cluster, always stopped afterwards (scripts/with-postgres.sh).
test-postgres: install verifier ob2-validator
	bash scripts/with-postgres.sh $(VPY) -m pytest $(PYTEST_ARGS)

# Used by `test`: skip (or fail, with TIERPATH_REQUIRE_POSTGRES=1) when PostgreSQL
# server binaries are not installed.
test-postgres-optional: install
	@if bash scripts/pg-throwaway.sh bindir >/dev/null 2>&1; then \
		$(MAKE) --no-print-directory test-postgres; \
	elif [[ "$${TIERPATH_REQUIRE_POSTGRES:-0}" == 1 ]]; then \
		echo "PostgreSQL not installed, but TIERPATH_REQUIRE_POSTGRES=1: failing" >&2; \
		exit 1; \
	else \
		echo "PostgreSQL not installed: skipping the PostgreSQL run (.ci/run installs it)"; \
	fi

# Runs every step even if an earlier one fails, then reports and exits non-zero if
# anything failed.
TEST_STEPS := lint typecheck test-sqlite test-postgres-optional

test: install
	@failed=(); summary=(); \
	for step in $(TEST_STEPS); do \
		echo; echo "===== make $$step ====="; \
		start=$$SECONDS; \
		if $(MAKE) --no-print-directory $$step; then res=ok; else res=FAILED; failed+=("$$step"); fi; \
		summary+=("$$(printf '  %-24s %-7s %4ss' "$$step" "$$res" "$$((SECONDS - start))")"); \
	done; \
	echo; echo "===== summary ====="; printf '%s\n' "$${summary[@]}"; \
	if (( $${#failed[@]} )); then echo "FAILED: $${failed[*]}" >&2; exit 1; fi; \
	echo "all test steps passed"

# --- other -----------------------------------------------------------------------

bench: install
	$(VPY) benchmarks/launch.py $(BENCH_ARGS)

bench-badges: install verifier
	$(VPY) benchmarks/badges.py $(BENCH_ARGS)

demo: install
	VENV=$(VENV) bash scripts/demo.sh

clean:
	rm -rf -- $(VENV) instance/ .pytest_cache/ .mypy_cache/ .ruff_cache/ build/ dist/ *.egg-info
	find . -path ./.git -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +
