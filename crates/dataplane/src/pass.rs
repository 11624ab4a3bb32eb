//! `bpf/pass.c`, an XDP program that passes every frame untouched. Labs
//! attach it to the veth ends facing a director's XDP interface, so that
//! native XDP_TX works on veth (docs/lab.md, "Native XDP on veth").

/// The compiled object: one program, `xdp_pass`, in section `xdp`.
pub static OBJECT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/pass.o"));

/// The program's name and section in [`OBJECT`].
pub const PROGRAM: &str = "xdp_pass";
pub const SECTION: &str = "xdp";
