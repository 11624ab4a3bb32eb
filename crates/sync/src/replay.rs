//! Replay protection, per sender: the highest session seen and, within it,
//! the highest sequence number and a 64-bit window of the ones below it.
//!
//! A datagram is new when its session is higher than the known one (the
//! sender restarted: a fresh window), or in the same session when its seq
//! is above the highest or inside the window and not yet seen. Only
//! authenticated datagrams may reach [`ReplayWindow::accept`]: anyone can
//! forge a header, and a forged high session would lock the sender out.

/// How many sequence numbers below the highest are remembered.
pub const WINDOW: u64 = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Replayed {
    #[error("session {got} is older than the sender's current {known}")]
    StaleSession { got: u64, known: u64 },
    #[error("sequence number {0} already seen or older than the window")]
    Seq(u64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplayWindow {
    session: u64,
    highest: u64,
    /// Bit i: `highest - i` was seen (bit 0 is `highest` itself).
    seen: u64,
}

impl ReplayWindow {
    /// The window after the first datagram heard from a sender.
    pub fn first(session: u64, seq: u64) -> ReplayWindow {
        ReplayWindow {
            session,
            highest: seq,
            seen: 1,
        }
    }

    pub fn session(&self) -> u64 {
        self.session
    }

    /// Accepts (and records) `(session, seq)` if it is new.
    pub fn accept(&mut self, session: u64, seq: u64) -> Result<(), Replayed> {
        if session < self.session {
            return Err(Replayed::StaleSession {
                got: session,
                known: self.session,
            });
        }
        if session > self.session {
            *self = ReplayWindow::first(session, seq);
            return Ok(());
        }
        if seq > self.highest {
            let shift = seq - self.highest;
            self.seen = if shift >= WINDOW {
                0
            } else {
                self.seen << shift
            };
            self.seen |= 1;
            self.highest = seq;
            return Ok(());
        }
        let age = self.highest - seq;
        if age >= WINDOW || self.seen & (1 << age) != 0 {
            return Err(Replayed::Seq(seq));
        }
        self.seen |= 1 << age;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_order_out_of_order_and_duplicates() {
        let mut w = ReplayWindow::first(5, 10);
        assert_eq!(w.accept(5, 10), Err(Replayed::Seq(10)));
        assert_eq!(w.accept(5, 12), Ok(()));
        assert_eq!(w.accept(5, 11), Ok(()), "late but inside the window");
        assert_eq!(w.accept(5, 11), Err(Replayed::Seq(11)));
        assert_eq!(w.accept(5, 9), Ok(()), "below the first, inside the window");
    }

    #[test]
    fn window_edges() {
        let mut w = ReplayWindow::first(1, 100);
        assert_eq!(w.accept(1, 100 - 63), Ok(()), "the oldest the window holds");
        assert_eq!(
            w.accept(1, 100 - 64),
            Err(Replayed::Seq(36)),
            "just outside"
        );
        // A jump of exactly the window size forgets everything below.
        assert_eq!(w.accept(1, 164), Ok(()));
        assert_eq!(w.accept(1, 101), Ok(()), "never seen, age 63");
        assert_eq!(w.accept(1, 100), Err(Replayed::Seq(100)), "age 64: too old");
        // A huge jump must not overflow the shift.
        assert_eq!(w.accept(1, u64::MAX), Ok(()));
        assert_eq!(w.accept(1, u64::MAX), Err(Replayed::Seq(u64::MAX)));
    }

    #[test]
    fn sessions() {
        let mut w = ReplayWindow::first(5, 1000);
        assert_eq!(
            w.accept(4, 2000),
            Err(Replayed::StaleSession { got: 4, known: 5 })
        );
        assert_eq!(w.accept(6, 1), Ok(()), "restarted: a fresh window");
        assert_eq!(w.session(), 6);
        assert_eq!(w.accept(6, 1), Err(Replayed::Seq(1)));
        assert_eq!(
            w.accept(5, 1001),
            Err(Replayed::StaleSession { got: 5, known: 6 })
        );
    }
}
