# abs_engine — everything starts from a fresh machine with Python 3.11 and make.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
SAMPLE := pools/sample_pool.parquet

.PHONY: demo test bench lint format typecheck clean sample docs

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# The stamps re-install when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@ $(VENV)/.installed

$(SAMPLE): | $(VENV)/.installed
	$(BIN)/abs-engine sample-pool --n 100000 --seed 7 --out $(SAMPLE)

sample: $(SAMPLE)

## demo: the sample deal end to end (tape -> strats -> projection)
demo: $(VENV)/.installed $(SAMPLE)
	$(BIN)/abs-engine demo --pool $(SAMPLE) --out outputs

## test: the whole test suite (what CI runs)
test: $(VENV)/.installed-dev
	$(BIN)/pytest -n auto -q

## bench: performance ratios, recorded by hand in benchmarks/RESULTS.md
bench: $(VENV)/.installed-dev
	$(PY) -m benchmarks

## docs: regenerate the reference pages that are generated from the code (tests check them)
docs: $(VENV)/.installed
	$(PY) -c "from abs_engine.deal.schema import render_markdown; print(render_markdown(), end='')" > docs/deal-spec.md

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(VENV)/.installed-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache .pytest_cache
