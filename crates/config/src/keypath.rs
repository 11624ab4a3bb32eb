//! Key paths: where a value lives in the file, written the way an operator
//! would point at it, e.g. `service[1].real[0].weight`.

use std::fmt;

/// One step of a [`KeyPath`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Segment {
    /// A table key, e.g. `service` or `weight`.
    Key(String),
    /// A 0-based position in an array (of tables or of values), e.g. `[1]`.
    Index(usize),
}

/// A path from the top of the file to a key or array element.
///
/// Displayed as keys joined by `.` with array positions in brackets:
/// `service[1].real[0].weight`, `ospf.interface[0].dead_interval`,
/// `dataplane.interfaces[2]`. Array positions count from 0 in file order.
/// The empty path is the top level of the file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct KeyPath(Vec<Segment>);

impl KeyPath {
    /// The top level of the file.
    pub fn root() -> Self {
        Self::default()
    }

    /// This path extended by a table key.
    pub fn key(&self, key: &str) -> Self {
        self.with(Segment::Key(key.to_owned()))
    }

    /// This path extended by an array position.
    pub fn index(&self, index: usize) -> Self {
        self.with(Segment::Index(index))
    }

    /// The steps of the path, outermost first.
    pub fn segments(&self) -> &[Segment] {
        &self.0
    }

    /// True for the top level of the file.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The enclosing path, `None` at the top level.
    pub fn parent(&self) -> Option<Self> {
        let (_, rest) = self.0.split_last()?;
        Some(Self(rest.to_vec()))
    }

    fn with(&self, segment: Segment) -> Self {
        let mut segments = self.0.clone();
        segments.push(segment);
        Self(segments)
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Index(index) => write!(f, "[{index}]")?,
                Segment::Key(key) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    write_key(f, key)?;
                }
            }
        }
        Ok(())
    }
}

/// Writes a key bare when TOML would accept it bare, quoted otherwise, so a
/// mistyped key such as `"web server"` is shown exactly as it must be written.
fn write_key(f: &mut fmt::Formatter<'_>, key: &str) -> fmt::Result {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        f.write_str(key)
    } else {
        write!(f, "{key:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display() {
        let p = KeyPath::root()
            .key("service")
            .index(1)
            .key("real")
            .index(0)
            .key("weight");
        assert_eq!(p.to_string(), "service[1].real[0].weight");
        assert_eq!(
            KeyPath::root()
                .key("dataplane")
                .key("interfaces")
                .index(2)
                .to_string(),
            "dataplane.interfaces[2]"
        );
        assert_eq!(KeyPath::root().key("a b").to_string(), "\"a b\"");
        assert_eq!(KeyPath::root().to_string(), "");
    }

    #[test]
    fn parent() {
        let p = KeyPath::root().key("ospf").key("interface").index(0);
        assert_eq!(p.parent().unwrap().to_string(), "ospf.interface");
        assert_eq!(KeyPath::root().parent(), None);
    }
}
