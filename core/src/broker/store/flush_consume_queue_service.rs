//! `FlushConsumeQueueService` (`DefaultMessageStore.FlushConsumeQueueService`): every
//! `flushIntervalConsumeQueue` (1 s) flush each ConsumeQueue that has `flushConsumeQueueLeastPages`
//! (2) new pages; every `flushConsumeQueueThoroughInterval` (60 s, and on the first pass) flush all of
//! them and then write the checkpoint.
//!
//! The thorough pass reads `logicsMsgTimestamp` *before* flushing and writes that value into the
//! checkpoint after, so the checkpoint never claims more than the flushes covered (dispatch keeps
//! raising the in-memory value meanwhile). Each queue flushes only the file holding its
//! `flushedWhere`, once per pass, as RocketMQ does. The next sleep starts when every sync of the
//! pass has completed.

use std::collections::BTreeMap;

use super::consume_queue::ConsumeQueue;
use super::message_store_config::MessageStoreConfig;
use super::store_checkpoint::StoreCheckpoint;
use super::store_io::{StoreIo, StoreTimer};
use crate::sim::node::TimerId;
use crate::time::Duration;

/// The ConsumeQueue table: topic → queue id → queue.
pub type ConsumeQueueTable = BTreeMap<String, BTreeMap<i32, ConsumeQueue>>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Idle,
    Sleeping(TimerId),
    Flushing { thorough: bool, logics_msg_timestamp: i64 },
}

#[derive(Clone, Debug)]
pub(crate) struct FlushConsumeQueueService {
    interval: Duration,
    least_pages: i64,
    thorough_interval_ms: i64,
    last_flush_timestamp: i64,
    state: State,
}

impl FlushConsumeQueueService {
    pub(crate) fn new(config: &MessageStoreConfig) -> Self {
        FlushConsumeQueueService {
            interval: Duration::from_millis(config.flush_interval_consume_queue.into()),
            least_pages: config.flush_consume_queue_least_pages.into(),
            thorough_interval_ms: config.flush_consume_queue_thorough_interval.into(),
            last_flush_timestamp: 0,
            state: State::Idle,
        }
    }

    pub(crate) fn start(&mut self, io: &mut dyn StoreIo) {
        self.state = State::Sleeping(io.set_timer(self.interval, StoreTimer::FlushConsumeQueue));
    }

    pub(crate) fn stop(&mut self, io: &mut dyn StoreIo) {
        if let State::Sleeping(timer) = self.state {
            io.cancel_timer(timer);
        }
        self.state = State::Idle;
    }

    /// `StoreTimer::FlushConsumeQueue` fired: `doFlush(1)`.
    pub(crate) fn on_timer(
        &mut self,
        io: &mut dyn StoreIo,
        table: &mut ConsumeQueueTable,
        checkpoint: &StoreCheckpoint,
    ) {
        if !matches!(self.state, State::Sleeping(_)) {
            return;
        }
        let now_ms = io.now_ms();
        let mut least_pages = self.least_pages;
        let mut logics_msg_timestamp = 0;
        if now_ms >= self.last_flush_timestamp + self.thorough_interval_ms {
            self.last_flush_timestamp = now_ms;
            least_pages = 0;
            logics_msg_timestamp = checkpoint.logics_msg_timestamp;
        }
        for queues in table.values_mut() {
            for queue in queues.values_mut() {
                queue.queue.flush(io, least_pages);
            }
        }
        self.state = State::Flushing { thorough: least_pages == 0, logics_msg_timestamp };
    }

    /// Finish the pass once no queue has a sync in flight: for a thorough pass, write the checkpoint.
    pub(crate) fn poll(
        &mut self,
        io: &mut dyn StoreIo,
        table: &ConsumeQueueTable,
        checkpoint: &mut StoreCheckpoint,
        checkpoint_path: &str,
    ) {
        let State::Flushing { thorough, logics_msg_timestamp } = self.state else { return };
        if table.values().flat_map(|queues| queues.values()).any(|queue| queue.queue.flush_in_flight.is_some()) {
            return;
        }
        if thorough {
            if logics_msg_timestamp > 0 {
                checkpoint.logics_msg_timestamp = logics_msg_timestamp;
            }
            checkpoint.flush(io, checkpoint_path);
        }
        self.start(io);
    }
}
