//! The XDP program on crafted packets through BPF_PROG_TEST_RUN: the
//! action and the bytes that leave, for each path and edge case.

mod common;

use common::*;
use std::net::Ipv4Addr;
use std::time::Duration;
use xlvs_dataplane::abi::Globals;
use xlvs_dataplane::{
    Dataplane, Forward, HashOn, Limits, Protocol, RealSpec, Scheduling, ServiceSpec, XDP_DROP,
    XDP_PASS, XDP_TX,
};
use xlvs_maglev::TableSize;

fn dr_service(dp: &mut Dataplane, reals: Vec<RealSpec>) -> ServiceSpec {
    let spec = ServiceSpec {
        ports: vec![80, 443],
        ..dr_spec(reals)
    };
    dp.set_service(&spec).unwrap();
    spec
}

/// Which real (by MAC) a DR packet went to.
/// Sends a TCP segment to the VIP and returns which real (by MAC) it went to.
fn send(dp: &Dataplane, src: &str, sport: u16, dport: u16, flags: u8) -> u8 {
    let r = dp
        .run("xlvs", &tcp(src, sport, VIP, dport, flags).frame(), 1)
        .unwrap();
    dr_target(&r.packet)
}

/// SYNs from one client on each source port: the real each went to.
fn open_flows(dp: &Dataplane, sports: &[u16]) -> Vec<u8> {
    sports
        .iter()
        .map(|&p| send(dp, "203.0.113.5", p, 80, SYN))
        .collect()
}

fn dr_target(out: &[u8]) -> u8 {
    assert_eq!(&out[6..12], &DIRECTOR_MAC, "source MAC is ours");
    assert_eq!(&out[0..5], &mac(0)[0..5]);
    out[5]
}

#[test]
fn dr_rewrites_only_the_macs() {
    let mut dp = small();
    dr_service(&mut dp, vec![real(21, 1)]);
    let input = tcp("203.0.113.5", 40000, VIP, 80, SYN).frame();
    let r = dp.run("xlvs", &input, 1).unwrap();
    assert_eq!(r.action, XDP_TX);
    assert_eq!(dr_target(&r.packet), 21);
    assert_eq!(&r.packet[12..], &input[12..], "IP and TCP untouched");
    assert_eq!(dp.stat("tx_dr").unwrap(), 1);
    assert_eq!(dp.stat("conntrack_new").unwrap(), 1);
}

#[test]
fn traffic_that_is_not_for_a_service_passes_untouched() {
    let mut dp = small();
    dr_service(&mut dp, vec![real(21, 1)]);
    let cases = [
        (
            "other address",
            tcp("203.0.113.5", 40000, "192.0.2.99", 80, SYN).frame(),
        ),
        (
            "closed port",
            tcp("203.0.113.5", 40000, VIP, 8080, SYN).frame(),
        ),
        (
            "udp to a tcp service",
            udp("203.0.113.5", 40000, VIP, 80).frame(),
        ),
    ];
    for (what, input) in cases {
        let r = dp.run("xlvs", &input, 1).unwrap();
        assert_eq!(r.action, XDP_PASS, "{what}");
        assert_eq!(r.packet, input, "{what}: untouched");
    }
    // ARP and OSPF (IP protocol 89) the node itself needs
    let mut arp = tcp("203.0.113.5", 1, VIP, 80, 0).frame();
    arp[12..14].copy_from_slice(&[0x08, 0x06]);
    assert_eq!(dp.run("xlvs", &arp, 1).unwrap().action, XDP_PASS);
    let mut ospf = Pkt {
        proto: 89,
        ..tcp("10.0.1.1", 0, "224.0.0.5", 0, 0)
    }
    .frame();
    ospf.truncate(40);
    assert_eq!(dp.run("xlvs", &ospf, 1).unwrap().action, XDP_PASS);
    assert!(dp.stat("pass_not_vip").unwrap() >= 3);
    assert!(dp.stat("pass_not_ipv4").unwrap() >= 1);
}

#[test]
fn truncated_headers_at_every_layer_pass_without_harm() {
    let mut dp = small();
    dr_service(&mut dp, vec![real(21, 1)]);
    let full = Pkt {
        vlan: Some(7),
        ..tcp("203.0.113.5", 40000, VIP, 80, SYN)
    }
    .frame();
    // every prefix shorter than Ethernet+VLAN+IP+TCP headers (the kernel
    // refuses test frames shorter than an Ethernet header)
    for n in 14..(18 + 20 + 20) {
        let r = dp.run("xlvs", &full[..n], 1).unwrap();
        assert_eq!(r.action, XDP_PASS, "{n} bytes");
    }
    assert!(dp.stat("pass_malformed").unwrap() > 0);
}

#[test]
fn vlan_and_ip_options_are_parsed() {
    let mut dp = small();
    dr_service(&mut dp, vec![real(21, 1)]);
    let p = Pkt {
        vlan: Some(42),
        ip_options: vec![0x01, 0x01, 0x01, 0x00], // NOP NOP NOP EOL
        ..tcp("203.0.113.5", 40000, VIP, 443, SYN)
    };
    let input = p.frame();
    let r = dp.run("xlvs", &input, 1).unwrap();
    assert_eq!(r.action, XDP_TX);
    assert_eq!(dr_target(&r.packet), 21);
    assert_eq!(
        &r.packet[12..],
        &input[12..],
        "tag, options and payload untouched"
    );
}

#[test]
fn fragments_pass_to_the_kernel() {
    let mut dp = small();
    dr_service(&mut dp, vec![real(21, 1)]);
    for frag in [0x2000u16 /* MF */, 0x0010 /* offset */] {
        let input = Pkt {
            frag,
            ..tcp("203.0.113.5", 40000, VIP, 80, SYN)
        }
        .frame();
        assert_eq!(dp.run("xlvs", &input, 1).unwrap().action, XDP_PASS);
    }
    assert_eq!(dp.stat("pass_fragment").unwrap(), 2);
}

#[test]
fn connection_table_keeps_a_flow_on_its_real_across_table_changes() {
    let mut dp = small();
    let mut spec = dr_service(&mut dp, (21..25).map(|n| real(n, 1)).collect());
    // many flows, remember where each went
    let flows: Vec<u16> = (40000..40200).collect();
    let first = open_flows(&dp, &flows);
    // add a real: established flows (ACK) stay where they were
    spec.reals.push(real(25, 1));
    dp.set_service(&spec).unwrap();
    for (i, &p) in flows.iter().enumerate() {
        let r = dp
            .run("xlvs", &tcp("203.0.113.5", p, VIP, 80, ACK).frame(), 1)
            .unwrap();
        assert_eq!(dr_target(&r.packet), first[i], "flow {p} moved");
    }
    // a new SYN on the same 5-tuple is scheduled afresh by the new table
    let moved = flows
        .iter()
        .enumerate()
        .filter(|(i, &p)| send(&dp, "203.0.113.5", p, 80, SYN) != first[*i])
        .count();
    assert!(
        moved > 0 && moved < flows.len() / 2,
        "{moved} of {} rescheduled",
        flows.len()
    );
}

#[test]
fn an_idle_entry_expires_after_its_timeout() {
    let mut dp = small();
    let mut spec = dr_service(&mut dp, (21..25).map(|n| real(n, 1)).collect());
    // ipvsadm --set 1 1 1: entries idle for a second are gone.
    dp.set_globals(Globals {
        tcp_timeout_s: 1,
        tcpfin_timeout_s: 1,
        udp_timeout_s: 1,
        ..dp.globals().unwrap()
    })
    .unwrap();
    let flows: Vec<u16> = (40000..40100).collect();
    let first = open_flows(&dp, &flows);
    spec.reals.push(real(25, 1));
    dp.set_service(&spec).unwrap();
    let moved = |dp: &Dataplane| {
        flows
            .iter()
            .zip(&first)
            .filter(|(&p, &r)| send(dp, "203.0.113.5", p, 80, ACK) != r)
            .count()
    };
    assert_eq!(moved(&dp), 0, "fresh entries keep their reals");
    let clock = dp.clock().unwrap();
    let (_, c) = dp.connections(1)[0];
    assert!(
        clock.since(c.last) < Duration::from_millis(500),
        "{clock:?} {c:?}"
    );
    std::thread::sleep(Duration::from_millis(1300));
    assert!(dp.clock().unwrap().since(c.last) >= Duration::from_secs(1));
    // Expired: the flows are scheduled by the new table, as a new
    // director would.
    let now_moved = moved(&dp);
    assert!(
        now_moved > 0 && now_moved < flows.len() / 2,
        "{now_moved} of {} rescheduled",
        flows.len()
    );
}

#[test]
fn unknown_mid_stream_flows_are_scheduled_not_dropped() {
    let mut dp = small();
    dr_service(&mut dp, (21..25).map(|n| real(n, 1)).collect());
    // an ACK of a flow this director never saw: same answer as its SYN
    // would have got (another director with the same reals agrees)
    let ack = dp
        .run("xlvs", &tcp("198.51.100.7", 5555, VIP, 80, ACK).frame(), 1)
        .unwrap();
    assert_eq!(ack.action, XDP_TX);
    let mut other = small();
    dr_service(&mut other, (21..25).map(|n| real(n, 1)).collect());
    let syn = other
        .run("xlvs", &tcp("198.51.100.7", 5555, VIP, 80, SYN).frame(), 1)
        .unwrap();
    assert_eq!(dr_target(&ack.packet), dr_target(&syn.packet));
}

#[test]
fn weight_zero_takes_no_new_flows_but_keeps_its_own() {
    let mut dp = small();
    let mut spec = dr_service(&mut dp, vec![real(21, 1), real(22, 1)]);
    let on_22: Vec<u16> = (40000..40100)
        .filter(|&p| send(&dp, "203.0.113.5", p, 80, SYN) == 22)
        .collect();
    assert!(!on_22.is_empty());
    spec.reals[1].weight = 0;
    dp.set_service(&spec).unwrap();
    for &p in &on_22 {
        let est = dp
            .run("xlvs", &tcp("203.0.113.5", p, VIP, 80, ACK).frame(), 1)
            .unwrap();
        assert_eq!(dr_target(&est.packet), 22, "existing flow stays");
    }
    for p in 50000..50100 {
        let new = dp
            .run("xlvs", &tcp("203.0.113.5", p, VIP, 80, SYN).frame(), 1)
            .unwrap();
        assert_eq!(
            dr_target(&new.packet),
            21,
            "no new flow to a quiescent real"
        );
    }
}

#[test]
fn a_service_without_reals_drops_and_counts() {
    let mut dp = small();
    dr_service(&mut dp, vec![real(21, 0)]);
    let r = dp
        .run("xlvs", &tcp("203.0.113.5", 1, VIP, 80, SYN).frame(), 1)
        .unwrap();
    assert_eq!(r.action, XDP_DROP);
    assert_eq!(dp.stat("drop_no_real").unwrap(), 1);
}

#[test]
fn removed_reals_lose_their_flows_to_the_survivors() {
    let mut dp = small();
    let mut spec = dr_service(&mut dp, vec![real(21, 1), real(22, 1)]);
    let p = (40000..40100)
        .find(|&p| send(&dp, "203.0.113.5", p, 80, SYN) == 22)
        .unwrap();
    spec.reals.remove(1);
    dp.set_service(&spec).unwrap();
    let r = dp
        .run("xlvs", &tcp("203.0.113.5", p, VIP, 80, ACK).frame(), 1)
        .unwrap();
    assert_eq!(dr_target(&r.packet), 21);
}

#[test]
fn service_and_real_counters_count_packets_bytes_and_connections() {
    let mut dp = small();
    dr_service(&mut dp, vec![real(21, 1)]);
    let syn = tcp("203.0.113.5", 40000, VIP, 80, SYN).frame();
    let ack = tcp("203.0.113.5", 40000, VIP, 80, ACK).frame();
    dp.run("xlvs", &syn, 1).unwrap();
    dp.run("xlvs", &ack, 1).unwrap();
    let t = dp.service_traffic(1).unwrap();
    assert_eq!(
        (t.packets, t.bytes, t.conns),
        (2, (syn.len() + ack.len()) as u64, 1)
    );
    let slot = dp.real_slot(1, Ipv4Addr::new(10, 0, 1, 21), 0).unwrap();
    assert_eq!(dp.real_traffic(slot).unwrap().packets, 2);
    assert_eq!(dp.stat("conntrack_hit").unwrap(), 1);
}

#[test]
fn limits_are_errors_not_truncation() {
    let mut dp = small();
    let spec = ServiceSpec {
        id: 8, // limit is 8 services: ids 0..8
        vip: VIP.parse().unwrap(),
        protocol: Protocol::Tcp,
        ports: vec![80],
        forward: Forward::Dr,
        scheduler: Scheduling::Maglev(HashOn::Flow),
        persistence: None,
        toa: None,
        proxy: None,
        reals: vec![real(21, 1)],
    };
    assert!(dp
        .set_service(&spec)
        .unwrap_err()
        .to_string()
        .contains("beyond the limit of 8"));
    let many = ServiceSpec {
        id: 2,
        reals: (0..65)
            .map(|n| RealSpec {
                addr: Ipv4Addr::new(10, 9, 0, n),
                ..real(1, 1)
            })
            .collect(),
        ..spec
    };
    assert!(dp
        .set_service(&many)
        .unwrap_err()
        .to_string()
        .contains("limit is 64"));
}

#[test]
fn tun_encapsulates_in_ipip_with_a_valid_header() {
    let mut dp = small();
    let mut g = dp.globals().unwrap();
    g.tun_src = [10, 0, 0, 1];
    dp.set_globals(g).unwrap();
    let spec = ServiceSpec {
        id: 2,
        vip: VIP.parse().unwrap(),
        protocol: Protocol::Udp,
        ports: vec![53],
        forward: Forward::Tun,
        scheduler: Scheduling::Maglev(HashOn::Flow),
        persistence: None,
        toa: None,
        proxy: None,
        reals: vec![real(21, 1)],
    };
    dp.set_service(&spec).unwrap();
    let input = udp("203.0.113.5", 40000, VIP, 53).frame();
    let r = dp.run("xlvs", &input, 1).unwrap();
    // Without a route to the real in this test's namespace the FIB
    // lookup fails: the encapsulated packet is then dropped or passed,
    // counted, never sent anywhere unknown.
    assert!(
        r.action == XDP_DROP || r.action == XDP_PASS,
        "action {}",
        r.action
    );
    if r.action == XDP_PASS {
        let outer = &r.packet[14..34];
        assert_eq!(outer[9], 4, "IPIP");
        assert_eq!(&outer[12..16], &[10, 0, 0, 1]);
        assert_eq!(&outer[16..20], &[10, 0, 1, 21]);
        assert!(ip_csum_ok(outer));
        assert_eq!(&r.packet[34..], &input[14..], "inner packet intact");
    }
}

/// The program and crates/maglev agree on every flow: directors running
/// the same table send a flow to the same real.
#[test]
fn maglev_in_bpf_matches_the_rust_builder_for_100000_flows() {
    use xlvs_maglev::{flow_hash, Backend, Table};
    let mut dp = small();
    let reals: Vec<RealSpec> = (1..=10).map(|n| real(n, u32::from(n % 3) + 1)).collect();
    dr_service(&mut dp, reals.clone());
    let backends: Vec<Backend> = reals
        .iter()
        .map(|r| Backend::new(r.addr, r.port, r.weight))
        .collect();
    let table = Table::build(TableSize::new(251).unwrap(), &backends).unwrap();
    let mut seed: u64 = 0x243f_6a88_85a3_08d3;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..100_000 {
        let r = next();
        let src = Ipv4Addr::from(r as u32);
        let sport = (r >> 32) as u16 | 1;
        let dport = if r >> 63 == 0 { 80 } else { 443 };
        let p = Pkt {
            src,
            ..tcp("0.0.0.0", sport, VIP, dport, SYN)
        };
        let out = dp.run("xlvs", &p.frame(), 1).unwrap();
        let want = table
            .lookup(flow_hash(src, VIP.parse().unwrap(), sport, dport, 6))
            .unwrap();
        assert_eq!(
            dr_target(&out.packet),
            want.addr.octets()[3],
            "flow {src}:{sport}"
        );
    }
}

#[test]
fn source_hashing_with_a_mask_keeps_a_client_network_on_one_real() {
    let (dp, pick) = hashed_service(HashOn::Source("255.255.255.0".parse().unwrap()));
    for net in 0..50u8 {
        let want = pick(Ipv4Addr::new(198, 51, net, 0));
        for host in [1u8, 77, 254] {
            for sport in [1000u16, 2000] {
                let src = format!("198.51.{net}.{host}");
                assert_eq!(send(&dp, &src, sport, 80, SYN), want, "{src}:{sport}");
            }
        }
    }
}

/// `dh`: the real follows the destination address, whatever the client.
#[test]
fn destination_hashing_sends_every_client_of_a_vip_to_one_real() {
    let (dp, pick) = hashed_service(HashOn::Destination);
    let want = pick(VIP.parse().unwrap());
    for n in 0..100u8 {
        let src = format!("198.51.{n}.{}", 255 - n);
        assert_eq!(send(&dp, &src, 1000 + u16::from(n), 80, SYN), want, "{src}");
    }
}

/// A DR service of eight reals hashing on `hash`, and the real (last
/// address byte) crates/maglev picks for an address's source_hash.
fn hashed_service(hash: HashOn) -> (Dataplane, impl Fn(Ipv4Addr) -> u8) {
    use xlvs_maglev::{source_hash, Backend, Table};
    let mut dp = small();
    let reals: Vec<RealSpec> = (1..=8).map(|n| real(n, 1)).collect();
    let spec = ServiceSpec {
        scheduler: Scheduling::Maglev(hash),
        ..dr_service(&mut dp, reals.clone())
    };
    dp.set_service(&spec).unwrap();
    let backends: Vec<Backend> = reals
        .iter()
        .map(|r| Backend::new(r.addr, r.port, r.weight))
        .collect();
    let table = Table::build(TableSize::new(251).unwrap(), &backends).unwrap();
    let pick = move |addr: Ipv4Addr| table.lookup(source_hash(addr)).unwrap().addr.octets()[3];
    (dp, pick)
}

#[test]
fn pinned_maps_keep_connections_tables_and_counters_across_a_restart() {
    require_root();
    let fs = BpfFs::mount();
    let pins = fs.0.path().join("lb1");
    let limits = small_limits();
    let reals: Vec<RealSpec> = (21..25).map(|n| real(n, 1)).collect();
    let flows: Vec<u16> = (40000..40050).collect();
    let first: Vec<u8> = {
        let mut dp = Dataplane::load_pinned(limits, Some(&pins)).unwrap();
        dr_service(&mut dp, reals.clone());
        flows
            .iter()
            .map(|&p| send(&dp, "203.0.113.5", p, 80, SYN))
            .collect()
    }; // the first "daemon" exits; its maps stay pinned
    let mut dp = Dataplane::load_pinned(limits, Some(&pins)).unwrap();
    // Before anything is programmed, the pinned service still forwards.
    let r = dp
        .run(
            "xlvs",
            &tcp("203.0.113.5", flows[0], VIP, 80, ACK).frame(),
            1,
        )
        .unwrap();
    assert_eq!(dr_target(&r.packet), first[0]);
    assert_eq!(
        dp.stat("tx_dr").unwrap(),
        flows.len() as u64 + 1,
        "counters kept"
    );
    // Programming the same service again (with a new real) keeps every
    // established flow on its real: the slots were recovered.
    let mut more = reals;
    more.push(real(25, 1));
    dr_service(&mut dp, more);
    for (i, &p) in flows.iter().enumerate() {
        let r = dp
            .run("xlvs", &tcp("203.0.113.5", p, VIP, 80, ACK).frame(), 1)
            .unwrap();
        assert_eq!(dr_target(&r.packet), first[i], "flow {p}");
    }
    dp.unpin().unwrap();
    assert!(!pins.exists());
}

#[test]
fn maps_pinned_with_another_layout_are_named_in_the_error() {
    require_root();
    let fs = BpfFs::mount();
    let pins = fs.0.path().join("lb1");
    std::fs::create_dir_all(&pins).unwrap();
    // `globals` as an older xlvsd pinned it: 32-byte values (now 44).
    let st = std::process::Command::new("bpftool")
        .args(["map", "create"])
        .arg(pins.join("globals"))
        .args([
            "type", "array", "key", "4", "value", "32", "entries", "1", "name", "globals",
        ])
        .status()
        .expect("run bpftool");
    assert!(st.success());
    let err = Dataplane::load_pinned(small_limits(), Some(&pins))
        .err()
        .expect("refused");
    let text = err.to_string();
    assert!(
        text.contains("does not fit the maps pinned in") && text.contains("--cleanup"),
        "{text}"
    );
}

#[test]
fn pins_must_be_on_a_bpf_filesystem() {
    require_root();
    let dir = tempfile::tempdir().unwrap();
    let err = Dataplane::load_pinned(Limits::default(), Some(dir.path()))
        .err()
        .unwrap();
    assert!(err.to_string().contains("not on a bpf filesystem"), "{err}");
}

#[test]
fn frames_for_another_host_are_not_forwarded() {
    // BPF_PROG_TEST_RUN runs as if received on lo (ifindex 1). With
    // ifindex 257 known first, lo's MAC is found in the fallback map
    // (both share array slot 1).
    for others in [vec![], vec![257]] {
        let mut dp = small();
        dr_service(&mut dp, vec![real(21, 1)]);
        for &i in &others {
            dp.set_interface_mac(i, DIRECTOR_MAC).unwrap();
        }
        dp.set_interface_mac(1, [2, 9, 9, 9, 9, 9]).unwrap();
        let input = tcp("203.0.113.5", 40000, VIP, 80, SYN).frame();
        let r = dp.run("xlvs", &input, 1).unwrap();
        assert_eq!(r.action, XDP_PASS, "addressed to another MAC ({others:?})");
        assert_eq!(dp.stat("pass_not_ours").unwrap(), 1);
        dp.set_interface_mac(1, DIRECTOR_MAC).unwrap();
        assert_eq!(
            dp.run("xlvs", &input, 1).unwrap().action,
            XDP_TX,
            "addressed to us ({others:?})"
        );
    }
}

#[test]
fn a_forgotten_interface_gives_its_slot_to_one_of_the_same_slot() {
    // 257 holds array slot 1 and lo (1, where BPF_PROG_TEST_RUN receives)
    // is in the fallback map. Once 257 is forgotten (deleted), lo's MAC
    // must still be checked: the program looks no further than a free
    // slot.
    let mut dp = small();
    dr_service(&mut dp, vec![real(21, 1)]);
    dp.set_interface_mac(257, DIRECTOR_MAC).unwrap();
    dp.set_interface_mac(1, [2, 9, 9, 9, 9, 9]).unwrap();
    dp.forget_interface_mac(257).unwrap();
    let input = tcp("203.0.113.5", 40000, VIP, 80, SYN).frame();
    assert_eq!(dp.run("xlvs", &input, 1).unwrap().action, XDP_PASS);
    assert_eq!(dp.stat("pass_not_ours").unwrap(), 1);
    // Forgetting lo too leaves no MAC to check: every frame is ours.
    dp.forget_interface_mac(1).unwrap();
    assert_eq!(dp.run("xlvs", &input, 1).unwrap().action, XDP_TX);
}

/// Whether `dev` in namespace `ns` has an XDP program attached.
fn xdp_attached(ns: &common::netns::FibNs, dev: &str) -> bool {
    let out = std::process::Command::new("ip")
        .args(["-n", ns.name(), "-d", "link", "show", dev])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).contains("prog/xdp")
}

#[test]
fn an_interface_created_again_is_attached_again_in_place_of_its_pin() {
    require_root();
    let fs = BpfFs::mount();
    let pins = fs.0.path().join("lb1");
    let ns = common::netns::FibNs::new("again", &[]);
    let _in = ns.enter();
    let mut dp = Dataplane::load_pinned(small_limits(), Some(&pins)).unwrap();
    let mode = aya::programs::XdpMode::Skb;
    dp.attach("in0", mode).unwrap();
    assert!(xdp_attached(&ns, "in0"));
    // Deleted and created again: the pinned attachment is left defunct.
    ns.run("link del in0");
    ns.run("link add in0 type veth peer name in1");
    ns.run("link set in0 up");
    assert!(!xdp_attached(&ns, "in0"));
    assert!(pins.join("link-in0").exists());
    let err = dp.attach("in0", mode).expect_err("a defunct attachment");
    assert!(err.to_string().contains("in0"), "{err}");
    dp.attach_again("in0", mode).unwrap();
    assert!(xdp_attached(&ns, "in0"));
    assert!(pins.join("link-in0").exists(), "pinned anew");
    dp.unpin().unwrap();
}

#[test]
fn a_port_zero_service_takes_every_port_and_an_exact_port_wins() {
    let mut dp = small();
    // Before any port-0 service exists, other ports pass.
    dr_service(&mut dp, vec![real(21, 1)]);
    let other = tcp("203.0.113.5", 40000, VIP, 8080, SYN).frame();
    assert_eq!(dp.run("xlvs", &other, 1).unwrap().action, XDP_PASS);
    dp.set_service(&ServiceSpec {
        id: 2,
        vip: VIP.parse().unwrap(),
        protocol: Protocol::Tcp,
        ports: vec![0],
        forward: Forward::Dr,
        scheduler: Scheduling::Maglev(HashOn::Flow),
        persistence: None,
        toa: None,
        proxy: None,
        reals: vec![real(22, 1)],
    })
    .unwrap();
    for port in [1, 8080, 65535] {
        assert_eq!(
            send(&dp, "203.0.113.5", 40000, port, SYN),
            22,
            "port {port}"
        );
    }
    // Ports with a service of their own keep it.
    assert_eq!(send(&dp, "203.0.113.5", 40000, 80, SYN), 21);
    assert_eq!(send(&dp, "203.0.113.5", 40000, 443, SYN), 21);
    // Still only for this VIP and protocol.
    let udp = udp("203.0.113.5", 40000, VIP, 8080).frame();
    assert_eq!(dp.run("xlvs", &udp, 1).unwrap().action, XDP_PASS);
}
