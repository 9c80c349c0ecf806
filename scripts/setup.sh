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

sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  # policy-rc.d may refuse to start the packaged etcd/haproxy services: Capstan
  # starts its own instances on free ports, so that is fine
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# The node tests run pods on the real Docker Engine: install and start it when missing.
if ! command -v docker >/dev/null 2>&1; then
  echo "setup: installing Docker Engine (docker.io)"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq docker.io >/dev/null
fi
if ! docker info >/dev/null 2>&1; then
  echo "setup: starting the Docker daemon"
  "${sudo_cmd[@]}" service docker start >/dev/null 2>&1 \
    || ( "${sudo_cmd[@]}" nohup dockerd >/var/log/capstan-dockerd.log 2>&1 & )
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || { echo "setup: Docker did not start (see /var/log/capstan-dockerd.log)" >&2; exit 1; }
fi

if ! command -v cargo-nextest >/dev/null 2>&1 && ! cargo nextest --version >/dev/null 2>&1; then
  echo "setup: installing cargo-nextest"
  cargo install cargo-nextest --locked
fi

echo "setup: ready (protoc $(protoc --version | cut -d' ' -f2), etcd $(etcd --version | head -1 | cut -d' ' -f3), docker $(docker version --format '{{.Server.Version}}'))"
