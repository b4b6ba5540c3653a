# One command per habit. Every target installs what it needs into .venv first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PACKAGES := packages/contracts packages/backbone packages/web services/api services/model_worker
STAMP := $(VENV)/.installed
# The posture service has its own environment (MediaPipe pins numpy<2).
POSTURE_VENV := .venv-posture
POSTURE_STAMP := $(POSTURE_VENV)/.installed

# The web client (TypeScript): Node 20+ and npm, packages from the committed lock file.
WEB := services/web

.PHONY: run test test-fast test-web lint bench services chromium clean download-models web \
	web-types train lock

$(STAMP): $(foreach p,$(PACKAGES),$(p)/pyproject.toml) requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet $(foreach p,$(PACKAGES),-e $(p)) -r requirements-dev.txt
	touch $(STAMP)

$(POSTURE_STAMP): packages/contracts/pyproject.toml packages/backbone/pyproject.toml packages/web/pyproject.toml services/posture/pyproject.toml services/posture/requirements-dev.txt
	test -x $(POSTURE_VENV)/bin/python || $(PYTHON) -m venv $(POSTURE_VENV)
	$(POSTURE_VENV)/bin/pip install --quiet --upgrade pip
	$(POSTURE_VENV)/bin/pip install --quiet -e packages/contracts -e packages/backbone -e packages/web -e services/posture -r services/posture/requirements-dev.txt
	touch $(POSTURE_STAMP)

## run: the whole system on embedded defaults (SQLite, local storage, its own Redis if needed),
## the web client at / (built first when missing or stale)
run: $(STAMP) $(POSTURE_STAMP)
	$(BIN)/python -m infra.devrun

## web: build the web client into services/web/dist (npm ci first when the lock file changed)
web: $(STAMP)
	$(BIN)/python -m infra.webbuild

## web-types: the web client's copies of both OpenAPI documents, and its types from them
web-types: $(STAMP) $(POSTURE_STAMP) web
	$(BIN)/python -m saekdam_api.openapi_document
	$(POSTURE_VENV)/bin/python -m saekdam_posture.openapi_document
	cd $(WEB) && npm run gen:api

## test-web: the web client's type check and unit tests (Vitest)
test-web: web
	cd $(WEB) && npm run typecheck && npm test

# The k8s manifests' custom resources (KEDA, Gateway API) are checked against their CRDs'
# schemas, generated into npm packages (infra/k8s-schemas, its own lock file).
K8S_SCHEMAS := infra/k8s-schemas
K8S_SCHEMAS_STAMP := $(K8S_SCHEMAS)/node_modules/.package-lock.json

$(K8S_SCHEMAS_STAMP): $(K8S_SCHEMAS)/package-lock.json
	cd $(K8S_SCHEMAS) && npm ci --no-audit --no-fund --loglevel=error

## test: every test, slow ones included, against real Redis, PostgreSQL and an S3 endpoint
test: $(STAMP) $(POSTURE_STAMP) $(K8S_SCHEMAS_STAMP) services chromium test-web
	$(BIN)/python -m pytest --ignore=services/posture $(PYTEST_ARGS)
	$(POSTURE_VENV)/bin/python -m pytest services/posture/tests $(PYTEST_ARGS)

## test-fast: skip the slow end-to-end and fault tests
test-fast: $(STAMP) $(POSTURE_STAMP) $(K8S_SCHEMAS_STAMP) services test-web
	$(BIN)/python -m pytest --ignore=services/posture -m "not slow" $(PYTEST_ARGS)
	$(POSTURE_VENV)/bin/python -m pytest services/posture/tests -m "not slow" $(PYTEST_ARGS)

services:
	@bash infra/ensure-services.sh

chromium:
	@bash infra/ensure-chromium.sh

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## lock: recompile the images' lock files (services/{api,model_worker,posture}/requirements.lock,
##   pinned with hashes for python:3.11.14-slim-bookworm on linux/amd64) after a change to a
##   pyproject's dependencies; tests/test_locks.py fails until then. UPGRADE=1 moves every pin
##   to the newest release (otherwise the old pins stay where they still fit)
lock: $(STAMP)
	$(BIN)/python -m infra.locks update $(if $(UPGRADE),--upgrade)

bench: $(STAMP) $(POSTURE_STAMP) services
	$(BIN)/python -m bench

## download-models: fetch the GPU jobs' weights into MODEL_DIR (var/models), with progress bars
download-models: $(STAMP)
	$(BIN)/python -m saekdam_worker.models.download $(DOWNLOAD_ARGS)

## train: a theme's LoRA from a folder of photos, into LORA_DIR/<theme> (var/models/lora):
##   make train THEME=ocean DATA=photos/ocean [ARGS="--max_train_steps 2000 --mixed_precision fp16"]
train: $(STAMP)
	@test -n "$(THEME)" -a -n "$(DATA)" || { echo "usage: make train THEME=<theme> DATA=<folder> [ARGS=...]" >&2; exit 2; }
	$(BIN)/python -m saekdam_training.train_theme_lora --theme $(THEME) --data_dir $(DATA) $(ARGS)

clean:
	rm -rf $(VENV) $(POSTURE_VENV) var $(WEB)/node_modules $(WEB)/dist
