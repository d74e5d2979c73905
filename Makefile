# One target per habit. `make demo` and `make test` work on a fresh Debian/Ubuntu machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
AUDIT_VENV  := .venv-audit
AUDIT_STAMP := $(AUDIT_VENV)/.installed

RUNTIME_PACKAGES := mosquitto mosquitto-clients
TEST_PACKAGES    := $(RUNTIME_PACKAGES) chromium influxdb postgresql
BENCH_PACKAGES   := $(RUNTIME_PACKAGES) wrk util-linux

.PHONY: setup demo run test test-all check audit bench bench-http bench-scale screenshots clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)
	scripts/system-packages.sh $(RUNTIME_PACKAGES)

demo: setup
	$(BIN)/hub demo

run: setup
	$(BIN)/hub run

# The store-touching tests run twice: on SQLite files, then on a throwaway PostgreSQL
# (tests/pg_server.py starts it from the Debian package). Only tests/devices and tests/docs
# never open a store; every other directory, new ones included, runs on both.
# The second pass runs every store-touching test on PostgreSQL. Left out: device parsing and
# docs (no store), and rows 32-35, which test SQLite's own mechanisms (the demo's embedded
# SQLite store under kill -9, SQLite's online backup API, the committed SQLite store of the
# previous release, a full disk under a SQLite file); PostgreSQL's backup path has its own
# test (tests/storage/test_storage_backup_postgres.py; test_storage_backup.py is the SQLite
# one) and its restart row 36.
PG_SKIP := --ignore=tests/devices --ignore=tests/docs \
	--ignore=tests/reliability/test_row32_kill9_restart.py \
	--ignore=tests/reliability/test_row33_backup_restore.py \
	--ignore=tests/reliability/test_row34_upgrade.py \
	--ignore=tests/reliability/test_row35_disk_full.py \
	--ignore=tests/reliability/test_row35_disk_full_postgres.py \
	--ignore=tests/storage/test_storage_backup.py

test: $(STAMP)
	scripts/system-packages.sh $(TEST_PACKAGES)
	$(BIN)/python -m pytest
	$(BIN)/python -m pytest --store=postgresql $(PG_SKIP)

test-all: $(STAMP)
	scripts/system-packages.sh $(TEST_PACKAGES)
	$(BIN)/python -m pytest -m "slow or not slow"

check: $(STAMP) audit
	$(BIN)/ruff check hub tests bench
	$(BIN)/mypy hub
	$(BIN)/lint-imports

# pip-audit lives in a venv of its own (pinned in scripts/audit-constraints.txt), so that its
# dependencies never mix with the hub's; it audits constraints.txt without installing it.
$(AUDIT_STAMP): scripts/audit-constraints.txt
	$(PYTHON) -m venv $(AUDIT_VENV)
	$(AUDIT_VENV)/bin/pip install -q -r scripts/audit-constraints.txt
	touch $(AUDIT_STAMP)

audit: $(AUDIT_STAMP)
	$(AUDIT_VENV)/bin/python scripts/audit.py constraints.txt

screenshots: $(STAMP)
	scripts/system-packages.sh $(TEST_PACKAGES)
	HUB_UPDATE_SCREENSHOTS=1 $(BIN)/python -m pytest tests/dashboards

bench: setup
	$(BIN)/python bench/run.py

# The API beside a bare FastAPI route under wrk (README, "A fast API").
bench-http: $(STAMP)
	scripts/system-packages.sh $(BENCH_PACKAGES)
	$(BIN)/python bench/bench_http.py

bench-scale: $(STAMP)
	scripts/system-packages.sh $(TEST_PACKAGES)
	$(BIN)/python bench/scale.py

clean:
	rm -rf $(VENV) $(AUDIT_VENV) var .pytest_cache .mypy_cache .ruff_cache

# Languages (hub/i18n): extract the messages of templates and code, fill the catalogues from
# scripts/i18n_translations.py, compile the .mo files that ship in the package (committed).
PYBABEL := $(BIN)/pybabel
LOCALES := hub/i18n/locales

.PHONY: i18n-extract i18n-update i18n-compile
i18n-extract: $(STAMP)
	$(PYBABEL) -q extract -F babel.cfg -k _ -k gettext -k ngettext:1,2 -k N_ --no-location \
	  --sort-output --omit-header -o $(LOCALES)/messages.pot .

i18n-update: i18n-extract
	$(BIN)/python scripts/i18n_fill.py

i18n-compile: $(STAMP)
	$(PYBABEL) -q compile -d $(LOCALES) -D messages --statistics
