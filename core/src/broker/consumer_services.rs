//! The broker's consumer-facing services, as `BrokerController` starts and stops them: the consumer
//! table (`consumer_manager.rs`), consume offsets (`consumer_offset_manager.rs`), long polling
//! (`pull_request_hold_service.rs`), orderly locks (`rebalance_lock_manager.rs`), delayed delivery
//! (`schedule_message_service.rs`), subscription groups, and their periodic tasks:
//!
//! | task | RocketMQ | first run | period |
//! |---|---|---|---|
//! | persist consume offsets | `consumerOffsetManager.persist` | 10 s | `flushConsumerOffsetInterval` 5 s |
//! | scan silent consumers | `ClientHousekeepingService` | 10 s | 10 s |
//! | check held pulls | `PullRequestHoldService.run` | 5 s | 5 s (long) / `shortPollingTimeMills` |
//! | persist delay offsets | `ScheduleMessageService` | 10 s | `flushDelayOffsetInterval` 10 s |
//! | deliver a delay level | `DeliverDelayedMessageTimerTask` | 1 s | 100 ms |
//!
//! Each task runs on the grid a Java thread would follow (`start + first + k × period`), but its timer
//! is only set while it has something to do (a dirty table, a held pull, a registered consumer, a
//! delayed message): the outcome is the same, and a broker nobody consumes from costs no events.
//!
//! `SubscriptionGroupManager` is reduced to what these paths read: with `autoCreateSubscriptionGroup`
//! (default true) every group exists with RocketMQ's defaults (1 retry queue, 16 retries, consume and
//! broadcast enabled, notify on); without it every group is unknown (SUBSCRIPTION_GROUP_NOT_EXIST).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::broker::broker_store_io::BrokerStoreIo;
use crate::broker::consumer_manager::{ConsumerIdsChanged, ConsumerManager};
use crate::broker::consumer_offset_manager::{ConsumerOffsetManager, CONSUMER_OFFSET_JSON_PATH};
use crate::broker::controller::{BrokerController, BrokerTimer};
use crate::broker::delay_level::{DelayLevelTable, SCHEDULE_TOPIC};
use crate::broker::pull_request_hold_service::{PullRequestHoldService, LONG_POLLING_CHECK_INTERVAL_MS};
use crate::broker::rebalance_lock_manager::RebalanceLockManager;
use crate::broker::schedule_message_service::{
    Delivered, ScheduleMessageService, DELAY_OFFSET_JSON_PATH, FLUSH_DELAY_OFFSET_INTERVAL,
};
use crate::broker::store::default_message_store::MessageArrived;
use crate::broker::store::message_store_config::BrokerRole;
use crate::observation::Observation;
use crate::protocol::consumer::ConsumerRequest;
use crate::protocol::{Message, Request};
use crate::sim::node::NodeId;
use crate::time::{Duration, Time};
use crate::world::{Ctx, Timer};

/// `SubscriptionGroupConfig` (the fields the broker reads).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SubscriptionGroupConfig {
    pub group_name: String,
    pub consume_enable: bool,
    pub consume_broadcast_enable: bool,
    pub retry_queue_nums: i32,
    pub retry_max_times: i32,
    pub notify_consumer_ids_changed_enable: bool,
}

impl SubscriptionGroupConfig {
    pub fn new(group: &str) -> Self {
        SubscriptionGroupConfig {
            group_name: group.to_string(),
            consume_enable: true,
            consume_broadcast_enable: true,
            retry_queue_nums: 1,
            retry_max_times: 16,
            notify_consumer_ids_changed_enable: true,
        }
    }
}

/// `SubscriptionGroupManager.findSubscriptionGroupConfig`, auto-creating.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SubscriptionGroupManager {
    pub subscription_group_table: BTreeMap<String, SubscriptionGroupConfig>,
}

impl SubscriptionGroupManager {
    pub fn find_subscription_group_config(
        &mut self,
        group: &str,
        auto_create: bool,
    ) -> Option<SubscriptionGroupConfig> {
        if let Some(config) = self.subscription_group_table.get(group) {
            return Some(config.clone());
        }
        if !auto_create || group.is_empty() {
            return None;
        }
        let config = SubscriptionGroupConfig::new(group);
        self.subscription_group_table.insert(group.to_string(), config.clone());
        Some(config)
    }
}

/// The timers of these services (inside `BrokerTimer::Consumer`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConsumerServiceTimer {
    /// `PullRequestHoldService.checkHoldRequest`.
    PullRequestHoldCheck,
    /// `ConsumerOffsetManager.persist`.
    PersistConsumerOffset,
    /// `ClientHousekeepingService.scanExceptionChannel`.
    ClientHousekeeping,
    /// One delay level's `DeliverDelayedMessageTimerTask`.
    ScheduleLevel { level: i32 },
    /// `ScheduleMessageService.persist`.
    PersistDelayOffset,
}

/// Counters for views.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ConsumerServiceStats {
    pub pulls_received: u64,
    pub pulls_held: u64,
    pub messages_pulled: u64,
    pub sent_back_to_retry: u64,
    pub sent_to_dlq: u64,
    pub delayed_delivered: u64,
    pub notifications_sent: u64,
}

/// The consumer-facing state of one broker incarnation.
#[derive(Clone, Debug)]
pub struct ConsumerServices {
    pub started_at: Time,
    pub consumer_manager: ConsumerManager,
    pub consumer_offset_manager: ConsumerOffsetManager,
    pub pull_request_hold_service: PullRequestHoldService,
    pub rebalance_lock_manager: RebalanceLockManager,
    pub schedule_message_service: ScheduleMessageService,
    pub subscription_group_manager: SubscriptionGroupManager,
    pub stats: ConsumerServiceStats,
    persist_offsets_armed: bool,
    housekeeping_armed: bool,
    persist_delay_armed: bool,
    schedule_started_at: Option<Time>,
}

impl ConsumerServices {
    pub fn new(delay_levels: DelayLevelTable) -> Self {
        ConsumerServices {
            started_at: Time::ZERO,
            consumer_manager: ConsumerManager::default(),
            consumer_offset_manager: ConsumerOffsetManager::default(),
            pull_request_hold_service: PullRequestHoldService::default(),
            rebalance_lock_manager: RebalanceLockManager::default(),
            schedule_message_service: ScheduleMessageService::new(delay_levels),
            subscription_group_manager: SubscriptionGroupManager::default(),
            stats: ConsumerServiceStats::default(),
            persist_offsets_armed: false,
            housekeeping_armed: false,
            persist_delay_armed: false,
            schedule_started_at: None,
        }
    }
}

/// The first instant of the grid `first + k × period` strictly after `now` (or `first` itself if later).
pub fn next_on_grid(first: Time, period: Duration, now: Time) -> Time {
    if now < first {
        return first;
    }
    let period = period.as_micros().max(1);
    let k = (now.as_micros() - first.as_micros()) / period + 1;
    Time::from_micros(first.as_micros() + k * period)
}

fn timer(t: ConsumerServiceTimer) -> Timer {
    Timer::Broker(BrokerTimer::Consumer(t))
}

impl BrokerController {
    /// Load what the files kept and start the services (after the store started).
    pub(crate) fn start_consumer_services(&mut self, ctx: &mut Ctx<'_>) {
        let services = &mut self.consumer_services;
        services.started_at = ctx.now();
        if let Some(file) = ctx.disk().lookup(CONSUMER_OFFSET_JSON_PATH) {
            let bytes = ctx.disk().read_vec(file, 0, ctx.disk().len(file));
            services.consumer_offset_manager.load(&bytes);
        }
        if self.store.config().broker_role != BrokerRole::Slave {
            if let Some(file) = ctx.disk().lookup(DELAY_OFFSET_JSON_PATH) {
                let bytes = ctx.disk().read_vec(file, 0, ctx.disk().len(file));
                services.schedule_message_service.load(&bytes);
            }
            let first = services.schedule_message_service.start(&self.store, ctx.now());
            services.schedule_started_at = Some(ctx.now());
            // Every level's first run is at +1 s; a level with an empty queue parks at once (it would
            // find nothing), so only levels with units get a timer.
            let levels: Vec<i32> = services.schedule_message_service.levels.keys().copied().collect();
            for level in levels {
                let queue_id = crate::broker::delay_level::delay_level_to_queue_id(level);
                let has_units = self.store.consume_queue(SCHEDULE_TOPIC, queue_id).is_some_and(|q| {
                    let offset = services.schedule_message_service.offset_table.get(&level).copied().unwrap_or(0);
                    q.max_offset_in_queue() > offset
                });
                if has_units {
                    ctx.set_timer(first - ctx.now(), timer(ConsumerServiceTimer::ScheduleLevel { level }));
                } else {
                    let offset = services.schedule_message_service.offset_table.get(&level).copied().unwrap_or(0);
                    services.schedule_message_service.levels.insert(
                        level,
                        crate::broker::schedule_message_service::LevelState::Parked {
                            last_run: Time::from_micros(first.as_micros().saturating_sub(
                                crate::broker::schedule_message_service::DELAY_FOR_A_WHILE.as_micros(),
                            )),
                            offset,
                        },
                    );
                }
            }
        }
    }

    /// Persist what must survive a clean shutdown.
    pub(crate) fn shutdown_consumer_services(&mut self, ctx: &mut Ctx<'_>) {
        self.persist_consumer_offsets(ctx);
        if self.consumer_services.schedule_message_service.started {
            self.consumer_services.schedule_message_service.shutdown();
            self.persist_delay_offsets(ctx);
        }
    }

    pub(crate) fn on_consumer_service_timer(&mut self, t: ConsumerServiceTimer, ctx: &mut Ctx<'_>) {
        match t {
            ConsumerServiceTimer::PullRequestHoldCheck => {
                self.consumer_services.pull_request_hold_service.check_armed = false;
                let now_ms = ctx.now().as_millis();
                let store = &self.store;
                let woken = self
                    .consumer_services
                    .pull_request_hold_service
                    .check_hold_request(now_ms, |topic, queue_id| store.get_max_offset_in_queue(topic, queue_id).0);
                for request in woken {
                    self.execute_request_when_wakeup(request, ctx);
                }
                self.arm_hold_check(ctx);
            }
            ConsumerServiceTimer::PersistConsumerOffset => {
                self.consumer_services.persist_offsets_armed = false;
                self.persist_consumer_offsets(ctx);
            }
            ConsumerServiceTimer::ClientHousekeeping => {
                self.consumer_services.housekeeping_armed = false;
                self.scan_exception_channel(ctx);
                self.arm_housekeeping(ctx);
            }
            ConsumerServiceTimer::ScheduleLevel { level } => self.run_schedule_level(level, ctx),
            ConsumerServiceTimer::PersistDelayOffset => {
                self.consumer_services.persist_delay_armed = false;
                self.persist_delay_offsets(ctx);
            }
        }
    }

    /// Dispatch reported new messages: wake held pulls and parked delay levels.
    pub(crate) fn on_messages_arrived(&mut self, arrived: &[MessageArrived], ctx: &mut Ctx<'_>) {
        for message in arrived {
            if &*message.topic == SCHEDULE_TOPIC {
                let woke =
                    self.consumer_services.schedule_message_service.on_unit_dispatched(message.queue_id, ctx.now());
                if let Some((level, at)) = woke {
                    ctx.set_timer(at - ctx.now(), timer(ConsumerServiceTimer::ScheduleLevel { level }));
                }
            }
            if !self.spec.config.long_polling_enable || self.store.config().broker_role == BrokerRole::Slave {
                continue;
            }
            let now_ms = ctx.now().as_millis();
            let store = &self.store;
            let woken = self.consumer_services.pull_request_hold_service.notify_message_arriving(
                &message.topic,
                message.queue_id,
                message.max_offset.0,
                Some(message.tags_code),
                now_ms,
                || store.get_max_offset_in_queue(&message.topic, message.queue_id).0,
            );
            for request in woken {
                self.execute_request_when_wakeup(request, ctx);
            }
        }
    }

    /// Keep the hold check running while pulls are held, on its grid.
    pub(crate) fn arm_hold_check(&mut self, ctx: &mut Ctx<'_>) {
        let hold = &mut self.consumer_services.pull_request_hold_service;
        if hold.check_armed || hold.held_count() == 0 {
            return;
        }
        hold.check_armed = true;
        let period_ms = if self.spec.config.long_polling_enable {
            LONG_POLLING_CHECK_INTERVAL_MS
        } else {
            self.spec.config.short_polling_time_mills.max(1)
        };
        let period = Duration::from_millis(period_ms);
        let started = self.consumer_services.started_at;
        let at = next_on_grid(started + period, period, ctx.now());
        ctx.set_timer(at - ctx.now(), timer(ConsumerServiceTimer::PullRequestHoldCheck));
    }

    /// `ConsumerOffsetManager.commitOffset`, observed when the value changes.
    pub(crate) fn commit_consumer_offset(
        &mut self,
        group: &str,
        topic: &str,
        queue_id: i32,
        offset: i64,
        ctx: &mut Ctx<'_>,
    ) {
        let changed = self.consumer_services.consumer_offset_manager.commit_offset(group, topic, queue_id, offset);
        if changed {
            ctx.observe(Observation::ConsumerOffsetCommitted {
                group: group.to_string(),
                topic: topic.to_string(),
                queue_id,
                offset,
            });
            self.arm_persist_consumer_offsets(ctx);
        }
    }

    /// Arm the offset persist after a change.
    pub(crate) fn arm_persist_consumer_offsets(&mut self, ctx: &mut Ctx<'_>) {
        let services = &mut self.consumer_services;
        if services.persist_offsets_armed || !services.consumer_offset_manager.dirty {
            return;
        }
        services.persist_offsets_armed = true;
        let period = Duration::from_millis(self.spec.config.flush_consumer_offset_interval.max(1));
        let at = next_on_grid(services.started_at + Duration::from_secs(10), period, ctx.now());
        ctx.set_timer(at - ctx.now(), timer(ConsumerServiceTimer::PersistConsumerOffset));
    }

    /// Keep the housekeeping scan running while consumers are registered.
    pub(crate) fn arm_housekeeping(&mut self, ctx: &mut Ctx<'_>) {
        let services = &mut self.consumer_services;
        if services.housekeeping_armed || services.consumer_manager.consumer_table.is_empty() {
            return;
        }
        services.housekeeping_armed = true;
        let period = Duration::from_secs(10);
        let at = next_on_grid(services.started_at + period, period, ctx.now());
        ctx.set_timer(at - ctx.now(), timer(ConsumerServiceTimer::ClientHousekeeping));
    }

    fn arm_persist_delay_offsets(&mut self, ctx: &mut Ctx<'_>) {
        let services = &mut self.consumer_services;
        let Some(started) = services.schedule_started_at else { return };
        if services.persist_delay_armed || !services.schedule_message_service.dirty {
            return;
        }
        services.persist_delay_armed = true;
        let at = next_on_grid(started + FLUSH_DELAY_OFFSET_INTERVAL, FLUSH_DELAY_OFFSET_INTERVAL, ctx.now());
        ctx.set_timer(at - ctx.now(), timer(ConsumerServiceTimer::PersistDelayOffset));
    }

    /// `ConsumerOffsetManager.persist()`: the whole table into the page cache.
    fn persist_consumer_offsets(&mut self, ctx: &mut Ctx<'_>) {
        let manager = &mut self.consumer_services.consumer_offset_manager;
        if !manager.dirty {
            return;
        }
        let bytes = manager.encode();
        manager.dirty = false;
        let file = ctx.open_file(CONSUMER_OFFSET_JSON_PATH);
        ctx.truncate(file, 0);
        ctx.write(file, 0, &bytes);
    }

    fn persist_delay_offsets(&mut self, ctx: &mut Ctx<'_>) {
        let service = &mut self.consumer_services.schedule_message_service;
        if !service.dirty {
            return;
        }
        let bytes = service.encode();
        service.dirty = false;
        let file = ctx.open_file(DELAY_OFFSET_JSON_PATH);
        ctx.truncate(file, 0);
        ctx.write(file, 0, &bytes);
    }

    /// One run of a delay level, then its next timer.
    fn run_schedule_level(&mut self, level: i32, ctx: &mut Ctx<'_>) {
        let outcome = {
            let mut io = BrokerStoreIo { ctx };
            self.consumer_services.schedule_message_service.run(&mut self.store, &mut io, level)
        };
        for delivered in &outcome.delivered {
            self.observe_delayed_delivery(delivered, ctx);
        }
        if let Some(at) = outcome.next_run {
            ctx.set_timer(at - ctx.now(), timer(ConsumerServiceTimer::ScheduleLevel { level }));
        }
        self.arm_persist_delay_offsets(ctx);
        let deferred = self.store.take_deferred_events();
        self.on_store_events(deferred, ctx);
    }

    fn observe_delayed_delivery(&mut self, delivered: &Delivered, ctx: &mut Ctx<'_>) {
        let Some(append) = &delivered.result.append else { return };
        self.consumer_services.stats.delayed_delivered += 1;
        self.stats.messages_stored += 1;
        let record = &delivered.record;
        ctx.observe(Observation::DelayedMessageDelivered {
            delay_level: delivered.delay_level,
            topic: record.topic.clone(),
            queue_id: record.queue_id,
            queue_offset: append.logics_offset.0,
            msg_id: record.properties.unique_key().unwrap_or_default().to_string(),
            reconsume_times: record.reconsume_times,
        });
        ctx.observe(Observation::MessageStored {
            topic: record.topic.clone(),
            queue_id: record.queue_id,
            queue_offset: append.logics_offset.0,
            commit_log_offset: append.wrote_offset.0,
            offset_msg_id: append.msg_id(),
            msg_id: record.properties.unique_key().unwrap_or_default().to_string(),
            store_timestamp: append.store_timestamp,
            wrote_bytes: append.wrote_bytes,
        });
    }

    /// `DefaultConsumerIdsChangeListener` on CHANGE: NOTIFY_CONSUMER_IDS_CHANGED (oneway) to each channel.
    pub(crate) fn notify_consumer_ids_changed(&mut self, change: Option<ConsumerIdsChanged>, ctx: &mut Ctx<'_>) {
        let Some(change) = change else { return };
        if !self.spec.config.notify_consumer_ids_changed_enable {
            return;
        }
        for channel in change.channels {
            self.consumer_services.stats.notifications_sent += 1;
            let request = ConsumerRequest::NotifyConsumerIdsChanged { consumer_group: change.group.clone() };
            ctx.send(channel, Message::Oneway { request: Request::Consumer(Box::new(request)) });
        }
    }

    /// Client ids of a group as this broker sees them (for views and tests).
    pub fn consumer_ids_of(&self, group: &str) -> Vec<String> {
        self.consumer_services.consumer_manager.get_consumer_group_info(group).map_or(Vec::new(), |g| {
            let mut ids = g.get_all_client_id();
            ids.sort_by(|a, b| crate::java::compare_strings(a, b));
            ids
        })
    }

    /// The channel of a consumer client id, if registered in some group.
    pub fn consumer_channel_of(&self, client_id: &str) -> Option<NodeId> {
        self.consumer_services
            .consumer_manager
            .consumer_table
            .values()
            .flat_map(|g| g.channel_info_table.values())
            .find(|c| c.client_id == client_id)
            .map(|c| c.channel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_points_follow_the_first_run_and_the_period() {
        let first = Time::from_secs(10);
        let period = Duration::from_secs(5);
        assert_eq!(next_on_grid(first, period, Time::from_secs(3)), first);
        assert_eq!(next_on_grid(first, period, Time::from_secs(10)), Time::from_secs(15));
        assert_eq!(next_on_grid(first, period, Time::from_millis(17_500)), Time::from_secs(20));
    }

    #[test]
    fn groups_are_created_on_demand_with_rocketmqs_defaults_unless_auto_creation_is_off() {
        let mut groups = SubscriptionGroupManager::default();
        assert_eq!(groups.find_subscription_group_config("G", false), None);
        let config = groups.find_subscription_group_config("G", true).unwrap();
        assert_eq!((config.retry_queue_nums, config.retry_max_times), (1, 16));
        assert!(groups.find_subscription_group_config("G", false).is_some());
    }
}
