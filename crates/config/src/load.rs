//! From text to [`NodeConfig`]: TOML syntax, then the schema (serde, table
//! by table), then whole-file validation.
//!
//! Each stage reports everything it finds, but a later stage only runs when
//! the earlier ones found nothing: validating a half-read file would report
//! follow-on errors that are not real.

use std::ops::Range;
use std::path::Path;

use serde::de::DeserializeOwned;
use toml::de::{DeTable, DeValue, ValueDeserializer};
use toml::Spanned;

use crate::error::{ConfigError, ConfigErrors, ErrorKind, Issue};
use crate::keypath::{KeyPath, Segment};
use crate::model::NodeConfig;
use crate::raw::{RawConfig, RawOspf, RawReal, RawService};
use crate::span::{DocIndex, LineIndex};
use crate::{optional, validate};

/// Reads and validates the config file at `path`.
pub fn load(path: &Path) -> Result<NodeConfig, ConfigErrors> {
    let file = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => parse(&text, &file),
        Err(e) => Err(ConfigErrors::from(vec![ConfigError {
            file,
            position: None,
            path: KeyPath::root(),
            kind: ErrorKind::Read(e.to_string()),
        }])),
    }
}

/// Parses and validates config `text`; `origin` names it in errors (usually
/// the file name).
pub fn parse(text: &str, origin: &str) -> Result<NodeConfig, ConfigErrors> {
    let lines = LineIndex::new(text);
    let place = |issues: Vec<Issue>, doc: Option<&DocIndex>| {
        let errors = issues
            .into_iter()
            .map(|issue| {
                let span = issue
                    .span
                    .or_else(|| doc.map(|d| d.span_of(&issue.path)))
                    .unwrap_or(0..0);
                ConfigError {
                    file: origin.to_owned(),
                    position: Some(lines.position(span.start)),
                    path: issue.path,
                    kind: issue.kind,
                }
            })
            .collect::<Vec<_>>();
        ConfigErrors::from(errors)
    };

    let (root, syntax) = DeTable::parse_recoverable(text);
    if !syntax.is_empty() {
        let issues = syntax
            .iter()
            .map(|e| Issue {
                path: KeyPath::root(),
                span: e.span(),
                kind: ErrorKind::Syntax(e.message().to_owned()),
            })
            .collect();
        return Err(place(issues, None));
    }

    let doc = DocIndex::new(root.get_ref());
    let root = Spanned::new(root.span(), DeValue::Table(root.into_inner()));
    let mut schema = Schema {
        doc: &doc,
        issues: Vec::new(),
    };
    let raw = schema.config(&root);
    let raw = match raw {
        Some(raw) if schema.issues.is_empty() => raw,
        _ => {
            debug_assert!(!schema.issues.is_empty(), "a table failed without a report");
            return Err(place(schema.issues, Some(&doc)));
        }
    };
    validate::validate(&raw).map_err(|issues| place(issues, Some(&doc)))
}

/// The schema stage: deserializes each table on its own and collects every
/// failure. Methods return `None` after recording why.
struct Schema<'a> {
    doc: &'a DocIndex,
    issues: Vec<Issue>,
}

type Value<'i> = Spanned<DeValue<'i>>;

impl Schema<'_> {
    fn config(&mut self, root: &Value<'_>) -> Option<RawConfig> {
        let top = KeyPath::root();
        // The top level only checks which sections exist; their contents
        // are read below, each on its own.
        let config = self.table::<RawConfig>(root, &top);
        let node = self.child(root, &top, "node", Self::table);
        let ospf = self.child(root, &top, "ospf", Self::ospf);
        let dataplane = self.child(root, &top, "dataplane", Self::table);
        let fullnat = self.child(root, &top, "fullnat", Self::table);
        let metrics = self.child(root, &top, "metrics", Self::table);
        let cluster = self.child(root, &top, "cluster", Self::table);
        let services = self.child(root, &top, "service", |s, v, p| {
            s.array(v, p, Self::service)
        });
        let node = self.required(node, &top, "node");
        let ospf = self.required(ospf, &top, "ospf");
        let dataplane = self.required(dataplane, &top, "dataplane");

        let mut config = config?;
        config.node.0 = node?;
        config.ospf.0 = ospf?;
        config.dataplane.0 = dataplane?;
        config.fullnat.0 = optional(fullnat)?;
        config.metrics.0 = optional(metrics)?;
        config.cluster.0 = optional(cluster)?;
        config.service.0 = optional(services)?.unwrap_or_default();
        Some(config)
    }

    fn ospf(&mut self, value: &Value<'_>, path: &KeyPath) -> Option<RawOspf> {
        let ospf = self.table::<RawOspf>(value, path);
        let interfaces = self.child(value, path, "interface", |s, v, p| {
            s.array(v, p, Self::table)
        });
        let mut ospf = ospf?;
        ospf.interface.0 = optional(interfaces)?.unwrap_or_default();
        Some(ospf)
    }

    fn service(&mut self, value: &Value<'_>, path: &KeyPath) -> Option<RawService> {
        let service = self.table::<RawService>(value, path);
        let health = self.child(value, path, "health", Self::table);
        let reals = self.child(value, path, "real", |s, v, p| s.array(v, p, Self::real));
        let mut service = service?;
        service.health.0 = optional(health)?.unwrap_or_default();
        service.real.0 = optional(reals)?.unwrap_or_default();
        Some(service)
    }

    fn real(&mut self, value: &Value<'_>, path: &KeyPath) -> Option<RawReal> {
        let real = self.table::<RawReal>(value, path);
        let health = self.child(value, path, "health", Self::table);
        let mut real = real?;
        real.health.0 = optional(health)?;
        Some(real)
    }

    /// Runs `read` on `table.key` if present. The outer `Option` is whether
    /// the key exists, the inner one whether reading succeeded.
    fn child<T>(
        &mut self,
        table: &Value<'_>,
        path: &KeyPath,
        key: &str,
        read: impl FnOnce(&mut Self, &Value<'_>, &KeyPath) -> Option<T>,
    ) -> Option<Option<T>> {
        let value = table.get_ref().get(key)?;
        Some(read(self, value, &path.key(key)))
    }

    /// The result of [`Self::child`] for a key that must be present.
    fn required<T>(&mut self, read: Option<Option<T>>, path: &KeyPath, key: &str) -> Option<T> {
        if read.is_none() {
            self.issues
                .push(Issue::at(path.key(key), ErrorKind::MissingKey));
        }
        read?
    }

    /// Reads every element of an array of tables, even after a failure.
    fn array<T>(
        &mut self,
        value: &Value<'_>,
        path: &KeyPath,
        mut read: impl FnMut(&mut Self, &Value<'_>, &KeyPath) -> Option<T>,
    ) -> Option<Vec<T>> {
        let Some(items) = value.get_ref().as_array() else {
            let header = header(path, true);
            let kind = ErrorKind::NotArrayOfTables { header };
            self.issues.push(Issue {
                path: path.clone(),
                span: Some(value.span()),
                kind,
            });
            return None;
        };
        let read: Vec<Option<T>> = items
            .iter()
            .enumerate()
            .map(|(i, item)| read(self, item, &path.index(i)))
            .collect();
        read.into_iter().collect()
    }

    /// Deserializes the table at `path` with serde; on failure records the
    /// error.
    fn table<T: DeserializeOwned>(&mut self, value: &Value<'_>, path: &KeyPath) -> Option<T> {
        // Checked here because serde would also accept an array for a
        // struct and then complain about its first element.
        if !value.get_ref().is_table() {
            let in_array = matches!(path.segments().last(), Some(Segment::Index(_)));
            let header = header(path, in_array);
            self.issues.push(Issue {
                path: path.clone(),
                span: Some(value.span()),
                kind: ErrorKind::NotTable { header },
            });
            return None;
        }
        match T::deserialize(ValueDeserializer::from(value.clone())) {
            Ok(v) => Some(v),
            Err(e) => {
                let issue = self.serde_issue(&e, value.span(), path);
                self.issues.push(issue);
                None
            }
        }
    }

    /// Turns a serde error into an issue at the key its span points to, with
    /// serde's wording adapted to a config file.
    fn serde_issue(&self, e: &toml::de::Error, whole: Range<usize>, whole_path: &KeyPath) -> Issue {
        let span = e.span().unwrap_or_else(|| whole.clone());
        // An error about the value as a whole (a missing key, a wrong type)
        // carries the value's own span; look up anything more specific.
        let path = if span == whole {
            whole_path.clone()
        } else {
            self.doc.path_at(span.start)
        };
        let message = e.message();
        if let Some(key) = between(message, "missing field `", "`") {
            return Issue {
                path: path.key(key),
                span: Some(span),
                kind: ErrorKind::MissingKey,
            };
        }
        if message.starts_with("unknown field `") {
            let expected = message
                .split_once(", expected ")
                .map_or("no keys here", |(_, rest)| rest);
            return Issue {
                path,
                span: Some(span),
                kind: ErrorKind::UnknownKey {
                    expected: expected.to_owned(),
                },
            };
        }
        let mut message = message.to_owned();
        if message == "invalid IPv4 address syntax" {
            message.push_str(" (xlvs is IPv4-only: write a.b.c.d)");
        }
        Issue {
            path,
            span: Some(span),
            kind: ErrorKind::Invalid(message),
        }
    }
}

/// The TOML header that declares `path`: `[node]`, `[[service.real]]`.
fn header(path: &KeyPath, array: bool) -> String {
    let keys: Vec<&str> = path
        .segments()
        .iter()
        .filter_map(|s| match s {
            Segment::Key(k) => Some(k.as_str()),
            Segment::Index(_) => None,
        })
        .collect();
    let name = keys.join(".");
    if array {
        format!("[[{name}]]")
    } else {
        format!("[{name}]")
    }
}

/// The text between `prefix` (at the start of `s`) and the next `end`.
fn between<'s>(s: &'s str, prefix: &str, end: &str) -> Option<&'s str> {
    let rest = s.strip_prefix(prefix)?;
    rest.split_once(end).map(|(inside, _)| inside)
}
