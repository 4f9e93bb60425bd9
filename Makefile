# Every target installs what it needs: a fresh machine needs only Python 3.11+, Node 20+ and
# Terraform >= 1.10 on PATH.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

PYTHON ?= python3
PIPENV_VERSION := 2026.10.3
PIPENV := $(PYTHON) -m pipenv
VENV_PYTHON := .venv/bin/python
# make test lowers the other Python tests' CPU priority (below); empty: unchanged.
NICE ?=
PYTEST_WORKERS ?= $(shell $(PYTHON) -c 'import os; print((os.cpu_count() or 1) + 1)')

export PIPENV_VENV_IN_PROJECT := 1
export PIPENV_YES := 1
export PIPENV_NOSPIN := 1
export PIPENV_VERBOSITY := -1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CHECKPOINT_DISABLE := 1

.PHONY: help install synth scan up down test test-unit test-python test-e2e test-rest test-handler bench bench-handler bench-api clean docs lint hooks

help:
	@echo "make up      install, deploy the whole stack on a local emulator, and serve its API on loopback (curl it)"
	@echo "make down    stop the local API, destroy the local deployment and stop the emulator"
	@echo "make test    install everything and run every test (Python and handler)"
	@echo "make hooks   install the pre-commit hooks (the same checks as make lint, before each commit)"
	@echo "make lint    ruff (lint + format check) on the Python, ESLint on the handler"
	@echo "make test-unit  the fast inner loop: synth assertions, guardrails, unit tests; no emulator, no terraform"
	@echo "make test-python  every Python test (test-e2e: the end-to-end chain; test-rest: the others)"
	@echo "make test-handler  the handler's node tests"
	@echo "make synth   synthesize only"
	@echo "make scan    synthesize, then run the checkov security gate"
	@echo "make docs    regenerate every generated file (tables, diagrams, the example plan review) from the code"
	@echo "make bench   benchmark synth wall time and peak memory, with and without the fast path"
	@echo "make bench-handler  benchmark the handler (cold start, p50/p95) against the emulator"
	@echo "make bench-api  after make up: requests per second and p50/p95 through the local API"
	@echo "make clean   remove build output (keeps .venv and node_modules)"

# The three installs side by side (a fresh machine spends most of a first `make test` on them).
install:
	$(MAKE) --no-print-directory -j3 .venv/.installed handler/node_modules/.installed node_modules/.installed

.venv/.installed: Pipfile.lock
	$(PIPENV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --user --quiet --disable-pip-version-check pipenv==$(PIPENV_VERSION)
	$(PIPENV) sync --dev
	touch $@

# The pinned cdktf CLI (cdktf synth/diff/deploy/destroy through npx).
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

handler/node_modules/.installed: handler/package.json handler/package-lock.json
	cd handler && npm ci --no-audit --no-fund
	mkdir -p handler/node_modules && touch $@

synth: install
	$(VENV_PYTHON) main.py
	@echo "synthesized: cdktf.out/stacks/ (one folder per stack, each with its cdk.tf.json)"

up: install
	$(VENV_PYTHON) -m local_cloud.up up

down: install
	$(VENV_PYTHON) -m local_cloud.up down

# Four jobs side by side, their output kept apart: lint; the handler's tests; the end-to-end
# chain, the critical path (it mostly waits on the provider), in a pytest of its own; and the other
# Python tests (a worker per core plus one; tests sharing an expensive fixture stay on one worker,
# tests/conftest.py) at a lower CPU priority, so they fill the chain's waits without slowing it
# (docs/performance.md).
test: install
	$(MAKE) --no-print-directory -j4 --output-sync=target lint test-handler test-e2e test-rest NICE="nice -n 10"

# Every Python test: the end-to-end chain beside the rest.
test-python: install
	$(MAKE) --no-print-directory -j2 --output-sync=target test-e2e test-rest

test-e2e: install
	$(VENV_PYTHON) -m pytest tests/e2e --durations=5

test-rest: install
	$(NICE) $(VENV_PYTHON) -m pytest -n $(PYTEST_WORKERS) --dist loadgroup --durations=15 --ignore=tests/e2e

# The same checks as .pre-commit-config.yaml. `ruff format .` fixes the format.
lint: install
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	cd handler && npm run --silent lint
	handler/node_modules/.bin/eslint -c handler/eslint.config.js tests/support/*.js local_cloud/*.js

hooks: install
	.venv/bin/pre-commit install

# The inner loop: everything not marked slow (tests/conftest.py), and the handler's unit tests.
test-unit: install
	$(VENV_PYTHON) -m pytest -m "not slow" -q -n $(PYTEST_WORKERS)
	cd handler && node --test test/parse.test.js test/store.test.js

test-handler: install
	cd handler && npm test

clean:
	rm -rf cdktf.out .build .pytest_cache

# The scan needs no state bucket: it synthesizes with a local backend.
scan: install
	STATE_BACKEND=local $(VENV_PYTHON) main.py
	$(VENV_PYTHON) -m review.security_scan

# Every generated file: the tables and diagrams in README.md and docs/ (tests/test_docs.py fails
# when they are stale), and the example plan review, rendered from a real plan on the emulator by
# the test that checks it.
docs: install
	$(VENV_PYTHON) -m dev_tools.docs
	UPDATE_DOCS=1 $(VENV_PYTHON) -m pytest -q tests/review/test_plan_review.py -k protection_switched_off

bench: install
	$(VENV_PYTHON) -m dev_tools.bench_synth

bench-handler: install
	cd handler && npm run --silent bench

# Needs `make up`: it benchmarks the local API of the deployment that left running.
bench-api: install
	$(VENV_PYTHON) -m dev_tools.bench_api
