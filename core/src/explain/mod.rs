//! `rmqsim explain ...`: RocketMQ internals computed by the same code the simulation runs.
//!
//! Each explainer is a pure function from arguments to an [`Explanation`]: plain text for students
//! and a JSON value for machines. The CLI and the web app only print what these return.

pub mod client;
pub mod storage;

use serde::Serialize;

/// The answer of one explainer: the text shown by default and the JSON shown with `--json`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Explanation {
    pub text: String,
    pub json: serde_json::Value,
}

/// A bad argument to an explainer, worded for the person who typed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExplainError {
    /// Which argument was wrong, e.g. `--offset`.
    pub argument: String,
    /// What was wrong with it and what would be accepted.
    pub message: String,
}

impl std::fmt::Display for ExplainError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid {}: {}", self.argument, self.message)
    }
}

impl std::error::Error for ExplainError {}
