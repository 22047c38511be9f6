# Dev loop for argusai.resilience. Every target bootstraps what it needs (idempotent).
#   make test   = lint sanity unit integration molecule      (what CI runs via .ci/run)
#   make demo   = set up Docker + test image, run the demo playbook (RUNTIME=podman: against Podman)
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

ROOT := $(CURDIR)
VENV := $(ROOT)/.venv
BIN  := $(VENV)/bin
PY   := $(BIN)/python

# Ansible must use this repo's config and see this collection, from any cwd.
export ANSIBLE_CONFIG := $(ROOT)/ansible.cfg
export ANSIBLE_COLLECTIONS_PATH := $(ROOT)/build/collections
ifdef CI
export ANSIBLE_NOCOLOR := 1
export NO_COLOR := 1
export PY_COLORS := 0
endif
export PATH := $(BIN):$(PATH)
export PYTHONDONTWRITEBYTECODE := 1

PYTEST_ARGS ?=
ERRORS_COV_MIN ?= 90
# Python files ruff checks (only paths that exist yet).
RUFF_PATHS = $(wildcard plugins tests benchmarks) $(wildcard scripts/*.py)

.PHONY: help venv docker sshd pipeline-tools lint sanity unit integration molecule compat test bench demo changelog clean distclean

help:
	@echo "targets: venv docker podman lint sanity unit integration integration-podman molecule chaos compat test bench demo reliability-doc changelog clean distclean"

venv:
	@bash scripts/bootstrap.sh

docker:
	@bash scripts/ensure_docker.sh
	@bash scripts/ensure_test_image.sh

# Podman's Docker-compatible API on PODMAN_SOCK, installed and started when missing, with the test
# image. RUNTIME=podman makes `make demo` run against it.
.PHONY: podman integration-podman
RUNTIME ?= docker
PODMAN_SOCK ?= /run/argus-podman.sock
ifeq ($(filter $(RUNTIME),docker podman),)
$(error RUNTIME=$(RUNTIME): expected docker or podman)
endif
RUNTIME_ENV := $(if $(filter podman,$(RUNTIME)),DOCKER_HOST=unix://$(PODMAN_SOCK))
podman:
	@ARGUS_PODMAN_SOCK=$(PODMAN_SOCK) bash scripts/ensure_podman.sh

lint: venv
	@echo "== ruff"
	$(BIN)/ruff check $(RUFF_PATHS)
	$(BIN)/ruff format --check $(RUFF_PATHS)
	@echo "== ansible-lint"
	$(BIN)/ansible-lint
	@echo "== antsibull-changelog lint"
	$(BIN)/antsibull-changelog lint

sanity: venv
	@bash scripts/sanity.sh

# pytest exit code 5 = "no tests collected": fine while a suite has no tests yet.
unit: venv
	@if [[ -z "$$(find tests/unit -name 'test_*.py' 2>/dev/null)" ]]; then \
	    echo "unit: no tests in tests/unit yet - nothing to run"; exit 0; fi; \
	rc=0; $(BIN)/pytest tests/unit --cov --cov-branch --cov-report=term-missing $(PYTEST_ARGS) || rc=$$?; \
	if [[ $$rc -ne 0 && $$rc -ne 5 ]]; then exit $$rc; fi; \
	if [[ -f plugins/module_utils/errors.py ]]; then \
	    echo "== coverage of plugins/module_utils/errors.py (min $(ERRORS_COV_MIN)%)"; \
	    $(BIN)/coverage report --include='*/plugins/module_utils/errors.py' --fail-under=$(ERRORS_COV_MIN); fi

# redis-server, community.general's redis cache plugin, ansible-runner: tests/integration/test_breaker_pipelines.py
pipeline-tools: venv
	@bash scripts/ensure_pipeline_tools.sh

# openssh-server for the second Docker host of tests/integration/remote_host.py; ip/nsenter for
# the controllers in network namespaces of tests/integration/test_daemon_state.py
sshd:
	@bash scripts/ensure_sshd.sh
	@bash scripts/ensure_netns.sh

integration: venv docker pipeline-tools sshd
	@if [[ -z "$$(find tests/integration -name 'test_*.py' 2>/dev/null)" ]]; then \
	    echo "integration: no tests in tests/integration yet - nothing to run"; exit 0; fi; \
	rc=0; $(BIN)/pytest tests/integration $(PYTEST_ARGS) || rc=$$?; \
	if [[ $$rc -ne 0 && $$rc -ne 5 ]]; then exit $$rc; fi

# The integration tests that matter for a runtime, against Podman (ARGUS_RUNTIME in
# tests/integration/conftest.py; tests/integration/podman_pending.py marks what cannot hold there yet).
PODMAN_TESTS ?= $(addprefix tests/integration/,test_container_guard.py test_port_resolve.py \
	test_network_verify.py test_orphan_clean.py test_role_setup.py test_runtime_setup.py)
integration-podman: venv docker podman
	ARGUS_RUNTIME=podman ARGUS_PODMAN_SOCK=$(PODMAN_SOCK) $(BIN)/pytest $(PODMAN_TESTS) $(PYTEST_ARGS)

molecule: venv docker
	@if ! ls extensions/molecule/*/molecule.yml >/dev/null 2>&1; then \
	    echo "molecule: no scenario under extensions/molecule yet - nothing to run"; exit 0; fi; \
	cd extensions && $(BIN)/molecule test --all

test: lint sanity unit integration integration-podman molecule chaos compat
	@echo "make test: all stages passed"

# Unit + integration tests on the oldest and newest supported ansible-core (2.17 on Python 3.11,
# 2.21 on Python 3.13), each in its own venv (.venv-2.17, .venv-2.21), built once. COMPAT=2.17 for one.
compat: venv docker
	@bash scripts/compat.sh $(COMPAT)

# Every benchmarks/bench_*.py at its default size (a couple of minutes each); the FIGURE lines are the
# goals (docs/performance.md).
bench: venv docker
	@shopt -s nullglob; files=(benchmarks/bench_*.py); \
	if [[ $${#files[@]} -eq 0 ]]; then echo "bench: no benchmarks yet"; exit 0; fi; \
	for f in "$${files[@]}"; do echo "== $$f"; $(PY) "$$f"; done

DEMO_PROJECT ?= argus-demo
DEMO_ARGS ?=
demo: venv docker $(RUNTIME)
	$(RUNTIME_ENV) $(BIN)/ansible-playbook examples/demo/demo.yml -e argus_project=$(DEMO_PROJECT) $(DEMO_ARGS)

changelog: venv
	$(BIN)/antsibull-changelog lint

clean:
	rm -rf build .cache tests/output .pytest_cache .ruff_cache .coverage .coverage.* coverage.xml htmlcov
	find . -name __pycache__ -type d -not -path './.venv/*' -prune -exec rm -rf {} +

distclean: clean
	rm -rf .venv

# Reliability suite (tests/chaos, issue 9): faults injected against a private dockerd of its own
# and the real engine. Needs root (ip netns, a second dockerd). Its measurements go to
# build/reliability.json; `make reliability-doc` runs it writing docs/reliability.json instead and
# renders docs/reliability.md (scripts/gen_reliability_doc.py).
.PHONY: chaos reliability-doc
CHAOS_ARGS ?=
RELIABILITY_JSON ?= $(ROOT)/build/reliability.json
chaos: venv docker
	ARGUS_RELIABILITY_JSON=$(RELIABILITY_JSON) $(BIN)/pytest tests/chaos -p no:cacheprovider -W ignore::ResourceWarning $(CHAOS_ARGS)

reliability-doc: venv docker
	@rc=0; $(MAKE) --no-print-directory chaos RELIABILITY_JSON=$(ROOT)/docs/reliability.json || rc=$$?; \
	$(PY) scripts/gen_reliability_doc.py; exit $$rc
