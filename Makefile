# Gavel's tasks. `make run` and `make test` need only Go.
GO ?= go
# The race detector needs cgo (a C compiler); use it wherever there is one.
RACE ?= $(shell command -v gcc >/dev/null 2>&1 && echo -race)
STATICCHECK_VERSION ?= v0.8.2

.PHONY: run build test lint fmt fuzz bench bench-startup bench-drivers chaos

## run: build bin/gavel (the packages are listed as they compile: the first build takes a
## few minutes) and exec gavel dev on embedded defaults (SQLite in ./data, in-process Redis),
## so that Ctrl-C and a SIGTERM to make reach the server
run:
	@echo "building bin/gavel (the first build downloads and compiles the dependencies: a few minutes)"
	CGO_ENABLED=0 $(GO) build -v -trimpath -o bin/gavel ./cmd/gavel
	@echo "built bin/gavel; starting gavel dev"
	exec ./bin/gavel dev

## build: bin/gavel, pure Go
build:
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/gavel ./cmd/gavel

## test: every test; against real servers when TEST_DATABASE_URL / TEST_REDIS_URL are set
test:
	$(GO) test $(RACE) -count=1 -timeout 15m ./...

## fuzz: the whole-router fuzz target (api.FuzzRouter: random methods, paths, headers, query
## strings and bodies against a server on the embedded stack; a 5xx other than 503 with
## Retry-After, or a panic, fails) for FUZZTIME. An input that fails is written to
## api/testdata/fuzz/FuzzRouter/: commit it, `make test` replays it with the seeds.
FUZZTIME ?= 60s
FUZZPARALLEL ?= 1
fuzz:
	$(GO) test ./api/ -run '^$$' -fuzz '^FuzzRouter$$' -fuzztime $(FUZZTIME) -parallel $(FUZZPARALLEL)

## lint: gofmt, go vet and staticcheck
lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1)
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

## bench-startup: gavel dev from start to ready, fresh data dir each time
bench-startup:
	$(GO) test -run '^$$' -bench DevStartup -benchtime 5x -count 5 ./cmd/gavel

## bench-drivers: bun's pgdriver against pgx under bun (needs TEST_DATABASE_URL)
bench-drivers:
	$(GO) test -run '^$$' -bench Driver -benchtime 3s -count 3 ./db

## chaos: the chaos run against the local PostgreSQL (which it crashes with CHAOS_PG_STOP
## and starts again with CHAOS_PG_START) and a Redis of its own; faults at times drawn from
## CHAOS_SEED (0: random, printed); exits 1 on a loss or a fault that did not take
CHAOS_DURATION ?= 60s
CHAOS_DATABASE ?= postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable
CHAOS_SEED ?= 0
CHAOS_PG_STOP ?= pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql | head -1) main stop -m immediate
CHAOS_PG_START ?= pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql | head -1) main start
chaos: build
	$(GO) run ./cmd/chaos -gavel bin/gavel -duration $(CHAOS_DURATION) -database '$(CHAOS_DATABASE)' -seed $(CHAOS_SEED) \
		-pg-stop '$(CHAOS_PG_STOP)' -pg-start '$(CHAOS_PG_START)'

## bench: every benchmark against the local PostgreSQL and Redis, written into
## docs/BENCHMARKS.md as its "Latest run" (BENCH_QUICK=1 for a short run; needs psql and redis-cli)
bench:
	./scripts/bench.sh
