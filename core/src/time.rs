//! Virtual time: the only clock the simulation has.
//!
//! Time is an integer count of microseconds since the run started, advanced only by the
//! simulator as it pops events. RocketMQ's own settings are in milliseconds; microseconds leave
//! room for CPU and disk service times well below a millisecond. Wall clocks never appear here.

use std::fmt;
use std::ops::{Add, AddAssign, Sub};

use serde::{Deserialize, Serialize};

/// An instant of virtual time, in microseconds since the start of the run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Time(pub u64);

/// A span of virtual time, in microseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Duration(pub u64);

impl Time {
    pub const ZERO: Time = Time(0);
    pub const MAX: Time = Time(u64::MAX);

    pub const fn from_micros(us: u64) -> Time {
        Time(us)
    }
    pub const fn from_millis(ms: u64) -> Time {
        Time(ms.saturating_mul(1_000))
    }
    pub const fn from_secs(s: u64) -> Time {
        Time(s.saturating_mul(1_000_000))
    }
    pub const fn as_micros(self) -> u64 {
        self.0
    }
    /// Whole milliseconds, rounded down: what a RocketMQ component reading `System.currentTimeMillis()` sees.
    pub const fn as_millis(self) -> u64 {
        self.0 / 1_000
    }
    /// The span from `earlier` to `self`, or zero if `earlier` is later.
    pub const fn saturating_since(self, earlier: Time) -> Duration {
        Duration(self.0.saturating_sub(earlier.0))
    }
}

impl Duration {
    pub const ZERO: Duration = Duration(0);

    pub const fn from_micros(us: u64) -> Duration {
        Duration(us)
    }
    pub const fn from_millis(ms: u64) -> Duration {
        Duration(ms.saturating_mul(1_000))
    }
    pub const fn from_secs(s: u64) -> Duration {
        Duration(s.saturating_mul(1_000_000))
    }
    pub const fn as_micros(self) -> u64 {
        self.0
    }
    pub const fn as_millis(self) -> u64 {
        self.0 / 1_000
    }
    pub const fn saturating_mul(self, factor: u64) -> Duration {
        Duration(self.0.saturating_mul(factor))
    }
}

impl Add<Duration> for Time {
    type Output = Time;
    fn add(self, d: Duration) -> Time {
        Time(self.0.saturating_add(d.0))
    }
}

impl AddAssign<Duration> for Time {
    fn add_assign(&mut self, d: Duration) {
        *self = *self + d;
    }
}

impl Add for Duration {
    type Output = Duration;
    fn add(self, d: Duration) -> Duration {
        Duration(self.0.saturating_add(d.0))
    }
}

impl Sub for Time {
    type Output = Duration;
    /// Panics (always on) when `rhs` is later: subtracting a later instant is a bug in the caller.
    fn sub(self, rhs: Time) -> Duration {
        assert!(rhs <= self, "time went backwards: {rhs:?} > {self:?}");
        Duration(self.0 - rhs.0)
    }
}

/// Formats microseconds as `h:mm:ss.mmm`, the way the sandbox shows the clock.
fn format_micros(us: u64, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let ms = us / 1_000;
    let (h, m, s, milli) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1_000 % 60, ms % 1_000);
    if h > 0 {
        write!(f, "{h}:{m:02}:{s:02}.{milli:03}")
    } else {
        write!(f, "{m:02}:{s:02}.{milli:03}")
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        format_micros(self.0, f)
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let us = self.0;
        if us < 1_000 {
            write!(f, "{us} µs")
        } else if us < 1_000_000 {
            write!(f, "{}.{:03} ms", us / 1_000, us % 1_000)
        } else {
            write!(f, "{}.{:03} s", us / 1_000_000, us / 1_000 % 1_000)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_displays_as_minutes_seconds_and_milliseconds() {
        assert_eq!(Time::from_millis(125_250).to_string(), "02:05.250");
        assert_eq!(Time::from_secs(3_600 * 4 + 45 * 60 + 40).to_string(), "4:45:40.000");
    }

    #[test]
    fn durations_pick_a_readable_unit() {
        assert_eq!(Duration::from_micros(250).to_string(), "250 µs");
        assert_eq!(Duration::from_micros(1_500).to_string(), "1.500 ms");
        assert_eq!(Duration::from_millis(120_000).to_string(), "120.000 s");
    }

    #[test]
    fn adding_to_the_end_of_time_saturates_instead_of_wrapping() {
        assert_eq!(Time::MAX + Duration::from_secs(1), Time::MAX);
    }
}
