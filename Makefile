# Two commands do all the set-up: `make run` and `make test` (each builds .venv when needed).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-slow lint format migrate bench bench-wrk clean

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

# Reports figures in bench/results.md and .json; a missed target never fails it.
# `make bench BENCH_ARGS="--quick"` for a smoke test, `--phase NAME` for one phase.
BENCH_ARGS ?=
bench: $(STAMP) bench-wrk
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# wrk is the cheapest load generator per request on a small machine the service shares.
# Installed from Debian when missing and allowed (root, apt-get, BENCH_INSTALL_WRK != 0);
# otherwise the bench uses its own aiohttp client and says so in results.md.
bench-wrk:
	@command -v wrk >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
	      && [ "$${BENCH_INSTALL_WRK:-1}" != 0 ]; then \
	    echo "bench: installing wrk (apt-get)"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get install -y -qq wrk >/dev/null 2>&1 \
	      || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq wrk >/dev/null 2>&1; } \
	      || echo "bench: apt-get could not install wrk: using the aiohttp load generator"; \
	  else \
	    echo "bench: wrk not found (install it, e.g. apt-get install wrk, as root):" \
	      "using the aiohttp load generator"; \
	  fi; }

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
