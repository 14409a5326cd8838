# The two commands of the README: `make run` and `make test`. Both set up
# everything they need on a fresh Debian/Ubuntu machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test system-deps system-deps-test venv venv-test lint typecheck pytest bench clean

run: system-deps venv
	$(BIN)/forms-service setup
	exec $(BIN)/forms-service serve --host $(HOST) --port $(PORT)

test: system-deps-test venv-test lint typecheck pytest

system-deps:
	@scripts/system-deps.sh run

system-deps-test:
	@scripts/system-deps.sh test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml lab/pyproject.toml $(VENV)/.installed
	$(BIN)/pip install -q -e '.[test]' -e lab
	touch $@

venv: $(VENV)/.installed

venv-test: $(VENV)/.installed-test

lint:
	$(BIN)/ruff check forms_service lab tests benchmarks

typecheck:
	$(BIN)/mypy

pytest:
	$(BIN)/pytest -n 2 $(PYTEST_ARGS)

bench: venv-test
	$(BIN)/python benchmarks/render.py
	$(BIN)/python benchmarks/read.py

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache
