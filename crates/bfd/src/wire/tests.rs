use super::*;

fn sample() -> ControlPacket {
    ControlPacket {
        diag: Diag::ControlDetectionExpired,
        state: State::Up,
        poll: true,
        fin: false,
        cpi: false,
        demand: false,
        detect_mult: 3,
        my_discr: 0x0102_0304,
        your_discr: 0x0a0b_0c0d,
        desired_min_tx_us: 100_000,
        required_min_rx_us: 300_000,
        required_min_echo_rx_us: 0,
    }
}

#[test]
fn emits_the_rfc_layout() {
    let b = sample().to_bytes();
    assert_eq!(
        b,
        [
            0x21, // version 1, diag 1
            0xe0, // state Up (3), P
            3, 24, // detect mult, length
            1, 2, 3, 4, // my discriminator
            10, 11, 12, 13, // your discriminator
            0, 1, 0x86, 0xa0, // 100 000 µs
            0, 4, 0x93, 0xe0, // 300 000 µs
            0, 0, 0, 0,
        ]
    );
    assert_eq!(ControlPacket::parse(&b), Ok(sample()));
}

#[test]
fn every_flag_and_state_survives() {
    for bits in 0u8..64 {
        let p = ControlPacket {
            state: State::from_bits(bits >> 4),
            poll: bits & 1 != 0,
            fin: bits & 2 != 0,
            cpi: bits & 4 != 0,
            demand: bits & 8 != 0,
            ..sample()
        };
        assert_eq!(ControlPacket::parse(&p.to_bytes()), Ok(p));
    }
}

/// Deterministic values, so a failure reproduces.
fn xorshift(mut s: u64) -> impl FnMut() -> u64 {
    move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    }
}

/// A round trip over many values: what emit writes, parse reads back
/// the same, for any field values the checks allow.
#[test]
fn round_trip_over_many_values() {
    let mut next = xorshift(0x2545_f491_4f6c_dd1d);
    for _ in 0..50_000 {
        let r = next();
        let state = State::from_bits(r as u8);
        let your_discr = match (state, r >> 8 & 3) {
            (State::Down | State::AdminDown, 0) => 0,
            _ => (next() as u32).max(1),
        };
        let p = ControlPacket {
            diag: Diag::from_bits((r >> 10) as u8),
            state,
            poll: r >> 15 & 1 != 0,
            fin: r >> 16 & 1 != 0,
            cpi: r >> 17 & 1 != 0,
            demand: r >> 18 & 1 != 0,
            detect_mult: ((r >> 19) as u8).max(1),
            my_discr: (r >> 32) as u32 | 1,
            your_discr,
            desired_min_tx_us: next() as u32,
            required_min_rx_us: next() as u32,
            required_min_echo_rx_us: next() as u32,
        };
        let b = p.to_bytes();
        assert_eq!(b.len(), CONTROL_LEN);
        assert_eq!(ControlPacket::parse(&b), Ok(p));
    }
}

fn with(f: impl FnOnce(&mut Vec<u8>)) -> Result<ControlPacket, WireError> {
    let mut b = sample().to_bytes();
    f(&mut b);
    ControlPacket::parse(&b)
}

#[test]
fn refuses_what_rfc_5880_6_8_6_discards() {
    assert_eq!(with(|b| b[0] = 0x41), Err(WireError::Version(2)));
    assert_eq!(with(|b| b[0] = 0x01), Err(WireError::Version(0)));
    assert_eq!(
        with(|b| b[3] = 23),
        Err(WireError::TooShort {
            declared: 23,
            min: 24
        })
    );
    assert_eq!(
        with(|b| b[3] = 25),
        Err(WireError::BeyondDatagram {
            declared: 25,
            datagram: 24
        })
    );
    assert_eq!(with(|b| b[2] = 0), Err(WireError::ZeroMultiplier));
    assert_eq!(with(|b| b[1] |= 0x01), Err(WireError::Multipoint));
    assert_eq!(
        with(|b| b[4..8].fill(0)),
        Err(WireError::ZeroMyDiscriminator)
    );
    assert_eq!(
        with(|b| b[8..12].fill(0)),
        Err(WireError::ZeroYourDiscriminator(State::Up))
    );
    // Init must know us too.
    assert_eq!(
        with(|b| {
            b[1] = (State::Init as u8) << 6;
            b[8..12].fill(0);
        }),
        Err(WireError::ZeroYourDiscriminator(State::Init))
    );
}

#[test]
fn your_discriminator_zero_is_fine_while_down() {
    for state in [State::Down, State::AdminDown] {
        let p = ControlPacket {
            state,
            your_discr: 0,
            ..sample()
        };
        assert_eq!(ControlPacket::parse(&p.to_bytes()), Ok(p));
    }
}

#[test]
fn authentication_is_refused_clearly() {
    // A keyed-SHA1 packet as a peer would send it: A set, 28 more bytes.
    let mut b = sample().to_bytes();
    b[1] |= 0x04;
    b[3] = 52;
    b.extend_from_slice(&[4, 28, 1, 0]);
    b.extend_from_slice(&[0; 24]);
    let e = ControlPacket::parse(&b).unwrap_err();
    assert_eq!(e, WireError::Authentication);
    assert!(e.to_string().contains("not supported"), "{e}");
    // With A set the minimum length is 26.
    assert_eq!(
        with(|b| b[1] |= 0x04),
        Err(WireError::TooShort {
            declared: 24,
            min: 26
        })
    );
}

#[test]
fn truncated_and_padded_datagrams() {
    let b = sample().to_bytes();
    for n in 0..4 {
        assert!(matches!(
            ControlPacket::parse(&b[..n]),
            Err(WireError::Truncated(_))
        ));
    }
    for n in 4..24 {
        assert_eq!(
            ControlPacket::parse(&b[..n]),
            Err(WireError::BeyondDatagram {
                declared: 24,
                datagram: n
            })
        );
    }
    // Bytes beyond the length field are not the packet's: ignored.
    let mut padded = b.clone();
    padded.extend_from_slice(&[0xff; 8]);
    assert_eq!(ControlPacket::parse(&padded), Ok(sample()));
}

#[test]
fn random_bytes_never_panic() {
    let mut next = xorshift(0x9e37_79b9_7f4a_7c15);
    let seed = sample().to_bytes();
    let mut accepted = 0;
    for i in 0..50_000 {
        let mut b = seed.clone();
        b.truncate(24 - (i % 7));
        for _ in 0..(next() % 4 + 1) {
            let at = (next() as usize) % b.len();
            b[at] = next() as u8;
        }
        if let Ok(p) = ControlPacket::parse(&b) {
            accepted += 1;
            // Whatever parses emits to bytes that parse the same.
            assert_eq!(ControlPacket::parse(&p.to_bytes()), Ok(p));
        }
    }
    assert!(accepted > 0, "the mutations leave some packets valid");
}
