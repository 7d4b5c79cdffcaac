//! The slave side of 4.9 HA: `HAClient` (`store/ha/HAService.java`, RocketMQ 4.9.8).
//!
//! The client learns the master's HA address from the NameServer's answer to its registration
//! (`updateMasterAddress`; `updateMasterHAServerAddrPeriodically` is on when `haMasterAddress` is not
//! configured, which a scenario never does). Its loop:
//!
//! * not connected: connect to the master and report the local max offset at once; without an address,
//!   or when the connect is refused, wait 5 s;
//! * connected: report the offset when more than `haSendHeartbeatInterval` (5 s) passed since the last
//!   write; for each frame read, check that it starts at the local max offset (when the local log is not
//!   empty; else the connection is closed), append its bytes verbatim (`appendToCommitLog`, so the slave's
//!   CommitLog holds the master's bytes at the same offsets and its own dispatch builds its ConsumeQueues),
//!   and report again if the max offset grew;
//! * housekeeping: nothing *written* for 20 s closes the connection (4.9 measures its own writes, so with
//!   a report every 5 s this never fires; a master that lost power is not noticed until it comes back).
//!
//! A closed connection is reopened at once (the loop's next turn), unless it closed before anything
//! arrived (a refused connect): then the client waits 5 s.

use serde::Serialize;

use crate::sim::node::{NodeId, TimerId};
use crate::time::{Duration, Time};

/// `waitForRunning(1000 * 5)`: the loop's wait when it cannot connect.
pub const RECONNECT_WAIT: Duration = Duration::from_secs(5);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum ClientState {
    /// No socket.
    Idle,
    /// Connected to the master's node; `received` once a frame came.
    Connected { master: NodeId, since: Time, received: bool },
    /// `closeMaster` was called; waiting for the close to be noticed before reconnecting.
    Closing { master: NodeId },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HaClient {
    /// `masterAddress`: the master's HA address (`ip:10912`).
    pub master_address: Option<String>,
    pub state: ClientState,
    /// `currentReportedOffset`.
    pub current_reported_offset: i64,
    pub last_write: Time,
    #[serde(skip)]
    pub(crate) timer: Option<(TimerId, Time)>,
    pub generation: u32,
    pub frames_received: u64,
    pub bytes_received: u64,
    pub connects: u64,
    /// The end of the last frame's data (what the master had sent so far).
    pub master_offset_seen: i64,
    pub last_frame_at: Option<Time>,
}

impl Default for HaClient {
    fn default() -> Self {
        HaClient {
            master_address: None,
            state: ClientState::Idle,
            current_reported_offset: 0,
            last_write: Time::ZERO,
            timer: None,
            generation: 0,
            frames_received: 0,
            bytes_received: 0,
            connects: 0,
            master_offset_seen: 0,
            last_frame_at: None,
        }
    }
}

impl HaClient {
    /// `updateMasterAddress`.
    pub fn update_master_address(&mut self, address: &str) {
        if self.master_address.as_deref() != Some(address) {
            self.master_address = Some(address.to_string());
        }
    }

    pub fn master(&self) -> Option<NodeId> {
        match self.state {
            ClientState::Connected { master, .. } => Some(master),
            _ => None,
        }
    }

    /// `isTimeToReportOffset`.
    pub fn is_time_to_report(&self, now: Time, interval: Duration) -> bool {
        now.saturating_since(self.last_write) > interval
    }

    /// The frame's check: a non-empty slave only accepts data that continues its log.
    pub fn accepts(slave_max_offset: i64, frame_offset: i64) -> bool {
        slave_max_offset == 0 || slave_max_offset == frame_offset
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_slave_takes_any_start_and_a_non_empty_one_only_its_end() {
        assert!(HaClient::accepts(0, 1_073_741_824));
        assert!(HaClient::accepts(500, 500));
        assert!(!HaClient::accepts(500, 400));
    }

    #[test]
    fn reports_are_due_strictly_after_the_interval() {
        let client = HaClient { last_write: Time::from_secs(1), ..HaClient::default() };
        assert!(!client.is_time_to_report(Time::from_secs(6), Duration::from_secs(5)));
        assert!(client.is_time_to_report(Time::from_millis(6_001), Duration::from_secs(5)));
    }
}
