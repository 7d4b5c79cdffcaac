//! Explainers for the client-side algorithms: queue allocation (`rmqsim explain allocate`), orderly-send queue
//! selection (`explain select`), the producer's latency fault table (`explain fault`) and the delay levels with
//! the retry schedule (`explain delay-levels`).
//!
//! Each explainer validates its arguments the way a student types them (strings straight from the command line
//! or a web form), runs the very functions the simulation runs (`consumer::allocate`, `producer::selector`,
//! `producer::latency_fault`, `broker::delay_level`) and shows every intermediate step next to the result.
//! Invariants: never panics on any input (bad input is an [`ExplainError`] naming the argument, with the
//! accepted forms); work is bounded (at most [`MAX_QUEUES`] queues, [`MAX_CONSUMERS`] consumers,
//! [`MAX_VIRTUAL_NODES`] virtual nodes); numbers in the JSON are integers of fixed width, never `usize`.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use super::{ExplainError, Explanation};
use crate::broker::delay_level::{
    delay_level_to_queue_id, format_delay, DelayLevelTable, DEFAULT_MAX_RECONSUME_TIMES, DEFAULT_MESSAGE_DELAY_LEVEL,
    SCHEDULE_TOPIC,
};
use crate::consumer::allocate::{
    md5_hash, sort_for_rebalance, AllocateMessageQueueStrategy, ConsistentHashRouter, MachineRoomResolver,
    StrategySettings, DEFAULT_VIRTUAL_NODE_COUNT, STRATEGY_NAMES,
};
use crate::message_queue::MessageQueue;
use crate::producer::latency_fault::{fault_duration, latency_table_row, FaultStrategyVersion};
use crate::producer::selector::{hash_selection, random_index, SelectorArg};

/// Most queues `explain allocate` accepts (after expanding ranges).
pub const MAX_QUEUES: u32 = 4_096;
/// Most consumers `explain allocate` accepts.
pub const MAX_CONSUMERS: u32 = 1_024;
/// Most virtual nodes per consumer for CONSISTENT_HASH.
pub const MAX_VIRTUAL_NODES: u32 = 1_000;
/// The consumer group shown in allocation logs; allocation itself does not depend on it.
const EXPLAIN_CONSUMER_GROUP: &str = "explain-group";

/// The selector names `explain select` accepts.
pub const SELECTOR_NAMES: [&str; 5] = ["hash", "hash-int", "hash-long", "random", "machine-room"];

/// Settings of the strategies that need more than the queue and consumer lists.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AllocateOptions {
    /// MACHINE_ROOM's `consumeridcs` (`--idc`, repeatable).
    pub consumer_idcs: Vec<String>,
    /// MACHINE_ROOM_NEARBY: `BROKER=ROOM` entries (`--broker-room`).
    pub broker_rooms: Vec<String>,
    /// MACHINE_ROOM_NEARBY: `CONSUMER=ROOM` entries (`--consumer-room`).
    pub consumer_rooms: Vec<String>,
    /// CONSISTENT_HASH virtual nodes per consumer (`--virtual-nodes`); RocketMQ's default 10 when `None`.
    pub virtual_node_count: Option<u32>,
}

fn error(argument: &str, message: impl Into<String>) -> ExplainError {
    ExplainError { argument: argument.to_string(), message: message.into() }
}

/// `broker-a/0`: short enough to list many queues on a line.
fn short(mq: &MessageQueue) -> String {
    format!("{}/{}", mq.broker_name, mq.queue_id)
}

fn queue_json(mq: &MessageQueue) -> Value {
    json!({ "broker_name": mq.broker_name, "queue_id": mq.queue_id })
}

fn count_u32(count: usize) -> u32 {
    // Inputs are bounded far below u32::MAX before anything is counted.
    u32::try_from(count).unwrap_or(u32::MAX)
}

/// Parses `BROKER:QUEUE_ID` (`broker-a:0`) or `BROKER:FIRST-LAST` (`broker-a:0-3`, both ends included) into
/// `(broker name, queue ids)`. The broker name is everything before the last `:`.
pub fn parse_queue_spec(spec: &str) -> Result<(String, Vec<i32>), ExplainError> {
    let expected = "expected BROKER:QUEUE_ID (e.g. broker-a:0) or BROKER:FIRST-LAST (e.g. broker-a:0-3)";
    let (broker, ids) =
        spec.rsplit_once(':').ok_or_else(|| error("--queue", format!("\"{spec}\" has no ':'; {expected}")))?;
    if broker.trim().is_empty() {
        return Err(error("--queue", format!("\"{spec}\" has no broker name; {expected}")));
    }
    let parse_id = |text: &str| {
        text.trim().parse::<i32>().ok().filter(|id| *id >= 0).ok_or_else(|| {
            error("--queue", format!("\"{spec}\": \"{text}\" is not a queue id (a whole number >= 0); {expected}"))
        })
    };
    let (first, last) = match ids.split_once('-') {
        Some((first, last)) => (parse_id(first)?, parse_id(last)?),
        None => {
            let id = parse_id(ids)?;
            (id, id)
        }
    };
    if first > last {
        return Err(error("--queue", format!("\"{spec}\": the range {first}-{last} is backwards")));
    }
    if i64::from(last) - i64::from(first) >= i64::from(MAX_QUEUES) {
        return Err(error("--queue", format!("\"{spec}\" names more than {MAX_QUEUES} queues")));
    }
    Ok((broker.trim().to_string(), (first..=last).collect()))
}

/// Parses `NAME=ROOM` pairs into a map, for `--broker-room` and `--consumer-room`.
fn parse_rooms(argument: &str, entries: &[String]) -> Result<BTreeMap<String, String>, ExplainError> {
    let mut rooms = BTreeMap::new();
    for entry in entries {
        let (name, room) = entry
            .split_once('=')
            .map(|(name, room)| (name.trim(), room.trim()))
            .filter(|(name, room)| !name.is_empty() && !room.is_empty())
            .ok_or_else(|| error(argument, format!("\"{entry}\" is not NAME=ROOM (e.g. broker-a=room1)")))?;
        if rooms.insert(name.to_string(), room.to_string()).is_some() {
            return Err(error(argument, format!("\"{name}\" is given a room twice")));
        }
    }
    Ok(rooms)
}

fn validate_consumers(consumers: &[String]) -> Result<Vec<String>, ExplainError> {
    if consumers.is_empty() {
        return Err(error("--consumers", "give at least one consumer id (RocketMQ's cidAll is never empty)"));
    }
    if count_u32(consumers.len()) > MAX_CONSUMERS {
        return Err(error("--consumers", format!("at most {MAX_CONSUMERS} consumers")));
    }
    let mut seen = BTreeSet::new();
    for consumer in consumers {
        if consumer.is_empty() {
            return Err(error("--consumers", "a consumer id is empty (RocketMQ: \"currentCID is empty\")"));
        }
        if !seen.insert(consumer.as_str()) {
            return Err(error("--consumers", format!("\"{consumer}\" is listed twice; client ids are unique")));
        }
    }
    Ok(consumers.to_vec())
}

fn validate_queues(topic: &str, queues: &[String]) -> Result<Vec<MessageQueue>, ExplainError> {
    if queues.is_empty() {
        return Err(error(
            "--queue",
            "zero queues: give at least one BROKER:QUEUE_ID (RocketMQ: \"mqAll is null or mqAll empty\")",
        ));
    }
    // RebalanceImpl starts from a Set of queues, so a queue given twice counts once.
    let mut set = BTreeSet::new();
    for spec in queues {
        let (broker, ids) = parse_queue_spec(spec)?;
        for id in ids {
            set.insert(MessageQueue::new(topic, broker.clone(), id));
            if count_u32(set.len()) > MAX_QUEUES {
                return Err(error("--queue", format!("at most {MAX_QUEUES} queues")));
            }
        }
    }
    Ok(set.into_iter().collect())
}

fn build_strategy(name: &str, options: &AllocateOptions) -> Result<AllocateMessageQueueStrategy, ExplainError> {
    let virtual_node_count = options.virtual_node_count.unwrap_or(DEFAULT_VIRTUAL_NODE_COUNT);
    if virtual_node_count > MAX_VIRTUAL_NODES {
        return Err(error("--virtual-nodes", format!("at most {MAX_VIRTUAL_NODES} virtual nodes per consumer")));
    }
    let settings = StrategySettings {
        message_queue_list: Vec::new(),
        consumer_idcs: options.consumer_idcs.iter().map(|idc| idc.trim().to_string()).collect(),
        machine_room_resolver: MachineRoomResolver {
            broker_rooms: parse_rooms("--broker-room", &options.broker_rooms)?,
            consumer_rooms: parse_rooms("--consumer-room", &options.consumer_rooms)?,
        },
        virtual_node_count,
    };
    AllocateMessageQueueStrategy::from_name(&name.trim().to_ascii_uppercase(), &settings)
        .map_err(|_| error("--strategy", format!("unknown strategy \"{name}\"; valid: {}", STRATEGY_NAMES.join(", "))))
}

/// The first missing room for MACHINE_ROOM_NEARBY, worded as an argument problem rather than Java's exception.
fn check_rooms(
    strategy: &AllocateMessageQueueStrategy,
    mq_all: &[MessageQueue],
    cid_all: &[String],
) -> Result<(), ExplainError> {
    let AllocateMessageQueueStrategy::MachineRoomNearby { resolver, .. } = strategy else {
        return Ok(());
    };
    if let Some(mq) = mq_all.iter().find(|mq| resolver.broker_deploy_in(mq).is_none()) {
        return Err(error(
            "--broker-room",
            format!("broker \"{}\" has no machine room; add --broker-room {}=ROOM", mq.broker_name, mq.broker_name),
        ));
    }
    if let Some(cid) = cid_all.iter().find(|cid| resolver.consumer_deploy_in(cid).is_none()) {
        return Err(error(
            "--consumer-room",
            format!("consumer \"{cid}\" has no machine room; add --consumer-room {cid}=ROOM"),
        ));
    }
    Ok(())
}

/// `rmqsim explain allocate`: who owns which queue of `topic` under `strategy`.
///
/// `queues` are `BROKER:QUEUE_ID` or `BROKER:FIRST-LAST` specs; for CONFIG they are the configured list every
/// consumer gets. Inputs are sorted as `RebalanceImpl` sorts them, so the order typed does not matter.
pub fn explain_allocate(
    strategy: &str,
    consumers: &[String],
    queues: &[String],
    topic: &str,
    options: &AllocateOptions,
) -> Result<Explanation, ExplainError> {
    if topic.trim().is_empty() {
        return Err(error("--topic", "the topic name is empty"));
    }
    let strategy_name = strategy;
    let mut strategy = build_strategy(strategy_name, options)?;
    let mut cid_all = validate_consumers(consumers)?;
    let mut mq_all = validate_queues(topic.trim(), queues)?;
    sort_for_rebalance(&mut mq_all, &mut cid_all);
    if let AllocateMessageQueueStrategy::ByConfig { message_queue_list } = &mut strategy {
        message_queue_list.clone_from(&mq_all);
    }
    check_rooms(&strategy, &mq_all, &cid_all)?;
    if matches!(&strategy, AllocateMessageQueueStrategy::ByMachineRoom { consumer_idcs } if consumer_idcs.is_empty()) {
        // Java would throw a NullPointerException on the unset consumeridcs.
        return Err(error("--idc", "MACHINE_ROOM needs the consumer idcs: give at least one --idc"));
    }
    let allocation = strategy
        .allocate_all(EXPLAIN_CONSUMER_GROUP, &mq_all, &cid_all)
        .map_err(|allocate_error| error("--strategy", format!("RocketMQ would fail: {allocate_error}")))?;

    let mut text = String::new();
    let name = strategy.name();
    text.push_str(&format!(
        "{name}: {} queue(s) of topic {} over {} consumer(s)\n",
        mq_all.len(),
        topic.trim(),
        cid_all.len()
    ));
    text.push_str(
        "Sorted as RebalanceImpl does: queues by topic, brokerName, queueId; consumers by Java String order.\n",
    );
    text.push_str(&format!("mqAll:  {}\n", mq_all.iter().map(short).collect::<Vec<_>>().join(" ")));
    text.push_str(&format!("cidAll: {}\n\n", cid_all.join(" ")));
    text.push_str(&strategy_notes(&strategy, &mq_all, &cid_all, &allocation));

    let width = cid_all.iter().map(|cid| cid.chars().count()).max().unwrap_or(0);
    let mut owners: BTreeMap<&MessageQueue, u32> = BTreeMap::new();
    let mut allocation_json = Vec::new();
    for (cid, owned) in &allocation {
        for mq in owned {
            *owners.entry(mq).or_insert(0) += 1;
        }
        let room = consumer_room(&strategy, cid);
        let room_text = room.map(|room| format!(" (room {room})")).unwrap_or_default();
        let listed = owned.iter().map(short).collect::<Vec<_>>().join(", ");
        text.push_str(&format!("{cid:<width$}{room_text}  [{listed}]  ({})\n", owned.len()));
        allocation_json.push(json!({
            "consumer": cid,
            "room": room,
            "queues": owned.iter().map(queue_json).collect::<Vec<_>>(),
        }));
    }
    let unallocated: Vec<&MessageQueue> = mq_all.iter().filter(|mq| !owners.contains_key(mq)).collect();
    let shared: Vec<&MessageQueue> = mq_all.iter().filter(|mq| owners.get(mq).is_some_and(|n| *n > 1)).collect();
    if !unallocated.is_empty() {
        let listed = unallocated.iter().map(|mq| short(mq)).collect::<Vec<_>>().join(", ");
        text.push_str(&format!("\nNobody consumes: {listed}\n"));
    }
    if !shared.is_empty() {
        let listed = shared.iter().map(|mq| short(mq)).collect::<Vec<_>>().join(", ");
        text.push_str(&format!("\nConsumed by more than one consumer: {listed}\n"));
    }

    let mut json = json!({
        "strategy": name,
        "topic": topic.trim(),
        "queues": mq_all.iter().map(queue_json).collect::<Vec<_>>(),
        "consumers": cid_all,
        "allocation": allocation_json,
        "unallocated": unallocated.iter().map(|mq| queue_json(mq)).collect::<Vec<_>>(),
        "allocated_more_than_once": shared.iter().map(|mq| queue_json(mq)).collect::<Vec<_>>(),
    });
    if let AllocateMessageQueueStrategy::ConsistentHash { virtual_node_count } = &strategy {
        json["virtual_node_count"] = json!(virtual_node_count);
        json["routes"] = consistent_hash_routes_json(*virtual_node_count, &mq_all, &cid_all);
    }
    Ok(Explanation { text, json })
}

fn consumer_room<'a>(strategy: &'a AllocateMessageQueueStrategy, cid: &str) -> Option<&'a str> {
    match strategy {
        AllocateMessageQueueStrategy::MachineRoomNearby { resolver, .. } => resolver.consumer_deploy_in(cid),
        _ => None,
    }
}

/// The arithmetic or rule behind the strategy, with these inputs' numbers.
fn strategy_notes(
    strategy: &AllocateMessageQueueStrategy,
    mq_all: &[MessageQueue],
    cid_all: &[String],
    allocation: &[(String, Vec<MessageQueue>)],
) -> String {
    let (m, n) = (mq_all.len(), cid_all.len());
    match strategy {
        AllocateMessageQueueStrategy::Averagely => {
            if m <= n {
                format!(
                    "AVG: M = {m} <= N = {n}: the first {m} consumer(s) take one queue each, the other {} none.\n\n",
                    n - m
                )
            } else {
                format!(
                    "AVG: M = {m}, N = {n}, M / N = {}, M % N = {}: the first {} consumer(s) take {} queues, \
                     the others {}, in contiguous blocks.\n\n",
                    m / n,
                    m % n,
                    m % n,
                    m / n + 1,
                    m / n
                )
            }
        }
        AllocateMessageQueueStrategy::AveragelyByCircle => {
            format!("AVG_BY_CIRCLE: queue j of mqAll (from 0) goes to consumer j % {n}, dealt like cards.\n\n")
        }
        AllocateMessageQueueStrategy::ByConfig { .. } => {
            "CONFIG: every consumer gets the configured list, whatever the group looks like; RocketMQ checks \
             nothing, so with several consumers each queue is consumed several times.\n\n"
                .to_string()
        }
        AllocateMessageQueueStrategy::ByMachineRoom { consumer_idcs } => {
            let idcs: Vec<&str> = consumer_idcs.iter().map(String::as_str).collect();
            // Every kept queue is owned by exactly one consumer, so the owned queues count P.
            let kept: usize = allocation.iter().map(|(_, owned)| owned.len()).sum();
            format!(
                "MACHINE_ROOM: consumer idcs {{{}}}; only queues of brokers named IDC@NAME with IDC in that set \
                 count: P = {kept} of {m}. Each consumer takes P / N = {} in blocks, then the first P % N = {} \
                 consumer(s) take one more from the tail.\n\n",
                idcs.join(", "),
                kept / n,
                kept % n
            )
        }
        AllocateMessageQueueStrategy::MachineRoomNearby { inner, resolver } => {
            let rooms_with_consumers: BTreeSet<&str> =
                cid_all.iter().filter_map(|cid| resolver.consumer_deploy_in(cid)).collect();
            let broker_rooms: BTreeSet<(&str, &str)> = mq_all
                .iter()
                .filter_map(|mq| resolver.broker_deploy_in(mq).map(|room| (&*mq.broker_name, room)))
                .collect();
            let brokers = broker_rooms.iter().map(|(b, r)| format!("{b}@{r}")).collect::<Vec<_>>().join(", ");
            let orphan_rooms: BTreeSet<&str> = broker_rooms
                .iter()
                .map(|(_, room)| *room)
                .filter(|room| !rooms_with_consumers.contains(room))
                .collect();
            format!(
                "MACHINE_ROOM_NEARBY: brokers {brokers}. Queues in a room with consumers go to that room's \
                 consumers ({} splits them); rooms without consumers ({}) are split by {} among all consumers.\n\n",
                inner.name(),
                if orphan_rooms.is_empty() {
                    "none".to_string()
                } else {
                    orphan_rooms.into_iter().collect::<Vec<_>>().join(", ")
                },
                inner.name()
            )
        }
        AllocateMessageQueueStrategy::ConsistentHash { virtual_node_count } => {
            let router = ConsistentHashRouter::new(cid_all, *virtual_node_count);
            let mut notes = format!(
                "CONSISTENT_HASH: each consumer puts {virtual_node_count} points on a ring, point k at \
                 MD5(\"<clientId>-k\") (first 4 bytes, unsigned big-endian); a queue hashes MessageQueue.toString() \
                 and belongs to the first point at or after its hash (wrapping).\n"
            );
            for mq in mq_all {
                let key = mq.to_string();
                match router.route(&key) {
                    Some(point) => notes.push_str(&format!(
                        "  {}  hash {:>10}  -> point {:>10} ({}-{})  -> {}\n",
                        short(mq),
                        md5_hash(&key),
                        point.hash,
                        point.client_id,
                        point.replica_index,
                        point.client_id
                    )),
                    None => notes.push_str(&format!(
                        "  {}  hash {:>10}  -> empty ring, nobody\n",
                        short(mq),
                        md5_hash(&key)
                    )),
                }
            }
            notes.push('\n');
            notes
        }
    }
}

fn consistent_hash_routes_json(virtual_node_count: u32, mq_all: &[MessageQueue], cid_all: &[String]) -> Value {
    let router = ConsistentHashRouter::new(cid_all, virtual_node_count);
    let routes: Vec<Value> = mq_all
        .iter()
        .map(|mq| {
            let key = mq.to_string();
            let point = router.route(&key);
            json!({
                "queue": queue_json(mq),
                "key": key,
                "hash": md5_hash(&key),
                "point_hash": point.map(|p| p.hash),
                "point": point.map(|p| format!("{}-{}", p.client_id, p.replica_index)),
                "consumer": point.map(|p| p.client_id),
            })
        })
        .collect();
    Value::Array(routes)
}

/// `rmqsim explain select`: the queue an orderly send picks.
///
/// `selector`: `hash` (arg is a `String`), `hash-int` (an `Integer`), `hash-long` (a `Long`), `random` (arg is
/// the random draw, a `u32`), `machine-room`.
pub fn explain_select(selector: &str, arg: &str, queue_count: u32) -> Result<Explanation, ExplainError> {
    if queue_count == 0 {
        return Err(error("--queues", "zero queues: the topic has no queue to select (Java divides by zero)"));
    }
    if i32::try_from(queue_count).is_err() {
        return Err(error("--queues", "more queues than a Java list can hold"));
    }
    let selector_key = selector.trim().to_ascii_lowercase().replace('_', "-");
    let parse_arg =
        |type_name: &str| error("--arg", format!("\"{arg}\" is not a Java {type_name} (a whole number in its range)"));
    let hash_arg = match selector_key.as_str() {
        "hash" => Some(SelectorArg::String(arg.to_string())),
        "hash-int" => Some(SelectorArg::Integer(arg.trim().parse().map_err(|_| parse_arg("Integer"))?)),
        "hash-long" => Some(SelectorArg::Long(arg.trim().parse().map_err(|_| parse_arg("Long"))?)),
        "random" | "machine-room" => None,
        _ => {
            return Err(error(
                "--selector",
                format!("unknown selector \"{selector}\"; valid: {}", SELECTOR_NAMES.join(", ")),
            ))
        }
    };
    if let Some(arg) = hash_arg {
        return Ok(explain_hash_select(&arg, queue_count));
    }
    if selector_key == "random" {
        let draw: u32 = arg
            .trim()
            .parse()
            .map_err(|_| error("--arg", format!("\"{arg}\" is not a random draw (0..=4294967295)")))?;
        let index = random_index(draw, queue_count).expect("queue_count checked > 0");
        let text = format!(
            "SelectMessageQueueByRandom, {queue_count} queues\n\
             RocketMQ draws new Random(currentTimeMillis).nextInt({queue_count});\n\
             rmqsim takes a draw from its seeded stream instead.\n\
             draw {draw} % {queue_count} = {index}\n\
             -> queue index {index} of the publish list (sorted by brokerName, then queueId)\n"
        );
        let json = json!({ "selector": "random", "queue_count": queue_count, "draw": draw, "index": index });
        return Ok(Explanation { text, json });
    }
    let text = format!(
        "SelectMessageQueueByMachineRoom, {queue_count} queues\n\
         RocketMQ's implementation is a stub: select() always returns null, so the send fails with\n\
         \"select message queue return null.\" (no retry for orderly sends).\n"
    );
    let json = json!({ "selector": "machine-room", "queue_count": queue_count, "index": Value::Null });
    Ok(Explanation { text, json })
}

fn explain_hash_select(arg: &SelectorArg, queue_count: u32) -> Explanation {
    let hash_code = arg.java_hash_code();
    let selection = hash_selection(hash_code, queue_count).expect("queue_count checked in 1..=i32::MAX");
    let (arg_type, arg_value, how) = match arg {
        SelectorArg::String(text) => (
            "String",
            json!(text),
            format!(
                "Java String.hashCode over {} UTF-16 unit(s): s[0]*31^(n-1) + ... + s[n-1], wrapping at 32 bits",
                text.encode_utf16().count()
            ),
        ),
        SelectorArg::Integer(value) => ("Integer", json!(value), "Integer.hashCode is the value itself".to_string()),
        SelectorArg::Long(value) => {
            ("Long", json!(value), "Long.hashCode = (int) (value ^ (value >>> 32))".to_string())
        }
    };
    let abs_step = if selection.remainder < 0 {
        format!("3. Math.abs({}) = {}   (negative, so made positive)\n", selection.remainder, selection.index)
    } else {
        "3. not negative, kept as is\n".to_string()
    };
    let text = format!(
        "SelectMessageQueueByHash, arg {arg}, {queue_count} queues\n\
         1. hashCode = {hash_code}   ({how})\n\
         2. {hash_code} % {queue_count} = {}   (Java's % keeps the sign of the dividend)\n\
         {abs_step}\
         -> queue index {} of the publish list (sorted by brokerName, then queueId)\n",
        selection.remainder, selection.index
    );
    let json = json!({
        "selector": "hash",
        "arg_type": arg_type,
        "arg": arg_value,
        "hash_code": hash_code,
        "queue_count": queue_count,
        "remainder": selection.remainder,
        "index": selection.index,
    });
    Explanation { text, json }
}

/// `rmqsim explain fault`: how long a producer with `sendLatencyFaultEnable` avoids a broker after a send that
/// took `latency_ms` (or failed, when `isolation`), for RocketMQ `version` "4.9" or "5.x".
pub fn explain_fault(latency_ms: u64, isolation: bool, version: &str) -> Result<Explanation, ExplainError> {
    let version: FaultStrategyVersion = version
        .parse()
        .map_err(|_| error("--version", format!("unknown RocketMQ version \"{version}\"; valid: 4.9, 5.x")))?;
    let looked_up = if isolation { version.isolation_latency() } else { latency_ms };
    let row = latency_table_row(looked_up, version);
    let duration = fault_duration(latency_ms, isolation, version);

    let header: Vec<String> = version.latency_max().iter().map(|v| v.to_string()).collect();
    let durations: Vec<String> = version.not_available_duration().iter().map(|v| v.to_string()).collect();
    let widths: Vec<usize> = header.iter().zip(&durations).map(|(a, b)| a.len().max(b.len())).collect();
    let line = |cells: &[String]| {
        cells.iter().zip(&widths).map(|(cell, width)| format!("{cell:>width$}")).collect::<Vec<_>>().join("  ")
    };
    let marker = row.map(|row| {
        let index = usize::try_from(row.index).unwrap_or(0);
        let offset: usize = widths[..index].iter().map(|width| width + 2).sum::<usize>() + widths[index] - 1;
        format!("{:>28}{}^\n", "", " ".repeat(offset))
    });

    let mut text = format!("MQFaultStrategy, RocketMQ {version}, ");
    if isolation {
        text.push_str(&format!(
            "send failed (isolation): looks up {looked_up} ms instead of the measured {latency_ms} ms\n"
        ));
    } else {
        text.push_str(&format!("send took {latency_ms} ms\n"));
    }
    text.push_str(&format!("{:<28}{}\n", "latencyMax (ms):", line(&header)));
    text.push_str(&format!("{:<28}{}\n", "notAvailableDuration (ms):", line(&durations)));
    match row {
        Some(row) => {
            text.push_str(&marker.unwrap_or_default());
            text.push_str(&format!(
                "Scanning from the right, the first latencyMax <= {looked_up} is {} (index {}).\n",
                row.latency_max, row.index
            ));
        }
        None => text.push_str(&format!("{looked_up} ms is below every latencyMax: no isolation.\n")),
    }
    text.push_str(&format!("-> broker not available for {duration} ms ({})\n", format_delay(duration)));
    text.push_str(match version {
        FaultStrategyVersion::V4_9 => {
            "4.9 overwrites the deadline with now + duration on every send, so a fast send ends an isolation.\n"
        }
        FaultStrategyVersion::V5 => "5.x only extends the deadline; a fast send does not end an isolation.\n",
    });
    text.push_str("Only with sendLatencyFaultEnable=true (default false); otherwise nothing is recorded.\n");

    let json = json!({
        "version": version.to_string(),
        "latency_ms": latency_ms,
        "isolation": isolation,
        "looked_up_latency_ms": looked_up,
        "row": row.map(|row| json!({
            "index": row.index,
            "latency_max": row.latency_max,
            "not_available_duration": row.not_available_duration,
        })),
        "not_available_duration_ms": duration,
        "latency_max": version.latency_max(),
        "not_available_duration": version.not_available_duration(),
    });
    Ok(Explanation { text, json })
}

/// `rmqsim explain delay-levels`: the level table of `messageDelayLevel` (RocketMQ's default when `None`) and the
/// retry schedule it gives a consumer with the default 16 retries.
pub fn explain_delay_levels(levels: Option<&str>) -> Result<Explanation, ExplainError> {
    let source = levels.unwrap_or(DEFAULT_MESSAGE_DELAY_LEVEL);
    let table = DelayLevelTable::parse(source).map_err(|parse_error| {
        error("--levels", format!("{parse_error} (a broker with this messageDelayLevel does not start)"))
    })?;
    let schedule = table.retry_schedule(DEFAULT_MAX_RECONSUME_TIMES);

    let mut text = format!("messageDelayLevel = \"{source}\"\n\n");
    text.push_str(&format!("{:>5}  {:>12}  {:>14}  {SCHEDULE_TOPIC} queue id\n", "level", "delay", "ms"));
    let mut rows = Vec::new();
    for (level, delay_ms) in table.levels() {
        let queue_id = delay_level_to_queue_id(level);
        text.push_str(&format!("{level:>5}  {:>12}  {delay_ms:>14}  {queue_id}\n", format_delay(delay_ms)));
        rows.push(json!({
            "level": level,
            "delay": format_delay(delay_ms),
            "delay_ms": delay_ms,
            "schedule_queue_id": queue_id,
        }));
    }
    let max = table.max_delay_level();
    text.push_str(&format!(
        "\nA DELAY above {max} is stored as level {max}; a DELAY <= 0 is not delayed at all.\n\
         Retries: failure n (reconsumeTimes n-1) uses level 3 + reconsumeTimes, clamped to {max}; after {} retries \
         the message goes to %DLQ%<group>.\n",
        DEFAULT_MAX_RECONSUME_TIMES
    ));
    let retry_levels: Vec<String> = schedule.steps.iter().map(|step| step.delay_level.to_string()).collect();
    text.push_str(&format!(
        "Retry levels: {}; total delay {} ms ({}).\n",
        retry_levels.join(" "),
        schedule.total_delay_ms(),
        format_delay(schedule.total_delay_ms())
    ));

    let json = json!({
        "message_delay_level": source,
        "max_delay_level": max,
        "levels": rows,
        "retry": {
            "max_reconsume_times": DEFAULT_MAX_RECONSUME_TIMES,
            "levels": schedule.steps.iter().map(|step| step.delay_level).collect::<Vec<_>>(),
            "delays_ms": schedule.steps.iter().map(|step| step.delay_ms).collect::<Vec<_>>(),
            "total_delay_ms": schedule.total_delay_ms(),
        },
    });
    Ok(Explanation { text, json })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|item| item.to_string()).collect()
    }

    fn owned_queues(explanation: &Explanation, consumer_index: usize) -> Vec<String> {
        explanation.json["allocation"][consumer_index]["queues"]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| format!("{}/{}", q["broker_name"].as_str().unwrap(), q["queue_id"]))
            .collect()
    }

    #[test]
    fn allocate_explains_averagely_with_the_spec_numbers() {
        let explanation = explain_allocate(
            "AVG",
            &strings(&["c2", "c0", "c1"]),
            &strings(&["broker-b:0-3", "broker-a:0-3"]),
            "T",
            &AllocateOptions::default(),
        )
        .unwrap();
        assert_eq!(owned_queues(&explanation, 0), ["broker-a/0", "broker-a/1", "broker-a/2"]);
        assert_eq!(owned_queues(&explanation, 1), ["broker-a/3", "broker-b/0", "broker-b/1"]);
        assert_eq!(owned_queues(&explanation, 2), ["broker-b/2", "broker-b/3"]);
        assert!(explanation.text.contains("M = 8, N = 3, M / N = 2, M % N = 2"), "{}", explanation.text);
        assert!(explanation.text.contains("c0  [broker-a/0, broker-a/1, broker-a/2]  (3)"), "{}", explanation.text);
    }

    #[test]
    fn allocate_shows_the_consistent_hash_ring_routes() {
        let explanation = explain_allocate(
            "consistent_hash",
            &strings(&["c0", "c1", "c2"]),
            &strings(&["broker-a:0-3", "broker-b:0-3"]),
            "TopicTest",
            &AllocateOptions::default(),
        )
        .unwrap();
        assert_eq!(owned_queues(&explanation, 0), ["broker-a/1", "broker-b/0"]);
        assert_eq!(explanation.json["routes"][0]["hash"], 1_987_926_524u32);
        assert_eq!(explanation.json["routes"][0]["consumer"], "c1");
        assert_eq!(explanation.json["virtual_node_count"], 10);
        assert!(explanation.text.contains("hash 1987926524"), "{}", explanation.text);
    }

    #[test]
    fn allocate_by_machine_room_nearby_prints_rooms() {
        let options = AllocateOptions {
            broker_rooms: strings(&["broker-a=r1", "broker-b=r2"]),
            consumer_rooms: strings(&["c1=r1", "c2=r1"]),
            ..AllocateOptions::default()
        };
        let explanation = explain_allocate(
            "MACHINE_ROOM_NEARBY-AVG",
            &strings(&["c1", "c2"]),
            &strings(&["broker-a:0-1", "broker-b:0-1"]),
            "T",
            &options,
        )
        .unwrap();
        assert_eq!(owned_queues(&explanation, 0), ["broker-a/0", "broker-b/0"]);
        assert_eq!(explanation.json["allocation"][1]["room"], "r1");
        assert!(explanation.text.contains("c1 (room r1)"), "{}", explanation.text);
        assert!(explanation.text.contains("rooms without consumers (r2)"), "{}", explanation.text);
    }

    #[test]
    fn allocate_by_machine_room_reports_queues_nobody_consumes() {
        let options = AllocateOptions { consumer_idcs: strings(&["room1"]), ..AllocateOptions::default() };
        let explanation = explain_allocate(
            "MACHINE_ROOM",
            &strings(&["c0"]),
            &strings(&["room1@broker-a:0", "room2@broker-b:0"]),
            "T",
            &options,
        )
        .unwrap();
        assert_eq!(owned_queues(&explanation, 0), ["room1@broker-a/0"]);
        assert!(explanation.text.contains("Nobody consumes: room2@broker-b/0"), "{}", explanation.text);
    }

    #[test]
    fn allocate_by_config_gives_everyone_the_same_list() {
        let explanation =
            explain_allocate("CONFIG", &strings(&["c0", "c1"]), &strings(&["b:0"]), "T", &AllocateOptions::default())
                .unwrap();
        assert_eq!(owned_queues(&explanation, 1), ["b/0"]);
        assert_eq!(explanation.json["allocated_more_than_once"][0]["broker_name"], "b");
    }

    #[test]
    fn allocate_rejects_bad_input_with_the_argument_named() {
        let options = AllocateOptions::default();
        let consumers = strings(&["c0"]);
        let queues = strings(&["b:0"]);
        let unknown = explain_allocate("ROUND_ROBIN", &consumers, &queues, "T", &options).unwrap_err();
        assert_eq!(unknown.argument, "--strategy");
        assert!(unknown.message.contains("AVG, AVG_BY_CIRCLE"), "{}", unknown.message);
        assert_eq!(explain_allocate("AVG", &consumers, &[], "T", &options).unwrap_err().argument, "--queue");
        assert_eq!(explain_allocate("AVG", &[], &queues, "T", &options).unwrap_err().argument, "--consumers");
        assert_eq!(explain_allocate("AVG", &consumers, &queues, " ", &options).unwrap_err().argument, "--topic");
        let twice = explain_allocate("AVG", &strings(&["c0", "c0"]), &queues, "T", &options).unwrap_err();
        assert!(twice.message.contains("twice"));
        for bad in ["broker-a", "broker-a:x", ":0", "broker-a:-1", "broker-a:3-1", "broker-a:0-99999999"] {
            let bad_queue = explain_allocate("AVG", &consumers, &strings(&[bad]), "T", &options).unwrap_err();
            assert_eq!(bad_queue.argument, "--queue", "{bad}");
        }
        let rooms = AllocateOptions { broker_rooms: strings(&["broker-a"]), ..AllocateOptions::default() };
        assert_eq!(explain_allocate("AVG", &consumers, &queues, "T", &rooms).unwrap_err().argument, "--broker-room");
        let missing = explain_allocate("MACHINE_ROOM_NEARBY-AVG", &consumers, &queues, "T", &options).unwrap_err();
        assert_eq!(missing.argument, "--broker-room");
        let nodes = AllocateOptions { virtual_node_count: Some(1_000_000), ..AllocateOptions::default() };
        assert_eq!(
            explain_allocate("CONSISTENT_HASH", &consumers, &queues, "T", &nodes).unwrap_err().argument,
            "--virtual-nodes"
        );
    }

    #[test]
    fn queue_specs_accept_single_ids_ranges_and_colons_in_broker_names() {
        assert_eq!(parse_queue_spec("broker-a:3").unwrap(), ("broker-a".to_string(), vec![3]));
        assert_eq!(parse_queue_spec("broker-a:0-2").unwrap(), ("broker-a".to_string(), vec![0, 1, 2]));
        assert_eq!(parse_queue_spec("host:10911:1").unwrap(), ("host:10911".to_string(), vec![1]));
    }

    #[test]
    fn select_shows_hash_code_remainder_and_abs() {
        let explanation = explain_select("hash", "order-1", 8).unwrap();
        assert_eq!(explanation.json["hash_code"], -1_207_111_310);
        assert_eq!(explanation.json["remainder"], -6);
        assert_eq!(explanation.json["index"], 6);
        assert!(explanation.text.contains("-1207111310 % 8 = -6"), "{}", explanation.text);
        assert!(explanation.text.contains("Math.abs(-6) = 6"), "{}", explanation.text);
        assert_eq!(explain_select("hash", "order-1", 4).unwrap().json["index"], 2);
        assert_eq!(explain_select("hash-int", "-7", 4).unwrap().json["index"], 3);
        assert_eq!(explain_select("hash", "polygenelubricants", 3).unwrap().json["index"], 2);
        assert_eq!(explain_select("hash-long", "-5000000000", 4).unwrap().json["hash_code"], 705_032_702);
    }

    #[test]
    fn select_random_and_machine_room_explain_themselves() {
        assert_eq!(explain_select("random", "11", 4).unwrap().json["index"], 3);
        let stub = explain_select("machine_room", "x", 4).unwrap();
        assert!(stub.json["index"].is_null());
        assert!(stub.text.contains("always returns null"));
    }

    #[test]
    fn select_rejects_zero_queues_unknown_selectors_and_bad_args() {
        assert_eq!(explain_select("hash", "x", 0).unwrap_err().argument, "--queues");
        let unknown = explain_select("modulo", "x", 4).unwrap_err();
        assert_eq!(unknown.argument, "--selector");
        assert!(unknown.message.contains("hash, hash-int"));
        assert_eq!(explain_select("hash-int", "3000000000", 4).unwrap_err().argument, "--arg");
        assert_eq!(explain_select("random", "-1", 4).unwrap_err().argument, "--arg");
        assert_eq!(explain_select("hash", "x", u32::MAX).unwrap_err().argument, "--queues");
    }

    #[test]
    fn fault_shows_the_table_row_used() {
        let five = explain_fault(600, false, "5.x").unwrap();
        assert_eq!(five.json["not_available_duration_ms"], 2_000);
        assert_eq!(five.json["row"]["index"], 2);
        assert!(five.text.contains("first latencyMax <= 600 is 550 (index 2)"), "{}", five.text);
        assert!(five.text.contains("not available for 2000 ms (2s)"), "{}", five.text);
        let four = explain_fault(600, false, "4.9").unwrap();
        assert_eq!(four.json["not_available_duration_ms"], 30_000);
        assert_eq!(explain_fault(0, true, "4.9").unwrap().json["not_available_duration_ms"], 600_000);
        assert_eq!(explain_fault(0, true, "5.x").unwrap().json["not_available_duration_ms"], 10_000);
        let fast = explain_fault(40, false, "5").unwrap();
        assert!(fast.json["row"].is_null());
        assert!(fast.text.contains("below every latencyMax"));
    }

    #[test]
    fn fault_rejects_an_unknown_version() {
        let unknown = explain_fault(600, false, "3.2").unwrap_err();
        assert_eq!(unknown.argument, "--version");
        assert!(unknown.message.contains("4.9, 5.x"));
    }

    #[test]
    fn delay_levels_table_lists_level_delay_ms_and_queue_id() {
        let explanation = explain_delay_levels(None).unwrap();
        assert_eq!(explanation.json["max_delay_level"], 18);
        assert_eq!(explanation.json["levels"][2]["delay_ms"], 10_000);
        assert_eq!(explanation.json["levels"][2]["schedule_queue_id"], 2);
        assert_eq!(explanation.json["levels"][17]["delay"], "2h");
        assert_eq!(explanation.json["retry"]["total_delay_ms"], 17_140_000);
        assert!(explanation.text.contains("   18            2h         7200000  17"), "{}", explanation.text);
        assert!(explanation.text.contains("(4h 45m 40s)"), "{}", explanation.text);
        let custom = explain_delay_levels(Some("1s 1d")).unwrap();
        assert_eq!(custom.json["levels"][1]["delay_ms"], 86_400_000);
    }

    #[test]
    fn delay_levels_reject_bad_tokens_by_name() {
        let bad = explain_delay_levels(Some("1s 5x")).unwrap_err();
        assert_eq!(bad.argument, "--levels");
        assert!(bad.message.contains("\"5x\""), "{}", bad.message);
        assert!(bad.message.contains("does not start"), "{}", bad.message);
        assert_eq!(explain_delay_levels(Some("")).unwrap_err().argument, "--levels");
    }
}
