//! `rmqsim query`: run a scenario to an instant, then query its messages as an operator would
//! (`mqadmin queryMsgById / queryMsgByKey / queryMsgByUniqueKey / printMsg`, `consumerProgress`).
//!
//! Exactly one of: `--msg-id ID [--topic T]`, `--key K --topic T [--begin T1] [--end T2] [--max N]`,
//! `--topic T --begin T1 --end T2`, `--progress GROUP`, `--timeline MSGID` (the message's story from the
//! run's observations), `--trace MSGID [--topic TRACE_TOPIC]` (its RocketMQ trace records). Times are
//! virtual ("90s", "5m").

use clap::Args;
use rmqsim_core::broker::broker_store_io::wall_clock_ms;
use rmqsim_core::query::{consumer_progress, query, MessageQuery, QUERY_BY_KEY_MAX_NUM};
use rmqsim_core::scenario::duration::parse_duration;
use rmqsim_core::time::Time;
use rmqsim_core::Simulation;

use crate::exit::{Failure, BAD_ARGUMENTS, CHECK_FAILED, INVALID_SCENARIO};
use crate::scenario_file;

#[derive(Args)]
pub struct QueryArgs {
    /// A scenario file, or the id of a built-in scenario (see `rmqsim list`)
    scenario: String,
    /// Virtual time to run to before querying, e.g. 90s, 5m (default: the scenario's run_for)
    #[arg(long)]
    until: Option<String>,
    /// The seed (default: the scenario's own)
    #[arg(long)]
    seed: Option<u64>,
    /// An offset msgId, or (with --topic) a UNIQ_KEY
    #[arg(long, value_name = "ID")]
    msg_id: Option<String>,
    /// A message key (KEYS), with --topic
    #[arg(long)]
    key: Option<String>,
    /// The topic (key and time queries; the fallback of a msgId query)
    #[arg(long)]
    topic: Option<String>,
    /// Virtual time the range starts at (key query: default 0; time query: required)
    #[arg(long)]
    begin: Option<String>,
    /// Virtual time the range ends at (key query: default forever; time query: required)
    #[arg(long)]
    end: Option<String>,
    /// At most this many messages per broker for a key query (brokers cap it at maxMsgsNumBatch, 64)
    #[arg(long, default_value_t = QUERY_BY_KEY_MAX_NUM)]
    max: i32,
    /// Print a consumer group's progress per queue instead
    #[arg(long, value_name = "GROUP")]
    progress: Option<String>,
    /// Print one message's timeline (send, store, transaction and delay steps, pulls, consumption)
    #[arg(long, value_name = "MSGID")]
    timeline: Option<String>,
    /// Print one message's trace records from the trace topic (--topic, default RMQ_SYS_TRACE_TOPIC)
    #[arg(long, value_name = "MSGID")]
    trace: Option<String>,
    /// Print JSON
    #[arg(long)]
    json: bool,
}

fn virtual_ms(flag: &str, text: &str) -> Result<i64, Failure> {
    let at = parse_duration(text).map_err(|e| Failure::new(BAD_ARGUMENTS, format!("--{flag}: {e}")))?;
    Ok(wall_clock_ms(Time::ZERO + at))
}

fn request(args: &QueryArgs) -> Result<Option<MessageQuery>, Failure> {
    let bad = |m: &str| Failure::new(BAD_ARGUMENTS, m.to_string());
    if args.progress.is_some() {
        if args.msg_id.is_some() || args.key.is_some() || args.topic.is_some() {
            return Err(bad("--progress takes no message query"));
        }
        return Ok(None);
    }
    if let Some(msg_id) = &args.msg_id {
        if args.key.is_some() {
            return Err(bad("give --msg-id or --key, not both"));
        }
        return Ok(Some(MessageQuery::ById { msg_id: msg_id.clone(), topic: args.topic.clone() }));
    }
    let Some(topic) = args.topic.clone() else {
        return Err(bad(
            "say what to query: --msg-id ID, --key K --topic T, --topic T --begin T1 --end T2, or --progress GROUP",
        ));
    };
    if let Some(key) = &args.key {
        let begin_ms = args.begin.as_deref().map(|t| virtual_ms("begin", t)).transpose()?.unwrap_or(0);
        let end_ms = args.end.as_deref().map(|t| virtual_ms("end", t)).transpose()?.unwrap_or(i64::MAX);
        return Ok(Some(MessageQuery::ByKey { topic, key: key.clone(), max_num: args.max, begin_ms, end_ms }));
    }
    let (Some(begin), Some(end)) = (&args.begin, &args.end) else {
        return Err(bad("a topic query needs --begin and --end (or --key)"));
    };
    Ok(Some(MessageQuery::ByTime { topic, begin_ms: virtual_ms("begin", begin)?, end_ms: virtual_ms("end", end)? }))
}

pub fn run(args: &QueryArgs) -> Result<(), Failure> {
    if args.timeline.is_some() || args.trace.is_some() {
        return story(args);
    }
    let request = request(args)?;
    let scenario = scenario_file::load(&args.scenario)?;
    let until = match &args.until {
        Some(text) => {
            Time::ZERO + parse_duration(text).map_err(|e| Failure::new(BAD_ARGUMENTS, format!("--until: {e}")))?
        }
        None => Time::ZERO + scenario.run_for(),
    };
    let mut simulation = Simulation::new(&scenario, args.seed.unwrap_or(scenario.seed))
        .map_err(|e| Failure::new(INVALID_SCENARIO, e.to_string()))?;
    simulation.run_until(until);
    let Some(request) = request else {
        let group = args.progress.as_deref().unwrap_or_default();
        let lines = consumer_progress(&simulation, group);
        if args.json {
            println!("{}", serde_json::to_string_pretty(&lines).expect("plain JSON"));
            return Ok(());
        }
        println!("consumer progress of {group} at {}", simulation.now());
        println!(
            "{:<24} {:<12} {:>5} {:>14} {:>14} {:>8}  client",
            "topic", "broker", "queue", "broker offset", "consumer offset", "diff"
        );
        for l in &lines {
            println!(
                "{:<24} {:<12} {:>5} {:>14} {:>14} {:>8}  {}",
                l.topic,
                l.broker_name,
                l.queue_id,
                l.broker_offset,
                l.consumer_offset,
                l.diff,
                l.client_id.as_deref().unwrap_or("-")
            );
        }
        println!("total diff {}", lines.iter().map(|l| l.diff).sum::<i64>());
        return Ok(());
    };
    let outcome = query(&simulation, &request);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&outcome).expect("plain JSON"));
    } else {
        for note in &outcome.notes {
            println!("# {note}");
        }
        for m in &outcome.messages {
            println!(
                "{}  {}/{}/{}@{}  msgId {}  offsetMsgId {}  tags {}  keys {}  born {}  stored {}  {}",
                m.store_timestamp,
                m.broker_name,
                m.topic,
                m.queue_id,
                m.queue_offset,
                m.msg_id.as_deref().unwrap_or("-"),
                m.offset_msg_id,
                m.tags.as_deref().unwrap_or("-"),
                m.keys.as_deref().unwrap_or("-"),
                m.born_timestamp,
                m.store_timestamp,
                m.transaction
            );
        }
        println!("{} message(s)", outcome.messages.len());
    }
    match outcome.error {
        Some(error) => Err(Failure::new(CHECK_FAILED, error)),
        None => Ok(()),
    }
}

/// `--timeline` and `--trace`.
fn story(args: &QueryArgs) -> Result<(), Failure> {
    let scenario = scenario_file::load(&args.scenario)?;
    let until = match &args.until {
        Some(text) => {
            Time::ZERO + parse_duration(text).map_err(|e| Failure::new(BAD_ARGUMENTS, format!("--until: {e}")))?
        }
        None => Time::ZERO + scenario.run_for(),
    };
    let mut simulation = Simulation::new(&scenario, args.seed.unwrap_or(scenario.seed))
        .map_err(|e| Failure::new(INVALID_SCENARIO, e.to_string()))?;
    simulation.run_until(until);
    if let Some(msg_id) = &args.timeline {
        let name = |id: u16| simulation.directory().entry(rmqsim_core::sim::node::NodeId(id)).name.clone();
        let steps = rmqsim_core::trace::timeline::timeline(simulation.observations(), msg_id, &name);
        if args.json {
            println!("{}", serde_json::to_string_pretty(&steps).expect("plain JSON"));
        } else {
            for s in &steps {
                let cost = s.cost_ms.map(|c| format!("  ({c} ms)")).unwrap_or_default();
                println!("{:>12}  {:<14} {:<18} {}{cost}", s.time.to_string(), s.node, s.step, s.detail);
            }
        }
        if steps.is_empty() {
            return Err(Failure::new(CHECK_FAILED, format!("nothing was observed about {msg_id}")));
        }
        return Ok(());
    }
    let msg_id = args.trace.as_deref().unwrap_or_default();
    let topic = args.topic.as_deref().unwrap_or(rmqsim_core::broker::topic_validator::RMQ_SYS_TRACE_TOPIC);
    let records =
        rmqsim_core::query::message_trace(&simulation, topic, msg_id).map_err(|e| Failure::new(CHECK_FAILED, e))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&records).expect("plain JSON"));
    } else {
        for r in &records {
            let bean = &r.beans[0];
            println!(
                "{}  {:<14} group {}  cost {} ms  success {}  topic {}  store host {}  {:?}",
                r.time_stamp,
                r.trace_type.name(),
                r.group_name,
                r.cost_time,
                r.success,
                bean.topic,
                bean.store_host,
                bean.msg_type
            );
        }
    }
    Ok(())
}
