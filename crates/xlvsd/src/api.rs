//! The control socket protocol, version 1: one JSON object per line each
//! way. A request names a command; a response says ok with data, or not ok
//! with an error. xlvsadm is its client.
//!
//! ```text
//! -> {"version":1,"command":"ospf.neighbors"}
//! -> {"version":1,"command":"ospf.withdraw","args":["192.0.2.10"]}
//! <- {"ok":true,"data":[...]}
//! <- {"ok":false,"error":"unknown command \"x\""}
//! ```

use serde::{Deserialize, Serialize};

pub const VERSION: u32 = 1;
/// Longest request line accepted; anything longer is refused.
pub const MAX_REQUEST: usize = 64 * 1024;

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    pub version: u32,
    pub command: String,
    #[serde(default)]
    pub args: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Response {
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Response {
    pub fn data(value: serde_json::Value) -> Response {
        Response {
            ok: true,
            data: Some(value),
            error: None,
        }
    }

    pub fn error(msg: impl Into<String>) -> Response {
        Response {
            ok: false,
            data: None,
            error: Some(msg.into()),
        }
    }
}
