//! Writing node-config TOML by hand, so that every converted value can say
//! in a comment which keepalived setting it came from.

use std::fmt::Write;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Str(String),
    Int(u64),
    Bool(bool),
    List(Vec<Value>),
}

impl Value {
    pub fn str(s: impl Into<String>) -> Value {
        Value::Str(s.into())
    }

    /// A duration as the node config writes it: `6s`, `1500ms`.
    pub fn duration(d: Duration) -> Value {
        Value::Str(if d.subsec_millis() == 0 {
            format!("{}s", d.as_secs())
        } else {
            format!("{}ms", d.as_millis())
        })
    }

    fn render(&self, out: &mut String) {
        match self {
            Value::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Value::Bool(b) => {
                let _ = write!(out, "{b}");
            }
            Value::Str(s) => quote(s, out),
            Value::List(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    v.render(out);
                }
                out.push(']');
            }
        }
    }
}

/// A TOML basic string.
fn quote(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub key: &'static str,
    pub value: Value,
    pub comment: Option<String>,
}

/// One table: `[[service]]`, `[service.health]`, `[[service.real]]`.
#[derive(Debug, Clone)]
pub struct Table {
    pub header: &'static str,
    pub comment: Option<String>,
    pub entries: Vec<Entry>,
}

impl Table {
    pub fn new(header: &'static str) -> Table {
        Table {
            header,
            comment: None,
            entries: Vec::new(),
        }
    }

    pub fn set(&mut self, key: &'static str, value: Value) -> &mut Entry {
        self.entries.push(Entry {
            key,
            value,
            comment: None,
        });
        self.entries.last_mut().expect("just pushed")
    }
}

impl Entry {
    pub fn note(&mut self, comment: impl Into<String>) {
        self.comment = Some(comment.into());
    }
}

/// Comments start in this column when the value leaves room.
const COMMENT_COLUMN: usize = 32;

pub fn render(tables: &[Table], out: &mut String) {
    for t in tables {
        out.push('\n');
        let mut line = t.header.to_string();
        if let Some(c) = &t.comment {
            pad(&mut line);
            let _ = write!(line, "# {c}");
        }
        let _ = writeln!(out, "{line}");
        for e in &t.entries {
            let mut line = format!("{} = ", e.key);
            e.value.render(&mut line);
            if let Some(c) = &e.comment {
                pad(&mut line);
                let _ = write!(line, "# {c}");
            }
            let _ = writeln!(out, "{line}");
        }
    }
}

fn pad(line: &mut String) {
    let width = line.chars().count();
    let target = COMMENT_COLUMN.max(width + 1);
    line.extend(std::iter::repeat_n(' ', target - width));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_comments() {
        let mut t = Table::new("[[service]]");
        t.set("name", Value::str("a \"b\" \\ c"));
        t.set("ports", Value::List(vec![Value::Int(80), Value::Int(443)]))
            .note("two ports");
        t.set("interval", Value::duration(Duration::from_millis(1500)));
        t.set("timeout", Value::duration(Duration::from_secs(3)));
        t.set("alpha", Value::Bool(true));
        let mut out = String::new();
        render(&[t], &mut out);
        assert_eq!(
            out,
            "\n[[service]]\nname = \"a \\\"b\\\" \\\\ c\"\nports = [80, 443]               # two ports\ninterval = \"1500ms\"\ntimeout = \"3s\"\nalpha = true\n"
        );
    }
}
