//! The DLedger entry: how DLedger wraps each RocketMQ record in its log (`DLedgerEntry`,
//! `DLedgerEntryCoder`, openmessaging/dledger 0.3.1.2 as bundled by RocketMQ 4.9.8).
//!
//! ```text
//! offset  size  field
//!      0     4  magic       1 (MAGIC_1); -1 marks the blank that ends a file
//!      4     4  size        the whole entry, header included
//!      8     8  index       the entry's Raft index (0, 1, 2, ...)
//!     16     8  term        the term of the leader that appended it
//!     24     8  pos         where the entry starts in the log (DLedger checks it on append)
//!     32     4  channel     reserved, 0
//!     36     4  chainCrc    reserved by 0.3.1.2, 0
//!     40     4  bodyCrc     reserved by 0.3.1.2, 0
//!     44     4  bodySize    the RocketMQ record's length
//!     48     n  body        the RocketMQ record (its PHYSICALOFFSET field = pos + 48)
//! ```
//!
//! So a message's physical offset (its offsetMsgId, its ConsumeQueue unit) in DLedger mode is the
//! position of the record *inside* its entry, 48 bytes after the entry starts (`DLedgerCommitLog`'s
//! append hook patches it before the entry is written).

/// `DLedgerMmapFileStore.MAGIC_1`.
pub const ENTRY_MAGIC: i32 = 1;
/// `MmapFileList.BLANK_MAGIC_CODE`: written with the remaining size at the end of a full file.
pub const BLANK_MAGIC: i32 = -1;
/// `MmapFileList.MIN_BLANK_LEN`.
pub const MIN_BLANK_LEN: i64 = 8;
/// `DLedgerEntry.POS_OFFSET`.
pub const POS_OFFSET: usize = 24;
/// `DLedgerEntry.BODY_OFFSET`: the header's length.
pub const BODY_OFFSET: usize = 48;

/// The header fields of one entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EntryHeader {
    pub magic: i32,
    pub size: i32,
    pub index: i64,
    pub term: i64,
    pub pos: i64,
    pub body_size: i32,
}

/// Encode an entry around `body`.
pub fn encode_entry(index: i64, term: i64, pos: i64, body: &[u8]) -> Vec<u8> {
    let size = (BODY_OFFSET + body.len()) as i32;
    let mut out = Vec::with_capacity(size as usize);
    out.extend_from_slice(&ENTRY_MAGIC.to_be_bytes());
    out.extend_from_slice(&size.to_be_bytes());
    out.extend_from_slice(&index.to_be_bytes());
    out.extend_from_slice(&term.to_be_bytes());
    out.extend_from_slice(&pos.to_be_bytes());
    out.extend_from_slice(&0i32.to_be_bytes()); // channel
    out.extend_from_slice(&0i32.to_be_bytes()); // chainCrc
    out.extend_from_slice(&0i32.to_be_bytes()); // bodyCrc
    out.extend_from_slice(&(body.len() as i32).to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// The 8 bytes of the blank that ends a file: magic -1, then the remaining size (DLedger's order).
pub fn encode_blank(remaining: i32) -> [u8; 8] {
    let mut out = [0u8; 8];
    out[..4].copy_from_slice(&BLANK_MAGIC.to_be_bytes());
    out[4..].copy_from_slice(&remaining.to_be_bytes());
    out
}

/// What the bytes at a position of the log are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryAt {
    Entry(EntryHeader),
    /// The blank: the rest of the file is unused.
    Blank,
    /// Neither (zeros past the end, a torn write).
    Invalid,
}

/// Read the header at the start of `bytes` (which hold at least the header, or the read fails).
pub fn decode_header(bytes: &[u8]) -> EntryAt {
    let int = |at: usize| bytes.get(at..at + 4).map(|b| i32::from_be_bytes(b.try_into().expect("4 bytes")));
    let long = |at: usize| bytes.get(at..at + 8).map(|b| i64::from_be_bytes(b.try_into().expect("8 bytes")));
    match int(0) {
        Some(BLANK_MAGIC) => EntryAt::Blank,
        Some(ENTRY_MAGIC) => {
            let (Some(size), Some(index), Some(term), Some(pos), Some(body_size)) =
                (int(4), long(8), long(16), long(24), int(44))
            else {
                return EntryAt::Invalid;
            };
            if size < BODY_OFFSET as i32 || body_size != size - BODY_OFFSET as i32 || index < 0 || term < 0 {
                return EntryAt::Invalid;
            }
            EntryAt::Entry(EntryHeader { magic: ENTRY_MAGIC, size, index, term, pos, body_size })
        }
        _ => EntryAt::Invalid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_a_48_byte_header_around_the_record() {
        let entry = encode_entry(7, 3, 4096, b"record");
        assert_eq!(entry.len(), 54);
        assert_eq!(&entry[0..4], &1i32.to_be_bytes());
        assert_eq!(&entry[4..8], &54i32.to_be_bytes());
        assert_eq!(&entry[POS_OFFSET..POS_OFFSET + 8], &4096i64.to_be_bytes());
        assert_eq!(&entry[BODY_OFFSET..], b"record");
        let header = decode_header(&entry);
        assert_eq!(
            header,
            EntryAt::Entry(EntryHeader { magic: 1, size: 54, index: 7, term: 3, pos: 4096, body_size: 6 })
        );
    }

    #[test]
    fn the_blank_and_zeros_are_not_entries() {
        assert_eq!(decode_header(&encode_blank(100)), EntryAt::Blank);
        assert_eq!(decode_header(&[0u8; 48]), EntryAt::Invalid);
        assert_eq!(decode_header(&[0u8, 0, 0, 1]), EntryAt::Invalid);
    }
}
