# connec: two commands to start with.
#   make run   install into .venv, initialise ./var if missing, start everything
#   make test  install the test extras and run the whole suite
PYTHON ?= python3
VENV ?= .venv
DATA_DIR ?= var
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format typecheck install clean-data

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[test,dev]"
	touch $(STAMP)

# Element's own crypto stack (matrix-js-sdk with its Rust crypto) for the stories that
# must not rest on nio alone; from the npm registry, nothing fetched at run time.
ELEMENT_CLIENT := tests/element/node_modules/.package-lock.json

$(ELEMENT_CLIENT): tests/element/package.json tests/element/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --prefix tests/element --no-audit --no-fund --loglevel=error; \
	else \
		echo "npm not found: the stories told with Element's own client will be skipped"; \
	fi

install: $(STAMP)

run: $(STAMP)
	@test -f $(DATA_DIR)/secrets.toml || $(BIN)/connec init --data-dir $(DATA_DIR)
	$(BIN)/connec up --data-dir $(DATA_DIR)

test: $(STAMP) $(ELEMENT_CLIENT)
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python tools/import_cycles.py

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: $(STAMP)
	$(BIN)/mypy

clean-data:
	@echo "This deletes $(DATA_DIR): every account, message and secret of this deployment."
	@read -p "Type yes to continue: " answer && [ "$$answer" = yes ] && rm -rf $(DATA_DIR)
