//! Node configuration for `xlvsd`: schema, parsing and whole-file validation.
//!
//! One TOML file per node (see `docs/config.md`). [`load`] and [`parse`]
//! return either a fully validated [`NodeConfig`] or [`ConfigErrors`], every
//! problem found, each with file, line, column and [`KeyPath`].
//!
//! Stages, one module each: `span` (positions), `raw` (serde types that
//! mirror the file), `load` (syntax and schema, table by table), `validate`
//! (whole-file rules, and conversion to the `model` types).

/// Gives a config enum `as_str` and `Display` with the spelling used in the
/// file. The serde spelling comes from `rename_all`; the `names_match_serde`
/// tests keep the two in step.
macro_rules! file_names {
    ($ty:ty { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            /// The value as written in the config file.
            pub fn as_str(&self) -> &'static str {
                match self {
                    $(Self::$variant => $name),+
                }
            }
        }

        impl ::std::fmt::Display for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// For an optional key that was checked: absent gives `Some(None)`, present
/// and valid `Some(Some(v))`, present but invalid `None` (so `?` fails).
fn optional<T>(checked: Option<Option<T>>) -> Option<Option<T>> {
    match checked {
        None => Some(None),
        Some(v) => v.map(Some),
    }
}

mod duration;
mod error;
mod keypath;
mod load;
mod model;
mod raw;
mod span;
mod validate;
mod vocabulary;

pub use error::{ConfigError, ConfigErrors, ErrorKind};
pub use keypath::{KeyPath, Segment};
pub use load::{load, parse};
pub use model::*;
pub use span::Position;
pub use vocabulary::{ClientAddress, Forward, Protocol, Scheduler};

/// A valid node without services (lb1, OSPF and XDP on eth1), for tests
/// in any crate to append `[[service]]` tables to.
pub const EXAMPLE_NODE: &str = r#"
[node]
name = "lb1"
router_id = "10.255.0.11"

[ospf]
[[ospf.interface]]
name = "eth1"

[dataplane]
interfaces = ["eth1"]
"#;
