# One entry point for newcomers and CI. Every target sets up .venv itself.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
# The browser tests use Debian's Chromium: Playwright must never fetch a browser of its own.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1
SOURCES := $(shell find sse_fast adapters -name '*.py' -o -name '*.pyx' -o -name '*.pxd' -o -name '*.pyi') \
           setup.py pyproject.toml constraints.txt

.PHONY: install browser redis test lint typecheck pytest compat unit screenshot coverage bench annotate demo wheel clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip "setuptools>=77" "Cython>=3.1,<4"

# The package is installed (not imported from the work tree), extension included:
# SSE_FAST_REQUIRE_EXTENSIONS=1 makes a failed compile fail here.
$(VENV)/.installed: $(BIN)/python $(SOURCES)
	SSE_FAST_REQUIRE_EXTENSIONS=1 $(BIN)/python -m pip install --quiet \
		--no-build-isolation -c constraints.txt ".[test,lint,bench,e2e]"
	touch $@

install: $(VENV)/.installed

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	PATH="$(BIN):$$PATH" cython-lint --max-line-length 100 sse_fast/*.pyx sse_fast/*.pxd

typecheck: install
	$(BIN)/mypy
	cd / && $(abspath $(BIN))/python -m mypy.stubtest sse_fast._framing_c sse_fast._decoder_c \
		--allowlist $(abspath .ci/stubtest-allowlist.txt)

# Debian's Chromium for tests/e2e, installed when missing (CI runs as root). Without it
# the browser tests fail rather than skip.
browser:
	@command -v chromium >/dev/null || (apt-get update && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y --no-install-recommends chromium fonts-dejavu-core)

# Debian's redis-server for the broker's Redis tests, installed when missing. Without it
# they skip locally and fail under CI=true.
redis:
	@command -v redis-server >/dev/null || (apt-get update && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y --no-install-recommends redis-server) || test "$$CI" != true

# With coverage of the installed package (servers the tests start included); the floor
# is fail_under in pyproject.toml's [tool.coverage.report].
pytest: install browser redis
	rm -rf build/coverage && mkdir -p build/coverage
	COVERAGE_FILE=$(CURDIR)/build/coverage/.coverage \
		$(BIN)/pytest tests benchmarks --benchmark-disable --cov --cov-report=term

test: lint typecheck pytest compat

# The peers' own test suites (sse-starlette 3.7.0, aiohttp-sse 3.0, FastAPI's SSE tests; sdists downloaded at
# run time) against sse_fast's adapters; fails on a failure outside compat/compat_expected.py
# or on a listed test that passes. Their test plugins go to build/compat/deps, on the path
# only for these runs.
COMPAT_DEPS := build/compat/deps
$(COMPAT_DEPS)/.installed: compat/requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --no-deps --target $(COMPAT_DEPS) -r compat/requirements.txt
	touch $@

compat: install $(COMPAT_DEPS)/.installed
	$(BIN)/python compat/run.py
	$(BIN)/python compat/fastapi/run.py

# The fast tests: no browser, no root, no servers (conftest.py marks the tests that
# start one `server`, and those under tests/e2e `browser`).
unit: install
	$(BIN)/pytest tests -m "not server and not browser and not redis"

# The README's screenshot: the browser test writes build/demo.png, copied on purpose.
screenshot: install browser
	$(BIN)/pytest tests/e2e/test_browser.py -k screenshot
	cp build/demo.png docs/demo.png

# The compiled twins' line coverage: built in place with Cython line tracing (so the
# work tree's sse_fast is imported, by PYTHONPATH), the twin tests run on them, and
# Cython's coverage plugin maps the lines back to the .pyx files. The in-place build is
# removed afterwards, so that nothing shadows the installed package.
TWIN_TESTS := tests/test_encode.py tests/test_event.py tests/test_validation.py \
	tests/test_properties.py tests/test_decoder.py tests/test_decoder_properties.py \
	tests/test_decoder_resources.py tests/test_twin_parity.py tests/test_threads.py
coverage: install
	mkdir -p build/coverage
	SSE_FAST_LINETRACE=1 SSE_FAST_REQUIRE_EXTENSIONS=1 $(BIN)/python setup.py --quiet \
		build_ext --inplace --force --build-temp build/coverage/temp
	PYTHONPATH=$(CURDIR) $(BIN)/python -m pytest $(TWIN_TESTS) -p no:cacheprovider -q \
		--no-header --cov --cov-config=.ci/coveragerc-cython --cov-report=term \
		|| (rm -f sse_fast/*_c.*.so sse_fast/*_c.c; exit 1)
	rm -f sse_fast/*_c.*.so sse_fast/*_c.c

# A round of at least 0.2 ms: with the default, pytest-benchmark times a 40 ns call
# once per round and mostly measures its own timer.
bench: install
	$(BIN)/pytest benchmarks --benchmark-only --benchmark-min-time=0.0002 \
		--benchmark-warmup=on --benchmark-columns=min,median,rounds,iterations \
		--benchmark-sort=name $(BENCH_ARGS)

annotate: $(BIN)/python
	$(BIN)/cython -3 -a sse_fast/_framing_c.pyx -o build/annotate/_framing_c.c
	@echo "open build/annotate/_framing_c.html"

# The sdist, a pure wheel, and a manylinux wheel per local CPython (host + pyenv), each
# installed in a fresh venv without a compiler and tested compiled and pure; then the
# CC=false sdist fallback. Slow (minutes), so not part of `make test`.
wheel:
	PYTHON=$(PYTHON) bash scripts/check_wheels.sh

# The live demo (examples/demo/) on http://127.0.0.1:$(PORT)/, served by uvicorn.
demo: install
	PORT=$(PORT) $(BIN)/python examples/demo/app.py

clean:
	rm -rf $(VENV) build dist *.egg-info sse_fast/*.c sse_fast/*.so sse_fast/*.html
