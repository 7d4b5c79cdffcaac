//! Transactional messages on the broker (4.9.8 `broker/transaction/`): half messages, END_TRANSACTION,
//! and the check service that asks producers about transactions nobody finished.
//!
//! * A send with `TRAN_MSG=true` is refused with NO_PERMISSION under `rejectTransactionMessage`, else
//!   stored as a *half* message in `RMQ_SYS_TRANS_HALF_TOPIC` queue 0 ([`bridge`]), invisible to
//!   consumers of the real topic.
//! * END_TRANSACTION ([`end_transaction`]) COMMIT stores the message in its real topic and queue (now
//!   consumable) and writes an *op* message (tag `d`, body = the half's queue offset) to
//!   `RMQ_SYS_TRANS_OP_HALF_TOPIC`; ROLLBACK writes only the op message; UNKNOW (not type) does nothing.
//!   The header must name a half message of the same producer group at that queue offset.
//! * `TransactionalMessageCheckService` ([`check`]) runs every `transactionCheckInterval` (4.9: 60 s,
//!   5.x: 30 s) on masters: it walks the half queue from its consume offset (group `CID_RMQ_SYS_TRANS`),
//!   skipping halves with an op message, and for each half older than `transactionTimeOut` (6 s) appends a
//!   copy with `TRANSACTION_CHECK_TIMES` + 1 and sends CHECK_TRANSACTION_STATE to one producer channel of
//!   the group (round robin over the channels, `ProducerManager.getAvailableChannel`). A half already
//!   checked `transactionCheckMax` (15) times, or older than `fileReservedTime`, is moved to
//!   `TRANS_CHECK_MAX_TIME_TOPIC` instead: at most 15 checks, then never delivered.
//!
//! The check pass is instantaneous in virtual time (RocketMQ's takes milliseconds). Like the delay
//! service, the check timer runs on its Java grid (`start + k × interval`) but is only set while the half
//! queue holds something past its consume offset, so brokers without transactions cost no events.
//!
//! Every step is observed (half stored, END_TRANSACTION received, committed, rolled back, op written,
//! check sent, discarded) for the checkers.

pub mod bridge;
pub mod check;
pub mod end_transaction;

use serde::{Deserialize, Serialize};

use crate::broker::controller::{BrokerController, BrokerTimer};
use crate::broker::send_message_processor::Prepared;
use crate::broker::store::message_id::MessageClientIdSetter;
use crate::broker::store::message_store_config::BrokerRole;
use crate::broker::store::put_message_result::PutMessageResult;
use crate::broker::topic_validator::RMQ_SYS_TRANS_HALF_TOPIC;
use crate::observation::Observation;
use crate::protocol::transaction::TransactionRequest;
use crate::protocol::{Response, ResponseCode};
use crate::sim::node::NodeId;
use crate::time::{Duration, Time};
use crate::world::{Ctx, Timer};

/// The timers of the transaction services (inside `BrokerTimer::Transaction`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TransactionTimer {
    /// `TransactionalMessageCheckService.onWaitEnd`.
    Check,
}

/// Counters for views.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TransactionStats {
    pub half_stored: u64,
    pub end_transactions: u64,
    pub committed: u64,
    pub rolled_back: u64,
    pub unknown_answers: u64,
    pub ops_written: u64,
    pub check_passes: u64,
    pub checks_sent: u64,
    pub checks_without_producer: u64,
    pub discarded: u64,
}

/// The transaction state of one broker incarnation (what RocketMQ keeps in memory; offsets are in the
/// consumer offset table, persisted with it).
#[derive(Clone, Debug, Default)]
pub struct TransactionService {
    /// When the check service started (None: not started, e.g. a slave).
    pub started_at: Option<Time>,
    /// The instant the check timer is set for.
    check_armed: Option<Time>,
    /// `ProducerManager.positiveAtomicCounter`.
    channel_counter: u32,
    /// The broker JVM's `MessageClientIDSetter` (UNIQ_KEYs of op messages), made at first use.
    id_setter: Option<MessageClientIdSetter>,
    pub stats: TransactionStats,
}

fn timer(t: TransactionTimer) -> Timer {
    Timer::Broker(BrokerTimer::Transaction(t))
}

impl BrokerController {
    /// `startProcessorByHa`: the check service runs on masters only. Call after the store and the consumer
    /// offsets are loaded.
    pub(crate) fn start_transaction_service(&mut self, ctx: &mut Ctx<'_>) {
        if self.store.config().broker_role == BrokerRole::Slave {
            return;
        }
        self.transaction.started_at = Some(ctx.now());
        self.arm_transaction_check(ctx);
    }

    pub(crate) fn on_transaction_timer(&mut self, t: TransactionTimer, ctx: &mut Ctx<'_>) {
        match t {
            TransactionTimer::Check => {
                if self.transaction.check_armed != Some(ctx.now()) {
                    return;
                }
                self.transaction.check_armed = None;
                self.transaction_check(ctx);
                self.arm_transaction_check(ctx);
            }
        }
    }

    /// A request of the transaction family arrived.
    pub(crate) fn on_transaction_request(
        &mut self,
        from: NodeId,
        opaque: Option<u32>,
        request: TransactionRequest,
        ctx: &mut Ctx<'_>,
    ) {
        let response = match request {
            TransactionRequest::EndTransaction { header, remark } => self.end_transaction(from, header, remark, ctx),
            // Brokers send checks, they do not answer them.
            other @ TransactionRequest::CheckTransactionState { .. } => Some(Response::error(
                ResponseCode::REQUEST_CODE_NOT_SUPPORTED,
                format!(" request type {} not supported", other.code()),
            )),
        };
        if let (Some(opaque), Some(response)) = (opaque, response) {
            ctx.send(from, crate::protocol::Message::Response { opaque, response });
        }
    }

    /// `SendMessageProcessor`'s transactional branch, applied to a request that passed `msgCheck`: refuse
    /// it (`rejectTransactionMessage`) or turn its record into a half message. Timer messages (the 5.x wheel,
    /// `timer/`) are rewritten here too (`HookUtils.handleScheduleMessage`, for non-transactional records).
    pub(crate) fn prepare_transactional(
        &mut self,
        outcome: Result<Prepared, Response>,
        now: crate::time::Time,
    ) -> Result<Prepared, Response> {
        let mut prepared = outcome?;
        let now_ms = crate::broker::broker_store_io::wall_clock_ms(now);
        for record in prepared.records.iter_mut().filter(|r| !bridge::is_transaction_prepared(r)) {
            self.transform_timer_records(std::slice::from_mut(record), now_ms)?;
        }
        if !prepared.records.iter().any(bridge::is_transaction_prepared) {
            return Ok(prepared);
        }
        if self.spec.config.reject_transaction_message {
            let ip = self.spec.broker_addr.split(':').next().unwrap_or_default();
            return Err(Response::error(
                ResponseCode::NO_PERMISSION,
                format!("the broker[{ip}] sending transaction message is forbidden"),
            ));
        }
        for record in prepared.records.iter_mut().filter(|r| bridge::is_transaction_prepared(r)) {
            bridge::parse_half_message_inner(record);
        }
        Ok(prepared)
    }

    /// After a send's puts: observe the half messages among them and make sure the check service runs; hand
    /// timer messages to the wheel.
    pub(crate) fn on_send_puts(&mut self, prepared: &Prepared, results: &[PutMessageResult], ctx: &mut Ctx<'_>) {
        let mut any = false;
        for (record, result) in prepared.records.iter().zip(results) {
            let Some(append) = &result.append else { continue };
            self.on_timer_record_stored(record, append.wrote_offset, ctx);
            if record.topic != RMQ_SYS_TRANS_HALF_TOPIC {
                continue;
            }
            any = true;
            self.transaction.stats.half_stored += 1;
            let (real_topic, _) = bridge::real_destination(record);
            ctx.observe(Observation::TransactionHalfStored {
                producer_group: bridge::producer_group(record).unwrap_or_default().to_string(),
                msg_id: record.properties.unique_key().unwrap_or_default().to_string(),
                real_topic,
                commit_log_offset: append.wrote_offset.0,
                queue_offset: append.logics_offset.0,
            });
        }
        if any {
            // The half is dispatched to its ConsumeQueue a moment later: arm without looking.
            self.arm_transaction_check_at_next_pass(ctx);
        }
    }

    /// Where the CommitLog actually put `record` (for observations): a delayed record (DELAY > 0, not a
    /// prepared or rollback transaction) goes to SCHEDULE_TOPIC_XXXX, queue = clamped level − 1.
    pub(crate) fn stored_destination(
        &self,
        record: &crate::broker::store::message_record::MessageRecord,
    ) -> (String, i32) {
        use crate::broker::store::message_sys_flag::{
            transaction_value, TRANSACTION_PREPARED_TYPE, TRANSACTION_ROLLBACK_TYPE,
        };
        let level = crate::broker::store::commit_log::delay_time_level(record);
        let transaction = transaction_value(record.sys_flag);
        if level > 0 && transaction != TRANSACTION_PREPARED_TYPE && transaction != TRANSACTION_ROLLBACK_TYPE {
            let level = level.min(self.store.config().delay_level_table().max_delay_level());
            return (
                crate::broker::delay_level::SCHEDULE_TOPIC.to_string(),
                crate::broker::delay_level::delay_level_to_queue_id(level),
            );
        }
        (record.topic.clone(), record.queue_id)
    }

    /// Set the check timer at the next grid point if half messages wait past the check offset.
    pub(crate) fn arm_transaction_check(&mut self, ctx: &mut Ctx<'_>) {
        if self.half_messages_pending() {
            self.arm_transaction_check_at_next_pass(ctx);
        }
    }

    /// Set the check timer at the next grid point (once).
    fn arm_transaction_check_at_next_pass(&mut self, ctx: &mut Ctx<'_>) {
        let Some(started) = self.transaction.started_at else { return };
        if self.transaction.check_armed.is_some() {
            return;
        }
        let interval = Duration::from_millis(self.spec.config.transaction_check_interval.max(1));
        let at = crate::broker::consumer_services::next_on_grid(started + interval, interval, ctx.now());
        self.transaction.check_armed = Some(at);
        ctx.set_timer(at - ctx.now(), timer(TransactionTimer::Check));
    }

    /// Whether a half queue holds messages past the check service's consume offset.
    fn half_messages_pending(&self) -> bool {
        let queues = self
            .topic_config_manager
            .select_topic_config(RMQ_SYS_TRANS_HALF_TOPIC)
            .map_or(1, |c| c.read_queue_nums.max(1));
        (0..queues as i32).any(|queue_id| {
            // The CommitLog's next queue offset counts halves appended but not dispatched yet.
            let max = self.store.commit_log().next_queue_offset(RMQ_SYS_TRANS_HALF_TOPIC, queue_id);
            let offset = self.transaction_consume_offset(RMQ_SYS_TRANS_HALF_TOPIC, queue_id);
            max > offset
        })
    }

    /// `TransactionalMessageBridge.fetchConsumeOffset`: the check service's offset, or the queue's minimum
    /// (0 for a queue that does not exist yet: `findConsumeQueue` creates it in RocketMQ).
    pub(crate) fn transaction_consume_offset(&self, topic: &str, queue_id: i32) -> i64 {
        let offset =
            self.consumer_services.consumer_offset_manager.query_offset(bridge::CID_SYS_RMQ_TRANS, topic, queue_id);
        if offset >= 0 {
            return offset;
        }
        self.store.get_min_offset_in_queue(topic, queue_id).0.max(0)
    }

    /// A UNIQ_KEY from the broker's own id setter.
    pub(crate) fn broker_unique_id(&mut self, now_ms: i64) -> String {
        let setter = self.transaction.id_setter.get_or_insert_with(|| {
            let addr = crate::broker::store::socket_address::SocketAddress::parse(&self.spec.broker_addr)
                .expect("broker addresses are ip:port");
            // The broker JVM's pid and class-loader hash: fixed stand-ins derived from its address.
            let seed = crate::java::string_hash_code(&self.spec.broker_addr);
            MessageClientIdSetter::new(addr.ip, seed & 0x3f_ffff, seed.rotate_left(7), now_ms)
        });
        setter.create_unique_id(now_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_timer_payloads_round_trip_through_serde() {
        let json = serde_json::to_string(&TransactionTimer::Check).unwrap();
        assert_eq!(serde_json::from_str::<TransactionTimer>(&json).unwrap(), TransactionTimer::Check);
    }
}
