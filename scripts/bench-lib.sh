# Sourced by the lab benchmark scripts that time changes, from the
# checkout's root (after setting `bench`, their name): the settings,
# checks and lock every one starts with, a clock in microseconds and the
# median of a column of seconds.

root=$PWD
ROUNDS=${ROUNDS:-5}
BUILD=${BUILD:-1}
BIN_DIR=${BIN_DIR:-$root/target/debug}

die() {
    echo "$bench: $*" >&2
    exit 1
}

# Checks the settings, builds this checkout (unless BIN_DIR names another
# build, or BUILD=0), finds xlvs-lab (sets xlvs_lab) and takes the lab
# tests' host lock for the rest of the script.
bench_start() {
    [ "$(id -u)" -eq 0 ] || die "run as root (network namespaces)"
    [[ "$ROUNDS" =~ ^[1-9][0-9]?$ ]] || die "ROUNDS must be 1..99"
    [[ "$LIMIT" =~ ^[1-9][0-9]*$ ]] || die "LIMIT must be a number of seconds"
    if [ "$BUILD" = 1 ] && [ "$BIN_DIR" = "$root/target/debug" ]; then
        cargo build --workspace --quiet
    fi
    xlvs_lab=$BIN_DIR/xlvs-lab
    [ -x "$xlvs_lab" ] && [ -x "$BIN_DIR/xlvsd" ] || die "no xlvs-lab and xlvsd in $BIN_DIR"
    source "$root/scripts/lab-lock.sh"
    take_lab_lock "$bench"
}

now_us() { echo "${EPOCHREALTIME/./}"; }

# Seconds since $1 (µs), with $2 decimals (default 2).
seconds_since() { printf "%.${2:-2}f" "$(($(now_us) - $1))e-6"; }

# The median of the numbers on stdin ("never" left out), and how many
# were "never".
median() {
    sort -g | awk '$1 == "never" {n++; next} {v[++k]=$1}
        END {m = k ? v[int((k+1)/2)] : "-"; printf "%s%s", m, n ? " (" n " never)" : ""}'
}
