//! Time series for charts, sampled at fixed virtual instants.
//!
//! A sample at instant T is the state after every event at or before T, recorded just before
//! the first event after T runs. So the series does not depend on how a caller chunks the run
//! (one `step` at a time or one long `run_until`), and it is identical natively and in wasm.

use serde::Serialize;

use crate::time::{Duration, Time};

/// One named series of integer values.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Series {
    pub name: String,
    pub values: Vec<i64>,
}

/// Several series sampled at the same instants.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Metrics {
    pub interval: Duration,
    pub times: Vec<Time>,
    pub series: Vec<Series>,
    next_sample: Time,
    max_samples: u32,
}

impl Metrics {
    /// Series `names`, sampled every `interval`, keeping at most `max_samples` (then every other
    /// sample is dropped and the interval doubles, so memory stays bounded on long runs).
    pub fn new(interval: Duration, names: &[String], max_samples: u32) -> Metrics {
        Metrics {
            interval,
            times: Vec::new(),
            series: names.iter().map(|n| Series { name: n.clone(), values: Vec::new() }).collect(),
            next_sample: Time::ZERO,
            max_samples: max_samples.max(16),
        }
    }

    /// Instants due before an event at `time` runs: every sample instant strictly before it.
    pub fn due_before(&self, time: Time) -> bool {
        self.next_sample < time
    }

    /// Instants due once the clock has reached `time` with all its events done.
    pub fn due_at(&self, time: Time) -> bool {
        self.next_sample <= time
    }

    pub fn next_sample(&self) -> Time {
        self.next_sample
    }

    pub fn record(&mut self, values: &[i64]) {
        assert_eq!(values.len(), self.series.len(), "one value per series");
        self.times.push(self.next_sample);
        for (series, value) in self.series.iter_mut().zip(values) {
            series.values.push(*value);
        }
        self.next_sample += self.interval;
        if self.times.len() as u32 >= self.max_samples {
            self.halve();
        }
    }

    /// Keep every other sample and double the interval.
    fn halve(&mut self) {
        keep_every_other(&mut self.times);
        for s in &mut self.series {
            keep_every_other(&mut s.values);
        }
        self.interval = self.interval.saturating_mul(2);
        self.next_sample = self.times.last().map_or(Time::ZERO, |t| *t + self.interval);
    }
}

/// Keep elements 0, 2, 4, ...
fn keep_every_other<T>(values: &mut Vec<T>) {
    let mut index = 0;
    values.retain(|_| {
        index += 1;
        index % 2 == 1
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_runs_keep_a_bounded_number_of_evenly_spaced_samples() {
        let mut m = Metrics::new(Duration::from_secs(1), &["x".to_string()], 16);
        let end = Time::from_secs(100_000);
        let mut value = 0;
        while m.due_at(end) {
            m.record(&[value]);
            value += 1;
        }
        assert!(m.times.len() < 16);
        assert!(m.times.windows(2).all(|w| w[1].as_micros() - w[0].as_micros() == m.interval.as_micros()));
        assert!(*m.times.last().unwrap() + m.interval > end);
    }
}
