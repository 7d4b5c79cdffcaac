//! The producer's latency fault tolerance (`client/.../latency/MQFaultStrategy` and
//! `LatencyFaultToleranceImpl`): when `sendLatencyFaultEnable` is on (default **off**), every send attempt
//! records how long it took, and a slow or failed broker is avoided for a while.
//!
//! `updateFaultItem(broker, latency, isolation)` looks the latency (or, when `isolation`, a fixed stand-in
//! latency, the last column) up in a two-row table: scanning `latencyMax` from the largest entry down, the first
//! entry the latency reaches gives the `notAvailableDuration`; below 50 ms nothing happens. The tables differ
//! between versions:
//!
//! | version | latencyMax (ms)                        | notAvailableDuration (ms)                  | isolation |
//! |---------|----------------------------------------|--------------------------------------------|-----------|
//! | 4.9     | 50, 100, 550, 1000, 2000, 3000, 15000  | 0, 0, 30000, 60000, 120000, 180000, 600000 | 30000 ms  |
//! | 5.x     | 50, 100, 550, 1800, 3000, 5000, 15000  | 0, 0, 2000, 5000, 6000, 10000, 30000       | 10000 ms  |
//!
//! 4.9 calls it with `isolation = true` for every `RemotingException`, `MQClientException` and
//! `MQBrokerException`; 5.x adds a `reachable` flag (false for broker errors, and for remoting errors when the
//! detector is on).
//!
//! The table of fault items (broker name → latency, "available again at", reachable) also differs: 4.9
//! *overwrites* the deadline with `now + duration` on every update, so one fast send clears an isolation;
//! 5.x only ever *extends* it and ignores zero durations. 4.9 has no notion of reachability (every broker counts
//! as reachable). `pickOneAtLeast`, used when no broker is available, is random in both versions; the caller
//! passes the draw.
//!
//! Invariants: times are virtual milliseconds (`u64`), never read from a clock; the table is a `BTreeMap`, and
//! where Java's answer depends on `ConcurrentHashMap` iteration order we reproduce that order explicitly.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use crate::java;

/// Which RocketMQ client's fault strategy to reproduce.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FaultStrategyVersion {
    /// RocketMQ 4.9.x (`rocketmq-all-4.9.8`).
    V4_9,
    /// RocketMQ 5.x (develop, 5.3).
    V5,
}

/// `latencyMax` of 4.9.
pub const LATENCY_MAX_4_9: [u64; 7] = [50, 100, 550, 1_000, 2_000, 3_000, 15_000];
/// `notAvailableDuration` of 4.9.
pub const NOT_AVAILABLE_DURATION_4_9: [u64; 7] = [0, 0, 30_000, 60_000, 120_000, 180_000, 600_000];
/// `latencyMax` of 5.x.
pub const LATENCY_MAX_5: [u64; 7] = [50, 100, 550, 1_800, 3_000, 5_000, 15_000];
/// `notAvailableDuration` of 5.x.
pub const NOT_AVAILABLE_DURATION_5: [u64; 7] = [0, 0, 2_000, 5_000, 6_000, 10_000, 30_000];

impl FaultStrategyVersion {
    pub const ALL: [FaultStrategyVersion; 2] = [FaultStrategyVersion::V4_9, FaultStrategyVersion::V5];

    /// `MQFaultStrategy.latencyMax`.
    pub fn latency_max(self) -> &'static [u64; 7] {
        match self {
            FaultStrategyVersion::V4_9 => &LATENCY_MAX_4_9,
            FaultStrategyVersion::V5 => &LATENCY_MAX_5,
        }
    }

    /// `MQFaultStrategy.notAvailableDuration`.
    pub fn not_available_duration(self) -> &'static [u64; 7] {
        match self {
            FaultStrategyVersion::V4_9 => &NOT_AVAILABLE_DURATION_4_9,
            FaultStrategyVersion::V5 => &NOT_AVAILABLE_DURATION_5,
        }
    }

    /// The latency `updateFaultItem` looks up instead of the measured one when `isolation` is true.
    pub fn isolation_latency(self) -> u64 {
        match self {
            FaultStrategyVersion::V4_9 => 30_000,
            FaultStrategyVersion::V5 => 10_000,
        }
    }
}

impl fmt::Display for FaultStrategyVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaultStrategyVersion::V4_9 => write!(f, "4.9"),
            FaultStrategyVersion::V5 => write!(f, "5.x"),
        }
    }
}

/// A version label that is neither 4.9 nor 5.x.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownFaultStrategyVersion {
    pub label: String,
}

impl fmt::Display for UnknownFaultStrategyVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown RocketMQ version \"{}\"; expected \"4.9\" or \"5.x\"", self.label)
    }
}

impl std::error::Error for UnknownFaultStrategyVersion {}

impl FromStr for FaultStrategyVersion {
    type Err = UnknownFaultStrategyVersion;

    /// Accepts "4.9", "4.9.x", "4", "5.x", "5" (case-insensitive `x`, optional leading `v`).
    fn from_str(label: &str) -> Result<Self, Self::Err> {
        let normalized = label.trim().to_ascii_lowercase();
        match normalized.strip_prefix('v').unwrap_or(&normalized) {
            "4" | "4.9" | "4.9.x" | "4_9" => Ok(FaultStrategyVersion::V4_9),
            "5" | "5.x" => Ok(FaultStrategyVersion::V5),
            _ => Err(UnknownFaultStrategyVersion { label: label.to_string() }),
        }
    }
}

/// The table row `computeNotAvailableDuration` stopped at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LatencyTableRow {
    /// Position in the arrays, 0-based as in Java.
    pub index: u32,
    pub latency_max: u64,
    pub not_available_duration: u64,
}

/// The row used for `latency_ms`: the largest `latencyMax[i] <= latency_ms`; `None` below the first entry.
pub fn latency_table_row(latency_ms: u64, version: FaultStrategyVersion) -> Option<LatencyTableRow> {
    let latency_max = version.latency_max();
    let index = (0..latency_max.len()).rev().find(|&i| latency_ms >= latency_max[i])?;
    Some(LatencyTableRow {
        index: u32::try_from(index).expect("seven rows"),
        latency_max: latency_max[index],
        not_available_duration: version.not_available_duration()[index],
    })
}

/// `MQFaultStrategy.computeNotAvailableDuration`: how long a broker is avoided after a send of `latency_ms`.
pub fn compute_not_available_duration(latency_ms: u64, version: FaultStrategyVersion) -> u64 {
    latency_table_row(latency_ms, version).map_or(0, |row| row.not_available_duration)
}

/// The duration `MQFaultStrategy.updateFaultItem` passes on: the isolation stand-in latency when `isolation`,
/// else the measured one, looked up in the table.
pub fn fault_duration(latency_ms: u64, isolation: bool, version: FaultStrategyVersion) -> u64 {
    let looked_up = if isolation { version.isolation_latency() } else { latency_ms };
    compute_not_available_duration(looked_up, version)
}

/// `LatencyFaultToleranceImpl.FaultItem`: what the producer remembers about one broker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultItem {
    pub name: String,
    /// Latency of the last recorded send, ms.
    pub current_latency: u64,
    /// Virtual time from which the broker is available again (Java's `startTimestamp`).
    pub start_timestamp: u64,
    /// 5.x `reachableFlag`; always true under 4.9.
    pub reachable: bool,
    /// The notAvailableDuration passed with the last update, ms (for the inspector; decides nothing).
    pub last_not_available_duration: u64,
    /// When the last update happened (virtual ms; for the inspector; decides nothing).
    pub last_update: u64,
    /// Order of insertion into Java's `ConcurrentHashMap`, to reproduce its iteration order.
    insertion_sequence: u64,
}

impl FaultItem {
    /// `isAvailable()`: `now - startTimestamp >= 0`.
    pub fn is_available(&self, now: u64) -> bool {
        now >= self.start_timestamp
    }
}

/// `LatencyFaultToleranceImpl`: broker name → [`FaultItem`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LatencyFaultTolerance {
    version: FaultStrategyVersion,
    fault_item_table: BTreeMap<String, FaultItem>,
    next_insertion_sequence: u64,
}

/// `new ConcurrentHashMap<>(16)` allocates 32 bins (both Java 8 and 11+ size it that way) and grows at 24 entries.
const JAVA_FAULT_TABLE_BINS: i32 = 32;

impl LatencyFaultTolerance {
    pub fn new(version: FaultStrategyVersion) -> Self {
        LatencyFaultTolerance { version, fault_item_table: BTreeMap::new(), next_insertion_sequence: 0 }
    }

    pub fn version(&self) -> FaultStrategyVersion {
        self.version
    }

    /// `updateFaultItem(name, currentLatency, notAvailableDuration, reachable)` at virtual time `now`.
    /// 4.9 sets the deadline to `now + duration` (possibly shortening it) and ignores `reachable`;
    /// 5.x moves the deadline only forward and only for a positive duration.
    pub fn update_fault_item(
        &mut self,
        name: &str,
        current_latency: u64,
        not_available_duration: u64,
        reachable: bool,
        now: u64,
    ) {
        let version = self.version;
        let next_sequence = &mut self.next_insertion_sequence;
        let item = self.fault_item_table.entry(name.to_string()).or_insert_with(|| {
            let insertion_sequence = *next_sequence;
            *next_sequence += 1;
            // Java's new FaultItem starts with startTimestamp 0 (available) and reachableFlag false (5.x sets it
            // right after).
            FaultItem {
                name: name.to_string(),
                current_latency: 0,
                start_timestamp: 0,
                reachable: true,
                last_not_available_duration: 0,
                last_update: 0,
                insertion_sequence,
            }
        });
        item.current_latency = current_latency;
        item.last_not_available_duration = not_available_duration;
        item.last_update = now;
        let deadline = now.saturating_add(not_available_duration);
        match version {
            FaultStrategyVersion::V4_9 => {
                item.start_timestamp = deadline;
                item.reachable = true;
            }
            FaultStrategyVersion::V5 => {
                if not_available_duration > 0 && deadline > item.start_timestamp {
                    item.start_timestamp = deadline;
                }
                item.reachable = reachable;
            }
        }
    }

    /// `isAvailable(name)`: brokers never recorded are available.
    pub fn is_available(&self, name: &str, now: u64) -> bool {
        self.fault_item_table.get(name).is_none_or(|item| item.is_available(now))
    }

    /// `isReachable(name)`: brokers never recorded are reachable; under 4.9 every broker is.
    pub fn is_reachable(&self, name: &str) -> bool {
        self.fault_item_table.get(name).is_none_or(|item| item.reachable)
    }

    /// `remove(name)`.
    pub fn remove(&mut self, name: &str) {
        self.fault_item_table.remove(name);
    }

    pub fn fault_item(&self, name: &str) -> Option<&FaultItem> {
        self.fault_item_table.get(name)
    }

    /// Every fault item, by broker name.
    pub fn fault_items(&self) -> impl Iterator<Item = &FaultItem> {
        self.fault_item_table.values()
    }

    /// `pickOneAtLeast()`: the broker to fall back on when none is available; `None` on an empty table.
    ///
    /// * 4.9: sort the items (available first, then lower latency, then earlier deadline; stable, so ties keep the
    ///   map's iteration order) and take item `draw % (n / 2)` of the better half (item 0 when `n < 2`). `draw` is
    ///   the value of the `whichItemWorst` counter after `incrementAndGet()` (a non-negative int in Java).
    /// * 5.x: shuffle and take the first reachable item, i.e. a uniformly random reachable item: item
    ///   `draw % r` of the `r` reachable ones. `None` when nothing is reachable.
    pub fn pick_one_at_least(&self, now: u64, draw: u32) -> Option<&str> {
        let items = self.items_in_java_iteration_order();
        let picked = match self.version {
            FaultStrategyVersion::V4_9 => {
                let mut sorted = items;
                sorted.sort_by(|a, b| {
                    // Available items first (true before false), then latency, then deadline.
                    b.is_available(now)
                        .cmp(&a.is_available(now))
                        .then(a.current_latency.cmp(&b.current_latency))
                        .then(a.start_timestamp.cmp(&b.start_timestamp))
                });
                let half = sorted.len() / 2;
                if half == 0 {
                    *sorted.first()?
                } else {
                    sorted[usize::try_from(draw).expect("u32 fits usize") % half]
                }
            }
            FaultStrategyVersion::V5 => {
                let reachable: Vec<&FaultItem> = items.into_iter().filter(|item| item.reachable).collect();
                let count = u32::try_from(reachable.len()).expect("fault table fits in u32");
                let index = draw.checked_rem(count)?;
                reachable[usize::try_from(index).expect("u32 fits usize")]
            }
        };
        Some(&picked.name)
    }

    /// The items in the order `ConcurrentHashMap.elements()` yields them: by bin (`spread(hashCode) & (n - 1)`),
    /// then by insertion within a bin. Exact while the table holds fewer than 24 brokers (Java then doubles the
    /// table and reorders bins); beyond that it is still deterministic, just not Java's order for ties.
    fn items_in_java_iteration_order(&self) -> Vec<&FaultItem> {
        let mut items: Vec<&FaultItem> = self.fault_item_table.values().collect();
        items.sort_by_key(|item| (java_concurrent_hash_map_bin(&item.name), item.insertion_sequence));
        items
    }
}

/// `ConcurrentHashMap.spread(key.hashCode()) & (n - 1)` for the 32-bin table.
fn java_concurrent_hash_map_bin(key: &str) -> i32 {
    let hash = java::string_hash_code(key);
    // spread: (h ^ (h >>> 16)) & HASH_BITS, with >>> an unsigned shift.
    let spread = (hash ^ ((hash as u32) >> 16) as i32) & 0x7fff_ffff;
    spread & (JAVA_FAULT_TABLE_BINS - 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use FaultStrategyVersion::{V4_9, V5};

    #[test]
    fn five_x_table_isolates_by_latency_as_the_spec_says() {
        // Spec §13 item 8 (5.x): 600 ms → 2 000; 1 800 ms → 5 000; 40 ms → 0; exception → 10 000.
        assert_eq!(compute_not_available_duration(600, V5), 2_000);
        assert_eq!(compute_not_available_duration(1_800, V5), 5_000);
        assert_eq!(compute_not_available_duration(40, V5), 0);
        assert_eq!(fault_duration(40, true, V5), 10_000);
    }

    #[test]
    fn four_nine_table_isolates_much_longer() {
        // Spec §13 item 8 ([4.9]): 600 ms → 30 000; isolation → 600 000.
        assert_eq!(compute_not_available_duration(600, V4_9), 30_000);
        assert_eq!(fault_duration(5, true, V4_9), 600_000);
        assert_eq!(compute_not_available_duration(1_800, V4_9), 60_000);
        assert_eq!(compute_not_available_duration(3_000, V4_9), 180_000);
    }

    #[test]
    fn table_boundaries_are_inclusive_and_scanned_from_the_top() {
        assert_eq!(latency_table_row(49, V5), None);
        assert_eq!(
            latency_table_row(50, V5),
            Some(LatencyTableRow { index: 0, latency_max: 50, not_available_duration: 0 })
        );
        assert_eq!(compute_not_available_duration(549, V5), 0);
        assert_eq!(compute_not_available_duration(550, V5), 2_000);
        assert_eq!(compute_not_available_duration(1_799, V5), 2_000);
        assert_eq!(compute_not_available_duration(15_000, V5), 30_000);
        assert_eq!(compute_not_available_duration(u64::MAX, V4_9), 600_000);
        assert_eq!(latency_table_row(10_000, V5).map(|row| row.index), Some(5));
    }

    #[test]
    fn versions_print_and_parse_as_4_9_and_5_x() {
        assert_eq!(V4_9.to_string(), "4.9");
        assert_eq!(V5.to_string(), "5.x");
        for version in FaultStrategyVersion::ALL {
            assert_eq!(version.to_string().parse::<FaultStrategyVersion>(), Ok(version));
        }
        assert_eq!("5.X".parse::<FaultStrategyVersion>(), Ok(V5));
        assert_eq!("v4.9".parse::<FaultStrategyVersion>(), Ok(V4_9));
        assert!("6".parse::<FaultStrategyVersion>().unwrap_err().to_string().contains("\"4.9\" or \"5.x\""));
    }

    #[test]
    fn unknown_brokers_are_available_and_reachable() {
        let table = LatencyFaultTolerance::new(V5);
        assert!(table.is_available("broker-a", 0));
        assert!(table.is_reachable("broker-a"));
        assert_eq!(table.pick_one_at_least(0, 0), None);
    }

    #[test]
    fn an_isolated_broker_is_unavailable_until_its_deadline() {
        let mut table = LatencyFaultTolerance::new(V5);
        table.update_fault_item("broker-a", 600, compute_not_available_duration(600, V5), true, 1_000);
        assert!(!table.is_available("broker-a", 1_000));
        assert!(!table.is_available("broker-a", 2_999));
        assert!(table.is_available("broker-a", 3_000));
    }

    #[test]
    fn four_nine_lets_a_fast_send_clear_an_isolation() {
        let mut table = LatencyFaultTolerance::new(V4_9);
        table.update_fault_item("broker-a", 30_000, 600_000, false, 0);
        assert!(!table.is_available("broker-a", 10));
        // 4.9 has no reachability: the flag is ignored.
        assert!(table.is_reachable("broker-a"));
        table.update_fault_item("broker-a", 20, 0, true, 10);
        assert!(table.is_available("broker-a", 10));
        assert_eq!(table.fault_item("broker-a").unwrap().start_timestamp, 10);
    }

    #[test]
    fn five_x_only_extends_an_isolation() {
        let mut table = LatencyFaultTolerance::new(V5);
        table.update_fault_item("broker-a", 10_000, 10_000, false, 0);
        table.update_fault_item("broker-a", 20, 0, true, 10);
        assert!(!table.is_available("broker-a", 10));
        assert!(table.is_reachable("broker-a"));
        table.update_fault_item("broker-a", 600, 2_000, true, 20);
        assert_eq!(table.fault_item("broker-a").unwrap().start_timestamp, 10_000);
        table.update_fault_item("broker-a", 15_000, 30_000, true, 5_000);
        assert_eq!(table.fault_item("broker-a").unwrap().start_timestamp, 35_000);
        assert_eq!(table.fault_item("broker-a").unwrap().current_latency, 15_000);
    }

    #[test]
    fn four_nine_picks_from_the_better_half_by_the_counter() {
        let mut table = LatencyFaultTolerance::new(V4_9);
        // Four unavailable brokers at t=0 with distinct latencies; the better half is the two fastest.
        table.update_fault_item("broker-a", 4_000, 180_000, true, 0);
        table.update_fault_item("broker-b", 1_000, 60_000, true, 0);
        table.update_fault_item("broker-c", 2_000, 120_000, true, 0);
        table.update_fault_item("broker-d", 600, 30_000, true, 0);
        assert_eq!(table.pick_one_at_least(1, 0), Some("broker-d"));
        assert_eq!(table.pick_one_at_least(1, 1), Some("broker-b"));
        assert_eq!(table.pick_one_at_least(1, 7), Some("broker-b"));
        // An available broker sorts before every unavailable one, however slow it was.
        table.update_fault_item("broker-e", 9_000, 0, true, 0);
        assert_eq!(table.pick_one_at_least(1, 0), Some("broker-e"));
        assert_eq!(table.pick_one_at_least(1, 1), Some("broker-d"));
    }

    #[test]
    fn four_nine_with_a_single_item_picks_it() {
        let mut table = LatencyFaultTolerance::new(V4_9);
        table.update_fault_item("broker-a", 4_000, 180_000, true, 0);
        assert_eq!(table.pick_one_at_least(1, 12_345), Some("broker-a"));
    }

    #[test]
    fn four_nine_ties_keep_java_concurrent_hash_map_order() {
        // Equal latency and deadline: the stable sort keeps ConcurrentHashMap's iteration order, by bin
        // ((h ^ h >>> 16) & 31, computed independently in Python): broker-b is in bin 24, broker-a in bin 27,
        // so broker-b comes first although broker-a was recorded first.
        assert_eq!(java_concurrent_hash_map_bin("broker-a"), 27);
        assert_eq!(java_concurrent_hash_map_bin("broker-b"), 24);
        assert_eq!(java_concurrent_hash_map_bin("broker-d"), 6);
        let mut table = LatencyFaultTolerance::new(V4_9);
        table.update_fault_item("broker-a", 3_000, 180_000, true, 0);
        table.update_fault_item("broker-b", 3_000, 180_000, true, 0);
        assert_eq!(table.pick_one_at_least(1, 0), Some("broker-b"));
    }

    #[test]
    fn five_x_picks_a_random_reachable_item() {
        let mut table = LatencyFaultTolerance::new(V5);
        table.update_fault_item("broker-a", 10_000, 10_000, false, 0);
        table.update_fault_item("broker-b", 10_000, 10_000, true, 0);
        table.update_fault_item("broker-c", 10_000, 10_000, true, 0);
        let picks: Vec<Option<&str>> = (0..4).map(|draw| table.pick_one_at_least(1, draw)).collect();
        assert!(picks.iter().all(|pick| matches!(pick, Some("broker-b") | Some("broker-c"))));
        assert!(picks.contains(&Some("broker-b")) && picks.contains(&Some("broker-c")));
        table.update_fault_item("broker-b", 10_000, 10_000, false, 0);
        table.update_fault_item("broker-c", 10_000, 10_000, false, 0);
        assert_eq!(table.pick_one_at_least(1, 0), None);
    }

    #[test]
    fn removed_brokers_are_forgotten() {
        let mut table = LatencyFaultTolerance::new(V5);
        table.update_fault_item("broker-a", 10_000, 10_000, false, 0);
        table.remove("broker-a");
        assert!(table.is_available("broker-a", 0));
        assert_eq!(table.fault_items().count(), 0);
    }
}
