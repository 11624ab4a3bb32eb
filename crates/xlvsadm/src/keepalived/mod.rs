//! `xlvsadm import-keepalived`: keepalived.conf `virtual_server` blocks as
//! node-config TOML.
//!
//! `lexer` and `tree` read keepalived's brace syntax, `convert` (with
//! `checker`, `health` and `values`) maps the settings, `toml_out` writes
//! the result.
//! Every setting that cannot be carried over is named in [`Notes`], which
//! heads the output as comments.

mod checker;
mod convert;
mod error;
mod health;
mod lexer;
mod notes;
mod toml_out;
mod tree;
mod values;

pub use error::{ImportError, SyntaxError};
pub use notes::Notes;

use std::collections::BTreeSet;
use std::fmt::Write;
use std::net::Ipv4Addr;

/// A converted file.
#[derive(Debug, Clone)]
pub struct Import {
    /// The node config: header comments, the node tables (from the
    /// template, or placeholders), then one `[[service]]` per
    /// virtual_server.
    pub toml: String,
    pub notes: Notes,
}

/// This node's tables, written by the user: `[node]`, `[ospf]`,
/// `[dataplane]` and maybe `[fullnat]`.
pub struct NodeTemplate<'a> {
    /// Where it came from, for the comment above it.
    pub origin: &'a str,
    pub text: &'a str,
}

pub fn import(text: &str, template: Option<NodeTemplate<'_>>) -> Result<Import, ImportError> {
    let tree = tree::parse(text)?;
    let mut notes = Notes::default();
    let mut services = convert::convert(&tree, &mut notes)?;
    unique_names(&mut services);
    if services.is_empty() {
        notes
            .warnings
            .push("no virtual_server could be converted".into());
    }
    let mut out = String::new();
    out.push_str("# Converted from keepalived.conf by `xlvsadm import-keepalived`.\n");
    out.push_str("# Check it with: xlvsd --check-config FILE\n");
    if !notes.not_carried.is_empty() || !notes.warnings.is_empty() {
        out.push_str("#\n");
    }
    for n in &notes.not_carried {
        let _ = writeln!(out, "# not carried over: {n}");
    }
    for w in &notes.warnings {
        let _ = writeln!(out, "# warning: {w}");
    }
    out.push('\n');
    match template {
        Some(t) => {
            let _ = writeln!(out, "# ---- This node, from {} ----", t.origin);
            out.push_str(t.text);
            if !t.text.ends_with('\n') {
                out.push('\n');
            }
        }
        None => placeholders(&services, &mut out),
    }
    out.push_str("\n# ---- Services, from keepalived's virtual_server blocks ----\n");
    for s in &services {
        toml_out::render(&s.tables, &mut out);
    }
    Ok(Import { toml: out, notes })
}

/// Two virtual_servers can only share a name if they are the same service
/// twice, which validation then reports; suffixes keep names unique anyway.
fn unique_names(services: &mut [convert::Service]) {
    let mut seen = BTreeSet::new();
    for s in services {
        let Some(entry) = s.tables[0].entries.iter_mut().find(|e| e.key == "name") else {
            continue;
        };
        let toml_out::Value::Str(name) = &entry.value else {
            continue;
        };
        let mut candidate = name.clone();
        let mut n = 2;
        while !seen.insert(candidate.clone()) {
            candidate = format!("{name}-{n}");
            n += 1;
        }
        entry.value = toml_out::Value::Str(candidate);
    }
}

/// Tables that make the file valid, each value marked as a placeholder.
fn placeholders(services: &[convert::Service], out: &mut String) {
    let vips: BTreeSet<Ipv4Addr> = services.iter().map(|s| s.vip).collect();
    let free = |start: Ipv4Addr| {
        (u32::from(start)..)
            .map(Ipv4Addr::from)
            .find(|a| !vips.contains(a))
            .expect("a free address")
    };
    let router_id = free(Ipv4Addr::new(10, 255, 0, 1));
    out.push_str(
        "# ---- This node: PLACEHOLDERS, fill them in (or use --node-template FILE) ----\n\
         # Every key: docs/config.md\n",
    );
    let _ = write!(
        out,
        "[node]\n\
         name = \"lb1\"                    # placeholder: this director's name\n\
         router_id = \"{router_id}\"        # placeholder: unique per node, never a VIP\n\
         \n\
         [ospf]\n\
         area = \"0.0.0.0\"                # placeholder: the routers' OSPF area\n\
         \n\
         [[ospf.interface]]\n\
         name = \"eth1\"                   # placeholder: the link to an upstream router\n\
         hello_interval = \"1s\"           # must match the router\n\
         dead_interval = \"4s\"\n\
         \n\
         [dataplane]\n\
         interfaces = [\"eth1\"]           # placeholder: XDP attach points, each an OSPF interface\n"
    );
    if services.iter().any(|s| s.forward == "fullnat") {
        let lip = free(Ipv4Addr::new(10, 255, 1, 1));
        let _ = write!(
            out,
            "\n[fullnat]\n\
             local_addresses = [\"{lip}\"]   # placeholder: this node's FULLNAT source addresses\n\
             # LVS FULLNAT forks and DPVS send the client's address to the reals in a\n\
             # TCP option (TOA) with no keepalived keyword; for the same, add\n\
             # client_address = \"toa\" to those [[service]] tables (docs/fullnat.md).\n"
        );
    }
}
