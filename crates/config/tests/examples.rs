//! The example configs in configs/ load and mean what their comments say.

use std::path::PathBuf;
use std::time::Duration;

use xlvs_config::*;

fn example(name: &str) -> NodeConfig {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../configs")
        .join(name);
    match load(&path) {
        Ok(config) => config,
        Err(errors) => panic!("{name} does not validate:\n{errors}"),
    }
}

#[test]
fn dr_example() {
    let c = example("lb-dr.toml");
    assert_eq!(
        c.node.router_id,
        "10.255.0.11".parse::<std::net::Ipv4Addr>().unwrap()
    );
    assert_eq!(c.ospf.interfaces.len(), 1);
    let itf = &c.ospf.interfaces[0];
    assert_eq!(itf.dead_interval, Duration::from_secs(4));
    assert!(matches!(itf.auth, OspfAuth::Md5 { key_id: 1, .. }));
    assert_eq!(c.services.len(), 1);
    let web = &c.services[0];
    assert_eq!(web.forward, Forward::Dr);
    assert_eq!(web.scheduler, Scheduler::Mh);
    assert_eq!(web.ports, Ports::List(vec![80]));
    assert_eq!(web.reals.len(), 3);
    assert_eq!(web.reals[2].weight, 50);
    assert_eq!(web.persistence, None);
    match &web.health.check {
        HealthCheck::Http(http) => assert_eq!(http.path, "/healthz"),
        other => panic!("expected an http check, got {other:?}"),
    }
    assert_eq!(web.probe_port(&web.reals[0]), Some(80));
    assert!(c.fullnat.is_none());
}

#[test]
fn tun_example() {
    let c = example("lb-tun.toml");
    assert_eq!(c.ospf.area, std::net::Ipv4Addr::UNSPECIFIED);
    assert_eq!(c.dataplane.interfaces, ["eth1", "eth2"]);
    assert_eq!(c.dataplane.xdp_mode, XdpMode::Native);
    assert_eq!(c.dataplane.conntrack_entries, 1 << 20);
    assert_eq!(c.dataplane.flow_cache_entries, 1 << 14);
    assert_eq!(c.dataplane.syn_flood_threshold, 100_000);
    assert!(c.dataplane.next_hop_cache, "on unless set");
    assert_eq!(c.services.len(), 2);
    assert!(c.services.iter().all(|s| s.forward == Forward::Tun));
    let dns = &c.services[0];
    assert_eq!(dns.protocol, Protocol::Udp);
    assert_eq!(dns.health.check, HealthCheck::Tcp);
    let persistence = dns.persistence.unwrap();
    assert_eq!(persistence.timeout, Duration::from_secs(60));
    assert_eq!(persistence.mask, std::net::Ipv4Addr::new(255, 255, 255, 0));
    assert_eq!(dns.reals[1].weight, 1, "default weight, like ipvsadm");
    let all = &c.services[1];
    assert_eq!(all.ports, Ports::All);
    assert_eq!(all.probe_port(&all.reals[0]), Some(25));
    assert_eq!(all.reals[1].weight, 0);
    // Defaults.
    assert_eq!(all.scheduler, Scheduler::Mh);
    assert_eq!(all.health.interval, Duration::from_secs(2));
    assert_eq!((all.health.rise, all.health.fall), (2, 3));
}

#[test]
fn fullnat_example() {
    let c = example("lb-fullnat.toml");
    let locals = &c.fullnat.as_ref().unwrap().local_addresses;
    assert_eq!(locals.len(), 2);
    let itf = &c.ospf.interfaces[0];
    assert_eq!((itf.network, itf.cost), (NetworkType::Broadcast, 10));
    assert!(itf.mtu_ignore);
    assert_eq!(itf.auth, OspfAuth::None);
    assert_eq!(c.services.len(), 1);
    let shop = &c.services[0];
    assert_eq!(shop.forward, Forward::Fullnat);
    assert_eq!(shop.ports, Ports::List(vec![80, 443]));
    assert!(shop.ports.contains(443) && !shop.ports.contains(8080));
    match &shop.health.check {
        HealthCheck::Https(http, _) => assert_eq!(http.expect_body.as_deref(), Some("ok")),
        other => panic!("expected an https check, got {other:?}"),
    }
    assert_eq!(shop.probe_port(&shop.reals[0]), Some(443));
}
