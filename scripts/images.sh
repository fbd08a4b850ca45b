#!/usr/bin/env bash
# The stage images, built with podman and no registry:
#   scripts/images.sh base       a local Debian bookworm base (debootstrap --variant=minbase, podman import), once
#   scripts/images.sh binaries   release builds with the Swift runtime linked in (--static-swift-stdlib), stripped
#   scripts/images.sh build      both of the above, then one image per stage and pipelinectl; prints their sizes
#   scripts/images.sh sizes      the sizes of the built images
# BASE_IMAGE=debian:bookworm-slim uses a pulled base instead (where a registry is reachable).
# Images are tagged localhost/image-pipeline/<name>:latest and :<version>.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$ROOT/containers/containers.conf}"
LOCAL_BASE=localhost/pipeline-base:bookworm
BASE_IMAGE="${BASE_IMAGE:-$LOCAL_BASE}"
CONTEXT="$ROOT/.build/images/context"
PRODUCTS=(pipeline-ingest pipeline-normalize pipeline-train pipeline-infer pipelinectl)
SWIFT="${SWIFT:-swift}"

log() { printf 'images: %s\n' "$*" >&2; }
die() { printf 'images: error: %s\n' "$*" >&2; exit 1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# podman, Debian's runc (crun cannot set RLIMIT_NOFILE here), netavark with iptables, debootstrap.
install_podman() {
    "$ROOT/scripts/services.sh" apt podman runc debootstrap netavark aardvark-dns iptables
    podman info >/dev/null 2>&1 || die "podman cannot run here: $(podman info 2>&1 | tail -n 1)"
}

build_base() {
    install_podman
    if [ "$BASE_IMAGE" != "$LOCAL_BASE" ] || podman image exists "$LOCAL_BASE"; then return; fi
    local dir; dir=$(mktemp -d)
    log "building $LOCAL_BASE with debootstrap --variant=minbase bookworm (about a minute)"
    as_root debootstrap --variant=minbase bookworm "$dir/rootfs" http://deb.debian.org/debian >"$dir/debootstrap.log" 2>&1 \
        || { tail -n 20 "$dir/debootstrap.log" >&2; rm -rf "$dir"; die "debootstrap failed"; }
    cat > "$dir/rootfs/etc/apt/sources.list" <<'LIST'
deb http://deb.debian.org/debian bookworm main
deb http://deb.debian.org/debian bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
LIST
    # What a slim image leaves out: documentation, manuals, other locales, apt's caches.
    rm -rf "$dir"/rootfs/usr/share/{doc,man,info,locale}/* "$dir"/rootfs/var/cache/apt/* "$dir"/rootfs/var/lib/apt/lists/*
    as_root tar -C "$dir/rootfs" -c . | podman import --change 'CMD ["/bin/bash"]' - "$LOCAL_BASE" >/dev/null
    as_root rm -rf "$dir"
    log "$LOCAL_BASE: $(podman image inspect --format '{{.Size}}' "$LOCAL_BASE" | awk '{printf "%.0f MB", $1/1e6}')"
}

build_binaries() {
    log "release build of ${PRODUCTS[*]} (static Swift runtime)"
    local product
    for product in "${PRODUCTS[@]}"; do
        "$SWIFT" build -c release --static-swift-stdlib --product "$product" >&2
    done
    local bin; bin="$("$SWIFT" build -c release --static-swift-stdlib --show-bin-path)"
    rm -rf "$CONTEXT"; mkdir -p "$CONTEXT/bin" "$CONTEXT/runtime"
    for product in "${PRODUCTS[@]}"; do
        cp "$bin/$product" "$CONTEXT/bin/$product"
        strip --strip-unneeded "$CONTEXT/bin/$product"
    done
    cp "$ROOT/containers/runtime/collect-libraries.sh" "$CONTEXT/runtime/"
}

version() { git -C "$ROOT" describe --tags --always --dirty 2>/dev/null || echo dev; }

build_images() {
    local product revision stamp
    revision=$(git -C "$ROOT" rev-parse HEAD 2>/dev/null || echo unknown)
    # Files in the layers get the commit's time: a rebuild of the same commit is the same image.
    stamp=$(git -C "$ROOT" log -1 --format=%ct 2>/dev/null || echo 0)
    local common=(--quiet --layers --format docker --timestamp "$stamp")
    log "building localhost/image-pipeline/runtime (the libraries of every stage)"
    podman build "${common[@]}" --build-arg BASE_IMAGE="$BASE_IMAGE" -f "$ROOT/containers/runtime/Containerfile" \
        -t localhost/image-pipeline/runtime:latest "$CONTEXT" >/dev/null
    for product in "${PRODUCTS[@]}"; do
        log "building localhost/image-pipeline/$product"
        podman build "${common[@]}" --build-arg RUNTIME_IMAGE=localhost/image-pipeline/runtime:latest \
            --build-arg VERSION="$(version)" --build-arg REVISION="$revision" \
            -f "$ROOT/containers/$product/Containerfile" \
            -t "localhost/image-pipeline/$product:latest" -t "localhost/image-pipeline/$product:$(version)" \
            "$CONTEXT" >/dev/null
    done
}

sizes() {
    local product size layers
    printf '%-22s %8s %s\n' image size "layers (MB)"
    for product in "${PRODUCTS[@]}"; do
        size=$(podman image inspect --format '{{.Size}}' "localhost/image-pipeline/$product:latest" 2>/dev/null) \
            || die "localhost/image-pipeline/$product is not built (run: make images)"
        layers=$(podman history --format '{{.Size}}' "localhost/image-pipeline/$product:latest" | grep -v '^0 *B$' | tr '\n' ' ')
        printf '%-22s %5.0f MB  %s\n' "$product" "$(echo "$size" | awk '{print $1/1e6}')" "$layers"
    done
    local first; first=$(podman image inspect --format '{{index .RootFS.Layers 0}}' localhost/image-pipeline/pipeline-ingest:latest)
    local shared=0
    for product in "${PRODUCTS[@]}"; do
        [ "$(podman image inspect --format '{{index .RootFS.Layers 0}}' "localhost/image-pipeline/$product:latest")" = "$first" ] \
            && shared=$((shared + 1))
    done
    printf 'the library layer is shared by %d of %d images\n' "$shared" "${#PRODUCTS[@]}"
}

case "${1:-}" in
    base) build_base ;;
    binaries) build_binaries ;;
    build) build_base; build_binaries; build_images; sizes ;;
    sizes) sizes ;;
    *) echo "usage: scripts/images.sh base|binaries|build|sizes" >&2; exit 2 ;;
esac
