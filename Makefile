# The two set-up commands: `make run` (virtualenv, install, baseline run, figures) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

VENV35 ?= .venv-mesa35
# a Python 3.12 that actually runs (a pyenv shim may exist without one behind it)
PY312 := $(shell for p in python3.12 $(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python3.12); \
	do if $$p -c "" >/dev/null 2>&1; then echo $$p; break; fi; done)

.PHONY: run test test-fast test-mesa35 lint bench figures results calibration frontier notebooks clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/trustsim run scenarios/baseline.yaml --out results/baseline --force

test: $(STAMP)
	$(BIN)/ruff check sim tests experiments
	$(BIN)/python -m pytest -q
	@if [ -n "$(PY312)" ]; then $(MAKE) --no-print-directory test-mesa35; \
	else echo "python3.12 not found: the Mesa 3.5 check is skipped"; fi

# The quick check while editing (well under 2 minutes on 2 cores): ruff, then the unit and property
# tests, in-process; no subprocess, notebook, browser or canonical-results test (the `integration`
# marker, tests/conftest.py) and no `slow` one. `make test` runs those too.
test-fast: $(STAMP)
	$(BIN)/ruff check sim tests experiments
	$(BIN)/python -m pytest -q -p no:cacheprovider -m "not integration and not slow"

# Python 3.12 resolves Mesa 3.5: the model's tests, the app's browser test and the Python API
# (Mesa's run_model, batch_run and agent reporters) again there, with Mesa's warnings as errors.
test-mesa35:
	[ -x $(VENV35)/bin/python ] || $(PY312) -m venv $(VENV35)
	$(VENV35)/bin/pip install --quiet -e ".[dev]"
	$(VENV35)/bin/python -m pytest -q -p no:cacheprovider -W error::DeprecationWarning \
		-W error::FutureWarning -W error::PendingDeprecationWarning \
		tests/test_model.py tests/test_breaches.py tests/test_campaigns.py tests/test_control.py \
		tests/test_mandates.py tests/test_network.py tests/test_sharing.py tests/test_trust.py \
		tests/test_stylized_facts.py tests/test_app.py tests/test_api.py

lint: $(STAMP)
	$(BIN)/ruff check sim tests experiments

bench: $(STAMP)
	$(BIN)/python experiments/benchmark.py

figures: $(STAMP)
	$(BIN)/python experiments/stylized_facts.py --out docs/figures
	$(BIN)/trustsim run scenarios/gp_records.yaml --out results/gp_records --force --quiet
	cp results/gp_records/opt_out.png docs/figures/gp_records_opt_out.png
	$(BIN)/trustsim compare scenarios/breach_shock.yaml scenarios/citizen_control.yaml \
		--out results/compare_citizen_control --force --quiet
	cp results/compare_citizen_control/comparison.png docs/figures/compare_citizen_control.png
	TRUSTSIM_SCREENSHOT=docs/figures/app.png $(BIN)/python -m pytest -q tests/test_app.py

# The small canonical results of results/README.md; tests/test_results.py checks they are current.
results: $(STAMP)
	$(BIN)/trustsim run scenarios/baseline.yaml --out results/baseline --force --quiet
	$(BIN)/python experiments/case_studies.py --out results/case_studies --citizens 5000 \
		--replicates 5 --workers 2 --force --quiet
	$(BIN)/python experiments/morris_screening.py --quick --out results/morris_quick --force --quiet
	$(BIN)/python experiments/sobol_indices.py --quick --out results/sobol_quick --workers 2 \
		--force --quiet

# The GP 2021 calibration of results/README.md (about half an hour on 2 cores; rerunning resumes
# in its folder). Not part of `results`: tests/test_calibration.py checks the committed folder.
calibration: $(STAMP)
	$(BIN)/trustsim calibrate experiments/specs/calibration_gp2021.yaml --out results/calibration \
		--workers 2

# The two policy frontiers (results/README.md; a few minutes each on 2 cores) and their figures in
# docs/findings.md. POSTERIOR=results/calibration adds bands from DRAWS parameter sets drawn from
# a calibration posterior (the committed frontiers: 4 draws).
POSTERIOR ?=
DRAWS ?= 4
FRONTIER_FLAGS := --workers 2 --force --quiet $(if $(POSTERIOR),--posterior $(POSTERIOR) --draws $(DRAWS))
frontier: $(STAMP)
	$(BIN)/trustsim frontier experiments/specs/frontier_baseline.yaml --out results/frontier_baseline \
		$(FRONTIER_FLAGS)
	$(BIN)/trustsim frontier experiments/specs/frontier_gp2021.yaml --out results/frontier_gp2021 \
		$(FRONTIER_FLAGS)
	cp results/frontier_baseline/frontier.png docs/figures/frontier_baseline.png
	cp results/frontier_gp2021/frontier.png docs/figures/frontier_gp2021.png

# Execute the notebooks in place at their default sizes (after `make results`: 04 reads them;
# 05 reads the frontiers of `make frontier`).
notebooks: $(STAMP)
	cd notebooks && env -u TRUSTSIM_NOTEBOOK_CITIZENS -u TRUSTSIM_NOTEBOOK_REPLICATES \
		../$(BIN)/jupyter execute --inplace --kernel_name=python3 *.ipynb

# The documentation site (mkdocs.yml) into build/site/, offline; --strict: any warning fails it
# (tests/test_docs.py builds it too). NO_MKDOCS_2_WARNING silences the theme's notice about MkDocs 2.
.PHONY: docs
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir build/site

clean:
	rm -rf $(VENV) $(VENV35) .pytest_cache .ruff_cache
