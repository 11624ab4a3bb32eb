# Sourced by the lab benchmark scripts. take_lab_lock NAME takes the lab
# tests' host lock (tests/lib.rs HostLock) on descriptor 9 for the rest of
# the script, so one lab user runs at a time; while another holds it, it
# says so and waits.
take_lab_lock() {
    local lock=/run/xlvs-lab-tests.lock
    exec 9>"$lock"
    if ! flock -n 9; then
        echo "$1: waiting for $lock (lab tests are running)"
        flock 9
    fi
}
