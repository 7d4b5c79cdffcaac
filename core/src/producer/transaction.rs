//! `TransactionMQProducer` (4.9.8 `DefaultMQProducerImpl.sendMessageInTransaction`, `endTransaction`,
//! `checkTransactionState`) and the application's local transaction, as a scenario describes it.
//!
//! Sending: the message gets `TRAN_MSG=true` and `PGROUP=<group>` (a DELAY level is dropped), then goes out
//! as an ordinary sync send with its retries. SEND_OK → the application's local transaction runs on the
//! sending thread (for its drawn duration); FLUSH_DISK_TIMEOUT, FLUSH_SLAVE_TIMEOUT, SLAVE_NOT_AVAILABLE →
//! ROLLBACK at once; a failed send throws before any END_TRANSACTION. The local transaction returns
//! COMMIT_MESSAGE, ROLLBACK_MESSAGE or UNKNOW, and END_TRANSACTION goes **oneway** to the master of the
//! broker that stored the half message (UNKNOW is sent too, as "not type", and the broker ignores it).
//! The `crash` outcome: the local transaction commits, then the process dies before END_TRANSACTION
//! leaves (a process kill; restarted after `restart_after` when given).
//!
//! The application's database. What a local transaction does is drawn per message from the workload's
//! outcome percentages and duration range, as a pure function of the message id (UNIQ_KEY). That makes
//! the database *shared*: any producer of the group — the one that sent, another one, or the sender
//! restarted after a crash — reads the same row when the broker asks (`checkLocalTransaction`). The row
//! becomes visible when the local transaction ends (born time + duration; the sender itself knows exactly);
//! before that a check is answered UNKNOW. A committed (or crashed-after-commit) transaction answers
//! COMMIT_MESSAGE, a rolled-back one ROLLBACK_MESSAGE, an UNKNOW one what `unknown_resolves_to` says (by
//! default commit: the local work did finish; "unknown" keeps answering UNKNOW until the broker gives up).
//!
//! Checks arrive oneway (CHECK_TRANSACTION_STATE) from a broker; a producer of another group, or one
//! without a transaction listener, ignores them (RocketMQ logs "pick transactionCheckListener ... failed").
//! The answer is an END_TRANSACTION with `fromTransactionCheck`, oneway, to the broker that asked.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::broker::broker_store_io::wall_clock_ms;
use crate::broker::store::message_id::decode_message_id;
use crate::broker::store::properties::{
    PROPERTY_DELAY_TIME_LEVEL, PROPERTY_PRODUCER_GROUP, PROPERTY_TRANSACTION_PREPARED,
    PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX,
};
use crate::observation::Observation;
use crate::producer::client::{ProducerClient, ProducerTimer};
use crate::producer::message::Message;
use crate::producer::send_result::{ClientException, SendResult, SendStatus};
use crate::protocol::consumer::MessageExt;
use crate::protocol::transaction::{
    CheckTransactionStateRequestHeader, EndTransactionRequestHeader, LocalTransactionState, TransactionRequest,
};
use crate::protocol::{Message as Remoting, Request};
use crate::scenario::duration::parse_duration;
use crate::sim::node::NodeId;
use crate::time::{Duration, Time};
use crate::world::{Ctx, Timer};

/// What a check finds for a transaction whose local execution returned UNKNOW.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnknownResolution {
    /// The local work did commit: checks answer COMMIT_MESSAGE.
    #[default]
    Commit,
    Rollback,
    /// Never decided: checks answer UNKNOW until the broker discards the message.
    Unknown,
}

/// The `[producers.workload.transaction]` table: a `TransactionMQProducer` application.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransactionSpec {
    /// Percent of local transactions that commit and return COMMIT_MESSAGE.
    #[serde(default = "hundred")]
    pub commit_percent: u32,
    /// ... that fail and return ROLLBACK_MESSAGE.
    #[serde(default)]
    pub rollback_percent: u32,
    /// ... that return UNKNOW (the outcome is in the database only; see `unknown_resolves_to`).
    #[serde(default)]
    pub unknown_percent: u32,
    /// ... after which the process dies, the local work committed, END_TRANSACTION not sent.
    #[serde(default)]
    pub crash_percent: u32,
    #[serde(default)]
    pub unknown_resolves_to: UnknownResolution,
    /// How long the local transaction runs on the sending thread, e.g. "20ms" (uniform up to
    /// `local_duration_max` when given).
    #[serde(default = "default_local_duration")]
    pub local_duration: String,
    #[serde(default)]
    pub local_duration_max: Option<String>,
    /// After a `crash`, a supervisor restarts the process this much later; it stays down when absent.
    #[serde(default)]
    pub restart_after: Option<String>,
}

fn hundred() -> u32 {
    100
}

fn default_local_duration() -> String {
    "10ms".into()
}

/// What a local transaction does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum LocalOutcome {
    Commit,
    Rollback,
    Unknown,
    Crash,
}

/// The database's row for one transaction: what the application does and for how long.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Fate {
    pub outcome: LocalOutcome,
    pub duration: Duration,
}

impl TransactionSpec {
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let total = u64::from(self.commit_percent)
            + u64::from(self.rollback_percent)
            + u64::from(self.unknown_percent)
            + u64::from(self.crash_percent);
        if total != 100 {
            problems.push(format!(
                "workload.transaction: commit_percent + rollback_percent + unknown_percent + crash_percent = {total}, must be 100"
            ));
        }
        if let Err(e) = parse_duration(&self.local_duration) {
            problems.push(format!("workload.transaction.local_duration: {e}"));
        }
        for (name, value) in [("local_duration_max", &self.local_duration_max), ("restart_after", &self.restart_after)]
        {
            if let Some(Err(e)) = value.as_deref().map(parse_duration) {
                problems.push(format!("workload.transaction.{name}: {e}"));
            }
        }
        if self.local_duration_max.as_deref().and_then(|m| parse_duration(m).ok())
            < parse_duration(&self.local_duration).ok()
            && self.local_duration_max.is_some()
        {
            problems.push("workload.transaction.local_duration_max is shorter than local_duration".into());
        }
        problems
    }

    fn duration_range(&self) -> (u64, u64) {
        let min = parse_duration(&self.local_duration).map_or(0, |d| d.as_micros());
        let max =
            self.local_duration_max.as_deref().and_then(|m| parse_duration(m).ok()).map_or(min, |d| d.as_micros());
        (min, max.max(min))
    }

    /// The database's row for the transaction of message `msg_id` (a pure function of it).
    pub fn fate(&self, msg_id: &str) -> Fate {
        let hash = xxhash_rust::xxh3::xxh3_64_with_seed(msg_id.as_bytes(), 0x7472_616e_7361_6374);
        let bucket = (hash % 100) as u32;
        let outcome = if bucket < self.commit_percent {
            LocalOutcome::Commit
        } else if bucket < self.commit_percent + self.rollback_percent {
            LocalOutcome::Rollback
        } else if bucket < self.commit_percent + self.rollback_percent + self.unknown_percent {
            LocalOutcome::Unknown
        } else {
            LocalOutcome::Crash
        };
        let (min, max) = self.duration_range();
        let duration = min + (hash >> 32) % (max - min + 1);
        Fate { outcome, duration: Duration::from_micros(duration) }
    }

    /// `checkLocalTransaction`'s answer once the row is visible.
    pub fn final_state(&self, outcome: LocalOutcome) -> LocalTransactionState {
        match outcome {
            LocalOutcome::Commit | LocalOutcome::Crash => LocalTransactionState::CommitMessage,
            LocalOutcome::Rollback => LocalTransactionState::RollbackMessage,
            LocalOutcome::Unknown => match self.unknown_resolves_to {
                UnknownResolution::Commit => LocalTransactionState::CommitMessage,
                UnknownResolution::Rollback => LocalTransactionState::RollbackMessage,
                UnknownResolution::Unknown => LocalTransactionState::Unknow,
            },
        }
    }

    pub fn restart_after(&self) -> Option<Duration> {
        self.restart_after.as_deref().and_then(|r| parse_duration(r).ok())
    }
}

/// Timers of the transactional application (inside `ProducerTimer::Transaction`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TransactionTimer {
    /// The local transaction of send `send_id` ends.
    LocalTransactionDone { send_id: u64 },
}

/// A local transaction in progress (the sending thread is busy with it).
#[derive(Clone, Debug)]
struct RunningLocal {
    thread: u32,
    msg_id: String,
    send_result: SendResult,
    fate: Fate,
}

/// Counters for views.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TransactionProducerStats {
    pub half_sent: u64,
    pub committed: u64,
    pub rolled_back: u64,
    pub unknown: u64,
    pub crashed: u64,
    pub checks_answered: u64,
}

/// The transactional side of a producer application.
#[derive(Clone, Debug)]
pub struct TransactionMqProducer {
    pub spec: TransactionSpec,
    group: String,
    /// What this process knows of its own transactions (lost in a crash; the shared database is [`Fate`]).
    running: BTreeMap<u64, RunningLocal>,
    running_ids: BTreeMap<String, Time>,
    pub stats: TransactionProducerStats,
}

impl TransactionMqProducer {
    pub fn new(spec: &TransactionSpec, group: &str) -> Self {
        TransactionMqProducer {
            spec: spec.clone(),
            group: group.to_string(),
            running: BTreeMap::new(),
            running_ids: BTreeMap::new(),
            stats: TransactionProducerStats::default(),
        }
    }

    /// `sendMessageInTransaction` before the send: drop DELAY, mark TRAN_MSG and PGROUP.
    pub fn prepare(&mut self, message: &mut Message) {
        message.properties.remove(PROPERTY_DELAY_TIME_LEVEL);
        message.properties.put(PROPERTY_TRANSACTION_PREPARED, "true");
        message.properties.put(PROPERTY_PRODUCER_GROUP, &self.group);
        self.stats.half_sent += 1;
    }

    /// The half message's send ended. Returns true when the local transaction started (the thread stays
    /// busy until [`TransactionTimer::LocalTransactionDone`]).
    pub fn on_send_completed(
        &mut self,
        send_id: u64,
        thread: u32,
        result: &Option<Result<SendResult, ClientException>>,
        client: &mut ProducerClient,
        ctx: &mut Ctx<'_>,
    ) -> bool {
        let Some(Ok(send_result)) = result else { return false };
        match send_result.send_status {
            SendStatus::SendOk => {
                let msg_id = send_result.msg_id.clone();
                let fate = self.spec.fate(&msg_id);
                self.running_ids.insert(msg_id.clone(), ctx.now());
                self.running.insert(send_id, RunningLocal { thread, msg_id, send_result: send_result.clone(), fate });
                let timer =
                    Timer::Producer(ProducerTimer::Transaction(TransactionTimer::LocalTransactionDone { send_id }));
                ctx.set_timer(fate.duration, timer);
                true
            }
            _ => {
                // FLUSH_DISK_TIMEOUT, FLUSH_SLAVE_TIMEOUT, SLAVE_NOT_AVAILABLE: ROLLBACK without running it.
                self.stats.rolled_back += 1;
                ctx.observe(Observation::LocalTransactionExecuted {
                    producer_group: self.group.clone(),
                    msg_id: send_result.msg_id.clone(),
                    state: LocalTransactionState::RollbackMessage,
                    crashed: false,
                });
                self.end_transaction(send_result, LocalTransactionState::RollbackMessage, client, ctx);
                false
            }
        }
    }

    /// A local transaction ended: END_TRANSACTION, or the crash. Returns the thread to release (None
    /// when the process died).
    pub fn on_timer(&mut self, timer: TransactionTimer, client: &mut ProducerClient, ctx: &mut Ctx<'_>) -> Option<u32> {
        let TransactionTimer::LocalTransactionDone { send_id } = timer;
        let local = self.running.remove(&send_id)?;
        self.running_ids.remove(&local.msg_id);
        let state = match local.fate.outcome {
            LocalOutcome::Commit => LocalTransactionState::CommitMessage,
            LocalOutcome::Rollback => LocalTransactionState::RollbackMessage,
            LocalOutcome::Unknown => LocalTransactionState::Unknow,
            LocalOutcome::Crash => {
                self.stats.crashed += 1;
                ctx.observe(Observation::LocalTransactionExecuted {
                    producer_group: self.group.clone(),
                    msg_id: local.msg_id.clone(),
                    state: LocalTransactionState::CommitMessage,
                    crashed: true,
                });
                ctx.exit(self.spec.restart_after());
                return None;
            }
        };
        match state {
            LocalTransactionState::CommitMessage => self.stats.committed += 1,
            LocalTransactionState::RollbackMessage => self.stats.rolled_back += 1,
            LocalTransactionState::Unknow => self.stats.unknown += 1,
        }
        ctx.observe(Observation::LocalTransactionExecuted {
            producer_group: self.group.clone(),
            msg_id: local.msg_id.clone(),
            state,
            crashed: false,
        });
        self.end_transaction(&local.send_result, state, client, ctx);
        Some(local.thread)
    }

    /// `endTransaction`: END_TRANSACTION oneway to the master of the broker that stored the half.
    fn end_transaction(
        &self,
        send_result: &SendResult,
        state: LocalTransactionState,
        client: &mut ProducerClient,
        ctx: &mut Ctx<'_>,
    ) {
        let Ok(id) = decode_message_id(&send_result.offset_msg_id) else { return };
        let broker_name = &send_result.message_queue.broker_name;
        let Some(addr) = client.broker_addr_table.get(&**broker_name).and_then(|addrs| addrs.get(&0)).cloned() else {
            return;
        };
        let Some(broker) = client.spec.directory.node_of_addr(&addr) else { return };
        let trace = crate::trace::end_transaction_context(
            &self.group,
            &send_result.message_queue.topic,
            &send_result.msg_id,
            None,
            None,
            &addr,
            state,
            false,
            ctx.now(),
        );
        client.trace_append(&trace, ctx);
        let header = EndTransactionRequestHeader {
            producer_group: self.group.clone(),
            tran_state_table_offset: send_result.queue_offset,
            commit_log_offset: id.offset.0,
            commit_or_rollback: state.commit_or_rollback(),
            from_transaction_check: false,
            msg_id: send_result.msg_id.clone(),
            transaction_id: send_result.transaction_id.clone(),
        };
        send_end_transaction(broker, header, ctx);
    }

    /// CHECK_TRANSACTION_STATE from `broker`: answer from the local table, then the shared database.
    pub fn on_check(
        &mut self,
        broker: NodeId,
        header: &CheckTransactionStateRequestHeader,
        message: &MessageExt,
        client: &mut ProducerClient,
        ctx: &mut Ctx<'_>,
    ) {
        let properties =
            crate::broker::store::properties::MessageProperties::from_properties_string(&message.properties);
        if properties.get(PROPERTY_PRODUCER_GROUP) != Some(self.group.as_str()) {
            return; // selectProducer(group) finds no producer of that group in this process
        }
        let msg_id = properties
            .get(PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX)
            .map(str::to_string)
            .unwrap_or_else(|| message.offset_msg_id.clone());
        let state = self.check_local_transaction(&msg_id, message.born_timestamp, ctx.now());
        self.stats.checks_answered += 1;
        ctx.observe(Observation::TransactionCheckAnswered {
            producer_group: self.group.clone(),
            msg_id: msg_id.clone(),
            state,
        });
        let answer = EndTransactionRequestHeader {
            producer_group: self.group.clone(),
            tran_state_table_offset: header.tran_state_table_offset,
            commit_log_offset: header.commit_log_offset,
            commit_or_rollback: state.commit_or_rollback(),
            from_transaction_check: true,
            msg_id,
            transaction_id: Some(header.transaction_id.clone()),
        };
        if client.trace.is_some() {
            let addr = client.spec.directory.entry(broker).addr();
            let trace = crate::trace::end_transaction_context(
                &self.group,
                &message.topic,
                &answer.msg_id,
                properties.tags(),
                properties.get(crate::broker::store::properties::PROPERTY_KEYS),
                &addr,
                state,
                true,
                ctx.now(),
            );
            client.trace_append(&trace, ctx);
        }
        send_end_transaction(broker, answer, ctx);
    }

    /// `checkLocalTransaction`: UNKNOW while the local transaction runs (here, or — by the born time and
    /// the drawn duration — anywhere), else the row's final state.
    pub fn check_local_transaction(&self, msg_id: &str, born_timestamp: i64, now: Time) -> LocalTransactionState {
        if self.running_ids.contains_key(msg_id) {
            return LocalTransactionState::Unknow;
        }
        let fate = self.spec.fate(msg_id);
        let visible_at = born_timestamp + (fate.duration.as_micros() / 1_000) as i64;
        if wall_clock_ms(now) < visible_at {
            return LocalTransactionState::Unknow;
        }
        self.spec.final_state(fate.outcome)
    }
}

fn send_end_transaction(broker: NodeId, header: EndTransactionRequestHeader, ctx: &mut Ctx<'_>) {
    let request = TransactionRequest::EndTransaction { header, remark: None };
    ctx.send(broker, Remoting::Oneway { request: Request::Transaction(Box::new(request)) });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> TransactionSpec {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn fates_follow_the_percentages_and_are_a_function_of_the_message_id() {
        let s = spec("commit_percent = 50\nrollback_percent = 30\nunknown_percent = 10\ncrash_percent = 10\nlocal_duration = \"10ms\"\nlocal_duration_max = \"20ms\"");
        assert!(s.problems().is_empty(), "{:?}", s.problems());
        let mut counts = BTreeMap::new();
        for i in 0..10_000 {
            let fate = s.fate(&format!("0A00000{i:06}"));
            assert!((10_000..=20_000).contains(&fate.duration.as_micros()));
            *counts.entry(format!("{:?}", fate.outcome)).or_insert(0u32) += 1;
        }
        assert!((4_700..5_300).contains(&counts["Commit"]), "{counts:?}");
        assert!((2_700..3_300).contains(&counts["Rollback"]), "{counts:?}");
        assert_eq!(s.fate("X"), s.fate("X"));
    }

    #[test]
    fn percentages_must_add_up_to_100() {
        let s = spec("commit_percent = 50");
        assert!(s.problems()[0].contains("= 50, must be 100"));
        assert!(spec("").problems().is_empty(), "all commit by default");
    }

    #[test]
    fn a_check_before_the_local_transaction_ends_is_unknow_then_the_row_decides() {
        let s = spec(
            "commit_percent = 0\nunknown_percent = 100\nunknown_resolves_to = \"rollback\"\nlocal_duration = \"2s\"",
        );
        let producer = TransactionMqProducer::new(&s, "PG");
        let born = wall_clock_ms(Time::ZERO);
        assert_eq!(producer.check_local_transaction("M", born, Time::from_secs(1)), LocalTransactionState::Unknow);
        assert_eq!(
            producer.check_local_transaction("M", born, Time::from_secs(2)),
            LocalTransactionState::RollbackMessage
        );
    }
}
