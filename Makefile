# Two commands do all the set-up on a fresh machine (see README.md):
#   make run    train makemore briefly, print losses, sample 20 names, draw one step's graph
#   make test   the whole test suite, torch as the oracle, the real `dot` for pictures and a
#               headless Chromium for the step-through page
# Everything goes into a local virtual environment (.venv); graphviz's `dot` and chromium come
# from apt.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
OUT ?= out
# apt-get needs root; use sudo where we are not root and sudo exists.
SUDO := $(shell [ "$$(id -u)" -ne 0 ] && command -v sudo)

.PHONY: run full test parity-levels bench bench-smoke dot chromium venv clean

$(VENV)/.base: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[viz,plot]'
	touch $@

# torch is pinned: an unpinned `torch` pulls a multi-GB CUDA build.
$(VENV)/.test: $(VENV)/.base
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[viz,test]'
	touch $@

venv: $(VENV)/.base

dot:
	@command -v dot >/dev/null || { $(SUDO) apt-get update -qq && \
	  $(SUDO) apt-get install -y -qq --no-install-recommends graphviz; }

# Headless Chromium from Debian's packages: the test of the backward step-through page
# (tests/test_steps.py) drives it over the DevTools protocol; no driver, no browser download.
chromium:
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -qq && \
	  $(SUDO) apt-get install -y -qq --no-install-recommends chromium; }

run: $(VENV)/.base dot
	$(PY) -m models.makemore train --out $(OUT)

full: $(VENV)/.base dot
	$(PY) -m models.makemore train --full --out $(OUT)

# MINIGRAD_VERDICT_STATS: the last line says how many float32 comparisons ran, and how close
# minigrad's float32 error came to the verdict's bound (tests/conftest.py).
test: $(VENV)/.test dot chromium
	MINIGRAD_VERDICT_STATS=1 $(PY) -m pytest

# The float32 parity tests once per SIMD kernel level numpy and torch offer on this CPU.
parity-levels: $(VENV)/.test
	bash tests/kernel_levels.sh $(PY)

bench: $(VENV)/.test
	$(PY) -m benchmarks.step

bench-smoke: $(VENV)/.test
	$(PY) -m benchmarks.step --quick

clean:
	rm -rf $(VENV) $(OUT)
