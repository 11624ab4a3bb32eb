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
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo test --workspace --no-fail-fast 2>&1 | tee "$log" || status=$?
# One closing line for the whole run (cargo prints one per test binary).
awk '/^test result:/ { p += $4; f += $6; i += $8 }
     END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, i }' "$log"
exit "$status"
