//! `AsyncTraceDispatcher` (4.9.8): how a client batches its trace records into trace messages.
//!
//! Hooks append a `TraceContext`; a worker thread moves them into one segment per trace topic (as text),
//! polling in 100 ms windows. A segment is sent when its text reaches `maxMsgSize − 10 000` (118 000)
//! characters, or, checked at the end of each window, when its first record has waited 500 ms
//! (`waitTimeThresholdMil`). Sending is an async send of one message to the trace topic whose body is the
//! records and whose KEYS are their msgIds and keys.
//!
//! Deviations (documented): RocketMQ sends through a separate producer (group
//! `_INNER_TRACE_PRODUCER-<group>-PRODUCER-<n>`, its own client instance, 5 s timeout, queue chosen among the
//! trace topic's brokers); here the host client sends, round robin, with its own timeout. The 1 024-context
//! queue between hooks and worker never fills in the simulation (the worker takes each context at once).

use serde::Serialize;

use super::encoding::{encode, TraceContext};
use crate::time::{Duration, Time};

/// `pollingTimeMil`.
pub const POLLING_TIME: Duration = Duration::from_millis(100);
/// `waitTimeThresholdMil`.
pub const WAIT_TIME_THRESHOLD: Duration = Duration::from_millis(500);
/// `maxMsgSize` of the trace producer.
pub const MAX_MSG_SIZE: usize = 128_000;

/// A trace message ready to send.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TraceBatch {
    pub topic: String,
    pub body: String,
    /// msgIds and keys of the records, sorted and without duplicates (RocketMQ: a HashSet).
    pub keys: Vec<String>,
    pub records: u32,
}

/// Counters for views.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TraceStats {
    pub contexts: u64,
    pub batches: u64,
}

/// What an append or a flush asks the client to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TraceAction {
    Send(TraceBatch),
    /// Set the flush timer at this instant (the first window end 500 ms after the first record).
    ArmFlush(Time),
    Nothing,
}

#[derive(Clone, Debug)]
pub struct AsyncTraceDispatcher {
    pub trace_topic: String,
    started_at: Time,
    segment: Vec<(String, Vec<String>)>,
    current_size: usize,
    first_bean_add_time: Option<Time>,
    flush_armed: Option<Time>,
    pub stats: TraceStats,
}

impl AsyncTraceDispatcher {
    pub fn new(trace_topic: &str, started_at: Time) -> Self {
        AsyncTraceDispatcher {
            trace_topic: trace_topic.to_string(),
            started_at,
            segment: Vec::new(),
            current_size: 0,
            first_bean_add_time: None,
            flush_armed: None,
            stats: TraceStats::default(),
        }
    }

    /// `append` + the worker's `addTraceTransferBean`.
    pub fn append(&mut self, context: &TraceContext, now: Time) -> TraceAction {
        if context.beans.is_empty() {
            return TraceAction::Nothing;
        }
        self.stats.contexts += 1;
        let (text, keys) = encode(context);
        self.first_bean_add_time.get_or_insert(now);
        self.current_size += text.encode_utf16().count();
        self.segment.push((text, keys));
        if self.current_size >= MAX_MSG_SIZE - 10_000 {
            return TraceAction::Send(self.take());
        }
        match (self.flush_armed, self.first_bean_add_time) {
            (None, Some(first)) => {
                // The window-end check (every 100 ms on the worker's grid) that first sees 500 ms passed.
                let at = crate::broker::consumer_services::next_on_grid(
                    self.started_at,
                    POLLING_TIME,
                    Time::from_micros((first + WAIT_TIME_THRESHOLD).as_micros() - 1),
                );
                self.flush_armed = Some(at);
                TraceAction::ArmFlush(at)
            }
            _ => TraceAction::Nothing,
        }
    }

    /// The flush timer: `sendDataByTimeThreshold`.
    pub fn on_flush(&mut self, now: Time) -> TraceAction {
        if self.flush_armed != Some(now) {
            return TraceAction::Nothing;
        }
        self.flush_armed = None;
        match self.first_bean_add_time {
            Some(first) if now - first >= WAIT_TIME_THRESHOLD => TraceAction::Send(self.take()),
            Some(first) => {
                let at = first + WAIT_TIME_THRESHOLD;
                self.flush_armed = Some(at);
                TraceAction::ArmFlush(at)
            }
            None => TraceAction::Nothing,
        }
    }

    fn take(&mut self) -> TraceBatch {
        let records = std::mem::take(&mut self.segment);
        self.current_size = 0;
        self.first_bean_add_time = None;
        let mut keys: Vec<String> = records.iter().flat_map(|(_, k)| k.clone()).collect();
        keys.sort();
        keys.dedup();
        self.stats.batches += 1;
        TraceBatch {
            topic: self.trace_topic.clone(),
            body: records.iter().map(|(text, _)| text.as_str()).collect(),
            keys,
            records: records.len() as u32,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::encoding::{TraceBean, TraceType, DEFAULT_TRACE_REGION_ID};
    use super::*;

    fn context(msg_id: &str) -> TraceContext {
        TraceContext {
            trace_type: TraceType::Pub,
            time_stamp: 0,
            region_id: DEFAULT_TRACE_REGION_ID.into(),
            group_name: "G".into(),
            cost_time: 1,
            success: true,
            request_id: String::new(),
            context_code: 0,
            beans: vec![TraceBean::new("T", msg_id)],
        }
    }

    #[test]
    fn records_wait_for_the_first_window_end_500_ms_after_the_first_one() {
        let mut d = AsyncTraceDispatcher::new("RMQ_SYS_TRACE_TOPIC", Time::ZERO);
        let at = match d.append(&context("A"), Time::from_millis(1_230)) {
            TraceAction::ArmFlush(at) => at,
            other => panic!("{other:?}"),
        };
        assert_eq!(at, Time::from_millis(1_800), "the first 100 ms grid point at or after 1 730 ms");
        assert_eq!(d.append(&context("B"), Time::from_millis(1_500)), TraceAction::Nothing);
        match d.on_flush(at) {
            TraceAction::Send(batch) => {
                assert_eq!(batch.records, 2);
                assert_eq!(batch.keys, ["A", "B"]);
                assert!(batch.body.starts_with("Pub\u{1}"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_segment_of_118_000_characters_is_sent_at_once() {
        let mut d = AsyncTraceDispatcher::new("RMQ_SYS_TRACE_TOPIC", Time::ZERO);
        let mut big = context("A");
        big.beans[0].keys = Some("k".repeat(60_000));
        assert!(matches!(d.append(&big, Time::ZERO), TraceAction::ArmFlush(_)));
        assert!(matches!(d.append(&big, Time::ZERO), TraceAction::Send(batch) if batch.records == 2));
    }
}
