# One source of truth for installing, running and testing Lienzo.
#   make demo   install, then launch the web hub on the bundled model (http://127.0.0.1:7860)
#   make test   install, then run the whole test suite (installs Debian's chromium for the browser tests)
#   make bench  install, then measure (docs/BENCHMARKS.md)
#
# CPU install (the default) takes torch 2.13.0 from PyTorch's CPU index and pins it through constraints/cpu.txt,
# so pip never pulls the multi-GB CUDA build. GPU users: see README.md, "Installing torch: CPU by default, CUDA on
# GPU machines".

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TORCH ?= torch==2.13.0
# the CPU build comes from PyTorch's CPU index (PyPI's torch for Linux is the CUDA build, ~19 nvidia-* packages
# with it); where that index cannot be reached, pip's own configuration decides (a mirror that serves the CPU
# wheel, as on the CI machines)
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
CONSTRAINTS ?= constraints/cpu.txt
# pytest workers for `make test`, each test file on one worker so a module's shared server (Ray, Gradio) starts once.
# Two on the 2-core CI machines: 14 min against 21 min in one process (docs/BENCHMARKS.md, session 26). The thread
# policy (hub/threads.py) gives each worker's torch the cores the other leaves free.
TEST_WORKERS ?= 2

.PHONY: install demo test browser bench docs space clean

$(VENV)/.installed: pyproject.toml $(CONSTRAINTS)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade --quiet pip
	$(PY) -m pip install --quiet --retries 1 --timeout 15 --index-url $(TORCH_INDEX) $(TORCH) || $(PY) -m pip install --quiet $(TORCH)
	$(PY) -m pip install --quiet -c $(CONSTRAINTS) -e '.[dev]'
	touch $@

install: $(VENV)/.installed

demo: install
	$(VENV)/bin/lienzo serve

# The browser tests drive Debian's chromium through Playwright (no browser download).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

test: install browser
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	HF_HUB_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False $(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile

# The recorded artefacts (docs/screenshots/*.png, docs/edits.png, docs/bot-transcript*.md), redrawn by the tests that make them;
# a plain `make test` writes them to a temporary folder instead.
docs: install browser
	LIENZO_RECORD_DOCS=1 HF_HUB_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False $(PY) -m pytest -q tests/demos/test_browser.py \
	  tests/bots/test_bot.py::test_imagine_end_to_end_then_u2_then_vary \
	  tests/bots/test_bot.py::test_editing_buttons_region_zoom_pan_remix_settings_and_cancel \
	  tests/hub/test_edits.py::test_the_readmes_editing_strip

bench: install
	$(VENV)/bin/lienzo bench

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache

# A Space folder: spaces/ plus the packages it imports, ready for `hf upload <user>/<space> build/space .`
space:
	rm -rf build/space && mkdir -p build/space
	cp spaces/README.md spaces/app.py spaces/requirements.txt build/space/
	cp -r hub demos build/space/
	find build/space -name __pycache__ -prune -exec rm -rf {} +
	@echo "build/space is ready: hf upload <user>/<space> build/space . --repo-type space"
