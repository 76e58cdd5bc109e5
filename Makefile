# Two commands do all the set-up: `make demo` and `make test` create .venv and install what they need.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
export OPENBLAS_NUM_THREADS ?= 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1
PORT ?= 3000

.PHONY: demo test bench lint quality clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.serve-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[serve]"
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $@ $(VENV)/.serve-installed

demo: $(VENV)/.serve-installed  ## train the default model on synthetic data and serve it on 127.0.0.1:$(PORT)
	$(BIN)/recsys demo --port $(PORT)

test: lint  ## lint and type check, then unit + integration tests, benchmarks in quick mode
	RECSYS_BENCH_QUICK=1 $(BIN)/python -m pytest -q \
		--benchmark-min-rounds=3 --benchmark-max-time=0.05 --benchmark-warmup=off \
		--benchmark-columns=min,median,max,rounds

bench: $(VENV)/.dev-installed  ## full benchmark suites, JSON in benchmarks/results/
	mkdir -p benchmarks/results
	$(BIN)/python -m pytest benchmarks -q --benchmark-only \
		--benchmark-json=benchmarks/results/bench.json

quality: $(VENV)/.dev-installed  ## model comparison tables on synthetic and real data
	$(BIN)/python -m benchmarks.quality

lint: $(VENV)/.dev-installed  ## ruff (lint and format) and mypy over src
	$(BIN)/ruff check src tests benchmarks serving notebooks
	$(BIN)/ruff format --check src tests benchmarks serving notebooks
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache .benchmarks build src/*.egg-info
