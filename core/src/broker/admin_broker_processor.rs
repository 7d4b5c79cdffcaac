//! Operator actions on a broker, as `mqadmin` drives them through `AdminBrokerProcessor` (4.9.8).
//!
//! * **Reset offset** (`mqadmin resetOffsetByTime`, INVOKE_BROKER_TO_RESET_OFFSET →
//!   `Broker2Client.resetOffset`): for each queue of the topic on this broker, the target is the max
//!   offset (timestamp −1, "latest") or `getOffsetInQueueByTime` (timestamp 0 is "earliest"); with
//!   `force` (mqadmin's default) the target is taken, otherwise only if it is below the group's offset.
//!   A queue the group has no offset for aborts with SYSTEM_ERROR "THe consumer group <G> not exist".
//!   The table goes to every online consumer of the group as RESET_CONSUMER_CLIENT_OFFSET (oneway); each
//!   client drops its process queues of the topic, waits 10 s, stores and persists the new offsets and
//!   rebalances them back. With no consumer online the broker answers CONSUMER_NOT_ONLINE and mqadmin
//!   falls back to writing the offsets itself (`ResetOffsetByTimeOldCommand`): we commit them here.
//! * **Change a topic's queue numbers** (`mqadmin updateTopic -r R -w W`, UPDATE_AND_CREATE_TOPIC):
//!   the topic config is replaced (perm kept), persisted, and registered with the NameServers at once;
//!   producers and consumers see it at their next route refresh (30 s), consumers rebalance then.
//! * **Change the broker's permission live** (`mqadmin updateBrokerConfig -k brokerPermission -v N`,
//!   UPDATE_BROKER_CONFIG): the broker takes the new value, bumps its topic data version and registers
//!   with every NameServer at once, each topic's perm ANDed with it (`perm 4` = read only: producers
//!   stop writing here at their next route refresh while consumers drain it). The value is persisted as
//!   `Configuration.persist()` does, into the broker's config file (`config/broker.properties` on the
//!   broker's disk, written into the page cache without a sync, as `MixAll.string2File`): a restarted
//!   broker keeps it; a lost disk, or a power loss before the page cache wrote the file back, forgets it.

use serde::{Deserialize, Serialize};

use crate::broker::controller::BrokerController;
use crate::message_queue::MessageQueue;
use crate::observation::Observation;
use crate::protocol::consumer::ConsumerRequest;
use crate::protocol::{Message, Request};
use crate::route::TopicConfig;
use crate::world::Ctx;

/// An `mqadmin` command aimed at one broker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AdminAction {
    /// `resetOffsetByTime -g group -t topic -s timestamp [-f force]`; timestamp −1 = latest, 0 = earliest.
    ResetOffset { group: String, topic: String, timestamp: i64, force: bool },
    /// `updateTopic -t topic -r read -w write`.
    UpdateTopic { topic: String, read_queue_nums: u32, write_queue_nums: u32 },
    /// `updateBrokerConfig -k brokerPermission -v N`.
    UpdateBrokerPermission { broker_permission: u32 },
}

/// The broker settings the sandbox lets an operator change live, RocketMQ's spelling.
pub const LIVE_BROKER_KEYS: [&str; 1] = ["brokerPermission"];

/// The broker's config file, which `updateBrokerConfig` rewrites (`BrokerPathConfigHelper`'s path; a broker
/// started with `-c broker.conf` reads it back at its next start).
pub const BROKER_CONFIG_PATH: &str = "config/broker.properties";

/// Read `key = value` for `updateBrokerConfig`, or say which of the two is wrong.
pub fn parse_live_broker_config(key: &str, value: &str) -> Result<u32, crate::consumer::live::FieldError> {
    use crate::consumer::live::FieldError;
    if key != "brokerPermission" {
        return Err(FieldError {
            field: "key",
            message: format!(
                "`{key}` is not a broker setting the sandbox changes live; choose one of {}",
                LIVE_BROKER_KEYS.join(", ")
            ),
        });
    }
    match value.trim().parse::<u32>() {
        Ok(p @ (2 | 4 | 6)) => Ok(p),
        _ => Err(FieldError {
            field: "value",
            message: "brokerPermission must be 6 (read and write), 4 (read only) or 2 (write only)".into(),
        }),
    }
}

impl BrokerController {
    pub(crate) fn on_admin_action(&mut self, action: AdminAction, ctx: &mut Ctx<'_>) {
        match action {
            AdminAction::ResetOffset { group, topic, timestamp, force } => {
                self.reset_offset(&group, &topic, timestamp, force, ctx)
            }
            AdminAction::UpdateTopic { topic, read_queue_nums, write_queue_nums } => {
                let mut config = self
                    .topic_config_manager
                    .select_topic_config(&topic)
                    .cloned()
                    .unwrap_or_else(|| TopicConfig::with_queues(&topic, read_queue_nums, 6));
                config.read_queue_nums = read_queue_nums;
                config.write_queue_nums = write_queue_nums;
                self.topic_config_manager.topic_config_table.insert(topic.clone(), config);
                self.topic_config_manager.next_version(ctx.now().as_millis());
                ctx.observe(Observation::TopicUpdated { topic, read_queue_nums, write_queue_nums });
                self.persist_topics(ctx);
                self.register_broker_all(ctx);
            }
            AdminAction::UpdateBrokerPermission { broker_permission } => {
                self.spec.config.broker_permission = broker_permission;
                self.persist_broker_config(ctx);
                self.topic_config_manager.next_version(ctx.now().as_millis());
                self.register_broker_all(ctx);
            }
        }
    }

    /// `Configuration.persist()`: the settings changed live, as properties, into the page cache (no sync).
    fn persist_broker_config(&mut self, ctx: &mut Ctx<'_>) {
        let text = format!("brokerPermission={}\n", self.spec.config.broker_permission);
        let file = ctx.open_file(BROKER_CONFIG_PATH);
        ctx.truncate(file, 0);
        ctx.write(file, 0, text.as_bytes());
    }

    /// At start: the live settings the config file kept override the configured ones. A line that does not
    /// parse is skipped (the broker starts from its configured value, as with a missing file).
    pub(crate) fn load_broker_config(&mut self, ctx: &mut Ctx<'_>) {
        let Some(file) = ctx.disk().lookup(BROKER_CONFIG_PATH) else { return };
        let bytes = ctx.disk().read_vec(file, 0, ctx.disk().len(file));
        for line in String::from_utf8_lossy(&bytes).lines() {
            let Some((key, value)) = line.split_once('=') else { continue };
            if let Ok(permission) = parse_live_broker_config(key.trim(), value) {
                self.spec.config.broker_permission = permission;
            }
        }
    }

    /// `Broker2Client.resetOffset` (with mqadmin's fallback when nobody is online).
    fn reset_offset(&mut self, group: &str, topic: &str, timestamp: i64, force: bool, ctx: &mut Ctx<'_>) {
        let Some(topic_config) = self.topic_config_manager.select_topic_config(topic).cloned() else {
            ctx.observe(Observation::OffsetResetRefused {
                group: group.to_string(),
                topic: topic.to_string(),
                reason: format!("[reset-offset] reset offset failed, no topic in this broker. topic={topic}"),
            });
            return;
        };
        let broker_name = self.spec.broker_name.clone();
        let mut offset_table = Vec::new();
        for queue_id in 0..topic_config.write_queue_nums as i32 {
            let consumer_offset = self.consumer_services.consumer_offset_manager.query_offset(group, topic, queue_id);
            if consumer_offset == -1 {
                ctx.observe(Observation::OffsetResetRefused {
                    group: group.to_string(),
                    topic: topic.to_string(),
                    reason: format!("THe consumer group <{group}> not exist"),
                });
                return;
            }
            let mut target = if timestamp == -1 {
                self.store.get_max_offset_in_queue(topic, queue_id).0
            } else {
                self.store.get_offset_in_queue_by_time(ctx.disk(), topic, queue_id, timestamp).0
            };
            if target < 0 {
                target = 0;
            }
            let offset = if force || target < consumer_offset { target } else { consumer_offset };
            offset_table.push((MessageQueue::new(topic, &broker_name, queue_id), offset));
        }
        let channels = self
            .consumer_services
            .consumer_manager
            .get_consumer_group_info(group)
            .map(|g| g.get_all_channel())
            .unwrap_or_default();
        let online = !channels.is_empty();
        if online {
            for channel in channels {
                let request = ConsumerRequest::ResetConsumerClientOffset {
                    topic: topic.to_string(),
                    group: group.to_string(),
                    timestamp,
                    offset_table: offset_table.clone(),
                };
                ctx.send(channel, Message::Oneway { request: Request::Consumer(Box::new(request)) });
            }
        } else {
            for (mq, offset) in &offset_table {
                self.commit_consumer_offset(group, topic, mq.queue_id, *offset, ctx);
            }
        }
        ctx.observe(Observation::OffsetReset {
            group: group.to_string(),
            topic: topic.to_string(),
            offsets: offset_table.iter().map(|(mq, o)| (mq.clone(), *o)).collect(),
            consumers_online: online,
        });
    }
}
