# scalelab: make lab runs the main job, make test the tests. Both install
# what is missing first (make deps: Debian packages, as root or with sudo).

GO    ?= go
BIN   := bin/scalelab
STATE ?= .lab
# Extra flags for go test, e.g. make test TESTFLAGS=-v
TESTFLAGS ?=
# Extra flags for scalelab lab and bench, e.g. LABFLAGS="--tool ab,wrk"
LABFLAGS ?=

.PHONY: all build deps test test-busy vet fuzz lab lab-quick lab-talk crossover faults stage-0 stage-1 stage-1f stage-2 stage-3 stage-4 image serve-0 serve-1 serve-1f serve-2 serve-3 serve-4 up down seed status clean

all: build

# scalelab --version names the commit it was built from.
COMMIT := $(shell git rev-parse HEAD 2>/dev/null)$(shell git status --porcelain --untracked-files=no 2>/dev/null | grep -q . && echo -dirty)

build:
	$(GO) build -ldflags "-X main.commit=$(COMMIT)" -o $(BIN) ./cmd/scalelab
	$(GO) build -o bin/scalelab-cgi ./stages/cgi/program

deps:
	@./scripts/deps.sh

# The image docker-compose.yml and deploy/k8s run (Dockerfile): needs a
# Docker engine, which make test does not.
IMAGE ?= scalelab:dev
image:
	@command -v docker >/dev/null || { echo "make image needs Docker (docker build); the tests do not" >&2; exit 1; }
	docker build -t $(IMAGE) .

vet:
	$(GO) vet ./...
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

# The tests start their own PostgreSQL, memcached and nginx on loopback.
test: deps vet
	$(GO) test -count=1 -timeout 20m $(TESTFLAGS) ./...
	$(MAKE) fuzz FUZZTIME=3000x

# The suite on a busy machine: go test three times in a row while a CPU hog
# keeps every core at 100% (scripts/busy.sh starts and stops the hogs).
# A test that passes only on an idle machine fails here; see
# docs/contributing.md.
BUSY_ROUNDS ?= 3
test-busy: deps vet
	./scripts/busy.sh -n $(BUSY_ROUNDS) $(GO) test -count=1 -timeout 60m $(TESTFLAGS) ./...

# Fuzz each target for FUZZTIME (their seed corpora, in testdata/fuzz/,
# also run in every go test): the site's handlers, its form and cookie
# parsing, and the parsers of ab's and wrk's output. go test -fuzz takes
# one target at a time; make test gives each 3,000 inputs (101 s in all
# on the 2-core VM, lab starts included). A count, not a duration: Go 1.26's fuzzer can fail a
# -fuzztime DURATION run with a bare "context deadline exceeded" when the
# deadline races a busy worker (golang/go#75804, fixed in Go 1.27); a count
# has no deadline to race, and a busy machine only makes it slower.
FUZZTIME ?= 60s
FUZZ_TARGETS := ./app:FuzzSite ./app:FuzzForm ./app:FuzzSessionCookie \
	./bench/driver:FuzzParseWrk ./bench/driver:FuzzParseAB
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "fuzz $${t#*:} ($${t%%:*}) for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$${t#*:}$$" -fuzztime $(FUZZTIME) "$${t%%:*}"; \
	done

# The main job: the whole talk on this machine (scalelab lab), into
# results/<UTC time>-<host>/. Every server it starts is stopped at the end.
lab: deps build
	$(BIN) lab --state $(STATE) $(LABFLAGS)

lab-quick: deps build
	$(BIN) lab --quick --state $(STATE) $(LABFLAGS)

# The talk's regime: the app costs what the talk's Python cost
# (docs/talk-regime.md).
lab-talk: deps build
	$(BIN) lab --app-cpu 7ms --app-start-cpu 36ms --state $(STATE) $(LABFLAGS)

# When does a load balancer pay? Stages 2, 3 and 4 at app costs from 0 to
# 8 ms, drawn as crossover.png (docs/talk-regime.md).
crossover: deps build
	$(BIN) lab --crossover --state $(STATE) $(LABFLAGS)

# Measure one stage (make stage-4 LABFLAGS="--no-index --tool ab,wrk").
stage-0 stage-1 stage-1f stage-2 stage-3 stage-4: deps build
	$(BIN) bench $(subst stage-,,$@) --state $(STATE) $(LABFLAGS)

# Each fault under load on the stage that shows it best, one run folder each
# with its fault chart (see "When a piece fails" in docs/measuring.md).
faults: deps build
	$(BIN) bench 3 --fault kill-instance --state $(STATE) $(LABFLAGS)
	$(BIN) bench 4 --fault memcached-down --state $(STATE) $(LABFLAGS)
	$(BIN) bench 2 --fault db-restart --state $(STATE) $(LABFLAGS)
	$(BIN) bench 2 --fault slow-db --state $(STATE) $(LABFLAGS)

# Browse one stage in the foreground until Ctrl-C (make serve-4).
serve-0 serve-1 serve-1f serve-2 serve-3 serve-4: build
	$(BIN) serve $(subst serve-,,$@) --state $(STATE)

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
