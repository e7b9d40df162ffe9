# Two commands matter: `make run` (set up, build the index, serve the chat) and `make test`.
# Both work on a fresh clone with Python 3.11 and the package registries; a second run
# skips the install (the stamp is keyed on pyproject.toml).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
HASH := $(shell sha1sum pyproject.toml | cut -c1-12)
RUN_STAMP := $(VENV)/.run-$(HASH)
TEST_STAMP := $(VENV)/.test-$(HASH)
export GRADIO_ANALYTICS_ENABLED := False
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: setup setup-test run build test test-fast lint eval eval-reports bench train-reranker train-first-stage screenshots clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)

# The product alone: no torch (questions and builds run in onnxruntime).
$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

# Tests and training add torch: first and alone, because the CPU build lies on this disk for
# exactly 2.13.0 and a bare requirement resolved by the project's install pulls a CUDA build.
$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.run-* $(VENV)/.test-* $(VENV)/.installed-*
	touch $@ $(RUN_STAMP)

setup: $(RUN_STAMP)
setup-test: $(TEST_STAMP)

build: setup
	$(BIN)/qa build

run: build
	$(BIN)/qa serve

test: lint
	$(BIN)/pytest -q

test-fast: setup-test
	$(BIN)/pytest -q -m "not model and not browser and not bench"

# ruff (style and likely bugs) over everything, mypy (types) over the library.
lint: setup-test
	$(BIN)/ruff check qa ui tests eval
	$(BIN)/mypy

eval: setup
	$(BIN)/qa eval

SQUAD := ../shared/data/squad-v1.1-dev-13/dev-v1.1-13-articles.json
HOTPOT := ../shared/data/hotpotqa-dev-distractor-100/hotpot_dev_distractor_first100.json
WIKINEWS := ../shared/data/wikinews-478/articles
CANARD := ../shared/data/canard/dev_all.jsonl

# Regenerates every committed report and the README tables built from them.
eval-reports: setup-test build
	$(BIN)/qa eval --report eval/reports/seed.md
	$(BIN)/qa build --quiet --seeds seeds --seeds $(WIKINEWS) --index indexes/seed-wikinews
	$(BIN)/qa eval --index indexes/seed-wikinews --report eval/reports/seed-wikinews.md
	$(BIN)/qa eval --index indexes/seed-wikinews --questions eval/questions/conversations.jsonl --report eval/reports/conversations.md
	$(BIN)/qa eval --index indexes/seed-wikinews --questions eval/questions/recurring.jsonl --report eval/reports/recurring.md
	$(BIN)/qa eval --index indexes/seed-wikinews --questions eval/questions/news-dev.jsonl --report eval/reports/news-dev.md
	$(BIN)/qa eval --benchmark squad --data $(SQUAD) --compare --report eval/reports/squad.md
	$(BIN)/qa eval --benchmark hotpot --data $(HOTPOT) --compare --report eval/reports/hotpot.md
	$(BIN)/qa eval --benchmark canard --data $(CANARD) --report eval/reports/canard.md
	$(BIN)/python -m qa.evaluation.reports --readme README.md eval/reports/seed.md eval/reports/seed-wikinews.md \
	    eval/reports/conversations.md eval/reports/recurring.md eval/reports/news-dev.md eval/reports/squad.md eval/reports/hotpot.md eval/reports/canard.md

# The README's screenshot and one of each view (docs/screenshot*.png), from the real page in Chromium.
screenshots: setup-test
	$(BIN)/python eval/screenshots.py --out docs

# Trains the reader (reranker + answer + span heads) on SQuAD v1.1 train, continuing the run in
# checkpoints/reader when there is one: stop it at any time (Ctrl-C saves), run it again to go
# on. `qa train --export-only` then writes qa/models/reranker. docs/reranker.md.
train-reranker: setup-test
	if [ -f checkpoints/reader/state.json ]; then $(BIN)/qa train --resume; else $(BIN)/qa train; fi

# The first stage's encoder (qa/training/first_stage.py): resumable like the reader's run. The
# current line is the third round, from the second round's encoder with negatives mined by it
# (each round starts from the last one's weights; the rounds' checkpoints stay for their history).
FIRST_STAGE := checkpoints/first-stage-3
FIRST_STAGE_FROM := checkpoints/first-stage-2
train-first-stage: setup-test
	if [ -f $(FIRST_STAGE)/state.json ]; then $(BIN)/python -m qa.training.first_stage --checkpoint $(FIRST_STAGE) --resume; \
	else $(BIN)/python -m qa.training.first_stage --checkpoint $(FIRST_STAGE) --init-from $(FIRST_STAGE_FROM); fi

bench: setup-test build
	$(BIN)/python eval/bench_ask.py --report eval/reports/bench-ask.md
	$(BIN)/python eval/bench_ui.py --report eval/reports/bench-ui.md

clean:
	rm -rf $(VENV) indexes/default
