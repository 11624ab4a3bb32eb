//! How the control protocol spells the shared enums: as ipvsadm lists
//! them (`"TCP"`, `"Route"`, `"mh"`). Their serde derive in xlvs-config is
//! the node config file's spelling (`tcp`, `dr`), so every wire field of
//! one of them names this module: `#[serde(with = "crate::spelling")]`,
//! or `crate::spelling::option` for an `Option`.

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;
use std::marker::PhantomData;
use xlvs_config::{Forward, Protocol, Scheduler};

/// An enum with a word on the wire for each value.
pub trait Spelled: Sized + Copy + 'static {
    /// Every value, in the order an error lists them.
    fn all() -> &'static [Self];
    fn word(self) -> &'static str;
}

impl Spelled for Protocol {
    fn all() -> &'static [Self] {
        &Protocol::ALL
    }
    fn word(self) -> &'static str {
        self.ipvsadm_name()
    }
}

impl Spelled for Forward {
    fn all() -> &'static [Self] {
        &Forward::ALL
    }
    fn word(self) -> &'static str {
        self.ipvsadm_name()
    }
}

impl Spelled for Scheduler {
    fn all() -> &'static [Self] {
        &Scheduler::ALL
    }
    fn word(self) -> &'static str {
        self.as_str()
    }
}

pub fn serialize<T: Spelled, S: Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(value.word())
}

pub fn deserialize<'de, T: Spelled, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
    Word::deserialize(d).map(|w| w.0)
}

/// For `Option` fields (`null` on the wire for `None`).
pub mod option {
    use super::*;

    pub fn serialize<T: Spelled, S: Serializer>(
        value: &Option<T>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        value.map(Word).serialize(s)
    }

    pub fn deserialize<'de, T: Spelled, D: Deserializer<'de>>(d: D) -> Result<Option<T>, D::Error> {
        Option::<Word<T>>::deserialize(d).map(|o| o.map(|w| w.0))
    }
}

/// A value with its wire spelling as its serde form.
#[derive(Clone, Copy)]
struct Word<T>(T);

impl<T: Spelled> Serialize for Word<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.word())
    }
}

impl<'de, T: Spelled> Deserialize<'de> for Word<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(WordVisitor(PhantomData))
    }
}

struct WordVisitor<T>(PhantomData<T>);

impl<T: Spelled> Visitor<'_> for WordVisitor<T> {
    type Value = Word<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", Choices::<T>(PhantomData))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Word<T>, E> {
        let found = T::all().iter().find(|x| x.word() == v);
        // Worded as serde words an unknown enum variant, as the derived
        // enums of protocol version 1 answered.
        found.map(|x| Word(*x)).ok_or_else(|| {
            E::custom(format_args!(
                "unknown variant `{v}`, expected {}",
                Choices::<T>(PhantomData)
            ))
        })
    }
}

/// "`TCP` or `UDP`", "one of `rr`, `wrr`, ...".
struct Choices<T>(PhantomData<T>);

impl<T: Spelled> fmt::Display for Choices<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match T::all() {
            [a, b] => write!(f, "`{}` or `{}`", a.word(), b.word()),
            all => {
                f.write_str("one of ")?;
                for (i, x) in all.iter().enumerate() {
                    let sep = if i == 0 { "" } else { ", " };
                    write!(f, "{sep}`{}`", x.word())?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Fields {
        #[serde(with = "crate::spelling")]
        protocol: Protocol,
        #[serde(with = "crate::spelling")]
        scheduler: Scheduler,
        #[serde(default, with = "crate::spelling::option")]
        forward: Option<Forward>,
    }

    #[test]
    fn every_value_is_spelled_as_ipvsadm_lists_it_and_read_back() {
        let words = |all: Vec<String>| all.join(" ");
        let mut seen = Vec::new();
        for protocol in Protocol::ALL {
            for scheduler in Scheduler::ALL {
                for forward in Forward::ALL.map(Some).into_iter().chain([None]) {
                    let f = Fields {
                        protocol,
                        scheduler,
                        forward,
                    };
                    let json = serde_json::to_string(&f).unwrap();
                    assert_eq!(serde_json::from_str::<Fields>(&json).unwrap(), f);
                    seen.push(json);
                }
            }
        }
        assert_eq!(
            seen[0],
            r#"{"protocol":"TCP","scheduler":"rr","forward":"Route"}"#
        );
        assert!(seen.contains(&r#"{"protocol":"UDP","scheduler":"twos","forward":null}"#.into()));
        let forwards: Vec<String> = Forward::ALL
            .iter()
            .map(|f| serde_json::to_string(&Word(*f)).unwrap())
            .collect();
        assert_eq!(words(forwards), r#""Route" "Tunnel" "Masq" "FullNat""#);
        // An absent Option is None, as for a derived field.
        let f: Fields = serde_json::from_str(r#"{"protocol":"UDP","scheduler":"mh"}"#).unwrap();
        assert_eq!(f.forward, None);
    }

    #[test]
    fn the_file_spelling_is_not_the_wire_spelling() {
        let err = serde_json::from_str::<Fields>(r#"{"protocol":"tcp","scheduler":"mh"}"#)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "unknown variant `tcp`, expected `TCP` or `UDP` at line 1 column 17"
        );
        let err =
            serde_json::from_str::<Fields>(r#"{"protocol":"TCP","scheduler":"mh","forward":"dr"}"#)
                .unwrap_err()
                .to_string();
        assert!(
            err.starts_with(
                "unknown variant `dr`, expected one of `Route`, `Tunnel`, `Masq`, `FullNat`"
            ),
            "{err}"
        );
        let err = serde_json::from_str::<Fields>(r#"{"protocol":"TCP","scheduler":7}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("expected one of `rr`, `wrr`"), "{err}");
    }
}
