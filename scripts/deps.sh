#!/usr/bin/env bash
# Installs, as root on Debian, what building and running rkube needs beyond Rust:
# a C compiler (bundled SQLite, ring), curl (tests), and for the node agent an OCI
# runtime (runc), the standard CNI plugins, iproute2 and nftables; the tests also
# build images from busybox-static and pull them from Debian's docker-registry.
# A no-op when present.
set -euo pipefail
[ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || exit 0
need=()
command -v cc >/dev/null || need+=(gcc libc6-dev)
command -v curl >/dev/null || need+=(curl)
dpkg -s ca-certificates >/dev/null 2>&1 || need+=(ca-certificates)
for pkg in runc containernetworking-plugins iproute2 nftables busybox-static docker-registry; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi
