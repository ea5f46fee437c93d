# toto — build, test and demo. On a fresh machine with Go, `make demo` and
# `make test` are all the set-up there is: missing test tools (Debian's
# Python in-toto, the reference oracle) are installed here.

GO        ?= go
BIN       := bin/toto
PKGS      := ./...
FUZZTIME  ?= 10s
FUZZMINIMIZETIME ?= 5s
SUDO      := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# The interop oracles (cosign v2 and v3, crane, oras; Debian's registry,
# skopeo, gnupg, notary) are built or installed here, outside the repo, once.
INTEROP_CACHE ?= $(HOME)/.cache/toto-interop

.PHONY: all build test demo bench fuzz fuzz-short lint deps clean interop interop-deps man

all: build

# The version is stamped at link time too, so that it survives
# -buildvcs=false and builds outside a checkout.
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null)

build:
	$(GO) build -ldflags "-X main.buildVersion=$(VERSION)" -o $(BIN) ./cmd/toto

# deps installs what the tests compare against: Debian's in-toto 1.3.1
# (in-toto-run, in-toto-verify, ... and its Python module), xmllint
# (libxml2-utils) to validate CycloneDX XML against its XSD, and Chromium,
# in which verifier/report lays out the HTML report headless and checks
# its boxes (the test finds /usr/bin/chromium; it must run when CI is set),
# Debian's docker-registry (distribution 2.8), the registry the admission
# webhook's tests verify images in, and kubectl (Debian's package
# kubernetes-client), which reads deploy/ in its test.
deps:
	@pkgs=""; \
	command -v in-toto-verify >/dev/null 2>&1 || pkgs="$$pkgs in-toto"; \
	command -v docker-registry >/dev/null 2>&1 || pkgs="$$pkgs docker-registry"; \
	command -v kubectl >/dev/null 2>&1 || pkgs="$$pkgs kubernetes-client"; \
	command -v xmllint >/dev/null 2>&1 || pkgs="$$pkgs libxml2-utils"; \
	command -v chromium >/dev/null 2>&1 || pkgs="$$pkgs chromium"; \
	if [ -n "$$pkgs" ]; then \
		echo "installing Debian packages the tests use:$$pkgs"; \
		$(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$pkgs >/dev/null; \
	fi

test: deps
	$(GO) vet $(PKGS)
	$(GO) test -count=1 -timeout 15m $(PKGS)

# interop runs the heavy tests against the real other clients and servers
# (build tag "interop"); their oracles are installed by interop-deps.
interop-deps:
	@bash .ci/interop-deps.sh $(INTEROP_CACHE)

interop: interop-deps
	TOTO_INTEROP_BIN=$(INTEROP_CACHE)/bin $(GO) test -count=1 -tags interop -timeout 30m ./interop/cosign/... ./interop/simplesigning/... ./interop/notation/... ./interop/dct/... ./interop/tuf/...

# man writes a man page for every command into man/, from the command tree
# itself (so the pages say what --help says).
man: build
	$(BIN) man --dir man

demo: build
	@bash examples/demo.sh

bench: build deps
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)
	@for s in bench/*.sh; do [ -f "$$s" ] && bash "$$s" || true; done

# fuzz runs every fuzz target for FUZZTIME each (minimising a failing
# input for at most FUZZMINIMIZETIME). Targets are found by grepping the
# test sources, so no package is built just to list its tests. On a failure
# the fuzzer's output is shown; the failing input is saved under the
# package's testdata/fuzz, where plain `go test` replays it. A run that ends
# in "context deadline exceeded" without a failing input is the engine's own
# deadline catching a slow target mid-execution (seen with 3s runs), not a
# finding, and does not fail the target.
fuzz:
	@set -e; \
	for dir in $$(grep -rl --include='*_test.go' '^func Fuzz' . | grep -v '/testdata/' | xargs -n1 dirname | sort -u); do \
		for f in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$dir/*_test.go | sed 's/^func //' | sort -u); do \
			echo "fuzz $$dir $$f ($(FUZZTIME))"; \
			if ! out=$$($(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZETIME) $$dir 2>&1); then \
				if echo "$$out" | grep -q 'context deadline exceeded' && ! echo "$$out" | grep -q 'Failing input written'; then \
					echo "  (the fuzzing engine hit its own deadline mid-run with a slow target; no failing input found)"; \
					continue; \
				fi; \
				echo "$$out"; echo "FAIL: $$dir $$f"; exit 1; \
			fi; \
			echo "  $$(echo "$$out" | grep -o 'execs: [0-9]*' | tail -1 || true)"; \
		done; \
	done

# fuzz-short is the pass CI runs: every target briefly. The fuzzer also
# minimises every new interesting input it finds; a bound of 1s each keeps
# the 3s of a target for executing inputs (the execs printed per target).
fuzz-short:
	@$(MAKE) --no-print-directory fuzz FUZZTIME=3s FUZZMINIMIZETIME=1s

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) vet -tags interop ./interop/... ./internal/oracle/...

clean:
	rm -rf bin man
