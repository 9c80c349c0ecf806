# The one task runner: the README and .ci/run call these targets verbatim.

CARGO ?= cargo
DATA_DIR ?= $(HOME)/.capstan/data

# The binaries the end-to-end suite's images carry: a test build makes only
# test executables, so `test` and `e2e` build these first (debug, sharing the
# test build's dependencies).
E2E_BINS = --bins -p capstan -p capstan-apiserver -p capstan-scheduler -p capstan-controller-manager \
	-p capstan-kube-proxy -p capstan-kubelet -p capstan-docker-shim -p capstan-containerd-shim \
	-p capstan-node-supervisor -p capstan-trace-sink -p capstan-dns

.PHONY: setup up build lint test e2e images bench-apiserver

setup:
	./scripts/setup.sh

build: setup
	$(CARGO) build --release --bins

## Builds everything and starts a local cluster (embedded store) in the foreground.
up: build
	./target/release/capstan up --data-dir $(DATA_DIR)

lint: setup
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	# a dependency no crate uses only costs build time: none may stay
	$(CARGO) machete

## The whole suite: formatting, lints, then every test against real daemons.
test: lint
	$(CARGO) build $(E2E_BINS)
	$(CARGO) nextest run --workspace --profile ci

## The component images from a release build (what users run; see images/README.md).
images: build
	./scripts/images.sh --components --profile release

## The end-to-end suite: a cluster of containers (it builds the images it needs
## from the debug build's binaries: the same ones `make test`'s nextest run builds).
e2e: setup
	$(CARGO) build $(E2E_BINS)
	$(CARGO) nextest run --profile ci -p capstan-e2e

bench-apiserver: setup
	$(CARGO) run --release -p capstan-bench-apiserver -- --backend both
