//! Loading a node config and reporting its errors the way `--check-config`
//! prints them.

use std::path::Path;
use std::process::ExitCode;

use xlvs_config::NodeConfig;

/// Exit status for a config that does not load.
pub const INVALID: ExitCode = ExitCode::FAILURE;

/// Loads and validates `path`. On failure prints every error on stderr, one
/// per line, then a count line `FILE: N errors`, and returns `None`.
pub fn load(path: &Path) -> Option<NodeConfig> {
    match xlvs_config::load(path) {
        Ok(config) => Some(config),
        Err(errors) => {
            eprintln!("{errors}");
            let n = errors.len();
            let noun = if n == 1 { "error" } else { "errors" };
            eprintln!("{}: {n} {noun}", path.display());
            None
        }
    }
}
