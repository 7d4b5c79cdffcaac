//! `rmqsim explain ...`: thin wrappers over `rmqsim_core::explain`, text or `--json`.

use clap::{Args, Subcommand};
use rmqsim_core::explain::client::{self, AllocateOptions};
use rmqsim_core::explain::storage::{self, RecordArgs};
use rmqsim_core::explain::{ExplainError, Explanation};

use crate::exit::{Failure, BAD_ARGUMENTS};

#[derive(Args)]
pub struct Output {
    /// Print JSON instead of text
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Subcommand)]
pub enum ExplainCommand {
    /// Hex dump of a CommitLog record built from the given fields, one annotated line per field
    Record(RecordCli),
    /// Build (--host, --offset) or decode (--decode) a broker offset message id
    Msgid(MsgidCli),
    /// The ConsumeQueue tag hash code of a tag (Java String.hashCode)
    TagCode {
        tag: String,
        #[command(flatten)]
        output: Output,
    },
    /// The IndexFile hash slot of a key (e.g. `TopicTest#KEY1`)
    IndexSlot {
        key: String,
        /// maxHashSlotNum
        #[arg(long, default_value_t = 5_000_000)]
        slots: i64,
        #[command(flatten)]
        output: Output,
    },
    /// Which file (and position) holds a CommitLog or ConsumeQueue offset
    File(FileCli),
    /// Which queues each consumer gets under an allocation strategy
    Allocate(AllocateCli),
    /// Which queue a MessageQueueSelector picks
    Select {
        /// hash, hash-int, hash-long, random or machine-room
        #[arg(long)]
        selector: String,
        /// The selector argument (e.g. an order id)
        #[arg(long)]
        arg: String,
        /// Number of queues in the publish list
        #[arg(long)]
        queues: u32,
        #[command(flatten)]
        output: Output,
    },
    /// How long the latency-fault strategy isolates a broker after a send of this latency
    Fault {
        /// The measured send latency in ms
        #[arg(long)]
        latency: u64,
        /// The send failed (isolation latency instead of the measured one)
        #[arg(long)]
        isolation: bool,
        /// 4.9 (default) or 5
        #[arg(long, default_value = "4.9")]
        version: String,
        #[command(flatten)]
        output: Output,
    },
    /// The delay-level table of messageDelayLevel
    DelayLevels {
        /// A messageDelayLevel string (default: RocketMQ's 18 levels)
        #[arg(long)]
        levels: Option<String>,
        #[command(flatten)]
        output: Output,
    },
}

#[derive(Args)]
pub struct RecordCli {
    #[arg(long, default_value = "TopicTest")]
    topic: String,
    #[arg(long, default_value = "Hello")]
    body: String,
    /// A property as NAME=VALUE (repeatable)
    #[arg(long = "property", value_name = "NAME=VALUE")]
    properties: Vec<String>,
    #[arg(long, default_value_t = 0)]
    queue_id: i32,
    #[arg(long, default_value_t = 0)]
    queue_offset: i64,
    #[arg(long, default_value_t = 0)]
    physical_offset: i64,
    #[arg(long, default_value_t = 0)]
    sys_flag: i32,
    #[arg(long, default_value = "127.0.0.1:54321")]
    born_host: String,
    #[arg(long, default_value = "127.0.0.1:10911")]
    store_host: String,
    #[arg(long, default_value_t = 0)]
    born_timestamp: i64,
    #[arg(long, default_value_t = 0)]
    store_timestamp: i64,
    #[arg(long, default_value_t = 0)]
    reconsume_times: i32,
    #[command(flatten)]
    output: Output,
}

#[derive(Args)]
pub struct MsgidCli {
    /// Store host as IP:PORT (or [IPv6]:PORT)
    #[arg(long, requires = "offset", conflicts_with = "decode")]
    host: Option<String>,
    /// CommitLog physical offset
    #[arg(long, requires = "host")]
    offset: Option<i64>,
    /// An offset message id to decode
    #[arg(long)]
    decode: Option<String>,
    #[command(flatten)]
    output: Output,
}

#[derive(Args)]
pub struct FileCli {
    #[arg(long, conflicts_with = "consumequeue_offset")]
    commitlog_offset: Option<i64>,
    #[arg(long)]
    consumequeue_offset: Option<i64>,
    /// mappedFileSizeCommitLog
    #[arg(long, default_value_t = 1_073_741_824)]
    file_size: i64,
    #[command(flatten)]
    output: Output,
}

#[derive(Args)]
pub struct AllocateCli {
    /// AVG, AVG_BY_CIRCLE, CONFIG, MACHINE_ROOM, MACHINE_ROOM_NEARBY-<inner>, CONSISTENT_HASH
    #[arg(long)]
    strategy: String,
    /// Consumer client ids, comma separated
    #[arg(long, value_delimiter = ',')]
    consumers: Vec<String>,
    /// Queues as BROKER:QUEUE_ID or BROKER:FIRST-LAST, comma separated
    #[arg(long, value_delimiter = ',')]
    queues: Vec<String>,
    #[arg(long, default_value = "TopicTest")]
    topic: String,
    /// MACHINE_ROOM: a consumer IDC (repeatable)
    #[arg(long = "idc")]
    idcs: Vec<String>,
    /// MACHINE_ROOM_NEARBY: BROKER=ROOM (repeatable)
    #[arg(long = "broker-room")]
    broker_rooms: Vec<String>,
    /// MACHINE_ROOM_NEARBY: CONSUMER=ROOM (repeatable)
    #[arg(long = "consumer-room")]
    consumer_rooms: Vec<String>,
    /// CONSISTENT_HASH: virtual nodes per consumer
    #[arg(long)]
    virtual_nodes: Option<u32>,
    #[command(flatten)]
    output: Output,
}

pub fn explain(command: &ExplainCommand) -> Result<(), Failure> {
    let (result, json) = match command {
        ExplainCommand::Record(cli) => (record(cli), cli.output.json),
        ExplainCommand::Msgid(cli) => (msgid(cli), cli.output.json),
        ExplainCommand::TagCode { tag, output } => (storage::explain_tag_code(tag), output.json),
        ExplainCommand::IndexSlot { key, slots, output } => (storage::explain_index_slot(key, *slots), output.json),
        ExplainCommand::File(cli) => (file(cli), cli.output.json),
        ExplainCommand::Allocate(cli) => (allocate(cli), cli.output.json),
        ExplainCommand::Select { selector, arg, queues, output } => {
            (client::explain_select(selector, arg, *queues), output.json)
        }
        ExplainCommand::Fault { latency, isolation, version, output } => {
            (client::explain_fault(*latency, *isolation, version), output.json)
        }
        ExplainCommand::DelayLevels { levels, output } => {
            (client::explain_delay_levels(levels.as_deref()), output.json)
        }
    };
    let explanation = result.map_err(|e| Failure::new(BAD_ARGUMENTS, e.to_string()))?;
    print(&explanation, json);
    Ok(())
}

fn print(explanation: &Explanation, json: bool) {
    if json {
        println!("{}", serde_json::to_string_pretty(&explanation.json).expect("plain JSON"));
    } else {
        print!("{}", explanation.text);
        if !explanation.text.ends_with('\n') {
            println!();
        }
    }
}

fn record(cli: &RecordCli) -> Result<Explanation, ExplainError> {
    let mut properties = Vec::new();
    for property in &cli.properties {
        let (name, value) = property.split_once('=').ok_or_else(|| ExplainError {
            argument: "--property".into(),
            message: format!("`{property}` is not NAME=VALUE"),
        })?;
        properties.push((name.to_string(), value.to_string()));
    }
    storage::explain_record(&RecordArgs {
        topic: cli.topic.clone(),
        body: cli.body.clone(),
        properties,
        queue_id: cli.queue_id,
        queue_offset: cli.queue_offset,
        physical_offset: cli.physical_offset,
        sys_flag: cli.sys_flag,
        born_host: cli.born_host.clone(),
        store_host: cli.store_host.clone(),
        born_timestamp: cli.born_timestamp,
        store_timestamp: cli.store_timestamp,
        reconsume_times: cli.reconsume_times,
        ..RecordArgs::default()
    })
}

fn msgid(cli: &MsgidCli) -> Result<Explanation, ExplainError> {
    match (&cli.host, cli.offset, &cli.decode) {
        (Some(host), Some(offset), None) => storage::explain_msgid_encode(host, offset),
        (None, None, Some(id)) => storage::explain_msgid_decode(id),
        _ => Err(ExplainError {
            argument: "msgid".into(),
            message: "give either --host IP:PORT --offset N, or --decode ID".into(),
        }),
    }
}

fn file(cli: &FileCli) -> Result<Explanation, ExplainError> {
    match (cli.commitlog_offset, cli.consumequeue_offset) {
        (Some(offset), None) => storage::explain_file_for_commitlog_offset(offset, cli.file_size),
        (None, Some(offset)) => storage::explain_file_for_consumequeue_offset(offset),
        _ => Err(ExplainError {
            argument: "file".into(),
            message: "give --commitlog-offset N or --consumequeue-offset N".into(),
        }),
    }
}

fn allocate(cli: &AllocateCli) -> Result<Explanation, ExplainError> {
    let options = AllocateOptions {
        consumer_idcs: cli.idcs.clone(),
        broker_rooms: cli.broker_rooms.clone(),
        consumer_rooms: cli.consumer_rooms.clone(),
        virtual_node_count: cli.virtual_nodes,
    };
    client::explain_allocate(&cli.strategy, &cli.consumers, &cli.queues, &cli.topic, &options)
}
