#!/usr/bin/env bash
# Builds rkube, installs it to /usr/local/bin and starts a server with its state in
# /var/lib/rkube (override with RKUBE_DATA_DIR). Run as root on Debian with Rust.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cargo build --release -p rkube
install -m 0755 target/release/rkube /usr/local/bin/rkube
command -v kubectl >/dev/null || echo "note: kubectl is not installed; rkube serves any kubectl 1.27-1.33"
exec /usr/local/bin/rkube server --data-dir "${RKUBE_DATA_DIR:-/var/lib/rkube}" "$@"
