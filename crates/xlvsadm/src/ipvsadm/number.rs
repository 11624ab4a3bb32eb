//! Counters as ipvsadm prints them in `--stats` and `--rate` listings.
//!
//! ipvsadm's rule (its `print_largenum`): each counter takes a column of 9
//! characters, right-aligned. Below 100,000,000 the exact value is printed;
//! from there on it is divided and suffixed, truncating: below 10^9 by 1,000
//! with `K`, below 10^11 by 10^6 with `M`, below 10^14 by 10^9 with `G`,
//! otherwise by 10^12 with `T`. So 123456789 prints as `  123456K` and
//! 5,000,000,000 as `    5000M`. With `--exact` every value is printed
//! whole, in a column one wider than the number (at least 9).

/// One counter with its column, leading spaces included.
pub fn largenum(n: u64, exact: bool) -> String {
    if exact {
        let digits = n.to_string();
        let width = if digits.len() <= 8 {
            9
        } else {
            digits.len() + 1
        };
        return format!("{digits:>width$}");
    }
    const STEPS: [(u64, u64, char); 3] = [
        (1_000_000_000, 1_000, 'K'),
        (100_000_000_000, 1_000_000, 'M'),
        (100_000_000_000_000, 1_000_000_000, 'G'),
    ];
    if n < 100_000_000 {
        return format!("{n:>9}");
    }
    let (div, suffix) = STEPS
        .iter()
        .find(|(below, _, _)| n < *below)
        .map(|&(_, div, suffix)| (div, suffix))
        .unwrap_or((1_000_000_000_000, 'T'));
    format!("{:>8}{suffix}", n / div)
}

#[cfg(test)]
mod tests {
    use super::largenum;

    #[test]
    fn shortened_like_ipvsadm() {
        let cases: &[(u64, &str)] = &[
            (0, "        0"),
            (100_000, "   100000"),
            (99_999_999, " 99999999"),
            (100_000_000, "  100000K"),
            (123_456_789, "  123456K"),
            (999_999_999, "  999999K"),
            (1_000_000_000, "    1000M"),
            (5_000_000_000, "    5000M"),
            (99_999_999_999, "   99999M"),
            (100_000_000_000, "     100G"),
            (99_999_999_999_999, "   99999G"),
            (100_000_000_000_000, "     100T"),
            (u64::MAX, "18446744T"),
        ];
        for &(n, text) in cases {
            assert_eq!(largenum(n, false), text, "{n}");
        }
    }

    #[test]
    fn exact_widens_the_column() {
        assert_eq!(largenum(0, true), "        0");
        assert_eq!(largenum(12_345_678, true), " 12345678");
        assert_eq!(largenum(123_456_789, true), " 123456789");
        assert_eq!(largenum(u64::MAX, true), " 18446744073709551615");
    }
}
