# Every target bootstraps its own virtual environment on a fresh machine (only Python 3.11 + pip needed).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
EXTRAS ?= torch,export,boost,ngboost,bo,sql,postgres,ray,peers,parquet,report,dev

.PHONY: run test test-all bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[$(EXTRAS)]"
	touch $@

run: $(VENV)/.installed
	$(VENV)/bin/nasforge search

test: $(VENV)/.installed
	$(PY) -m pytest -q -m "not slow"

bench: $(VENV)/.installed
	$(PY) benchmarks/strategies_nb201.py --out bench-results/make-bench  # not the committed benchmarks/results

test-all: $(VENV)/.installed
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) build *.egg-info
