//! OSPFv2 speaker for a host that announces /32 routes and never transits
//! traffic: a Sans-IO protocol core plus a tokio raw-socket driver.
//!
//! Not built yet; see the OSPF issue. The crate exists so the workspace
//! layout matches DEVELOPERS.md from the start.
