//! The two message ids of RocketMQ.
//!
//! * The **offset message id** (`offsetMsgId`), made by the broker when it stores a record
//!   (`MessageDecoder.createMessageId`, the `msgIdSupplier` of `CommitLog.DefaultAppendMessageCallback`):
//!   store host IP (4 or 16 bytes) + store port (4-byte int) + CommitLog offset (8-byte long),
//!   big-endian, as upper-case hex: 32 characters for IPv4, 56 for IPv6. It says *where* the
//!   record is, so `viewMessage` can fetch it without any index (`MessageDecoder.decodeMessageId`).
//! * The **client message id** (`UNIQ_KEY`, what `SendResult.msgId` shows), made by the producer
//!   before sending (`MessageClientIDSetter.createUniqID`): IP (4 or 16) + pid (2, low 16 bits) +
//!   class-loader hash (4) + milliseconds since the start of the current month (4) + a counter
//!   (2, wraps), hex as well. It survives retries unchanged, which is why a duplicate delivery has
//!   the same `msgId` but a different `offsetMsgId`.
//!
//! Determinism: RocketMQ fills the client id from the real IP, PID, `ClassLoader.hashCode()` and the
//! wall clock. Here they are inputs ([`UniqueIdParts`], [`MessageClientIdSetter`]): the simulator
//! passes seeded fake values and virtual time; months are UTC months (see `civil_time`).

use std::net::IpAddr;

use super::civil_time;
use super::offsets::CommitLogOffset;
use super::socket_address::SocketAddress;

const HEX_DIGITS: &[u8; 16] = b"0123456789ABCDEF";

/// `UtilAll.bytes2string`: two upper-case hex digits per byte.
pub fn bytes_to_hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(HEX_DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(HEX_DIGITS[usize::from(byte & 0x0F)]));
    }
    out
}

/// `UtilAll.string2bytes`, strict: even length, hex digits only (either case, as Java upper-cases
/// first). Java maps a non-hex digit to -1 and carries on with a garbage byte; we refuse it.
pub fn hex_to_bytes(text: &str) -> Result<Vec<u8>, MessageIdError> {
    let characters: Vec<char> = text.chars().collect();
    if characters.len() % 2 != 0 {
        return Err(MessageIdError::WrongLength { length: characters.len() as u32 });
    }
    let digit = |position: usize, character: char| {
        character.to_digit(16).ok_or(MessageIdError::NotHex { position: position as u32, character })
    };
    characters
        .chunks(2)
        .enumerate()
        .map(|(i, pair)| Ok((digit(2 * i, pair[0])? * 16 + digit(2 * i + 1, pair[1])?) as u8))
        .collect()
}

/// A message id string that cannot be decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MessageIdError {
    /// Ids are 32 hex characters (IPv4) or 56 (IPv6).
    WrongLength {
        length: u32,
    },
    NotHex {
        position: u32,
        character: char,
    },
    /// The 4-byte port field holds a value `InetSocketAddress` refuses.
    PortOutOfRange {
        port: i32,
    },
}

impl std::fmt::Display for MessageIdError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MessageIdError::WrongLength { length } => {
                write!(f, "a message id is 32 hex characters (IPv4 host) or 56 (IPv6 host), this one has {length}")
            }
            MessageIdError::NotHex { position, character } => {
                write!(f, "character {character:?} at position {position} is not a hex digit (0-9, A-F)")
            }
            MessageIdError::PortOutOfRange { port } => write!(f, "the port field is {port}, outside 0..=65535"),
        }
    }
}

impl std::error::Error for MessageIdError {}

/// Decodes hex and tells IPv4 from IPv6 by length; returns the bytes and the IP width.
fn id_bytes(id: &str) -> Result<(Vec<u8>, usize), MessageIdError> {
    let length = id.chars().count();
    let ip_length = match length {
        32 => 4,
        56 => 16,
        _ => return Err(MessageIdError::WrongLength { length: length as u32 }),
    };
    Ok((hex_to_bytes(id)?, ip_length))
}

fn ip_from(bytes: &[u8]) -> IpAddr {
    match bytes.len() {
        4 => IpAddr::from(<[u8; 4]>::try_from(bytes).expect("4 bytes")),
        _ => IpAddr::from(<[u8; 16]>::try_from(bytes).expect("16 bytes")),
    }
}

fn be_u32(bytes: &[u8]) -> u32 {
    u32::from_be_bytes(bytes.try_into().expect("4 bytes"))
}

/// `createMessageId`: store host + CommitLog offset → 32 (IPv4) or 56 (IPv6) upper-case hex.
pub fn create_message_id(store_host: &SocketAddress, offset: CommitLogOffset) -> String {
    let mut bytes = Vec::with_capacity(28);
    store_host.encode_into(&mut bytes);
    bytes.extend_from_slice(&offset.0.to_be_bytes());
    bytes_to_hex(&bytes)
}

/// A decoded offset message id (`MessageId`): where the record is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MessageId {
    pub address: SocketAddress,
    pub offset: CommitLogOffset,
}

/// `decodeMessageId`: 32 characters ⇒ IPv4, 56 ⇒ IPv6.
pub fn decode_message_id(id: &str) -> Result<MessageId, MessageIdError> {
    let (bytes, ip_length) = id_bytes(id)?;
    let port = be_u32(&bytes[ip_length..ip_length + 4]) as i32;
    if !(0..=65_535).contains(&port) {
        return Err(MessageIdError::PortOutOfRange { port });
    }
    let offset = i64::from_be_bytes(bytes[ip_length + 4..].try_into().expect("8 bytes"));
    Ok(MessageId { address: SocketAddress { ip: ip_from(&bytes[..ip_length]), port }, offset: CommitLogOffset(offset) })
}

/// The five parts of a client message id (UNIQ_KEY).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UniqueIdParts {
    pub ip: IpAddr,
    /// `(short) UtilAll.getPid()`: the low 16 bits of the process id.
    pub pid: u16,
    /// `MessageClientIDSetter.class.getClassLoader().hashCode()`.
    pub class_loader_hash: i32,
    /// Milliseconds since the start of the month, as the 4 bytes on the wire read unsigned
    /// (`getNearlyTimeFromID`); Java writes an `int`, which wraps after 24.8 days.
    pub time_since_month_start: u32,
    /// The low 16 bits of the process-wide counter.
    pub counter: u16,
}

/// `createUniqID` from explicit parts: 32 hex characters (IPv4) or 56 (IPv6).
pub fn create_unique_id(parts: &UniqueIdParts) -> String {
    let mut bytes = Vec::with_capacity(28);
    match parts.ip {
        IpAddr::V4(ip) => bytes.extend_from_slice(&ip.octets()),
        IpAddr::V6(ip) => bytes.extend_from_slice(&ip.octets()),
    }
    bytes.extend_from_slice(&parts.pid.to_be_bytes());
    bytes.extend_from_slice(&parts.class_loader_hash.to_be_bytes());
    bytes.extend_from_slice(&parts.time_since_month_start.to_be_bytes());
    bytes.extend_from_slice(&parts.counter.to_be_bytes());
    bytes_to_hex(&bytes)
}

/// Splits a client message id into its parts (`getIPFromID`, `getPidFromID`, ...).
pub fn decode_unique_id(id: &str) -> Result<UniqueIdParts, MessageIdError> {
    let (bytes, ip_length) = id_bytes(id)?;
    let rest = &bytes[ip_length..];
    Ok(UniqueIdParts {
        ip: ip_from(&bytes[..ip_length]),
        pid: u16::from_be_bytes([rest[0], rest[1]]),
        class_loader_hash: be_u32(&rest[2..6]) as i32,
        time_since_month_start: be_u32(&rest[6..10]),
        counter: u16::from_be_bytes([rest[10], rest[11]]),
    })
}

/// `getIPStrFromID`: `a.b.c.d`, or for IPv6 eight groups of four lower-case hex digits
/// (`UtilAll.ipToIPv6Str` does not compress zeros).
pub fn ip_string_from_unique_id(id: &str) -> Result<String, MessageIdError> {
    Ok(match decode_unique_id(id)?.ip {
        IpAddr::V4(ip) => ip.to_string(),
        IpAddr::V6(ip) => ip.segments().iter().map(|group| format!("{group:04x}")).collect::<Vec<_>>().join(":"),
    })
}

/// `getNearlyTimeFromID`: when the id was made, assuming it is less than a month old at `now_millis`.
/// If "start of this month + span" is not in the past, the id must be from last month.
pub fn nearly_time_from_unique_id(id: &str, now_millis: i64) -> Result<i64, MessageIdError> {
    let span = i64::from(decode_unique_id(id)?.time_since_month_start);
    let mut month_start = civil_time::month_start(now_millis);
    if month_start + span >= now_millis {
        month_start = civil_time::previous_month_start(now_millis);
    }
    Ok(month_start + span)
}

/// The producer-side generator (`MessageClientIDSetter`'s static state), one per simulated client
/// process. RocketMQ's counter is JVM-wide; give every producer of one process the same instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageClientIdSetter {
    ip: IpAddr,
    pid: u16,
    class_loader_hash: i32,
    start_time: i64,
    next_start_time: i64,
    counter: i32,
}

impl MessageClientIdSetter {
    /// The static initializer: fixed prefix, month window of `now_millis`, counter 0.
    pub fn new(ip: IpAddr, pid: i32, class_loader_hash: i32, now_millis: i64) -> Self {
        MessageClientIdSetter {
            ip,
            pid: pid as u16, // (short) getPid(): keep the low 16 bits
            class_loader_hash,
            start_time: civil_time::month_start(now_millis),
            next_start_time: civil_time::next_month_start(now_millis),
            counter: 0,
        }
    }

    /// `createUniqID` at virtual time `now_millis`.
    pub fn create_unique_id(&mut self, now_millis: i64) -> String {
        if now_millis >= self.next_start_time {
            self.start_time = civil_time::month_start(now_millis);
            self.next_start_time = civil_time::next_month_start(now_millis);
        }
        // `(int)(current - startTime)`: truncates, so late in a long month the value is negative.
        let mut diff = (now_millis - self.start_time) as i32;
        // A small negative difference is clock skew (NTP); RocketMQ writes 0.
        if diff < 0 && diff > -1_000_000 {
            diff = 0;
        }
        let counter = self.counter as u16; // writeShort keeps the low 16 bits
        self.counter = self.counter.wrapping_add(1);
        create_unique_id(&UniqueIdParts {
            ip: self.ip,
            pid: self.pid,
            class_loader_hash: self.class_loader_hash,
            time_since_month_start: diff as u32,
            counter,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn offset_message_id_of_192_168_0_1_port_10911_at_one_gib() {
        // Spec §13 item 11.
        let id = create_message_id(&SocketAddress::v4(192, 168, 0, 1, 10911), CommitLogOffset(1_073_741_824));
        assert_eq!(id, "C0A8000100002A9F0000000040000000");
        let decoded = decode_message_id(&id).unwrap();
        assert_eq!(decoded.address, SocketAddress::v4(192, 168, 0, 1, 10911));
        assert_eq!(decoded.offset, CommitLogOffset(1_073_741_824));
    }

    #[test]
    fn lower_case_ids_decode_like_java_which_upper_cases_first() {
        let decoded = decode_message_id("c0a8000100002a9f0000000040000000").unwrap();
        assert_eq!(decoded.offset, CommitLogOffset(1 << 30));
    }

    #[test]
    fn ipv6_offset_message_id_is_56_characters() {
        let host = SocketAddress::parse("[2001:db8::1]:10911").unwrap();
        let id = create_message_id(&host, CommitLogOffset(255));
        assert_eq!(id, "20010DB800000000000000000000000100002A9F00000000000000FF");
        assert_eq!(id.len(), 56);
        assert_eq!(decode_message_id(&id).unwrap(), MessageId { address: host, offset: CommitLogOffset(255) });
    }

    #[test]
    fn malformed_ids_are_refused_with_the_reason() {
        assert_eq!(decode_message_id("C0A80001"), Err(MessageIdError::WrongLength { length: 8 }));
        assert_eq!(
            decode_message_id("C0A8000100002A9F00000000400000G0"),
            Err(MessageIdError::NotHex { position: 30, character: 'G' })
        );
        assert_eq!(
            decode_message_id("C0A80001FFFFFFFF0000000040000000"),
            Err(MessageIdError::PortOutOfRange { port: -1 })
        );
    }

    #[test]
    fn unique_id_is_ip_pid_class_loader_hash_month_millis_and_counter() {
        let parts = UniqueIdParts {
            ip: IpAddr::V4(Ipv4Addr::new(192, 168, 0, 1)),
            pid: 12_345,
            class_loader_hash: 0x1B6D_3586,
            time_since_month_start: 1000,
            counter: 0,
        };
        let id = create_unique_id(&parts);
        assert_eq!(id, "C0A8000130391B6D3586000003E80000");
        assert_eq!(decode_unique_id(&id), Ok(parts));
        assert_eq!(ip_string_from_unique_id(&id).unwrap(), "192.168.0.1");
    }

    #[test]
    fn ipv6_unique_id_prints_its_ip_as_eight_uncompressed_groups() {
        let parts = UniqueIdParts {
            ip: "fe80::1".parse().unwrap(),
            pid: 1,
            class_loader_hash: -1,
            time_since_month_start: 0,
            counter: 65_535,
        };
        let id = create_unique_id(&parts);
        assert_eq!(id.len(), 56);
        assert_eq!(ip_string_from_unique_id(&id).unwrap(), "fe80:0000:0000:0000:0000:0000:0000:0001");
        assert_eq!(decode_unique_id(&id).unwrap().class_loader_hash, -1);
    }

    #[test]
    fn generator_counts_millis_from_the_utc_month_start_and_increments_the_counter() {
        // 2024-02-01T00:00:01.500Z
        let now = 1_706_745_601_500;
        let mut setter = MessageClientIdSetter::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 0x1_0002, 7, now);
        let first = decode_unique_id(&setter.create_unique_id(now)).unwrap();
        let second = decode_unique_id(&setter.create_unique_id(now + 1)).unwrap();
        assert_eq!((first.pid, first.time_since_month_start, first.counter), (2, 1500, 0));
        assert_eq!((second.time_since_month_start, second.counter), (1501, 1));
    }

    #[test]
    fn generator_moves_to_the_next_month_window_when_the_month_ends() {
        let february_first = 1_706_745_600_000;
        let march_first = 1_709_251_200_000;
        let mut setter = MessageClientIdSetter::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 1, 1, february_first);
        let id = setter.create_unique_id(march_first + 5);
        assert_eq!(decode_unique_id(&id).unwrap().time_since_month_start, 5);
    }

    #[test]
    fn late_in_a_31_day_month_the_millis_field_wraps_like_a_java_int_and_still_reads_back() {
        // 2024-01-30T00:00:00Z: 29 days = 2 505 600 000 ms since Jan 1, more than i32::MAX.
        let january_first = 1_704_067_200_000;
        let now = january_first + 2_505_600_000;
        let mut setter = MessageClientIdSetter::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 1, 1, january_first);
        let id = setter.create_unique_id(now);
        assert_eq!(decode_unique_id(&id).unwrap().time_since_month_start, 2_505_600_000);
        assert_eq!(nearly_time_from_unique_id(&id, now + 10).unwrap(), now);
    }

    #[test]
    fn nearly_time_assumes_last_month_when_this_months_reading_would_be_in_the_future() {
        let march_first = 1_709_251_200_000;
        let parts = UniqueIdParts {
            ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            pid: 0,
            class_loader_hash: 0,
            time_since_month_start: 86_400_000, // one day in
            counter: 0,
        };
        let id = create_unique_id(&parts);
        // Read on March 3rd: made on March 2nd.
        assert_eq!(nearly_time_from_unique_id(&id, march_first + 2 * 86_400_000).unwrap(), march_first + 86_400_000);
        // Read on March 1st at noon: one day in is tomorrow, so it was February 2nd.
        assert_eq!(nearly_time_from_unique_id(&id, march_first + 43_200_000).unwrap(), 1_706_745_600_000 + 86_400_000);
    }
}
