# tracedrop: `make demo` runs the main job end to end, `make test` runs every check. Both install what they need.
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin

.PHONY: install system-deps receivers test test-faults quick lint demo bench lock clean

install: system-deps $(VENV)/.installed

system-deps:
	@command -v redis-server >/dev/null || { apt-get update -q && apt-get install -y -q redis-server; }
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { apt-get update -q && apt-get install -y -q postgresql; }
	@command -v chromium >/dev/null || { apt-get update -q && apt-get install -y -q chromium; }

# Installs exactly what requirements/ locks (with hashes); pyproject.toml keeps the ranges for those who install
# tracedrop as a package. `make lock` resolves the ranges anew (README: "Upgrading dependencies").
$(VENV)/.installed: pyproject.toml requirements/build.txt requirements/dev.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --require-hashes -r requirements/build.txt
	$(PY) -m pip install -q --require-hashes -r requirements/dev.txt
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	touch $@

# Real receivers the tests run (Arize Phoenix, MLflow, ...), each in a virtualenv of its own under .receivers/,
# installed from its own lock, requirements/receivers/<name>.txt (from <name>.in), so their pins never bend the
# project's. Never runtime dependencies.
RECEIVERS := $(patsubst requirements/receivers/%.txt,.receivers/%/.installed,$(wildcard requirements/receivers/*.txt))

receivers: $(RECEIVERS)

.receivers/%/.installed: requirements/receivers/%.txt $(VENV)/.installed
	python3 -m venv .receivers/$*
	$(BIN)/uv pip install -q --compile-bytecode --python .receivers/$*/bin/python --require-hashes -r $<
	touch $@

LOCK := $(BIN)/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes --upgrade -c requirements/constraints.txt

lock: $(VENV)/.installed
	$(LOCK) requirements/build.in -o requirements/build.txt
	$(LOCK) pyproject.toml -o requirements/runtime.txt
	$(LOCK) pyproject.toml --extra dev -o requirements/dev.txt
	for f in requirements/receivers/*.in; do [ -e "$$f" ] && $(LOCK) "$$f" -o "$${f%.in}.txt"; done; true

lint: install
	$(BIN)/ruff check worker api tests bench
	$(BIN)/mypy worker api

# The everyday check: lint and the pure (unit) tests, in well under a minute.
quick: lint
	$(BIN)/pytest -q -p no:cacheprovider tests/unit

# Every test but the fault drills (marked `faults`: workers killed, Redis crashed and failed over, stores and
# databases down, fuzzing), which `make test-faults` runs; CI (.ci/run) runs both.
test: lint receivers
	$(BIN)/pytest -q -p no:cacheprovider -m "not faults"

test-faults: lint
	$(BIN)/pytest -q -p no:cacheprovider -m faults

demo: install
	$(PY) -m tests.demo

# tracedrop for real on this machine, until Ctrl-C: its own Redis, a local bucket, the api and a worker, with
# everything kept in ./tracedrop-data (README: "Run it"). `make up UP="--port 9000 --workers 2"` passes options.
UP ?= --local-bucket
.PHONY: up
up: install
	$(BIN)/tracedrop up $(UP)

bench: install
	$(PY) -m bench.run

clean:
	rm -rf $(VENV) .receivers .demo .bench
