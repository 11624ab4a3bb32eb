//! Adding and removing interfaces of a running instance (a config reload),
//! without touching the adjacencies on the other interfaces.
//!
//! There is no change in place: an interface whose settings change (hello
//! or dead interval, cost, network type, authentication...) is removed and
//! added again, as a router restarts an interface it reconfigures. Its own
//! adjacencies form again; the other interfaces' stay as they are.

use crate::config::InterfaceConfig;
use crate::instance::{Instance, Output};
use crate::interface::{IfState, IfaceId, Interface};
use std::time::Instant;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReconfigError {
    #[error("OSPF interface {0} is already configured")]
    Duplicate(String),
    #[error("no OSPF interface {0}")]
    NoSuchInterface(IfaceId),
}

impl Instance {
    /// The interface named `name`.
    pub fn interface_id(&self, name: &str) -> Option<IfaceId> {
        self.ifaces
            .iter()
            .find(|i| i.config.name == name)
            .map(|i| i.id)
    }

    /// Adds an interface, Down until `interface_up` (the driver calls it
    /// once the link exists), under a new id.
    pub fn add_interface(
        &mut self,
        config: InterfaceConfig,
        now: Instant,
    ) -> Result<IfaceId, ReconfigError> {
        if self.interface_id(&config.name).is_some() {
            return Err(ReconfigError::Duplicate(config.name));
        }
        tracing::info!(interface = %config.name, "OSPF interface added");
        let id = self.next_iface;
        self.next_iface = id.next();
        self.ifaces.push(Interface::new(id, config, now));
        Ok(id)
    }

    /// Removes an interface: first a goodbye Hello (no neighbors listed),
    /// so its neighbors drop the adjacency at once rather than after the
    /// dead interval, then InterfaceDown (9.3: KillNbr for each neighbor),
    /// which re-originates the Router-LSA without its links.
    ///
    /// Returns the packets still to go out of the removed interface (the
    /// goodbye), for the driver to send before it closes the socket.
    pub fn remove_interface(
        &mut self,
        id: IfaceId,
        now: Instant,
    ) -> Result<Vec<Output>, ReconfigError> {
        let iface = self.index(id).ok_or(ReconfigError::NoSuchInterface(id))?;
        if self.ifaces[iface].state != IfState::Down {
            self.send_hello(now, iface, true);
        }
        self.down(iface, now);
        let gone = self.ifaces.remove(iface);
        let (last, others) = std::mem::take(&mut self.out)
            .into_iter()
            .partition(|o| o.iface == id);
        self.out = others;
        self.logged.retain(|(i, _, _)| *i != id);
        // LSAs only the removed neighbors still owed an ack for may go.
        self.remove_flushed(now);
        tracing::info!(interface = %gone.config.name, "OSPF interface removed");
        Ok(last)
    }
}
