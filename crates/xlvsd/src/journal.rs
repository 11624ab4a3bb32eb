//! Logging to systemd's journal (its native protocol,
//! systemd.io/JOURNAL_NATIVE_PROTOCOL): each event one entry with
//!
//! - `PRIORITY`: error 3, warn 4, info 6, debug and trace 7, so
//!   `journalctl -p warning` shows warnings and errors;
//! - `MESSAGE`: the message and its fields as the text log writes them
//!   (`real server down real=web/10.0.1.21:80 reason=...`), so the
//!   default `journalctl -u` view says which real, VIP or interface;
//! - each field also on its own as `F_<NAME>` (`journalctl F_VIP=...`),
//!   and `SYSLOG_IDENTIFIER=xlvsd`, `TARGET`, `CODE_FILE`, `CODE_LINE`.
//!
//! Not tracing-journald: it puts only the message in MESSAGE, and an
//! event's fields (which real, which error) show only with `-o verbose`;
//! the protocol itself is a datagram of `KEY=VALUE` lines.

use std::fmt::{self, Write as _};
use std::io;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

/// Where journald listens.
pub const SOCKET: &str = "/run/systemd/journal/socket";

/// A message longer than this is cut: an entry must fit one datagram
/// (the protocol's memfd way for larger ones is not worth it for logs).
const MESSAGE_LIMIT: usize = 48 * 1024;

/// The tracing layer that writes to the journal.
pub struct Journal {
    socket: UnixDatagram,
    path: PathBuf,
}

impl Journal {
    /// A layer sending to the journal at `path` ([`SOCKET`]); fails when
    /// nothing listens there.
    pub fn connect(path: &Path) -> io::Result<Journal> {
        let socket = UnixDatagram::unbound()?;
        // An empty datagram: journald ignores it, and a missing journal
        // shows now rather than at the first event.
        socket.send_to(&[], path)?;
        Ok(Journal {
            socket,
            path: path.to_path_buf(),
        })
    }
}

/// The journal's priority (syslog severity) of a tracing level.
pub fn priority(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        Level::DEBUG | Level::TRACE => 7,
    }
}

/// An event's message and fields, as text and as journal fields.
#[derive(Default)]
struct Fields {
    message: String,
    text: String,
    fields: Vec<(String, String)>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_owned();
        } else {
            let _ = write!(self.text, " {}={value:?}", field.name());
            self.fields
                .push((field.name().to_owned(), value.to_owned()));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let value = format!("{value:?}");
        if field.name() == "message" {
            self.message = value;
        } else {
            let _ = write!(self.text, " {}={value}", field.name());
            self.fields.push((field.name().to_owned(), value));
        }
    }
}

/// A journal field name from a tracing field name: upper case letters,
/// digits and `_`, not starting with `_` (those are journald's own).
fn field_name(name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| if c == '.' { '_' } else { c })
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    format!("F_{}", clean.trim_start_matches('_').to_ascii_uppercase())
}

/// Appends `NAME=value`; a value with a newline in the protocol's binary
/// form (`NAME\n`, its length as 64-bit little endian, the bytes, `\n`).
fn put(buf: &mut Vec<u8>, name: &str, value: &str) {
    buf.extend_from_slice(name.as_bytes());
    if value.contains('\n') {
        buf.push(b'\n');
        buf.extend_from_slice(&(value.len() as u64).to_le_bytes());
    } else {
        buf.push(b'=');
    }
    buf.extend_from_slice(value.as_bytes());
    buf.push(b'\n');
}

/// The datagram for one event.
fn entry(meta: &tracing::Metadata<'_>, fields: &Fields) -> Vec<u8> {
    let mut message = format!("{}{}", fields.message, fields.text);
    if message.len() > MESSAGE_LIMIT {
        let mut cut = MESSAGE_LIMIT;
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        message.truncate(cut);
        message.push_str(" [cut]");
    }
    let mut buf = Vec::with_capacity(256 + message.len());
    put(&mut buf, "PRIORITY", &priority(meta.level()).to_string());
    put(&mut buf, "SYSLOG_IDENTIFIER", "xlvsd");
    put(&mut buf, "MESSAGE", &message);
    put(&mut buf, "TARGET", meta.target());
    if let Some(file) = meta.file() {
        put(&mut buf, "CODE_FILE", file);
    }
    if let Some(line) = meta.line() {
        put(&mut buf, "CODE_LINE", &line.to_string());
    }
    for (name, value) in &fields.fields {
        put(&mut buf, &field_name(name), value);
    }
    buf
}

impl<S: Subscriber> Layer<S> for Journal {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let buf = entry(event.metadata(), &fields);
        if let Err(e) = self.socket.send_to(&buf, &self.path) {
            // Under systemd stderr goes to the journal too.
            eprintln!(
                "xlvsd: journal: {e}: {} {}{}",
                event.metadata().level(),
                fields.message,
                fields.text
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::layer::SubscriberExt;

    /// Reads one datagram as the journal would: its fields, in order.
    fn fields(datagram: &[u8]) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut rest = datagram;
        while !rest.is_empty() {
            let eol = rest.iter().position(|&b| b == b'\n').expect("a line");
            let line = &rest[..eol];
            if let Some(eq) = line.iter().position(|&b| b == b'=') {
                let (k, v) = (&line[..eq], &line[eq + 1..]);
                out.push((
                    String::from_utf8_lossy(k).into(),
                    String::from_utf8_lossy(v).into(),
                ));
                rest = &rest[eol + 1..];
            } else {
                let len = u64::from_le_bytes(rest[eol + 1..eol + 9].try_into().unwrap()) as usize;
                let value = &rest[eol + 9..eol + 9 + len];
                assert_eq!(rest[eol + 9 + len], b'\n');
                out.push((
                    String::from_utf8_lossy(line).into(),
                    String::from_utf8_lossy(value).into(),
                ));
                rest = &rest[eol + 10 + len..];
            }
        }
        out
    }

    fn field<'a>(entry: &'a [(String, String)], name: &str) -> Option<&'a str> {
        entry
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Logs through a Journal sending to a socket of the test's, and
    /// returns each entry the "journal" got.
    fn logged(log: impl FnOnce()) -> Vec<Vec<(String, String)>> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.sock");
        let journal = UnixDatagram::bind(&path).unwrap();
        let layer = Journal::connect(&path).unwrap();
        let mut buf = vec![0u8; 65536];
        // The probe datagram.
        assert_eq!(journal.recv(&mut buf).unwrap(), 0);
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, log);
        journal.set_nonblocking(true).unwrap();
        let mut out = Vec::new();
        while let Ok(n) = journal.recv(&mut buf) {
            out.push(fields(&buf[..n]));
        }
        out
    }

    #[test]
    fn an_event_is_one_entry_with_priority_message_and_fields() {
        let entries = logged(|| {
            let real = "web/10.0.1.21:80";
            tracing::warn!(real, reason = %"connection refused", "real server down");
            tracing::info!(interface = "eth1", "XDP attached");
            tracing::error!(error = "a\nb", "reload refused");
        });
        assert_eq!(entries.len(), 3);
        let warn = &entries[0];
        assert_eq!(field(warn, "PRIORITY"), Some("4"));
        assert_eq!(
            field(warn, "MESSAGE"),
            Some("real server down real=\"web/10.0.1.21:80\" reason=connection refused")
        );
        assert_eq!(field(warn, "F_REAL"), Some("web/10.0.1.21:80"));
        assert_eq!(field(warn, "F_REASON"), Some("connection refused"));
        assert_eq!(field(warn, "SYSLOG_IDENTIFIER"), Some("xlvsd"));
        assert!(field(warn, "TARGET").is_some_and(|t| t.starts_with("xlvsd")));
        assert_eq!(field(&entries[1], "PRIORITY"), Some("6"));
        // A value with a newline stays in its one entry.
        let error = &entries[2];
        assert_eq!(field(error, "PRIORITY"), Some("3"));
        assert_eq!(
            field(error, "MESSAGE"),
            Some("reload refused error=\"a\\nb\"")
        );
        assert_eq!(field(error, "F_ERROR"), Some("a\nb"));
    }

    #[test]
    fn a_message_with_newlines_is_sent_whole() {
        let entries = logged(|| tracing::error!("line one\nline two"));
        assert_eq!(field(&entries[0], "MESSAGE"), Some("line one\nline two"));
    }

    #[test]
    fn field_names_are_what_the_journal_accepts() {
        assert_eq!(field_name("vip"), "F_VIP");
        assert_eq!(field_name("_private.key-x"), "F_PRIVATE_KEYX");
    }

    #[test]
    fn no_journal_no_layer() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Journal::connect(&dir.path().join("none.sock")).is_err());
    }
}
