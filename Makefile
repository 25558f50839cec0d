# uuidpk developer tasks. On a fresh clone `make test` and `make demo` need nothing else:
# the first target that needs the virtualenv creates it.

PYTHON ?= python3.11
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed
BENCH_ARGS ?=
PYTEST_ARGS ?=

.PHONY: venv test lint fmt demo bench clean

venv: $(STAMP)

# Reinstall whenever pyproject.toml changes (new dependency, new entry point).
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || { echo "creating $(VENV) with $(PYTHON)"; $(PYTHON) -m venv $(VENV); }
	@echo "installing uuidpk[dev] into $(VENV) (editable)"
	@$(BIN)/python -m pip install -qq --disable-pip-version-check --upgrade pip
	@$(BIN)/python -m pip install -qq --disable-pip-version-check -e '.[dev]'
	@touch $@

test: venv
	$(BIN)/pytest $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy uuidpk

fmt: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

demo: venv
	$(BIN)/python -m uuidpk.demo

bench: venv
	$(BIN)/python tests/bench.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
