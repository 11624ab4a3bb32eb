//! The per-director schedulers' rules in plain Rust: the sequences user
//! space writes for rr, wrr and fo (`Dataplane::set_service` uses them),
//! and the reference the tests hold XDP's choices to for the
//! connection-count schedulers (bpf/counts.h). Pure: no maps, no I/O.

/// Schedulers that follow a sequence computed here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SequenceKind {
    /// Every real with a weight once, in config order.
    Rr,
    /// Smooth weighted round robin.
    Wrr,
    /// The highest-weight real (the first listed on ties).
    Fo,
}

/// Schedulers that compare the reals' connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountKind {
    Lc,
    Wlc,
    Sed,
    Nq,
    Ovf,
    Twos,
}

/// Destination-address locality schedulers (bpf/locality.h).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalityKind {
    Lblc,
    Lblcr,
}

/// Why a sequence cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reals} reals with a weight do not fit a table of {size} slots")]
pub struct TooLong {
    pub reals: usize,
    pub size: u32,
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// The weights a sequence of at most `size` slots is made from: divided
/// by their greatest common divisor, then, if they still add up to more
/// than `size`, scaled down in proportion with every weight kept at 1 or
/// more. Weight 0 stays 0.
pub fn fit_weights(weights: &[u32], size: u32) -> Result<Vec<u32>, TooLong> {
    let reals = weights.iter().filter(|&&w| w > 0).count();
    if reals as u64 > u64::from(size) {
        return Err(TooLong { reals, size });
    }
    let g = weights.iter().fold(0, |g, &w| gcd(g, u64::from(w)));
    if g == 0 {
        return Ok(weights.to_vec());
    }
    let w: Vec<u64> = weights.iter().map(|&x| u64::from(x) / g).collect();
    let sum: u64 = w.iter().sum();
    let size = u64::from(size);
    if sum <= size {
        return Ok(w.into_iter().map(|x| x as u32).collect());
    }
    // floor(w * target / sum), raised to 1, adds up to at most target plus
    // the reals raised: target = size fits unless many were raised, and
    // size - reals always fits.
    let scale = |target: u64| -> Vec<u64> {
        w.iter()
            .map(|&x| if x == 0 { 0 } else { (x * target / sum).max(1) })
            .collect()
    };
    let mut scaled = scale(size);
    if scaled.iter().sum::<u64>() > size {
        scaled = scale(size - reals as u64);
    }
    let g = scaled.iter().fold(0, |g, &x| gcd(g, x)).max(1);
    Ok(scaled.into_iter().map(|x| (x / g) as u32).collect())
}

/// The order new flows take the reals in, as indices into `weights` (the
/// reals in config order); reals at weight 0 never appear. At most `size`
/// long (see [`fit_weights`]).
pub fn sequence(kind: SequenceKind, weights: &[u32], size: u32) -> Result<Vec<usize>, TooLong> {
    let with_weight = || (0..weights.len()).filter(|&i| weights[i] > 0);
    match kind {
        SequenceKind::Rr => {
            let order: Vec<usize> = with_weight().collect();
            if order.len() as u64 > u64::from(size) {
                return Err(TooLong {
                    reals: order.len(),
                    size,
                });
            }
            Ok(order)
        }
        // The first of the highest weight: max_by_key would take the last.
        SequenceKind::Fo => Ok(with_weight()
            .fold(None, |best: Option<usize>, i| match best {
                Some(b) if weights[b] >= weights[i] => Some(b),
                _ => Some(i),
            })
            .into_iter()
            .collect()),
        SequenceKind::Wrr => Ok(smooth_wrr(&fit_weights(weights, size)?)),
    }
}

/// nginx's smooth weighted round robin: each turn every real gains its
/// weight, the one ahead (the first on ties) is chosen and loses the
/// total. A cycle is as long as the weights' sum and gives each real its
/// weight in turns, spread out rather than in bursts.
fn smooth_wrr(weights: &[u32]) -> Vec<usize> {
    let total: i64 = weights.iter().map(|&w| i64::from(w)).sum();
    let mut current = vec![0i64; weights.len()];
    let mut out = Vec::with_capacity(total as usize);
    for _ in 0..total {
        let mut best: Option<usize> = None;
        for (i, &w) in weights.iter().enumerate() {
            if w == 0 {
                continue;
            }
            current[i] += i64::from(w);
            if best.is_none_or(|b| current[i] > current[b]) {
                best = Some(i);
            }
        }
        let b = best.expect("a weight > 0");
        current[b] -= total;
        out.push(b);
    }
    out
}

/// A real's connections as `real_load` holds them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Load {
    pub active: u32,
    pub inactive: u32,
}

impl Load {
    /// As XDP reads them: signed, below 0 taken as 0.
    fn counts(self) -> (u64, u64) {
        let c = |v: u32| (v as i32).max(0) as u64;
        (c(self.active), c(self.inactive))
    }

    /// IPVS's overhead: an active connection weighs 256 inactive ones.
    pub fn overhead(self) -> u64 {
        let (a, i) = self.counts();
        (a << 8) + i
    }
}

/// A real as a connection-count scheduler sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dest {
    pub weight: u32,
    pub load: Load,
}

/// The real lc, wlc, sed, nq or ovf picks (an index into `dests`, in
/// config order), or None if none can take the flow. Weight 0 is never
/// chosen; ties go to the first listed.
/// - lc: the least overhead;
/// - wlc: the least overhead / weight;
/// - sed: the least (active + 1) / weight;
/// - nq: the first idle real (no active connection), else as sed;
/// - ovf: the highest weight among reals whose active connections do not
///   exceed their weight.
///
/// Twos draws at random: see [`twos`].
pub fn count_pick(kind: CountKind, dests: &[Dest]) -> Option<usize> {
    let mut best: Option<(usize, u64, u64)> = None;
    for (i, d) in dests.iter().enumerate() {
        let w = u64::from(d.weight);
        if w == 0 {
            continue;
        }
        let (active, _) = d.load.counts();
        let oh = match kind {
            CountKind::Nq if active == 0 => return Some(i),
            CountKind::Sed | CountKind::Nq => active + 1,
            CountKind::Ovf if active > w => continue,
            CountKind::Ovf => 0,
            CountKind::Lc | CountKind::Wlc | CountKind::Twos => d.load.overhead(),
        };
        let beats = match best {
            None => true,
            Some((_, boh, bw)) => match kind {
                CountKind::Lc => oh < boh,
                CountKind::Ovf => w > bw,
                _ => oh * bw < boh * w,
            },
        };
        if beats {
            best = Some((i, oh, w));
        }
    }
    best.map(|(i, ..)| i)
}

/// twos with its two draws (each below the sum of the weights): each
/// picks the first real whose running weight passes it; of the two, the
/// lower overhead / weight wins, the first draw on a tie.
pub fn twos(dests: &[Dest], draw1: u32, draw2: u32) -> Option<usize> {
    let pick = |draw: u32| {
        let mut passed = 0u64;
        dests.iter().position(|d| {
            passed += u64::from(d.weight);
            d.weight > 0 && u64::from(draw) < passed
        })
    };
    let (a, b) = (pick(draw1)?, pick(draw2)?);
    let (da, db) = (dests[a], dests[b]);
    let second_better =
        db.load.overhead() * u64::from(da.weight) < da.load.overhead() * u64::from(db.weight);
    Some(if second_better { b } else { a })
}

/// Overloaded, as IPVS's lblc and lblcr say it: `d` has more active
/// connections than its weight while some real of the service has fewer
/// than half its weight.
pub fn overloaded(d: Dest, dests: &[Dest]) -> bool {
    let active = |d: &Dest| d.load.counts().0;
    active(&d) > u64::from(d.weight) && dests.iter().any(|x| active(x) * 2 < u64::from(x.weight))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dest(weight: u32, active: u32, inactive: u32) -> Dest {
        Dest {
            weight,
            load: Load { active, inactive },
        }
    }

    #[test]
    fn rr_takes_every_real_with_a_weight_once_in_order() {
        assert_eq!(
            sequence(SequenceKind::Rr, &[1, 0, 5, 2], 251).unwrap(),
            [0, 2, 3]
        );
        assert_eq!(sequence(SequenceKind::Rr, &[0, 0], 251).unwrap(), []);
        assert!(sequence(SequenceKind::Rr, &[1, 1, 1], 2).is_err());
    }

    #[test]
    fn fo_takes_the_first_of_the_highest_weight() {
        assert_eq!(sequence(SequenceKind::Fo, &[1, 3, 0, 3], 251).unwrap(), [1]);
        assert_eq!(sequence(SequenceKind::Fo, &[0, 0], 251).unwrap(), []);
    }

    #[test]
    fn wrr_is_smooth_and_in_proportion() {
        // nginx's example: weights 5, 1, 1 give a a b a c a a.
        assert_eq!(
            sequence(SequenceKind::Wrr, &[5, 1, 1], 251).unwrap(),
            [0, 0, 1, 0, 2, 0, 0]
        );
        // divided by the gcd: 4, 2 -> 2, 1
        assert_eq!(
            sequence(SequenceKind::Wrr, &[4, 0, 2], 251).unwrap(),
            [0, 2, 0]
        );
        let s = sequence(SequenceKind::Wrr, &[3, 2], 251).unwrap();
        assert_eq!(s, [0, 1, 0, 1, 0]);
    }

    #[test]
    fn weights_too_large_for_the_table_are_scaled_down() {
        assert_eq!(fit_weights(&[100, 50, 0], 251).unwrap(), [2, 1, 0]);
        assert_eq!(fit_weights(&[1000, 500, 3], 251).unwrap(), [166, 83, 1]);
        // one heavy real and many light ones: still at most the size
        let mut w = vec![1u32; 100];
        w[0] = 1_000_000;
        let f = fit_weights(&w, 251).unwrap();
        assert!(f.iter().map(|&x| u64::from(x)).sum::<u64>() <= 251);
        assert!(f.iter().all(|&x| x >= 1));
        assert!(f[0] > 100, "{f:?}");
        assert!(fit_weights(&[1, 1, 1], 2).is_err());
        let s = sequence(SequenceKind::Wrr, &w, 251).unwrap();
        assert!(s.len() <= 251);
    }

    #[test]
    fn lc_and_wlc_weigh_active_connections_256_times() {
        let d = [dest(1, 1, 0), dest(1, 0, 255), dest(1, 0, 256)];
        assert_eq!(count_pick(CountKind::Lc, &d), Some(1));
        // wlc: 300/3 = 100 beats 256/2 = 128, and 99/1 beats that
        let d = [dest(2, 1, 0), dest(3, 1, 44), dest(1, 0, 99)];
        assert_eq!(count_pick(CountKind::Wlc, &d), Some(2));
        // a tie keeps the first
        let d = [dest(2, 1, 0), dest(3, 1, 44), dest(1, 0, 100)];
        assert_eq!(count_pick(CountKind::Wlc, &d), Some(1));
        let d = [dest(2, 1, 0), dest(4, 2, 0)];
        assert_eq!(count_pick(CountKind::Wlc, &d), Some(0));
        // lc ignores weights but never takes weight 0
        let d = [dest(0, 0, 0), dest(1, 3, 0), dest(9, 2, 0)];
        assert_eq!(count_pick(CountKind::Lc, &d), Some(2));
        assert_eq!(count_pick(CountKind::Wlc, &[dest(0, 0, 0)]), None);
    }

    #[test]
    fn sed_and_nq() {
        // sed: (1+1)/1 = 2 vs (3+1)/3 = 1.33
        let d = [dest(1, 1, 0), dest(3, 3, 0)];
        assert_eq!(count_pick(CountKind::Sed, &d), Some(1));
        // nq: an idle real first, whatever its weight
        let d = [dest(5, 1, 0), dest(1, 0, 50)];
        assert_eq!(count_pick(CountKind::Nq, &d), Some(1));
        assert_eq!(count_pick(CountKind::Sed, &d), Some(0));
        // a negative count (a decrement across a recount) reads as 0
        let d = [dest(1, 1, 0), dest(1, u32::MAX, 0)];
        assert_eq!(count_pick(CountKind::Nq, &d), Some(1));
    }

    #[test]
    fn ovf_takes_the_highest_weight_until_it_overflows() {
        let d = [dest(1, 0, 0), dest(3, 3, 0), dest(3, 0, 0)];
        assert_eq!(count_pick(CountKind::Ovf, &d), Some(1));
        let d = [dest(1, 0, 0), dest(3, 4, 0), dest(2, 2, 0)];
        assert_eq!(count_pick(CountKind::Ovf, &d), Some(2));
        let d = [dest(1, 2, 0), dest(3, 4, 0)];
        assert_eq!(count_pick(CountKind::Ovf, &d), None);
    }

    #[test]
    fn twos_draws_by_weight_and_keeps_the_less_loaded() {
        let d = [dest(1, 0, 0), dest(0, 0, 0), dest(3, 0, 0)];
        assert_eq!(twos(&d, 0, 0), Some(0));
        assert_eq!(twos(&d, 1, 3), Some(2));
        assert_eq!(twos(&d, 0, 3), Some(0), "a tie keeps the first draw");
        let d = [dest(1, 1, 0), dest(3, 1, 0)];
        assert_eq!(twos(&d, 0, 2), Some(1), "256/3 < 256/1");
        assert_eq!(twos(&d, 3, 0), Some(1));
    }

    #[test]
    fn overloaded_needs_a_real_under_half_its_weight() {
        let busy = dest(2, 3, 0);
        assert!(!overloaded(busy, &[busy, dest(2, 1, 0)]));
        assert!(overloaded(busy, &[busy, dest(4, 1, 0)]));
        assert!(!overloaded(dest(2, 2, 0), &[dest(4, 0, 0)]));
    }
}
