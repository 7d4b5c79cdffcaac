//! Body compression (`DefaultMQProducerImpl.tryToCompressMessage`, 4.9.8).
//!
//! A single message whose body is at least `compressMsgBodyOverHowmuch` (4 096) bytes is compressed
//! with zlib at level 5 (`rocketmq.message.compressLevel`, type `ZLIB`), and the request's sysFlag gets
//! `COMPRESSED_FLAG | COMPRESSION_ZLIB_TYPE` (0x1 | 0x300). Batches are never compressed.
//!
//! We compress for real, with `miniz_oxide` (pure Rust, so native and wasm32 give the same bytes): the
//! stream is a valid zlib stream (2-byte header, deflate, Adler-32 trailer) that Java's `Inflater` reads,
//! but miniz's encoder is not zlib's, so the compressed bytes (and size, typically within a few percent)
//! differ from what a JVM would send. What the broker stores and what sizes the simulation charges for are
//! these real compressed bytes.

use crate::broker::store::message_sys_flag::{COMPRESSED_FLAG, COMPRESSION_ZLIB_TYPE};

/// `rocketmq.message.compressLevel` default.
pub const COMPRESS_LEVEL: u8 = 5;

/// The sysFlag bits a compressed single message carries (ZLIB).
pub const COMPRESSED_SYS_FLAG: i32 = COMPRESSED_FLAG | COMPRESSION_ZLIB_TYPE;

/// `Compressor.compress(body, 5)` for ZLIB.
pub fn zlib_compress(body: &[u8]) -> Vec<u8> {
    miniz_oxide::deflate::compress_to_vec_zlib(body, COMPRESS_LEVEL)
}

/// `UtilAll.uncompress` (what a consumer does with a COMPRESSED body); None for a corrupt stream.
pub fn zlib_decompress(data: &[u8]) -> Option<Vec<u8>> {
    miniz_oxide::inflate::decompress_to_vec_zlib(data).ok()
}

/// `tryToCompressMessage` for one (non-batch) body: the compressed body when `body.len() >= threshold`.
pub fn try_to_compress(body: &[u8], threshold: u32) -> Option<Vec<u8>> {
    (body.len() as u64 >= u64::from(threshold)).then(|| zlib_compress(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_from_the_threshold_up_are_compressed_and_round_trip() {
        let body: Vec<u8> = b"order-42 paid 100.00 CNY; ".iter().copied().cycle().take(4_096).collect();
        assert_eq!(try_to_compress(&body[..4_095], 4_096), None);
        let compressed = try_to_compress(&body, 4_096).expect("4096 >= 4096");
        assert!(compressed.len() < 200, "{}", compressed.len());
        // zlib header: CMF 0x78 (deflate, 32 KiB window).
        assert_eq!(compressed[0], 0x78);
        assert_eq!(zlib_decompress(&compressed).unwrap(), body);
        assert_eq!(COMPRESSED_SYS_FLAG, 0x301);
    }

    #[test]
    fn compression_is_a_pure_function_of_the_body() {
        let body: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
        assert_eq!(zlib_compress(&body), zlib_compress(&body));
        assert_eq!(zlib_decompress(b"not zlib"), None);
    }
}
