# Lamina developer commands. `make serve` and `make test` are all a newcomer needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: serve test check lint typecheck architecture bench install clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

serve: $(STAMP)  ## run Lamina on 127.0.0.1:8080 (SQLite, demo catalog, local Git and registry targets allowed)
	LAMINA_ALLOW_LOCAL_TARGETS=1 $(BIN)/lamina serve

test: $(STAMP)  ## the whole test suite (SQLite, plus PostgreSQL when LAMINA_TEST_DATABASE_URL is set)
	scripts/ensure-test-tools
	$(BIN)/pytest -n 2 tests

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

architecture: $(STAMP)
	$(BIN)/lint-imports

check: lint typecheck architecture test  ## everything CI checks

bench: $(STAMP)  ## benchmarks; prints the figures
	scripts/ensure-test-tools
	command -v ab >/dev/null || { [ "$$(id -u)" -ne 0 ] || DEBIAN_FRONTEND=noninteractive apt-get install -y apache2-utils >/dev/null; } || true
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) build *.egg-info
