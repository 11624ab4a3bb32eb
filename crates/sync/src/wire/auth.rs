//! The HMAC-SHA256 tag that ends every datagram, over header and payload,
//! with the cluster's shared key. Verification is ring's, in constant time,
//! so the time a forged tag takes to refuse says nothing about the key.

use ring::hmac;

pub const TAG_LEN: usize = 32;

/// The shared sync key.
#[derive(Clone)]
pub struct Key(hmac::Key);

impl Key {
    pub fn new(secret: &[u8]) -> Key {
        Key(hmac::Key::new(hmac::HMAC_SHA256, secret))
    }

    /// The tag of `signed` (header and payload).
    pub fn sign(&self, signed: &[u8]) -> [u8; TAG_LEN] {
        hmac::sign(&self.0, signed)
            .as_ref()
            .try_into()
            .expect("HMAC-SHA256 tags are 32 bytes")
    }

    pub fn verify(&self, signed: &[u8], tag: &[u8]) -> bool {
        hmac::verify(&self.0, signed, tag).is_ok()
    }
}

/// Never shows the key.
impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(..)")
    }
}
