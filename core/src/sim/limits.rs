//! Caps that keep every run bounded, so no scenario can exhaust memory or hang a browser tab.
//!
//! They are validated when a simulation is built and enforced while it runs: reaching one halts
//! the run with a clear reason instead of failing in some other, less obvious way.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Events the kernel may process in one run.
    pub max_events: u64,
    /// Nodes in the topology.
    pub max_nodes: u32,
    /// Messages in flight or held on links at once.
    pub max_in_flight: u32,
}

impl Limits {
    /// The hard ceilings no scenario may raise its limits above.
    pub const CEILING: Limits = Limits { max_events: 2_000_000_000, max_nodes: 512, max_in_flight: 4_000_000 };
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_events: 200_000_000, max_nodes: 128, max_in_flight: 1_000_000 }
    }
}

/// Why a run stopped before its queue drained.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Halt {
    EventLimit { max_events: u64 },
    InFlightLimit { max_in_flight: u32 },
}

impl std::fmt::Display for Halt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Halt::EventLimit { max_events } => {
                write!(f, "the run reached its event limit ({max_events} events); raise limits.max_events or shorten the run")
            }
            Halt::InFlightLimit { max_in_flight } => write!(
                f,
                "more than {max_in_flight} messages were in flight at once; raise limits.max_in_flight or lower the load"
            ),
        }
    }
}
