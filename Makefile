# CollectionHub: `make run` and `make test` do all set-up on a fresh Debian machine.
SWIFT ?= swift
RELEASE_BIN := .build/release/collection-hub
LISTEN ?= 127.0.0.1:8080

.PHONY: deps test-deps build release run test fuzz clean
FUZZ_SECONDS ?= 60

deps:
	@scripts/install-deps.sh

test-deps:
	@scripts/install-deps.sh --test

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --product collection-hub

# Embedded PostgreSQL in .hub/postgres, a demo org, and an admin token printed with the URL.
run: release
	$(RELEASE_BIN) serve --listen $(LISTEN) --demo

# Every test: Swift unit and integration tests (real PostgreSQL, real sockets), then the
# Python suites (websocat, browser) against a release build.
test: test-deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --disable-swift-testing
	node --test tests-node/
	@if ls tests-py/test_*.py >/dev/null 2>&1; then \
		$(SWIFT) build -c release --product collection-hub && \
		.venv/bin/python -m pytest -q --durations=10 tests-py; \
	fi

# libFuzzer over the WebSocket message parser and the subscription decisions it leads to
# (since bounds, StreamCursor math driven with Int64.min/max, negatives, huge numbers),
# NOTIFY payload routing, REST body decoding, run-list cursors and run names (HubCore's
# sources in one module), for FUZZ_SECONDS; fails on any crash or broken invariant.
fuzz: deps
	mkdir -p .build/fuzz .build/fuzz-corpus
	cp fuzz/corpus/* .build/fuzz-corpus/
	swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name HubCoreFuzz \
		Sources/HubCore/*.swift Sources/HubCore/Protocol/*.swift fuzz/ProtocolFuzzer.swift \
		-o .build/fuzz/protocol-fuzzer
	.build/fuzz/protocol-fuzzer -max_total_time=$(FUZZ_SECONDS) -max_len=70000 -print_final_stats=1 .build/fuzz-corpus

clean:
	rm -rf .build .hub
