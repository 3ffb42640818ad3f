# Set-up and everyday commands. Each target creates or refreshes .venv idempotently.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.garden-installed
XVFB   := xvfb-run -a -s '-screen 0 1280x1024x24'
DEMO_OUT ?= demo-output

# torch (the [gpu] extra) is installed by `make test` only: networks train on numpy on the CPU, so `make demo`
# needs no torch. Optional: an index for torch alone, e.g. PyTorch's CPU wheels on a machine without a GPU
# (no CUDA packages):
#   make test TORCH_INDEX=https://download.pytorch.org/whl/cpu
# Unset (the default), torch comes from pip's configured indexes like everything else; no other host is contacted.
TORCH_INDEX ?=
TORCH_PIN   := torch==2.13.0

.PHONY: venv demo test bench clean-venv

# `make demo` installs the core and the [neural] extra (the demo runs the scanner steps; no torch); `make test`
# everything.
DEMO_STAMP := $(VENV)/.garden-demo
venv: $(STAMP)

define install_torch
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet $(TORCH_PIN) $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
endef

$(DEMO_STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -e '.[neural]'
	touch $(DEMO_STAMP)

$(STAMP): pyproject.toml
	$(install_torch)
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(DEMO_STAMP)
	$(VENV)/bin/garden demo --runs-in $(DEMO_OUT)

# The official BIDS validator (npm, pinned by tools/bids-validator/package-lock.json) for the suite.
BIDS_VALIDATOR := tools/bids-validator/node_modules/.bin/bids-validator
$(BIDS_VALIDATOR): tools/bids-validator/package-lock.json
	bash scripts/system-deps.sh
	npm ci --prefix tools/bids-validator --no-audit --no-fund
	touch $@

# -n auto: one pytest-xdist worker per core, one thread each, and one more that runs only the browser and the
# SLURM tests, which mostly wait (tests/conftest.py, tests/xdist_schedule.py); the display tests run on one worker
# (docs/testing.md). Bytecode is written even where PYTHONDONTWRITEBYTECODE is set (as in many container images):
# else every worker and every `garden` subprocess or process pool compiles garden again, and every worker rewrites
# the test modules' asserts (about a third of a worker's collection; docs/testing.md).
test: $(STAMP) $(BIDS_VALIDATOR)
	bash scripts/system-deps.sh
	test -d experiment/web/node_modules || (cd experiment/web && npm ci --no-audit --no-fund)
	env -u PYTHONDONTWRITEBYTECODE $(XVFB) $(PY) -m pytest -q -n auto --dist loadgroup

bench: $(STAMP)
	$(PY) -m benchmarks

clean-venv:
	rm -rf $(VENV)
