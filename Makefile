# toto — build, test and demo. On a fresh machine with Go, `make demo` and
# `make test` are all the set-up there is: missing test tools (Debian's
# Python in-toto, the reference oracle) are installed here.

GO        ?= go
BIN       := bin/toto
PKGS      := ./...
FUZZTIME  ?= 10s
SUDO      := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all build test demo bench fuzz lint deps clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/toto

# deps installs what the tests compare against: Debian's in-toto 1.3.1
# (in-toto-run, in-toto-verify, ... and its Python module).
deps:
	@if ! command -v in-toto-verify >/dev/null 2>&1; then \
		echo "installing Debian's in-toto (reference implementation for interop tests)"; \
		$(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq in-toto >/dev/null; \
	fi

test: deps
	$(GO) vet $(PKGS)
	$(GO) test -count=1 -timeout 15m $(PKGS)

demo: build
	@bash examples/demo.sh

bench: build deps
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)
	@for s in bench/*.sh; do [ -f "$$s" ] && bash "$$s" || true; done

# fuzz runs every fuzz target for FUZZTIME each.
fuzz:
	@set -e; for pkg in $$($(GO) list $(PKGS)); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz' || true); do \
			echo "fuzz $$pkg $$f ($(FUZZTIME))"; \
			$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg >/dev/null || { echo "FAIL: $$pkg $$f"; exit 1; }; \
		done; \
	done

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

clean:
	rm -rf bin
