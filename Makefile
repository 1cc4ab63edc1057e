# The targets CI calls (.ci/run → make test); the README's two commands are `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PG_URL ?= postgres://postgres@127.0.0.1:5432/lianfang

.PHONY: demo test test-fast test-sqlite test-postgres lint install clean bench mutants

$(BIN)/lianfang: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/lianfang

demo: install
	$(BIN)/lianfang demo $(ARGS)

lint: install
	$(BIN)/ruff check src tests scripts bench
	$(BIN)/ruff format --check src tests scripts bench
	$(BIN)/lint-imports
	mkdir -p var  # a fresh clone has no database yet: checking migrations would warn it cannot open one
	$(BIN)/lianfang makemigrations --check --dry-run

# Everything: lint, the whole suite on SQLite, and again on PostgreSQL (browser tests included).
test: lint test-sqlite test-postgres

# Three pytest processes per database: the browser and Spark tests each in their own (scripts/suite.sh).
test-sqlite: install
	bash scripts/suite.sh $(BIN)/python

test-postgres: install
	bash scripts/with_postgres.sh "$(PG_URL)" bash scripts/suite.sh $(BIN)/python

# The fast set for the edit-test loop: SQLite, no browser, no slow tests.
test-fast: install
	$(BIN)/python -m pytest -q -m "not slow and not browser"

# Realistic one-line bugs, applied one at a time in a scratch copy: are they caught? Not in CI
# (minutes); run it before resolving an issue that touches scoping, audit, devices or the status
# rules. ARGS narrows it to mutants whose name contains a word (make mutants ARGS=audit).
mutants: install
	$(BIN)/python scripts/mutants.py $(ARGS)

bench: install
	$(BIN)/python bench/people_import.py --persons 100000

clean:
	rm -rf $(VENV) var build src/*.egg-info
