#!/usr/bin/env bash
# Installs what building and testing Capstan needs on a fresh Debian machine,
# idempotently: packages already present are left alone, and nothing is
# downloaded from outside Debian's and crates.io's registries.
set -euo pipefail

# protoc for the proto crate and etcd-client; etcd for the storage suite;
# the rest for the node, proxy and benchmark work.
packages=(protobuf-compiler etcd-server busybox-static haproxy wrk containernetworking-plugins iproute2)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  # policy-rc.d may refuse to start the packaged etcd/haproxy services: Capstan
  # starts its own instances on free ports, so that is fine
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! command -v cargo-nextest >/dev/null 2>&1 && ! cargo nextest --version >/dev/null 2>&1; then
  echo "setup: installing cargo-nextest"
  cargo install cargo-nextest --locked
fi

echo "setup: ready (protoc $(protoc --version | cut -d' ' -f2), etcd $(etcd --version | head -1 | cut -d' ' -f3))"
