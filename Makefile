# CollectionHub: `make run` and `make test` do all set-up on a fresh Debian machine.
SWIFT ?= swift
RELEASE_BIN := .build/release/collection-hub
LISTEN ?= 127.0.0.1:8080

.PHONY: deps test-deps build release run test test-swift test-py fuzz clean

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
	@if ls tests-py/test_*.py >/dev/null 2>&1; then \
		$(SWIFT) build -c release --product collection-hub && \
		.venv/bin/python -m pytest -q tests-py; \
	fi

clean:
	rm -rf .build .hub
