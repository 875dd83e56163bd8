# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || echo python3)
VENV := .venv
PY := $(VENV)/bin/python
DEMO_STAMP := data/demo/.built
export SM_FORMULA_ENGINE := formulaic

.PHONY: install data notebooks demo test test-fast test-spark lab lock clean

install: $(VENV)/.installed

# The package supports Python 3.11-3.13 (pyproject.toml); this development venv is pinned to 3.11, the
# version requirements.lock was resolved on and CI runs.
$(VENV)/.installed: pyproject.toml requirements.lock etc/ipython/ipython_kernel_config.py
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || \
	  { echo "needs Python 3.11 (found $$($(PYTHON) --version)); set PYTHON=/path/to/python3.11"; exit 2; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip==25.3"
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -e .
	mkdir -p $(VENV)/etc/ipython && cp etc/ipython/ipython_kernel_config.py $(VENV)/etc/ipython/
	touch $@

# The demo banks' tapes, built deterministically by pucredit.synth (rebuilt when the generator changes).
data: $(DEMO_STAMP)

$(DEMO_STAMP): $(VENV)/.installed $(wildcard pucredit/synth/*.py pucredit/synth/banks/*.yaml) \
               data/reference/lpr.csv parameters/policy/2024.yaml
	$(PY) -m pucredit synth
	touch $@

demo: data
	$(PY) -m pucredit demo

# The notebooks are jupytext text files (notebooks/*.py, the files to edit and review); their .ipynb
# twins are generated here, paired, so JupyterLab opens them and saves both.
notebooks: $(VENV)/.installed
	$(VENV)/bin/jupytext --quiet --to ipynb notebooks/[0-9][0-9]_*.py notebooks/peers.py

# Unit, known-truth and end-to-end tests, then every notebook run top to bottom on the demo data (nbval).
test: data notebooks
	$(PY) -m pytest tests notebooks --nbval-lax -m "not spark"

# The Spark backend against DuckDB on a small tape: installs pucredit[spark] (pyspark, about 490 MB; Java 17 needed).
test-spark: $(VENV)/.installed
	$(PY) -m pip install --quiet -r requirements-spark.lock
	$(PY) -m pytest tests -m spark

# Everything but the notebook and batch executions (tests/e2e), in a few minutes.
test-fast: data
	$(PY) -m pytest tests -m "not slow"

# JupyterLab on notebooks/ with this environment as the kernel.
lab: data notebooks
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root)

# Re-resolve requirements.lock from pyproject.toml in a scratch environment (on purpose only).
lock:
	rm -rf /tmp/pucredit-lock && $(PYTHON) -m venv /tmp/pucredit-lock
	/tmp/pucredit-lock/bin/pip install --quiet --upgrade "pip==25.3"
	/tmp/pucredit-lock/bin/pip install --quiet ".[test]"
	/tmp/pucredit-lock/bin/pip freeze --exclude pucredit | sort -f > requirements.lock

clean:
	rm -rf $(VENV) reports data/demo/*.parquet data/demo/*.csv data/demo/*.json $(DEMO_STAMP)
