//! OSPFv2 speaker for a host that announces /32 routes and never transits
//! traffic: a Sans-IO protocol core plus a tokio raw-socket driver.

pub mod wire;
