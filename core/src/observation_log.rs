//! The record of a run's observations, in order, shared between a simulation and its copies.
//!
//! The sandbox keeps every observation (the fate ledger, the swimlane and the event log read them) and
//! copies its simulation for every checkpoint and every rewind. A flat `Vec` made each copy cost the
//! whole history: restoring a late checkpoint of the 8-broker backlog spent ~130 ms copying it in one
//! frame. Here the history is cut into sealed chunks of [`CHUNK`] observations behind `Rc`, which a
//! copy shares; only the open chunk (fewer than [`CHUNK`]) is copied.

use std::rc::Rc;

use serde::{Serialize, Serializer};

use crate::sim::kernel::Observed;
use crate::world::AnyNode;

/// Observations per sealed chunk: small enough that copying the open chunk is cheap, large enough
/// that iterating over the chunks is as fast as over one slice.
pub const CHUNK: usize = 1024;

type Entry = Observed<AnyNode>;

/// Every observation of a run so far, in order. Cloning it shares the sealed chunks.
#[derive(Clone, Debug, Default)]
pub struct ObservationLog {
    /// Full chunks of exactly [`CHUNK`] observations, never changed again.
    sealed: Vec<Rc<Vec<Entry>>>,
    /// The newest observations, fewer than [`CHUNK`].
    open: Vec<Entry>,
}

impl ObservationLog {
    pub fn new() -> ObservationLog {
        ObservationLog::default()
    }

    pub fn len(&self) -> usize {
        self.sealed.len() * CHUNK + self.open.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sealed.is_empty() && self.open.is_empty()
    }

    pub fn push(&mut self, observed: Entry) {
        self.open.push(observed);
        if self.open.len() == CHUNK {
            self.sealed.push(Rc::new(std::mem::replace(&mut self.open, Vec::with_capacity(CHUNK))));
        }
    }

    /// The observation at `index`, if there is one.
    pub fn get(&self, index: usize) -> Option<&Entry> {
        match self.sealed.get(index / CHUNK) {
            Some(chunk) => chunk.get(index % CHUNK),
            None => self.open.get(index - self.sealed.len() * CHUNK),
        }
    }

    pub fn last(&self) -> Option<&Entry> {
        self.open.last().or_else(|| self.sealed.last().and_then(|chunk| chunk.last()))
    }

    /// Every observation, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Entry> + '_ {
        self.iter_from(0)
    }

    /// The observations from `start` on (none when `start` is past the end), oldest first.
    pub fn iter_from(&self, start: usize) -> impl DoubleEndedIterator<Item = &Entry> + '_ {
        let first_chunk = (start / CHUNK).min(self.sealed.len());
        let skip = start - first_chunk * CHUNK;
        // The partial chunk `start` falls in is sliced, so nothing before `start` is walked.
        let (first, open): (&[Entry], &[Entry]) = match self.sealed.get(first_chunk) {
            Some(chunk) => (&chunk[skip..], &self.open),
            None => (&[], self.open.get(skip..).unwrap_or(&[])),
        };
        let later = self.sealed.get(first_chunk + 1..).unwrap_or(&[]);
        first.iter().chain(later.iter().flat_map(|chunk| chunk.iter())).chain(open.iter())
    }

    /// The first `len` observations (all of them when `len` is longer): a copy that shares the sealed
    /// chunks it keeps whole.
    pub fn prefix(&self, len: usize) -> ObservationLog {
        let len = len.min(self.len());
        let whole = len / CHUNK;
        let rest = len % CHUNK;
        let open = match self.sealed.get(whole) {
            Some(chunk) => chunk[..rest].to_vec(),
            None => self.open[..rest].to_vec(),
        };
        ObservationLog { sealed: self.sealed[..whole].to_vec(), open }
    }
}

impl<'a> IntoIterator for &'a ObservationLog {
    type Item = &'a Entry;
    type IntoIter = Box<dyn DoubleEndedIterator<Item = &'a Entry> + 'a>;

    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

/// Serialized as one sequence, the same as the flat record it replaces.
impl Serialize for ObservationLog {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observation::Observation;
    use crate::sim::node::NodeId;
    use crate::time::Time;

    fn observed(i: usize) -> Entry {
        Observed {
            time: Time::from_micros(i as u64),
            node: NodeId(0),
            observation: Observation::PublishRouteChanged { topic: format!("t{i}"), queues: Vec::new() },
        }
    }

    fn log_of(n: usize) -> ObservationLog {
        let mut log = ObservationLog::new();
        for i in 0..n {
            log.push(observed(i));
        }
        log
    }

    fn times<'a>(it: impl Iterator<Item = &'a Entry>) -> Vec<u64> {
        it.map(|o| o.time.as_micros()).collect()
    }

    #[test]
    fn a_log_reads_back_every_observation_in_order_across_chunk_boundaries() {
        for n in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 7] {
            let log = log_of(n);
            let want: Vec<u64> = (0..n as u64).collect();
            assert_eq!(log.len(), n);
            assert_eq!(times(log.iter()), want, "{n} observations");
            assert_eq!(times(log.iter().rev()), want.iter().rev().copied().collect::<Vec<_>>());
            assert_eq!(log.last().map(|o| o.time.as_micros()), want.last().copied());
            for i in [0, n / 2, n.saturating_sub(1), n] {
                assert_eq!(log.get(i).map(|o| o.time.as_micros()), want.get(i).copied(), "get({i}) of {n}");
                assert_eq!(times(log.iter_from(i)), want[i.min(n)..].to_vec(), "iter_from({i}) of {n}");
            }
            assert_eq!(times(log.iter_from(n + CHUNK + 5)), Vec::<u64>::new());
        }
    }

    #[test]
    fn a_prefix_holds_the_first_observations_and_shares_the_whole_chunks() {
        let log = log_of(2 * CHUNK + 100);
        for len in [0, 5, CHUNK, CHUNK + 5, 2 * CHUNK + 50, 10 * CHUNK] {
            let prefix = log.prefix(len);
            let kept = len.min(log.len());
            assert_eq!(times(prefix.iter()), (0..kept as u64).collect::<Vec<_>>(), "prefix({len})");
            for (mine, theirs) in prefix.sealed.iter().zip(&log.sealed) {
                assert!(Rc::ptr_eq(mine, theirs), "a whole chunk is shared, not copied");
            }
        }
        // A prefix grows on its own: pushing to it leaves the original alone.
        let mut prefix = log.prefix(CHUNK - 1);
        prefix.push(observed(7_777));
        prefix.push(observed(7_778));
        assert_eq!(prefix.len(), CHUNK + 1);
        assert_eq!(prefix.get(CHUNK - 1).map(|o| o.time.as_micros()), Some(7_777));
        assert_eq!(log.get(CHUNK - 1).map(|o| o.time.as_micros()), Some(CHUNK as u64 - 1));
    }

    #[test]
    fn a_log_serializes_as_the_flat_sequence_of_its_observations() {
        let log = log_of(CHUNK + 3);
        let flat: Vec<Entry> = log.iter().cloned().collect();
        assert_eq!(serde_json::to_string(&log).unwrap(), serde_json::to_string(&flat).unwrap());
    }
}
