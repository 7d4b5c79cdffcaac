//! The built-in scenario library: every file of `scenarios/`, embedded at build time so the
//! browser and the CLI offer exactly the same runs.

/// (id, TOML text) of every built-in scenario, in the order the sandbox lists them.
pub const SCENARIOS: &[(&str, &str)] = &[
    ("broker-heartbeats", include_str!("../../../scenarios/broker-heartbeats.toml")),
    ("producer-broker-down", include_str!("../../../scenarios/producer-broker-down.toml")),
    ("producer-lost-ack", include_str!("../../../scenarios/producer-lost-ack.toml")),
];

/// The TOML text of a built-in scenario.
pub fn find(id: &str) -> Option<&'static str> {
    SCENARIOS.iter().find(|(name, _)| *name == id).map(|(_, text)| *text)
}
