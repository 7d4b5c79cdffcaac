//! Route data as RocketMQ names it: TopicConfig, QueueData, BrokerData, TopicRouteData, perms.
//!
//! Shared by the NameServer (which builds routes from broker registrations), brokers (which own
//! topic configs) and clients (which turn routes into publish and subscribe queue lists).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `PermName`: PRIORITY 8, READ 4, WRITE 2, INHERIT 1.
pub mod perm {
    pub const PRIORITY: u32 = 8;
    pub const READ: u32 = 4;
    pub const WRITE: u32 = 2;
    pub const INHERIT: u32 = 1;

    pub fn is_readable(perm: u32) -> bool {
        perm & READ == READ
    }
    pub fn is_writeable(perm: u32) -> bool {
        perm & WRITE == WRITE
    }
    /// RocketMQ's display form, e.g. `RW-` for 6 and `RWX` for 7.
    pub fn to_display(perm: u32) -> String {
        let bit = |flag: u32, c: char| if perm & flag == flag { c } else { '-' };
        [bit(READ, 'R'), bit(WRITE, 'W'), bit(INHERIT, 'X')].iter().collect()
    }
}

/// The broker's configuration of one topic (`TopicConfig`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicConfig {
    pub topic_name: String,
    pub read_queue_nums: u32,
    pub write_queue_nums: u32,
    pub perm: u32,
    pub topic_sys_flag: u32,
    pub order: bool,
}

impl TopicConfig {
    /// A topic with RocketMQ's defaults: 16 read / 16 write queues, perm RW (6).
    pub fn new(name: &str) -> TopicConfig {
        TopicConfig::with_queues(name, 16, 6)
    }

    pub fn with_queues(name: &str, queues: u32, perm: u32) -> TopicConfig {
        TopicConfig {
            topic_name: name.to_string(),
            read_queue_nums: queues,
            write_queue_nums: queues,
            perm,
            topic_sys_flag: 0,
            order: false,
        }
    }
}

/// One broker group's queues of a topic, as the NameServer serves it (`QueueData`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueData {
    pub broker_name: String,
    pub read_queue_nums: u32,
    pub write_queue_nums: u32,
    pub perm: u32,
    pub topic_sys_flag: u32,
}

/// One broker group: its cluster, name, and id → address map (0 is the master) (`BrokerData`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerData {
    pub cluster: String,
    pub broker_name: String,
    pub broker_addrs: BTreeMap<u64, String>,
}

impl BrokerData {
    pub fn master_addr(&self) -> Option<&str> {
        self.broker_addrs.get(&0).map(String::as_str)
    }
}

/// What a client gets for a topic (`TopicRouteData`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicRouteData {
    pub queue_datas: Vec<QueueData>,
    pub broker_datas: Vec<BrokerData>,
}

/// The topic producers fall back to when a topic does not exist yet (`TopicValidator.AUTO_CREATE_TOPIC_KEY_TOPIC`).
pub const AUTO_CREATE_TOPIC_KEY_TOPIC: &str = "TBW102";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perms_display_as_rocketmq_does() {
        assert_eq!(perm::to_display(6), "RW-");
        assert_eq!(perm::to_display(7), "RWX");
        assert_eq!(perm::to_display(4), "R--");
        assert!(perm::is_writeable(6) && !perm::is_writeable(4));
    }
}
