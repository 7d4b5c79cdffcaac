//! One module per subcommand.

pub mod explain;
pub mod list;
pub mod query;
pub mod run;
