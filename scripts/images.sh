#!/usr/bin/env bash
# Builds Capstan's local images into the Docker engine, offline (FROM scratch; no
# registry is reachable from these machines):
#   capstan/pause:1  the pod sandbox (pause) image      images/pause/Dockerfile
#   capstan/test:1   busybox with every applet linked   images/test/Dockerfile
#   capstan/guestbook-redis:1, capstan/guestbook-frontend:1
#                    stand-ins for the Kubernetes guestbook's images (examples/guestbook.yaml)
# and, with --components, one image per component from the workspace's binaries:
#   capstan/apiserver, capstan/scheduler, capstan/controller-manager, capstan/proxy,
#   capstan/node-docker, capstan/node-containerd, capstan/cli, capstan/trace-sink, capstan/dns (each :latest and
#   :VERSION, the workspace's version, which the Helm chart runs; see images/README.md),
#   and capstan/etcd (Debian's etcd, for the end-to-end suite)
#
# Usage: scripts/images.sh [--components] [--profile release|debug] [--bin-dir DIR] [--save DIR]
#   --components  also build the component images (binaries must be built first:
#                 `cargo build --release --bins`, or the test build's for --profile debug)
#   --profile P   which build's binaries: release (the default, for users) or debug
#                 (the test build's, which CI reuses); read from $CARGO_TARGET_DIR/P
#   --bin-dir DIR read the binaries from DIR instead
#   --save DIR    also write DIR/capstan-images.tar (docker save) of the images above, e.g.
#                 to import into containerd with `ctr -n capstan images import`
#
# Idempotent and safe to run concurrently: each image is labelled with a hash of its
# inputs (its build context: Dockerfile and every file copied in) and rebuilt only when
# they changed; builds are serialised with a lock file. Binaries are stripped; each
# carries the shared libraries `ldd` lists and the loader. CAPSTAN_BUSYBOX overrides
# /bin/busybox.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
busybox="${CAPSTAN_BUSYBOX:-/bin/busybox}"
base_images=("pause capstan/pause:1" "test capstan/test:1" "guestbook-redis capstan/guestbook-redis:1"
  "guestbook-frontend capstan/guestbook-frontend:1")
component_images=(etcd apiserver scheduler controller-manager proxy node-docker node-containerd cli trace-sink dns)
save_dir=""
components=0
profile=release
bin_dir=""

usage() { sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "images: $*" >&2; exit 1; }

while (($#)); do
  case "$1" in
    --save) [ $# -ge 2 ] || die "--save needs a directory"; save_dir="$2"; shift 2 ;;
    --components) components=1; shift ;;
    --profile) [ $# -ge 2 ] || die "--profile needs release or debug"; profile="$2"; shift 2 ;;
    --bin-dir) [ $# -ge 2 ] || die "--bin-dir needs a directory"; bin_dir="$2"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
case "$profile" in release | debug) ;; *) die "--profile must be release or debug, not $profile" ;; esac
[ -n "$bin_dir" ] || bin_dir="${CARGO_TARGET_DIR:-$root/target}/$profile"

command -v docker >/dev/null || die "docker is not installed"
docker info >/dev/null 2>&1 || die "the Docker engine does not answer (is dockerd running, may you use its socket?)"
[ -x "$busybox" ] || die "$busybox not found: install Debian's busybox-static"

exec 9>"${TMPDIR:-/tmp}/capstan-images.lock"
flock 9

context=""
trap '[ -n "$context" ] && rm -rf "$context"' EXIT

# build TAG DIR: builds the context in $context as TAG unless the engine has it with
# the same inputs already.
build() {
  local tag="$1" dir="$2" inputs current
  inputs="$(cd "$context" && find . -type f -o -type l | LC_ALL=C sort | while read -r f; do
    if [ -L "$f" ]; then echo "$f -> $(readlink "$f")"; else sha256sum "$f"; fi
  done | sha256sum | cut -d' ' -f1)"
  current="$(docker image inspect --format '{{ index .Config.Labels "io.capstan.inputs" }}' "$tag" 2>/dev/null || true)"
  if [ "$current" = "$inputs" ]; then
    echo "images: $tag is up to date"
  else
    echo "images: building $tag"
    if ! DOCKER_BUILDKIT=0 docker build --quiet --label "io.capstan.inputs=$inputs" --label "io.capstan.image=$dir" \
      --label "io.capstan.profile=${3:-}" -t "$tag" "$context" >"$context.log" 2>&1; then
      cat "$context.log" >&2; rm -f "$context.log"
      die "building $tag failed"
    fi
    rm -f "$context.log"
  fi
  rm -rf "$context"
  context=""
}

for entry in "${base_images[@]}"; do
  read -r dir tag <<<"$entry"
  context="$(mktemp -d)"
  cp "$root/images/$dir/Dockerfile" "$context/Dockerfile"
  cp "$busybox" "$context/busybox"
  if [ -d "$root/images/$dir/files" ]; then cp -r "$root/images/$dir/files" "$context/files"; fi
  build "$tag" "$dir"
done

# add FILE [DEST]: copies FILE (stripped when it is an ELF binary) into the image's
# rootfs at DEST (default: the same path), with every shared library it loads.
add() {
  local file="$1" dest="${2:-$1}" rootfs="$context/rootfs" lib
  [ -e "$file" ] || die "$file not found"
  mkdir -p "$rootfs$(dirname "$dest")"
  cp -L "$file" "$rootfs$dest"
  if file_is_elf "$rootfs$dest"; then
    strip --strip-unneeded "$rootfs$dest" 2>/dev/null || true
    for lib in $(ldd "$file" 2>/dev/null | grep -o '/[^ ]*' || true); do
      [ -e "$rootfs$lib" ] && continue
      mkdir -p "$rootfs$(dirname "$lib")"
      cp -L "$lib" "$rootfs$lib"
    done
  fi
}
file_is_elf() { [ "$(head -c 4 "$1" | od -An -c | tr -d ' ')" = '177ELF' ]; }

# the files every component image has: CA certificates, a passwd naming the
# non-root user, the health probe
common() {
  local rootfs="$context/rootfs"
  mkdir -p "$rootfs/etc/ssl/certs" "$rootfs/etc/capstan/pki" "$rootfs/tmp"
  chmod 1777 "$rootfs/tmp"
  cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/"
  printf 'root:x:0:0:root:/root:/sbin/nologin\ncapstan:x:65532:65532:capstan:/home/capstan:/sbin/nologin\n' >"$rootfs/etc/passwd"
  printf 'root:x:0:\ncapstan:x:65532:\n' >"$rootfs/etc/group"
  add "$bin_dir/capstan-probe" /usr/local/bin/capstan-probe
}

binary() { add "$bin_dir/$1" "/usr/local/bin/$1"; }

if ((components)); then
  version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -1)"
  [ -n "$version" ] || die "no workspace version in $root/Cargo.toml"
  for name in capstan-apiserver capstan-scheduler capstan-controller-manager capstan-proxy capstan-kubelet \
    capstan-docker-shim capstan-containerd-shim capstan-node-supervisor capstan-probe capstan capstan-trace-sink \
    capstan-dns; do
    [ -x "$bin_dir/$name" ] || die "$bin_dir/$name is not built: run \`cargo build --${profile/debug/profile dev} --bins\` (or pass --bin-dir)"
  done
  # the test image, preloaded into the containerd node (no registry to pull it from)
  preload="$(mktemp -d)"
  docker save -o "$preload/test.tar" capstan/test:1
  for dir in "${component_images[@]}"; do
    context="$(mktemp -d)"
    cp "$root/images/$dir/Dockerfile" "$context/Dockerfile"
    common
    case "$dir" in
      apiserver)
        binary capstan-apiserver
        mkdir -p "$context/owned/data" "$context/owned/log" ;;
      scheduler | controller-manager | proxy) binary "capstan-$dir" ;;
      cli) binary capstan ;;
      trace-sink) binary capstan-trace-sink ;;
      dns) binary capstan-dns ;;
      etcd)
        add /usr/bin/etcd
        mkdir -p "$context/owned/data" ;;
      node-docker | node-containerd)
        for b in capstan-node-supervisor capstan-kubelet capstan-proxy; do binary "$b"; done
        # sh, mount, ip for set-up and debugging; the Docker shim builds the pause image from it
        add "$busybox" /bin/busybox
        mkdir -p "$context/rootfs/run/capstan" "$context/rootfs/var/lib/capstan"
        # as on Debian: /var/run is /run (ip netns writes /run/netns, CNI plugins read /var/run/netns)
        ln -s ../run "$context/rootfs/var/run" ;;&
      node-docker) binary capstan-docker-shim ;;
      node-containerd)
        binary capstan-containerd-shim
        for b in /usr/bin/containerd /usr/bin/containerd-shim-runc-v2 /usr/bin/ctr; do add "$b"; done
        add /usr/sbin/runc /usr/sbin/runc
        # the shim makes each pod's network namespace with iproute2's `ip netns`
        add "$(command -v ip)" /usr/sbin/ip
        for p in bridge host-local loopback portmap; do add "/usr/lib/cni/$p"; done
        add "$(readlink -f /usr/sbin/iptables)" /usr/sbin/xtables-nft-multi
        for link in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
          ln -s xtables-nft-multi "$context/rootfs/usr/sbin/$link"
        done
        for module in /usr/lib/x86_64-linux-gnu/xtables/*.so; do add "$module"; done
        install -m 0755 "$root/images/node-containerd/files/node-setup" "$context/rootfs/usr/local/bin/node-setup"
        install -m 0755 "$root/images/node-containerd/files/import-images" "$context/rootfs/usr/local/bin/import-images"
        install -D -m 0644 "$root/images/node-containerd/files/containerd.toml" "$context/rootfs/etc/containerd/config.toml"
        install -D -m 0644 "$preload/test.tar" "$context/rootfs/var/lib/capstan/images/test.tar" ;;
    esac
    build "capstan/$dir:latest" "$dir" "$profile"
    # the Helm chart's default tag is its appVersion, the workspace's version
    [ "$dir" = etcd ] || docker tag "capstan/$dir:latest" "capstan/$dir:$version"
  done
  rm -rf "$preload"
fi

if [ -n "$save_dir" ]; then
  mkdir -p "$save_dir"
  tags=()
  for entry in "${base_images[@]}"; do read -r _ tag <<<"$entry"; tags+=("$tag"); done
  docker save -o "$save_dir/capstan-images.tar" "${tags[@]}"
  echo "images: saved ${tags[*]} to $save_dir/capstan-images.tar"
fi
