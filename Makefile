# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip

.PHONY: demo docs test bench lint screenshots clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# Stamps record which extras are installed; they are redone when pyproject.toml changes.
$(VENV)/.installed-demo: pyproject.toml | $(PY)
	$(PIP) install --quiet -e '.[render,plot]'
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(PY)
	$(PIP) install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed-demo

NEURON := "tanh(x1*w1 + x2*w2 + b)" x1=2 x2=0 w1=-3 w2=1 b=6.8813735870195432

# micrograd's demo trained by the valuegrad command (runs/moons/report.html replays it),
# then the graph of one neuron, as a picture and as a page to step through. Everything
# goes to runs/ (ignored by git): the commands leave a clone unchanged.
demo: $(VENV)/.installed-demo
	$(VENV)/bin/valuegrad train --out runs/moons
	$(VENV)/bin/valuegrad graph $(NEURON) --out runs/neuron.svg
	$(VENV)/bin/valuegrad graph $(NEURON) --out runs/neuron.html

# The README's picture and page of the neuron, redrawn on purpose (their bytes depend
# on the renderer installed).
docs: $(VENV)/.installed-demo
	$(VENV)/bin/valuegrad graph $(NEURON) --out docs/neuron.svg
	$(VENV)/bin/valuegrad graph $(NEURON) --out docs/neuron.html

# Every test, and every notebook executed top to bottom. The page tests drive the
# system's Chromium (Debian: apt-get install -y --no-install-recommends chromium);
# without it they skip with that hint, and in CI (CI=true) they fail.
test: $(VENV)/.installed-dev
	$(PY) -m pytest tests notebooks --nbmake --nbmake-timeout=300

# The README's pictures of the two pages, taken in headless Chromium from the pages
# `make docs` and `make demo` write.
screenshots: docs demo $(VENV)/.installed-dev
	$(PY) tests/screenshots.py docs/neuron.html runs/moons/report.html docs

bench: $(VENV)/.installed-dev
	$(PY) -m bench

# The npm packages (the pages' linter, the site's browser packages), exactly as the
# lockfile pins them; installed again only when the lockfile changes.
node_modules/.installed: package-lock.json
	npm ci
	touch $@

lint: $(VENV)/.installed-dev node_modules/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	npx eslint .

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
