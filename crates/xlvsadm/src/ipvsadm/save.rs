//! `-S`: the table as the ipvsadm commands that recreate it, which `-R`
//! reads back. The lines are the ops' canonical form (`Display` of
//! [`IpvsOp`]), so save and restore cannot drift apart.

use std::collections::BTreeMap;
use std::fmt::Write;
use xlvs_api::ipvs::{IpvsOp, IpvsTable, RealSpec, ServiceSpec};

/// The commands that rebuild `table`, in listing order: each service, then
/// its reals.
pub fn ops(table: &IpvsTable) -> Vec<IpvsOp> {
    let mut out = Vec::new();
    for s in table.services_in_order(true) {
        out.push(IpvsOp::AddService(ServiceSpec {
            service: s.key(),
            scheduler: s.scheduler,
            persistence: s.persistent,
        }));
        // A sorry server is no real: restoring it as one would send it
        // traffic while the reals are up.
        for r in s
            .reals_in_order(true)
            .into_iter()
            .filter(|r| !r.sorry_server)
        {
            out.push(IpvsOp::AddReal {
                service: s.key(),
                real: RealSpec {
                    address: r.address,
                    port: r.port,
                    forward: Some(r.forward),
                    weight: Some(r.weight),
                },
            });
        }
    }
    out
}

/// `-S` output. A node-config service with several ports gets a comment,
/// since ipvsadm lines can only express it as separate services.
pub fn render(table: &IpvsTable) -> String {
    let mut ports: BTreeMap<&str, Vec<u16>> = BTreeMap::new();
    for s in &table.services {
        if let Some(name) = &s.name {
            ports.entry(name).or_default().push(s.port);
        }
    }
    for group in ports.values_mut() {
        group.sort_unstable();
    }
    let mut out = String::new();
    for op in ops(table) {
        if let IpvsOp::AddService(spec) = &op {
            let entry = table.service(&spec.service).expect("from this table");
            if let Some(group) = entry.name.as_deref().and_then(|n| ports.remove_entry(n)) {
                if group.1.len() > 1 {
                    let list: Vec<String> = group.1.iter().map(u16::to_string).collect();
                    let _ = writeln!(
                        out,
                        "# node-config service {} has ports {}: restored, they are separate services",
                        group.0,
                        list.join(" ")
                    );
                }
            }
        }
        let _ = writeln!(out, "{op}");
    }
    out
}
