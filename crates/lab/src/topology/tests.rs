use super::*;

/// A lab directory with the files binds refer to.
struct LabDir(tempfile::TempDir);

impl LabDir {
    fn new() -> LabDir {
        let d = tempfile::tempdir().unwrap();
        for f in ["r1.conf", "daemons", "nginx.conf", "bird.conf"] {
            std::fs::write(d.path().join(f), "").unwrap();
        }
        std::fs::write(d.path().join("lb1.toml"), xlvs_config::EXAMPLE_NODE).unwrap();
        LabDir(d)
    }

    fn parse(&self, yaml: &str) -> Result<Topology, TopologyErrors> {
        Topology::parse(yaml, &self.0.path().join("lab.clab.yml"))
    }

    /// The problems of an invalid file, as text, one per line.
    fn problems(&self, yaml: &str) -> String {
        let e = self.parse(yaml).expect_err("file should be rejected");
        e.problems
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

const GOOD: &str = r#"
name: demo
mgmt: {network: custom, ipv4-subnet: 172.100.100.0/24}
topology:
  defaults:
    env: {ROLE: lab}
  kinds:
    linux:
      binds: [daemons:/etc/frr/daemons]
  nodes:
    r1:
      kind: linux
      image: quay.io/frrouting/frr:8.4.1
      binds: [r1.conf:/etc/frr/frr.conf]
      labels: {graph-icon: router}
    lb1:
      kind: linux
      image: xlvs:latest
      binds: [lb1.toml:/etc/xlvs/node.toml]
      cmd: xlvsd --config /etc/xlvs/node.toml
      env: {WORKERS: 4}
    web:
      kind: linux
      image: nginx:1.25
      binds: [nginx.conf:/etc/nginx/nginx.conf:ro]
      exec: ["nginx -c /etc/nginx/nginx.conf", "ip addr add 10.0.1.21/24 dev eth1"]
    sw:
      kind: bridge
  links:
    - endpoints: ["r1:eth1", "lb1:eth1"]
    - type: veth
      mtu: 9000
      endpoints:
        - {node: lb1, interface: eth2, mac: "02:00:00:00:00:02"}
        - {node: sw, interface: p1}
    - endpoints: ["web:eth1", "sw:p2"]
"#;

#[test]
fn a_full_topology_resolves_roles_binds_and_links() {
    let dir = LabDir::new();
    let t = dir.parse(GOOD).unwrap();
    assert_eq!(t.name, "demo");
    let r1 = t.node("r1").unwrap();
    assert_eq!(
        r1.role,
        Role::Frr {
            frr_conf: dir.0.path().join("r1.conf"),
            daemons: Some(dir.0.path().join("daemons")),
        }
    );
    let lb1 = t.node("lb1").unwrap();
    assert_eq!(
        lb1.role,
        Role::Xlvs {
            config: dir.0.path().join("lb1.toml"),
            socket: "/run/xlvs/lb1.sock".into(),
            pins: "/sys/fs/bpf/xlvs/lb1".into(),
            xdp_interfaces: vec!["eth1".into()],
        }
    );
    // env merges across levels, numbers become strings
    assert_eq!(lb1.env["ROLE"], "lab");
    assert_eq!(lb1.env["WORKERS"], "4");
    assert_eq!(t.node("web").unwrap().role, Role::Host);
    assert_eq!(t.node("sw").unwrap().role, Role::Bridge);
    assert_eq!(t.links.len(), 3);
    assert_eq!(t.links[1].mtu, Some(9000));
    assert_eq!(t.links[1].a.mac.as_deref(), Some("02:00:00:00:00:02"));
    let lb1_ifaces: Vec<_> = t
        .interfaces_of("lb1")
        .map(|e| e.interface.clone())
        .collect();
    assert_eq!(lb1_ifaces, ["eth1", "eth2"]);
}

#[test]
fn container_paths_in_commands_become_host_paths() {
    let dir = LabDir::new();
    let t = dir.parse(GOOD).unwrap();
    let web = t.node("web").unwrap();
    let host = dir.0.path().join("nginx.conf");
    assert_eq!(
        web.host_paths("nginx -c /etc/nginx/nginx.conf"),
        format!("nginx -c {}", host.display())
    );
    // only whole paths are rewritten
    assert_eq!(
        web.host_paths("cat /etc/nginx/nginx.conf.bak /x/etc/nginx/nginx.conf"),
        "cat /etc/nginx/nginx.conf.bak /x/etc/nginx/nginx.conf"
    );
    assert_eq!(
        web.host_paths("bash -c 'cat /etc/nginx/nginx.conf'"),
        format!("bash -c 'cat {}'", host.display())
    );
}

#[test]
fn a_link_to_an_unknown_node_is_named() {
    let dir = LabDir::new();
    let p = dir.problems(&GOOD.replace("\"web:eth1\", \"sw:p2\"", "\"web:eth1\", \"sw2:p2\""));
    assert!(
        p.contains("sw2:p2") && p.contains("\"sw2\" is not defined"),
        "{p}"
    );
}

#[test]
fn an_interface_used_twice_is_named() {
    let dir = LabDir::new();
    let p = dir.problems(&GOOD.replace("\"web:eth1\", \"sw:p2\"", "\"r1:eth1\", \"sw:p2\""));
    assert!(p.contains("r1:eth1 is already used by link 0"), "{p}");
}

#[test]
fn a_missing_bind_file_is_named() {
    let dir = LabDir::new();
    let p = dir.problems(&GOOD.replace("r1.conf:", "r9.conf:"));
    assert!(p.contains("r9.conf") && p.contains("does not exist"), "{p}");
}

#[test]
fn bad_image_mappings_are_named() {
    let dir = LabDir::new();
    // an FRR node without frr.conf
    let p = dir.problems(&GOOD.replace("binds: [r1.conf:/etc/frr/frr.conf]", "binds: []"));
    assert!(
        p.contains("node r1: bad image mapping") && p.contains("frr.conf"),
        "{p}"
    );
    // xlvsd whose --config is not bound
    let p = dir.problems(&GOOD.replace(
        "cmd: xlvsd --config /etc/xlvs/node.toml",
        "cmd: xlvsd --config /etc/xlvs/other.toml",
    ));
    assert!(
        p.contains("node lb1: bad image mapping") && p.contains("/etc/xlvs/other.toml"),
        "{p}"
    );
    // an xlvs image running something else
    let p = dir.problems(&GOOD.replace("cmd: xlvsd --config", "cmd: sleep --config"));
    assert!(p.contains("runs xlvsd"), "{p}");
    // kind linux without an image
    let p = dir.problems(&GOOD.replace("image: nginx:1.25", ""));
    assert!(
        p.contains("node web: bad image mapping: kind linux needs an image"),
        "{p}"
    );
    // unknown kind
    let p = dir.problems(&GOOD.replace("kind: bridge", "kind: nokia_srlinux"));
    assert!(p.contains("kind \"nokia_srlinux\" is not supported"), "{p}");
}

#[test]
fn an_invalid_xlvs_config_fails_the_lab() {
    let dir = LabDir::new();
    std::fs::write(
        dir.0.path().join("lb1.toml"),
        xlvs_config::EXAMPLE_NODE.replace("eth1\"]", "eth9\"]"),
    )
    .unwrap();
    let p = dir.problems(GOOD);
    assert!(
        p.contains("node lb1: invalid xlvs config") && p.contains("dataplane.interfaces[0]"),
        "{p}"
    );
}

#[test]
fn a_lab_whose_xlvs_config_broke_since_can_still_be_taken_down() {
    let dir = LabDir::new();
    let file = dir.0.path().join("lab.clab.yml");
    std::fs::write(&file, GOOD).unwrap();
    std::fs::write(dir.0.path().join("lb1.toml"), "[oops\n").unwrap();
    assert!(Topology::load(&file).is_err(), "not good enough to build");
    let (t, problems) = Topology::load_for_teardown(&file).expect("good enough to take down");
    assert_eq!(t.name, "demo");
    assert!(matches!(t.node("lb1").unwrap().role, Role::Host));
    assert!(
        matches!(problems.as_slice(), [Problem::BadXlvsConfig { node, .. }] if node == "lb1"),
        "{problems:?}"
    );
    // Any other problem still refuses.
    std::fs::write(&file, GOOD.replace("name: demo", "name: \"bad name\"")).unwrap();
    assert!(Topology::load_for_teardown(&file).is_err());
}

#[test]
fn unsupported_fields_are_named_and_harmless_ones_ignored() {
    let dir = LabDir::new();
    let p = dir.problems(&GOOD.replace(
        "      labels: {graph-icon: router}",
        "      network-mode: host",
    ));
    assert_eq!(
        p,
        "`topology.nodes.r1`: unsupported field `network-mode` (xlvs-lab cannot realize it)"
    );
    let p = dir.problems(&GOOD.replace("    - type: veth", "    - type: macvlan"));
    assert!(p.contains("type \"macvlan\" is not supported"), "{p}");
    let p = dir.problems(&format!("{GOOD}\nextra: 1\n"));
    assert!(p.contains("unsupported field `extra`"), "{p}");
}

#[test]
fn interface_names_and_macs_are_checked() {
    let dir = LabDir::new();
    let p = dir.problems(&GOOD.replace(
        "\"r1:eth1\", \"lb1:eth1\"",
        "\"r1:eth0\", \"lb1:averyveryverylongname\"",
    ));
    assert!(
        p.contains("r1:eth0: eth0 is containerlab's management interface"),
        "{p}"
    );
    assert!(p.contains("invalid interface name"), "{p}");
    let p = dir.problems(&GOOD.replace("02:00:00:00:00:02", "01:00:5e:00:00:01"));
    assert!(p.contains("multicast"), "{p}");
    let p = dir.problems(&GOOD.replace("02:00:00:00:00:02", "02:00:00:00:00"));
    assert!(p.contains("six hex octets"), "{p}");
}

#[test]
fn every_problem_is_reported_at_once() {
    let dir = LabDir::new();
    let bad = GOOD
        .replace("r1.conf:", "r9.conf:")
        .replace("\"web:eth1\", \"sw:p2\"", "\"web:eth1\", \"sw2:p2\"");
    let e = dir.parse(&bad).unwrap_err();
    assert_eq!(e.problems.len(), 2, "{e}");
    assert!(e.to_string().contains("2 problems"));
}

#[test]
fn yaml_errors_and_missing_sections_are_reported() {
    let dir = LabDir::new();
    assert!(dir
        .problems("name: [")
        .contains("not a valid topology file"));
    assert!(dir.problems("name: x\n").contains("missing `topology`"));
    assert!(dir
        .problems("topology: {nodes: {a: {kind: bridge}}}\n")
        .contains("missing `name`"));
    assert!(dir
        .problems("name: a b\ntopology: {nodes: {a: {kind: bridge}}}\n")
        .contains("invalid name"));
    assert!(dir
        .problems("name: x\ntopology: {nodes: {a: {}}}\n")
        .contains("node a: no kind"));
}

#[test]
fn groups_and_defaults_are_inherited() {
    let dir = LabDir::new();
    let yaml = r#"
name: g
topology:
  defaults: {kind: linux, image: alpine}
  groups:
    routers:
      image: frrouting/frr:v8.4.1
      binds: [daemons:/etc/frr/daemons, r1.conf:/etc/frr/frr.conf]
  nodes:
    a: {group: routers}
    b: {}
    c: {group: nope}
"#;
    let e = dir.parse(yaml).unwrap_err();
    assert_eq!(e.problems.len(), 1, "{e}");
    assert!(e.problems[0].to_string().contains("group \"nope\""));
    let t = dir
        .parse(&yaml.replace("    c: {group: nope}\n", ""))
        .unwrap();
    assert!(t.node("a").unwrap().role.is_router());
    assert_eq!(t.node("b").unwrap().role, Role::Host);
}

#[test]
fn yaml_merge_keys_are_applied() {
    let dir = LabDir::new();
    let yaml = r#"
name: m
topology:
  nodes:
    a: &host
      kind: linux
      image: debian:12
      exec: ["true"]
    b:
      <<: *host
      exec: ["false"]
"#;
    let t = dir.parse(yaml).unwrap();
    assert_eq!(t.node("b").unwrap().image.as_deref(), Some("debian:12"));
    assert_eq!(t.node("b").unwrap().exec, ["false"]);
}

/// BIRD routers: by kind, or by an image whose name says bird.
const BIRDS: &str = r#"
name: b
topology:
  nodes:
    r1:
      kind: linux
      image: lab-bird:latest
      binds: [bird.conf:/etc/bird/bird.conf]
    r2:
      kind: bird
      startup-config: bird.conf
    r3:
      kind: linux
      image: quay.io/frrouting/frr:8.4.1
      binds: [r1.conf:/etc/frr/frr.conf]
"#;

#[test]
fn bird_nodes_run_bird_with_their_bird_conf() {
    let dir = LabDir::new();
    let t = dir.parse(BIRDS).unwrap();
    let conf = dir.0.path().join("bird.conf");
    for r in ["r1", "r2"] {
        let role = &t.node(r).unwrap().role;
        assert_eq!(
            *role,
            Role::Bird {
                bird_conf: conf.clone()
            },
            "{r}"
        );
        // Routers get forwarding and the L4 ECMP hash, as FRR's do.
        assert!(role.is_router() && role.label() == "bird", "{r}");
    }
}

#[test]
fn a_bird_node_without_its_bird_conf_is_refused() {
    let dir = LabDir::new();
    let p = dir.problems(&BIRDS.replace("binds: [bird.conf:/etc/bird/bird.conf]", "binds: []"));
    assert_eq!(
        p,
        "node r1: bad image mapping: a BIRD node needs its bird.conf: \
         bind it to /etc/bird/bird.conf or set startup-config"
    );
    let p = dir.problems(&BIRDS.replace("startup-config: bird.conf", "startup-config: nope.conf"));
    assert!(
        p.contains("node r2: bad image mapping: startup-config") && p.contains("nope.conf"),
        "{p}"
    );
}

#[test]
fn birdc_reaches_the_nodes_own_bird_and_vtysh_its_own_frr() {
    let dir = LabDir::new();
    let t = dir.parse(BIRDS).unwrap();
    let argv = |node: &str, cmd: &[&str]| {
        let cmd: Vec<String> = cmd.iter().map(|s| s.to_string()).collect();
        crate::exec::node_argv(&t, node, &cmd).unwrap().join(" ")
    };
    assert_eq!(
        argv("r1", &["birdc", "show", "ospf", "neighbors"]),
        "birdc -s /run/xlvs-lab/b/r1/bird.ctl show ospf neighbors"
    );
    assert_eq!(
        argv("r2", &["birdcl", "show", "route"]),
        "birdcl -s /run/xlvs-lab/b/r2/bird.ctl show route"
    );
    assert_eq!(argv("r1", &["vtysh", "-c", "x"]), "vtysh -c x");
    assert_eq!(argv("r3", &["birdc", "show"]), "birdc show");
    assert_eq!(argv("r3", &["vtysh", "-c", "x"]), "vtysh -N clab-b-r3 -c x");
}
