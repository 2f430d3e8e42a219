# tracedrop: `make demo` runs the main job end to end, `make test` runs every check. Both install what they need.
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin

.PHONY: install system-deps test lint demo bench clean

install: system-deps $(VENV)/.installed

system-deps:
	@command -v redis-server >/dev/null || { apt-get update -q && apt-get install -y -q redis-server; }
	@command -v chromium >/dev/null || { apt-get update -q && apt-get install -y -q chromium; }

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

lint: install
	$(BIN)/ruff check worker api tests bench
	$(BIN)/mypy worker api

test: lint
	$(BIN)/pytest -q -p no:cacheprovider

demo: install
	$(PY) -m tests.demo

bench: install
	$(PY) -m bench.run

clean:
	rm -rf $(VENV) .demo .bench
