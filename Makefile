# The one task runner: the README and .ci/run call these targets verbatim.

CARGO ?= cargo
DATA_DIR ?= $(HOME)/.capstan/data

.PHONY: setup up build lint test bench-apiserver

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
	$(CARGO) nextest run --workspace --profile ci

bench-apiserver: setup
	$(CARGO) run --release -p capstan-bench-apiserver -- --backend both
