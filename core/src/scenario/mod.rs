//! Scenarios: the unit students, interview preparation and regression tests share.
//!
//! A scenario file (TOML, versioned) describes the topology, RocketMQ configuration under
//! RocketMQ's own key names, a timed list of actions, and a narrative in English and Chinese.
//! Parsing is strict: unknown keys and bad values are errors that name the line and column.
//! The built-in library in [`library`] embeds every file of `scenarios/`.

mod de;
mod document;
pub mod duration;
pub mod library;
pub mod model;
pub mod suggest;
pub mod validate;

pub use model::{ActionSpec, Narrative, Scenario, TimedAction, Topology};

/// A problem in a scenario file, located for the person who wrote it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioError {
    /// Where the scenario came from (a file path, or a built-in id).
    pub source: String,
    /// 1-based line and column, when known.
    pub line: Option<u32>,
    pub column: Option<u32>,
    pub message: String,
}

impl std::fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.line, self.column) {
            (Some(line), Some(column)) => write!(f, "{}:{line}:{column}: {}", self.source, self.message),
            _ => write!(f, "{}: {}", self.source, self.message),
        }
    }
}

impl std::error::Error for ScenarioError {}

/// Several problems, all reported at once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioErrors(pub Vec<ScenarioError>);

impl std::fmt::Display for ScenarioErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ScenarioErrors {}
