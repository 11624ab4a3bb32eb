//! Packets FRR 8.4 sent in a lab, for byte-exact tests (see the header of
//! tests/captures/frr-8.4.4.txt for how they were made).

use std::net::Ipv4Addr;

pub const MD5_KEY: &[u8] = b"xlvs-test";

pub struct Capture {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub bytes: Vec<u8>,
}

pub fn get(name: &str) -> Capture {
    let text = include_str!("../../tests/captures/frr-8.4.4.txt");
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.first() == Some(&name) {
            return Capture {
                src: f[1].parse().unwrap(),
                dst: f[2].parse().unwrap(),
                bytes: (0..f[3].len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&f[3][i..i + 2], 16).unwrap())
                    .collect(),
            };
        }
    }
    panic!("no capture named {name}");
}

/// The MD5 key as OSPF uses it: zero-padded to 16 bytes.
pub fn md5_key() -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..MD5_KEY.len()].copy_from_slice(MD5_KEY);
    k
}
