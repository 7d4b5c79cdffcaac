//! `ScheduleMessageService` (4.9.8 `store/schedule/`): delivers delayed messages (DELAY levels, and
//! therefore consumer retries) from `SCHEDULE_TOPIC_XXXX` back to their real topic.
//!
//! A delayed message is stored in queue `level − 1` of `SCHEDULE_TOPIC_XXXX` with its delivery time
//! (store time + the level's delay) in the ConsumeQueue tag slot (`store/`). One timer task per level
//! starts 1 000 ms after the service starts, at the level's persisted offset (`correctDelayOffset`
//! clamps it into the queue). A run reads the units from its offset to the end of their file:
//! * the head unit not due yet (`deliverTimestamp − now > 0`, after clamping a delivery time further
//!   than one level-delay ahead to now) → run again in **100 ms** at that offset;
//! * due → `messageTimeup`: a new message with the real topic and queue (REAL_TOPIC, REAL_QID), the
//!   DELAY property cleared, WAIT=false, tags code from TAGS, born and store data kept; put to the store;
//!   PUT_OK moves the level's offset past it, anything else retries in 100 ms at that offset; a unit whose
//!   message cannot be read is skipped (the task moves on, the persisted offset does not);
//! * after the last unit, or with no unit at the offset → run again in 100 ms.
//!   Offsets are persisted to `config/delayOffset.json` every 10 s (`flushDelayOffsetInterval`) and at shutdown.
//!
//! The 100 ms loop, simulated literally, would cost 180 events a second per broker while nothing is
//! delayed. The runs are pure functions of the queue and the clock, so instead of running the ones that
//! cannot do anything we compute when the first useful one is: a level whose head is not due sets its
//! timer to the first tick of its 100 ms grid at or after the delivery time; a level with nothing to read
//! *parks* and is woken, on its grid, by the dispatch of a unit to its queue. Deliveries happen at exactly
//! the ticks the literal loop would have delivered at (a run takes no virtual time, so the grid is
//! `start + 1 s + k × 100 ms`).
//!
//! Invariants: a level's offset only moves forward past delivered (or unreadable) units; each unit is
//! delivered at most once per broker incarnation (a crash may replay what was delivered after the last
//! persist, as in RocketMQ).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::broker::delay_level::{delay_level_to_queue_id, DelayLevelTable, SCHEDULE_TOPIC};
use crate::broker::store::consume_queue_entry::{ConsumeQueueEntry, CQ_STORE_UNIT_SIZE};
use crate::broker::store::default_message_store::DefaultMessageStore;
use crate::broker::store::message_record::MessageRecord;
use crate::broker::store::offsets::CommitLogOffset;
use crate::broker::store::properties::{
    PROPERTY_DELAY_TIME_LEVEL, PROPERTY_REAL_QUEUE_ID, PROPERTY_REAL_TOPIC, PROPERTY_WAIT_STORE_MSG_OK,
};
use crate::broker::store::put_message_result::{PutMessageResult, PutMessageStatus, PutOutcome};
use crate::broker::store::store_io::StoreIo;
use crate::broker::topic_validator::RMQ_SYS_TRANS_HALF_TOPIC;
use crate::time::{Duration, Time};

/// `FIRST_DELAY_TIME`.
pub const FIRST_DELAY_TIME: Duration = Duration::from_millis(1_000);
/// `DELAY_FOR_A_WHILE`.
pub const DELAY_FOR_A_WHILE: Duration = Duration::from_millis(100);
/// `flushDelayOffsetInterval` (a store setting, default 10 s; first persist 10 s after start).
pub const FLUSH_DELAY_OFFSET_INTERVAL: Duration = Duration::from_millis(10_000);
/// `StorePathConfigHelper.getDelayOffsetStorePath` under our broker's file tree.
pub const DELAY_OFFSET_JSON_PATH: &str = "config/delayOffset.json";

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DelayOffsetSerializeWrapper {
    offset_table: BTreeMap<i32, i64>,
}

/// Where one level's timer task is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum LevelState {
    /// Not started (the service has not started, or this broker is a slave).
    Idle,
    /// The next run is at `at`, reading from `offset`.
    Armed { at: Time, offset: i64 },
    /// Nothing to read at `offset`: the next run is the first grid tick after a unit arrives. The last
    /// run was at `last_run` (grid ticks are `last_run + k × 100 ms`).
    Parked { last_run: Time, offset: i64 },
}

/// A message the service put back into its real topic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivered {
    pub delay_level: i32,
    /// The unit's offset in `SCHEDULE_TOPIC_XXXX`.
    pub schedule_offset: i64,
    pub record: MessageRecord,
    pub result: PutMessageResult,
}

/// What one run did, and when the level runs next (`None`: parked).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunOutcome {
    pub delivered: Vec<Delivered>,
    pub next_run: Option<Time>,
}

#[derive(Clone, Debug)]
pub struct ScheduleMessageService {
    delay_levels: DelayLevelTable,
    /// `offsetTable`: level → offset of the next unit to deliver (persisted).
    pub offset_table: BTreeMap<i32, i64>,
    pub levels: BTreeMap<i32, LevelState>,
    pub started: bool,
    /// Changed since the last persist.
    pub dirty: bool,
    pub delivered_total: u64,
}

impl ScheduleMessageService {
    pub fn new(delay_levels: DelayLevelTable) -> Self {
        let levels = delay_levels.levels().map(|(level, _)| (level, LevelState::Idle)).collect();
        ScheduleMessageService {
            delay_levels,
            offset_table: BTreeMap::new(),
            levels,
            started: false,
            dirty: false,
            delivered_total: 0,
        }
    }

    /// `load()`: the persisted offsets (an unreadable file is ignored).
    pub fn load(&mut self, persisted: &[u8]) {
        if let Ok(wrapper) = serde_json::from_slice::<DelayOffsetSerializeWrapper>(persisted) {
            self.offset_table = wrapper.offset_table;
        }
    }

    /// `encode()`.
    pub fn encode(&self) -> Vec<u8> {
        let wrapper = DelayOffsetSerializeWrapper { offset_table: self.offset_table.clone() };
        serde_json::to_vec_pretty(&wrapper).expect("offset tables always serialize")
    }

    /// `correctDelayOffset` then `start()`: every level's first run is 1 s from `now`. Returns the first
    /// run time (the caller sets one timer per level at it).
    pub fn start(&mut self, store: &DefaultMessageStore, now: Time) -> Time {
        for (level, offset) in self.offset_table.iter_mut() {
            if let Some(queue) = store.consume_queue(SCHEDULE_TOPIC, delay_level_to_queue_id(*level)) {
                *offset = (*offset).clamp(queue.min_offset_in_queue(), queue.max_offset_in_queue());
            }
        }
        self.started = true;
        let first = now + FIRST_DELAY_TIME;
        let levels: Vec<i32> = self.levels.keys().copied().collect();
        for level in levels {
            let offset = self.offset_table.get(&level).copied().unwrap_or(0);
            self.levels.insert(level, LevelState::Armed { at: first, offset });
        }
        first
    }

    /// `shutdown()`: no run any more (the caller persists).
    pub fn shutdown(&mut self) {
        self.started = false;
        for state in self.levels.values_mut() {
            *state = LevelState::Idle;
        }
    }

    /// A unit was dispatched to `SCHEDULE_TOPIC_XXXX` queue `queue_id` at `now`: a parked level wakes at
    /// its next grid tick. Returns (level, when) for the timer to set.
    pub fn on_unit_dispatched(&mut self, queue_id: i32, now: Time) -> Option<(i32, Time)> {
        let level = queue_id + 1;
        let state = self.levels.get_mut(&level)?;
        let LevelState::Parked { last_run, offset } = *state else { return None };
        let at = next_tick(last_run, now);
        *state = LevelState::Armed { at, offset };
        Some((level, at))
    }

    /// `DeliverDelayedMessageTimerTask.executeOnTimeup` for `level`, at its armed time.
    pub fn run(&mut self, store: &mut DefaultMessageStore, io: &mut dyn StoreIo, level: i32) -> RunOutcome {
        let now = io.now();
        let offset = match self.levels.get(&level) {
            Some(LevelState::Armed { at, offset }) if *at == now && self.started => *offset,
            _ => return RunOutcome { delivered: Vec::new(), next_run: None },
        };
        let queue_id = delay_level_to_queue_id(level);
        let Some(queue) = store.consume_queue(SCHEDULE_TOPIC, queue_id) else {
            self.levels.insert(level, LevelState::Parked { last_run: now, offset });
            return RunOutcome { delivered: Vec::new(), next_run: None };
        };
        // `getIndexBuffer(offset)`: the units from `offset` to the end of their file.
        let file_bytes = store.config().mapped_file_size_consume_queue();
        let Some(units) = queue.get_index_buffer(io.disk(), offset, file_bytes) else {
            let (min, max) = (queue.min_offset_in_queue(), queue.max_offset_in_queue());
            let reset = if min > offset {
                min
            } else if max < offset {
                max
            } else {
                offset
            };
            if reset != offset {
                return self.arm(level, now + DELAY_FOR_A_WHILE, reset, Vec::new());
            }
            self.levels.insert(level, LevelState::Parked { last_run: now, offset });
            return RunOutcome { delivered: Vec::new(), next_run: None };
        };
        let level_delay_ms = self.delay_levels.delay_ms(level).unwrap_or(0) as i64;
        let mut delivered = Vec::new();
        let unit_count = units.len() as i64 / CQ_STORE_UNIT_SIZE;
        for (i, unit) in units.chunks_exact(CQ_STORE_UNIT_SIZE as usize).enumerate() {
            let next_offset = offset + i as i64;
            let entry = ConsumeQueueEntry::decode(unit.try_into().expect("20-byte units"));
            let now_ms = io.now_ms();
            // correctDeliverTimestamp: a time further than one level-delay ahead is clamped to now.
            let deliver_ms = if entry.tags_code > now_ms + level_delay_ms { now_ms } else { entry.tags_code };
            if deliver_ms - now_ms > 0 {
                let at = first_tick_at_or_after(now, wall_to_virtual(io, deliver_ms));
                return self.arm(level, at, next_offset, delivered);
            }
            let Some(msg_ext) = store.look_message_by_offset(io.disk(), entry.commit_log_offset) else {
                continue;
            };
            let inner = message_timeup(&msg_ext);
            if inner.topic == RMQ_SYS_TRANS_HALF_TOPIC {
                continue;
            }
            let result = match store.put_message(io, &inner) {
                PutOutcome::Done(result) | PutOutcome::Pending { result, .. } => result,
            };
            let ok = result.status == PutMessageStatus::PutOk;
            delivered.push(Delivered { delay_level: level, schedule_offset: next_offset, record: inner, result });
            if !ok {
                return self.arm(level, now + DELAY_FOR_A_WHILE, next_offset, delivered);
            }
            self.delivered_total += 1;
            self.offset_table.insert(level, next_offset + 1);
            self.dirty = true;
        }
        let after = offset + unit_count;
        // The next run (100 ms later) reads from `after`: if the queue already holds more (the units of the
        // next file), it will find them; otherwise it would find nothing, so the level parks.
        let more = store.consume_queue(SCHEDULE_TOPIC, queue_id).is_some_and(|q| q.max_offset_in_queue() > after);
        if more {
            return self.arm(level, now + DELAY_FOR_A_WHILE, after, delivered);
        }
        self.levels.insert(level, LevelState::Parked { last_run: now, offset: after });
        RunOutcome { delivered, next_run: None }
    }

    fn arm(&mut self, level: i32, at: Time, offset: i64, delivered: Vec<Delivered>) -> RunOutcome {
        self.levels.insert(level, LevelState::Armed { at, offset });
        RunOutcome { delivered, next_run: Some(at) }
    }

    /// Units waiting per level (`maxOffset − offset`), for views.
    pub fn backlog(&self, store: &DefaultMessageStore) -> Vec<(i32, i64)> {
        self.levels
            .keys()
            .filter_map(|level| {
                let queue = store.consume_queue(SCHEDULE_TOPIC, delay_level_to_queue_id(*level))?;
                let offset = self.offset_table.get(level).copied().unwrap_or(0);
                Some((*level, queue.max_offset_in_queue() - offset)).filter(|(_, n)| *n > 0)
            })
            .collect()
    }
}

/// The first tick of the grid `last_run + k × 100 ms` (k ≥ 1) at or after `at`.
fn next_tick(last_run: Time, at: Time) -> Time {
    let step = DELAY_FOR_A_WHILE.as_micros();
    let since = at.as_micros().saturating_sub(last_run.as_micros());
    let k = since.div_ceil(step).max(1);
    Time::from_micros(last_run.as_micros() + k * step)
}

/// The first tick `now + k × 100 ms` (k ≥ 1) at or after `at`.
fn first_tick_at_or_after(now: Time, at: Time) -> Time {
    next_tick(now, at)
}

/// The virtual instant at which the wall clock reads `wall_ms`.
fn wall_to_virtual(io: &dyn StoreIo, wall_ms: i64) -> Time {
    let epoch_ms = io.now_ms() - io.now().as_millis() as i64;
    Time::from_millis(u64::try_from(wall_ms - epoch_ms).unwrap_or(0))
}

/// `messageTimeup`: the message to put back into its real topic.
pub fn message_timeup(msg_ext: &MessageRecord) -> MessageRecord {
    let mut inner = MessageRecord::new(
        msg_ext.properties.get(PROPERTY_REAL_TOPIC).unwrap_or_default().to_string(),
        msg_ext.body.clone(),
    );
    inner.flag = msg_ext.flag;
    inner.properties = msg_ext.properties.clone();
    inner.sys_flag = msg_ext.sys_flag;
    inner.born_timestamp = msg_ext.born_timestamp;
    inner.born_host = msg_ext.born_host;
    inner.store_host = msg_ext.store_host;
    inner.reconsume_times = msg_ext.reconsume_times;
    inner.properties.put(PROPERTY_WAIT_STORE_MSG_OK, "false");
    inner.properties.remove(PROPERTY_DELAY_TIME_LEVEL);
    inner.queue_id = inner.properties.get(PROPERTY_REAL_QUEUE_ID).and_then(|q| q.parse().ok()).unwrap_or(0);
    inner
}

/// The CommitLog offset of a delivered record, for observations.
pub fn stored_at(result: &PutMessageResult) -> Option<CommitLogOffset> {
    result.append.as_ref().map(|a| a.wrote_offset)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::store::message_store_config::MessageStoreConfig;
    use crate::broker::store::test_store_io::TestStoreIo;
    use crate::sim::disk::DiskConfig;

    fn store_and_io() -> (DefaultMessageStore, TestStoreIo) {
        let mut store = DefaultMessageStore::new(MessageStoreConfig::default()).unwrap();
        let mut io = TestStoreIo::new(DiskConfig::default(), 1);
        store.start(&mut io);
        (store, io)
    }

    fn delayed(level: i32, key: &str) -> MessageRecord {
        let mut record = MessageRecord::new("T", key.as_bytes().to_vec());
        record.queue_id = 2;
        record.properties.put("KEYS", key);
        record.properties.put(PROPERTY_DELAY_TIME_LEVEL, &level.to_string());
        record
    }

    #[test]
    fn ticks_fall_on_the_100_ms_grid_of_the_last_run() {
        let t = Time::from_millis(1_000);
        assert_eq!(next_tick(t, t), Time::from_millis(1_100));
        assert_eq!(next_tick(t, Time::from_micros(1_000_001)), Time::from_millis(1_100));
        assert_eq!(next_tick(t, Time::from_millis(1_100)), Time::from_millis(1_100));
        assert_eq!(next_tick(t, Time::from_micros(1_100_001)), Time::from_millis(1_200));
    }

    #[test]
    fn a_level_10s_message_is_delivered_on_the_first_grid_tick_at_or_after_its_time() {
        let (mut store, mut io) = store_and_io();
        let mut service = ScheduleMessageService::new(DelayLevelTable::default());
        let first = service.start(&store, io.now());
        assert_eq!(first, Time::from_millis(1_000));
        // Level 3 (10 s), stored at 250.5 ms.
        io.run_until(&mut store, Time::from_micros(250_500));
        store.put_message(&mut io, &delayed(3, "k1"));
        io.run_until(&mut store, Time::from_millis(1_000));
        // First run at 1 s: the head is due at 10 250 ms (ms resolution) -> first tick >= that is 10.3 s.
        let outcome = service.run(&mut store, &mut io, 3);
        assert!(outcome.delivered.is_empty());
        assert_eq!(outcome.next_run, Some(Time::from_millis(10_300)));
        // A level with no queue at all parks at its first run and wakes on its grid.
        let empty = service.run(&mut store, &mut io, 5);
        assert_eq!(empty.next_run, None);
        io.run_until(&mut store, Time::from_millis(10_300));
        let outcome = service.run(&mut store, &mut io, 3);
        assert_eq!(outcome.delivered.len(), 1);
        let delivered = &outcome.delivered[0];
        assert_eq!(delivered.record.topic, "T");
        assert_eq!(delivered.record.queue_id, 2);
        assert_eq!(delivered.record.properties.get(PROPERTY_DELAY_TIME_LEVEL), None);
        assert_eq!(delivered.record.properties.get(PROPERTY_WAIT_STORE_MSG_OK), Some("false"));
        assert_eq!(delivered.result.status, PutMessageStatus::PutOk);
        assert_eq!(outcome.next_run, None, "nothing more: the level parks");
        assert_eq!(service.offset_table.get(&3), Some(&1));
        assert_eq!(service.on_unit_dispatched(4, Time::from_micros(10_300_001)), Some((5, Time::from_millis(10_400))));
    }

    #[test]
    fn offsets_persist_and_are_clamped_into_the_queue_at_start() {
        let (mut store, mut io) = store_and_io();
        store.put_message(&mut io, &delayed(1, "a"));
        io.run_until(&mut store, Time::from_millis(10));
        let mut service = ScheduleMessageService::new(DelayLevelTable::default());
        service.offset_table.insert(1, 7);
        let bytes = service.encode();
        let mut loaded = ScheduleMessageService::new(DelayLevelTable::default());
        loaded.load(&bytes);
        loaded.start(&store, io.now());
        assert_eq!(loaded.offset_table.get(&1), Some(&1), "7 is past the queue's max offset 1");
    }
}
