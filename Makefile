# One command per habit. Every target installs what it needs into .venv first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PACKAGES := packages/contracts packages/backbone services/api services/model_worker
STAMP := $(VENV)/.installed

.PHONY: run test test-fast lint bench services clean download-models

$(STAMP): $(foreach p,$(PACKAGES),$(p)/pyproject.toml) requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet $(foreach p,$(PACKAGES),-e $(p)) -r requirements-dev.txt
	touch $(STAMP)

## run: the whole system on embedded defaults (SQLite, local storage, its own Redis if needed)
run: $(STAMP)
	$(BIN)/python -m infra.devrun

## test: every test, slow ones included, against real Redis, PostgreSQL and an S3 endpoint
test: $(STAMP) services
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## test-fast: skip the slow end-to-end and fault tests
test-fast: $(STAMP) services
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

services:
	@bash infra/ensure-services.sh

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(STAMP) services
	$(BIN)/python -m bench

## download-models: fetch the GPU jobs' weights into MODEL_DIR (var/models), with progress bars
download-models: $(STAMP)
	$(BIN)/python -m saekdam_worker.models.download $(DOWNLOAD_ARGS)

clean:
	rm -rf $(VENV) var
