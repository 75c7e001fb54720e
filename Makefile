# Two commands do all the set-up on a fresh machine (see README):
#   make run    install into .venv, write a starter watchlist if none, run the daemon
#   make test   install into .venv with test tools, run the whole test suite
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: run check test lint install install-test model

run: install
	@test -f tos-watch.toml || $(BIN)/tos-watch init
	$(BIN)/tos-watch daemon

check: install
	@test -f tos-watch.toml || $(BIN)/tos-watch init
	$(BIN)/tos-watch check

test: install-test
	$(BIN)/python -m pytest -q -ra

lint: install-test
	$(BIN)/ruff check tos_watch tests benchmarks
	$(BIN)/mypy tos_watch

# Refit the shipped clause-edit judge from ../shared/eval (needs scikit-learn: the train extra).
model: install-test
	$(BIN)/python benchmarks/train_model.py

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install -q -e .

install-test: $(BIN)/python
	$(BIN)/pip install -q -e '.[test,postgres,browser]'
