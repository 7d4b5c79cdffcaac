//! Explainers for the storage engine: CommitLog records, message ids, tag codes, index slots, file names.
//!
//! Each function takes what a student would type (a topic, a host `IP:PORT`, an offset, an id),
//! validates it, computes the answer with the same code the simulated broker runs
//! (`crate::broker::store`), and returns text that shows *which bytes mean what*, plus the same facts
//! as JSON. Bad input is an [`ExplainError`] naming the argument; nothing here panics on input.

use serde_json::json;

use super::{ExplainError, Explanation};
use crate::broker::store::consume_queue_entry::{tags_string_to_tags_code, CQ_STORE_UNIT_SIZE};
use crate::broker::store::file_name::{
    commit_log_file_path, commit_log_location, consume_queue_location, roll_next_file, CONSUME_QUEUE_ENTRIES_PER_FILE,
    MAPPED_FILE_SIZE_COMMIT_LOG, MAPPED_FILE_SIZE_CONSUME_QUEUE,
};
use crate::broker::store::index_file::{
    entry_position, file_size, index_key_hash, slot_position, DEFAULT_MAX_HASH_SLOT_NUM, DEFAULT_MAX_INDEX_NUM,
};
use crate::broker::store::message_id::{
    bytes_to_hex, create_message_id, decode_message_id, decode_unique_id, hex_to_bytes, MessageIdError,
};
use crate::broker::store::message_record::{MessageRecord, MessageVersion};
use crate::broker::store::offsets::{CommitLogOffset, QueueOffset};
use crate::broker::store::properties::{NAME_VALUE_SEPARATOR, PROPERTY_SEPARATOR};
use crate::broker::store::socket_address::SocketAddress;
use crate::java::string_hash_code;

/// Field bytes shown per line of a record dump before eliding the rest.
const HEX_BYTES_PER_FIELD: usize = 16;

fn error(argument: &str, message: impl Into<String>) -> ExplainError {
    ExplainError { argument: argument.to_string(), message: message.into() }
}

/// `C0 A8 00 01`, elided after `limit` bytes.
fn spaced_hex(bytes: &[u8], limit: usize) -> String {
    let shown: Vec<String> = bytes.iter().take(limit).map(|byte| format!("{byte:02X}")).collect();
    let mut out = shown.join(" ");
    if bytes.len() > limit {
        let more = bytes.len() - limit;
        out.push_str(&format!(" ... (+{more} byte{})", if more == 1 { "" } else { "s" }));
    }
    out
}

/// One line of an id breakdown: `  bytes 4-7     00002A9F    port 10911`.
fn byte_line(first_byte: usize, hex: &str, meaning: &str) -> String {
    let range = format!("{first_byte}-{}", first_byte + hex.len() / 2 - 1);
    format!("  bytes {range:<7} {hex:<32}  {meaning}\n")
}

fn parse_host(argument: &str, text: &str) -> Result<SocketAddress, ExplainError> {
    SocketAddress::parse(text).map_err(|problem| error(argument, problem.to_string()))
}

fn non_negative(argument: &str, value: i64) -> Result<i64, ExplainError> {
    if value < 0 {
        Err(error(argument, format!("{value} is negative; offsets start at 0")))
    } else {
        Ok(value)
    }
}

/// The inputs of [`explain_record`]: one CommitLog record's fields, as typed on a command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordArgs {
    pub topic: String,
    /// The body as UTF-8 text.
    pub body: String,
    /// `(name, value)` in the order the producer set them.
    pub properties: Vec<(String, String)>,
    pub queue_id: i32,
    pub flag: i32,
    pub queue_offset: i64,
    pub physical_offset: i64,
    /// `MessageSysFlag` bits; the IPv6 host bits are set from the hosts anyway.
    pub sys_flag: i32,
    pub born_timestamp: i64,
    /// `IP:PORT` or `[IPv6]:PORT` of the producer.
    pub born_host: String,
    pub store_timestamp: i64,
    /// `IP:PORT` or `[IPv6]:PORT` of the broker.
    pub store_host: String,
    pub reconsume_times: i32,
    pub prepared_transaction_offset: i64,
}

impl Default for RecordArgs {
    /// The spec's example record: `TopicTest`, body `Hello`, no properties, IPv4 hosts.
    fn default() -> Self {
        RecordArgs {
            topic: "TopicTest".to_string(),
            body: "Hello".to_string(),
            properties: Vec::new(),
            queue_id: 0,
            flag: 0,
            queue_offset: 0,
            physical_offset: 0,
            sys_flag: 0,
            born_timestamp: 0,
            born_host: "127.0.0.1:54321".to_string(),
            store_timestamp: 0,
            store_host: "127.0.0.1:10911".to_string(),
            reconsume_times: 0,
            prepared_transaction_offset: 0,
        }
    }
}

fn record_from(args: &RecordArgs) -> Result<MessageRecord, ExplainError> {
    if args.topic.is_empty() {
        return Err(error("--topic", "the topic is empty; RocketMQ requires a non-blank topic"));
    }
    let mut record = MessageRecord::new(args.topic.clone(), args.body.as_bytes().to_vec());
    for (name, value) in &args.properties {
        if name.is_empty() {
            return Err(error("--property", "a property needs a name, as NAME=VALUE"));
        }
        let separators = [NAME_VALUE_SEPARATOR, PROPERTY_SEPARATOR];
        if name.contains(separators) || value.contains(separators) {
            return Err(error(
                "--property",
                format!("`{name}` contains \\u0001 or \\u0002, which separate properties on disk"),
            ));
        }
        record.properties.put(name, value);
    }
    record.queue_id = args.queue_id;
    record.flag = args.flag;
    record.queue_offset = QueueOffset(non_negative("--queue-offset", args.queue_offset)?);
    record.physical_offset = CommitLogOffset(non_negative("--physical-offset", args.physical_offset)?);
    record.sys_flag = args.sys_flag;
    record.born_timestamp = args.born_timestamp;
    record.born_host = parse_host("--born-host", &args.born_host)?;
    record.store_timestamp = args.store_timestamp;
    record.store_host = parse_host("--store-host", &args.store_host)?;
    record.reconsume_times = args.reconsume_times;
    record.prepared_transaction_offset =
        CommitLogOffset(non_negative("--prepared-transaction-offset", args.prepared_transaction_offset)?);
    Ok(record)
}

/// The CommitLog record these fields make, one annotated line per field (offset, length, name,
/// bytes, value), and where it would be stored.
pub fn explain_record(args: &RecordArgs) -> Result<Explanation, ExplainError> {
    let record = record_from(args)?;
    let (bytes, fields) = record.encode_annotated().map_err(|problem| {
        let argument = match problem {
            crate::broker::store::message_record::EncodeError::PropertiesTooLong { .. } => "--property",
            crate::broker::store::message_record::EncodeError::TopicTooLong { .. } => "--topic",
            crate::broker::store::message_record::EncodeError::RecordTooLarge { .. } => "--body",
        };
        error(argument, problem.to_string())
    })?;
    let properties = record.properties.to_properties_string();
    let hosts = if record.born_host.is_ipv6() || record.store_host.is_ipv6() { "IPv6 host(s)" } else { "IPv4 hosts" };
    let mut text = format!(
        "CommitLog record: {} bytes = fixed part + body {} B + topic {} B + properties {} B ({hosts}, magic {:?})\n",
        bytes.len(),
        record.body.len(),
        record.topic.len(),
        properties.len(),
        record.version
    );
    text.push_str(&format!("{:>6} {:>5}  {:<26} {:<48} value\n", "offset", "len", "field", "bytes (hex)"));
    let mut json_fields = Vec::new();
    for field in &fields {
        let raw = &bytes[field.offset as usize..(field.offset + field.length) as usize];
        text.push_str(&format!(
            "{:>6} {:>5}  {:<26} {:<48} {}\n",
            field.offset,
            field.length,
            field.name,
            spaced_hex(raw, HEX_BYTES_PER_FIELD),
            field.value
        ));
        json_fields.push(json!({
            "name": field.name,
            "offset": field.offset,
            "length": field.length,
            "hex": bytes_to_hex(raw),
            "value": field.value,
        }));
    }
    text.push_str(
        "With IPv4 hosts and magic V1 the fixed part is 91 bytes; each IPv6 host adds 12. QUEUEOFFSET (@20), \
         PHYSICALOFFSET (@28) and STORETIMESTAMP are patched in when the broker appends the record under its put lock.\n",
    );
    if record.properties.len() > 1 {
        text.push_str(
            "Properties are written in the iteration order of the Java HashMap that holds them (by bucket of \
             their hashCode), not in the order they were set.\n",
        );
    }
    if record.version == MessageVersion::V2 {
        text.push_str(
            "The topic is longer than 127 bytes, so this is a 5.x V2 record (2-byte topic length); RocketMQ 4.9 \
             refuses such topics with MESSAGE_ILLEGAL.\n",
        );
    }
    let location = commit_log_location(record.physical_offset, MAPPED_FILE_SIZE_COMMIT_LOG);
    text.push_str(&format!(
        "Stored at physical offset {}: file {} position {} (1 GiB files); its offsetMsgId is {}.\n",
        record.physical_offset,
        commit_log_file_path(&location.file_name),
        location.position,
        create_message_id(&record.store_host, record.physical_offset)
    ));
    Ok(Explanation {
        text,
        json: json!({
            "total_size": bytes.len(),
            "version": format!("{:?}", record.version),
            "properties_string": properties,
            "fields": json_fields,
            "hex": bytes_to_hex(&bytes),
            "file_name": location.file_name,
            "position": location.position,
            "offset_msg_id": create_message_id(&record.store_host, record.physical_offset),
        }),
    })
}

/// How the broker's offset message id for a record at `offset` stored by `host` is built.
pub fn explain_msgid_encode(host: &str, offset: i64) -> Result<Explanation, ExplainError> {
    let store_host = parse_host("--host", host)?;
    let offset = CommitLogOffset(non_negative("--offset", offset)?);
    let id = create_message_id(&store_host, offset);
    let ip_hex_length = if store_host.is_ipv6() { 32 } else { 8 };
    let (ip_hex, rest) = id.split_at(ip_hex_length);
    let (port_hex, offset_hex) = rest.split_at(8);
    let location = commit_log_location(offset, MAPPED_FILE_SIZE_COMMIT_LOG);
    let ip_bytes = ip_hex_length / 2;
    let mut text = format!(
        "offsetMsgId {id}\n\
         = store IP ({ip_bytes} bytes) + store port (4-byte int) + CommitLog offset (8-byte long), big-endian, \
         as hex:\n"
    );
    text.push_str(&byte_line(0, ip_hex, &format!("IP {}", store_host.ip)));
    text.push_str(&byte_line(ip_bytes, port_hex, &format!("port {}", store_host.port)));
    text.push_str(&byte_line(
        ip_bytes + 4,
        offset_hex,
        &format!("offset {offset} (file {}, position {})", location.file_name, location.position),
    ));
    text.push_str(
        "The broker makes this id when it appends the record (SendResult.offsetMsgId); anyone can decode it to \
         find the broker and the byte offset without an index. SendResult.msgId is a different id, the \
         client's UNIQ_KEY.\n",
    );
    Ok(Explanation {
        text,
        json: json!({
            "msg_id": id,
            "ip": store_host.ip.to_string(),
            "port": store_host.port,
            "offset": offset.0,
            "ip_hex": ip_hex,
            "port_hex": port_hex,
            "offset_hex": offset_hex,
            "file_name": location.file_name,
            "position": location.position,
        }),
    })
}

/// Human form of milliseconds: `12d 03:04:05.006`.
fn duration_text(millis: u32) -> String {
    let (days, rest) = (millis / 86_400_000, millis % 86_400_000);
    format!("{days}d {:02}:{:02}:{:02}.{:03}", rest / 3_600_000, rest / 60_000 % 60, rest / 1000 % 60, rest % 1000)
}

/// Reads a 32- or 56-character id both ways: as the broker's offsetMsgId and as a client UNIQ_KEY
/// (they have the same length; only where the id came from tells them apart).
pub fn explain_msgid_decode(id: &str) -> Result<Explanation, ExplainError> {
    let id = id.trim();
    let bytes_error = |problem: MessageIdError| error("--id", problem.to_string());
    let length = id.chars().count();
    if length != 32 && length != 56 {
        return Err(bytes_error(MessageIdError::WrongLength { length: length as u32 }));
    }
    hex_to_bytes(id).map_err(bytes_error)?;
    let id = id.to_ascii_uppercase();
    let ip_hex_length = if length == 32 { 8 } else { 32 };
    let ip_bytes = ip_hex_length / 2;
    let mut text = format!("{id}: {} bytes of hex.\n", length / 2);
    let offset_json = match decode_message_id(&id) {
        Ok(decoded) => {
            let location = commit_log_location(decoded.offset, MAPPED_FILE_SIZE_COMMIT_LOG);
            text.push_str("As an offsetMsgId (broker: store host + CommitLog offset):\n");
            text.push_str(&byte_line(0, &id[..ip_hex_length], &format!("store IP {}", decoded.address.ip)));
            text.push_str(&byte_line(
                ip_bytes,
                &id[ip_hex_length..ip_hex_length + 8],
                &format!("store port {}", decoded.address.port),
            ));
            text.push_str(&byte_line(
                ip_bytes + 4,
                &id[ip_hex_length + 8..],
                &format!(
                    "CommitLog offset {} (file {}, position {})",
                    decoded.offset, location.file_name, location.position
                ),
            ));
            text.push_str(&format!(
                "  viewMessage sends VIEW_MESSAGE_BY_ID to {} for offset {}.\n",
                decoded.address, decoded.offset
            ));
            json!({
                "ip": decoded.address.ip.to_string(),
                "port": decoded.address.port,
                "offset": decoded.offset.0,
                "file_name": location.file_name,
                "position": location.position,
            })
        }
        Err(problem) => {
            text.push_str(&format!("Not an offsetMsgId: {problem}.\n"));
            serde_json::Value::Null
        }
    };
    let parts = decode_unique_id(&id).map_err(bytes_error)?;
    let at = ip_hex_length; // hex index where the pid starts
    text.push_str("As a client msgId (UNIQ_KEY: IP + pid + class-loader hash + ms since month start + counter):\n");
    text.push_str(&byte_line(0, &id[..at], &format!("client IP {}", parts.ip)));
    text.push_str(&byte_line(ip_bytes, &id[at..at + 4], &format!("pid (low 16 bits) {}", parts.pid)));
    text.push_str(&byte_line(
        ip_bytes + 2,
        &id[at + 4..at + 12],
        &format!("class-loader hash {}", parts.class_loader_hash),
    ));
    text.push_str(&byte_line(
        ip_bytes + 6,
        &id[at + 12..at + 20],
        &format!(
            "{} ms after the start of the month ({})",
            parts.time_since_month_start,
            duration_text(parts.time_since_month_start)
        ),
    ));
    text.push_str(&byte_line(ip_bytes + 10, &id[at + 20..], &format!("counter {}", parts.counter)));
    text.push_str(
        "SendResult.msgId is the UNIQ_KEY; SendResult.offsetMsgId is the broker's id. A producer retry keeps the \
         UNIQ_KEY but gets a new offsetMsgId.\n",
    );
    Ok(Explanation {
        text,
        json: json!({
            "id": id,
            "as_offset_msg_id": offset_json,
            "as_unique_key": {
                "ip": parts.ip.to_string(),
                "pid": parts.pid,
                "class_loader_hash": parts.class_loader_hash,
                "millis_since_month_start": parts.time_since_month_start,
                "counter": parts.counter,
            },
        }),
    })
}

/// The ConsumeQueue tag code of a TAGS value: Java `String.hashCode()`, step by step.
pub fn explain_tag_code(tag: &str) -> Result<Explanation, ExplainError> {
    let code = tags_string_to_tags_code(Some(tag));
    let mut text = if tag.is_empty() {
        "An empty or missing tag has tag code 0; such a message matches only the subscription `*` \
         (or a tag whose hash happens to be 0).\n"
            .to_string()
    } else {
        format!("tag \"{tag}\" -> tag code {code}\nJava String.hashCode(): h = 31*h + c over UTF-16 units, wrapping at 32 bits:\n")
    };
    let units: Vec<u16> = tag.encode_utf16().collect();
    let mut hash = 0i32;
    for (i, unit) in units.iter().enumerate() {
        let next = hash.wrapping_mul(31).wrapping_add(i32::from(*unit));
        if i < 24 {
            text.push_str(&format!("  31 * {hash:>11} + {unit:>5} = {next:>11}\n"));
        }
        hash = next;
    }
    if units.len() > 24 {
        text.push_str(&format!("  ... {} more units\n", units.len() - 24));
    }
    assert_eq!(i64::from(hash), code, "the steps reproduce the tag code");
    text.push_str(&format!(
        "Stored as an 8-byte long in bytes 12-19 of each 20-byte ConsumeQueue entry: {}.\n\
         The broker keeps a message for a subscription when this code is in the subscription's code set; the \
         client then compares the tag strings to drop hash collisions.\n",
        spaced_hex(&code.to_be_bytes(), 8)
    ));
    Ok(Explanation { text, json: json!({ "tag": tag, "tag_code": code, "hex": bytes_to_hex(&code.to_be_bytes()) }) })
}

/// Which IndexFile slot a key uses, and where that slot and the entries are in the file.
pub fn explain_index_slot(key: &str, slot_count: i64) -> Result<Explanation, ExplainError> {
    let slots = u32::try_from(slot_count)
        .ok()
        .filter(|slots| (1..=i32::MAX as u32).contains(slots))
        .ok_or_else(|| error("--slots", format!("{slot_count} slots: use 1..=2147483647 (default 5000000)")))?;
    let hash_code = string_hash_code(key);
    let key_hash = index_key_hash(key);
    let slot = key_hash as u32 % slots;
    let position = slot_position(slot);
    let entries_start = entry_position(slots, 0);
    let mut text = format!(
        "key \"{key}\"\n\
         \x20 hashCode()        = {hash_code}\n\
         \x20 abs (MIN_VALUE->0) = {key_hash}\n\
         \x20 slot = {key_hash} % {slots} = {slot}\n\
         \x20 slot bytes at 40 + {slot} * 4 = {position} (4 bytes: the index of the newest entry with this slot)\n\
         Entries start at byte 40 + {slots} * 4 = {entries_start}; entry n (n >= 1) is at {entries_start} + n * 20, \
         so the first key written goes to byte {first}.\n",
        first = entries_start + 20,
    );
    if !key.contains('#') {
        text.push_str("IndexService looks keys up as `topic#key` (e.g. TopicTest#KEY1); include the topic.\n");
    }
    if slots == DEFAULT_MAX_HASH_SLOT_NUM {
        text.push_str(&format!(
            "With the defaults (5000000 slots, 20000000 entries) an IndexFile is {} bytes.\n",
            file_size(DEFAULT_MAX_HASH_SLOT_NUM, DEFAULT_MAX_INDEX_NUM)
        ));
    }
    Ok(Explanation {
        text,
        json: json!({
            "key": key,
            "hash_code": hash_code,
            "key_hash": key_hash,
            "slot_count": slots,
            "slot": slot,
            "slot_position": position,
            "entries_start": entries_start,
            "first_entry_position": entries_start + 20,
        }),
    })
}

/// Which CommitLog file holds a physical offset, and at which position.
pub fn explain_file_for_commitlog_offset(offset: i64, file_size: i64) -> Result<Explanation, ExplainError> {
    let offset = CommitLogOffset(non_negative("--offset", offset)?);
    if !(1..=i64::from(i32::MAX)).contains(&file_size) {
        return Err(error(
            "--file-size",
            format!("{file_size} bytes: a CommitLog file size is 1..=2147483647 (default 1073741824 = 1 GiB)"),
        ));
    }
    let location = commit_log_location(offset, file_size);
    let next = roll_next_file(offset, file_size);
    let text = format!(
        "CommitLog offset {offset} with {file_size}-byte files:\n\
         \x20 file start = {offset} - {offset} % {file_size} = {start}\n\
         \x20 file name  = {path} (the start offset, 20 digits zero-padded)\n\
         \x20 position   = {offset} % {file_size} = {position}\n\
         \x20 file #{index} counting from 0; the next file starts at {next}.\n\
         A record never straddles two files: if it does not fit with 8 bytes to spare, the broker writes an \
         8-byte end-of-file blank (magic 0xCBD43194) and puts the record at the start of the next file.\n",
        start = location.file_from_offset,
        path = commit_log_file_path(&location.file_name),
        position = location.position,
        index = location.file_index,
        next = next,
    );
    Ok(Explanation {
        text,
        json: json!({
            "offset": offset.0,
            "file_size": file_size,
            "file_from_offset": location.file_from_offset,
            "file_name": location.file_name,
            "file_index": location.file_index,
            "position": location.position,
            "next_file_from_offset": next.0,
        }),
    })
}

/// Which ConsumeQueue file holds a queue (logical) offset, and at which byte.
pub fn explain_file_for_consumequeue_offset(offset: i64) -> Result<Explanation, ExplainError> {
    let offset = non_negative("--offset", offset)?;
    if offset > i64::MAX / CQ_STORE_UNIT_SIZE {
        return Err(error("--offset", format!("{offset} is too large: offset * 20 must fit a 64-bit long")));
    }
    let location = consume_queue_location(QueueOffset(offset), MAPPED_FILE_SIZE_CONSUME_QUEUE);
    let byte_offset = offset * CQ_STORE_UNIT_SIZE;
    let text = format!(
        "ConsumeQueue offset {offset} (the {ordinal} message of its queue):\n\
         \x20 entry bytes = {offset} * 20 = {byte_offset}\n\
         \x20 file start  = {byte_offset} - {byte_offset} % {file_size} = {start}\n\
         \x20 file name   = consumequeue/<topic>/<queueId>/{name}\n\
         \x20 position    = {position} (entry {entry} of {per_file} in that file, counting from 0)\n\
         Each 20-byte entry holds the CommitLog offset (8), the record size (4) and the tag code (8).\n",
        ordinal = ordinal(offset + 1),
        file_size = MAPPED_FILE_SIZE_CONSUME_QUEUE,
        start = location.file_from_offset,
        name = location.file_name,
        position = location.position,
        entry = location.position / CQ_STORE_UNIT_SIZE,
        per_file = CONSUME_QUEUE_ENTRIES_PER_FILE,
    );
    Ok(Explanation {
        text,
        json: json!({
            "offset": offset,
            "byte_offset": byte_offset,
            "file_from_offset": location.file_from_offset,
            "file_name": location.file_name,
            "file_index": location.file_index,
            "position": location.position,
            "entry_in_file": location.position / CQ_STORE_UNIT_SIZE,
        }),
    })
}

/// `1st`, `2nd`, `3rd`, `11th`, `300000th`, ...
fn ordinal(n: i64) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_explanation_lists_every_field_of_the_115_byte_example() {
        let args = RecordArgs {
            properties: vec![("WAIT".to_string(), "false".to_string())],
            physical_offset: 1_073_741_824,
            store_host: "192.168.0.1:10911".to_string(),
            ..RecordArgs::default()
        };
        let explanation = explain_record(&args).unwrap();
        assert_eq!(explanation.json["total_size"], 115);
        assert_eq!(explanation.json["fields"].as_array().unwrap().len(), 20);
        assert_eq!(explanation.json["fields"][5]["name"], "QUEUEOFFSET");
        assert_eq!(explanation.json["fields"][5]["offset"], 20);
        assert_eq!(explanation.json["offset_msg_id"], "C0A8000100002A9F0000000040000000");
        assert!(explanation.text.contains("    56     8  STORETIMESTAMP"), "{}", explanation.text);
        assert!(explanation.text.contains("DA A3 20 A7"));
        assert!(explanation.text.contains("file commitlog/00000000001073741824 position 0"));
    }

    #[test]
    fn record_explanation_rejects_bad_hosts_offsets_and_properties() {
        let bad_host = RecordArgs { store_host: "broker-a:10911".to_string(), ..RecordArgs::default() };
        assert_eq!(explain_record(&bad_host).unwrap_err().argument, "--store-host");
        let negative = RecordArgs { queue_offset: -1, ..RecordArgs::default() };
        assert_eq!(explain_record(&negative).unwrap_err().argument, "--queue-offset");
        let separator = RecordArgs { properties: vec![("A".into(), "x\u{2}y".into())], ..RecordArgs::default() };
        assert_eq!(explain_record(&separator).unwrap_err().argument, "--property");
        let huge = RecordArgs { properties: vec![("A".into(), "v".repeat(40_000))], ..RecordArgs::default() };
        assert!(explain_record(&huge).unwrap_err().message.contains("PROPERTIES_SIZE_EXCEEDED"));
        let empty = RecordArgs { topic: String::new(), ..RecordArgs::default() };
        assert_eq!(explain_record(&empty).unwrap_err().argument, "--topic");
    }

    #[test]
    fn long_topics_are_explained_as_v2_records() {
        let args = RecordArgs { topic: "T".repeat(130), ..RecordArgs::default() };
        let explanation = explain_record(&args).unwrap();
        assert_eq!(explanation.json["version"], "V2");
        assert!(explanation.text.contains("RocketMQ 4.9"));
    }

    #[test]
    fn msgid_encode_names_the_ip_port_and_offset_bytes() {
        let explanation = explain_msgid_encode("192.168.0.1:10911", 1_073_741_824).unwrap();
        assert_eq!(explanation.json["msg_id"], "C0A8000100002A9F0000000040000000");
        assert_eq!(explanation.json["port_hex"], "00002A9F");
        assert!(explanation.text.contains("bytes 0-3     C0A80001"), "{}", explanation.text);
        assert!(explanation.text.contains("port 10911"));
        assert!(explanation.text.contains("position 0"));
    }

    #[test]
    fn msgid_encode_supports_ipv6_and_rejects_bad_input() {
        let explanation = explain_msgid_encode("[::1]:10911", 5).unwrap();
        assert_eq!(explanation.json["msg_id"].as_str().unwrap().len(), 56);
        assert_eq!(explain_msgid_encode("1.2.3.4", 0).unwrap_err().argument, "--host");
        assert_eq!(explain_msgid_encode("1.2.3.400:1", 0).unwrap_err().argument, "--host");
        assert_eq!(explain_msgid_encode("1.2.3.4:1", -5).unwrap_err().argument, "--offset");
    }

    #[test]
    fn msgid_decode_reads_the_id_as_offset_id_and_as_unique_key() {
        let explanation = explain_msgid_decode("c0a8000100002a9f0000000040000000").unwrap();
        assert_eq!(explanation.json["as_offset_msg_id"]["port"], 10911);
        assert_eq!(explanation.json["as_offset_msg_id"]["offset"], 1_073_741_824i64);
        assert_eq!(explanation.json["as_unique_key"]["pid"], 0);
        assert!(explanation.text.contains("store IP 192.168.0.1"), "{}", explanation.text);
        assert!(explanation.text.contains("VIEW_MESSAGE_BY_ID to 192.168.0.1:10911"));
    }

    #[test]
    fn msgid_decode_of_a_unique_key_with_a_huge_port_field_is_only_a_unique_key() {
        let explanation = explain_msgid_decode("C0A8000130391B6D3586000003E80000").unwrap();
        assert!(explanation.json["as_offset_msg_id"].is_null());
        assert_eq!(explanation.json["as_unique_key"]["pid"], 12_345);
        assert_eq!(explanation.json["as_unique_key"]["millis_since_month_start"], 1000);
        assert!(explanation.text.contains("(0d 00:00:01.000)"), "{}", explanation.text);
    }

    #[test]
    fn msgid_decode_rejects_wrong_length_and_non_hex() {
        let short = explain_msgid_decode("C0A80001").unwrap_err();
        assert_eq!(short.argument, "--id");
        assert!(short.message.contains("32 hex characters"));
        let not_hex = explain_msgid_decode("Z0A8000100002A9F0000000040000000").unwrap_err();
        assert!(not_hex.message.contains("'Z'"), "{}", not_hex.message);
    }

    #[test]
    fn tag_code_of_tag_a_is_2598919_with_its_hash_steps() {
        let explanation = explain_tag_code("TagA").unwrap();
        assert_eq!(explanation.json["tag_code"], 2_598_919);
        assert!(explanation.text.contains("31 *       83834 +    65 =     2598919"), "{}", explanation.text);
        assert_eq!(explain_tag_code("").unwrap().json["tag_code"], 0);
        assert_eq!(explain_tag_code("order-1").unwrap().json["tag_code"], -1_207_111_310);
    }

    #[test]
    fn index_slot_of_topic_test_key1_is_1969516() {
        let explanation = explain_index_slot("TopicTest#KEY1", 5_000_000).unwrap();
        assert_eq!(explanation.json["slot"], 1_969_516);
        assert_eq!(explanation.json["first_entry_position"], 20_000_060);
        assert!(explanation.text.contains("420000040 bytes"));
        assert!(explain_index_slot("KEY1", 8).unwrap().text.contains("topic#key"));
        assert_eq!(explain_index_slot("k", 0).unwrap_err().argument, "--slots");
        assert_eq!(explain_index_slot("k", 1 << 40).unwrap_err().argument, "--slots");
    }

    #[test]
    fn commitlog_offset_1073741924_is_in_the_second_file_at_100() {
        let explanation = explain_file_for_commitlog_offset(1_073_741_924, 1_073_741_824).unwrap();
        assert_eq!(explanation.json["file_name"], "00000000001073741824");
        assert_eq!(explanation.json["position"], 100);
        assert_eq!(explanation.json["next_file_from_offset"], 2_147_483_648i64);
        assert_eq!(explain_file_for_commitlog_offset(-1, 1024).unwrap_err().argument, "--offset");
        assert_eq!(explain_file_for_commitlog_offset(0, 0).unwrap_err().argument, "--file-size");
    }

    #[test]
    fn consumequeue_offsets_299999_and_300000_straddle_the_first_file_boundary() {
        let last = explain_file_for_consumequeue_offset(299_999).unwrap();
        assert_eq!(last.json["file_name"], "00000000000000000000");
        assert_eq!(last.json["position"], 5_999_980);
        assert!(last.text.contains("the 300000th message"), "{}", last.text);
        assert!(last.text.contains("entry 299999 of 300000"));
        let next = explain_file_for_consumequeue_offset(300_000).unwrap();
        assert_eq!(next.json["file_name"], "00000000000006000000");
        assert_eq!(next.json["position"], 0);
        assert_eq!(explain_file_for_consumequeue_offset(-3).unwrap_err().argument, "--offset");
        assert_eq!(explain_file_for_consumequeue_offset(i64::MAX).unwrap_err().argument, "--offset");
    }

    #[test]
    fn ordinals_follow_english_rules() {
        assert_eq!([ordinal(1), ordinal(2), ordinal(3), ordinal(4)], ["1st", "2nd", "3rd", "4th"]);
        assert_eq!([ordinal(11), ordinal(12), ordinal(13), ordinal(21)], ["11th", "12th", "13th", "21st"]);
    }
}
