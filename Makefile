# scalelab: make lab runs the main job, make test the tests. Both install
# what is missing first (make deps: Debian packages, as root or with sudo).

GO    ?= go
BIN   := bin/scalelab
STATE ?= .lab
# Extra flags for go test, e.g. make test TESTFLAGS=-v
TESTFLAGS ?=

.PHONY: all build deps test vet fuzz lab stage-0 stage-1 stage-2 stage-3 stage-4 up down seed status clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/scalelab
	$(GO) build -o bin/scalelab-cgi ./stages/cgi/program

deps:
	@./scripts/deps.sh

vet:
	$(GO) vet ./...
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

# The tests start their own PostgreSQL, memcached and nginx on loopback.
test: deps vet
	$(GO) test -count=1 -timeout 20m $(TESTFLAGS) ./...
	$(MAKE) fuzz FUZZTIME=10s

# Fuzz the site's handlers (the seed corpus also runs in every go test).
FUZZTIME ?= 60s
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzSite -fuzztime $(FUZZTIME) ./app

# The main job. Today: start the lab's services and load the full dataset
# (100,000 users). The stages and the driver that measures them come next.
# Every server it starts is stopped at the end, also on failure; the data
# stays in $(STATE) for the next run.
lab: deps build
	@trap '$(BIN) down --state $(STATE)' EXIT; trap 'exit 130' INT TERM; \
	$(BIN) up --state $(STATE) && $(BIN) seed --state $(STATE) && $(BIN) status --state $(STATE)

# One stage in the foreground until Ctrl-C (the driver will also load and chart it).
stage-0 stage-1 stage-2 stage-3 stage-4: build
	$(BIN) serve $(subst stage-,,$@) --state $(STATE)

up: build
	$(BIN) up --state $(STATE)

down: build
	$(BIN) down --state $(STATE)

status: build
	$(BIN) status --state $(STATE)

seed: build
	$(BIN) seed --state $(STATE)

clean: down
	rm -rf bin $(STATE)
