//! The process's own figures under the names every Prometheus client
//! library uses (`process_*`), so the usual dashboards and alerts work:
//! resident and virtual memory, CPU seconds, open and allowed file
//! descriptors, start time. Read from /proc/self (the kernel's only
//! interface for them).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Process {
    pub resident_bytes: u64,
    pub virtual_bytes: u64,
    pub cpu_seconds: f64,
    pub open_fds: u64,
    pub max_fds: u64,
    /// Seconds since the epoch.
    pub start_time: f64,
}

/// The fields of /proc/self/stat we use.
#[derive(Debug, PartialEq)]
struct Stat {
    utime_ticks: u64,
    stime_ticks: u64,
    starttime_ticks: u64,
    vsize_bytes: u64,
    rss_pages: u64,
}

/// Parses /proc/PID/stat. The command name (field 2) is in parentheses and
/// may hold spaces and parentheses itself: the fields after it are counted
/// from its last ')'.
fn parse_stat(text: &str) -> Option<Stat> {
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state): field n is f[n - 3].
    let field = |n: usize| f.get(n - 3)?.parse::<u64>().ok();
    Some(Stat {
        utime_ticks: field(14)?,
        stime_ticks: field(15)?,
        starttime_ticks: field(22)?,
        vsize_bytes: field(23)?,
        rss_pages: field(24)?,
    })
}

/// The boot time (`btime`, seconds since the epoch) from /proc/stat.
fn parse_btime(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

/// Reads the figures now; `None` (logged by the caller) if /proc cannot be
/// read.
pub fn read() -> Option<Process> {
    let stat = parse_stat(&std::fs::read_to_string("/proc/self/stat").ok()?)?;
    let btime = parse_btime(&std::fs::read_to_string("/proc/stat").ok()?)?;
    // SAFETY: sysconf has no preconditions.
    let (hz, page) = unsafe {
        (
            libc::sysconf(libc::_SC_CLK_TCK),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    let (hz, page) = (u64::try_from(hz).ok()?.max(1), u64::try_from(page).ok()?);
    let open_fds = std::fs::read_dir("/proc/self/fd").ok()?.count() as u64;
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes the struct we pass.
    let max_fds = match unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } {
        0 => limit.rlim_cur,
        _ => return None,
    };
    Some(Process {
        resident_bytes: stat.rss_pages * page,
        virtual_bytes: stat.vsize_bytes,
        cpu_seconds: (stat.utime_ticks + stat.stime_ticks) as f64 / hz as f64,
        open_fds,
        max_fds,
        start_time: btime as f64 + stat.starttime_ticks as f64 / hz as f64,
    })
}

/// Seconds since the epoch, for timestamps in metrics.
pub fn unix_seconds(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs_f64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_after_the_last_parenthesis() {
        // A command name with a space and a parenthesis of its own.
        let text = "4242 (xlvs d) x) S 1 4242 4242 0 -1 4194560 1500 0 0 0 \
                    250 125 0 0 20 0 9 0 98765 123456789 2048 18446744073709551615";
        let s = parse_stat(text).unwrap();
        assert_eq!(
            s,
            Stat {
                utime_ticks: 250,
                stime_ticks: 125,
                starttime_ticks: 98765,
                vsize_bytes: 123456789,
                rss_pages: 2048,
            }
        );
        assert_eq!(parse_stat("4242 (short) S 1"), None);
    }

    #[test]
    fn btime_is_read_from_its_line() {
        let text = "cpu  1 2 3\nintr 5\nbtime 1764900000\nprocesses 77\n";
        assert_eq!(parse_btime(text), Some(1_764_900_000));
        assert_eq!(parse_btime("cpu 1\n"), None);
    }

    #[test]
    fn this_process_reads_sensibly() {
        let p = read().expect("/proc/self is readable");
        assert!(p.resident_bytes > 0 && p.virtual_bytes >= p.resident_bytes);
        assert!(p.open_fds >= 3 && p.max_fds >= p.open_fds, "{p:?}");
        let now = unix_seconds(SystemTime::now());
        assert!(p.start_time <= now + 1.0 && p.start_time > now - 86_400.0 * 365.0);
    }
}
