//! Latency histograms in integer arithmetic: logarithmic buckets with 16 steps per power of two
//! (every value within 6.25 % of its bucket's bounds), fixed size, mergeable, deterministic.

use serde::Serialize;

/// Values below this are counted exactly.
const EXACT: u64 = 32;
/// Buckets: 32 exact values, then 16 per power of two from 2^5 to 2^63.
const BUCKETS: usize = 32 + 59 * 16;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
    max: u64,
    sum: u128,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram { counts: vec![0; BUCKETS], total: 0, max: 0, sum: 0 }
    }
}

fn bucket(value: u64) -> usize {
    if value < EXACT {
        return value as usize;
    }
    let exponent = 63 - u64::from(value.leading_zeros());
    let mantissa = value >> (exponent - 4);
    ((exponent - 4) * 16 + mantissa) as usize
}

/// The largest value that falls into bucket `index`.
fn upper_bound(index: usize) -> u64 {
    if index < EXACT as usize {
        return index as u64;
    }
    let exponent = (index / 16) as u64 + 3;
    let mantissa = (index % 16) as u64 + 16;
    ((mantissa + 1) << (exponent - 4)).wrapping_sub(1)
}

impl Histogram {
    pub fn record(&mut self, value: u64) {
        self.counts[bucket(value)] += 1;
        self.total += 1;
        self.max = self.max.max(value);
        self.sum += u128::from(value);
    }

    pub fn count(&self) -> u64 {
        self.total
    }

    pub fn max(&self) -> u64 {
        self.max
    }

    pub fn mean(&self) -> u64 {
        if self.total == 0 {
            0
        } else {
            (self.sum / u128::from(self.total)) as u64
        }
    }

    /// The value below which `per_mille` ‰ of the recorded values fall (bucket upper bound, at most the
    /// maximum seen); 0 when empty.
    pub fn quantile(&self, per_mille: u64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = (self.total * per_mille.min(1_000)).div_ceil(1_000).max(1);
        let mut seen = 0;
        for (index, count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return upper_bound(index).min(self.max);
            }
        }
        self.max
    }

    pub fn clear(&mut self) {
        if self.total > 0 {
            self.counts.iter_mut().for_each(|c| *c = 0);
            self.total = 0;
            self.max = 0;
            self.sum = 0;
        }
    }

    /// p50, p90, p99, p99.9 and max, for reports.
    pub fn summary(&self) -> LatencySummary {
        LatencySummary {
            count: self.total,
            mean_us: self.mean(),
            p50_us: self.quantile(500),
            p90_us: self.quantile(900),
            p99_us: self.quantile(990),
            p999_us: self.quantile(999),
            max_us: self.max,
        }
    }
}

/// Percentiles of a latency distribution, in virtual microseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LatencySummary {
    pub count: u64,
    pub mean_us: u64,
    pub p50_us: u64,
    pub p90_us: u64,
    pub p99_us: u64,
    pub p999_us: u64,
    pub max_us: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotonic_and_tight() {
        let mut last = 0;
        for value in (0..100_000u64).chain([u64::MAX / 3, u64::MAX]) {
            let b = bucket(value);
            assert!(b >= last && b < BUCKETS, "{value}");
            assert!(upper_bound(b) >= value, "{value}");
            assert!(upper_bound(b) - value <= value / 16 + 1, "{value}: {}", upper_bound(b));
            last = b;
        }
    }

    #[test]
    fn quantiles_of_a_uniform_range() {
        let mut h = Histogram::default();
        for v in 1..=1_000 {
            h.record(v);
        }
        assert_eq!(h.quantile(0), h.quantile(1));
        let p50 = h.quantile(500);
        assert!((500..=532).contains(&p50), "{p50}");
        let p99 = h.quantile(990);
        assert!((990..=1_000).contains(&p99), "{p99}");
        assert_eq!(h.quantile(1_000), 1_000);
        assert_eq!(h.mean(), 500);
        h.clear();
        assert_eq!(h.quantile(500), 0);
    }
}
