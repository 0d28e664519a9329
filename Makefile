# linkmatrix — `make matrix` runs everything and writes reports/latest; `make test` runs all tests.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed-$(shell cat pyproject.toml requirements.lock | cksum | cut -d' ' -f1)
PIP_TOOLS = pip-tools==7.5.2

# make matrix SCENARIOS="scenarios/fan-in-via-headers.yaml" ARGS="--backend jaeger"
# make matrix RUNTIME=docker [LOCAL_IMAGES=1]   (RUNTIME: auto, local, docker, external)
# make matrix PIPELINES=all                     (every collector variant of pipelines.yaml and every Jaeger storage)
# make matrix STORAGES=badger,opensearch        (Jaeger storages beside the in-memory one: default, all, a,b)
# make matrix VERSIONS=all                      (earlier Jaeger, Zipkin, SDK and collector releases beside the pinned ones)
# make decide                                  (the run the decide page is meant for: Jaeger on every storage people deploy)
# make matrix STACK=linkmatrix.stack.yaml       (the components your team runs: versions, images, configs)
# make matrix STACK=… CANDIDATES=jaeger=2.14.0  (a release beside the current one; exit 5 when it loses a cell)
SCENARIOS ?=
ARGS      ?=
RUNTIME   ?=
LOCAL_IMAGES ?=
PIPELINES ?=
STORAGES ?= $(if $(filter all,$(PIPELINES)),all)
VERSIONS ?=
STACK ?=
CANDIDATES ?=
RUN_FLAGS = $(if $(RUNTIME),--runtime $(RUNTIME)) $(if $(LOCAL_IMAGES),--local-images) $(if $(PIPELINES),--pipelines $(PIPELINES)) $(if $(STORAGES),--storages $(STORAGES)) $(if $(VERSIONS),--versions $(VERSIONS)) \
            $(if $(STACK),--stack $(STACK)) $(foreach candidate,$(CANDIDATES),--candidate $(candidate))

.PHONY: matrix decide test unit e2e lint workflows backends browser prerequisites images compose validate clean bench lock

# actionlint, from the Go module proxy, pinned and cached beside the backends
CACHE          ?= $(or $(LINKMATRIX_CACHE),$(if $(XDG_CACHE_HOME),$(XDG_CACHE_HOME)/linkmatrix),$(HOME)/.cache/linkmatrix)
ACTIONLINT_VER  = v1.7.12
ACTIONLINT      = $(CACHE)/tools/actionlint-$(ACTIONLINT_VER)

# Installed from requirements.lock (every package pinned with its hashes), then linkmatrix itself
# without resolving again: two nights differ only where a pin was changed on purpose (`make lock`).
# Python, Go, Java and a browser, checked in seconds with the machine's own Python before anything
# is installed or built: one line says what is there and what is missing (and how it is obtained).
prerequisites:
	@$(PYTHON) -m harness.prerequisites

$(STAMP): | prerequisites
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

lock:                ## re-pin requirements.lock from pyproject.toml (newest versions its ranges allow)
	$(PYTHON) -m venv build/lock-venv
	build/lock-venv/bin/pip install --quiet --disable-pip-version-check $(PIP_TOOLS)
	CUSTOM_COMPILE_COMMAND="make lock" build/lock-venv/bin/pip-compile --quiet --generate-hashes --extra test --strip-extras --allow-unsafe \
	    --no-emit-index-url --no-emit-find-links -o requirements.lock pyproject.toml

backends: $(STAMP)   ## fetch/build the pinned collector, Jaeger and Zipkin (cached; a run builds what else it asks for)
	$(BIN)/linkmatrix backends

browser: $(STAMP)    ## find the browser the render columns need, or obtain one (Playwright's download, else Debian's chromium as root)
	$(BIN)/linkmatrix browser

decide: prerequisites browser backends  ## the matrix with Jaeger on Badger, OpenSearch and Elasticsearch too: the decide page says where the storages differ
	$(BIN)/linkmatrix run $(RUN_FLAGS) --storages all $(SCENARIOS) $(ARGS)

matrix: prerequisites browser backends  ## run every scenario against every backend; writes reports/latest/
	$(BIN)/linkmatrix run $(RUN_FLAGS) $(SCENARIOS) $(ARGS)

images: backends     ## local look-alikes of the official images (same contract, pinned binaries), for the docker runtime
	$(BIN)/linkmatrix images

bench: backends      ## scale, measured: wall time, peak RSS and cells per second of three big catalogs
	$(BIN)/python -m harness.bench

compose: $(STAMP)    ## regenerate compose/ from the adapters and the versions table
	$(BIN)/linkmatrix compose

validate: $(STAMP)   ## check scenario files only
	$(BIN)/linkmatrix validate $(SCENARIOS)

test: prerequisites browser lint workflows backends  ## lint + type check, workflow lint, unit + end-to-end tests (the end-to-end ones run the real stack)
	$(BIN)/linkmatrix backends --all
	$(BIN)/pytest

lint: $(STAMP)       ## ruff, mypy (strict) on harness/, and the house's layers (import-linter, pyproject.toml)
	$(BIN)/ruff check harness tests
	$(BIN)/mypy
	$(BIN)/lint-imports

$(ACTIONLINT):
	mkdir -p $(CACHE)/tools/.build
	GOBIN=$(CACHE)/tools/.build go install github.com/rhysd/actionlint/cmd/actionlint@$(ACTIONLINT_VER)
	mv $(CACHE)/tools/.build/actionlint $@

workflows: $(ACTIONLINT)  ## check .github/workflows with actionlint (a workflow that cannot run here must still be valid)
	$(ACTIONLINT) .github/workflows/*.yml

unit: $(STAMP)       ## the unit tests: no Go, Java or Docker needed (a fake backend stands in)
	$(BIN)/pytest tests/unit

e2e: browser backends
	$(BIN)/pytest tests/e2e

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
