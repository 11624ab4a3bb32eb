//! Following the kernel over rtnetlink, for every part of xlvs that reacts
//! to the host: the OSPF driver (interfaces and their addresses) and xlvsd
//! (those, the neighbour table and route changes).
//!
//! A [`View`] is what one of them keeps of the kernel's state. [`watch`]
//! keeps a view current in a task: it subscribes to the view's
//! notification groups, dumps the kernel's state into a new view, then
//! applies the kernel's events as they come. When the socket fails, or
//! the kernel drops events because nobody read them in time, it starts
//! over from a new dump (events alone could not say what was lost).
//! [`read_once`] is the same dump, once, for synchronous callers.
//!
//! [`Links`] is the view of interfaces and IPv4 addresses both users share.

mod follow;
mod links;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use follow::{apply_dump, read_once, watch, NetlinkError, Requests, View};
pub use links::{Address, Link, Links};
/// The rtnetlink version the views are written against, for users that
/// build their own views or requests.
pub use rtnetlink;
