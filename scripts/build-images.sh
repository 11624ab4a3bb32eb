#!/usr/bin/env bash
# Builds the lab images from the Dockerfile without Docker or a registry,
# and checks that what they hold runs:
#
#   xlvs:latest      xlvsd --version, xlvsadm --help, xlvsd --check-config
#                    on every configs/*.toml and labs/*/*.toml (and refuses
#                    a broken one), the entrypoint
#   lab-host:latest  nginx -t; nginx and the echo server started as the
#                    quickstart lab starts them, answering on loopback;
#                    xlvs-decap --version, xlvsadm --help (the reals'
#                    exec lines run `xlvsadm realserver`)
#   lab-bird:latest  bird parses the BIRD labs' router configs
#
# How (Debian 12, as root): mmdebstrap makes a minbase Debian 12 tarball
# (cached in $CACHE_DIR), `podman import` turns it into the base image,
# `buildah bud --isolation chroot` builds the Dockerfile's stages FROM it
# with the host's binaries (BINARIES=host-bin: no Rust image, and Debian
# 12's rustc is too old to build xlvs in one), and `buildah run
# --isolation chroot` runs the checks (`podman run` needs cgroups that
# some hosts, this one among them, cannot give crun).
#
# Environment:
#   BIN_DIR      the xlvsd, xlvsadm and xlvs-decap to put in the images
#                (default target/release, built if missing)
#   CACHE_DIR    where the base tarball is kept (default /var/cache/xlvs-images)
#   TAG          the images' tag (default latest, what the lab files name)
#   KEEP_IMAGES  1 (default): leave the images for containerlab; 0: remove
#                what this run made at the end (CI, with TAG=ci: its images
#                hold debug binaries, and a developer's :latest stay as
#                they are)
#
# It installs mmdebstrap, buildah and podman if missing, changes no file
# of the host's containers configuration, and removes the working
# containers it made, even on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

BIN_DIR=$(realpath -m "${BIN_DIR:-$root/target/release}")
CACHE_DIR=${CACHE_DIR:-/var/cache/xlvs-images}
KEEP_IMAGES=${KEEP_IMAGES:-1}
TAG=${TAG:-latest}
# Our own name for the base, so no image of the host's is replaced.
BASE_IMAGE=localhost/xlvs-debian:12
IMAGES=("xlvs:$TAG" "lab-host:$TAG" "lab-bird:$TAG")
imported=0

step=start
say() { echo "build-images: $*"; }
failed=0
die() {
    echo "build-images: FAILED in step '$step': $*" >&2
    failed=1
    exit 1
}

if [ "$(id -u)" -ne 0 ]; then
    echo "build-images: run as root (buildah's chroot builds need it)" >&2
    exit 1
fi

# Everything this run makes outside the images, removed on any exit.
work=$(mktemp -d /tmp/xlvs-images.XXXXXX)
containers=()
cleanup() {
    local status=$?
    for c in "${containers[@]}"; do
        buildah rm "$c" >/dev/null || echo "build-images: could not remove container $c" >&2
    done
    if [ "$KEEP_IMAGES" = 0 ]; then
        local made=("${IMAGES[@]}")
        [ "$imported" = 0 ] || made+=("$BASE_IMAGE")
        for image in "${made[@]}"; do
            if buildah inspect --type image "$image" >/dev/null 2>&1; then
                buildah rmi "$image" >/dev/null || echo "build-images: could not remove $image" >&2
            fi
        done
    fi
    rm -rf "$work"
    # A command that failed under set -e, not through die, names its step here.
    [ "$status" -eq 0 ] || [ "$failed" = 1 ] || echo "build-images: FAILED in step '$step'" >&2
    exit "$status"
}
trap cleanup EXIT

step="install mmdebstrap, buildah, podman"
missing=()
for p in mmdebstrap buildah podman; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq || die "apt-get update failed: is the Debian mirror reachable?"
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$work/apt.log" 2>&1 \
        || { cat "$work/apt.log" >&2; die "apt-get install ${missing[*]} failed: cannot reach the Debian mirror? (apt's output above)"; }
fi

step="release binaries"
bins=(xlvsd xlvsadm xlvs-decap)
have_bins() {
    for b in "${bins[@]}"; do [ -x "$BIN_DIR/$b" ] || return 1; done
}
if ! have_bins; then
    [ "$BIN_DIR" = "$root/target/release" ] || die "$BIN_DIR lacks one of ${bins[*]}"
    say "building release binaries (several minutes)"
    cargo build --release --locked --quiet -p xlvsd -p xlvsadm -p xlvs-dataplane \
        --bin xlvsd --bin xlvsadm --bin xlvs-decap || die "cargo build failed"
fi
# The Dockerfile's `bin` build context: just the three binaries.
mkdir "$work/bin"
for b in "${bins[@]}"; do cp "$BIN_DIR/$b" "$work/bin/"; done

# buildah's default ulimit for RUN steps, nproc=32768, cannot be set where
# the hard limit is lower (the machine may not raise rlimits), and then
# every RUN fails. Lower them in a
# containers.conf of our own, read instead of the host's (which stays as
# it is) through CONTAINERS_CONF.
cat >"$work/containers.conf" <<'EOF'
[containers]
default_ulimits = ["nproc=4096:4096", "nofile=4096:4096"]
EOF
export CONTAINERS_CONF=$work/containers.conf

step="base image"
mkdir -p "$CACHE_DIR"
tarball=$CACHE_DIR/bookworm-minbase.tar
# Rebuilt weekly so the image's packages do not fall far behind the
# mirror's (each stage runs apt-get update, but upgrades nothing).
if [ -f "$tarball" ] && [ -z "$(find "$tarball" -mtime +7)" ]; then
    say "base tarball: $tarball (cached)"
else
    say "base tarball: mmdebstrap --variant=minbase bookworm"
    # The host's own apt sources, so the base comes from where the host's
    # packages do (a local mirror or proxy included).
    sources=()
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [ -s "$f" ] && sources+=("$f")
    done
    [ ${#sources[@]} -gt 0 ] || die "no apt sources on this host to build the base from"
    # Into a temporary name first: an interrupted run leaves no half tarball.
    if ! mmdebstrap --variant=minbase --format=tar bookworm "$tarball.new" "${sources[@]}" \
        </dev/null >"$work/mmdebstrap.log" 2>&1; then
        tail -n 20 "$work/mmdebstrap.log" >&2
        rm -f "$tarball.new"
        die "mmdebstrap could not build the Debian 12 base: cannot reach the Debian mirror? (its last lines above)"
    fi
    mv "$tarball.new" "$tarball"
fi
# The image carries the tarball's time as a label: imported again only
# when the tarball changed, and the old import is then removed.
stamp=$(stat -c %Y "$tarball")
old_base=$(buildah inspect --type image --format '{{.FromImageID}}' "$BASE_IMAGE" 2>/dev/null || true)
if [ "$(buildah inspect --type image --format '{{index .OCIv1.Config.Labels "xlvs.base"}}' "$BASE_IMAGE" 2>/dev/null)" != "$stamp" ]; then
    say "base image: podman import -> $BASE_IMAGE"
    podman import --quiet --change "LABEL xlvs.base=$stamp" "$tarball" "$BASE_IMAGE" >/dev/null \
        || die "podman import $tarball failed"
    imported=1
    [ -z "$old_base" ] || buildah rmi "$old_base" >/dev/null 2>&1 || true
fi

# Builds one image; a rebuild untags the previous one, which is removed
# (unless something else still uses it) so reruns do not pile up images.
bud() {
    local image=$1
    shift
    step="build $image"
    local old
    old=$(buildah inspect --type image --format '{{.FromImageID}}' "$image" 2>/dev/null || true)
    say "building $image"
    local t0=$SECONDS
    buildah bud --quiet --isolation chroot --pull-never \
        --build-arg BASE="$BASE_IMAGE" --build-arg BINARIES=host-bin \
        --build-context bin="$work/bin" \
        "$@" -t "$image" "$root" >"$work/bud.log" 2>&1 \
        || { tail -n 30 "$work/bud.log" >&2; die "buildah bud failed (last lines above)"; }
    say "built $image in $((SECONDS - t0)) s"
    if [ -n "$old" ] && [ "$old" != "$(buildah inspect --type image --format '{{.FromImageID}}' "$image")" ]; then
        buildah rmi "$old" >/dev/null 2>&1 || true
    fi
}

bud "xlvs:$TAG"
bud "lab-host:$TAG" --target lab-host
bud "lab-bird:$TAG" --target lab-bird

# A working container of IMAGE in $container (kept for cleanup), with an
# empty /check for the files the checks need.
container=
new_container() {
    # buildah from has its own default nproc (32768): lowered as above.
    container=$(buildah from --quiet --pull-never --ulimit nproc=4096:4096 "$1") \
        || die "buildah from $1 failed"
    containers+=("$container")
    buildah run --isolation chroot "$container" -- mkdir -p /check
}
# Copies a host file into the working container as /check/NAME.
put() {
    buildah copy --quiet "$container" "$1" "/check/$2" >/dev/null || die "buildah copy $1 failed"
}

# Runs a shell script inside the working container, in network and PID
# namespaces of its own: servers started there listen on a loopback of
# their own (no port of the host's is taken) and die with the namespace,
# whatever the script leaves behind. At most 120 s.
run_in() {
    local script=$1
    timeout 120 unshare --net --pid --fork --kill-child \
        sh -c 'ip link set lo up && exec buildah run --isolation chroot "$0" -- sh -ec "$1"' \
        "$container" "$script" || die "inside the image: exit $?"
}

step="check xlvs:$TAG"
say "$step"
bad=$work/broken.toml
printf '[node]\nname = "broken"\nrouter_id = "not an address"\n' >"$bad"
new_container "xlvs:$TAG"
# The example configs, and the directors' configs the labs bind into
# this image (as LAB-NODE.toml).
for f in configs/*.toml labs/*/*.toml; do
    name=${f#*/}
    put "$f" "${name//\//-}"
done
put "$bad" broken.toml
run_in '
xlvsd --version
xlvsadm --help >/dev/null
n=0
for f in /check/*.toml; do
    [ "$f" = /check/broken.toml ] && continue
    out=$(xlvsd --check-config "$f") || { echo "xlvsd --check-config $f failed" >&2; exit 1; }
    [ "$out" = OK ] || { echo "$f: $out" >&2; exit 1; }
    echo "xlvsd --check-config $(basename "$f"): OK"
    n=$((n + 1))
done
[ "$n" -ge 30 ] || { echo "only $n configs checked" >&2; exit 1; }
# The check can fail: a broken config is refused (EX_CONFIG).
rc=0; xlvsd --check-config /check/broken.toml >/dev/null 2>&1 || rc=$?
[ "$rc" = 78 ] || { echo "a broken config was not refused (exit $rc)" >&2; exit 1; }
echo "xlvsd --check-config broken.toml: refused (78)"
# The entrypoint containerlab runs hands over to its command (it cannot
# mount a bpf filesystem here: buildah run drops that capability).
xlvs-entrypoint xlvsd --version 2>/dev/null | grep -q "^xlvsd "
echo "xlvs-entrypoint: runs its command"
'

step="check lab-host:$TAG"
say "$step"
new_container "lab-host:$TAG"
put labs/quickstart/web1/nginx.conf nginx.conf
run_in '
xlvs-decap --version
xlvsadm realserver --help >/dev/null && echo "xlvsadm realserver: runs"
nginx -t 2>&1
# As the quickstart lab starts its reals: nginx with its config, the echo
# server on port 7; each must answer within 5 s.
nginx -t -c /check/nginx.conf 2>&1
nginx -c /check/nginx.conf
i=0
until [ "$(curl -sf http://127.0.0.1/)" = web1 ]; do
    i=$((i + 1)); [ "$i" -lt 50 ] || { echo "nginx did not answer web1 on 127.0.0.1:80" >&2; exit 1; }
    sleep 0.1
done
echo "nginx: answers web1"
nginx -c /check/nginx.conf -s quit
python3 /usr/local/bin/echo.py serve 7 &
i=0
until python3 /usr/local/bin/echo.py check 127.0.0.1 7 100000 2>/dev/null; do
    i=$((i + 1)); [ "$i" -lt 50 ] || { echo "the echo server did not answer on 127.0.0.1:7" >&2; exit 1; }
    sleep 0.1
done
kill $!
'

step="check lab-bird:$TAG"
say "$step"
new_container "lab-bird:$TAG"
put labs/bird-p2p/r1/bird.conf bird-p2p.conf
put labs/bird-broadcast/r1/bird.conf bird-broadcast.conf
run_in '
bird --version 2>&1
for f in /check/bird-*.conf; do
    bird -p -c "$f"
    echo "bird -p -c $(basename "$f"): parses"
done
'

step="finish"
if [ "$KEEP_IMAGES" = 0 ]; then
    say "all checks passed; removing the images (KEEP_IMAGES=0)"
else
    say "all checks passed; images: ${IMAGES[*]} (buildah images lists them)"
fi
