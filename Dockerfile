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

# Build arguments, for building without a registry or a Rust image (what
# scripts/build-images.sh does with buildah; Docker users need none):
#
#   BASE        the Debian 12 image every runtime stage starts from
#               (default debian:12-slim); e.g. a local image made by
#               mmdebstrap and `podman import`.
#   BINARIES    where xlvsd, xlvsadm and xlvs-decap come from: `build`
#               (default) compiles them in the build stage below;
#               `host-bin` takes them from a build context named `bin`,
#               a directory holding the three binaries built on the host
#               (for where the Rust image cannot be pulled: Debian 12's
#               own rustc is too old for xlvs):
#
#     docker build --build-arg BINARIES=host-bin \
#         --build-context bin=target/release -t xlvs:latest .
#
#               Stages that are not used are not built, so with host-bin
#               the Rust image is never pulled.
#   RUST_IMAGE  the build stage's image (default rust:1-bookworm).

ARG RUST_IMAGE=rust:1-bookworm
ARG BASE=debian:12-slim
ARG BINARIES=build

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

# BINARIES=host-bin: the host's binaries, from the build context `bin`.
FROM scratch AS host-bin
COPY --from=bin xlvsd xlvsadm xlvs-decap /out/

# The chosen source, as one stage the others copy /out from. The label is
# only there so that the stage has an instruction: buildah leaves the
# working container of an instruction-less stage behind.
FROM ${BINARIES} AS binaries
LABEL org.opencontainers.image.title="xlvs binaries"

# What every lab node but the routers has: the tools the labs' exec lines
# use (iproute2, ethtool), python3 for the echo server, curl to try a VIP,
# and an entrypoint for running under containerlab.
FROM ${BASE} AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends iproute2 ethtool python3 curl ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY labs/quickstart/echo.py /usr/local/bin/echo.py

# containerlab's entrypoint: waits for the links, mounts a bpf filesystem
# at /run/xlvs/bpf (the script says why). A file, not a heredoc: Debian
# 12's buildah reads no heredocs.
COPY labs/xlvs-entrypoint /usr/local/bin/xlvs-entrypoint
ENTRYPOINT ["/usr/local/bin/xlvs-entrypoint"]

# The clients and real servers of the labs (`image: lab-host:latest`):
# nginx, xlvs-decap and xlvsadm (`xlvsadm realserver` sets up the reals)
# besides the runtime. Build it with
#
#   docker build --target lab-host -t lab-host:latest .
#
# (not named xlvs*: xlvs-lab runs xlvsd on nodes whose image is.)
FROM runtime AS lab-host
RUN apt-get update \
    && apt-get install -y --no-install-recommends nginx procps \
    && rm -rf /var/lib/apt/lists/*
COPY --from=binaries /out/xlvs-decap /out/xlvsadm /usr/local/bin/
CMD ["sleep", "infinity"]

# The BIRD routers of the labs (`image: lab-bird:latest`): Debian's BIRD 2
# in the foreground with the bound /etc/bird/bird.conf, and iproute2 for
# the exec lines that give the router its addresses (BIRD sets none).
# Build it with
#
#   docker build --target lab-bird -t lab-bird:latest .
FROM ${BASE} AS lab-bird
RUN apt-get update \
    && apt-get install -y --no-install-recommends bird2 iproute2 \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /run/bird
CMD ["bird", "-f", "-c", "/etc/bird/bird.conf"]

# The directors' image, the last stage: what a plain `docker build` makes.
FROM runtime
COPY --from=binaries /out/ /usr/local/bin/
CMD ["xlvsd", "--config", "/etc/xlvs/xlvs.toml"]
