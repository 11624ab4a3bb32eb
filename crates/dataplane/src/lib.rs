//! XDP data plane: the eBPF program (bpf/), its loader and typed maps.
//! Not built yet; see the data plane issue.
