# hostnet: `make test` is the command CI runs (.ci/run); `make` builds.
GO       ?= go
FUZZTIME ?= 10s
PKGS     := ./...

.PHONY: all build test check fmt vet unit race fuzz bench-smoke cross openbsd bench example clean

all: build

build:
	$(GO) build -o hostnet ./cmd/hostnet

# test is everything CI checks: formatting, vet, the tests with and without
# the race detector (allocation tests skip under -race), a fuzz smoke of
# every fuzz target, a benchmark smoke and the OpenBSD build.
test: fmt vet unit race fuzz bench-smoke cross

check: test

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

unit:
	$(GO) test -count=1 $(PKGS)

race:
	$(GO) test -count=1 -race $(PKGS)

# fuzz runs each fuzz target for FUZZTIME: go test -fuzz takes one target
# of one package at a time. The fuzzing engine sometimes ends a clean run
# with "context deadline exceeded" and no failing input (a known go test
# flake): such a run is tried once more; a real failure writes its input
# under testdata/fuzz and fails.
fuzz:
	@set -e; log=$$(mktemp); for pkg in $$($(GO) list $(PKGS)); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$t ($(FUZZTIME))"; \
	    if ! $(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) $$pkg >$$log 2>&1; then \
	      if grep -q "context deadline exceeded" $$log && ! grep -q "Failing input written" $$log; then \
	        echo "  (ended with the engine's deadline flake; once more)"; \
	        $(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) $$pkg >$$log 2>&1 || { cat $$log; exit 1; }; \
	      else cat $$log; exit 1; fi; \
	    fi; \
	  done; \
	done; rm -f $$log

bench-smoke:
	$(GO) test -count=1 -run '^$$' -bench . -benchtime 1x $(PKGS) >/dev/null

# cross builds for the other systems: OpenBSD has taps; FreeBSD and macOS
# build the tools (replay, check, pfctl -nvf) and refuse taps clearly.
cross: openbsd
	GOOS=freebsd $(GO) build $(PKGS)
	GOOS=darwin $(GO) build $(PKGS)

openbsd:
	GOOS=openbsd $(GO) build $(PKGS)

# bench prints the figures the issues ask for.
bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

clean:
	rm -f hostnet

# demo is the README's main job (root): the seed's three patterns with
# namespaces playing the VMs; `./hostnet demo` runs the seed's files as
# written.
demo: build
	./hostnet demo -f examples/e2e/demo

# example replays the sample bridge captures (no root needed).
example: build
	./hostnet replay -f examples/bridge \
	    -r em1=examples/bridge/in.em1.pcap \
	    -r tap0=examples/bridge/in.tap0.pcap \
	    -r tap1=examples/bridge/in.tap1.pcap -w out
