//! Durations written as humantime strings: "500ms", "2s", "5m", "1h 30m".

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};

/// For `#[serde(deserialize_with = "duration::required")]`.
pub(crate) fn required<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    d.deserialize_str(DurationVisitor)
}

/// For `Option<Duration>` fields that also carry `#[serde(default)]`.
pub(crate) fn optional<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    required(d).map(Some)
}

struct DurationVisitor;

impl Visitor<'_> for DurationVisitor {
    type Value = Duration;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a duration string such as \"500ms\", \"2s\" or \"5m\"")
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Duration, E> {
        humantime::parse_duration(s).map_err(|e| {
            E::custom(format_args!(
                "invalid duration \"{s}\": {e} (write e.g. \"500ms\", \"2s\", \"5m\")"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct T {
        #[serde(deserialize_with = "required")]
        d: Duration,
    }

    #[test]
    fn parses() {
        let t: T = toml::from_str("d = \"1m 500ms\"").unwrap();
        assert_eq!(t.d, Duration::from_millis(60_500));
        let e = toml::from_str::<T>("d = \"2 parsecs\"").err().unwrap();
        assert!(e.message().contains("invalid duration"), "{e}");
        let e = toml::from_str::<T>("d = 2").err().unwrap();
        assert!(e.message().contains("duration string"), "{e}");
    }
}
