# Two commands do all the set-up: `make run` and `make test` (each builds .venv when needed).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-slow test-timing coverage mutate lint format migrate bench clean

$(STAMP): pyproject.toml requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt -e '.[test]' --config-settings editable_mode=compat
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m server

migrate: $(STAMP)
	$(BIN)/python -m server migrate

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: lint
	$(BIN)/pytest -m "not slow"

test-slow: $(STAMP)
	$(BIN)/pytest -m slow

# The whole suite (slow tests included) under coverage, child processes too; fails below
# [tool.coverage.report] fail_under in pyproject.toml. CI runs this instead of test + test-slow,
# and the timing comparisons (which tracing would distort) without coverage.
coverage: $(STAMP)
	$(BIN)/coverage erase
	$(BIN)/coverage run -m pytest -m "not timing"
	$(BIN)/coverage combine -q
	$(BIN)/coverage report

test-timing: $(STAMP)
	$(BIN)/pytest -m timing

# Mutation testing of the security-critical modules (see [tool.mutmut] in pyproject.toml and
# tests/MUTANTS.md); slow, not in CI: run it before each release.
mutate: $(STAMP)
	$(BIN)/python tests/mutation.py

# Reports figures in bench/results.md and .json; a missed target never fails it.
bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache mutants .coverage .coverage.* htmlcov
