# One source of truth for installing, running and testing Lienzo.
#   make test   install, then run the whole test suite
#   make bench  install, then measure (docs/BENCHMARKS.md)
# (`make demo`, the web hub on the bundled model, arrives with the web-hub issue.)
#
# CPU install (the default) pins torch to the 2.13.0 CPU build through constraints/cpu.txt so
# pip never pulls the multi-GB CUDA build. GPU users: see README.md, "GPU install".

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TORCH ?= torch==2.13.0
CONSTRAINTS ?= constraints/cpu.txt

.PHONY: install test bench clean

$(VENV)/.installed: pyproject.toml $(CONSTRAINTS)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade --quiet pip
	$(PY) -m pip install --quiet $(TORCH)
	$(PY) -m pip install --quiet -c $(CONSTRAINTS) -e '.[dev]'
	touch $@

install: $(VENV)/.installed

test: install
	HF_HUB_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False $(PY) -m pytest -q

bench: install
	$(VENV)/bin/lienzo bench

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
