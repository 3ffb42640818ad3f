# Set-up and everyday commands. Each target creates or refreshes .venv idempotently.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.garden-installed
XVFB   := xvfb-run -a -s '-screen 0 1280x1024x24'
DEMO_OUT ?= demo-output

.PHONY: venv demo test bench clean-venv

venv: $(STAMP)

# torch is pinned and installed first: an open range would pull a multi-GB CUDA build.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/garden demo --runs-in $(DEMO_OUT)

# The official BIDS validator (npm, pinned by tools/bids-validator/package-lock.json) for the suite.
BIDS_VALIDATOR := tools/bids-validator/node_modules/.bin/bids-validator
$(BIDS_VALIDATOR): tools/bids-validator/package-lock.json
	bash scripts/system-deps.sh
	npm ci --prefix tools/bids-validator --no-audit --no-fund
	touch $@

# -n auto: one pytest-xdist worker per core; tests/conftest.py groups the display and browser tests on one worker
test: $(STAMP) $(BIDS_VALIDATOR)
	bash scripts/system-deps.sh
	test -d experiment/web/node_modules || (cd experiment/web && npm ci --no-audit --no-fund)
	$(XVFB) $(PY) -m pytest -q -n auto --dist loadgroup

bench: $(STAMP)
	$(PY) -m benchmarks

clean-venv:
	rm -rf $(VENV)
