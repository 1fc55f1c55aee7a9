# Every target creates/reuses .venv and installs what it needs: the exact versions (and
# hashes) of requirements-dev.lock, then this package itself without resolving anything.
# pyproject.toml keeps open ranges for users; the lock pins the development and CI setup.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
LOCK := requirements-dev.lock

.PHONY: demo test test-fast lint bench lock clean

$(STAMP): pyproject.toml $(LOCK)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --require-hashes --no-deps -r $(LOCK)
	$(PY) -m pip install -q --no-deps -e .
	touch $(STAMP)

# Re-resolve the lock after changing dependencies in pyproject.toml (needs uv and PyPI):
# every platform and Python >= 3.11, with hashes; pins already in the lock are kept where
# they still fit. `make lock LOCK_FLAGS=--upgrade` moves everything to the newest versions.
lock: $(STAMP)
	test -x $(VENV)/bin/uv || $(PY) -m pip install -q uv
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 \
		--generate-hashes --quiet $(LOCK_FLAGS) -o $(LOCK)

demo: $(STAMP)
	$(VENV)/bin/concord-etl demo

# ruff (style), mypy (types) and import-linter (the layering in pyproject.toml)
lint: $(STAMP)
	$(VENV)/bin/ruff check concord_etl tests benchmarks
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache

test: lint
	$(PY) -m pytest -q

# the edit loop: skips the long kill -9 / big-file tests
test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow"

bench: $(STAMP)
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .import_linter_cache reports .demo
