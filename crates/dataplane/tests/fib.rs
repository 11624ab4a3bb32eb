//! NAT, FULLNAT and ICMP errors through BPF_PROG_TEST_RUN, in a namespace
//! whose FIB knows the reals (on-link) and the clients (via a router), so
//! the program's forwarding lookups succeed as on a director.

mod common;

use common::fib::*;
use common::*;
use std::net::Ipv4Addr;
use xlvs_dataplane::{Forward, XDP_DROP, XDP_PASS, XDP_TX};

/// An ICMP "fragmentation needed" from `src` to `dst` quoting the first
/// 28 bytes of `quoted`.
fn frag_needed(src: &str, dst: &str, quoted: &Pkt) -> Vec<u8> {
    let q = quoted.ip();
    let mut icmp = vec![3, 4, 0, 0, 0, 0, 0x05, 0xa0]; // MTU 1440
    icmp.extend_from_slice(&q[..28]);
    let c = csum(&icmp);
    icmp[2..4].copy_from_slice(&c.to_be_bytes());
    let carrier = Pkt {
        proto: 1,
        payload: Vec::new(),
        ..tcp(src, 0, dst, 0, 0)
    };
    let mut frame = carrier.frame();
    // Replace the TCP header the builder made with the ICMP message.
    frame.truncate(14 + 20);
    frame.extend_from_slice(&icmp);
    let total = (20 + icmp.len()) as u16;
    frame[16..18].copy_from_slice(&total.to_be_bytes());
    frame[24..26].copy_from_slice(&[0, 0]);
    let c = csum(&frame[14..34]);
    frame[24..26].copy_from_slice(&c.to_be_bytes());
    frame
}

/// Checksums of an ICMP error: outer IP, ICMP, quoted IP.
fn icmp_ok(frame: &[u8]) -> bool {
    let ip = ip_of(frame);
    let total = usize::from(port(&ip[2..4]));
    ip_csum_ok(ip) && csum(&ip[20..total]) == 0 && ip_csum_ok(&ip[28..48])
}

#[test]
fn fullnat_rewrites_both_ends_and_its_replies_come_back() {
    let ns = director_ns("fullnat");
    let _in = ns.enter();
    let dp = load(Forward::Fullnat, 8080, 6);

    let syn = tcp(CLIENT, 40000, VIP, 80, SYN);
    let r = through(&dp, &ns, &syn.frame());
    assert_eq!(r.action, XDP_TX);
    assert_eq!(&r.packet[6..12], &ns.mac, "sent from our interface");
    let out = parsed(&r.packet);
    assert_eq!(out.dst_mac, mac(21));
    assert_eq!(out.src, LOCAL.parse::<Ipv4Addr>().unwrap());
    assert_eq!(out.dst, Ipv4Addr::new(10, 0, 1, 21));
    assert!(out.sport >= 1024, "local port {}", out.sport);
    assert_eq!(out.dport, 8080);
    let lport = out.sport;

    // The rest of the flow, and a SYN sent again, keep the local port.
    for flags in [ACK, SYN, ACK | FIN] {
        let r = through(&dp, &ns, &tcp(CLIENT, 40000, VIP, 80, flags).frame());
        assert_eq!(r.action, XDP_TX);
        assert_eq!(parsed(&r.packet).sport, lport);
    }

    // The real's reply to the local address goes back as the VIP's.
    let reply = Pkt {
        payload: b"welcome".to_vec(),
        ..tcp("10.0.1.21", 8080, LOCAL, lport, SYN | ACK)
    };
    let r = through(&dp, &ns, &reply.frame());
    assert_eq!(r.action, XDP_TX);
    let back = parsed(&r.packet);
    assert_eq!(back.dst_mac, ROUTER_MAC);
    assert_eq!(back.src, VIP.parse::<Ipv4Addr>().unwrap());
    assert_eq!(back.dst, CLIENT.parse::<Ipv4Addr>().unwrap());
    assert_eq!((back.sport, back.dport), (80, 40000));
    assert_eq!(
        &r.packet[r.packet.len() - 7..],
        b"welcome",
        "payload intact"
    );

    assert_eq!(dp.stat("tx_fullnat").unwrap(), 4);
    assert_eq!(dp.stat("tx_reply").unwrap(), 1);
    let t = dp.service_traffic(3).unwrap();
    assert_eq!((t.packets, t.packets_out, t.conns), (4, 1, 1));

    // A reply nobody asked for (another local port) is not ours to turn.
    let stray = tcp("10.0.1.21", 8080, LOCAL, lport ^ 1, ACK).frame();
    let r = through(&dp, &ns, &stray);
    assert_eq!((r.action, r.packet), (XDP_PASS, stray));
}

#[test]
fn fullnat_gives_each_flow_its_own_local_port() {
    let ns = director_ns("ports");
    let _in = ns.enter();
    let dp = load(Forward::Fullnat, 0, 6);
    let mut seen = std::collections::BTreeSet::new();
    for sport in 0..500u16 {
        let f = tcp(CLIENT, 20000 + sport, VIP, 80, SYN).frame();
        let r = through(&dp, &ns, &f);
        assert_eq!(r.action, XDP_TX);
        let out = parsed(&r.packet);
        assert_eq!(out.dport, 80, "real port 0: the client's port");
        assert!(
            seen.insert(out.sport),
            "local port {} given twice",
            out.sport
        );
    }
    assert_eq!(dp.nat_entries(1000).len(), 500);
}

#[test]
fn fullnat_without_local_addresses_drops_and_counts() {
    let ns = director_ns("nolocal");
    let _in = ns.enter();
    let mut dp = load(Forward::Fullnat, 0, 6);
    dp.set_local_addresses(&[]).unwrap();
    let r = through(&dp, &ns, &tcp(CLIENT, 40000, VIP, 80, SYN).frame());
    assert_eq!(r.action, XDP_DROP);
    assert_eq!(dp.stat("drop_no_local_port").unwrap(), 1);
    let many: Vec<Ipv4Addr> = (0..65).map(|i| Ipv4Addr::new(10, 9, 0, i)).collect();
    assert!(
        dp.set_local_addresses(&many).is_err(),
        "65 is over the limit"
    );
}

#[test]
fn nat_rewrites_the_destination_and_its_replies_come_back() {
    let ns = director_ns("nat");
    let _in = ns.enter();
    let dp = load(Forward::Nat, 0, 6);
    let r = through(&dp, &ns, &tcp(CLIENT, 40000, VIP, 80, SYN).frame());
    assert_eq!(r.action, XDP_TX);
    let out = parsed(&r.packet);
    assert_eq!(out.dst_mac, mac(21));
    assert_eq!(
        out.src,
        CLIENT.parse::<Ipv4Addr>().unwrap(),
        "client address kept"
    );
    assert_eq!(
        (out.dst, out.sport, out.dport),
        (Ipv4Addr::new(10, 0, 1, 21), 40000, 80)
    );

    let reply = tcp("10.0.1.21", 80, CLIENT, 40000, SYN | ACK).frame();
    let r = through(&dp, &ns, &reply);
    assert_eq!(r.action, XDP_TX);
    let back = parsed(&r.packet);
    assert_eq!(back.dst_mac, ROUTER_MAC);
    assert_eq!((back.src, back.sport), (VIP.parse().unwrap(), 80));
    assert_eq!((back.dst, back.dport), (CLIENT.parse().unwrap(), 40000));
    assert_eq!(dp.stat("tx_nat").unwrap(), 1);
    assert_eq!(dp.stat("tx_reply").unwrap(), 1);
}

#[test]
fn nat_keeps_udp_checksums_valid_and_absent_ones_absent() {
    let ns = director_ns("natudp");
    let _in = ns.enter();
    let dp = load(Forward::Nat, 5353, 17);
    let r = through(&dp, &ns, &udp(CLIENT, 40000, VIP, 80).frame());
    assert_eq!(r.action, XDP_TX);
    assert_eq!(parsed(&r.packet).dport, 5353);

    let mut zero = udp(CLIENT, 40001, VIP, 80).frame();
    zero[14 + 20 + 6..14 + 20 + 8].copy_from_slice(&[0, 0]);
    let r = through(&dp, &ns, &zero);
    assert_eq!(r.action, XDP_TX);
    assert_eq!(
        &r.packet[14 + 20 + 6..14 + 20 + 8],
        &[0, 0],
        "no checksum stays none"
    );
    assert!(ip_csum_ok(ip_of(&r.packet)));
}

#[test]
fn icmp_frag_needed_reaches_the_real_of_its_flow_in_dr() {
    let mut dp = small();
    dp.set_service(&dr_spec((21..=24).map(|n| real(n, 1)).collect()))
        .unwrap();
    for sport in 40000..40020u16 {
        let r = dp
            .run("xlvs", &tcp(CLIENT, sport, VIP, 80, SYN).frame(), 1)
            .unwrap();
        let real = r.packet[5];
        // A router on the way to the client cannot take the real's reply.
        let reply = tcp(VIP, 80, CLIENT, sport, ACK);
        let icmp = frag_needed(ROUTER, VIP, &reply);
        let r = dp.run("xlvs", &icmp, 1).unwrap();
        assert_eq!(r.action, XDP_TX);
        assert_eq!(r.packet[5], real, "port {sport}: the real of the flow");
        assert_eq!(&r.packet[12..], &icmp[12..], "only the MACs change");
    }
    assert_eq!(dp.stat("icmp_to_real").unwrap(), 20);
    assert_eq!(
        dp.stat("conntrack_new").unwrap(),
        20,
        "ICMP adds no entries"
    );

    // Echo requests and ICMP about other traffic go to the kernel.
    let mut echo = frag_needed(CLIENT, VIP, &tcp(VIP, 80, CLIENT, 1, ACK));
    echo[34] = 8;
    assert_eq!(dp.run("xlvs", &echo, 1).unwrap().action, XDP_PASS);
    let other = frag_needed(ROUTER, VIP, &tcp("10.9.9.9", 80, CLIENT, 1, ACK));
    assert_eq!(dp.run("xlvs", &other, 1).unwrap().action, XDP_PASS);
    // Truncated quotes pass to the kernel too.
    let full = frag_needed(ROUTER, VIP, &tcp(VIP, 80, CLIENT, 40000, ACK));
    for n in 34..full.len() {
        let r = dp.run("xlvs", &full[..n], 1).unwrap();
        assert_eq!(r.action, XDP_PASS, "cut at {n}");
    }
}

#[test]
fn icmp_errors_are_translated_both_ways_under_fullnat() {
    let ns = director_ns("icmp");
    let _in = ns.enter();
    let dp = load(Forward::Fullnat, 8080, 6);
    let r = through(&dp, &ns, &tcp(CLIENT, 40000, VIP, 80, SYN).frame());
    let lport = parsed(&r.packet).sport;
    let local: Ipv4Addr = LOCAL.parse().unwrap();
    let real = Ipv4Addr::new(10, 0, 1, 21);

    // From the client side, about the VIP's reply: to the real, as if
    // about the real's own reply to the local address.
    let icmp = frag_needed(ROUTER, VIP, &tcp(VIP, 80, CLIENT, 40000, ACK));
    let r = through(&dp, &ns, &icmp);
    assert_eq!(r.action, XDP_TX);
    assert!(icmp_ok(&r.packet), "checksums");
    let ip = ip_of(&r.packet);
    assert_eq!((addr(&ip[12..16]), addr(&ip[16..20])), (local, real));
    let q = &ip[28..];
    assert_eq!((addr(&q[12..16]), addr(&q[16..20])), (real, local));
    assert_eq!((port(&q[20..22]), port(&q[22..24])), (8080, lport));

    // From the real side, about our packet to it: to the client, as if
    // about its own packet to the VIP.
    let icmp = frag_needed(
        "10.0.1.21",
        LOCAL,
        &tcp(LOCAL, lport, "10.0.1.21", 8080, ACK),
    );
    let r = through(&dp, &ns, &icmp);
    assert_eq!(r.action, XDP_TX);
    assert!(icmp_ok(&r.packet), "checksums");
    let ip = ip_of(&r.packet);
    let client: Ipv4Addr = CLIENT.parse().unwrap();
    let vip: Ipv4Addr = VIP.parse().unwrap();
    assert_eq!((addr(&ip[12..16]), addr(&ip[16..20])), (vip, client));
    let q = &ip[28..];
    assert_eq!((addr(&q[12..16]), addr(&q[16..20])), (client, vip));
    assert_eq!((port(&q[20..22]), port(&q[22..24])), (40000, 80));
    assert_eq!(dp.stat("icmp_to_real").unwrap(), 1);
    assert_eq!(dp.stat("icmp_to_client").unwrap(), 1);

    // About a flow we never translated: nothing to map it to.
    let icmp = frag_needed(ROUTER, VIP, &tcp(VIP, 80, CLIENT, 40999, ACK));
    assert_eq!(through(&dp, &ns, &icmp).action, XDP_DROP);
    assert_eq!(dp.stat("drop_nat_unknown").unwrap(), 1);
}
