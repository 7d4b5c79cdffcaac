//! UI components, one per file, each with its `...Props`.

pub mod action_panel;
pub mod broker_detail;
pub mod chart;
pub mod client_xray;
pub mod clock_bar;
pub mod error_dialog;
pub mod event_log;
pub mod fault_panel;
pub mod fork_banner;
pub mod guide;
pub mod header;
pub mod help_overlay;
pub mod inspector;
pub mod json_detail;
pub mod library;
pub mod message_fate;
pub mod name_server_detail;
pub mod narrative;
pub mod perf_meter;
pub mod scrubber;
pub mod share_dialog;
pub mod storage_xray;
pub mod swimlane;
pub mod toast;
pub mod topology;
pub mod xray_texts;
