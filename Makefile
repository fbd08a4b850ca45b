# The two commands a fresh machine needs: `make demo` and `make test`.
SHELL := /bin/bash
SWIFT ?= swift
SERVICES := scripts/services.sh
DEMO_DIR := $(CURDIR)/.demo

.PHONY: all deps build test unit-test check-infra e2e images services-up services-down demo demo-down bench bench-check bench-baseline fuzz lint hooks format clean

all: build

## deps: install system libraries and the Python peers (apt, venv), as needed
deps:
	@$(SERVICES) install

## build: debug build of every target
build: deps
	$(SWIFT) build --build-tests

## test: install, start the real services from nothing (up --reset), run every test, stop the services (exit code kept);
## every fuzz target for 5 s on its seed corpus and regression inputs;
## then the scripts and Kubernetes manifests (make check-infra), the stage images and the whole loop in containers (make e2e)
test: build
	@$(SERVICES) up --reset
	@status=0; \
	  PIPELINE_REQUIRE_SERVICES=1 $(SWIFT) test --skip-build || status=$$?; \
	  $(SERVICES) down; \
	  exit $$status
	@SWIFT=$(SWIFT) scripts/fuzz.sh 5
	@$(MAKE) --no-print-directory check-infra
	@$(MAKE) --no-print-directory e2e

## check-infra: shellcheck on every shell script, the Kubernetes overlays validated, checkov on them and on the
## Containerfiles, the CI workflows (schema, shellcheck on their run blocks), the OpenTofu variants,
## the NVMe bootstrap on loop devices and in a qemu guest, the services' state kept across restarts
check-infra:
	@git ls-files '*.sh' .ci/run | xargs shellcheck -S warning && echo "shellcheck: every shell script passes"
	@scripts/validate-k8s.sh
	@scripts/checkov-manifests.sh
	@scripts/validate-workflows.sh
	@scripts/validate-tofu.sh
	@scripts/test-nvme-bootstrap.sh
	@scripts/test-nvme-vm.sh
	@scripts/test-services-restart.sh
	@python3 Benchmarks/test_bench_gate.py

## images: one image per stage and pipelinectl (release, static Swift runtime), with podman; prints sizes
images: deps
	@SWIFT=$(SWIFT) scripts/images.sh build

## e2e: the whole loop in containers with podman-compose (devcontainer/compose.yaml + compose.e2e.yaml)
e2e: images
	@scripts/e2e.sh

## unit-test: tests that need no services (integration tests are skipped with a reason)
unit-test:
	$(SWIFT) test --filter PipelineCommonTests

services-up:
	@$(SERVICES) up

services-down:
	@$(SERVICES) down

## demo: the pipeline on the embedded default (file store, SQLite, local staging, a local MLflow)
demo: build
	@mkdir -p $(DEMO_DIR)
	@PIPELINE_SERVICES_DIR=$(DEMO_DIR)/services $(SERVICES) up mlflow
	@start=$$SECONDS && samples=$$($(SERVICES) samples) && set -a && . $(DEMO_DIR)/services/env && set +a && \
	  export PIPELINE_DATA_DIR=$(DEMO_DIR) MLFLOW_TRACKING_URI=$$PIPELINE_TEST_MLFLOW_URI && \
	  ctl() { .build/debug/pipelinectl "$$@" --config config/demo.yaml; } && \
	  ctl config check >/dev/null && ctl migrate && ctl doctor && \
	  echo "demo: uploading the sample photographs to raw/samples/ and 900 labelled shapes to raw/shapes/" && \
	  for photo in "$$samples"/*; do ctl objects cp "$$photo" store:raw/samples/ >/dev/null || exit 1; done && \
	  ctl demo shapes --count 900 && \
	  echo "demo: stage 1, ingest" && \
	  .build/debug/pipeline-ingest poll --once --config config/demo.yaml && \
	  echo "demo: stage 2, normalize" && \
	  .build/debug/pipeline-normalize --config config/demo.yaml && \
	  echo "demo: stage 3, train (builtin), approve if val_accuracy >= 0.9" && \
	  .build/debug/pipeline-train --config config/demo.yaml --approve-if 'val_accuracy>=0.9' && \
	  ctl model list && \
	  echo "demo: stage 4, batch inference by the approved model, outputs for review in Label Studio" && \
	  .build/debug/pipeline-infer batch --config config/demo.yaml && \
	  ctl datasets list && \
	  echo "demo: done in $$((SECONDS - start)) s; MLflow UI at $$MLFLOW_TRACKING_URI (stop it with: make demo-down); objects under $(DEMO_DIR)/objects"

demo-down:
	@PIPELINE_SERVICES_DIR=$(DEMO_DIR)/services $(SERVICES) down

## fuzz: the libFuzzer targets (Fuzz/), each for FUZZ_SECONDS (default 300) from its seed corpus
fuzz:
	@SWIFT=$(SWIFT) scripts/fuzz.sh $${FUZZ_SECONDS:-300}

## bench: benchmarks side by side with the peers (boto3, …), reported as ratios
bench: deps
	@scripts/bench.sh

BENCH_OUT_DIR ?= $(CURDIR)/.services-bench/bench

## bench-check: make bench, then fail when any ratio dropped more than 10 % below Benchmarks/baseline.json
## (the parts with a row that dropped run once more, and a row fails only when both runs show the drop)
bench-check: deps
	@BENCH_OUT_DIR=$(BENCH_OUT_DIR) scripts/bench.sh
	@moved=$$(python3 Benchmarks/bench_gate.py moved Benchmarks/baseline.json $(BENCH_OUT_DIR)); \
	  if [ -z "$$moved" ]; then exec python3 Benchmarks/bench_gate.py check Benchmarks/baseline.json $(BENCH_OUT_DIR); fi; \
	  echo "bench-check: $$moved moved past the tolerance; running it again to confirm" >&2; \
	  rm -rf $(BENCH_OUT_DIR)-confirm; \
	  BENCH=$$moved BENCH_OUT_DIR=$(BENCH_OUT_DIR)-confirm scripts/bench.sh && \
	  python3 Benchmarks/bench_gate.py check Benchmarks/baseline.json $(BENCH_OUT_DIR) $(BENCH_OUT_DIR)-confirm

## bench-baseline: make bench, then rewrite Benchmarks/baseline.json from its ratios (on purpose: commit it)
bench-baseline: deps
	@BENCH_OUT_DIR=$(BENCH_OUT_DIR) scripts/bench.sh
	@python3 Benchmarks/bench_gate.py baseline Benchmarks/baseline.json $(BENCH_OUT_DIR)

## lint: swift-format lint --strict over every Swift file, LF and a final newline on every text file, shellcheck,
## no notebook output, the CI workflows (scripts/lint.sh; the pre-commit hooks run the same on the staged files)
lint:
	@SWIFT=$(SWIFT) scripts/lint.sh

## hooks: install the pre-commit hooks of lefthook.yml (again after scripts/requirements-infra.txt changes:
## the hook calls lefthook from that venv)
hooks:
	@cd $(CURDIR) && "$$($(SERVICES) infra-tools)/lefthook" install

format:
	$(SWIFT) format format --in-place --recursive Sources Tests Benchmarks Package.swift

clean:
	-$(SERVICES) down
	-PIPELINE_SERVICES_DIR=$(DEMO_DIR)/services $(SERVICES) down
	rm -rf .build .services $(DEMO_DIR)
