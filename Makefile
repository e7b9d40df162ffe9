# Two commands matter: `make run` (set up, build the index, serve the chat) and `make test`.
# Both work on a fresh clone with Python 3.11 and the package registries; a second run
# skips the install (the stamp is keyed on pyproject.toml).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
export GRADIO_ANALYTICS_ENABLED := False
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: setup run build test test-fast eval bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)

# torch first and alone: the CPU build lies on this disk for exactly 2.13.0; a bare
# requirement resolved by the project's install would pull a multi-GB CUDA build.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $@

setup: $(STAMP)

build: setup
	$(BIN)/qa build

run: build
	$(BIN)/qa serve

test: setup
	$(BIN)/pytest -q

test-fast: setup
	$(BIN)/pytest -q -m "not model and not browser and not bench"

eval: setup
	$(BIN)/qa eval

bench: setup
	$(BIN)/python eval/bench_ask.py

clean:
	rm -rf $(VENV) indexes/default
