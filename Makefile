# linkmatrix — `make matrix` runs everything and writes reports/latest; `make test` runs all tests.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

# make matrix SCENARIOS="scenarios/fan-in-via-headers.yaml" ARGS="--backend jaeger"
# make matrix RUNTIME=docker [LOCAL_IMAGES=1]   (RUNTIME: auto, local, docker, external)
# make matrix PIPELINES=all                     (every collector variant of pipelines.yaml and every Jaeger storage)
# make matrix STORAGES=badger,opensearch        (Jaeger storages beside the in-memory one: default, all, a,b)
# make matrix VERSIONS=all                      (earlier Jaeger and Zipkin releases beside the pinned ones)
SCENARIOS ?=
ARGS      ?=
RUNTIME   ?=
LOCAL_IMAGES ?=
PIPELINES ?=
STORAGES ?= $(if $(filter all,$(PIPELINES)),all)
VERSIONS ?=
RUN_FLAGS = $(if $(RUNTIME),--runtime $(RUNTIME)) $(if $(LOCAL_IMAGES),--local-images) $(if $(PIPELINES),--pipelines $(PIPELINES)) $(if $(STORAGES),--storages $(STORAGES)) $(if $(VERSIONS),--versions $(VERSIONS))

.PHONY: matrix test unit e2e lint backends images compose validate clean bench

$(STAMP):
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

backends: $(STAMP)   ## fetch/build the pinned collector, Jaeger and Zipkin (cached)
	$(BIN)/linkmatrix backends

matrix: backends     ## run every scenario against every backend; writes reports/latest/
	$(BIN)/linkmatrix run $(RUN_FLAGS) $(SCENARIOS) $(ARGS)

images: backends     ## local FROM-scratch images of the pinned backends, for the docker runtime
	$(BIN)/linkmatrix images

bench: backends      ## scale, measured: wall time, peak RSS and cells per second of three big catalogs
	$(BIN)/python -m harness.bench

compose: $(STAMP)    ## regenerate compose/ from the adapters and the versions table
	$(BIN)/linkmatrix compose

validate: $(STAMP)   ## check scenario files only
	$(BIN)/linkmatrix validate $(SCENARIOS)

test: lint backends  ## lint + type check, unit + end-to-end tests (the end-to-end ones run the real stack)
	$(BIN)/pytest

lint: $(STAMP)       ## ruff, and mypy (strict) on harness/
	$(BIN)/ruff check harness tests
	$(BIN)/mypy

unit: $(STAMP)       ## the unit tests: no Go, Java or Docker needed (a fake backend stands in)
	$(BIN)/pytest tests/unit

e2e: backends
	$(BIN)/pytest tests/e2e

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
