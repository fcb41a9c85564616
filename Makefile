# Two entry points that work on a fresh machine with only Python 3.10+ and make:
#   make run   - create .venv, install jaxcraft, train experiments/quickstart.py and evaluate it on unseen worlds
#   make test  - create .venv, install the test extras, run the test-suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip --disable-pip-version-check -q
RUN_ARGS ?=
PYTEST_ARGS ?=

.PHONY: run test bench install clean

$(VENV)/.base: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -e . 2>&1 | grep -v "is ignored: it is neither" || true
	$(BIN)/python -c "import jaxcraft, jax, flax, optax, orbax.checkpoint"
	touch $@

$(VENV)/.test: $(VENV)/.base
	$(PIP) install -e '.[test]' 2>&1 | grep -v "is ignored: it is neither" || true
	$(BIN)/python -c "import pytest, xdist, gymnax, crafter, matplotlib"
	touch $@

install: $(VENV)/.base

# The main job: train the goal-conditioned agent on cross-view approach tasks (~15 min on 2 CPU
# cores), then evaluate it and a random policy on the same *unseen* tasks (held-out seeds and biomes).
EVAL_ARGS ?= --split unseen --families approach --distances 20 --episodes 100 --max-steps 300
run: $(VENV)/.base
	$(BIN)/jaxcraft train experiments/quickstart.py $(RUN_ARGS)
	$(BIN)/jaxcraft eval runs/quickstart $(EVAL_ARGS) --videos 2 --out runs/quickstart/eval_unseen
	$(BIN)/jaxcraft eval random --experiment experiments/quickstart.py $(EVAL_ARGS) --out runs/quickstart/eval_unseen_random

test: $(VENV)/.test
	$(BIN)/python -m pytest -q -n 2 --dist loadfile $(PYTEST_ARGS)

bench: $(VENV)/.test
	$(PIP) install -e '.[bench]' 2>&1 | grep -v "is ignored: it is neither" || true
	$(BIN)/python benchmarks/ppo_throughput.py

clean:
	rm -rf $(VENV) runs .pytest_cache
