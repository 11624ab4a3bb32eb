//! The containerlab file as written, before inheritance and validation.
//!
//! Every struct keeps the keys it does not know in `other`, so that
//! validation can accept the ones that do not change the network (labels,
//! management settings) and name every other one as unsupported.

use serde::Deserialize;
use serde_yaml_ng::Value;
use std::collections::BTreeMap;

pub type Extra = BTreeMap<String, Value>;

#[derive(Debug, Deserialize)]
pub struct RawFile {
    pub name: Option<String>,
    pub topology: Option<RawTopology>,
    #[serde(flatten)]
    pub other: Extra,
}

#[derive(Debug, Default, Deserialize)]
pub struct RawTopology {
    pub defaults: Option<Settings>,
    #[serde(default)]
    pub kinds: BTreeMap<String, Settings>,
    #[serde(default)]
    pub groups: BTreeMap<String, Settings>,
    #[serde(default)]
    pub nodes: BTreeMap<String, Option<Settings>>,
    #[serde(default)]
    pub links: Vec<RawLink>,
    #[serde(flatten)]
    pub other: Extra,
}

/// Settings a node can carry; `defaults`, `kinds` and `groups` use the same
/// shape and are inherited node > group > kind > defaults.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct Settings {
    pub kind: Option<String>,
    pub group: Option<String>,
    pub image: Option<String>,
    pub binds: Option<Vec<String>>,
    pub exec: Option<Vec<String>>,
    pub env: Option<BTreeMap<String, Scalar>>,
    pub cmd: Option<String>,
    pub sysctls: Option<BTreeMap<String, Scalar>>,
    #[serde(rename = "startup-config")]
    pub startup_config: Option<String>,
    #[serde(flatten)]
    pub other: Extra,
}

/// YAML lets `env` and `sysctls` values be numbers or booleans; both become
/// strings, as containerlab does.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Scalar {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
}

impl Scalar {
    pub fn into_string(self) -> String {
        match self {
            Scalar::Str(s) => s,
            Scalar::Int(i) => i.to_string(),
            Scalar::Float(f) => f.to_string(),
            Scalar::Bool(b) => b.to_string(),
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct RawLink {
    #[serde(rename = "type")]
    pub link_type: Option<String>,
    #[serde(default)]
    pub endpoints: Vec<RawEndpoint>,
    pub mtu: Option<u32>,
    #[serde(flatten)]
    pub other: Extra,
}

/// `"r1:eth1"` (brief form) or `{node, interface, mac}` (extended form).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawEndpoint {
    Brief(String),
    Extended(ExtendedEndpoint),
}

#[derive(Debug, Deserialize)]
pub struct ExtendedEndpoint {
    pub node: String,
    pub interface: String,
    pub mac: Option<String>,
    #[serde(flatten)]
    pub other: Extra,
}
