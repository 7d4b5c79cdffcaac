//! One module per subcommand.

pub mod bench;
pub mod check;
pub mod explain;
pub mod list;
pub mod plot;
pub mod query;
pub mod replication_sweep;
pub mod run;
pub mod sweep;
