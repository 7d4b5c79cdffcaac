//! The transaction family of requests (4.9.8): END_TRANSACTION (37, producer → broker, oneway) and
//! CHECK_TRANSACTION_STATE (39, broker → producer, oneway).
//!
//! `EndTransactionRequestHeader` names the half message by its CommitLog offset and its queue offset in
//! `RMQ_SYS_TRANS_HALF_TOPIC` (`tranStateTableOffset`), says COMMIT, ROLLBACK or "not type" (UNKNOW) in
//! `commitOrRollback` (the transaction bits of `MessageSysFlag`), and whether it answers a check.
//! CHECK_TRANSACTION_STATE carries the half message itself (RocketMQ encodes it with
//! `MessageDecoder.encode`; it travels decoded here, with its real topic and queue restored).

use serde::{Deserialize, Serialize};

use crate::protocol::consumer::MessageExt;

/// `EndTransactionRequestHeader`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndTransactionRequestHeader {
    pub producer_group: String,
    /// The half message's queue offset in `RMQ_SYS_TRANS_HALF_TOPIC`.
    pub tran_state_table_offset: i64,
    /// The half message's CommitLog offset.
    pub commit_log_offset: i64,
    /// `MessageSysFlag.TRANSACTION_COMMIT_TYPE` (8), `TRANSACTION_ROLLBACK_TYPE` (12) or
    /// `TRANSACTION_NOT_TYPE` (0, the producer does not know).
    pub commit_or_rollback: i32,
    /// True when the producer answers a CHECK_TRANSACTION_STATE.
    pub from_transaction_check: bool,
    /// The message's UNIQ_KEY.
    pub msg_id: String,
    pub transaction_id: Option<String>,
}

/// `CheckTransactionStateRequestHeader`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckTransactionStateRequestHeader {
    pub tran_state_table_offset: i64,
    pub commit_log_offset: i64,
    /// The UNIQ_KEY.
    pub msg_id: String,
    pub transaction_id: String,
    /// The offset message id of the half message copy being checked.
    pub offset_msg_id: String,
}

/// Requests of the transaction family (inside `Request::Transaction`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TransactionRequest {
    /// END_TRANSACTION (37); `remark` says why the local transaction threw, if it did.
    EndTransaction { header: EndTransactionRequestHeader, remark: Option<String> },
    /// CHECK_TRANSACTION_STATE (39), with the half message (real topic and queue restored).
    CheckTransactionState { header: CheckTransactionStateRequestHeader, message: Box<MessageExt> },
}

impl TransactionRequest {
    /// RocketMQ's `RequestCode` value.
    pub fn code(&self) -> i32 {
        match self {
            TransactionRequest::EndTransaction { .. } => 37,
            TransactionRequest::CheckTransactionState { .. } => 39,
        }
    }

    pub fn code_name(&self) -> &'static str {
        match self {
            TransactionRequest::EndTransaction { .. } => "END_TRANSACTION",
            TransactionRequest::CheckTransactionState { .. } => "CHECK_TRANSACTION_STATE",
        }
    }
}

/// `LocalTransactionState`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LocalTransactionState {
    CommitMessage,
    RollbackMessage,
    Unknow,
}

impl LocalTransactionState {
    /// The `commitOrRollback` value END_TRANSACTION carries for this state.
    pub fn commit_or_rollback(self) -> i32 {
        use crate::broker::store::message_sys_flag::{
            TRANSACTION_COMMIT_TYPE, TRANSACTION_NOT_TYPE, TRANSACTION_ROLLBACK_TYPE,
        };
        match self {
            LocalTransactionState::CommitMessage => TRANSACTION_COMMIT_TYPE,
            LocalTransactionState::RollbackMessage => TRANSACTION_ROLLBACK_TYPE,
            LocalTransactionState::Unknow => TRANSACTION_NOT_TYPE,
        }
    }

    /// RocketMQ's constant name.
    pub fn name(self) -> &'static str {
        match self {
            LocalTransactionState::CommitMessage => "COMMIT_MESSAGE",
            LocalTransactionState::RollbackMessage => "ROLLBACK_MESSAGE",
            LocalTransactionState::Unknow => "UNKNOW",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_commit_or_rollback_values_are_rocketmqs() {
        assert_eq!(LocalTransactionState::CommitMessage.commit_or_rollback(), 8);
        assert_eq!(LocalTransactionState::RollbackMessage.commit_or_rollback(), 12);
        assert_eq!(LocalTransactionState::Unknow.commit_or_rollback(), 0);
        let header = EndTransactionRequestHeader {
            producer_group: "G".into(),
            tran_state_table_offset: 0,
            commit_log_offset: 0,
            commit_or_rollback: 8,
            from_transaction_check: false,
            msg_id: "M".into(),
            transaction_id: None,
        };
        assert_eq!(TransactionRequest::EndTransaction { header, remark: None }.code(), 37);
    }
}
