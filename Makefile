# midge: build, run and test. `make run` starts the broker on the embedded
# default config (127.0.0.1:1883); `make test` runs the whole test suite.

GO        ?= go
BIN       ?= bin/midge
export CGO_ENABLED = 0
GOFLAGS_BUILD = -trimpath -ldflags '-s -w'
# TLS listeners cost about 1.5 MiB on MIPS, so release cross builds leave
# them out unless asked (docs/size.md); local builds and the tests have them.
BUILD_TAGS ?= tls
FUZZTIME  ?= 10s

.PHONY: build run test crash soak cross size emulate vendor unit fuzz bench gobench lint clean

build:
	$(GO) build $(GOFLAGS_BUILD) -tags "$(BUILD_TAGS)" -o $(BIN) ./cmd/midge
	ln -sf midge bin/midge-pub
	ln -sf midge bin/midge-sub
	ln -sf midge bin/midge-rr

run: build
	./$(BIN)

# The whole suite: vet and format checks, unit and integration tests (the
# integration tests drive the real broker with the Paho clients and, where
# installed, mosquitto_pub/mosquitto_sub; in CI a missing one is a failure),
# then a short run of every fuzz target over its seeds.
test: lint
	$(GO) test -count=1 -tags tls ./...
	CGO_ENABLED=1 $(GO) test -count=1 -race -tags tls ./broker/... ./persist/... ./platform/...

# The SIGKILL durability test with more rounds (make test runs 20).
crash:
	MIDGE_CRASH_ROUNDS=$${ROUNDS:-200} $(GO) test -count=1 -run KillNine -v ./cmd/midge

# Mixed load on the real broker for SOAK (default 30m); fails when memory,
# heap, fds or goroutines trend upward after the warm-up. Not in CI.
soak:
	MIDGE_SOAK=$${SOAK:-30m} $(GO) test -count=1 -run TestSoak -timeout 0 -v ./cmd/midge

unit:
	$(GO) test -count=1 -short ./...

fuzz:
	$(GO) test -run XXX -fuzz FuzzDecode -fuzztime $(FUZZTIME) ./broker/packet
	$(GO) test -run XXX -fuzz FuzzBroker -fuzztime $(FUZZTIME) ./broker
	$(GO) test -run XXX -fuzz FuzzWebSocketFrames -fuzztime $(FUZZTIME) ./broker
	$(GO) test -run XXX -fuzz FuzzWebSocketHandshake -fuzztime $(FUZZTIME) ./broker
	$(GO) test -run XXX -fuzz FuzzMosquittoConf -fuzztime $(FUZZTIME) ./broker/config
	$(GO) test -run XXX -fuzz FuzzTOML -fuzztime $(FUZZTIME) ./broker/config
	$(GO) test -run XXX -fuzz FuzzPasswords -fuzztime $(FUZZTIME) ./broker/auth
	$(GO) test -run XXX -fuzz FuzzACL -fuzztime $(FUZZTIME) ./broker/auth
	$(GO) test -run XXX -fuzz FuzzJWT -fuzztime $(FUZZTIME) ./broker/auth
	$(GO) test -run XXX -fuzz FuzzSCRAMServer -fuzztime $(FUZZTIME) ./broker/auth
	$(GO) test -run XXX -fuzz FuzzRecover -fuzztime $(FUZZTIME) ./persist

# Static, stripped binaries for every target into dist/ (full and minimal).
cross:
	OUT=/dev/null tools/size.sh >/dev/null

# The size table per architecture into docs/size.md; fails over budget.
size:
	tools/size.sh

# The cross-built broker under qemu-user on every target (needs
# qemu-user-static); .ci/run runs it after the test suite.
emulate:
	tools/emulate.sh

# Side by side with Debian's mosquitto; writes docs/benchmarks.md.
bench:
	tools/bench.sh

gobench:
	$(GO) test -run XXX -bench . -benchmem ./broker/...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# Vendored modules for the Buildroot and OpenWrt packages (offline builds).
vendor:
	$(GO) mod vendor

# Debian / Raspberry Pi OS packages (dpkg-deb) into dist/: ARCHES="amd64
# arm64 armhf" by default (docs/packaging.md).
.PHONY: deb
deb:
	tools/packaging/deb.sh

clean:
	rm -rf bin dist
