#!/usr/bin/env bash
# Installs the Debian 12 packages xlvs needs to build and test. Idempotent:
# packages already present are skipped, and nothing is started system-wide
# (labs run FRR, BIRD and nginx inside their own network namespaces).
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: run as root (apt-get and network namespaces need it)" >&2
    exit 1
fi

packages=(
    # build: eBPF C compiled by clang-19 against libbpf headers
    clang-19 llvm-19 libbpf-dev linux-libc-dev gcc make pkg-config
    # labs: namespaces, bridges, FRR and BIRD routers, packet filters
    iproute2 frr bird2 nftables procps iputils-ping
    # labs: NAT/FULLNAT hosts send fully checksummed packets (tx offload off)
    ethtool
    # real servers and clients used by tests and benchmarks
    nginx-light iperf3 wrk curl python3
    # tests/metrics.rs parses the endpoint with the Prometheus client library's parser
    python3-prometheus-client
    # inspection
    bpftool tcpdump
    # the unit: `systemd-analyze verify` (tests/systemd_unit.rs), journald
    # and journalctl, setpriv and unshare (tests/configs_start.rs); nothing
    # is started or enabled on the host
    systemd util-linux
)

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done

if [ ${#missing[@]} -gt 0 ]; then
    echo "install-deps: installing ${missing[*]}"
    # Keep package scripts from starting frr/bird/nginx in the root
    # namespace.
    policy=/usr/sbin/policy-rc.d
    created_policy=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod 755 "$policy"
        created_policy=1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
    [ "$created_policy" -eq 1 ] && rm -f "$policy"
else
    echo "install-deps: all Debian packages present"
fi

# Rust toolchain: the machine's cargo is used as is; crates come from
# crates.io during the build.
if ! command -v cargo >/dev/null 2>&1; then
    echo "install-deps: cargo not found; install Rust (rustup) first" >&2
    exit 1
fi
