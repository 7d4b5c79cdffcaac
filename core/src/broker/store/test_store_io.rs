//! `TestStoreIo`: a standalone host for the store, for tests and benchmarks.
//!
//! It owns a [`NodeDisk`], a manual virtual clock, and one event queue of pending timers and syncs
//! ordered by (time, sequence), exactly as the kernel orders them. [`TestStoreIo::run_until`] pops
//! events in order, advances the clock and hands each to the store; [`TestStoreIo::crash`] applies a
//! crash kind the way the kernel does: the process's timers die with it; after a process kill the
//! syncs already issued still complete on the device, in order, but are reported to nobody; after a
//! power or disk loss they never complete. Then the disk model decides what survives.
//!
//! Two differences from the kernel: a sync is issued (and snapshots the file) when the store asks,
//! where the kernel issues it after the handler returns (the store only claims what was written
//! before it asked, so both are safe); and a process kill does not reset the device's queue (see
//! [`TestStoreIo::crash`]).

use std::collections::{BTreeMap, BTreeSet};

use super::default_message_store::{DefaultMessageStore, StoreEvents};
use super::store_io::{StoreIo, StoreTimer};
use crate::prng::{Concern, Prng, StreamOwner};
use crate::sim::disk::{CrashKind, DiskConfig, FileId, NodeDisk, PendingSync};
use crate::sim::node::TimerId;
use crate::time::{Duration, Time};

/// 2023-11-14T22:13:20Z: a virtual epoch for `now_ms` (any fixed value works).
pub const DEFAULT_EPOCH_MS: i64 = 1_700_000_000_000;

#[derive(Clone, Debug)]
enum Pending {
    Timer { id: TimerId, timer: StoreTimer, incarnation: u32 },
    Sync { sync: PendingSync, incarnation: u32 },
}

#[derive(Clone, Debug)]
pub struct TestStoreIo {
    disk: NodeDisk,
    now: Time,
    epoch_ms: i64,
    rng: Prng,
    queue: BTreeMap<(Time, u64), Pending>,
    active_timers: BTreeSet<TimerId>,
    next_sequence: u64,
    next_timer_id: u64,
    /// Bumped by each crash: events of an earlier process are not delivered.
    incarnation: u32,
    /// Syncs issued and completed, for tests.
    pub syncs_issued: u64,
}

impl TestStoreIo {
    /// A fresh disk with `config`, the clock at 0 (`now_ms` = [`DEFAULT_EPOCH_MS`]), the disk stream of `seed`.
    pub fn new(config: DiskConfig, seed: u64) -> Self {
        TestStoreIo {
            disk: NodeDisk::new(config),
            now: Time::ZERO,
            epoch_ms: DEFAULT_EPOCH_MS,
            rng: Prng::stream(seed, StreamOwner::Node(0), Concern::Disk),
            queue: BTreeMap::new(),
            active_timers: BTreeSet::new(),
            next_sequence: 0,
            next_timer_id: 0,
            incarnation: 0,
            syncs_issued: 0,
        }
    }

    pub fn with_epoch_ms(mut self, epoch_ms: i64) -> Self {
        self.epoch_ms = epoch_ms;
        self
    }

    /// The disk, for faults (`slowdown_factor`) and inspection.
    pub fn disk_mut(&mut self) -> &mut NodeDisk {
        &mut self.disk
    }

    /// When the next timer or sync is due, if any.
    pub fn next_event_time(&self) -> Option<Time> {
        self.queue.keys().next().map(|(at, _)| *at)
    }

    /// Deliver every event due at or before `until` in order, then set the clock to `until`.
    pub fn run_until(&mut self, store: &mut DefaultMessageStore, until: Time) -> StoreEvents {
        let mut events = store.take_deferred_events();
        while let Some(step) = self.step(store, until) {
            events.extend(step);
        }
        self.now = self.now.max(until);
        events
    }

    /// Advance the clock by `by`, delivering what falls due.
    pub fn advance(&mut self, store: &mut DefaultMessageStore, by: Duration) -> StoreEvents {
        let until = self.now + by;
        self.run_until(store, until)
    }

    /// Deliver the next event due at or before `until`; `None` if there is none.
    pub fn step(&mut self, store: &mut DefaultMessageStore, until: Time) -> Option<StoreEvents> {
        loop {
            let (&(at, sequence), _) = self.queue.first_key_value()?;
            if at > until {
                return None;
            }
            let event = self.queue.remove(&(at, sequence)).expect("just seen");
            self.now = self.now.max(at);
            match event {
                Pending::Timer { id, timer, incarnation } => {
                    if incarnation != self.incarnation || !self.active_timers.remove(&id) {
                        continue;
                    }
                    return Some(store.on_timer(self, timer));
                }
                Pending::Sync { sync, incarnation } => {
                    let file = sync.file;
                    let Some(synced_len) = self.disk.complete_sync(sync) else { continue };
                    if incarnation != self.incarnation {
                        continue;
                    }
                    return Some(store.on_disk_synced(self, file, synced_len));
                }
            }
        }
    }

    /// Crash the process (and, depending on `kind`, the machine or the disk). The store object must
    /// be dropped by the caller; a new one is started on what the disk kept.
    pub fn crash(&mut self, kind: CrashKind) {
        self.incarnation += 1;
        self.active_timers.clear();
        let keep_syncs = kind == CrashKind::ProcessKill;
        self.queue.retain(|_, event| matches!(event, Pending::Sync { .. }) && keep_syncs);
        // After a process kill the device goes on serving the syncs already queued, in order.
        // `NodeDisk::crash(ProcessKill)` would forget how busy the device is (`busy_until`), letting a
        // sync of the new process complete before an older one, whose older snapshot would then
        // overwrite the newer durable copy; a process kill changes nothing else on the disk.
        if kind != CrashKind::ProcessKill {
            self.disk.crash(kind, &mut self.rng);
        }
    }

    /// The process exits after a clean shutdown (its page cache stays with the OS).
    pub fn restart_process(&mut self) {
        self.crash(CrashKind::ProcessKill);
    }

    fn push(&mut self, at: Time, event: Pending) {
        self.queue.insert((at, self.next_sequence), event);
        self.next_sequence += 1;
    }
}

impl StoreIo for TestStoreIo {
    fn now(&self) -> Time {
        self.now
    }

    fn now_ms(&self) -> i64 {
        self.epoch_ms + self.now.as_millis() as i64
    }

    fn disk(&self) -> &NodeDisk {
        &self.disk
    }

    fn open(&mut self, name: &str) -> FileId {
        self.disk.open(name)
    }

    fn write(&mut self, file: FileId, offset: u64, bytes: &[u8]) {
        self.disk.write(file, offset, bytes);
    }

    fn truncate(&mut self, file: FileId, len: u64) {
        self.disk.truncate(file, len);
    }

    fn delete(&mut self, file: FileId) {
        self.disk.delete(file);
    }

    fn sync(&mut self, file: FileId) {
        if !self.disk.exists(file) {
            return;
        }
        let (sync, done_at) = self.disk.begin_sync(file, self.now, &mut self.rng);
        self.syncs_issued += 1;
        let incarnation = self.incarnation;
        self.push(done_at, Pending::Sync { sync, incarnation });
    }

    fn set_timer(&mut self, after: Duration, timer: StoreTimer) -> TimerId {
        let id = TimerId(self.next_timer_id);
        self.next_timer_id += 1;
        self.active_timers.insert(id);
        let incarnation = self.incarnation;
        self.push(self.now + after, Pending::Timer { id, timer, incarnation });
        id
    }

    fn cancel_timer(&mut self, id: TimerId) {
        self.active_timers.remove(&id);
    }
}
