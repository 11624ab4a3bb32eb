//! The XDP program's counters sorted into families whose sums mean
//! something. Each packet the program handles ends in exactly one of
//! `pass_*`, `drop_*`, `tx_*` or `redirect_*`: those make
//! `xlvs_dataplane_packets_total` (summed, every packet). The others count
//! something about packets already counted there (a connection-table
//! lookup, a flow-cache hit, an ICMP error, a SYN left untracked, a lost
//! sync report, a TOA option, a PROXY header, where a next hop came
//! from) and get families of their own.

/// Where one counter of the data plane goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// `xlvs_dataplane_packets_total{action, reason}`.
    Packets { action: &'static str },
    /// `xlvs_dataplane_connection_lookups_total{result}`.
    Lookups { result: &'static str },
    /// `xlvs_dataplane_flow_cache_hits_total`.
    FlowCacheHits,
    /// `xlvs_dataplane_icmp_errors_total{direction}`.
    IcmpErrors { direction: &'static str },
    /// `xlvs_dataplane_syn_untracked_total`.
    SynUntracked,
    /// `xlvs_dataplane_toa_options_total{result}`.
    Toa { result: &'static str },
    /// `xlvs_dataplane_proxy_headers_total`.
    ProxyHeaders,
    /// `xlvs_dataplane_proxy_header_alone_total`.
    ProxyHeaderAlone,
    /// `xlvs_dataplane_proxy_dropped_total`.
    ProxyDropped,
    /// `xlvs_dataplane_next_hops_total{result}`.
    NextHops { result: &'static str },
    /// Exported by the sync families (`xlvs_sync_ring_full_total`).
    SyncRingFull,
    /// A counter this daemon does not know yet:
    /// `xlvs_dataplane_other_total{counter}` (never dropped).
    Other,
}

/// The family of the counter `xlvsadm dataplane` calls `name`.
pub fn family(name: &str) -> Family {
    let action = ["pass", "drop", "tx", "redirect"]
        .into_iter()
        .find(|a| name.strip_prefix(a).is_some_and(|r| r.starts_with('_')));
    if let Some(action) = action {
        return Family::Packets { action };
    }
    match name {
        "conntrack_hit" => Family::Lookups { result: "hit" },
        "conntrack_new" => Family::Lookups { result: "new" },
        "flow_cache_hit" => Family::FlowCacheHits,
        "icmp_to_real" => Family::IcmpErrors {
            direction: "to_real",
        },
        "icmp_to_client" => Family::IcmpErrors {
            direction: "to_client",
        },
        "syn_untracked" => Family::SynUntracked,
        "toa_added" => Family::Toa { result: "added" },
        "toa_skipped" => Family::Toa { result: "skipped" },
        "proxy_headers" => Family::ProxyHeaders,
        "proxy_header_alone" => Family::ProxyHeaderAlone,
        "proxy_dropped" => Family::ProxyDropped,
        "sync_ring_full" => Family::SyncRingFull,
        "next_hop_hit" => Family::NextHops { result: "map" },
        "next_hop_fallback" => Family::NextHops { result: "fib" },
        _ => Family::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_counter_of_the_data_plane_has_a_family() {
        for name in xlvs_dataplane::abi::STAT_NAMES {
            assert_ne!(family(name), Family::Other, "{name}");
        }
        assert_eq!(
            family("redirect_tun"),
            Family::Packets { action: "redirect" }
        );
        assert_eq!(family("pass_not_vip"), Family::Packets { action: "pass" });
        assert_eq!(family("conntrack_new"), Family::Lookups { result: "new" });
        assert_eq!(family("transmogrified"), Family::Other);
    }
}
