# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || echo python3)
VENV := .venv
PY := $(VENV)/bin/python
export SM_FORMULA_ENGINE := formulaic

.PHONY: install demo test lock clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml requirements.lock
	@command -v $(PYTHON) >/dev/null || { echo "needs $(PYTHON) (Python 3.11) on PATH; set PYTHON=..."; exit 2; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip==25.3"
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

demo: install
	$(PY) -m pucredit demo

test: install
	$(PY) -m pytest

# Re-resolve requirements.lock from pyproject.toml in a scratch environment (on purpose only).
lock:
	rm -rf /tmp/pucredit-lock && $(PYTHON) -m venv /tmp/pucredit-lock
	/tmp/pucredit-lock/bin/pip install --quiet --upgrade "pip==25.3"
	/tmp/pucredit-lock/bin/pip install --quiet ".[test]"
	/tmp/pucredit-lock/bin/pip freeze --exclude pucredit | sort -f > requirements.lock

clean:
	rm -rf $(VENV) reports data/demo/*.parquet data/demo/*.csv
