//! The broker storage engine: CommitLog, ConsumeQueue, IndexFile, flush, recovery, cleanup.
//!
//! The byte-exact encodings live here as pure functions over byte buffers, one concept per file:
//! the CommitLog record ([`message_record`]) with its properties ([`properties`]), sys flag
//! ([`message_sys_flag`]) and host fields ([`socket_address`]); message ids ([`message_id`]);
//! file names and positions ([`file_name`]); the ConsumeQueue unit ([`consume_queue_entry`]);
//! the IndexFile ([`index_file`]); offsets as types ([`offsets`]); UTC calendar helpers for month-relative ids and index file names
//! ([`civil_time`]).

pub mod civil_time;
pub mod consume_queue_entry;
pub mod file_name;
pub mod index_file;
pub mod message_id;
pub mod message_record;
pub mod message_sys_flag;
pub mod offsets;
pub mod properties;
pub mod socket_address;
