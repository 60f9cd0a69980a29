# nocoplatform — the two commands are `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
export DJANGO_SETTINGS_MODULE ?= nocoplatform.settings.local
# Two workers: the suite waits on databases and browsers more than on CPU.
PYTEST_ARGS ?= -n 2

# X-Forwarded-For/-Proto are believed only from NOCO_TRUSTED_PROXIES (none by default): uvicorn
# would otherwise believe them from 127.0.0.1, letting anyone on this machine pick their address.
PROXY_HEADERS = $(if $(strip $(NOCO_TRUSTED_PROXIES)),--forwarded-allow-ips '$(strip $(NOCO_TRUSTED_PROXIES))',--no-proxy-headers)

.PHONY: run serve test lint format setup clean-venv

$(BIN)/.installed: pyproject.toml
	@./scripts/ensure-system-deps
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts

setup: $(BIN)/.installed node_modules/.package-lock.json

run: setup
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py ensure_admin
	$(BIN)/python manage.py create_demo_base
	$(BIN)/uvicorn nocoplatform.asgi:application --host $(HOST) --port $(PORT) $(PROXY_HEADERS)

# The production profile (README, "Production profile"): settings checked first, then the
# Procfile's processes under honcho, which reads .env too. SERVE_PROCESSES picks some of them
# ("web ws worker" on a second machine: exactly one beat in all).
SERVE_PROCESSES ?=
serve: export DJANGO_SETTINGS_MODULE = nocoplatform.settings.production
serve: setup
	$(BIN)/honcho run $(BIN)/python manage.py check_production
	$(BIN)/honcho run $(BIN)/python manage.py migrate --noinput
	$(BIN)/honcho run $(BIN)/python manage.py ensure_admin
	exec $(BIN)/honcho start $(SERVE_PROCESSES)

test: setup
	DJANGO_SETTINGS_MODULE=nocoplatform.settings.test $(BIN)/pytest $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
