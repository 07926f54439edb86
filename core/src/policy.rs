//! The arithmetic of the cache policy: jittered TTLs, the refresh-ahead
//! point and capped exponential backoff. Pure functions plus a tiny RNG, so
//! tests can pin every number (jitter 0 makes them exact).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

/// `t + d`, saturating instead of panicking: every deadline goes through
/// here, so no duration from a reference, a setting or a server can make
/// time arithmetic panic (std's `SystemTime + Duration` does on overflow).
pub(crate) fn later(t: SystemTime, d: Duration) -> SystemTime {
    t.checked_add(d).unwrap_or_else(|| {
        // The latest time every platform represents; nothing is scheduled
        // past it anyway.
        SystemTime::UNIX_EPOCH + Duration::from_secs(u32::MAX as u64 * 64)
    })
}

/// `d × factor`, saturating, for any factor (NaN and negatives give zero);
/// std's `Duration::mul_f64` panics on overflow and on NaN.
pub(crate) fn scale(d: Duration, factor: f64) -> Duration {
    if factor.is_nan() || factor <= 0.0 {
        return Duration::ZERO;
    }
    Duration::try_from_secs_f64(d.as_secs_f64() * factor).unwrap_or(Duration::MAX)
}

/// splitmix64: enough randomness to spread a fleet's refreshes, with no
/// dependency on an OS entropy source (none on wasm32-unknown-unknown).
pub(crate) struct Rng(AtomicU64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(AtomicU64::new(seed))
    }

    /// Uniform in [0, 1).
    pub(crate) fn unit(&self) -> f64 {
        let mut z = self
            .0
            .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
            .wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }

    /// `d` moved by up to ±`fraction` of itself.
    pub(crate) fn jitter(&self, d: Duration, fraction: f64) -> Duration {
        if fraction.is_nan() || fraction <= 0.0 {
            return d;
        }
        let factor = 1.0 + fraction.min(1.0) * (2.0 * self.unit() - 1.0);
        scale(d, factor)
    }
}

/// Delay before retry number `failures` (1-based): base · 2^(failures-1),
/// capped. Never zero, so no failure mode can spin.
pub(crate) fn backoff(failures: u32, base: Duration, cap: Duration) -> Duration {
    let base = base.max(Duration::from_millis(10));
    let doublings = failures.saturating_sub(1).min(30);
    base.saturating_mul(1u32 << doublings).min(cap.max(base))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let s = |n| backoff(n, Duration::from_secs(1), Duration::from_secs(60)).as_secs();
        assert_eq!(
            [s(1), s(2), s(3), s(4), s(6), s(7), s(40)],
            [1, 2, 4, 8, 32, 60, 60]
        );
        assert!(backoff(1, Duration::ZERO, Duration::ZERO) >= Duration::from_millis(10));
    }

    #[test]
    fn arithmetic_saturates_instead_of_panicking() {
        let huge = Duration::from_secs(u64::MAX);
        assert!(later(SystemTime::now(), huge) > SystemTime::now());
        assert_eq!(scale(huge, 2.0), Duration::MAX);
        assert_eq!(scale(huge, f64::NAN), Duration::ZERO);
        assert_eq!(scale(Duration::from_secs(10), 0.5), Duration::from_secs(5));
        assert_eq!(Rng::new(1).jitter(huge, f64::NAN), huge);
        let _ = Rng::new(1).jitter(huge, 0.1);
    }

    #[test]
    fn jitter_stays_within_its_fraction_and_spreads() {
        let rng = Rng::new(7);
        let d = Duration::from_secs(300);
        let samples: Vec<_> = (0..1000).map(|_| rng.jitter(d, 0.1)).collect();
        assert!(samples
            .iter()
            .all(|s| *s >= Duration::from_secs(270) && *s <= Duration::from_secs(330)));
        let (lo, hi) = (samples.iter().min().unwrap(), samples.iter().max().unwrap());
        assert!(*hi - *lo > Duration::from_secs(50), "spread {lo:?}..{hi:?}");
        assert_eq!(rng.jitter(d, 0.0), d);
    }
}
