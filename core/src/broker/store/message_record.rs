//! The CommitLog record: how one message is laid out on disk (RocketMQ's `MessageExtEncoder` /
//! `CommitLog.DefaultAppendMessageCallback` write it, `CommitLog.checkMessageAndReturnSize` and
//! `MessageDecoder.decode` read it back).
//!
//! All integers are big-endian. Fields, in order: TOTALSIZE 4, MAGICCODE 4, BODYCRC 4, QUEUEID 4,
//! FLAG 4, QUEUEOFFSET 8, PHYSICALOFFSET 8, SYSFLAG 4, BORNTIMESTAMP 8, BORNHOST 8|20,
//! STORETIMESTAMP 8, STOREHOSTADDRESS 8|20, RECONSUMETIMES 4, PREPAREDTRANSACTIONOFFSET 8,
//! body length 4 + body, topic length 1 (V1) | 2 (V2) + topic, properties length 2 + properties.
//! With IPv4 hosts and magic V1 the fixed part is 91 bytes, so a record is
//! `91 + body + topic + properties` bytes.
//!
//! Invariants: TOTALSIZE equals the encoded length; the host-width bits of SYSFLAG match the host
//! fields (they are derived from the addresses when encoding, as `asyncPutMessage` does); V1 topics
//! are at most 127 bytes, properties at most 32 767 bytes. BODYCRC is `CRC32(body) & 0x7FFFFFFF`
//! (`UtilAll.crc32` masks off the sign bit, so it is *not* the raw `java.util.zip.CRC32` value).
//!
//! Versions: 4.9.x knows only magic V1 `0xDAA320A7` and refuses topics over 127 bytes. 5.x adds
//! V2 `0xDAA320AB` (topic length as a 2-byte short) and picks it when the topic is longer than 127
//! (`autoMessageVersionOnTopicLen`, default true); the decoder here accepts both, as 5.x recovery
//! does. Not modelled: the 5.x 16-byte CRC reserve at the end (`enabledAppendPropCRC`, default off)
//! and inner batches.
//!
//! End of file: a record is appended only if `record + 8 <= remaining`; otherwise the callback
//! writes an 8-byte BLANK marker (TOTALSIZE = remaining bytes, MAGICCODE `0xCBD43194`), declares
//! the whole rest of the file written, and the record goes to the next file.

use super::message_sys_flag::{self, BORNHOST_V6_FLAG, STOREHOSTADDRESS_V6_FLAG};
use super::offsets::{CommitLogOffset, QueueOffset};
use super::properties::{escape_separators, MessageProperties};
use super::socket_address::SocketAddress;

/// Magic V1 `0xDAA320A7`: one-byte topic length.
pub const MESSAGE_MAGIC_CODE: i32 = 0xDAA3_20A7_u32 as i32;
/// Magic V2 `0xDAA320AB` (5.x only): two-byte topic length.
pub const MESSAGE_MAGIC_CODE_V2: i32 = 0xDAA3_20AB_u32 as i32;
/// The end-of-file marker `0xCBD43194`.
pub const BLANK_MAGIC_CODE: i32 = 0xCBD4_3194_u32 as i32;
/// TOTALSIZE + MAGICCODE of the blank marker: the space a file must always keep free.
pub const END_FILE_MIN_BLANK_LENGTH: i32 = 4 + 4;

pub const TOTAL_SIZE_POSITION: u32 = 0;
pub const MAGIC_CODE_POSITION: u32 = 4;
pub const BODY_CRC_POSITION: u32 = 8;
pub const QUEUE_ID_POSITION: u32 = 12;
pub const FLAG_POSITION: u32 = 16;
/// `MessageDecoder.QUEUE_OFFSET_POSITION`: patched at append time.
pub const QUEUE_OFFSET_POSITION: u32 = 20;
/// `MessageDecoder.PHY_POS_POSITION`: patched at append time.
pub const PHYSICAL_OFFSET_POSITION: u32 = 28;
/// `MessageDecoder.SYSFLAG_POSITION`.
pub const SYS_FLAG_POSITION: u32 = 36;
pub const BORN_TIMESTAMP_POSITION: u32 = 40;
pub const BORN_HOST_POSITION: u32 = 48;
/// STORETIMESTAMP when the born host is IPv4 (68 when it is IPv6); see [`store_timestamp_position`].
pub const STORE_TIMESTAMP_POSITION: u32 = 56;

/// The largest V1 topic (`Byte.MAX_VALUE`); longer topics need V2 (5.x) or are refused (4.9).
pub const MAX_TOPIC_LENGTH_V1: u32 = 127;
/// The largest V2 topic (`Short.MAX_VALUE`).
pub const MAX_TOPIC_LENGTH_V2: u32 = 32_767;
/// The largest properties string (`Short.MAX_VALUE`); beyond it a put is PROPERTIES_SIZE_EXCEEDED.
pub const MAX_PROPERTIES_LENGTH: u32 = 32_767;

/// `MessageVersion`: which magic code, hence how wide the topic length is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageVersion {
    V1,
    V2,
}

impl MessageVersion {
    /// 5.x `autoMessageVersionOnTopicLen`: V2 only when the topic does not fit a signed byte.
    /// (Java compares `topic.length()` in UTF-16 units; valid topics are ASCII, so that is the byte
    /// count.) A 4.9 broker instead refuses topics over 127 bytes before encoding (MESSAGE_ILLEGAL).
    pub fn for_topic(topic: &str) -> Self {
        if topic.len() as u64 > u64::from(MAX_TOPIC_LENGTH_V1) {
            MessageVersion::V2
        } else {
            MessageVersion::V1
        }
    }

    pub fn magic_code(self) -> i32 {
        match self {
            MessageVersion::V1 => MESSAGE_MAGIC_CODE,
            MessageVersion::V2 => MESSAGE_MAGIC_CODE_V2,
        }
    }

    pub fn topic_length_size(self) -> u32 {
        match self {
            MessageVersion::V1 => 1,
            MessageVersion::V2 => 2,
        }
    }

    pub fn max_topic_length(self) -> u32 {
        match self {
            MessageVersion::V1 => MAX_TOPIC_LENGTH_V1,
            MessageVersion::V2 => MAX_TOPIC_LENGTH_V2,
        }
    }
}

/// `UtilAll.crc32`: CRC-32 (IEEE, as `java.util.zip.CRC32`) with the top bit cleared.
pub fn body_crc(body: &[u8]) -> i32 {
    (crc32fast::hash(body) & 0x7FFF_FFFF) as i32
}

/// 8 for an IPv4 born host, 20 for IPv6.
pub fn born_host_length(sys_flag: i32) -> u32 {
    if sys_flag & BORNHOST_V6_FLAG == 0 {
        8
    } else {
        20
    }
}

/// 8 for an IPv4 store host, 20 for IPv6.
pub fn store_host_length(sys_flag: i32) -> u32 {
    if sys_flag & STOREHOSTADDRESS_V6_FLAG == 0 {
        8
    } else {
        20
    }
}

/// Where STORETIMESTAMP sits: after the born host, so 56 (IPv4) or 68 (IPv6).
pub fn store_timestamp_position(sys_flag: i32) -> u32 {
    BORN_HOST_POSITION + born_host_length(sys_flag)
}

/// `calMsgLength`: the record size for these lengths. As in Java, a non-positive body or
/// properties length counts as 0.
pub fn cal_msg_length(
    version: MessageVersion,
    sys_flag: i32,
    body_length: i64,
    topic_length: i64,
    properties_length: i64,
) -> i64 {
    let fixed = 4 // TOTALSIZE
        + 4 // MAGICCODE
        + 4 // BODYCRC
        + 4 // QUEUEID
        + 4 // FLAG
        + 8 // QUEUEOFFSET
        + 8 // PHYSICALOFFSET
        + 4 // SYSFLAG
        + 8 // BORNTIMESTAMP
        + i64::from(born_host_length(sys_flag))
        + 8 // STORETIMESTAMP
        + i64::from(store_host_length(sys_flag))
        + 4 // RECONSUMETIMES
        + 8; // PREPAREDTRANSACTIONOFFSET
    fixed
        + 4
        + body_length.max(0)
        + i64::from(version.topic_length_size())
        + topic_length
        + 2
        + properties_length.max(0)
}

/// One message as stored in the CommitLog. TOTALSIZE and MAGICCODE are not fields: they follow from
/// the rest ([`MessageRecord::total_size`], [`MessageRecord::version`]), so they cannot disagree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageRecord {
    pub version: MessageVersion,
    /// Written verbatim: [`MessageRecord::new`] and [`MessageRecord::set_body`] compute it, a test
    /// may corrupt it to model bit rot.
    pub body_crc: i32,
    pub queue_id: i32,
    /// The user flag (`Message.flag`).
    pub flag: i32,
    pub queue_offset: QueueOffset,
    pub physical_offset: CommitLogOffset,
    /// `MessageSysFlag` bits; the two host-width bits are rewritten from the hosts when encoding.
    pub sys_flag: i32,
    pub born_timestamp: i64,
    pub born_host: SocketAddress,
    pub store_timestamp: i64,
    pub store_host: SocketAddress,
    pub reconsume_times: i32,
    /// For a transaction commit/rollback: where the prepared (half) record is; else 0.
    pub prepared_transaction_offset: CommitLogOffset,
    pub body: Vec<u8>,
    pub topic: String,
    pub properties: MessageProperties,
}

/// Why a record cannot be encoded; the CommitLog maps these to `PutMessageStatus`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EncodeError {
    /// MESSAGE_ILLEGAL in RocketMQ.
    TopicTooLong { topic_bytes: u64, version: MessageVersion },
    /// PROPERTIES_SIZE_EXCEEDED in RocketMQ.
    PropertiesTooLong { properties_bytes: u64 },
    /// The record would not fit the 4-byte TOTALSIZE field.
    RecordTooLarge { record_bytes: u64 },
}

impl std::fmt::Display for EncodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EncodeError::TopicTooLong { topic_bytes, version } => write!(
                f,
                "the topic is {topic_bytes} bytes but a {version:?} record holds at most {} (RocketMQ: MESSAGE_ILLEGAL)",
                version.max_topic_length()
            ),
            EncodeError::PropertiesTooLong { properties_bytes } => write!(
                f,
                "the properties string is {properties_bytes} bytes, more than {MAX_PROPERTIES_LENGTH} \
                 (RocketMQ: PROPERTIES_SIZE_EXCEEDED)"
            ),
            EncodeError::RecordTooLarge { record_bytes } => {
                write!(f, "a record of {record_bytes} bytes does not fit the 4-byte TOTALSIZE field")
            }
        }
    }
}

impl std::error::Error for EncodeError {}

/// Why bytes are not a valid record. Recovery stops at the first one (`DispatchRequest(-1, false)`
/// or `DispatchRequest(totalSize, false)` in RocketMQ: both end the scan and truncate there).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordError {
    /// The bytes end before the record does.
    Truncated { needed: u64, available: u64 },
    /// Neither MESSAGE_MAGIC_CODE, MESSAGE_MAGIC_CODE_V2 nor BLANK_MAGIC_CODE.
    IllegalMagicCode { magic_code: i32 },
    /// TOTALSIZE or the topic length is negative (a Java array allocation would throw).
    NegativeLength { field: &'static str, value: i64 },
    /// The body does not match BODYCRC (only checked when asked: `checkCRCOnRecover`).
    BodyCrcMismatch { stored: i32, computed: i32 },
    /// TOTALSIZE disagrees with the lengths inside the record.
    TotalSizeMismatch { stored: i32, computed: i64 },
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecordError::Truncated { needed, available } => {
                write!(f, "the record needs {needed} bytes but only {available} are there")
            }
            RecordError::IllegalMagicCode { magic_code } => write!(
                f,
                "illegal magic code 0x{:08X}; a record starts with 0xDAA320A7 (V1), 0xDAA320AB (V2) or the \
                 end-of-file blank 0xCBD43194",
                *magic_code as u32
            ),
            RecordError::NegativeLength { field, value } => write!(f, "{field} is negative ({value})"),
            RecordError::BodyCrcMismatch { stored, computed } => {
                write!(f, "body CRC check failed: the record says {stored}, the body hashes to {computed}")
            }
            RecordError::TotalSizeMismatch { stored, computed } => {
                write!(f, "TOTALSIZE says {stored} bytes but the fields add up to {computed}")
            }
        }
    }
}

impl std::error::Error for RecordError {}

/// Whether decoding verifies the body CRC (`checkCRCOnRecover`, default true).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrcCheck {
    Verify,
    Skip,
}

/// What a scan of the CommitLog finds at a position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodedRecord {
    Message(Box<MessageRecord>),
    /// The end-of-file marker: the rest of this file (`total_size` bytes from here) is unused.
    Blank {
        total_size: i32,
    },
}

impl DecodedRecord {
    /// The bytes this entry occupies: the record size, or the blank's declared remainder.
    pub fn size(&self) -> i64 {
        match self {
            DecodedRecord::Message(record) => record.total_size(),
            DecodedRecord::Blank { total_size } => i64::from(*total_size),
        }
    }
}

/// One field of an encoded record, for hex-dump explanations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordField {
    /// RocketMQ's name, e.g. `QUEUEOFFSET`.
    pub name: &'static str,
    pub offset: u32,
    pub length: u32,
    /// Human-readable value, e.g. `192.168.0.1:10911`.
    pub value: String,
}

/// Appends fields and, when asked, remembers where each one went: one code path for both the bytes
/// and their annotation, so the two cannot drift apart.
struct Writer {
    bytes: Vec<u8>,
    fields: Option<Vec<RecordField>>,
}

impl Writer {
    fn put(&mut self, name: &'static str, data: &[u8], value: impl FnOnce() -> String) {
        if let Some(fields) = &mut self.fields {
            fields.push(RecordField {
                name,
                offset: self.bytes.len() as u32,
                length: data.len() as u32,
                value: value(),
            });
        }
        self.bytes.extend_from_slice(data);
    }
}

/// A readable rendering of a body: quoted text if it is short printable UTF-8, else its size.
fn describe_body(body: &[u8]) -> String {
    match std::str::from_utf8(body) {
        Ok(text) if text.chars().all(|c| !c.is_control()) => {
            if text.chars().count() > 48 {
                format!("\"{}...\" ({} bytes)", text.chars().take(48).collect::<String>(), body.len())
            } else {
                format!("\"{text}\"")
            }
        }
        _ => format!("{} bytes of binary data", body.len()),
    }
}

impl MessageRecord {
    /// A record with this topic and body, CRC and version computed, every other field zero
    /// (hosts `0.0.0.0:0`). Callers fill in the rest.
    pub fn new(topic: impl Into<String>, body: Vec<u8>) -> Self {
        let topic = topic.into();
        let unspecified = SocketAddress::v4(0, 0, 0, 0, 0);
        MessageRecord {
            version: MessageVersion::for_topic(&topic),
            body_crc: body_crc(&body),
            queue_id: 0,
            flag: 0,
            queue_offset: QueueOffset(0),
            physical_offset: CommitLogOffset(0),
            sys_flag: 0,
            born_timestamp: 0,
            born_host: unspecified,
            store_timestamp: 0,
            store_host: unspecified,
            reconsume_times: 0,
            prepared_transaction_offset: CommitLogOffset(0),
            body,
            topic,
            properties: MessageProperties::new(),
        }
    }

    /// Replaces the body and recomputes BODYCRC.
    pub fn set_body(&mut self, body: Vec<u8>) {
        self.body_crc = body_crc(&body);
        self.body = body;
    }

    /// The SYSFLAG actually written: host-width bits taken from the hosts.
    pub fn effective_sys_flag(&self) -> i32 {
        message_sys_flag::with_host_flags(self.sys_flag, self.born_host.is_ipv6(), self.store_host.is_ipv6())
    }

    /// TOTALSIZE: the encoded length in bytes.
    pub fn total_size(&self) -> i64 {
        cal_msg_length(
            self.version,
            self.effective_sys_flag(),
            self.body.len() as i64,
            self.topic.len() as i64,
            self.properties.to_properties_string().len() as i64,
        )
    }

    /// The record bytes, big-endian, exactly `total_size()` long.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        Ok(self.write(false)?.bytes)
    }

    /// [`encode`](Self::encode) into `out` (cleared first), reusing its allocation.
    pub fn encode_into(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let mut buffer = std::mem::take(out);
        buffer.clear();
        let result = self.write_into(false, buffer);
        match result {
            Ok(writer) => {
                *out = writer.bytes;
                Ok(())
            }
            Err(error) => Err(error),
        }
    }

    /// The record bytes and one annotation per field (name, offset, length, value).
    pub fn encode_annotated(&self) -> Result<(Vec<u8>, Vec<RecordField>), EncodeError> {
        let writer = self.write(true)?;
        Ok((writer.bytes, writer.fields.unwrap_or_default()))
    }

    fn write(&self, annotate: bool) -> Result<Writer, EncodeError> {
        self.write_into(annotate, Vec::new())
    }

    fn write_into(&self, annotate: bool, mut bytes: Vec<u8>) -> Result<Writer, EncodeError> {
        let properties = self.properties.to_properties_string();
        if properties.len() as u64 > u64::from(MAX_PROPERTIES_LENGTH) {
            return Err(EncodeError::PropertiesTooLong { properties_bytes: properties.len() as u64 });
        }
        if self.topic.len() as u64 > u64::from(self.version.max_topic_length()) {
            return Err(EncodeError::TopicTooLong { topic_bytes: self.topic.len() as u64, version: self.version });
        }
        let sys_flag = self.effective_sys_flag();
        let total = cal_msg_length(
            self.version,
            sys_flag,
            self.body.len() as i64,
            self.topic.len() as i64,
            properties.len() as i64,
        );
        let total_size =
            i32::try_from(total).map_err(|_| EncodeError::RecordTooLarge { record_bytes: total as u64 })?;
        // Both fit: checked against 127 / 32 767 and the i32 total above.
        let topic_length = self.topic.len() as i32;
        let body_length = self.body.len() as i32;

        bytes.reserve(total as usize);
        let mut w = Writer { bytes, fields: annotate.then(Vec::new) };
        w.put("TOTALSIZE", &total_size.to_be_bytes(), || format!("{total_size} bytes"));
        let magic = self.version.magic_code();
        w.put("MAGICCODE", &magic.to_be_bytes(), || format!("0x{:08X} (message {:?})", magic as u32, self.version));
        w.put("BODYCRC", &self.body_crc.to_be_bytes(), || {
            format!("{} (CRC32 of the body & 0x7FFFFFFF)", self.body_crc)
        });
        w.put("QUEUEID", &self.queue_id.to_be_bytes(), || self.queue_id.to_string());
        w.put("FLAG", &self.flag.to_be_bytes(), || self.flag.to_string());
        w.put("QUEUEOFFSET", &self.queue_offset.0.to_be_bytes(), || self.queue_offset.to_string());
        w.put("PHYSICALOFFSET", &self.physical_offset.0.to_be_bytes(), || self.physical_offset.to_string());
        w.put("SYSFLAG", &sys_flag.to_be_bytes(), || {
            format!("0x{:X} ({})", sys_flag, message_sys_flag::describe(sys_flag))
        });
        w.put("BORNTIMESTAMP", &self.born_timestamp.to_be_bytes(), || format!("{} ms", self.born_timestamp));
        let mut host = Vec::with_capacity(20);
        self.born_host.encode_into(&mut host);
        w.put("BORNHOST", &host, || self.born_host.to_string());
        w.put("STORETIMESTAMP", &self.store_timestamp.to_be_bytes(), || format!("{} ms", self.store_timestamp));
        host.clear();
        self.store_host.encode_into(&mut host);
        w.put("STOREHOSTADDRESS", &host, || self.store_host.to_string());
        w.put("RECONSUMETIMES", &self.reconsume_times.to_be_bytes(), || self.reconsume_times.to_string());
        w.put("PREPAREDTRANSACTIONOFFSET", &self.prepared_transaction_offset.0.to_be_bytes(), || {
            self.prepared_transaction_offset.to_string()
        });
        w.put("BODYLENGTH", &body_length.to_be_bytes(), || format!("{body_length} bytes"));
        w.put("BODY", &self.body, || describe_body(&self.body));
        match self.version {
            MessageVersion::V1 => {
                w.put("TOPICLENGTH", &[topic_length as u8], || format!("{topic_length} bytes (1-byte length, V1)"))
            }
            MessageVersion::V2 => w.put("TOPICLENGTH", &(topic_length as i16).to_be_bytes(), || {
                format!("{topic_length} bytes (2-byte length, V2)")
            }),
        }
        w.put("TOPIC", self.topic.as_bytes(), || format!("\"{}\"", self.topic));
        let properties_length = properties.len() as i16;
        w.put("PROPERTIESLENGTH", &properties_length.to_be_bytes(), || format!("{properties_length} bytes"));
        w.put("PROPERTIES", properties.as_bytes(), || format!("\"{}\"", escape_separators(&properties)));
        assert_eq!(w.bytes.len() as i64, total, "calMsgLength and the encoder disagree");
        Ok(w)
    }
}

/// Reads big-endian fields from a slice, reporting where it ran out.
struct Reader<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, length: usize) -> Result<&'a [u8], RecordError> {
        let end =
            self.position.checked_add(length).filter(|end| *end <= self.bytes.len()).ok_or(RecordError::Truncated {
                needed: self.position as u64 + length as u64,
                available: self.bytes.len() as u64,
            })?;
        let slice = &self.bytes[self.position..end];
        self.position = end;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], RecordError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn i16(&mut self) -> Result<i16, RecordError> {
        Ok(i16::from_be_bytes(self.array()?))
    }

    fn i32(&mut self) -> Result<i32, RecordError> {
        Ok(i32::from_be_bytes(self.array()?))
    }

    fn i64(&mut self) -> Result<i64, RecordError> {
        Ok(i64::from_be_bytes(self.array()?))
    }

    fn host(&mut self, length: u32) -> Result<SocketAddress, RecordError> {
        let bytes = self.take(length as usize)?;
        Ok(SocketAddress::decode(bytes).expect("host length is 8 or 20"))
    }
}

/// Reads the record or blank marker at the start of `bytes` (`checkMessageAndReturnSize`).
/// Text fields are decoded as Java does (`new String(bytes, UTF_8)`): invalid UTF-8 becomes U+FFFD.
pub fn decode(bytes: &[u8], crc_check: CrcCheck) -> Result<DecodedRecord, RecordError> {
    let mut r = Reader { bytes, position: 0 };
    let total_size = r.i32()?;
    let version = match r.i32()? {
        MESSAGE_MAGIC_CODE => MessageVersion::V1,
        MESSAGE_MAGIC_CODE_V2 => MessageVersion::V2,
        BLANK_MAGIC_CODE => return Ok(DecodedRecord::Blank { total_size }),
        magic_code => return Err(RecordError::IllegalMagicCode { magic_code }),
    };
    if total_size < 0 {
        return Err(RecordError::NegativeLength { field: "TOTALSIZE", value: i64::from(total_size) });
    }
    // 5.x checks up front that the whole record is there.
    if (bytes.len() as u64) < total_size as u64 {
        return Err(RecordError::Truncated { needed: total_size as u64, available: bytes.len() as u64 });
    }
    let body_crc_stored = r.i32()?;
    let queue_id = r.i32()?;
    let flag = r.i32()?;
    let queue_offset = QueueOffset(r.i64()?);
    let physical_offset = CommitLogOffset(r.i64()?);
    let sys_flag = r.i32()?;
    let born_timestamp = r.i64()?;
    let born_host = r.host(born_host_length(sys_flag))?;
    let store_timestamp = r.i64()?;
    let store_host = r.host(store_host_length(sys_flag))?;
    let reconsume_times = r.i32()?;
    let prepared_transaction_offset = CommitLogOffset(r.i64()?);
    let body_length = r.i32()?;
    // As in Java, a non-positive body length means "no body" (the size check below catches lies).
    let body = if body_length > 0 { r.take(body_length as usize)?.to_vec() } else { Vec::new() };
    if crc_check == CrcCheck::Verify && !body.is_empty() {
        let computed = body_crc(&body);
        if computed != body_crc_stored {
            return Err(RecordError::BodyCrcMismatch { stored: body_crc_stored, computed });
        }
    }
    let topic_length = match version {
        MessageVersion::V1 => i64::from(r.array::<1>()?[0] as i8),
        MessageVersion::V2 => i64::from(r.i16()?),
    };
    if topic_length < 0 {
        return Err(RecordError::NegativeLength { field: "TOPICLENGTH", value: topic_length });
    }
    let topic = String::from_utf8_lossy(r.take(topic_length as usize)?).into_owned();
    let properties_length = r.i16()?;
    let properties = if properties_length > 0 {
        MessageProperties::from_properties_string(&String::from_utf8_lossy(r.take(properties_length as usize)?))
    } else {
        MessageProperties::new()
    };
    let computed =
        cal_msg_length(version, sys_flag, i64::from(body_length), topic_length, i64::from(properties_length));
    if computed != i64::from(total_size) {
        return Err(RecordError::TotalSizeMismatch { stored: total_size, computed });
    }
    Ok(DecodedRecord::Message(Box::new(MessageRecord {
        version,
        body_crc: body_crc_stored,
        queue_id,
        flag,
        queue_offset,
        physical_offset,
        sys_flag,
        born_timestamp,
        born_host,
        store_timestamp,
        store_host,
        reconsume_times,
        prepared_transaction_offset,
        body,
        topic,
        properties,
    })))
}

/// What `DefaultAppendMessageCallback.doAppend` does with a record of `record_length` bytes when
/// `max_blank` bytes are left in the current file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppendFit {
    /// The record is written here.
    Fits,
    /// A blank marker declaring `max_blank` bytes is written here; the record goes to the next file.
    EndOfFile,
}

/// The record must leave room for a blank marker: `record + 8 > remaining` ⇒ END_OF_FILE.
pub fn append_fit(record_length: i64, max_blank: i64) -> AppendFit {
    if record_length + i64::from(END_FILE_MIN_BLANK_LENGTH) > max_blank {
        AppendFit::EndOfFile
    } else {
        AppendFit::Fits
    }
}

/// The 8 bytes written at end of file: TOTALSIZE = the remaining bytes, MAGICCODE = BLANK.
/// The rest of the file "may be any value" and is never read.
pub fn encode_blank(max_blank: i32) -> [u8; 8] {
    let mut out = [0u8; 8];
    out[..4].copy_from_slice(&max_blank.to_be_bytes());
    out[4..].copy_from_slice(&BLANK_MAGIC_CODE.to_be_bytes());
    out
}

/// The three fields `doAppend` patches into a pre-encoded record inside the put lock: QUEUEOFFSET,
/// PHYSICALOFFSET and STORETIMESTAMP (whose position depends on the born-host width).
pub fn patch_append_fields(
    encoded: &mut [u8],
    queue_offset: QueueOffset,
    physical_offset: CommitLogOffset,
    store_timestamp: i64,
) {
    let sys_flag_at = SYS_FLAG_POSITION as usize;
    let sys_flag = i32::from_be_bytes(encoded[sys_flag_at..sys_flag_at + 4].try_into().expect("4 bytes"));
    let store_timestamp_at = store_timestamp_position(sys_flag) as usize;
    assert!(encoded.len() >= store_timestamp_at + 8, "not an encoded record");
    let queue_offset_at = QUEUE_OFFSET_POSITION as usize;
    encoded[queue_offset_at..queue_offset_at + 8].copy_from_slice(&queue_offset.0.to_be_bytes());
    let physical_offset_at = PHYSICAL_OFFSET_POSITION as usize;
    encoded[physical_offset_at..physical_offset_at + 8].copy_from_slice(&physical_offset.0.to_be_bytes());
    encoded[store_timestamp_at..store_timestamp_at + 8].copy_from_slice(&store_timestamp.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::store::message_sys_flag::{TRANSACTION_COMMIT_TYPE, TRANSACTION_PREPARED_TYPE};

    /// Spec §13 item 12: topic `TopicTest`, 5-byte body, 10-byte properties, IPv4 hosts.
    fn topic_test_record() -> MessageRecord {
        let mut record = MessageRecord::new("TopicTest", b"Hello".to_vec());
        record.properties.put("WAIT", "false"); // "WAIT\u0001false" = 10 bytes
        record.queue_id = 3;
        record.queue_offset = QueueOffset(7);
        record.physical_offset = CommitLogOffset(1_073_741_824);
        record.born_timestamp = 1_700_000_000_000;
        record.born_host = SocketAddress::v4(10, 0, 0, 5, 54_321);
        record.store_timestamp = 1_700_000_000_123;
        record.store_host = SocketAddress::v4(192, 168, 0, 1, 10911);
        record
    }

    fn be_i64(bytes: &[u8], at: u32) -> i64 {
        i64::from_be_bytes(bytes[at as usize..at as usize + 8].try_into().unwrap())
    }

    #[test]
    fn magic_codes_are_rocketmqs_signed_ints() {
        assert_eq!(MESSAGE_MAGIC_CODE, -626_843_481);
        assert_eq!(MESSAGE_MAGIC_CODE_V2, -626_843_477);
        assert_eq!(BLANK_MAGIC_CODE, -875_286_124);
    }

    #[test]
    fn body_crc_clears_the_sign_bit_of_java_crc32() {
        // java.util.zip.CRC32 of "Hello" is 4157704578; UtilAll.crc32 masks it to 2010220930.
        assert_eq!(crc32fast::hash(b"Hello"), 4_157_704_578);
        assert_eq!(body_crc(b"Hello"), 2_010_220_930);
        assert_eq!(body_crc(b"hello"), 907_060_870);
        assert_eq!(body_crc(b""), 0);
    }

    #[test]
    fn record_of_topic_test_with_5_byte_body_is_115_bytes() {
        let record = topic_test_record();
        assert_eq!(record.properties.to_properties_string().len(), 10);
        let bytes = record.encode().unwrap();
        assert_eq!(bytes.len(), 115);
        assert_eq!(record.total_size(), 115);
        assert_eq!(&bytes[0..4], &115i32.to_be_bytes());
        assert_eq!(&bytes[4..8], &[0xDA, 0xA3, 0x20, 0xA7]);
    }

    #[test]
    fn fixed_overhead_with_ipv4_hosts_and_v1_is_91_bytes() {
        assert_eq!(cal_msg_length(MessageVersion::V1, 0, 0, 0, 0), 91);
        assert_eq!(cal_msg_length(MessageVersion::V1, BORNHOST_V6_FLAG | STOREHOSTADDRESS_V6_FLAG, 0, 0, 0), 115);
        assert_eq!(cal_msg_length(MessageVersion::V2, 0, -1, 0, -5), 92, "non-positive lengths count as 0");
    }

    #[test]
    fn offsets_sit_where_message_decoder_reads_them() {
        let bytes = topic_test_record().encode().unwrap();
        assert_eq!(be_i64(&bytes, QUEUE_OFFSET_POSITION), 7);
        assert_eq!(be_i64(&bytes, PHYSICAL_OFFSET_POSITION), 1_073_741_824);
        assert_eq!(&bytes[36..40], &0i32.to_be_bytes());
        assert_eq!(be_i64(&bytes, STORE_TIMESTAMP_POSITION), 1_700_000_000_123);
        assert_eq!(&bytes[64..72], &[192, 168, 0, 1, 0, 0, 0x2A, 0x9F]);
    }

    #[test]
    fn encode_then_decode_gives_back_the_record() {
        let mut record = topic_test_record();
        record.properties.put("TAGS", "TagA");
        record.properties.put("KEYS", "k1 k2");
        record.reconsume_times = 2;
        record.flag = -1;
        record.sys_flag = TRANSACTION_COMMIT_TYPE;
        record.prepared_transaction_offset = CommitLogOffset(4096);
        let bytes = record.encode().unwrap();
        match decode(&bytes, CrcCheck::Verify).unwrap() {
            DecodedRecord::Message(decoded) => {
                assert_eq!(*decoded, record);
                assert_eq!(decoded.encode().unwrap(), bytes, "re-encoding gives the same bytes");
            }
            other => panic!("expected a message, got {other:?}"),
        }
    }

    #[test]
    fn encode_into_reuses_the_buffer_and_gives_the_same_bytes() {
        let record = topic_test_record();
        let mut buffer = vec![9u8; 3];
        record.encode_into(&mut buffer).unwrap();
        assert_eq!(buffer, record.encode().unwrap());
    }

    #[test]
    fn ipv6_hosts_widen_the_host_fields_and_set_their_sys_flag_bits() {
        let mut record = topic_test_record();
        record.born_host = SocketAddress::parse("[fe80::1]:40000").unwrap();
        record.store_host = SocketAddress::parse("[2001:db8::7]:10911").unwrap();
        let bytes = record.encode().unwrap();
        assert_eq!(bytes.len(), 115 + 12 + 12);
        let sys_flag = i32::from_be_bytes(bytes[36..40].try_into().unwrap());
        assert_eq!(sys_flag, BORNHOST_V6_FLAG | STOREHOSTADDRESS_V6_FLAG);
        assert_eq!(store_timestamp_position(sys_flag), 68);
        assert_eq!(be_i64(&bytes, 68), record.store_timestamp);
        let DecodedRecord::Message(decoded) = decode(&bytes, CrcCheck::Verify).unwrap() else { panic!() };
        assert_eq!(decoded.store_host, record.store_host);
        assert_eq!(decoded.born_host, record.born_host);
        assert_eq!(decoded.sys_flag, sys_flag);
    }

    #[test]
    fn a_topic_longer_than_127_bytes_needs_magic_v2_with_a_two_byte_length() {
        let topic = "T".repeat(200);
        let record = MessageRecord::new(topic.clone(), b"x".to_vec());
        assert_eq!(record.version, MessageVersion::V2);
        let bytes = record.encode().unwrap();
        assert_eq!(bytes.len() as i64, 91 + 1 + 1 + 200);
        assert_eq!(&bytes[4..8], &[0xDA, 0xA3, 0x20, 0xAB]);
        let DecodedRecord::Message(decoded) = decode(&bytes, CrcCheck::Verify).unwrap() else { panic!() };
        assert_eq!(decoded.topic, topic);

        let mut forced_v1 = record.clone();
        forced_v1.version = MessageVersion::V1;
        assert_eq!(
            forced_v1.encode(),
            Err(EncodeError::TopicTooLong { topic_bytes: 200, version: MessageVersion::V1 })
        );
    }

    #[test]
    fn properties_over_32767_bytes_are_refused() {
        let mut record = MessageRecord::new("TopicTest", b"x".to_vec());
        record.properties.put("BIG", &"v".repeat(32_767));
        assert!(matches!(record.encode(), Err(EncodeError::PropertiesTooLong { properties_bytes: 32_771 })));
    }

    #[test]
    fn a_flipped_body_byte_fails_the_crc_check_only_when_asked() {
        let mut bytes = topic_test_record().encode().unwrap();
        bytes[88] ^= 0x01; // first body byte: 84 fixed + 4 body length
        assert!(matches!(decode(&bytes, CrcCheck::Verify), Err(RecordError::BodyCrcMismatch { .. })));
        assert!(matches!(decode(&bytes, CrcCheck::Skip), Ok(DecodedRecord::Message(_))));
    }

    #[test]
    fn a_wrong_total_size_or_magic_is_rejected() {
        let good = topic_test_record().encode().unwrap();
        let mut bytes = good.clone();
        bytes[0..4].copy_from_slice(&114i32.to_be_bytes());
        assert_eq!(
            decode(&bytes, CrcCheck::Verify),
            Err(RecordError::TotalSizeMismatch { stored: 114, computed: 115 })
        );
        let mut bytes = good.clone();
        bytes[4] = 0;
        assert!(matches!(decode(&bytes, CrcCheck::Verify), Err(RecordError::IllegalMagicCode { .. })));
        assert_eq!(decode(&good[..100], CrcCheck::Skip), Err(RecordError::Truncated { needed: 115, available: 100 }));
        assert_eq!(decode(&[0, 0], CrcCheck::Skip), Err(RecordError::Truncated { needed: 4, available: 2 }));
        assert_eq!(decode(&[0; 8], CrcCheck::Skip), Err(RecordError::IllegalMagicCode { magic_code: 0 }));
    }

    #[test]
    fn blank_marker_is_remaining_size_then_blank_magic() {
        let blank = encode_blank(1000);
        assert_eq!(blank, [0, 0, 0x03, 0xE8, 0xCB, 0xD4, 0x31, 0x94]);
        assert_eq!(decode(&blank, CrcCheck::Verify), Ok(DecodedRecord::Blank { total_size: 1000 }));
        assert_eq!(DecodedRecord::Blank { total_size: 1000 }.size(), 1000);
    }

    #[test]
    fn a_record_that_would_leave_less_than_8_bytes_goes_to_the_next_file() {
        assert_eq!(append_fit(115, 123), AppendFit::Fits);
        assert_eq!(append_fit(115, 122), AppendFit::EndOfFile);
        assert_eq!(append_fit(115, 115), AppendFit::EndOfFile);
    }

    #[test]
    fn append_patches_queue_offset_physical_offset_and_store_timestamp() {
        let mut record = topic_test_record();
        let mut bytes = record.encode().unwrap();
        patch_append_fields(&mut bytes, QueueOffset(42), CommitLogOffset(2048), 99);
        record.queue_offset = QueueOffset(42);
        record.physical_offset = CommitLogOffset(2048);
        record.store_timestamp = 99;
        assert_eq!(bytes, record.encode().unwrap());

        record.born_host = SocketAddress::parse("[::1]:1").unwrap();
        let mut bytes = record.encode().unwrap();
        patch_append_fields(&mut bytes, QueueOffset(1), CommitLogOffset(2), 3);
        assert_eq!(be_i64(&bytes, 68), 3);
    }

    #[test]
    fn annotation_lists_every_field_contiguously_with_rocketmq_names() {
        let mut record = topic_test_record();
        record.sys_flag = TRANSACTION_PREPARED_TYPE;
        let (bytes, fields) = record.encode_annotated().unwrap();
        let mut next = 0;
        for field in &fields {
            assert_eq!(field.offset, next, "{} is not contiguous", field.name);
            next += field.length;
        }
        assert_eq!(next as usize, bytes.len());
        let find = |name: &str| fields.iter().find(|f| f.name == name).unwrap();
        assert_eq!((find("QUEUEOFFSET").offset, find("PHYSICALOFFSET").offset), (20, 28));
        assert_eq!((find("SYSFLAG").offset, find("STORETIMESTAMP").offset), (36, 56));
        assert_eq!(find("SYSFLAG").value, "0x4 (TRANSACTION_PREPARED_TYPE)");
        assert_eq!(find("STOREHOSTADDRESS").value, "192.168.0.1:10911");
        assert_eq!(find("BODY").value, "\"Hello\"");
        assert_eq!(find("PROPERTIES").value, "\"WAIT\\u0001false\"");
        assert_eq!(fields.len(), 20);
    }
}
