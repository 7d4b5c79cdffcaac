//! The at-risk meter: messages a producer was told are stored, whose bytes would not survive the
//! storing broker losing power right now.
//!
//! A message is durable once the CommitLog of the broker that stored it is flushed past its end
//! (`flushedWhere`), or once a replica of the same broker group holds it (a slave's CommitLog reached
//! its end: it is on another machine). Under SYNC_FLUSH a broker answers after the flush, so the meter
//! stays at zero; under ASYNC_FLUSH it counts what the next power loss would take. The meter only
//! keeps counts per (broker node, end offset) — not the messages — so it costs memory in proportion to
//! what is at risk, never to the run.

use std::collections::BTreeMap;

/// What is at risk on each broker node, by CommitLog end offset.
#[derive(Clone, Debug, Default)]
pub struct AtRisk {
    by_node: BTreeMap<u16, BTreeMap<i64, u32>>,
    total: u64,
    peak: u64,
    /// Nodes that got something at risk since [`AtRisk::take_added`] was last called.
    added: Vec<u16>,
}

impl AtRisk {
    /// An acknowledged message whose bytes end at `end` on `node`.
    pub fn add(&mut self, node: u16, end: i64) {
        *self.by_node.entry(node).or_default().entry(end).or_insert(0) += 1;
        self.total += 1;
        if !self.added.contains(&node) {
            self.added.push(node);
        }
    }

    /// The nodes that got something at risk since the last call, in node order.
    pub fn take_added(&mut self) -> Vec<u16> {
        let mut added = std::mem::take(&mut self.added);
        added.sort_unstable();
        added
    }

    /// Record the current count as a candidate peak. Called once per step, after the durable positions
    /// were read: a message acknowledged after its flush never counts.
    pub fn note_peak(&mut self) {
        self.peak = self.peak.max(self.total);
    }

    /// `node`'s CommitLog is durable up to `durable`: what ends at or before it is safe. Returns how
    /// many messages became safe.
    pub fn durable_up_to(&mut self, node: u16, durable: i64) -> u64 {
        let Some(ends) = self.by_node.get_mut(&node) else { return 0 };
        let mut safe = 0u64;
        while let Some(entry) = ends.first_entry() {
            if *entry.key() > durable {
                break;
            }
            safe += u64::from(entry.remove());
        }
        if ends.is_empty() {
            self.by_node.remove(&node);
        }
        self.total -= safe;
        safe
    }

    /// `node` lost its page cache: what was at risk there is no longer at risk, it is lost or it
    /// survived by luck (torn writes); the end-of-run audit decides which. Returns how many.
    pub fn forget(&mut self, node: u16) -> u64 {
        let gone: u64 = self.by_node.remove(&node).map_or(0, |ends| ends.values().map(|c| u64::from(*c)).sum());
        self.total -= gone;
        gone
    }

    pub fn total(&self) -> u64 {
        self.total
    }

    pub fn peak(&self) -> u64 {
        self.peak
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// Whether `node` has anything at risk.
    pub fn has(&self, node: u16) -> bool {
        self.by_node.contains_key(&node)
    }

    /// The nodes that have something at risk.
    /// The first node with something at risk after `after` (from the start for None): a walk over the
    /// nodes that lets the caller change the meter between steps, without collecting them first.
    pub fn node_after(&self, after: Option<u16>) -> Option<u16> {
        let from = after.map_or(Some(0), |n| n.checked_add(1))?;
        self.by_node.range(from..).next().map(|(node, _)| *node)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flush_makes_everything_before_it_safe() {
        let mut meter = AtRisk::default();
        meter.add(3, 100);
        meter.add(3, 200);
        meter.add(3, 200);
        meter.add(4, 50);
        meter.note_peak();
        assert_eq!((meter.total(), meter.peak()), (4, 4));
        assert_eq!(meter.durable_up_to(3, 199), 1);
        assert_eq!(meter.durable_up_to(3, 200), 2);
        assert_eq!(meter.total(), 1);
        assert_eq!(meter.forget(4), 1);
        assert!(meter.is_empty());
        assert_eq!(meter.peak(), 4);
    }
}
