use crate::topology::TopologyErrors;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error(transparent)]
    Invalid(#[from] TopologyErrors),
    #[error("xlvs-lab needs root to create network namespaces (run it as root)")]
    NotRoot,
    #[error("lab {lab} is already up (namespace {netns} exists); run `xlvs-lab down` first")]
    AlreadyUp { lab: String, netns: String },
    #[error("lab {lab} is not up")]
    NotUp { lab: String },
    #[error("node {node} is not in this lab")]
    UnknownNode { node: String },
    #[error("{tool} not found: {hint}")]
    MissingTool { tool: String, hint: String },
    #[error("`{cmd}` failed ({status}): {output}")]
    Command {
        cmd: String,
        status: String,
        output: String,
    },
    #[error("cannot run `{what}`: {source}")]
    Spawn {
        what: String,
        source: std::io::Error,
    },
    #[error("`{process}` exited right after it started; its output:\n{log}")]
    ProcessExited { process: String, log: String },
    #[error("timed out waiting for {what}")]
    Timeout { what: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("node {node}: {source}")]
    Node { node: String, source: Box<LabError> },
    #[error("bad state file {path}: {why}")]
    State { path: String, why: String },
}

impl LabError {
    pub fn io(path: &Path, source: std::io::Error) -> LabError {
        LabError::Io {
            path: path.display().to_string(),
            source,
        }
    }

    /// Says which node an error happened on.
    pub fn on(self, node: &str) -> LabError {
        LabError::Node {
            node: node.to_string(),
            source: Box::new(self),
        }
    }
}
