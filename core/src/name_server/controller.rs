//! `NamesrvController`: the NameServer node.
//!
//! Timers: the not-active-broker scan runs first `scanNotActiveBrokerInterval` (5 s) after start
//! and then every 5 s. Inputs: REGISTER_BROKER, UNREGISTER_BROKER, GET_ROUTEINFO_BY_TOPIC, and
//! closed connections (Netty's channel-close housekeeping, which unregisters at once).

use serde::{Deserialize, Serialize};

use crate::name_server::route_info_manager::RouteInfoManager;
use crate::observation::{BrokerRemovalReason, Observation};
use crate::protocol::{Message, Request, Response, ResponseBody, ResponseCode};
use crate::sim::node::{NodeId, TimerId};
use crate::time::Duration;
use crate::world::{Ctx, Timer};

/// `NamesrvConfig` (only what the simulation uses), in RocketMQ's units.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct NamesrvConfig {
    pub scan_not_active_broker_interval: u64,
    /// `DEFAULT_BROKER_CHANNEL_EXPIRED_TIME`.
    pub broker_channel_expired_time: u64,
}

impl Default for NamesrvConfig {
    fn default() -> Self {
        NamesrvConfig { scan_not_active_broker_interval: 5_000, broker_channel_expired_time: 120_000 }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameServerSpec {
    pub config: NamesrvConfig,
}

/// The NameServer's timers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum NameServerTimer {
    ScanNotActiveBroker,
}

#[derive(Clone, Debug)]
pub struct NamesrvController {
    pub config: NamesrvConfig,
    pub route_info: RouteInfoManager,
    scan_timer: Option<TimerId>,
}

impl NamesrvController {
    pub fn boot(spec: &NameServerSpec) -> Self {
        NamesrvController { config: spec.config.clone(), route_info: RouteInfoManager::default(), scan_timer: None }
    }

    pub fn on_start(&mut self, ctx: &mut Ctx<'_>) {
        self.schedule_scan(ctx);
    }

    fn schedule_scan(&mut self, ctx: &mut Ctx<'_>) {
        let period = Duration::from_millis(self.config.scan_not_active_broker_interval);
        self.scan_timer = Some(ctx.set_timer(period, Timer::NameServer(NameServerTimer::ScanNotActiveBroker)));
    }

    pub fn on_timer(&mut self, timer: NameServerTimer, ctx: &mut Ctx<'_>) {
        match timer {
            NameServerTimer::ScanNotActiveBroker => {
                let now_ms = ctx.now().as_millis();
                for addr in self.route_info.expired_brokers(now_ms, self.config.broker_channel_expired_time) {
                    let channel = self.route_info.broker_live_table.get(&addr).map(|l| l.channel);
                    self.unregister(&addr, BrokerRemovalReason::Expired, ctx);
                    if let Some(channel) = channel {
                        ctx.close_connection(channel);
                    }
                }
                self.schedule_scan(ctx);
            }
        }
    }

    pub fn on_message(&mut self, from: NodeId, message: Message, ctx: &mut Ctx<'_>) {
        let (opaque, request) = match message {
            Message::Request { opaque, request } => (Some(opaque), request),
            Message::Oneway { request } => (None, request),
            Message::Response { .. } => return,
        };
        let response = self.handle(from, request, ctx);
        if let Some(opaque) = opaque {
            ctx.send(from, Message::Response { opaque, response });
        }
    }

    fn handle(&mut self, from: NodeId, request: Request, ctx: &mut Ctx<'_>) -> Response {
        match request {
            Request::RegisterBroker(registration) => {
                let known = self.route_info.broker_live_table.contains_key(&registration.broker_addr);
                let result = self.route_info.register_broker(&registration, from, ctx.now().as_millis());
                if !known {
                    ctx.observe(Observation::BrokerRegistered {
                        broker_name: registration.broker_name.clone(),
                        broker_addr: registration.broker_addr.clone(),
                        broker_id: registration.broker_id,
                    });
                }
                Response::success(ResponseBody::RegisterBrokerResult {
                    master_addr: result.master_addr,
                    ha_server_addr: result.ha_server_addr,
                })
            }
            Request::UnregisterBroker { broker_addr, .. } => {
                self.unregister(&broker_addr, BrokerRemovalReason::Unregistered, ctx);
                Response::success(ResponseBody::Empty)
            }
            Request::GetRouteInfoByTopic { topic } => match self.route_info.pickup_topic_route_data(&topic) {
                Some(route) => Response::success(ResponseBody::TopicRoute(route)),
                None => Response::error(
                    ResponseCode::TOPIC_NOT_EXIST,
                    format!("No topic route info in name server for the topic: {topic}"),
                ),
            },
            other @ (Request::SendMessage(_)
            | Request::HeartBeat(_)
            | Request::Consumer(_)
            | Request::Replication(_)
            | Request::Transaction(_)) => other.not_supported(),
        }
    }

    /// Netty's `BrokerHousekeepingService`: a closed channel unregisters its brokers at once.
    pub fn on_connection_closed(&mut self, peer: NodeId, ctx: &mut Ctx<'_>) {
        for addr in self.route_info.brokers_on_channel(peer) {
            self.unregister(&addr, BrokerRemovalReason::ChannelClosed, ctx);
        }
    }

    fn unregister(&mut self, broker_addr: &str, reason: BrokerRemovalReason, ctx: &mut Ctx<'_>) {
        if let Some(live) = self.route_info.broker_live_table.get(broker_addr).cloned() {
            self.route_info.unregister_broker(broker_addr);
            ctx.observe(Observation::BrokerRemoved {
                broker_name: live.broker_name,
                broker_addr: broker_addr.to_string(),
                reason,
            });
        }
    }
}
