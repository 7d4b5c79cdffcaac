//! UI components, one per file, each with its `...Props`.

pub mod chart;
pub mod clock_bar;
pub mod node_list;
