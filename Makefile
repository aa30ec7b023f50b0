# gvswitch — see README.md.
GO        ?= go
BIN       := bin
CMDS      := $(notdir $(wildcard cmd/*))
RUNDIR    ?= $(CURDIR)/.run/run
DBDIR     ?= $(CURDIR)/.run/db
LOGDIR    ?= $(CURDIR)/.run/log
TESTFLAGS ?=

.PHONY: all build run test test-unit test-race lint deps bench bench-vhost bench-go fuzz clean

all: build

build:
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ ./cmd/...

# Start the switch in the foreground with its embedded database; no
# hugepages or NIC needed. Talk to it with:
#   bin/gvswitchctl --db=unix:$(RUNDIR)/db.sock show
run: build
	@mkdir -p $(RUNDIR) $(DBDIR) $(LOGDIR)
	$(BIN)/gvswitchd --rundir=$(RUNDIR) --dbdir=$(DBDIR) --logdir=$(LOGDIR)

deps:
	./scripts/install-deps.sh

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# Everything CI runs. Integration tests need root and the packages that
# `make deps` installs; with GVS_REQUIRE_ALL=1 a skipped test fails.
test: deps build lint
	$(GO) test -race -count=1 $(TESTFLAGS) ./control/...
	$(GO) test -count=1 -timeout 20m $(TESTFLAGS) $$($(GO) list ./... | grep -v /control/)

# The benchmark suite (bench/README.md): vhost loopback, RFC 2544 through
# gvswitchd and OVS-DPDK, the generator's ceiling; about 10 minutes.
bench: build
	./scripts/install-deps.sh bench
	./bench/bench.sh

# Only the vhost loopback of the suite (testpmd io-fwd through the switch).
bench-vhost: build
	./scripts/install-deps.sh bench
	PARTS=loopback ./bench/bench.sh

# Every package's Go micro-benchmarks.
bench-go: build
	$(GO) test -run '^$$' -bench . -benchmem ./...

fuzz:
	./scripts/fuzz-all.sh 20s

clean:
	rm -rf $(BIN) .run
