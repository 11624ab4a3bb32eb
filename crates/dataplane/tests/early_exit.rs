//! The early exit for traffic to no service (bpf/addrs.h): packets to an
//! address that is no VIP, local address or NAT real's pass untouched and
//! counted, before any service lookup; the bits follow services added,
//! changed and removed, local addresses, and a restart over pins.

mod common;

use common::*;
use std::net::Ipv4Addr;
use xlvs_dataplane::{Dataplane, Forward, ServiceSpec, XDP_PASS, XDP_TX};

const OTHER_VIP: &str = "192.0.2.20";
const NOT_A_VIP: &str = "192.0.2.99";

fn addr(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

/// A DR service `id` on `vip`:80 with real 21.
fn dr_on(id: u32, vip: &str) -> ServiceSpec {
    ServiceSpec {
        id,
        vip: addr(vip),
        ..dr_spec(vec![real(21, 1)])
    }
}

fn send(dp: &Dataplane, dst: &str, sport: u16) -> (u32, Vec<u8>, Vec<u8>) {
    let input = tcp(CLIENT, sport, dst, 80, SYN).frame();
    let r = dp.run("xlvs", &input, 1).unwrap();
    (r.action, input, r.packet)
}

#[test]
fn packets_to_no_service_pass_untouched_and_are_counted() {
    let mut dp = small();
    dp.set_service(&dr_on(1, VIP)).unwrap();
    assert_eq!(dp.address_bits(addr(VIP)).unwrap(), (true, false));
    assert_eq!(dp.address_bits(addr(NOT_A_VIP)).unwrap(), (false, false));
    for sport in 40000..40010 {
        let (act, input, out) = send(&dp, NOT_A_VIP, sport);
        assert_eq!(act, XDP_PASS);
        assert_eq!(out, input, "untouched");
    }
    assert_eq!(dp.stat("pass_not_vip").unwrap(), 10);
    // Nothing was looked for: no connection entry, no cache slot used.
    assert_eq!(dp.stat("conntrack_new").unwrap(), 0);
    assert_eq!(send(&dp, VIP, 40000).0, XDP_TX);
    // The same packets with the early exit off take the full way and end
    // the same.
    dp.set_early_exit(false).unwrap();
    let (act, input, out) = send(&dp, NOT_A_VIP, 40000);
    assert_eq!((act, out), (XDP_PASS, input));
    assert_eq!(dp.stat("pass_not_vip").unwrap(), 11);
}

#[test]
fn services_added_later_are_forwarded_and_removed_vips_pass() {
    let mut dp = small();
    dp.set_service(&dr_on(1, VIP)).unwrap();
    assert_eq!(send(&dp, OTHER_VIP, 40000).0, XDP_PASS);
    // A second VIP, added later.
    let later = dr_on(2, OTHER_VIP);
    dp.set_service(&later).unwrap();
    assert_eq!(dp.address_bits(addr(OTHER_VIP)).unwrap(), (true, false));
    assert_eq!(send(&dp, OTHER_VIP, 40001).0, XDP_TX);
    // A third service on the same VIP, another port: removing one of the
    // two keeps the VIP.
    let https = ServiceSpec {
        id: 3,
        ports: vec![443],
        ..dr_on(3, OTHER_VIP)
    };
    dp.set_service(&https).unwrap();
    dp.remove_service(&https).unwrap();
    assert_eq!(dp.address_bits(addr(OTHER_VIP)).unwrap(), (true, false));
    assert_eq!(send(&dp, OTHER_VIP, 40002).0, XDP_TX);
    // The VIP removed: its packets pass, counted.
    let before = dp.stat("pass_not_vip").unwrap();
    dp.remove_service(&later).unwrap();
    assert_eq!(dp.address_bits(addr(OTHER_VIP)).unwrap(), (false, false));
    let (act, input, out) = send(&dp, OTHER_VIP, 40003);
    assert_eq!((act, out), (XDP_PASS, input));
    assert_eq!(dp.stat("pass_not_vip").unwrap(), before + 1);
    assert_eq!(send(&dp, VIP, 40004).0, XDP_TX, "the first VIP stays");
}

#[test]
fn nat_reals_and_local_addresses_are_listed_while_in_use() {
    let mut dp = small();
    let laddr = addr("10.0.2.1");
    dp.set_local_addresses(&[laddr]).unwrap();
    assert_eq!(dp.address_bits(laddr).unwrap(), (true, false));
    let nat = ServiceSpec {
        forward: Forward::Nat,
        ..dr_on(1, VIP)
    };
    let real21 = addr("10.0.1.21");
    dp.set_service(&nat).unwrap();
    assert_eq!(dp.address_bits(real21).unwrap(), (false, true));
    // As a DR service the same real is no NAT real any more.
    dp.set_service(&dr_on(1, VIP)).unwrap();
    assert_eq!(dp.address_bits(real21).unwrap(), (false, false));
    dp.set_service(&nat).unwrap();
    dp.remove_service(&nat).unwrap();
    assert_eq!(dp.address_bits(real21).unwrap(), (false, false));
    // Another local address in its place.
    dp.set_local_addresses(&[addr("10.0.2.2")]).unwrap();
    assert_eq!(dp.address_bits(laddr).unwrap(), (false, false));
    assert_eq!(dp.address_bits(addr("10.0.2.2")).unwrap(), (true, false));
}

#[test]
fn a_daemon_loading_over_pins_keeps_the_pinned_services_reachable() {
    require_root();
    let fs = BpfFs::mount();
    let pins = fs.0.path().join("lb1");
    {
        let mut dp = Dataplane::load_pinned(small_limits(), Some(&pins)).unwrap();
        dp.set_service(&dr_on(1, OTHER_VIP)).unwrap();
    }
    let mut dp = Dataplane::load_pinned(small_limits(), Some(&pins)).unwrap();
    // Before anything is programmed again.
    assert_eq!(dp.address_bits(addr(OTHER_VIP)).unwrap(), (true, false));
    assert_eq!(send(&dp, OTHER_VIP, 40000).0, XDP_TX);
    assert_eq!(send(&dp, NOT_A_VIP, 40000).0, XDP_PASS);
    dp.remove_service(&dr_on(1, OTHER_VIP)).unwrap();
    assert_eq!(send(&dp, OTHER_VIP, 40001).0, XDP_PASS);
    dp.unpin().unwrap();
}
