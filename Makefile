# linkmatrix — `make matrix` runs everything and writes reports/latest; `make test` runs all tests.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

# make matrix SCENARIOS="scenarios/fan-in-via-headers.yaml" ARGS="--backend jaeger"
SCENARIOS ?=
ARGS      ?=

.PHONY: matrix test unit e2e backends validate clean

$(STAMP):
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

backends: $(STAMP)   ## fetch/build the pinned collector, Jaeger and Zipkin (cached)
	$(BIN)/linkmatrix backends

matrix: backends     ## run every scenario against every backend; writes reports/latest/
	$(BIN)/linkmatrix run $(SCENARIOS) $(ARGS)

validate: $(STAMP)   ## check scenario files only
	$(BIN)/linkmatrix validate $(SCENARIOS)

test: backends       ## unit + end-to-end tests (the end-to-end ones run the real stack)
	$(BIN)/pytest

unit: $(STAMP)
	$(BIN)/pytest tests/unit

e2e: backends
	$(BIN)/pytest tests/e2e

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
