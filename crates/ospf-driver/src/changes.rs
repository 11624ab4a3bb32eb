//! What a new list of interfaces changes against the running one, by name.

use super::InterfaceSpec;

/// Interfaces a reconfiguration adds, removes, and changes. A changed
/// interface is removed and added again (see `reconfig.rs` in the core);
/// one whose BFD setting alone changed keeps its adjacencies, and its
/// sessions take the new setting live; the ones not listed are left alone.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct InterfaceChanges {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<String>,
    pub bfd: Vec<String>,
}

impl InterfaceChanges {
    pub fn plan(old: &[InterfaceSpec], new: &[InterfaceSpec]) -> InterfaceChanges {
        let find = |list: &[InterfaceSpec], name: &str| -> Option<InterfaceSpec> {
            list.iter().find(|s| s.name == name).cloned()
        };
        let mut c = InterfaceChanges::default();
        for n in new {
            match find(old, &n.name) {
                None => c.added.push(n.name.clone()),
                // BFD runs beside OSPF: changing it restarts nothing.
                Some(o) if !o.same_ospf(n) => c.changed.push(n.name.clone()),
                Some(o) if o.bfd != n.bfd => c.bfd.push(n.name.clone()),
                Some(_) => {}
            }
        }
        c.removed = old
            .iter()
            .filter(|o| find(new, &o.name).is_none())
            .map(|o| o.name.clone())
            .collect();
        c
    }

    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.changed.is_empty()
            && self.bfd.is_empty()
    }
}

impl std::fmt::Display for InterfaceChanges {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = [
            ("added", &self.added),
            ("removed", &self.removed),
            ("changed (restarted)", &self.changed),
            ("BFD changed (live)", &self.bfd),
        ]
        .into_iter()
        .filter(|(_, names)| !names.is_empty())
        .map(|(what, names)| format!("{} {what}", names.join(", ")))
        .collect();
        if parts.is_empty() {
            f.write_str("unchanged")
        } else {
            f.write_str(&parts.join("; "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use xlvs_ospf::{Auth, NetworkType};

    fn spec(name: &str, cost: u16) -> InterfaceSpec {
        InterfaceSpec {
            name: name.into(),
            network: NetworkType::PointToPoint,
            cost,
            hello_interval: 1,
            dead_interval: 4,
            mtu_ignore: false,
            auth: Auth::None,
            bfd: None,
        }
    }

    #[test]
    fn added_removed_and_changed_by_name() {
        let old = [spec("eth1", 10), spec("eth2", 10), spec("eth3", 10)];
        let new = [spec("eth3", 10), spec("eth1", 20), spec("eth4", 10)];
        let c = InterfaceChanges::plan(&old, &new);
        assert_eq!(c.added, ["eth4"]);
        assert_eq!(c.removed, ["eth2"]);
        assert_eq!(c.changed, ["eth1"]);
        assert_eq!(
            c.to_string(),
            "eth4 added; eth2 removed; eth1 changed (restarted)"
        );
        let same = InterfaceChanges::plan(&old, &old);
        assert!(same.is_empty());
        assert_eq!(same.to_string(), "unchanged");
    }

    #[test]
    fn a_bfd_change_alone_restarts_nothing() {
        let fast = xlvs_bfd::SessionConfig::new(std::time::Duration::from_millis(100), 3).ok();
        let old = [spec("eth1", 10), spec("eth2", 10)];
        let mut new = old.clone();
        new[0].bfd = fast;
        new[1].bfd = fast;
        new[1].cost = 20;
        let c = InterfaceChanges::plan(&old, &new);
        assert_eq!(c.changed, ["eth2"], "eth2's cost changed: restarted");
        assert_eq!(c.bfd, ["eth1"]);
        assert_eq!(
            c.to_string(),
            "eth2 changed (restarted); eth1 BFD changed (live)"
        );
    }
}
