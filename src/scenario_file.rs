//! Finding a scenario: a path to a TOML file, or the id of a built-in one.

use rmqsim_core::scenario::{library, Scenario};

use crate::exit::{Failure, INVALID_SCENARIO, IO_ERROR};

/// Load `reference`: an existing file path, else a built-in id (`broker-heartbeats`), else an error
/// that lists the built-in ids.
pub fn load(reference: &str) -> Result<Scenario, Failure> {
    let path = std::path::Path::new(reference);
    let (source, text) = if path.exists() {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Failure::new(IO_ERROR, format!("cannot read {reference}: {e}")))?;
        (reference.to_string(), text)
    } else if let Some(text) = library::find(reference.trim_end_matches(".toml").trim_start_matches("scenarios/")) {
        (reference.to_string(), text.to_string())
    } else {
        let ids: Vec<&str> = library::SCENARIOS.iter().map(|(id, _)| *id).collect();
        return Err(Failure::new(
            IO_ERROR,
            format!("no file `{reference}` and no built-in scenario of that name; built-in: {}", ids.join(", ")),
        ));
    };
    Scenario::parse(&source, &text).map_err(|errors| Failure::new(INVALID_SCENARIO, errors.to_string()))
}
