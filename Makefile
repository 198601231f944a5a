# Two commands do all setup: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export ANSWERDESK_KB ?= kb_source
export ANSWERDESK_INDEX ?= var/index

.PHONY: run test install install-st index check bench screenshots clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# The sentence-transformers backend: CPU torch from this disk first, so pip never pulls a CUDA build.
install-st: $(STAMP)
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[st,bench,test]'

index: $(STAMP)
	$(BIN)/answerdesk reindex

check: $(STAMP)
	$(BIN)/answerdesk reindex --check

run: index
	$(BIN)/answerdesk serve

test: install-st
	$(BIN)/python -m pytest

bench: install-st
	$(BIN)/python bench/retrieval.py
	$(BIN)/python bench/language.py
	$(BIN)/python bench/speed.py
	$(BIN)/python bench/slack_latency.py
	$(BIN)/python bench/web_load.py
	$(BIN)/python bench/telegram_latency.py
	$(BIN)/python bench/workers_load.py
	$(BIN)/python bench/memory.py
	$(BIN)/python bench/soak.py

# Re-take the screenshots in docs/ from the browser tests.
screenshots: install-st
	ANSWERDESK_SCREENSHOTS=1 $(BIN)/python -m pytest tests/channels/web/test_browser.py

clean:
	rm -rf var
