#!/usr/bin/env bash
# Runs the whole test suite: unit tests and integration tests that boot real
# `rkube server` processes and drive them with stock kubectl.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
if ! command -v kubectl >/dev/null; then
    echo "kubectl is required for the integration tests" >&2
    exit 1
fi
cargo build --workspace --all-targets
cargo test --workspace -- --test-threads=2
