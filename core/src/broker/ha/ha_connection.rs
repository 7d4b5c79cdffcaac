//! The master side of 4.9 HA: `HAService` (accepting slaves, `push2SlaveMaxOffset`) and one
//! `HAConnection` per slave with its read and write services (`store/ha/HAService.java`,
//! `store/ha/HAConnection.java`, RocketMQ 4.9.8).
//!
//! * **Accept**: a slave's connect ([`HaFrame::Connect`]) creates a connection; `connectionCount`
//!   goes up (SYNC_MASTER's `isSlaveOK` needs at least one).
//! * **Read** (`ReadSocketService`): each 8-byte report sets `slaveAckOffset`; the first one also sets
//!   `slaveRequestOffset`, where the transfer starts. A later report beyond the master's max offset (the
//!   slave has data the master lost) closes the connection. Every report goes to `notifyTransferSome`,
//!   which raises `push2SlaveMaxOffset` and wakes the puts waiting in `GroupTransferService`. Nothing
//!   read for `haHousekeepingInterval` (20 s) closes the connection.
//! * **Write** (`WriteSocketService`): from `slaveRequestOffset` (0 = the start of the master's last
//!   CommitLog file), frames of at most `haTransferBatchSize` (32 KiB) raw CommitLog bytes, never across
//!   a file; when idle for `haSendHeartbeatInterval` (5 s) a header with size 0. With nothing to send it
//!   waits 100 ms (`allWaitForRunning(100)`) or until a SYNC_MASTER put wakes it (`wakeupAll`).
//!
//! Modelling choices: the 100 ms waits are computed, not polled (a wake is scheduled on the 100 ms grid
//! only when there is something to do: new data or a heartbeat), which gives the same frames at the
//! same instants as the loop. TCP flow control is a window: at most [`TRANSFER_WINDOW_BYTES`] sent and
//! not yet acknowledged by a report (a socket's send buffer plus the slave's receive buffer).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::broker::store::default_message_store::DefaultMessageStore;
use crate::protocol::ha::{FrameBody, HaFrame};
use crate::sim::disk::NodeDisk;
use crate::sim::node::{NodeId, TimerId};
use crate::time::{Duration, Time};

/// Bytes a master may have sent that the slave has not acknowledged yet (flow control).
pub const TRANSFER_WINDOW_BYTES: i64 = 256 * 1024;
/// `allWaitForRunning(100)`: the write service's wait when it has nothing to send.
pub const WRITE_IDLE_WAIT: Duration = Duration::from_millis(100);

/// One slave connection, master side.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HaConnection {
    pub slave: NodeId,
    pub accepted_at: Time,
    /// Where the slave asked to start (-1 until its first report).
    pub slave_request_offset: i64,
    /// The slave's last report (-1 until its first report).
    pub slave_ack_offset: i64,
    /// Where the next frame starts (-1 until the transfer started).
    pub next_transfer_from_where: i64,
    pub last_write: Time,
    pub last_read: Time,
    /// When the write service last found nothing to send (its 100 ms waits are counted from here).
    pub idle_since: Option<Time>,
    #[serde(skip)]
    pub(crate) write_timer: Option<(TimerId, Time)>,
    #[serde(skip)]
    pub(crate) housekeeping_timer: Option<TimerId>,
    pub frames_sent: u64,
    pub bytes_sent: u64,
    /// Bumped at each accept, so a timer of an earlier connection of the same slave is void.
    pub generation: u32,
}

/// What the write service did in one run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pumped {
    pub frames: Vec<HaFrame>,
    /// When it wants to run again (None: only an event wakes it: a report, a put).
    pub wake_at: Option<Time>,
}

impl HaConnection {
    pub fn new(slave: NodeId, now: Time, generation: u32) -> Self {
        HaConnection {
            slave,
            accepted_at: now,
            slave_request_offset: -1,
            slave_ack_offset: -1,
            next_transfer_from_where: -1,
            last_write: now,
            last_read: now,
            idle_since: None,
            write_timer: None,
            housekeeping_timer: None,
            frames_sent: 0,
            bytes_sent: 0,
            generation,
        }
    }

    /// `ReadSocketService.processReadEvent` for one report. Returns false when the connection must close
    /// (the slave claims more than the master has).
    pub fn on_report(&mut self, offset: i64, now: Time, master_max_offset: i64) -> bool {
        self.last_read = now;
        self.slave_ack_offset = offset;
        if self.slave_request_offset < 0 {
            self.slave_request_offset = offset;
        } else if offset > master_max_offset {
            return false;
        }
        true
    }

    /// Bytes sent and not acknowledged.
    fn unacknowledged(&self) -> i64 {
        self.next_transfer_from_where - self.slave_ack_offset.max(self.slave_request_offset)
    }

    /// One run of `WriteSocketService`: a heartbeat if due, then frames while there is data and room.
    pub fn pump(&mut self, store: &DefaultMessageStore, disk: &NodeDisk, now: Time, config: &HaTiming) -> Pumped {
        let mut out = Pumped::default();
        if self.slave_request_offset < 0 {
            return out;
        }
        if self.next_transfer_from_where < 0 {
            self.next_transfer_from_where = if self.slave_request_offset == 0 {
                let max = store.max_phy_offset();
                (max - max % store.commit_log().mapped_file_size()).max(0)
            } else {
                self.slave_request_offset
            };
        }
        if now.saturating_since(self.last_write) > config.heartbeat_interval {
            out.frames.push(HaFrame::Transfer { offset: self.next_transfer_from_where, body: FrameBody::default() });
            self.last_write = now;
        }
        let mut sent_data = false;
        let mut blocked = false;
        loop {
            if self.unacknowledged() >= TRANSFER_WINDOW_BYTES {
                blocked = true;
                break;
            }
            let Some(bytes) = read_commit_log(store, disk, self.next_transfer_from_where, config.batch_size) else {
                break;
            };
            let offset = self.next_transfer_from_where;
            self.next_transfer_from_where += bytes.len() as i64;
            self.frames_sent += 1;
            self.bytes_sent += bytes.len() as u64;
            out.frames.push(HaFrame::Transfer { offset, body: FrameBody::new(bytes) });
            self.last_write = now;
            sent_data = true;
        }
        if blocked {
            // The next report makes room.
            self.idle_since = None;
            return out;
        }
        if sent_data || self.idle_since.is_none() {
            self.idle_since = Some(now);
        }
        out.wake_at = Some(self.next_heartbeat_tick(now, config));
        out
    }

    /// The first tick of the 100 ms wait grid after `now` (new data for an ASYNC_MASTER).
    pub fn next_tick_after(&self, now: Time) -> Time {
        let origin = self.idle_since.unwrap_or(now);
        let step = WRITE_IDLE_WAIT.as_micros();
        let elapsed = now.saturating_since(origin).as_micros();
        origin + Duration(step * (elapsed / step + 1))
    }

    /// The first tick of the wait grid at which a heartbeat is due (`now - lastWrite > interval`).
    fn next_heartbeat_tick(&self, now: Time, config: &HaTiming) -> Time {
        let origin = self.idle_since.unwrap_or(now);
        let due = self.last_write + config.heartbeat_interval + Duration(1);
        let step = WRITE_IDLE_WAIT.as_micros();
        let since = due.saturating_since(origin).as_micros();
        let ticks = since.div_ceil(step).max(1);
        origin + Duration(step * ticks)
    }
}

/// The HA knobs of `MessageStoreConfig`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HaTiming {
    pub heartbeat_interval: Duration,
    pub housekeeping_interval: Duration,
    pub batch_size: u32,
}

impl HaTiming {
    pub fn of(store: &DefaultMessageStore) -> Self {
        let config = store.config();
        HaTiming {
            heartbeat_interval: Duration::from_millis(config.ha_send_heartbeat_interval.into()),
            housekeeping_interval: Duration::from_millis(config.ha_housekeeping_interval.into()),
            batch_size: config.ha_transfer_batch_size,
        }
    }
}

/// `getCommitLogData(offset)` capped at `max` bytes: what is readable from `offset` to the end of its
/// file. None when nothing is.
pub fn read_commit_log(store: &DefaultMessageStore, disk: &NodeDisk, offset: i64, max: u32) -> Option<Vec<u8>> {
    let queue = store.commit_log().mapped_file_queue();
    let index = queue.find_by_offset(offset, offset == 0)?;
    let file = &queue.files()[index];
    let position = offset - file.file_from_offset();
    let readable = file.read_position();
    if position < 0 || position >= readable {
        return None;
    }
    let len = (readable - position).min(i64::from(max)) as usize;
    let mut out = vec![0u8; len];
    file.read(disk, position, &mut out);
    Some(out)
}

/// `HAService`, master side: the connections and `push2SlaveMaxOffset`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct HaService {
    pub connections: BTreeMap<NodeId, HaConnection>,
    pub push_to_slave_max_offset: i64,
    pub accepted: u64,
    pub closed: u64,
    next_generation: u32,
}

impl HaService {
    /// `AcceptSocketService`: a new connection from `slave`.
    pub fn accept(&mut self, slave: NodeId, now: Time) -> &mut HaConnection {
        self.next_generation = self.next_generation.wrapping_add(1);
        self.accepted += 1;
        let connection = HaConnection::new(slave, now, self.next_generation);
        self.connections.insert(slave, connection);
        self.connections.get_mut(&slave).expect("just inserted")
    }

    /// `notifyTransferSome`: only ever raises the max.
    pub fn notify_transfer_some(&mut self, offset: i64) {
        self.push_to_slave_max_offset = self.push_to_slave_max_offset.max(offset);
    }

    pub fn connection_count(&self) -> u32 {
        self.connections.len() as u32
    }

    /// Each connected slave's acknowledged offset (the 5.x rule counts them one by one).
    pub fn ack_offsets(&self) -> Vec<i64> {
        self.connections.values().map(|c| c.slave_ack_offset).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timing() -> HaTiming {
        HaTiming {
            heartbeat_interval: Duration::from_secs(5),
            housekeeping_interval: Duration::from_secs(20),
            batch_size: 32 * 1024,
        }
    }

    #[test]
    fn the_first_report_sets_where_the_transfer_starts_and_a_later_one_beyond_the_master_closes() {
        let mut c = HaConnection::new(NodeId(1), Time::ZERO, 1);
        assert!(c.on_report(5_000, Time::from_millis(1), 100));
        assert_eq!(c.slave_request_offset, 5_000);
        assert!(!c.on_report(5_000, Time::from_secs(5), 100), "slave ahead of master");
        assert!(c.on_report(90, Time::from_secs(6), 100));
    }

    #[test]
    fn idle_waits_follow_the_100_ms_grid_and_heartbeats_come_after_5_s() {
        let mut c = HaConnection::new(NodeId(1), Time::ZERO, 1);
        c.idle_since = Some(Time::from_millis(30));
        assert_eq!(c.next_tick_after(Time::from_millis(30)), Time::from_millis(130));
        assert_eq!(c.next_tick_after(Time::from_millis(175)), Time::from_millis(230));
        c.last_write = Time::from_millis(30);
        // Due once more than 5 s passed since the last write: the tick at 5.130 s.
        assert_eq!(c.next_heartbeat_tick(Time::from_millis(30), &timing()), Time::from_millis(5_130));
    }
}
