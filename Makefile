# Roastbot: `make up` runs the whole system on the embedded defaults; `make test` runs every test.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Five pytest-xdist workers: tests/chaos on one, the cluster failovers on a second, every
# other file whole to a free one (tests/conftest.py). Most tests wait on servers and
# subprocesses, not the CPU: with five, the chaos runs (about 350 s one after another) are
# the run's critical path. The ports their stacks bind come from a block per worker
# (bench/ports.py), so stacks starting at once never pick the same one.
PYTEST_WORKERS ?= 5
# `make test CLUSTER_TESTS=0` leaves the cluster failovers out while working.
CLUSTER_TESTS ?= 1

.PHONY: up up-real down status test test-cluster test-cluster-ci test-fast bench quality lint venv deps

$(STAMP): requirements.txt pyproject.toml
	@command -v python3.11 >/dev/null || { echo "python3.11 is required"; exit 1; }
	test -x $(PY) || python3.11 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	# The package itself, editable: the `roastbot` command, and `streamlit run app/main.py` imports it.
	$(PY) -m pip install -q -e .
	touch $(STAMP)

venv: $(STAMP)

# System packages the project needs: Redis and (for browser tests) Chromium.
deps:
	@bash scripts/system-deps.sh

up: venv deps
	$(PY) scripts/services.py up
	$(PY) scripts/stack.py up

up-real: venv deps
	$(PY) scripts/services.py up
	$(PY) scripts/stack.py up --real

down:
	-$(PY) scripts/stack.py down
	-$(PY) scripts/services.py down

status:
	-$(PY) scripts/services.py status
	-$(PY) scripts/stack.py status

# With the lean cluster subset (marker cluster_ci, about 3 min here) on a worker of its own
# beside the chaos runs (tests/conftest.py): its failovers judge recovery by deadlines as the
# chaos runs do, one failover at a time on that worker, one private cluster at a time.
CLUSTER_SELECTION := $(if $(filter 0,$(CLUSTER_TESTS)),--ignore=tests/cluster,-m "not cluster or cluster_ci")
test: venv deps
	$(PY) scripts/services.py up
	$(PY) -m ruff check .
	$(PY) -m pytest -n $(PYTEST_WORKERS) $(CLUSTER_SELECTION) $(PYTEST_ARGS)

# tests/cluster (marker `cluster`), apart from `make test` (about 15 min on 2 loaded cores):
# the store, producer, consumer and console again on a private Redis Cluster (six
# redis-servers on 7120-7125), a primary killed under 2,000 mentions, and the leader broker of
# a private 3-node Kafka (19120-19122) killed under 2,000 mentions; all stopped afterwards.
test-cluster: venv deps
	$(PY) scripts/services.py up
	$(PY) -m pytest -m cluster tests/cluster $(PYTEST_ARGS)

# The lean subset of tests/cluster (marker `cluster_ci`): the Redis primary kill and the Kafka
# leader kill under 2,000 mentions each, every Lua script and MULTI of the code once on the
# Redis Cluster (test_multi_key_calls_on_cluster.py), and the wiring checks.
test-cluster-ci: venv deps
	$(PY) scripts/services.py up
	$(PY) -m pytest -m cluster_ci tests/cluster $(PYTEST_ARGS)

bench: venv deps
	$(PY) scripts/services.py up
	$(PY) bench/run.py $(BENCH_ARGS)

# Roast quality over the hand-written sets in tests/data/quality (no services needed; LLM
# roasters without a configured endpoint use the embedded LLM fake). E.g.
# make quality QUALITY_ARGS="--roaster together --set both"
quality: venv
	$(PY) bench/quality.py $(QUALITY_ARGS)
	$(PY) bench/roast_cpu.py

lint: venv
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
