//! Where xlvsd's log goes and how much of it.
//!
//! Where: `[node] log_format`, or when the file does not say, the journal
//! if stderr is connected to it (systemd's JOURNAL_STREAM names stderr's
//! device and inode; an inherited variable over a redirected stderr does
//! not count) and text on stderr otherwise. The journal gets each event as
//! one entry with its priority (journal.rs).
//!
//! How much: RUST_LOG when it is set (a full filter, e.g.
//! `xlvsd=debug,info`, for one run), else `[node] log_level`.

use crate::journal::{self, Journal};
use std::path::Path;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;
use xlvs_config::{LogFormat, LogLevel};

/// The format for a config's `log_format`, given whether stderr is the
/// journal.
pub fn format(configured: Option<LogFormat>, stderr_is_journal: bool) -> LogFormat {
    match configured {
        Some(format) => format,
        None if stderr_is_journal => LogFormat::Journald,
        None => LogFormat::Text,
    }
}

/// Whether JOURNAL_STREAM (`DEVICE:INODE`) names this stderr.
fn names_stream(journal_stream: &str, dev: u64, ino: u64) -> bool {
    journal_stream
        .split_once(':')
        .and_then(|(d, i)| Some((d.parse::<u64>().ok()?, i.parse::<u64>().ok()?)))
        == Some((dev, ino))
}

/// Whether stderr is systemd's journal stream.
pub fn stderr_is_journal() -> bool {
    use std::os::unix::fs::MetadataExt;
    let Some(stream) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    // /proc/self/fd/2 resolves to stderr itself (a socket under systemd).
    let Ok(stderr) = std::fs::metadata("/proc/self/fd/2") else {
        return false;
    };
    names_stream(&stream.to_string_lossy(), stderr.dev(), stderr.ino())
}

/// The filter: RUST_LOG wins when set and valid (an operator debugging
/// one run need not edit the file every director shares); else the
/// config's level. An invalid RUST_LOG is named in the second value.
fn filter(rust_log: Option<&str>, level: LogLevel) -> (EnvFilter, Option<String>) {
    let from_config = || EnvFilter::new(level.as_str());
    match rust_log.filter(|s| !s.trim().is_empty()) {
        None => (from_config(), None),
        Some(directives) => match EnvFilter::builder().parse(directives) {
            Ok(filter) => (filter, None),
            Err(e) => (from_config(), Some(format!("{directives:?}: {e}"))),
        },
    }
}

/// Sets the log up for the daemon; returns the format in force (the
/// journal falls back to text when its socket cannot be reached).
pub fn init(node: &xlvs_config::Node) -> LogFormat {
    let rust_log = std::env::var("RUST_LOG").ok();
    let (filter, bad_rust_log) = filter(rust_log.as_deref(), node.log_level);
    let mut format = format(node.log_format, stderr_is_journal());
    let mut no_journal = None;
    let journal = match format {
        LogFormat::Journald => match Journal::connect(Path::new(journal::SOCKET)) {
            Ok(layer) => Some(layer),
            Err(e) => {
                no_journal = Some(e);
                format = LogFormat::Text;
                None
            }
        },
        _ => None,
    };
    let stderr = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let registry = tracing_subscriber::registry().with(filter);
    match format {
        LogFormat::Text => registry
            .with(stderr.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())))
            .init(),
        LogFormat::Json => registry.with(stderr.with_ansi(false).json()).init(),
        LogFormat::Journald => registry.with(journal).init(),
    }
    if format != LogFormat::Text {
        // A panic is an event like the others, not a stray stderr line.
        std::panic::set_hook(Box::new(|panic| {
            tracing::error!(%panic, "xlvsd panicked");
        }));
    }
    if let Some(e) = no_journal {
        tracing::warn!(error = %e, "log_format journald: the journal's socket cannot be reached; logging text to stderr");
    }
    if let Some(why) = bad_rust_log {
        tracing::warn!(rust_log = %why, level = %node.log_level, "RUST_LOG is not a valid filter; using [node] log_level");
    }
    format
}

/// The prefix that gives a stderr line the journal's error priority
/// (sd-daemon(3)): for what xlvsd prints before its log is set up, such
/// as a config it refuses, so `journalctl -p err` shows why it did not
/// start.
pub fn error_prefix() -> &'static str {
    if stderr_is_journal() {
        "<3>"
    } else {
        ""
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_journal_is_the_default_only_when_stderr_is_it() {
        assert_eq!(format(None, true), LogFormat::Journald);
        assert_eq!(format(None, false), LogFormat::Text);
        // What the file says wins, both ways.
        assert_eq!(format(Some(LogFormat::Json), true), LogFormat::Json);
        assert_eq!(format(Some(LogFormat::Text), true), LogFormat::Text);
        assert_eq!(
            format(Some(LogFormat::Journald), false),
            LogFormat::Journald
        );
    }

    #[test]
    fn journal_stream_must_name_stderr_itself() {
        assert!(names_stream("8:12345", 8, 12345));
        assert!(!names_stream("8:12345", 8, 99));
        assert!(!names_stream("8:12345", 9, 12345));
        assert!(!names_stream("garbage", 8, 12345));
        assert!(!names_stream("", 0, 0));
    }

    #[test]
    fn rust_log_wins_over_the_config_level_unless_invalid() {
        let (f, bad) = filter(Some("xlvsd=debug,warn"), LogLevel::Error);
        assert_eq!((f.to_string(), bad), ("xlvsd=debug,warn".into(), None));
        let (f, bad) = filter(None, LogLevel::Debug);
        assert_eq!((f.to_string(), bad), ("debug".into(), None));
        let (f, _) = filter(Some("  "), LogLevel::Warn);
        assert_eq!(f.to_string(), "warn");
        let (f, bad) = filter(Some("xlvsd=loud"), LogLevel::Info);
        assert_eq!(f.to_string(), "info");
        assert!(bad.is_some_and(|b| b.contains("xlvsd=loud")));
    }
}
