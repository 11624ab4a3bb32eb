//! A throwaway network namespace for fixture tests whose packets go
//! through the kernel's FIB (TUN, NAT, FULLNAT): one veth pair with the
//! addresses, routes and static neighbours the test asks for. The
//! program runs as if the packet arrived on its first end.

use std::process::Command;

pub struct FibNs {
    name: String,
    /// The ifindex of the veth end packets "arrive" on (`in0`).
    pub ifindex: u32,
    /// Its MAC: the source of what the program sends back out of it.
    pub mac: [u8; 6],
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("run ip");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl FibNs {
    /// `setup`: `ip` command lines run in the namespace after `in0`/`in1`
    /// exist and are up with forwarding on.
    pub fn new(tag: &str, setup: &[&str]) -> FibNs {
        let name = format!("xlvs-fix-{}-{tag}", std::process::id());
        ip(&["netns", "add", &name]);
        let mut ns = FibNs {
            name,
            ifindex: 0,
            mac: [0; 6],
        };
        let n = ns.name.clone();
        let n = n.as_str();
        ip(&[
            "-n", n, "link", "add", "in0", "type", "veth", "peer", "name", "in1",
        ]);
        ip(&["-n", n, "link", "set", "in0", "up"]);
        ip(&["-n", n, "link", "set", "in1", "up"]);
        let sysctl = Command::new("ip")
            .args([
                "netns",
                "exec",
                n,
                "sysctl",
                "-qw",
                "net.ipv4.conf.all.forwarding=1",
            ])
            .status()
            .expect("sysctl");
        assert!(sysctl.success());
        for line in setup {
            ns.run(line);
        }
        let show = Command::new("ip")
            .args(["-n", n, "-o", "link", "show", "in0"])
            .output()
            .expect("ip link show");
        let text = String::from_utf8_lossy(&show.stdout).to_string();
        let ifindex = text.split(':').next().unwrap().trim().parse().unwrap();
        let mac_text = text
            .split("link/ether ")
            .nth(1)
            .and_then(|s| s.split_whitespace().next())
            .expect("a MAC");
        let mut mac = [0u8; 6];
        for (i, b) in mac_text.split(':').enumerate() {
            mac[i] = u8::from_str_radix(b, 16).unwrap();
        }
        ns.ifindex = ifindex;
        ns.mac = mac;
        ns
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs an `ip` command line in the namespace.
    pub fn run(&self, line: &str) {
        let mut args = vec!["-n", self.name.as_str()];
        args.extend(line.split_whitespace());
        ip(&args);
    }

    /// Moves the calling thread into the namespace until the guard drops.
    pub fn enter(&self) -> Entered {
        let open = |p: &str| std::fs::File::open(p).unwrap_or_else(|e| panic!("open {p}: {e}"));
        let back = open("/proc/thread-self/ns/net");
        let target = open(&format!("/run/netns/{}", self.name));
        setns(&target);
        Entered { back }
    }
}

fn setns(f: &std::fs::File) {
    use std::os::fd::AsRawFd;
    // SAFETY: setns on a namespace file we hold open; affects this thread.
    let rc = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
    assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
}

pub struct Entered {
    back: std::fs::File,
}

impl Drop for Entered {
    fn drop(&mut self) {
        setns(&self.back);
    }
}

impl Drop for FibNs {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}
