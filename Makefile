# The two set-up commands: `make run` (virtualenv, install, baseline run, figures) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench figures clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/trustsim run --out results/baseline --force

test: $(STAMP)
	$(BIN)/ruff check sim tests experiments
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check sim tests experiments

bench: $(STAMP)
	$(BIN)/python experiments/benchmark.py

figures: $(STAMP)
	$(BIN)/python experiments/stylized_facts.py --out docs/figures

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
