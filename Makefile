# Two commands do all the set-up: `make run` and `make test` (each builds .venv when needed).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run test test-slow test-timing coverage mutate lint format migrate bench bench-wrk clean messages chromium screenshots

# Running needs the pinned runtime dependencies only: `python -m server` runs from this folder,
# so the project itself is not installed. Quiet: pip's progress and notices are not the news.
$(STAMP): pyproject.toml requirements.txt
	@echo "setting up $(VENV) (runtime dependencies; once)"
	@$(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@$(BIN)/python -m server.telegram.i18n >/dev/null
	@touch $(STAMP)

# The test extras (pytest, Playwright, mypy, …) and the project as an editable install, for
# the targets that test, lint or measure. `compat` mode: mypy and the coverage paths see the
# sources as they are (a .pth line), which the newer modes' import hooks hide.
$(TEST_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]' --config-settings editable_mode=compat
	touch $(TEST_STAMP)

run: $(STAMP)
	$(BIN)/python -m server

migrate: $(STAMP)
	$(BIN)/python -m server migrate

lint: $(TEST_STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

format: $(TEST_STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The whole suite once (slow tests included) under branch and subprocess coverage, failing
# below [tool.coverage.report] fail_under; then the timing comparisons, untraced.
test: lint chromium coverage test-timing

# The browser tests drive Debian's Chromium (Playwright's own browser download is unreachable).
# Installed here when missing and running as root (as CI does); otherwise a clear stop.
chromium:
	@if [ -n "$$CHROMIUM_PATH" ]; then \
		[ -x "$$CHROMIUM_PATH" ] || { echo "error: CHROMIUM_PATH=$$CHROMIUM_PATH is not an executable" >&2; exit 1; }; \
	elif ! command -v chromium >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "installing Debian's chromium package for the browser tests"; \
			apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
		else \
			echo "error: the browser tests need Chromium: install Debian's package 'chromium' (sudo apt-get install chromium) or set CHROMIUM_PATH" >&2; \
			exit 1; \
		fi; \
	fi

# Retakes docs/screenshots/*.png: every screen in English and Russian, light and dark, phone
# (390 x 844) and desktop (tests/e2e/browser/test_screens.py).
screenshots: $(TEST_STAMP) chromium
	UPDATE_SCREENSHOTS=1 $(BIN)/pytest tests/e2e/browser/test_screens.py

test-slow: $(TEST_STAMP)
	$(BIN)/pytest -m slow

# The whole suite (slow tests included) under coverage, child processes too; fails below
# [tool.coverage.report] fail_under in pyproject.toml. CI runs this instead of test + test-slow,
# and the timing comparisons (which tracing would distort) without coverage.
coverage: $(TEST_STAMP)
	$(BIN)/coverage erase
	$(BIN)/coverage run -m pytest -m "not timing"
	$(BIN)/coverage combine -q
	$(BIN)/coverage report

test-timing: $(TEST_STAMP)
	$(BIN)/pytest -m timing

# Mutation testing of the security-critical modules (see [tool.mutmut] in pyproject.toml and
# tests/MUTANTS.md); slow, not in CI: run it before each release.
mutate: $(TEST_STAMP)
	$(BIN)/python tests/mutation.py

# Reports figures in bench/results.md and .json; a missed target never fails it.
# `make bench BENCH_ARGS="--quick"` for a smoke test, `--phase NAME` for one phase.
BENCH_ARGS ?=
bench: $(TEST_STAMP) bench-wrk
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

# After adding or changing a bot text: extract, merge into the catalogs, translate the empty
# msgstr entries in server/telegram/locales/ru/LC_MESSAGES/bot.po, then `make` compiles them.
LOCALES := server/telegram/locales
messages: $(TEST_STAMP)
	$(BIN)/pybabel extract --no-default-keywords -k tr:2 -k ntr:2,3 -k N_ --no-location \
		--omit-header -o $(LOCALES)/bot.pot server/telegram
	$(BIN)/pybabel update -D bot -d $(LOCALES) -i $(LOCALES)/bot.pot --no-fuzzy-matching -w 100
	$(BIN)/python -m server.telegram.i18n

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache mutants .coverage .coverage.* htmlcov
