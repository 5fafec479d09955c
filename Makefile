# Two entry points that work on a fresh machine with only Python 3.10+:
#   make demo   the whole instructor cycle on built-in sample submissions
#   make test   lint and type checks, then the full test suite (library, notebooks,
#               release, end-to-end grading)
# Both create .venv when it is missing and install the project into it.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.gradkit-installed
# nbgrader runs `alembic` by name: the venv's bin must be on PATH for every command.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: demo test test-unsandboxed lint bench release course-map install clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), "gradkit needs Python 3.10 or newer; found " + sys.version.split()[0]'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test,course,cluster]"
	@# An editable install does not place data files: enable the Jupyter extension explicitly.
	@mkdir -p $(VENV)/etc/jupyter/jupyter_server_config.d
	@cp jupyter-config/jupyter_server_config.d/gradkit.json $(VENV)/etc/jupyter/jupyter_server_config.d/
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/gradkit demo --dir demo-output

# ruff and mypy are installed by the `test` extra; their configuration is in pyproject.toml.
lint: $(STAMP)
	$(VENV)/bin/ruff check lib tests bench nbgrader_config.py conftest.py
	$(VENV)/bin/ruff format --check lib tests bench nbgrader_config.py conftest.py
	$(VENV)/bin/mypy

# The suite in TEST_WORKERS processes (pytest-xdist), each test file whole in one of them:
# module fixtures are built once, and a worker's temporary files and kernels are its own
# (conftest.py gives each worker its own TMPDIR). TEST_WORKERS=0 runs it in this process.
TEST_WORKERS ?= 2
XDIST = $(if $(filter 0,$(TEST_WORKERS)),-p no:xdist,-n $(TEST_WORKERS) --dist loadfile)

test: lint
	$(PY) -m pytest $(XDIST)

# The grading end-to-end tests once more as on a machine without bubblewrap (macOS, most
# laptops): GRADKIT_BWRAP names no bubblewrap, so grading goes through --no-sandbox and
# the tests that prove the sandbox skip; GRADKIT_EXPECT_NO_SANDBOX fails the run if the
# sandbox is found anyway. `.ci/run` runs this after `make test`.
GRADING_E2E := tests/test_grading_e2e.py tests/test_grading_class.py tests/test_grading_runs.py \
	tests/test_demo.py tests/test_term.py tests/test_canvas.py tests/test_exchange.py
test-unsandboxed: $(STAMP)
	env -u GRADKIT_REQUIRE_SANDBOX GRADKIT_BWRAP=/nonexistent/bwrap GRADKIT_EXPECT_NO_SANDBOX=1 \
		$(PY) -m pytest -p no:cacheprovider $(XDIST) $(GRADING_E2E)

# Benchmarks live outside the test suite (see bench/README.md).
bench: $(STAMP)
	$(PY) -m bench

release: $(STAMP)
	$(VENV)/bin/gradkit release

course-map: $(STAMP)
	$(PY) -m gradkit.course.coursemap > docs/course-map.md

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .mypy_cache .ruff_cache gradebook.db
