#!/usr/bin/env bash
# Builds Capstan's local images into the Docker engine from Debian's busybox-static,
# offline (FROM scratch; no registry is reachable from these machines):
#   capstan/pause:1  the pod sandbox (pause) image      images/pause/Dockerfile
#   capstan/test:1   busybox with every applet linked   images/test/Dockerfile
#
# Usage: scripts/images.sh [--save DIR]
#   --save DIR   also write DIR/capstan-images.tar (docker save), e.g. to import into
#                containerd with `ctr -n capstan images import DIR/capstan-images.tar`
#
# Idempotent and safe to run concurrently: each image is labelled with a hash of its
# inputs (Dockerfile and busybox binary) and rebuilt only when they changed; builds
# are serialised with a lock file. CAPSTAN_BUSYBOX overrides /bin/busybox.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
busybox="${CAPSTAN_BUSYBOX:-/bin/busybox}"
images=("pause capstan/pause:1" "test capstan/test:1")
save_dir=""

usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "images: $*" >&2; exit 1; }

while (($#)); do
  case "$1" in
    --save) [ $# -ge 2 ] || die "--save needs a directory"; save_dir="$2"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done

command -v docker >/dev/null || die "docker is not installed"
docker info >/dev/null 2>&1 || die "the Docker engine does not answer (is dockerd running, may you use its socket?)"
[ -x "$busybox" ] || die "$busybox not found: install Debian's busybox-static"

exec 9>"${TMPDIR:-/tmp}/capstan-images.lock"
flock 9

context=""
trap '[ -n "$context" ] && rm -rf "$context"' EXIT

for entry in "${images[@]}"; do
  read -r dir tag <<<"$entry"
  dockerfile="$root/images/$dir/Dockerfile"
  inputs="$(cat "$dockerfile" "$busybox" | sha256sum | cut -d' ' -f1)"
  current="$(docker image inspect --format '{{ index .Config.Labels "io.capstan.inputs" }}' "$tag" 2>/dev/null || true)"
  if [ "$current" = "$inputs" ]; then
    echo "images: $tag is up to date"
    continue
  fi
  context="$(mktemp -d)"
  cp "$dockerfile" "$context/Dockerfile"
  cp "$busybox" "$context/busybox"
  echo "images: building $tag"
  if ! DOCKER_BUILDKIT=0 docker build --quiet --label "io.capstan.inputs=$inputs" --label "io.capstan.image=$dir" \
    -t "$tag" "$context" >"$context/build.log" 2>&1; then
    cat "$context/build.log" >&2
    die "building $tag failed"
  fi
  rm -rf "$context"
  context=""
done

if [ -n "$save_dir" ]; then
  mkdir -p "$save_dir"
  tags=()
  for entry in "${images[@]}"; do read -r _ tag <<<"$entry"; tags+=("$tag"); done
  docker save -o "$save_dir/capstan-images.tar" "${tags[@]}"
  echo "images: saved ${tags[*]} to $save_dir/capstan-images.tar"
fi
