#!/usr/bin/env bash
# Runs every xlvs test on a Debian 12 machine, as root: installs what is
# missing, checks formatting and lints, builds, then runs unit tests and
# the lab tests (real FRR in network namespaces). Lab tests take a host
# lock, so they run one at a time and clean up after themselves.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

echo "== format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings

echo "== build"
# The lab tests run the built binaries (xlvs-lab, xlvsd), so build them all.
cargo build --workspace --all-targets --quiet

echo "== tests"
cargo test --workspace --no-fail-fast
