//! RocketMQ 5's timer wheel (`store/timer/TimerMessageStore`, `broker/util/HookUtils.transformTimerMessage`),
//! as an option of the simulated broker (`timerWheelEnable`, off by default: 4.9 has no wheel).
//!
//! **A 5.x feature, approximated.** What is modelled as 5.x does it:
//! * A message with `TIMER_DELAY_SEC`, `TIMER_DELAY_MS` or `TIMER_DELIVER_MS` (and no DELAY level, which wins and
//!   strips them) whose delivery time is in the future is rewritten on its way into the store: TIMER_OUT_MS =
//!   the delivery time rounded to the wheel's precision (`timerPrecisionMs`, 1 s: an exact multiple becomes
//!   one precision *earlier*, anything else is floored), REAL_TOPIC / REAL_QID kept, topic `rmq_sys_wheel_timer`
//!   queue 0. More than `timerMaxDelaySec` (3 days) ahead is refused: WHEEL_TIMER_MSG_ILLEGAL → MESSAGE_ILLEGAL.
//!   A delivery time already past is not a timer message at all: it is stored in its topic at once.
//! * Enqueue: the message goes into the wheel slot of its TIMER_OUT_MS — unless that is `timerRollWindowSlot`
//!   (2 days) or more after the wheel's write time: then it is *rolled*, put in the slot 2 days ahead (or 1 day
//!   ahead when it is due less than two thirds of a day after the window), and when that slot comes it is
//!   written back to `rmq_sys_wheel_timer` (TIMER_ROLL_TIMES + 1) and enqueued again.
//! * Dequeue: a slot is read once the wheel's write time has passed it (one precision after the slot's time),
//!   by a thread that looks every 100 ms: so a message due at an exact second is delivered at that second (on
//!   the 100 ms grid), one due at 10.5 s at 11 s. Delivered = written to its real topic (REAL_TOPIC/REAL_QID
//!   removed, TIMER_OUT_MS kept) and visible to consumers.
//!
//! Approximated (documented): the TimerLog (52-byte units chained per slot) and the TimerWheel file (7 × 86 400
//! slots of 32 bytes) are an in-memory ordered map from slot time to messages; the enqueue/dequeue pipelines,
//! flow control (`timerCongestNumEachSlot`), delete messages (TIMER_DEL_UNIQKEY) and metrics are not modelled.
//! Recovery: the wheel is rebuilt from `rmq_sys_wheel_timer`'s ConsumeQueue after a restart, skipping messages
//! due at or before the checkpointed read time (`timer/checkpoint.json`, written at each dequeue) and keeping only
//! the latest copy of a rolled message; RocketMQ recovers its files instead. With `timerWheelEnable` off the
//! broker behaves as 4.9 (TIMER_* are ordinary properties, delivered at once); a 5.x broker would refuse with
//! WHEEL_TIMER_NOT_ENABLE.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::broker::broker_store_io::{wall_clock_ms, BrokerStoreIo};
use crate::broker::controller::{BrokerController, BrokerTimer};
use crate::broker::store::message_record::{MessageRecord, MessageVersion};
use crate::broker::store::offsets::CommitLogOffset;
use crate::broker::store::properties::{PROPERTY_DELAY_TIME_LEVEL, PROPERTY_REAL_QUEUE_ID, PROPERTY_REAL_TOPIC};
use crate::broker::store::put_message_result::PutOutcome;
use crate::observation::Observation;
use crate::protocol::{Response, ResponseCode};
use crate::time::{Duration, Time};
use crate::world::{Ctx, Timer};

/// `TimerMessageStore.TIMER_TOPIC`.
pub const TIMER_TOPIC: &str = "rmq_sys_wheel_timer";
pub const PROPERTY_TIMER_DELAY_SEC: &str = "TIMER_DELAY_SEC";
pub const PROPERTY_TIMER_DELAY_MS: &str = "TIMER_DELAY_MS";
pub const PROPERTY_TIMER_DELIVER_MS: &str = "TIMER_DELIVER_MS";
pub const PROPERTY_TIMER_OUT_MS: &str = "TIMER_OUT_MS";
pub const PROPERTY_TIMER_ROLL_TIMES: &str = "TIMER_ROLL_TIMES";
/// How often the dequeue thread looks when idle (`waitForRunning(100 * precisionMs / 1000)`).
pub const DEQUEUE_POLL: Duration = Duration::from_millis(100);
const CHECKPOINT_PATH: &str = "timer/checkpoint.json";

/// The wheel's settings (MessageStoreConfig keys of 5.x).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimerConfig {
    pub enable: bool,
    pub precision_ms: i64,
    pub max_delay_sec: i64,
    pub roll_window_slot: i64,
}

/// The timers of the wheel (inside `BrokerTimer::TimerWheel`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TimerWheelTimer {
    Dequeue,
}

/// A message in the wheel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TimerEntry {
    pub commit_log_offset: i64,
    pub timer_out_ms: i64,
    pub roll: bool,
    pub msg_id: String,
}

/// Counters for views.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TimerStats {
    pub enqueued: u64,
    pub delivered: u64,
    pub rolled: u64,
    pub refused: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TimerCheckpoint {
    last_read_time_ms: i64,
}

/// The wheel of one broker incarnation.
#[derive(Clone, Debug, Default)]
pub struct TimerMessageStore {
    pub started_at: Option<Time>,
    /// Slot time (wall ms) → messages.
    pub wheel: BTreeMap<i64, Vec<TimerEntry>>,
    armed: Option<Time>,
    last_read_time_ms: i64,
    pub stats: TimerStats,
}

fn timer(t: TimerWheelTimer) -> Timer {
    Timer::Broker(BrokerTimer::TimerWheel(t))
}

/// `HookUtils.checkIfTimerMessage` + `transformTimerMessage`: Ok(true) when the record became a timer message.
pub fn transform_timer_message(
    record: &mut MessageRecord,
    config: &TimerConfig,
    now_ms: i64,
) -> Result<bool, (ResponseCode, String)> {
    let has_timer = [PROPERTY_TIMER_DELIVER_MS, PROPERTY_TIMER_DELAY_SEC, PROPERTY_TIMER_DELAY_MS]
        .iter()
        .any(|p| record.properties.get(p).is_some());
    if !config.enable
        || !has_timer
        || record.topic == TIMER_TOPIC
        || record.properties.get(PROPERTY_TIMER_OUT_MS).is_some()
    {
        return Ok(false);
    }
    let delay_level = record.properties.get(PROPERTY_DELAY_TIME_LEVEL).and_then(|l| l.parse::<i32>().ok()).unwrap_or(0);
    if delay_level > 0 {
        for p in [PROPERTY_TIMER_DELIVER_MS, PROPERTY_TIMER_DELAY_SEC, PROPERTY_TIMER_DELAY_MS] {
            record.properties.remove(p);
        }
        return Ok(false);
    }
    let illegal = || {
        (
            ResponseCode::MESSAGE_ILLEGAL,
            format!(
                "timer message illegal, the delay time should not be bigger than the max delay {}ms; or if set del msg, the delay time should be bigger than the current time",
                config.max_delay_sec * 1_000
            ),
        )
    };
    let parse = |name: &str| record.properties.get(name).map(|v| v.parse::<i64>().map_err(|_| illegal()));
    let mut deliver_ms = if let Some(sec) = parse(PROPERTY_TIMER_DELAY_SEC) {
        now_ms + sec?.saturating_mul(1_000)
    } else if let Some(ms) = parse(PROPERTY_TIMER_DELAY_MS) {
        now_ms + ms?
    } else {
        parse(PROPERTY_TIMER_DELIVER_MS).unwrap_or(Ok(now_ms))?
    };
    if deliver_ms <= now_ms {
        return Ok(false);
    }
    if deliver_ms - now_ms > config.max_delay_sec * 1_000 {
        return Err(illegal());
    }
    let precision = config.precision_ms;
    deliver_ms = if deliver_ms % precision == 0 { deliver_ms - precision } else { deliver_ms / precision * precision };
    let real_topic = record.topic.clone();
    record.properties.put(PROPERTY_TIMER_OUT_MS, &deliver_ms.to_string());
    record.properties.put(PROPERTY_REAL_TOPIC, &real_topic);
    record.properties.put(PROPERTY_REAL_QUEUE_ID, &record.queue_id.to_string());
    record.topic = TIMER_TOPIC.to_string();
    record.version = MessageVersion::for_topic(&record.topic);
    record.queue_id = 0;
    Ok(true)
}

impl BrokerController {
    fn timer_config(&self) -> TimerConfig {
        let store = self.store.config();
        TimerConfig {
            enable: store.timer_wheel_enable,
            precision_ms: i64::from(store.timer_precision_ms.max(1)),
            max_delay_sec: i64::from(store.timer_max_delay_sec),
            roll_window_slot: i64::from(store.timer_roll_window_slot),
        }
    }

    /// Turn timer messages among a send's records into wheel messages (or refuse the send).
    pub(crate) fn transform_timer_records(
        &mut self,
        records: &mut [MessageRecord],
        now_ms: i64,
    ) -> Result<(), Response> {
        let config = self.timer_config();
        for record in records {
            if let Err((code, remark)) = transform_timer_message(record, &config, now_ms) {
                self.timer_wheel.stats.refused += 1;
                return Err(Response::error(code, remark));
            }
        }
        Ok(())
    }

    /// Start the wheel (masters with `timerWheelEnable`): rebuild it from the timer topic's ConsumeQueue.
    pub(crate) fn start_timer_wheel(&mut self, ctx: &mut Ctx<'_>) {
        let config = self.timer_config();
        if !config.enable
            || self.store.config().broker_role == crate::broker::store::message_store_config::BrokerRole::Slave
        {
            return;
        }
        self.timer_wheel.started_at = Some(ctx.now());
        if let Some(file) = ctx.disk().lookup(CHECKPOINT_PATH) {
            let bytes = ctx.disk().read_vec(file, 0, ctx.disk().len(file));
            if let Ok(checkpoint) = serde_json::from_slice::<TimerCheckpoint>(&bytes) {
                self.timer_wheel.last_read_time_ms = checkpoint.last_read_time_ms;
            }
        }
        let Some(queue) = self.store.consume_queue(TIMER_TOPIC, 0) else { return };
        let (min, max) = (queue.min_offset_in_queue(), queue.max_offset_in_queue());
        let mut latest: BTreeMap<String, (i64, i64)> = BTreeMap::new();
        for offset in min..max {
            let Some(entry) = queue.entry_at(ctx.disk(), offset) else { continue };
            let Some(record) = self.store.look_message_by_offset(ctx.disk(), entry.commit_log_offset) else { continue };
            let Some(out) = record.properties.get(PROPERTY_TIMER_OUT_MS).and_then(|v| v.parse::<i64>().ok()) else {
                continue;
            };
            let id = record.properties.unique_key().unwrap_or_default().to_string();
            latest.insert(id, (entry.commit_log_offset.0, out));
        }
        for (msg_id, (offset, out)) in latest {
            if out > self.timer_wheel.last_read_time_ms {
                self.timer_enqueue(offset, out, &msg_id, ctx);
            }
        }
    }

    /// After a send's (or the wheel's own) put of a timer record: enqueue it.
    pub(crate) fn on_timer_record_stored(
        &mut self,
        record: &MessageRecord,
        offset: CommitLogOffset,
        ctx: &mut Ctx<'_>,
    ) {
        if self.timer_wheel.started_at.is_none() || record.topic != TIMER_TOPIC {
            return;
        }
        let Some(out) = record.properties.get(PROPERTY_TIMER_OUT_MS).and_then(|v| v.parse::<i64>().ok()) else {
            return;
        };
        let msg_id = record.properties.unique_key().unwrap_or_default().to_string();
        self.timer_enqueue(offset.0, out, &msg_id, ctx);
    }

    /// `doEnqueue`: the slot of the message, or a roll slot when it is too far out.
    fn timer_enqueue(&mut self, offset: i64, timer_out_ms: i64, msg_id: &str, ctx: &mut Ctx<'_>) {
        let config = self.timer_config();
        let precision = config.precision_ms;
        let write_time = wall_clock_ms(ctx.now()) / precision * precision;
        let window = config.roll_window_slot * precision;
        let mut delayed = timer_out_ms;
        let roll = delayed - write_time >= window;
        if roll {
            delayed = if delayed - write_time - window < config.roll_window_slot / 3 * precision {
                write_time + config.roll_window_slot / 2 * precision
            } else {
                write_time + window
            };
        }
        let slot = delayed / precision * precision;
        self.timer_wheel.stats.enqueued += 1;
        self.timer_wheel.wheel.entry(slot).or_default().push(TimerEntry {
            commit_log_offset: offset,
            timer_out_ms,
            roll,
            msg_id: msg_id.to_string(),
        });
        self.arm_timer_dequeue(ctx);
    }

    /// Set the dequeue timer for the first slot: when the write time has passed it, on the 100 ms grid.
    fn arm_timer_dequeue(&mut self, ctx: &mut Ctx<'_>) {
        let Some(started) = self.timer_wheel.started_at else { return };
        let Some((&slot, _)) = self.timer_wheel.wheel.iter().next() else { return };
        let due_wall = slot + self.timer_config().precision_ms;
        let due = Time::from_millis(u64::try_from(due_wall - wall_clock_ms(Time::ZERO)).unwrap_or(0)).max(ctx.now());
        let at = crate::broker::consumer_services::next_on_grid(
            started,
            DEQUEUE_POLL,
            Time::from_micros(due.as_micros().saturating_sub(1)),
        );
        if self.timer_wheel.armed.is_some_and(|armed| armed <= at) {
            return;
        }
        self.timer_wheel.armed = Some(at);
        ctx.set_timer(at - ctx.now(), timer(TimerWheelTimer::Dequeue));
    }

    pub(crate) fn on_timer_wheel_timer(&mut self, t: TimerWheelTimer, ctx: &mut Ctx<'_>) {
        let TimerWheelTimer::Dequeue = t;
        if self.timer_wheel.armed != Some(ctx.now()) {
            return;
        }
        self.timer_wheel.armed = None;
        let precision = self.timer_config().precision_ms;
        let now_ms = wall_clock_ms(ctx.now());
        let due: Vec<i64> =
            self.timer_wheel.wheel.keys().copied().take_while(|slot| slot + precision <= now_ms).collect();
        for slot in due {
            let entries = self.timer_wheel.wheel.remove(&slot).unwrap_or_default();
            for entry in entries {
                self.timer_dequeue(&entry, ctx);
            }
            self.timer_wheel.last_read_time_ms = self.timer_wheel.last_read_time_ms.max(slot);
        }
        let bytes = serde_json::to_vec(&TimerCheckpoint { last_read_time_ms: self.timer_wheel.last_read_time_ms })
            .expect("a checkpoint serializes");
        let file = ctx.open_file(CHECKPOINT_PATH);
        ctx.truncate(file, 0);
        ctx.write(file, 0, &bytes);
        self.arm_timer_dequeue(ctx);
        self.settle_store_events(ctx);
    }

    /// Deliver (or roll) one message: `convert` + put.
    fn timer_dequeue(&mut self, entry: &TimerEntry, ctx: &mut Ctx<'_>) {
        let Some(msg_ext) = self.store.look_message_by_offset(ctx.disk(), CommitLogOffset(entry.commit_log_offset))
        else {
            return;
        };
        let mut inner = MessageRecord::new(&msg_ext.topic, msg_ext.body.clone());
        inner.flag = msg_ext.flag;
        inner.properties = msg_ext.properties.clone();
        inner.sys_flag = msg_ext.sys_flag;
        inner.born_timestamp = msg_ext.born_timestamp;
        inner.born_host = msg_ext.born_host;
        inner.store_host = msg_ext.store_host;
        inner.reconsume_times = msg_ext.reconsume_times;
        if entry.roll {
            let times =
                inner.properties.get(PROPERTY_TIMER_ROLL_TIMES).and_then(|t| t.parse::<i32>().ok()).unwrap_or(0);
            inner.properties.put(PROPERTY_TIMER_ROLL_TIMES, &(times + 1).to_string());
            inner.queue_id = msg_ext.queue_id;
        } else {
            inner.topic = inner.properties.get(PROPERTY_REAL_TOPIC).unwrap_or_default().to_string();
            inner.version = MessageVersion::for_topic(&inner.topic);
            inner.queue_id = inner.properties.get(PROPERTY_REAL_QUEUE_ID).and_then(|q| q.parse().ok()).unwrap_or(0);
            inner.properties.remove(PROPERTY_REAL_TOPIC);
            inner.properties.remove(PROPERTY_REAL_QUEUE_ID);
        }
        let result = {
            let mut io = BrokerStoreIo { ctx };
            match self.store.put_message(&mut io, &inner) {
                PutOutcome::Done(result) | PutOutcome::Pending { result, .. } => result,
            }
        };
        let Some(append) = result.append.filter(|_| result.status.is_stored()) else { return };
        self.stats.messages_stored += 1;
        ctx.observe(Observation::MessageStored {
            topic: inner.topic.clone(),
            queue_id: inner.queue_id,
            queue_offset: append.logics_offset.0,
            commit_log_offset: append.wrote_offset.0,
            offset_msg_id: append.msg_id(),
            msg_id: entry.msg_id.clone(),
            store_timestamp: append.store_timestamp,
            wrote_bytes: append.wrote_bytes,
        });
        if entry.roll {
            self.timer_wheel.stats.rolled += 1;
            let roll_times = inner.properties.get(PROPERTY_TIMER_ROLL_TIMES).and_then(|t| t.parse().ok()).unwrap_or(1);
            ctx.observe(Observation::TimerMessageRolled {
                msg_id: entry.msg_id.clone(),
                timer_out_ms: entry.timer_out_ms,
                roll_times,
            });
            self.timer_enqueue(append.wrote_offset.0, entry.timer_out_ms, &entry.msg_id, ctx);
        } else {
            self.timer_wheel.stats.delivered += 1;
            ctx.observe(Observation::TimerMessageDelivered {
                msg_id: entry.msg_id.clone(),
                topic: inner.topic.clone(),
                queue_id: inner.queue_id,
                queue_offset: append.logics_offset.0,
                timer_out_ms: entry.timer_out_ms,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> TimerConfig {
        TimerConfig { enable: true, precision_ms: 1_000, max_delay_sec: 3 * 86_400, roll_window_slot: 2 * 86_400 }
    }

    fn message(property: &str, value: &str) -> MessageRecord {
        let mut record = MessageRecord::new("Orders", b"x".to_vec());
        record.queue_id = 3;
        record.properties.put(property, value);
        record
    }

    #[test]
    fn delivery_times_round_to_the_precision_and_exact_seconds_move_one_earlier() {
        let now = 1_700_000_000_000;
        let mut exact = message(PROPERTY_TIMER_DELAY_MS, "10000");
        assert_eq!(transform_timer_message(&mut exact, &config(), now), Ok(true));
        assert_eq!(exact.properties.get(PROPERTY_TIMER_OUT_MS), Some("1700000009000"));
        assert_eq!((exact.topic.as_str(), exact.queue_id), (TIMER_TOPIC, 0));
        assert_eq!(exact.properties.get(PROPERTY_REAL_QUEUE_ID), Some("3"));
        let mut half = message(PROPERTY_TIMER_DELAY_SEC, "10");
        transform_timer_message(&mut half, &config(), now + 500).unwrap();
        assert_eq!(half.properties.get(PROPERTY_TIMER_OUT_MS), Some("1700000010000"));
    }

    #[test]
    fn too_far_past_or_with_a_delay_level() {
        let now = 1_700_000_000_000;
        let mut far = message(PROPERTY_TIMER_DELAY_SEC, "259201");
        assert_eq!(transform_timer_message(&mut far, &config(), now).unwrap_err().0, ResponseCode::MESSAGE_ILLEGAL);
        let mut past = message(PROPERTY_TIMER_DELIVER_MS, "1600000000000");
        assert_eq!(transform_timer_message(&mut past, &config(), now), Ok(false));
        assert_eq!(past.topic, "Orders");
        let mut level = message(PROPERTY_TIMER_DELAY_SEC, "10");
        level.properties.put(PROPERTY_DELAY_TIME_LEVEL, "3");
        assert_eq!(transform_timer_message(&mut level, &config(), now), Ok(false));
        assert_eq!(level.properties.get(PROPERTY_TIMER_DELAY_SEC), None, "a DELAY level wins and strips the timer");
        let mut off = message(PROPERTY_TIMER_DELAY_SEC, "10");
        assert_eq!(transform_timer_message(&mut off, &TimerConfig { enable: false, ..config() }, now), Ok(false));
    }
}
