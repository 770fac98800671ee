# dealer360: `make demo` and `make test` on a fresh clone with only Python 3.11+ and make.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
# Use a uv already on PATH; otherwise bootstrap a private one into .tools/.
UV := $(or $(shell command -v uv 2>/dev/null),.tools/bin/uv)
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)
# Compile every installed module once, at install: where PYTHONDONTWRITEBYTECODE is set (CI,
# containers) each process would otherwise compile dagster, dbt and pandas from source at
# start, about half the CPU of importing the pipeline (docs/benchmarks.md, "Start-up").
export UV_COMPILE_BYTECODE := 1

DEMO_DIR ?= demo
DEMO_PEOPLE ?= 3000
DEMO_SEED ?= 42

.PHONY: install test test-system-deps lint format demo dashboard bench-install clean

install: $(VENV)/.installed

.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet "uv==$(UV_VERSION)"

$(VENV)/.installed: pyproject.toml uv.lock | $(UV)
	$(UV) sync --locked --python $(PYTHON)
	touch $@

# Debian packages the tests drive: a real Chromium for browser tests and docker-compose to
# validate docker-compose.yml. Installed only when missing.
test-system-deps:
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v docker-compose >/dev/null || missing="$$missing docker-compose"; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

# Two workers: most tests wait on PostgreSQL, dbt or a browser, so two share two cores well
# (tests/conftest.py keeps each file, and the dashboard's files, on one worker).
test: install test-system-deps
	$(BIN)/pytest -n 2 --dist loadgroup

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

demo: install
	$(BIN)/dealer360 generate --out $(DEMO_DIR)/inbox --people $(DEMO_PEOPLE) --seed $(DEMO_SEED)
	$(BIN)/dealer360 run --inbox $(DEMO_DIR)/inbox
	$(BIN)/dealer360 dashboard

dashboard: install
	$(BIN)/dealer360 dashboard

bench-install: install
	$(UV) sync --locked --python $(PYTHON) --group bench

clean:
	rm -rf $(VENV) .tools .pytest_cache .ruff_cache dbt_project/target dbt_project/logs
