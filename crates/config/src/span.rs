//! Positions in the source text: byte spans to line:column, and key paths to
//! spans and back.
//!
//! Serde errors come with a byte span but no usable key path; semantic errors
//! come with a key path but no span. [`DocIndex`] answers both directions
//! from one walk over the spanned document.

use std::ops::Range;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::keypath::KeyPath;

/// A 1-based line and column. The column counts characters, not bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

/// Converts byte offsets of one text into [`Position`]s.
pub(crate) struct LineIndex<'a> {
    text: &'a str,
    /// Byte offset where each line starts.
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Self { text, starts }
    }

    pub(crate) fn position(&self, offset: usize) -> Position {
        let offset = offset.min(self.text.len());
        // `starts[0] == 0`, so at least one start is <= offset.
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        let start = self.starts[line - 1];
        // A span never splits a character, but stay safe if one ever did.
        let column = match self.text.get(start..offset) {
            Some(prefix) => prefix.chars().count(),
            None => offset - start,
        };
        Position {
            line,
            column: column + 1,
        }
    }
}

/// Every key of a parsed document with the spans of its key and its value.
pub(crate) struct DocIndex {
    entries: Vec<Entry>,
}

struct Entry {
    path: KeyPath,
    /// `None` for array elements, which have no key of their own.
    key: Option<Range<usize>>,
    /// For a `[table]` or `[[array]]` element this is its header line.
    value: Range<usize>,
}

impl DocIndex {
    pub(crate) fn new(root: &DeTable<'_>) -> Self {
        let mut entries = Vec::new();
        walk_table(root, &KeyPath::root(), &mut entries);
        Self { entries }
    }

    /// The span to point at for `path`: its value, or if the key is absent
    /// (a defaulted or missing key) the closest enclosing table that exists.
    pub(crate) fn span_of(&self, path: &KeyPath) -> Range<usize> {
        let mut path = Some(path.clone());
        while let Some(p) = path {
            if let Some(entry) = self.entries.iter().find(|e| e.path == p) {
                return entry.value.clone();
            }
            path = p.parent();
        }
        0..0
    }

    /// The most specific key whose key or value span contains `offset`.
    pub(crate) fn path_at(&self, offset: usize) -> KeyPath {
        let contains = |r: &Range<usize>| r.start <= offset && offset < r.end.max(r.start + 1);
        let mut best: Option<(&Entry, usize)> = None;
        for entry in &self.entries {
            let hit = [entry.key.as_ref(), Some(&entry.value)]
                .into_iter()
                .flatten()
                .filter(|r| contains(r))
                .map(ExactSizeIterator::len)
                .min();
            // `<=`: on a tie the later entry is the deeper one, e.g. `service[0]`
            // shares its header span with `service`.
            if let Some(len) = hit {
                if best.is_none_or(|(_, b)| len <= b) {
                    best = Some((entry, len));
                }
            }
        }
        best.map(|(e, _)| e.path.clone()).unwrap_or_default()
    }
}

fn walk_table(table: &DeTable<'_>, path: &KeyPath, out: &mut Vec<Entry>) {
    for (key, value) in table.iter() {
        let path = path.key(key.get_ref());
        out.push(Entry {
            path: path.clone(),
            key: Some(key.span()),
            value: value.span(),
        });
        walk_value(value, &path, out);
    }
}

fn walk_value(value: &Spanned<DeValue<'_>>, path: &KeyPath, out: &mut Vec<Entry>) {
    match value.get_ref() {
        DeValue::Table(table) => walk_table(table, path, out),
        DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let path = path.index(i);
                out.push(Entry {
                    path: path.clone(),
                    key: None,
                    value: item.span(),
                });
                walk_value(item, &path, out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions() {
        let text = "a = 1\nbé = 2\n\nc";
        let idx = LineIndex::new(text);
        assert_eq!(idx.position(0), Position { line: 1, column: 1 });
        assert_eq!(idx.position(4), Position { line: 1, column: 5 });
        assert_eq!(idx.position(6), Position { line: 2, column: 1 });
        // `é` is two bytes but one column.
        assert_eq!(idx.position(10), Position { line: 2, column: 4 });
        assert_eq!(idx.position(14), Position { line: 3, column: 1 });
        assert_eq!(idx.position(15), Position { line: 4, column: 1 });
        assert_eq!(idx.position(999), Position { line: 4, column: 2 });
        assert_eq!(
            LineIndex::new("").position(3),
            Position { line: 1, column: 1 }
        );
    }

    #[test]
    fn paths_and_spans() {
        let text =
            "[[service]]\nname = \"a\"\n[[service.real]]\nweight = 3\n[[service]]\nname = \"b\"\n";
        let root = DeTable::parse(text).unwrap();
        let idx = DocIndex::new(root.get_ref());
        let weight = text.find('3').unwrap();
        assert_eq!(idx.path_at(weight).to_string(), "service[0].real[0].weight");
        assert_eq!(
            idx.path_at(text.find("weight").unwrap()).to_string(),
            "service[0].real[0].weight"
        );
        let second = text.rfind("[[service]]").unwrap();
        assert_eq!(idx.path_at(second).to_string(), "service[1]");
        let name_b = KeyPath::root().key("service").index(1).key("name");
        assert_eq!(idx.span_of(&name_b).start, text.find("\"b\"").unwrap());
        // Absent key: falls back to the enclosing table's header.
        assert_eq!(
            idx.span_of(&KeyPath::root().key("service").index(1).key("vip"))
                .start,
            second
        );
        assert_eq!(idx.span_of(&KeyPath::root().key("nope")), 0..0);
    }
}
