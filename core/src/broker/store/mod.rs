//! The broker storage engine: CommitLog, ConsumeQueue, IndexFile, flush, recovery, cleanup.
//!
//! The byte-exact encodings are pure functions over byte buffers, one concept per file: the
//! CommitLog record ([`message_record`]) with its properties ([`properties`]), sys flag
//! ([`message_sys_flag`]) and host fields ([`socket_address`]); message ids ([`message_id`]);
//! file names and positions ([`file_name`]); the ConsumeQueue unit ([`consume_queue_entry`]);
//! the IndexFile ([`index_file`]); offsets as types ([`offsets`]); UTC calendar helpers for
//! month-relative ids and index file names ([`civil_time`]).
//!
//! On top of them, [`default_message_store::DefaultMessageStore`] is the engine as a sans-IO state
//! machine driven through [`store_io::StoreIo`]: files of fixed size ([`mapped_file`],
//! [`mapped_file_queue`]) make up the [`commit_log`] and each [`consume_queue`]; puts are flushed by
//! [`flush_commit_log_service`] (and wait for slaves through [`group_transfer_service`]); dispatch
//! ([`reput_message_service`], reading records with [`dispatch_request`]) fills the ConsumeQueues
//! and the [`index_service`]; [`flush_consume_queue_service`] and the [`store_checkpoint`] record
//! progress; [`recovery`] rebuilds a consistent store from whatever a crash left;
//! [`clean_commit_log_service`] deletes old files; [`get_message`] serves pulls and queries;
//! [`store_view`] is the X-ray. [`test_store_io::TestStoreIo`] hosts it outside the simulator.

pub mod civil_time;
pub mod clean_commit_log_service;
pub mod commit_log;
pub mod consume_queue;
pub mod consume_queue_entry;
pub mod default_message_store;
pub mod dispatch_request;
pub mod file_name;
pub mod flush_commit_log_service;
pub mod flush_consume_queue_service;
pub mod get_message;
pub mod group_transfer_service;
pub mod index_file;
pub mod index_service;
pub mod mapped_file;
pub mod mapped_file_queue;
pub mod message_id;
pub mod message_record;
pub mod message_store_config;
pub mod message_sys_flag;
pub mod offsets;
pub mod properties;
pub mod put_message_result;
pub mod recovery;
pub mod reput_message_service;
pub mod socket_address;
pub mod store_checkpoint;
pub mod store_io;
pub mod store_view;
pub mod test_store_io;
