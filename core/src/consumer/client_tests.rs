//! Unit tests of the consumer node: inputs in, commands out, no simulator.

use std::rc::Rc;

use crate::consumer::client::{ConsumerClient, ConsumerKind, ConsumerSpec, ConsumerTimer, ServiceState};
use crate::consumer::config::ConsumerConfig;
use crate::consumer::process_queue::ProcessQueue;
use crate::consumer::workload::ConsumerWorkloadSpec;
use crate::message_queue::MessageQueue;
use crate::observation::Observation;
use crate::prng::{Concern, Prng, StreamOwner};
use crate::protocol::consumer::{
    ConsumerRequest, ConsumerResponseBody, MessageExt, PullMessageResponse, SubscriptionData,
};
use crate::protocol::{Message, Request, Response, ResponseBody, ResponseCode};
use crate::route::{BrokerData, QueueData, TopicRouteData};
use crate::sim::disk::{DiskConfig, NodeDisk};
use crate::sim::node::{Command, Context, NodeId};
use crate::time::{Duration, Time};
use crate::world::{AnyNode, Directory, NodeKind, Timer};

const NAMESRV: NodeId = NodeId(0);
const MASTER: NodeId = NodeId(1);
const SLAVE: NodeId = NodeId(2);
const ME: NodeId = NodeId(3);

struct Harness {
    client: ConsumerClient,
    rng: Prng,
    workload: Prng,
    disk: NodeDisk,
    next_timer: u64,
    now: Time,
}

impl Harness {
    fn new(config: ConsumerConfig) -> Self {
        let mut directory = Directory::default();
        directory.add("namesrv-0", NodeKind::NameServer, 9876);
        directory.add("broker-a", NodeKind::Broker, 10911);
        directory.add("broker-a-s1", NodeKind::Broker, 10911);
        directory.add("G-0", NodeKind::Consumer, 40000);
        let directory = Rc::new(directory);
        let spec = ConsumerSpec {
            node_name: "G-0".into(),
            client_ip: directory.entry(ME).ip,
            name_servers: vec![NAMESRV],
            name_server_addrs: vec![directory.entry(NAMESRV).addr()],
            directory,
            group: "G".into(),
            kind: ConsumerKind::Push,
            orderly: false,
            subscriptions: vec![("T".into(), "*".into())],
            expression_types: Default::default(),
            config,
            workload: ConsumerWorkloadSpec::default(),
            rooms_by_ip: Default::default(),
        };
        Harness {
            client: ConsumerClient::boot(&spec),
            rng: Prng::stream(1, StreamOwner::Node(3), Concern::Node),
            workload: Prng::stream(1, StreamOwner::Node(3), Concern::Workload),
            disk: NodeDisk::new(DiskConfig::default()),
            next_timer: 0,
            now: Time::ZERO,
        }
    }

    fn at(&mut self, now: Time) -> &mut Self {
        self.now = now;
        self
    }

    fn input(&mut self, f: impl FnOnce(&mut ConsumerClient, &mut Context<'_, AnyNode>)) -> Vec<Command<AnyNode>> {
        let mut commands = Vec::new();
        let mut ctx =
            Context::detached(self.now, ME, &mut self.rng, &mut self.disk, &mut commands, &mut self.next_timer)
                .with_workload(&mut self.workload);
        f(&mut self.client, &mut ctx);
        commands
    }

    fn route(&mut self) -> TopicRouteData {
        let addr = |id: NodeId| self.client.spec.directory.entry(id).addr();
        TopicRouteData {
            queue_datas: vec![QueueData {
                broker_name: "broker-a".into(),
                read_queue_nums: 4,
                write_queue_nums: 4,
                perm: 6,
                topic_sys_flag: 0,
            }],
            broker_datas: vec![BrokerData {
                cluster: "DefaultCluster".into(),
                broker_name: "broker-a".into(),
                broker_addrs: [(0, addr(MASTER)), (1, addr(SLAVE))].into_iter().collect(),
            }],
        }
    }
}

fn sent(commands: &[Command<AnyNode>]) -> Vec<(NodeId, String)> {
    commands
        .iter()
        .filter_map(|c| match c {
            Command::Send { to, message } => Some((*to, message.summary())),
            _ => None,
        })
        .collect()
}

fn request_opaque(commands: &[Command<AnyNode>], code: &str) -> u32 {
    commands
        .iter()
        .find_map(|c| match c {
            Command::Send { message: Message::Request { opaque, request }, .. } if request.code_name() == code => {
                Some(*opaque)
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("no {code} in {commands:?}"))
}

fn timers(commands: &[Command<AnyNode>]) -> Vec<(Duration, ConsumerTimer)> {
    commands
        .iter()
        .filter_map(|c| match c {
            Command::SetTimer { after, timer: Timer::Consumer(t), .. } => Some((*after, t.clone())),
            _ => None,
        })
        .collect()
}

fn route_response(route: TopicRouteData) -> Response {
    Response::success(ResponseBody::TopicRoute(route))
}

/// Start the consumer and answer its route lookups and heartbeats: it is running afterwards.
fn started() -> (Harness, Vec<Command<AnyNode>>) {
    let mut h = Harness::new(ConsumerConfig::default());
    let mut out = h.input(|c, ctx| c.on_start(ctx));
    for _ in 0..2 {
        let opaque = request_opaque(&out, "GET_ROUTEINFO_BY_TOPIC");
        let route = h.route();
        out =
            h.input(|c, ctx| c.on_message(NAMESRV, Message::Response { opaque, response: route_response(route) }, ctx));
    }
    let heartbeats: Vec<(NodeId, u32)> = out
        .iter()
        .filter_map(|c| match c {
            Command::Send { to, message: Message::Request { opaque, request } }
                if request.code_name() == "HEART_BEAT" =>
            {
                Some((*to, *opaque))
            }
            _ => None,
        })
        .collect();
    let mut last = Vec::new();
    for (to, opaque) in heartbeats {
        last = h.input(|c, ctx| {
            c.on_message(to, Message::Response { opaque, response: Response::success(ResponseBody::Empty) }, ctx)
        });
    }
    (h, last)
}

#[test]
fn a_started_push_consumer_fetches_routes_one_at_a_time_then_heartbeats_every_broker_slaves_included_then_rebalances() {
    let mut h = Harness::new(ConsumerConfig::default());
    let out = h.input(|c, ctx| c.on_start(ctx));
    // The retry topic is subscribed automatically; lookups are serialized (lockNamesrv).
    assert_eq!(sent(&out), [(NAMESRV, "GET_ROUTEINFO_BY_TOPIC #0".to_string())]);
    assert!(h.client.subscription_inner.contains_key("%RETRY%G"));
    let periods: Vec<Duration> = timers(&out).into_iter().map(|(d, _)| d).collect();
    assert!(periods.contains(&Duration::from_millis(10)), "route refresh first after 10 ms");
    assert!(periods.contains(&Duration::from_secs(1)), "heartbeat first after 1 s");
    assert!(periods.contains(&Duration::from_secs(10)), "offset persistence first after 10 s");
    assert!(periods.contains(&Duration::from_secs(20)), "the rebalance service waits 20 s");
    let route = h.route();
    let out =
        h.input(|c, ctx| c.on_message(NAMESRV, Message::Response { opaque: 0, response: route_response(route) }, ctx));
    assert_eq!(sent(&out), [(NAMESRV, "GET_ROUTEINFO_BY_TOPIC #1".to_string())]);
    let route = h.route();
    let out =
        h.input(|c, ctx| c.on_message(NAMESRV, Message::Response { opaque: 1, response: route_response(route) }, ctx));
    let to: Vec<NodeId> = sent(&out).into_iter().filter(|(_, s)| s.starts_with("HEART_BEAT")).map(|(t, _)| t).collect();
    assert_eq!(to, [MASTER, SLAVE], "consumers heartbeat every broker, the slave too");
    assert_eq!(h.client.state, ServiceState::Starting);
    let (_, last) = started();
    assert_eq!(sent(&last).len(), 1);
    assert!(sent(&last)[0].1.starts_with("GET_CONSUMER_LIST_BY_GROUP"), "{:?}", sent(&last));
}

fn msg(offset: i64) -> MessageExt {
    MessageExt {
        topic: "T".into(),
        queue_id: 0,
        queue_offset: offset,
        commit_log_offset: offset * 200,
        store_size: 200,
        body: b"order-1:0;".to_vec(),
        flag: 0,
        sys_flag: 0,
        born_timestamp: 0,
        born_host: "10.0.0.9:40000".into(),
        store_timestamp: 0,
        store_host: "10.0.0.2:10911".into(),
        reconsume_times: 0,
        properties: format!("UNIQ_KEY\u{1}ID{offset}"),
        offset_msg_id: String::new(),
    }
}

/// A running consumer owning queue 0 of T with these cached messages; returns the queue's id.
fn owning_queue_0(h: &mut Harness, cached: i64, first: i64) -> u64 {
    h.client.state = ServiceState::Running;
    h.client.subscription_inner.insert("T".into(), SubscriptionData::build("T", "*", 1));
    let addr = |id: NodeId| h.client.spec.directory.entry(id).addr();
    h.client.broker_addr_table.insert("broker-a".into(), [(0, addr(MASTER))].into_iter().collect());
    let mut pq = ProcessQueue::new(7, 0, first + cached);
    let msgs: Vec<std::rc::Rc<MessageExt>> = (first..first + cached).map(|o| msg(o).into()).collect();
    pq.put_message(&msgs);
    h.client.process_queue_table.insert(MessageQueue::new("T", "broker-a", 0), pq);
    7
}

#[test]
fn a_pull_is_deferred_50_ms_above_1000_cached_messages_or_a_span_above_2000() {
    // Spec §13 item 21.
    let mut h = Harness::new(ConsumerConfig::default());
    let pq = owning_queue_0(&mut h, 1_001, 0);
    let out = h.input(|c, ctx| c.pull_message(pq, ctx));
    assert!(sent(&out).is_empty());
    assert_eq!(timers(&out), [(Duration::from_millis(50), ConsumerTimer::PullLater { pq_id: pq })]);
    let mut h = Harness::new(ConsumerConfig::default());
    let pq = owning_queue_0(&mut h, 1, 0);
    let far = msg(2_001);
    h.client.process_queue_table.get_mut(&MessageQueue::new("T", "broker-a", 0)).unwrap().put_message(&[far.into()]);
    let out = h.input(|c, ctx| c.pull_message(pq, ctx));
    assert_eq!(timers(&out), [(Duration::from_millis(50), ConsumerTimer::PullLater { pq_id: pq })]);
    // At exactly 1000 cached messages and a span of 2000 the pull goes out.
    let mut h = Harness::new(ConsumerConfig::default());
    let pq = owning_queue_0(&mut h, 1_000, 0);
    let out = h.input(|c, ctx| c.pull_message(pq, ctx));
    assert_eq!(sent(&out).len(), 1);
    assert!(sent(&out)[0].1.starts_with("PULL_MESSAGE"));
}

#[test]
fn a_failed_pull_is_retried_after_20_ms_on_flow_control_and_after_1000_ms_otherwise() {
    for (code, delay) in [(ResponseCode::FLOW_CONTROL, 20), (ResponseCode::SYSTEM_ERROR, 1_000)] {
        let mut h = Harness::new(ConsumerConfig::default());
        let pq = owning_queue_0(&mut h, 0, 0);
        let out = h.input(|c, ctx| c.pull_message(pq, ctx));
        let opaque = request_opaque(&out, "PULL_MESSAGE");
        let out = h.input(|c, ctx| {
            c.on_message(MASTER, Message::Response { opaque, response: Response::error(code, "busy") }, ctx)
        });
        let later: Vec<_> =
            timers(&out).into_iter().filter(|(_, t)| matches!(t, ConsumerTimer::PullLater { .. })).collect();
        assert_eq!(later, [(Duration::from_millis(delay), ConsumerTimer::PullLater { pq_id: pq })], "{code}");
    }
}

#[test]
fn a_pull_carries_the_in_memory_offset_and_a_found_result_is_consumed_and_committed() {
    let mut h = Harness::new(ConsumerConfig::default());
    let pq = owning_queue_0(&mut h, 0, 5);
    let mq = MessageQueue::new("T", "broker-a", 0);
    h.client.offset_store.update_offset(&mq, 5, false);
    let out = h.input(|c, ctx| c.pull_message(pq, ctx));
    let header = out
        .iter()
        .find_map(|c| match c {
            Command::Send { message: Message::Request { request: Request::Consumer(r), .. }, .. } => match r.as_ref() {
                ConsumerRequest::PullMessage(header) => Some(header.clone()),
                _ => None,
            },
            _ => None,
        })
        .unwrap();
    assert_eq!((header.queue_offset, header.commit_offset, header.sys_flag), (5, 5, 0b11), "commit + suspend");
    assert_eq!(header.suspend_timeout_millis, 15_000);
    let opaque = request_opaque(&out, "PULL_MESSAGE");
    let body = PullMessageResponse {
        next_begin_offset: 7,
        min_offset: 0,
        max_offset: 7,
        suggest_which_broker_id: 0,
        messages: vec![msg(5), msg(6)],
    };
    let response = Response::success(ResponseBody::Consumer(Box::new(ConsumerResponseBody::Pull(body))));
    let out =
        h.at(Time::from_millis(100)).input(|c, ctx| c.on_message(MASTER, Message::Response { opaque, response }, ctx));
    // Both messages start on two consume threads (batch size 1), and the next pull goes out at once.
    let started = out.iter().filter(|c| matches!(c, Command::Observe(Observation::ConsumeStarted { .. }))).count();
    assert_eq!(started, 2);
    assert!(sent(&out).iter().any(|(_, s)| s.starts_with("PULL_MESSAGE")));
    let done: Vec<u32> = timers(&out)
        .into_iter()
        .filter_map(|(_, t)| match t {
            ConsumerTimer::ConsumeDone { worker } => Some(worker),
            _ => None,
        })
        .collect();
    assert_eq!(done, [0, 1]);
    // Offset 6 finishes first: 5 is still in flight, so the offset stays at 5.
    h.at(Time::from_millis(101)).input(|c, ctx| c.on_timer(ConsumerTimer::ConsumeDone { worker: 1 }, ctx));
    assert_eq!(h.client.offset_store.read_from_memory(&mq), 5);
    h.input(|c, ctx| c.on_timer(ConsumerTimer::ConsumeDone { worker: 0 }, ctx));
    assert_eq!(h.client.offset_store.read_from_memory(&mq), 7);
}

#[test]
fn a_notification_wakes_the_rebalance_service_at_once() {
    let (mut h, mut out) = started();
    // Finish the first run: no consumer list for either topic (the broker answers SYSTEM_ERROR).
    for _ in 0..2 {
        let opaque = request_opaque(&out, "GET_CONSUMER_LIST_BY_GROUP");
        let response = Response::error(ResponseCode::SYSTEM_ERROR, "no consumer for this group, G");
        out = h.input(|c, ctx| c.on_message(MASTER, Message::Response { opaque, response }, ctx));
    }
    assert!(h.client.rebalance.is_none());
    assert_eq!(timers(&out), [(Duration::from_secs(20), ConsumerTimer::RebalanceWait)]);
    let notify = Message::Oneway {
        request: Request::Consumer(Box::new(ConsumerRequest::NotifyConsumerIdsChanged { consumer_group: "G".into() })),
    };
    let out = h.input(|c, ctx| c.on_message(MASTER, notify, ctx));
    assert!(
        sent(&out).iter().any(|(to, s)| *to == MASTER && s.starts_with("GET_CONSUMER_LIST_BY_GROUP")),
        "{:?}",
        sent(&out)
    );
    assert!(out.iter().any(|c| matches!(c, Command::CancelTimer { .. })), "the 20 s wait is cut short");
}

#[test]
fn pulled_messages_are_cut_into_listener_calls_of_consume_message_batch_max_size() {
    let config = ConsumerConfig { consume_message_batch_max_size: 4, ..ConsumerConfig::default() };
    let mut h = Harness::new(config);
    let pq = owning_queue_0(&mut h, 0, 0);
    let out = h.input(|c, ctx| c.pull_message(pq, ctx));
    let opaque = request_opaque(&out, "PULL_MESSAGE");
    let body = PullMessageResponse {
        next_begin_offset: 6,
        min_offset: 0,
        max_offset: 6,
        suggest_which_broker_id: 0,
        messages: (0..6).map(msg).collect(),
    };
    let response = Response::success(ResponseBody::Consumer(Box::new(ConsumerResponseBody::Pull(body))));
    let out = h.input(|c, ctx| c.on_message(MASTER, Message::Response { opaque, response }, ctx));
    let calls = timers(&out).into_iter().filter(|(_, t)| matches!(t, ConsumerTimer::ConsumeDone { .. })).count();
    assert_eq!(calls, 2, "6 messages in calls of at most 4");
    // Each call takes the sum of its messages' work (1 ms each here).
    let durations: Vec<Duration> = timers(&out)
        .into_iter()
        .filter(|(_, t)| matches!(t, ConsumerTimer::ConsumeDone { .. }))
        .map(|(d, _)| d)
        .collect();
    assert_eq!(durations, [Duration::from_millis(4), Duration::from_millis(2)]);
}
