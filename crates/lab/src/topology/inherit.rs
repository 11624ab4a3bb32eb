//! containerlab's inheritance: node > group > kind > defaults.
//!
//! Scalars (image, cmd, startup-config) and `exec` come from the most
//! specific level that sets them; `env` and `sysctls` merge key by key;
//! `binds` merge by container path, so a node can replace one bind of its
//! kind without repeating the others.

use super::raw;
use std::collections::BTreeMap;

/// A node's settings after inheritance.
#[derive(Debug, Default)]
pub struct Settings {
    pub image: Option<String>,
    pub binds: Vec<String>,
    pub exec: Vec<String>,
    pub env: BTreeMap<String, String>,
    pub cmd: Option<String>,
    pub sysctls: BTreeMap<String, String>,
    pub startup_config: Option<String>,
}

/// Merges `levels`, least specific first.
pub fn merge(levels: &[Option<&raw::Settings>]) -> Settings {
    let mut out = Settings::default();
    for level in levels.iter().flatten() {
        let level = (*level).clone();
        out.image = level.image.or(out.image);
        out.cmd = level.cmd.or(out.cmd);
        out.startup_config = level.startup_config.or(out.startup_config);
        if let Some(exec) = level.exec {
            out.exec = exec;
        }
        for (k, v) in level.env.into_iter().flatten() {
            out.env.insert(k, v.into_string());
        }
        for (k, v) in level.sysctls.into_iter().flatten() {
            out.sysctls.insert(k, v.into_string());
        }
        for bind in level.binds.into_iter().flatten() {
            let target = bind_target(&bind);
            out.binds.retain(|b| bind_target(b) != target);
            out.binds.push(bind);
        }
    }
    out
}

fn bind_target(spec: &str) -> &str {
    spec.split(':').nth(1).unwrap_or(spec)
}
