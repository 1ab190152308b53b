# The front door: every task a developer or CI runs is a target here. `make help` lists them.
.DEFAULT_GOAL := help
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

# Local configuration (copy .env.example to .env): its KEY=value lines reach every command below.
-include .env
export $(shell sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*\)=.*/\1/p' .env 2>/dev/null)

PYTHON ?= python3
VENVS := .venvs
# The tests run against PostgreSQL (this machine kind runs it on 127.0.0.1:5432). pytest-django
# makes and drops its own test_<name> databases next to these.
TEST_POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432
AUTH_TEST_DATABASE_URL ?= $(TEST_POSTGRES_URL)/auth
TODO_TEST_DATABASE_URL ?= $(TEST_POSTGRES_URL)/todo
PYTEST_ARGS ?=
COMPOSE := docker compose -f compose/docker-compose.yml --env-file compose/.env

.PHONY: help setup keys up down status restart logs migrate superuser \
        test test-auth test-todo test-parity test-e2e test-faults test-containers test-k8s test-compose lint format openapi bench \
        compose-up compose-down clean

help: ## List every target with one line each
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  \033[1m%-16s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

setup: ## Create or update the virtual environments (.venvs/auth, todo, tools)
	@scripts/bootstrap.sh

keys: setup ## Create a development signing key pair in var/keys when none exists
	@scripts/dev-keys.sh

up: ## Start the stack under a supervisor (gateway :8080; AUTH_INSTANCES, TODO_INSTANCES; OBSERVABILITY=on)
	@$(PYTHON) scripts/stack.py up

down: ## Stop everything `make up` started
	@$(PYTHON) scripts/stack.py down

status: ## Show every process (each instance, relay, consumer, gateway, supervisor), its health, the outbox backlog
	@$(PYTHON) scripts/stack.py status

restart: ## Restart every instance one at a time, each after the one before answers its health check again
	@$(PYTHON) scripts/stack.py restart

logs: ## Show the recent logs of the gateway, both services, the relay and the consumer (FOLLOW=1 to follow)
	@$(PYTHON) scripts/stack.py logs $(if $(FOLLOW),-f)

migrate: setup ## Apply both services' database migrations
	@$(PYTHON) scripts/stack.py migrate

superuser: setup ## Create an admin user: make superuser SERVICE=auth|todo
	@$(PYTHON) scripts/stack.py superuser --service $(or $(SERVICE),$(error set SERVICE=auth or SERVICE=todo))

test: test-parity test-auth test-todo test-containers test-k8s test-e2e test-faults test-compose ## Run every test (needs PostgreSQL on 127.0.0.1:5432)

test-auth: setup ## Run the auth service's tests
	@echo "==> auth service tests (database $(AUTH_TEST_DATABASE_URL))"
	@cd auth_project && DATABASE_URL=$(AUTH_TEST_DATABASE_URL) ../$(VENVS)/auth/bin/pytest $(PYTEST_ARGS)

test-todo: setup ## Run the todo service's tests
	@echo "==> todo service tests (database $(TODO_TEST_DATABASE_URL))"
	@cd todo_project && DATABASE_URL=$(TODO_TEST_DATABASE_URL) ../$(VENVS)/todo/bin/pytest $(PYTEST_ARGS)

test-parity: setup ## Check that the services' twin files differ only in their declared lines (tests/parity)
	@echo "==> twin files"
	@$(VENVS)/tools/bin/pytest tests/parity $(PYTEST_ARGS)

test-e2e: setup ## Run the end-to-end tests against a real stack (nginx, gunicorn, PostgreSQL)
	@echo "==> end-to-end tests"
	@$(VENVS)/tools/bin/pytest tests/e2e $(PYTEST_ARGS)

test-faults: setup ## Kill, restart and cut off the database of a 2-instance stack under load (private PostgreSQL)
	@echo "==> fault tests"
	@$(VENVS)/tools/bin/pytest tests/faults $(PYTEST_ARGS)

test-containers: setup ## Check the compose stack and Dockerfiles statically (no Docker engine needed)
	@echo "==> container checks"
	@$(VENVS)/tools/bin/pytest tests/containers $(PYTEST_ARGS)

test-k8s: setup ## Check the Kubernetes manifests offline: render, strict schemas, checkov, settings coverage
	@scripts/bootstrap.sh k8s checkov
	@echo "==> Kubernetes manifest checks"
	@$(VENVS)/k8s/bin/pytest tests/k8s $(PYTEST_ARGS)

test-compose: setup ## Build and run the compose stack, then the Kubernetes dev overlay (kube play), under podman (as root)
	@echo "==> compose stack and Kubernetes dev overlay under podman (first run on a machine: about 7 minutes; later runs reuse the base images, about 3)"
	@scripts/bootstrap.sh compose k8s
	@$(VENVS)/tools/bin/pytest tests/compose -s -rs $(PYTEST_ARGS)

lint: setup ## ruff lint and format check, Django system checks, no missing migrations
	@$(VENVS)/tools/bin/ruff check .
	@$(VENVS)/tools/bin/ruff format --check .
	@cd auth_project && ../$(VENVS)/auth/bin/python manage.py check && ../$(VENVS)/auth/bin/python manage.py makemigrations --check --dry-run
	@cd todo_project && ../$(VENVS)/todo/bin/python manage.py check && ../$(VENVS)/todo/bin/python manage.py makemigrations --check --dry-run

format: setup ## Apply ruff's fixes and formatting
	@$(VENVS)/tools/bin/ruff check --fix .
	@$(VENVS)/tools/bin/ruff format .

openapi: setup ## Write both services' OpenAPI schemas to docs/openapi/auth.yaml and todo.yaml (a test compares them)
	@echo "==> docs/openapi/auth.yaml"
	@cd auth_project && DJANGO_SETTINGS_MODULE=config.settings.test ../$(VENVS)/auth/bin/python manage.py spectacular \
	  --validate --fail-on-warn --skip-checks --file ../docs/openapi/auth.yaml
	@echo "==> docs/openapi/todo.yaml"
	@cd todo_project && DJANGO_SETTINGS_MODULE=config.settings.test ../$(VENVS)/todo/bin/python manage.py spectacular \
	  --validate --fail-on-warn --skip-checks --file ../docs/openapi/todo.yaml

bench: setup ## Benchmark the stack under load and write docs/benchmarks.md (QUICK=1: under a minute)
	@scripts/bootstrap.sh bench
	@$(VENVS)/bench/bin/python scripts/bench.py $(if $(QUICK),--quick) $(BENCH_ARGS)

compose-up: ## Start the containerised stack (needs a Docker engine; see docs/containers.md)
	@test -f compose/.env || { cp compose/.env.example compose/.env; \
	  echo "==> created compose/.env from compose/.env.example: replace its change-me secrets, then run make compose-up again"; \
	  exit 1; }
	$(COMPOSE) up -d --build --wait

compose-down: ## Stop the containerised stack (data volumes are kept)
	$(COMPOSE) down

clean: ## Remove caches (keeps var/: data and keys; keeps .venvs)
	@find . -name __pycache__ -type d -prune -not -path './.venvs/*' -exec rm -rf {} +
	@rm -rf .pytest_cache .ruff_cache auth_project/.pytest_cache todo_project/.pytest_cache
