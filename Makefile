# tejun: two commands on a fresh machine (Python 3.11, make, and for assets Node/npm).
#   make run   start the app on SQLite under instance/ with demo data, at http://127.0.0.1:5000
#   make test  the whole test suite on SQLite, and on PostgreSQL too when TEJUN_TEST_DATABASE_URL is set
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# --durations: CI's log shows the slowest tests; `time` around each pass shows how long the pass took
PYTEST_ARGS ?= --durations=15

.PHONY: run test test-sqlite test-postgres install assets catalogs catalogs-update browser lint worker clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(INSTALLED): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(INSTALLED)

# front-end bundles, and the compiled message catalogs (the .mo files are build output, not committed)
assets: catalogs
	service/web/assets/build.sh

catalogs: $(INSTALLED)
	$(BIN)/pybabel compile --statistics -d service/translations

# after adding or changing texts: refresh the template and both catalogs, then translate the new ja entries
catalogs-update: $(INSTALLED)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k N_ --ignore-dirs '.* ._ node_modules' --no-location \
	  -o service/translations/messages.pot .
	$(BIN)/pybabel update -i service/translations/messages.pot -d service/translations \
	  --ignore-obsolete --no-fuzzy-matching

# Debian's chromium for the browser tests (a test tool's own browser download fails here)
browser:
	@if ! command -v chromium >/dev/null || ! fc-list 2>/dev/null | grep -qi ipa; then \
	  echo "installing Debian's chromium (and a Japanese font for screenshots) for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    chromium chromium-driver fonts-ipafont-gothic libmagic1 >/dev/null; fi

run: install assets
	$(BIN)/flask --app wsgi db upgrade
	$(BIN)/flask --app wsgi models sync
	$(BIN)/flask --app wsgi demo
	@echo "tejun: http://127.0.0.1:5000  (the timer worker runs beside it; Ctrl-C stops both)"
	@trap 'kill 0' EXIT INT TERM; \
	  $(BIN)/flask --app wsgi worker & \
	  $(BIN)/flask --app wsgi run --host 127.0.0.1 --port 5000

# Tests whose subject does not depend on the database run in one pass only when both passes run: the pages in
# chromium (marker browser: the live app's queries are the same ones the page tests run in both passes), the
# fuzz of the HTTP contract and the benchmark tool (marker one_pass). They run on PostgreSQL, the production
# database; without TEJUN_TEST_DATABASE_URL the SQLite pass runs them.
ONE_PASS := browser or one_pass

test: install assets browser
	@start=$$(date +%s); \
	if [ -n "$$TEJUN_TEST_DATABASE_URL" ]; then \
	  $(MAKE) --no-print-directory test-sqlite SQLITE_MARKS="not ($(ONE_PASS))" && \
	  $(MAKE) --no-print-directory test-postgres; \
	else \
	  $(MAKE) --no-print-directory test-sqlite && echo "TEJUN_TEST_DATABASE_URL is not set: PostgreSQL pass skipped"; \
	fi; status=$$?; took=$$(( $$(date +%s) - start )); \
	echo "== make test took $$(( took / 60 )) min $$(( took % 60 )) s (target: under 15 min) =="; exit $$status

# SQLITE_MARKS: a -m expression for the SQLite pass (set by `make test` when the PostgreSQL pass follows)
test-sqlite:
	@echo "== tests on SQLite =="
	time env -u TEJUN_TEST_DATABASE_URL $(BIN)/pytest -n 2 --dist worksteal $(if $(SQLITE_MARKS),-m "$(SQLITE_MARKS)") $(PYTEST_ARGS)

# the drills (tests/drills) run alone after the others: one restarts PostgreSQL under load
test-postgres:
	@echo "== tests on PostgreSQL ($$TEJUN_TEST_DATABASE_URL) =="
	time $(BIN)/pytest -n 2 --dist worksteal -m "not drill" $(PYTEST_ARGS)
	@echo "== fault and backup drills on PostgreSQL (serial) =="
	time $(BIN)/pytest -m drill $(PYTEST_ARGS) tests/drills

lint: install
	$(BIN)/ruff check .

worker: install
	$(BIN)/flask --app wsgi worker

clean:
	rm -rf $(VENV) service/web/static/vendor service/web/assets/node_modules test-artifacts

# performance benchmark (docs/performance.md): a schema of its own in TEJUN_BENCH_DATABASE_URL (default: the
# local PostgreSQL `test` database), dropped at the end; BENCH_ARGS=--quick for a small run
.PHONY: bench
bench: install
	$(BIN)/python bench/perf_bench.py $(BENCH_ARGS)
