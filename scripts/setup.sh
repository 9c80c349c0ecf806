#!/usr/bin/env bash
# Installs what building and testing Capstan needs on a fresh Debian machine,
# idempotently: packages already present are left alone, and nothing is
# downloaded from outside Debian's and crates.io's registries.
set -euo pipefail

# protoc for the proto crate and etcd-client; etcd for the storage suite;
# the rest for the node, proxy, DNS and benchmark work (dig, dnsperf and
# unbound: the DNS tests and its bench); chromium for the dashboard's
# browser test (headless, driven over the DevTools protocol).
packages=(protobuf-compiler etcd-server busybox-static haproxy wrk containernetworking-plugins iproute2
  bind9-dnsutils dnsperf unbound chromium)

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

# The containerd shim drives a standalone containerd on the default socket, with
# Capstan's own config (root and state as a stock containerd's; the CRI plugin off:
# Capstan brings its own CNI set-up). Docker's embedded containerd is left alone.
# Debian installs the CNI plugins (bridge, host-local, loopback) in /usr/lib/cni.
containerd_socket=/run/containerd/containerd.sock
containerd_config=/etc/capstan/containerd.toml
if ! command -v containerd >/dev/null 2>&1; then
  echo "setup: installing containerd"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq containerd >/dev/null
fi
for plugin in bridge host-local loopback; do
  [ -x "/usr/lib/cni/$plugin" ] || { echo "setup: /usr/lib/cni/$plugin missing (containernetworking-plugins)" >&2; exit 1; }
done
if ! ctr --address "$containerd_socket" version >/dev/null 2>&1; then
  if [ ! -f "$containerd_config" ]; then
    "${sudo_cmd[@]}" mkdir -p "$(dirname "$containerd_config")"
    "${sudo_cmd[@]}" tee "$containerd_config" >/dev/null <<TOML
version = 2
root = "/var/lib/containerd"
state = "/run/containerd"
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = "$containerd_socket"
TOML
  fi
  echo "setup: starting containerd ($containerd_config)"
  "${sudo_cmd[@]}" setsid nohup containerd --config "$containerd_config" >/var/log/capstan-containerd.log 2>&1 </dev/null &
  for _ in $(seq 1 60); do ctr --address "$containerd_socket" version >/dev/null 2>&1 && break; sleep 0.5; done
  ctr --address "$containerd_socket" version >/dev/null 2>&1 \
    || { echo "setup: containerd did not start (see /var/log/capstan-containerd.log)" >&2; exit 1; }
fi

if ! command -v cargo-nextest >/dev/null 2>&1 && ! cargo nextest --version >/dev/null 2>&1; then
  echo "setup: installing cargo-nextest"
  cargo install cargo-nextest --locked
fi

if ! command -v cargo-machete >/dev/null 2>&1; then
  echo "setup: installing cargo-machete"
  cargo install cargo-machete --locked
fi

# The Helm chart's check (helm/check-chart.py): Helm's SDK and Kubernetes'
# schemas come from PyPI, since no helm binary is packaged for Debian.
python_packages=(helm-python-sdk==0.2.2 kubernetes-validate==1.37.0 PyYAML)
if ! python3 -c 'import helm_python, kubernetes_validate, yaml' >/dev/null 2>&1; then
  echo "setup: installing ${python_packages[*]} (PyPI)"
  python3 -m pip install --quiet --disable-pip-version-check "${python_packages[@]}"
fi

echo "setup: ready (protoc $(protoc --version | cut -d' ' -f2), etcd $(etcd --version | head -1 | cut -d' ' -f3), docker $(docker version --format '{{.Server.Version}}'), containerd $(ctr --address "$containerd_socket" version | sed -n 's/^ *Version: *//p' | tail -1))"
