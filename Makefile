# outbox-lab: `make up apply` brings the lab up and deploys it, `make test` runs every test.
.DEFAULT_GOAL := help
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

PYTHON ?= python3
LAB := $(PYTHON) scripts/lab
VENV_BIN := $(or $(LAB_DIR),.lab)/venv/bin
PYTEST := $(VENV_BIN)/pytest

.PHONY: help up apply down destroy build migrate test unit integration e2e lint fmt logs urls outputs doctor clean venv bench bench-api bench-outbox bench-lifecycle bench-first-run bench-events bench-payments bench-soak bench-rate bench-faults bench-hot-reload demo status mutate faults

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

up: ## start Postgres + LocalStack (LAB_MODE=docker|native to force a mode)
	@$(LAB) up

apply: ## build the layer and zips, migrate, deploy with Terraform, print curl lines (HOT_RELOAD=1: run lambdas/ in place)
	@HOT_RELOAD='$(HOT_RELOAD)' $(LAB) apply

down: ## stop everything the lab started (LocalStack state goes; Postgres data stays until clean)
	@$(LAB) down

destroy: ## terraform destroy the deployed stack (the lab stays up)
	@$(LAB) destroy

build: ## build the layer and function zips (incremental)
	@$(LAB) build

migrate: ## apply db/migrations to the lab's Postgres
	@$(LAB) migrate

venv: ## install the dev tools into .lab/venv
	@$(LAB) venv

test: venv ## unit + integration + e2e tests (needs `make up apply`)
	@$(LAB) check-deployed
	$(PYTEST) tests localstack-native/tests --ignore=tests/faults

faults: venv ## the fault suite: Postgres/LocalStack/SQS outages, dispatcher kill, duplicates, poison (needs up apply; native)
	@$(LAB) check-deployed
	$(PYTEST) tests/faults

unit: venv ## unit tests only (no services needed)
	$(PYTEST) tests/unit localstack-native/tests -m 'not integration'

integration: venv ## integration tests (needs `make up`)
	$(PYTEST) tests/integration localstack-native/tests -m integration

e2e: venv ## end-to-end tests against the deployed stack (needs `make up apply`)
	@$(LAB) check-deployed
	$(PYTEST) tests/e2e

mutate: venv ## mutation scores: lambdas/ (mutmut, unit + Postgres tests) and the executor bootstrap (cosmic-ray); needs `make up`
	$(VENV_BIN)/python scripts/mutate.py

lint: venv ## ruff, mypy, terraform fmt -check and validate, docs figures match benchmarks/results, OpenAPI document current
	$(VENV_BIN)/ruff check .
	$(VENV_BIN)/ruff format --check .
	$(VENV_BIN)/mypy
	TF_CLI_CONFIG_FILE=/dev/null terraform fmt -check -recursive terraform
	@$(LAB) validate
	$(VENV_BIN)/python benchmarks/report.py --check
	$(VENV_BIN)/python scripts/openapi_document.py --check

fmt: venv ## format Python and Terraform
	$(VENV_BIN)/ruff format .
	$(VENV_BIN)/ruff check --fix .
	TF_CLI_CONFIG_FILE=/dev/null terraform fmt -recursive terraform

bench: bench-api bench-outbox bench-events bench-payments bench-soak bench-rate bench-faults bench-hot-reload bench-lifecycle bench-first-run ## every benchmark (results in benchmarks/results/)

bench-outbox: venv ## outbox loop: 200 jobs submit->completed latency, 10,000-row relay throughput (needs up apply)
	$(VENV_BIN)/python benchmarks/outbox_latency.py
	$(VENV_BIN)/python benchmarks/relay_throughput.py

bench-api: venv ## jobs API: warm POST /jobs vs a trivial handler, cold start vs its floor (needs up apply)
	$(VENV_BIN)/python benchmarks/jobs_api.py

bench-events: venv ## events API: bulk of 100 vs 100 single POSTs, ingest -> projection latency (needs up apply)
	$(VENV_BIN)/python benchmarks/events_api.py

bench-payments: venv ## payments: warm createPayment vs a trivial invoke, STS calls of warm invocations (needs up apply)
	$(VENV_BIN)/python benchmarks/payments.py

bench-soak: venv ## soak: 10,000 jobs, 4 clients, duplicates injected, one dispatcher kill; exactly once? (needs up apply; native)
	$(VENV_BIN)/python benchmarks/soak.py

bench-rate: venv ## highest rate with submit->completed p95 < 400 ms, against the bare API's (needs up apply)
	$(VENV_BIN)/python benchmarks/sustained_rate.py

bench-faults: venv ## fault recovery times: runs the fault suite, saves its figures (needs up apply; native)
	$(VENV_BIN)/python benchmarks/fault_recovery.py

bench-hot-reload: venv ## hot reload: edit -> next invoke runs it, a bare and a lab-shaped function (needs up apply; native)
	$(VENV_BIN)/python benchmarks/hot_reload.py

bench-lifecycle: venv ## make up/apply/down timings and warm /ping latency (ends with the lab down)
	$(VENV_BIN)/python benchmarks/lab_lifecycle.py

bench-first-run: venv ## fresh clone -> `make up apply` on empty caches, by phase, then make clean (needs 4566 free)
	$(VENV_BIN)/python benchmarks/first_run.py

demo: venv ## POST jobs, show the outbox and queue, poll until all are final; prints a timeline (needs up apply)
	$(VENV_BIN)/python scripts/demo.py

status: venv ## jobs by status, outbox backlog and its oldest row, car events, queue and DLQ depths (needs up apply)
	$(VENV_BIN)/python scripts/status.py

logs: ## tail LocalStack and Postgres logs (FUNCTION=name for a Lambda's CloudWatch log)
	@$(LAB) logs $(if $(FUNCTION),--function $(FUNCTION))

urls: ## print the deployed URLs and ready-to-paste curl lines
	@$(LAB) urls

outputs: ## print the Terraform outputs as JSON
	@$(LAB) outputs

doctor: ## check the machine's prerequisites without starting anything
	@$(LAB) doctor

clean: ## stop the lab and delete .lab/ (venvs, build cache, Postgres data, state)
	@$(LAB) clean
