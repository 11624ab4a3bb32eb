# syntax=docker/dockerfile:1
#
# The image the lab files name (`image: xlvs:latest`): xlvsd, xlvsadm and
# xlvs-decap on Debian 12, for running labs/*.clab.yml with containerlab.
# Build it from the repository root:
#
#   docker build -t xlvs:latest .
#
# The first stage builds the binaries in release with the toolchain that
# scripts/install-deps.sh installs (clang-19 and the libbpf headers for
# the XDP programs; it installs the lab tools too, which this stage does
# not need but does not keep). x86_64 only: build.rs compiles the XDP C
# against Debian's x86_64-linux-gnu headers. FRR nodes use the FRR image,
# BIRD nodes the lab-bird stage below.

ARG RUST_IMAGE=rust:1-bookworm

FROM ${RUST_IMAGE} AS build
WORKDIR /src
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN bash scripts/install-deps.sh && rm -rf /var/lib/apt/lists/*
COPY . .
# target/ and the registry are caches: the binaries are copied out of them
# in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin xlvsd --bin xlvsadm --bin xlvs-decap \
    && mkdir -p /out \
    && cp target/release/xlvsd target/release/xlvsadm target/release/xlvs-decap /out/

# What every lab node but the routers has: the tools the labs' exec lines
# use (iproute2, ethtool), python3 for the echo server, curl to try a VIP,
# and an entrypoint for running under containerlab.
FROM debian:12-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends iproute2 ethtool python3 curl ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY labs/quickstart/echo.py /usr/local/bin/echo.py

# containerlab starts a node before it wires the data links, and says how
# many there will be in CLAB_INTFS: wait for eth1..ethN (xlvsd attaches
# XDP to them at start), at most 60 s. The lab configs pin under
# /run/xlvs/bpf (where xlvs-lab mounts a bpf filesystem): mount one there
# too, so the same files run in containers (containerlab runs linux nodes
# privileged).
COPY --chmod=755 <<'EOF' /usr/local/bin/xlvs-entrypoint
#!/bin/sh
want=${CLAB_INTFS:-0}
tries=0
while [ "$(ls /sys/class/net | grep -c '^eth[1-9]')" -lt "$want" ] && [ "$tries" -lt 600 ]; do
    sleep 0.1
    tries=$((tries + 1))
done
mkdir -p /run/xlvs/bpf
mountpoint -q /run/xlvs/bpf || mount -t bpf bpf /run/xlvs/bpf \
    || echo "xlvs-entrypoint: cannot mount a bpf filesystem at /run/xlvs/bpf (not privileged?)" >&2
exec "$@"
EOF
ENTRYPOINT ["/usr/local/bin/xlvs-entrypoint"]

# The clients and real servers of the labs (`image: lab-host:latest`):
# nginx and xlvs-decap (TUN reals) besides the runtime. Build it with
#
#   docker build --target lab-host -t lab-host:latest .
#
# (not named xlvs*: xlvs-lab runs xlvsd on nodes whose image is.)
FROM runtime AS lab-host
RUN apt-get update \
    && apt-get install -y --no-install-recommends nginx procps \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/xlvs-decap /usr/local/bin/
CMD ["sleep", "infinity"]

# The BIRD routers of the labs (`image: lab-bird:latest`): Debian's BIRD 2
# in the foreground with the bound /etc/bird/bird.conf, and iproute2 for
# the exec lines that give the router its addresses (BIRD sets none).
# Build it with
#
#   docker build --target lab-bird -t lab-bird:latest .
FROM debian:12-slim AS lab-bird
RUN apt-get update \
    && apt-get install -y --no-install-recommends bird2 iproute2 \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /run/bird
CMD ["bird", "-f", "-c", "/etc/bird/bird.conf"]

# The directors' image, the last stage: what a plain `docker build` makes.
FROM runtime
COPY --from=build /out/ /usr/local/bin/
CMD ["xlvsd", "--config", "/etc/xlvs/xlvs.toml"]
