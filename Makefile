# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || echo python3)
VENV := .venv
PY := $(VENV)/bin/python
DEMO_STAMP := data/demo/.built
export SM_FORMULA_ENGINE := formulaic

.PHONY: install data demo test test-fast lab pin lock clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || \
	  { echo "needs Python 3.11 (found $$($(PYTHON) --version)); set PYTHON=/path/to/python3.11"; exit 2; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip==25.3"
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

# The demo banks' tapes, built deterministically by pucredit.synth (rebuilt when the generator changes).
data: $(DEMO_STAMP)

$(DEMO_STAMP): $(VENV)/.installed $(wildcard pucredit/synth/*.py pucredit/synth/banks/*.yaml) \
               data/reference/lpr.csv parameters/policy/2024.yaml
	$(PY) -m pucredit synth
	touch $@

demo: data
	$(PY) -m pucredit demo

# Unit tests, then every notebook on the demo data; cells marked NBVAL_CHECK_OUTPUT must reproduce.
test: data
	$(PY) -m pytest tests notebooks --nbval-lax

# Everything but the notebook and batch executions (tests/e2e), in a few minutes.
test-fast: data
	$(PY) -m pytest tests -m "not slow"

# JupyterLab on notebooks/ with this environment as the kernel.
lab: data
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks

# Re-execute the notebooks on the demo data and store the outputs of the NBVAL_CHECK_OUTPUT cells
# (on purpose, after a change that moves the demo figures); all other cells stay without outputs.
pin: data
	$(PY) tools/pin_outputs.py notebooks/[0-9][0-9]_*.ipynb notebooks/peers.ipynb

# Re-resolve requirements.lock from pyproject.toml in a scratch environment (on purpose only).
lock:
	rm -rf /tmp/pucredit-lock && $(PYTHON) -m venv /tmp/pucredit-lock
	/tmp/pucredit-lock/bin/pip install --quiet --upgrade "pip==25.3"
	/tmp/pucredit-lock/bin/pip install --quiet ".[test]"
	/tmp/pucredit-lock/bin/pip freeze --exclude pucredit | sort -f > requirements.lock

clean:
	rm -rf $(VENV) reports data/demo/*.parquet data/demo/*.csv data/demo/*.json $(DEMO_STAMP)
