//! The next hop towards a TUN, NAT or FULLNAT real, for the data plane's
//! next hop map (bpf/fib.h): what the kernel's FIB would answer for a
//! packet to the real, from the route, link and neighbour facts the host
//! layer follows. Anything unknown or unusual gives no entry, and XDP
//! asks the FIB itself, as without the map: no route, a route that is not
//! unicast or has several next hops (the FIB picks one per flow), an
//! interface down or without a MAC, a neighbour not resolved.
//!
//! Pure; follow.rs does the I/O.

use crate::host::{Neighbour, Route};
use std::net::Ipv4Addr;
use xlvs_dataplane::NextHop;
use xlvs_netlink::Link;

/// Why a real has no next hop entry (XDP asks the FIB for it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoNextHop {
    NoRoute,
    NotUnicast,
    Multipath,
    NoInterface,
    InterfaceDown,
    /// A device without an Ethernet address (a tunnel, lo).
    NoMac,
    /// The neighbour (gateway or the real) is not resolved yet, or failed:
    /// the address to resolve and on which interface.
    Unresolved {
        ifindex: u32,
        neighbour: Ipv4Addr,
    },
}

impl NoNextHop {
    pub fn why(self) -> &'static str {
        match self {
            NoNextHop::NoRoute => "no route in the main table",
            NoNextHop::NotUnicast => "the route is not unicast",
            NoNextHop::Multipath => "the route has several next hops",
            NoNextHop::NoInterface => "the route names no interface",
            NoNextHop::InterfaceDown => "the route's interface is down",
            NoNextHop::NoMac => "the route's interface has no Ethernet address",
            NoNextHop::Unresolved { .. } => "the next hop's MAC is not resolved",
        }
    }
}

/// The facts about one real: its route, and (looked up by the route's
/// interface and the neighbour it names) the link and neighbour entry.
pub struct Facts<'a> {
    pub route: Option<&'a Route>,
    pub link: Option<&'a Link>,
    pub neighbour: Option<&'a Neighbour>,
}

/// The neighbour packets to `real` go to by `route`: its gateway, or the
/// real itself on the link.
pub fn neighbour_of(real: Ipv4Addr, route: &Route) -> Ipv4Addr {
    route.gateway.unwrap_or(real)
}

/// The entry for real `real`, or why there is none.
pub fn next_hop(real: Ipv4Addr, f: Facts) -> Result<NextHop, NoNextHop> {
    let route = f.route.ok_or(NoNextHop::NoRoute)?;
    if !route.unicast {
        return Err(NoNextHop::NotUnicast);
    }
    if route.multipath {
        return Err(NoNextHop::Multipath);
    }
    let ifindex = route.oif.ok_or(NoNextHop::NoInterface)?;
    let link = f.link.ok_or(NoNextHop::NoInterface)?;
    if !link.running {
        return Err(NoNextHop::InterfaceDown);
    }
    let smac = link.mac.ok_or(NoNextHop::NoMac)?;
    let dmac = match f.neighbour {
        Some(Neighbour::Resolved(mac)) => *mac,
        _ => {
            return Err(NoNextHop::Unresolved {
                ifindex,
                neighbour: neighbour_of(real, route),
            })
        }
    };
    // The FIB checks a packet against the route's MTU if it has one, else
    // the interface's.
    let mtu = route.mtu.unwrap_or(link.mtu).min(u32::from(u16::MAX)) as u16;
    Ok(NextHop {
        ifindex,
        dmac,
        smac,
        mtu,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const REAL: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 21);
    const GW: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 254);
    const GW_MAC: [u8; 6] = [2, 0, 0, 0, 0, 0xfe];
    const OUR_MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];

    fn via_gw() -> Route {
        Route {
            unicast: true,
            gateway: Some(GW),
            oif: Some(3),
            mtu: None,
            multipath: false,
        }
    }

    fn eth1() -> Link {
        Link {
            name: "eth1".into(),
            mtu: 1500,
            running: true,
            mac: Some(OUR_MAC),
        }
    }

    fn facts<'a>(r: &'a Route, l: &'a Link, n: &'a Neighbour) -> Facts<'a> {
        Facts {
            route: Some(r),
            link: Some(l),
            neighbour: Some(n),
        }
    }

    #[test]
    fn a_gateway_route_with_a_resolved_neighbour_gives_its_mac() {
        let (r, l, n) = (via_gw(), eth1(), Neighbour::Resolved(GW_MAC));
        let want = NextHop {
            ifindex: 3,
            dmac: GW_MAC,
            smac: OUR_MAC,
            mtu: 1500,
        };
        assert_eq!(next_hop(REAL, facts(&r, &l, &n)), Ok(want));
        // The route's own MTU goes before the interface's.
        let r = Route {
            mtu: Some(1400),
            ..via_gw()
        };
        assert_eq!(next_hop(REAL, facts(&r, &l, &n)).unwrap().mtu, 1400);
        // A jumbo interface beyond what the map holds is capped.
        let l = Link {
            mtu: 70_000,
            ..eth1()
        };
        assert_eq!(next_hop(REAL, facts(&via_gw(), &l, &n)).unwrap().mtu, 65535);
    }

    #[test]
    fn an_on_link_real_is_its_own_neighbour() {
        let r = Route {
            gateway: None,
            ..via_gw()
        };
        assert_eq!(neighbour_of(REAL, &r), REAL);
        assert_eq!(neighbour_of(REAL, &via_gw()), GW);
        let n = Neighbour::Resolving;
        assert_eq!(
            next_hop(REAL, facts(&r, &eth1(), &n)),
            Err(NoNextHop::Unresolved {
                ifindex: 3,
                neighbour: REAL
            })
        );
    }

    #[test]
    fn anything_unknown_or_unusual_gives_no_entry() {
        let (r, l, n) = (via_gw(), eth1(), Neighbour::Resolved(GW_MAC));
        let none = Facts {
            route: None,
            link: Some(&l),
            neighbour: Some(&n),
        };
        assert_eq!(next_hop(REAL, none), Err(NoNextHop::NoRoute));
        let routes = [
            (
                Route {
                    unicast: false,
                    ..via_gw()
                },
                NoNextHop::NotUnicast,
            ),
            (
                Route {
                    multipath: true,
                    ..via_gw()
                },
                NoNextHop::Multipath,
            ),
            (
                Route {
                    oif: None,
                    ..via_gw()
                },
                NoNextHop::NoInterface,
            ),
        ];
        for (route, why) in routes {
            assert_eq!(next_hop(REAL, facts(&route, &l, &n)), Err(why), "{route:?}");
        }
        let no_link = Facts {
            route: Some(&r),
            link: None,
            neighbour: Some(&n),
        };
        assert_eq!(next_hop(REAL, no_link), Err(NoNextHop::NoInterface));
        let links = [
            (
                Link {
                    running: false,
                    ..eth1()
                },
                NoNextHop::InterfaceDown,
            ),
            (
                Link {
                    mac: None,
                    ..eth1()
                },
                NoNextHop::NoMac,
            ),
        ];
        for (link, why) in links {
            assert_eq!(next_hop(REAL, facts(&r, &link, &n)), Err(why), "{link:?}");
        }
        let unresolved = Err(NoNextHop::Unresolved {
            ifindex: 3,
            neighbour: GW,
        });
        for n in [
            Neighbour::Failed,
            Neighbour::Resolving,
            Neighbour::Other {
                state: 0x40,
                lladdr: vec![],
            },
        ] {
            assert_eq!(next_hop(REAL, facts(&r, &l, &n)), unresolved, "{n:?}");
        }
        let gone = Facts {
            route: Some(&r),
            link: Some(&l),
            neighbour: None,
        };
        assert_eq!(next_hop(REAL, gone), unresolved);
    }
}
