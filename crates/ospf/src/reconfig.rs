//! Adding and removing interfaces of a running instance (a config reload),
//! without touching the adjacencies on the other interfaces.
//!
//! There is no change in place: an interface whose settings change (hello
//! or dead interval, cost, network type, authentication...) is removed and
//! added again, as a router restarts an interface it reconfigures. Its own
//! adjacencies form again; the other interfaces' stay as they are.

use crate::config::InterfaceConfig;
use crate::instance::{Instance, Output};
use crate::interface::{IfState, Interface};
use std::time::Instant;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReconfigError {
    #[error("OSPF interface {0} is already configured")]
    Duplicate(String),
    #[error("no OSPF interface at index {0}")]
    NoSuchInterface(usize),
}

impl Instance {
    /// The index of the interface named `name`.
    pub fn interface_index(&self, name: &str) -> Option<usize> {
        self.ifaces.iter().position(|i| i.config.name == name)
    }

    /// Adds an interface, Down until `interface_up` (the driver calls it
    /// once the link exists). Its index is the new last one.
    pub fn add_interface(
        &mut self,
        config: InterfaceConfig,
        now: Instant,
    ) -> Result<usize, ReconfigError> {
        if self.interface_index(&config.name).is_some() {
            return Err(ReconfigError::Duplicate(config.name));
        }
        tracing::info!(interface = %config.name, "OSPF interface added");
        self.ifaces.push(Interface::new(config, now));
        Ok(self.ifaces.len() - 1)
    }

    /// Removes an interface: first a goodbye Hello (no neighbors listed),
    /// so its neighbors drop the adjacency at once rather than after the
    /// dead interval, then InterfaceDown (9.3: KillNbr for each neighbor),
    /// which re-originates the Router-LSA without its links.
    ///
    /// Returns the packets still to go out of the removed interface (the
    /// goodbye), for the driver to send before it closes the socket. The
    /// interfaces after it move down one index, in queued output too.
    pub fn remove_interface(
        &mut self,
        iface: usize,
        now: Instant,
    ) -> Result<Vec<Output>, ReconfigError> {
        if iface >= self.ifaces.len() {
            return Err(ReconfigError::NoSuchInterface(iface));
        }
        if self.ifaces[iface].state != IfState::Down {
            self.send_hello(now, iface, true);
        }
        self.interface_down(iface, now);
        let gone = self.ifaces.remove(iface);
        let mut last = Vec::new();
        for mut o in std::mem::take(&mut self.out) {
            match shift(o.iface, iface) {
                Some(i) => {
                    o.iface = i;
                    self.out.push(o);
                }
                None => last.push(o),
            }
        }
        self.renumber_logged(iface);
        // LSAs only the removed neighbors still owed an ack for may go.
        self.remove_flushed(now);
        tracing::info!(interface = %gone.config.name, "OSPF interface removed");
        Ok(last)
    }
}

/// The new index of interface `i` once interface `removed` is gone.
pub(crate) fn shift(i: usize, removed: usize) -> Option<usize> {
    match i.cmp(&removed) {
        std::cmp::Ordering::Less => Some(i),
        std::cmp::Ordering::Equal => None,
        std::cmp::Ordering::Greater => Some(i - 1),
    }
}
