//! The two lines of an exchange: a [`Request`] naming a command, and a
//! [`Response`] with its data or an error.

use crate::command::{Command, CommandError};
use serde::{Deserialize, Serialize};

/// The protocol version this crate speaks.
pub const VERSION: u32 = 1;
/// Longest request line accepted; anything longer is refused.
pub const MAX_REQUEST: usize = 64 * 1024;

/// `{"version":1,"command":"drain","args":["web"]}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    pub version: u32,
    pub command: String,
    #[serde(default)]
    pub args: Vec<String>,
}

/// Why a request line is refused.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("malformed request: {0}")]
    Malformed(#[source] serde_json::Error),
    #[error("protocol version {0} is not supported (this xlvsd speaks {VERSION})")]
    Version(u32),
    #[error(transparent)]
    Command(#[from] CommandError),
}

impl Request {
    /// The request that asks `command`, in this version.
    pub fn new(command: &Command) -> Request {
        let (name, args) = command.to_wire();
        Request {
            version: VERSION,
            command: name.to_string(),
            args,
        }
    }

    /// Reads one request line (without its newline) into the command it
    /// asks.
    pub fn parse(line: &str) -> Result<Command, RequestError> {
        let request: Request = serde_json::from_str(line).map_err(RequestError::Malformed)?;
        request.command()
    }

    /// The command, if this version and these arguments make one.
    pub fn command(&self) -> Result<Command, RequestError> {
        if self.version != VERSION {
            return Err(RequestError::Version(self.version));
        }
        Ok(Command::parse(&self.command, &self.args)?)
    }
}

/// `{"ok":true,"data":...}` or `{"ok":false,"error":"..."}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
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

    /// The data (`null` when there is none), or the daemon's error.
    pub fn into_result(self) -> Result<serde_json::Value, String> {
        if self.ok {
            Ok(self.data.unwrap_or_default())
        } else {
            Err(self.error.unwrap_or_else(|| "unknown error".into()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_request_is_one_line_of_json() {
        let r = Request::new(&Command::Drain {
            service: Some("web".into()),
        });
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"version":1,"command":"drain","args":["web"]}"#
        );
        assert_eq!(
            Request::parse(r#"{"version":1,"command":"status","args":[]}"#).unwrap(),
            Command::Status
        );
        // args may be left out, and the keys come in any order
        assert_eq!(
            Request::parse(r#"{"command":"reload","version":1}"#).unwrap(),
            Command::Reload
        );
    }

    #[test]
    fn a_bad_line_says_what_is_wrong() {
        let err = |line: &str| Request::parse(line).unwrap_err();
        assert!(matches!(
            err("this is not json"),
            RequestError::Malformed(_)
        ));
        assert!(err("this is not json")
            .to_string()
            .starts_with("malformed request: "));
        // unknown keys too: a client that sends more expects more
        let e = err(r#"{"version":1,"command":"status","verbose":true}"#);
        assert!(matches!(e, RequestError::Malformed(_)), "{e}");
        let e = err(r#"{"version":9,"command":"status"}"#);
        assert!(matches!(e, RequestError::Version(9)));
        assert_eq!(
            e.to_string(),
            "protocol version 9 is not supported (this xlvsd speaks 1)"
        );
        let e = err(r#"{"version":1,"command":"nope"}"#);
        assert!(matches!(e, RequestError::Command(CommandError::Unknown(_))));
        assert_eq!(e.to_string(), r#"unknown command "nope""#);
    }

    #[test]
    fn responses_as_xlvsd_writes_them() {
        let cases = [
            (
                Response::data(json!({"a": 1})),
                r#"{"ok":true,"data":{"a":1}}"#,
            ),
            (Response::data(json!(null)), r#"{"ok":true,"data":null}"#),
            (Response::error("no"), r#"{"ok":false,"error":"no"}"#),
        ];
        for (r, line) in cases {
            assert_eq!(serde_json::to_string(&r).unwrap(), line);
            let back: Response = serde_json::from_str(line).unwrap();
            assert_eq!(back.clone().into_result(), r.into_result());
        }
        let ok: Response = serde_json::from_str(r#"{"ok":true}"#).unwrap();
        assert_eq!(ok.into_result(), Ok(json!(null)));
        let refused: Response = serde_json::from_str(r#"{"ok":false}"#).unwrap();
        assert_eq!(refused.into_result(), Err("unknown error".into()));
    }
}
