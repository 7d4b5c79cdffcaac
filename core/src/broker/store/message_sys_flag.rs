//! `MessageSysFlag`: the 4-byte SYSFLAG field of every CommitLog record.
//!
//! Bit 0 compressed body, bit 1 multi-tags topic, bits 2-3 the transaction type (NOT, PREPARED,
//! COMMIT, ROLLBACK), bit 4 born host is IPv6, bit 5 store host is IPv6, bit 6 batch needs unwrap,
//! bit 7 inner batch, bits 8-10 compression type (LZ4 / ZSTD / ZLIB). Values are RocketMQ's
//! (`common/.../sysflag/MessageSysFlag.java`, identical in 4.9.8 and 5.x).
//!
//! The transaction type decides dispatch: PREPARED and ROLLBACK records get queue offset 0 and
//! never enter a ConsumeQueue; ROLLBACK records are not indexed either.

pub const COMPRESSED_FLAG: i32 = 0x1;
pub const MULTI_TAGS_FLAG: i32 = 0x1 << 1;
pub const TRANSACTION_NOT_TYPE: i32 = 0;
pub const TRANSACTION_PREPARED_TYPE: i32 = 0x1 << 2;
pub const TRANSACTION_COMMIT_TYPE: i32 = 0x2 << 2;
pub const TRANSACTION_ROLLBACK_TYPE: i32 = 0x3 << 2;
pub const BORNHOST_V6_FLAG: i32 = 0x1 << 4;
pub const STOREHOSTADDRESS_V6_FLAG: i32 = 0x1 << 5;
pub const NEED_UNWRAP_FLAG: i32 = 0x1 << 6;
pub const INNER_BATCH_FLAG: i32 = 0x1 << 7;
pub const COMPRESSION_LZ4_TYPE: i32 = 0x1 << 8;
pub const COMPRESSION_ZSTD_TYPE: i32 = 0x2 << 8;
pub const COMPRESSION_ZLIB_TYPE: i32 = 0x3 << 8;
pub const COMPRESSION_TYPE_COMPARATOR: i32 = 0x7 << 8;

/// The two transaction bits (`getTransactionValue`): one of the four `TRANSACTION_*` values.
pub fn transaction_value(flag: i32) -> i32 {
    flag & TRANSACTION_ROLLBACK_TYPE
}

/// Replaces the transaction bits, keeping the others (`resetTransactionValue`).
pub fn reset_transaction_value(flag: i32, transaction_type: i32) -> i32 {
    (flag & !TRANSACTION_ROLLBACK_TYPE) | transaction_type
}

pub fn clear_compressed_flag(flag: i32) -> i32 {
    flag & !COMPRESSED_FLAG
}

/// Sets or clears the two host-width bits to match the actual addresses, as
/// `CommitLog.asyncPutMessage` does just before encoding (`setBornHostV6Flag` / `setStoreHostAddressV6Flag`).
pub fn with_host_flags(flag: i32, born_host_is_v6: bool, store_host_is_v6: bool) -> i32 {
    let mut flag = flag & !(BORNHOST_V6_FLAG | STOREHOSTADDRESS_V6_FLAG);
    if born_host_is_v6 {
        flag |= BORNHOST_V6_FLAG;
    }
    if store_host_is_v6 {
        flag |= STOREHOSTADDRESS_V6_FLAG;
    }
    flag
}

/// RocketMQ's name for the transaction type, for explanations.
pub fn transaction_type_name(flag: i32) -> &'static str {
    match transaction_value(flag) {
        TRANSACTION_PREPARED_TYPE => "TRANSACTION_PREPARED_TYPE",
        TRANSACTION_COMMIT_TYPE => "TRANSACTION_COMMIT_TYPE",
        TRANSACTION_ROLLBACK_TYPE => "TRANSACTION_ROLLBACK_TYPE",
        _ => "TRANSACTION_NOT_TYPE",
    }
}

/// Every set bit named, transaction type always included: `TRANSACTION_NOT_TYPE|BORNHOST_V6_FLAG`.
pub fn describe(flag: i32) -> String {
    let mut names = vec![transaction_type_name(flag)];
    let bits = [
        (COMPRESSED_FLAG, "COMPRESSED_FLAG"),
        (MULTI_TAGS_FLAG, "MULTI_TAGS_FLAG"),
        (BORNHOST_V6_FLAG, "BORNHOST_V6_FLAG"),
        (STOREHOSTADDRESS_V6_FLAG, "STOREHOSTADDRESS_V6_FLAG"),
        (NEED_UNWRAP_FLAG, "NEED_UNWRAP_FLAG"),
        (INNER_BATCH_FLAG, "INNER_BATCH_FLAG"),
    ];
    names.extend(bits.iter().filter(|(bit, _)| flag & bit != 0).map(|(_, name)| *name));
    match flag & COMPRESSION_TYPE_COMPARATOR {
        COMPRESSION_LZ4_TYPE => names.push("COMPRESSION_LZ4_TYPE"),
        COMPRESSION_ZSTD_TYPE => names.push("COMPRESSION_ZSTD_TYPE"),
        COMPRESSION_ZLIB_TYPE => names.push("COMPRESSION_ZLIB_TYPE"),
        _ => {}
    }
    names.join("|")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transaction_types_occupy_bits_two_and_three() {
        assert_eq!([TRANSACTION_NOT_TYPE, TRANSACTION_PREPARED_TYPE, TRANSACTION_COMMIT_TYPE], [0, 4, 8]);
        assert_eq!(TRANSACTION_ROLLBACK_TYPE, 0xC);
        assert_eq!(transaction_value(TRANSACTION_COMMIT_TYPE | COMPRESSED_FLAG | BORNHOST_V6_FLAG), 8);
    }

    #[test]
    fn reset_transaction_value_keeps_the_other_bits() {
        let prepared = TRANSACTION_PREPARED_TYPE | MULTI_TAGS_FLAG | STOREHOSTADDRESS_V6_FLAG;
        let committed = reset_transaction_value(prepared, TRANSACTION_COMMIT_TYPE);
        assert_eq!(committed, TRANSACTION_COMMIT_TYPE | MULTI_TAGS_FLAG | STOREHOSTADDRESS_V6_FLAG);
        assert_eq!(
            reset_transaction_value(committed, TRANSACTION_NOT_TYPE),
            MULTI_TAGS_FLAG | STOREHOSTADDRESS_V6_FLAG
        );
    }

    #[test]
    fn host_flags_follow_the_addresses() {
        assert_eq!(with_host_flags(BORNHOST_V6_FLAG | COMPRESSED_FLAG, false, true), STOREHOSTADDRESS_V6_FLAG | 1);
        assert_eq!(with_host_flags(0, true, true), 0x30);
    }

    #[test]
    fn describe_names_every_bit() {
        assert_eq!(describe(0), "TRANSACTION_NOT_TYPE");
        assert_eq!(
            describe(COMPRESSED_FLAG | COMPRESSION_ZLIB_TYPE | TRANSACTION_ROLLBACK_TYPE | BORNHOST_V6_FLAG),
            "TRANSACTION_ROLLBACK_TYPE|COMPRESSED_FLAG|BORNHOST_V6_FLAG|COMPRESSION_ZLIB_TYPE"
        );
        assert_eq!(clear_compressed_flag(COMPRESSED_FLAG | MULTI_TAGS_FLAG), MULTI_TAGS_FLAG);
    }
}
