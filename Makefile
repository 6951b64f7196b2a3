# Two commands do all the set-up: `make run` and `make test` (each builds .venv when needed).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-slow lint format migrate bench clean messages

$(STAMP): pyproject.toml requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt -e '.[test]' --config-settings editable_mode=compat
	$(BIN)/python -m server.telegram.i18n
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
bench: $(STAMP)
	$(BIN)/python bench/run.py

# After adding or changing a bot text: extract, merge into the catalogs, translate the empty
# msgstr entries in server/telegram/locales/ru/LC_MESSAGES/bot.po, then `make` compiles them.
LOCALES := server/telegram/locales
messages: $(STAMP)
	$(BIN)/pybabel extract --no-default-keywords -k tr:2 -k ntr:2,3 -k N_ --no-location \
		--omit-header -o $(LOCALES)/bot.pot server/telegram
	$(BIN)/pybabel update -D bot -d $(LOCALES) -i $(LOCALES)/bot.pot --no-fuzzy-matching -w 100
	$(BIN)/python -m server.telegram.i18n

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
