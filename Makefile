# The whole setup on a fresh machine is `make plan` and `make test`; both bootstrap what they need.
SHELL := /bin/bash
STACK ?= staging
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
TOOLS_VENV := .venv-tools
PIP_FLAGS := -q --disable-pip-version-check
PYTEST_ARGS ?= -n 2

.PHONY: setup python-version tools-setup plan test lint golden docs bench charts preview up clean help

help:
	@echo "make plan [STACK=staging]   offline plan (mock runtime) + policy verdict"
	@echo "make test                   the whole test suite (unit, program, policy, scanners)"
	@echo "make lint                   ruff + mypy"
	@echo "make golden                 regenerate tests/golden/*.urns after a deliberate URN change"
	@echo "make docs                   regenerate Pulumi.yaml's config block and the README table from config.py"
	@echo "make bench                  offline plan time of production vs. bare SDK import time"
	@echo "make charts                 pull the pinned Helm charts into PLATFORM_CHARTS (needs the chart repositories)"
	@echo "make preview|up STACK=...   the real Pulumi CLI with the policy pack and its config"

setup: python-version $(VENV)/.installed

# One line, before anything is installed: some commands do not even import on Python 3.10.
python-version:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "error: Python 3.11+ is needed, $(PYTHON) is " + sys.version.split()[0] + "; run make PYTHON=python3.11 ...")'

# Idempotent: reinstalls only when a requirements file changed.
$(VENV)/.installed: requirements.txt requirements-dev.txt policies/requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install $(PIP_FLAGS) -r requirements-dev.txt
	@touch $@

tools-setup: $(TOOLS_VENV)/.installed

# External scanners live in their own virtualenv: their dependency trees clash with Pulumi's.
$(TOOLS_VENV)/.installed: requirements-tools.txt
	@test -x $(TOOLS_VENV)/bin/python || $(PYTHON) -m venv $(TOOLS_VENV)
	$(TOOLS_VENV)/bin/python -m pip install $(PIP_FLAGS) -r requirements-tools.txt
	@touch $@

plan: setup
	$(PY) -m tools plan $(STACK) $(ARGS)

test: setup tools-setup
	$(PY) -m pytest $(PYTEST_ARGS)

lint: setup
	$(PY) -m ruff check .
	$(PY) -m mypy

golden: setup
	$(PY) -m tools golden --write

docs: setup
	$(PY) -m tools docs --write

bench: setup
	$(PY) -m tools bench

# Charts are test inputs, never committed: the plan and the tests render them from this folder.
charts: setup
	$(PY) -m tools charts

define require_pulumi
	@command -v pulumi >/dev/null 2>&1 || { \
	  echo "error: the Pulumi CLI is not installed."; \
	  echo "  install it: curl -fsSL https://get.pulumi.com | sh   (or see https://www.pulumi.com/docs/install/)"; \
	  echo "  then: pulumi login && pulumi stack select $(STACK)"; \
	  echo "  offline, without the CLI: make plan STACK=$(STACK)"; exit 2; }
endef

preview: setup
	$(require_pulumi)
	@env=$$($(PY) -m tools facts $(STACK) environment) && \
	  echo "pulumi preview --stack $(STACK) (policy config: $$env)" && \
	  pulumi preview --stack $(STACK) --policy-pack policies --policy-pack-config policies/config/$$env.json $(ARGS)

up: setup
	$(require_pulumi)
	@env=$$($(PY) -m tools facts $(STACK) environment) && \
	  echo "pulumi up --stack $(STACK) --refresh (policy config: $$env)" && \
	  pulumi up --stack $(STACK) --refresh --policy-pack policies --policy-pack-config policies/config/$$env.json $(ARGS)

clean:
	rm -rf $(VENV) $(TOOLS_VENV) .pytest_cache .ruff_cache .mypy_cache
