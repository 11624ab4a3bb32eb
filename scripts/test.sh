#!/usr/bin/env bash
# Runs every xlvs test on a Debian 12 machine, as root: installs what is
# missing, checks formatting and lints, builds, builds and checks the lab
# images, then runs unit tests and the lab tests (real FRR in network
# namespaces). Lab tests take a host lock, so they run one at a time and
# clean up after themselves.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

echo "== format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings

echo "== build"
# The lab tests run the built binaries (xlvs-lab, xlvsd), so build them all.
cargo build --workspace --all-targets --quiet

echo "== images"
# The lab images, built from the Dockerfile with buildah and checked
# inside (scripts/build-images.sh). With the debug binaries just built: a
# release build would add minutes, and what is checked here is the
# Dockerfile and what the images hold, not the optimizer. Tagged :ci and
# removed at the end (KEEP_IMAGES=0): images of debug builds are not left
# for anyone to mistake for release ones, and the host's :latest images
# are not touched. A failure fails the run, after the tests have run too.
images_status=0
t0=$SECONDS
BIN_DIR=target/debug TAG=ci KEEP_IMAGES=0 scripts/build-images.sh || images_status=$?
echo "images: $((SECONDS - t0)) s, exit $images_status"

echo "== tests"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo test --workspace --no-fail-fast 2>&1 | tee "$log" || status=$?
# One closing line for the whole run (cargo prints one per test binary).
awk '/^test result:/ { p += $4; f += $6; i += $8 }
     END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, i }' "$log"
if [ "$images_status" -ne 0 ]; then
    echo "images: FAILED (scripts/build-images.sh, under '== images' above)" >&2
    [ "$status" -ne 0 ] || status=$images_status
fi
exit "$status"
