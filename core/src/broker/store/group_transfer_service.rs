//! The store side of SYNC_MASTER: a put waits until a slave has its bytes (`HAService.GroupTransferService`
//! and `CommitLog.submitReplicaRequest`). This is the hook replication plugs into; the HA protocol
//! itself (connections, transfer, acks) lives elsewhere and reports here.
//!
//! On a SYNC_MASTER, a put with WAIT=true asks `isSlaveOK(end offset)`: at least one slave connected
//! and its acknowledged offset (`push2SlaveMaxOffset`) less than `haSlaveFallbehindMax` bytes behind
//! the put's end. If not, the put is answered SLAVE_NOT_AVAILABLE at once (the message is stored). If
//! so, it waits until a slave acknowledges its end offset (PUT_OK) or `slaveTimeout` passes
//! (FLUSH_SLAVE_TIMEOUT). The HA code calls `DefaultMessageStore::on_slave_connections` and
//! `on_replicated` to move this state.
//!
//! 5.x rule (`haVersion = "5.x"`, and controller mode): a put waits for `need_ack_nums`
//! acknowledgements counting the master itself, each slave's own acknowledged offset
//! (`slave_ack_offsets`, kept current by the HA code through `on_replica_acks`); with one needed it does
//! not wait at all, and SLAVE_NOT_AVAILABLE is never produced.

use super::put_message_result::{PutMessageStatus, PutTicket};
use crate::time::Time;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TransferRequest {
    pub(crate) ticket: PutTicket,
    pub(crate) next_offset: i64,
    pub(crate) deadline: Time,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct GroupTransferService {
    /// Slaves currently connected (`connectionCount`).
    pub(crate) slave_connections: u32,
    /// The highest offset a slave acknowledged (`push2SlaveMaxOffset`).
    pub(crate) push_to_slave_max_offset: i64,
    pub(crate) requests: Vec<TransferRequest>,
    /// 5.x: acknowledgements a put needs, the master included (None = the 4.9 rule).
    pub(crate) need_ack_nums: Option<u32>,
    /// 5.x: the acknowledged offset of each slave that counts (in-sync slaves in controller mode).
    pub(crate) slave_ack_offsets: Vec<i64>,
}

impl GroupTransferService {
    /// `isSlaveOK(masterPutWhere)`.
    pub(crate) fn is_slave_ok(&self, master_put_where: i64, fallbehind_max: u64) -> bool {
        self.slave_connections > 0
            && master_put_where.saturating_sub(self.push_to_slave_max_offset)
                < i64::try_from(fallbehind_max).unwrap_or(i64::MAX)
    }

    /// 5.x: whether `next_offset` has its acknowledgements (the master counts as one).
    pub(crate) fn has_enough_acks(&self, next_offset: i64, need: u32) -> bool {
        let slaves = self.slave_ack_offsets.iter().filter(|acked| **acked >= next_offset).count() as u32;
        1 + slaves >= need
    }

    /// A slave acknowledged `offset`: answer the requests it covers.
    pub(crate) fn on_replicated(&mut self, offset: i64) -> Vec<(PutTicket, PutMessageStatus)> {
        self.push_to_slave_max_offset = self.push_to_slave_max_offset.max(offset);
        let acked = self.push_to_slave_max_offset;
        let mut answered = Vec::new();
        let need = self.need_ack_nums;
        let acks = std::mem::take(&mut self.slave_ack_offsets);
        let probe = GroupTransferService { slave_ack_offsets: acks, ..GroupTransferService::default() };
        self.requests.retain(|request| {
            let done = match need {
                None => acked >= request.next_offset,
                Some(need) => probe.has_enough_acks(request.next_offset, need),
            };
            if done {
                answered.push((request.ticket, PutMessageStatus::PutOk));
            }
            !done
        });
        self.slave_ack_offsets = probe.slave_ack_offsets;
        answered
    }

    pub(crate) fn expire(&mut self, now: Time) -> Vec<(PutTicket, PutMessageStatus)> {
        let mut expired = Vec::new();
        self.requests.retain(|request| {
            let late = request.deadline <= now;
            if late {
                expired.push((request.ticket, PutMessageStatus::FlushSlaveTimeout));
            }
            !late
        });
        expired
    }

    pub(crate) fn earliest_deadline(&self) -> Option<Time> {
        self.requests.iter().map(|request| request.deadline).min()
    }
}
