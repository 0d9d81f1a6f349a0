# Two commands from a fresh clone: `make demo` and `make test`.
# Each creates .venv itself and installs everything it needs (no weights or data
# are downloaded; torch/torchvision come from requirements-dev.txt).
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint format docs bench-smoke clean

$(STAMP): pyproject.toml requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/noisyactive demo --out noisyactive-report

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest; rc=$$?; if [ $$rc -eq 5 ]; then echo "pytest: no tests collected"; exit 0; fi; exit $$rc

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# SPHINXOPTS="-D plot_gallery=0" builds every page without running the gallery's
# examples (.ci/run does: tests/test_examples.py runs them already).
SPHINXOPTS ?=
docs: $(STAMP)
	$(BIN)/python -m pip install --quiet -e .[docs]
	$(BIN)/python -m sphinx -W --keep-going $(SPHINXOPTS) -b html docs docs/_build/html

bench-smoke: $(STAMP)
	$(BIN)/python benchmarks/run_benchmark.py --config digits --smoke
	$(BIN)/python benchmarks/bench_speed.py --smoke

clean:
	rm -rf $(VENV) docs/_build docs/auto_examples noisyactive-report
