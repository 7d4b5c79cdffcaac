//! The query family of requests (4.9.8): QUERY_MESSAGE (12, by key or by unique key through the
//! IndexFile) and VIEW_MESSAGE_BY_ID (33, by CommitLog offset), with their headers.
//!
//! A unique-key query is a QUERY_MESSAGE with the `_UNIQUE_KEY_QUERY` ext field set to "true": the broker
//! then replaces the caller's `maxNum` with its `defaultQueryMaxNum` (32). The store caps any `maxNum` at
//! `maxMsgsNumBatch` (64).

use serde::{Deserialize, Serialize};

/// `RequestCode.QUERY_MESSAGE`.
pub const QUERY_MESSAGE: i32 = 12;
/// `RequestCode.VIEW_MESSAGE_BY_ID`.
pub const VIEW_MESSAGE_BY_ID: i32 = 33;
/// `MixAll.UNIQUE_MSG_QUERY_FLAG`.
pub const UNIQUE_MSG_QUERY_FLAG: &str = "_UNIQUE_KEY_QUERY";

/// `QueryMessageRequestHeader`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryMessageRequestHeader {
    pub topic: String,
    pub key: String,
    pub max_num: i32,
    pub begin_timestamp: i64,
    pub end_timestamp: i64,
    /// The `_UNIQUE_KEY_QUERY` ext field.
    pub unique_key_query: bool,
}

/// `QueryMessageResponseHeader`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryMessageResponseHeader {
    pub index_last_update_timestamp: i64,
    pub index_last_update_phyoffset: i64,
}

/// `ViewMessageRequestHeader`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewMessageRequestHeader {
    pub offset: i64,
}
