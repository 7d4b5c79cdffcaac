//! The built-in scenario library: every file of `scenarios/`, embedded at build time so the
//! browser and the CLI offer exactly the same runs.

/// (id, TOML text) of every built-in scenario, in the order the sandbox lists them.
pub const SCENARIOS: &[(&str, &str)] = &[
    ("zero-loss-chain", include_str!("../../../scenarios/zero-loss-chain.toml")),
    ("loss-async-flush-power-loss", include_str!("../../../scenarios/loss-async-flush-power-loss.toml")),
    ("duplicate-lost-ack-retry", include_str!("../../../scenarios/duplicate-lost-ack-retry.toml")),
    ("ordering-by-order-id", include_str!("../../../scenarios/ordering-by-order-id.toml")),
    ("broadcast-vs-cluster", include_str!("../../../scenarios/broadcast-vs-cluster.toml")),
    ("name-server-down", include_str!("../../../scenarios/name-server-down.toml")),
    ("flash-sale-peak-shaving", include_str!("../../../scenarios/flash-sale-peak-shaving.toml")),
    ("cluster-migration-double-write", include_str!("../../../scenarios/cluster-migration-double-write.toml")),
    ("backlog-million", include_str!("../../../scenarios/backlog-million.toml")),
    ("broker-heartbeats", include_str!("../../../scenarios/broker-heartbeats.toml")),
    ("producer-broker-down", include_str!("../../../scenarios/producer-broker-down.toml")),
    ("producer-lost-ack", include_str!("../../../scenarios/producer-lost-ack.toml")),
    ("consumer-rebalance-join", include_str!("../../../scenarios/consumer-rebalance-join.toml")),
    ("consumer-crash-replay", include_str!("../../../scenarios/consumer-crash-replay.toml")),
    ("consumer-idempotent-replay", include_str!("../../../scenarios/consumer-idempotent-replay.toml")),
    ("consumer-database-outage", include_str!("../../../scenarios/consumer-database-outage.toml")),
    ("consumer-poison-message-dlq", include_str!("../../../scenarios/consumer-poison-message-dlq.toml")),
    ("consumer-orderly-lock", include_str!("../../../scenarios/consumer-orderly-lock.toml")),
    ("consumer-broadcasting", include_str!("../../../scenarios/consumer-broadcasting.toml")),
    ("consumer-commit-before-process", include_str!("../../../scenarios/consumer-commit-before-process.toml")),
    ("consumer-backlog", include_str!("../../../scenarios/consumer-backlog.toml")),
    ("consumer-backlog-forward-new-topic", include_str!("../../../scenarios/consumer-backlog-forward-new-topic.toml")),
    ("consumer-lite-pull", include_str!("../../../scenarios/consumer-lite-pull.toml")),
    ("order-timeout-delay", include_str!("../../../scenarios/order-timeout-delay.toml")),
    ("transaction-payment-check", include_str!("../../../scenarios/transaction-payment-check.toml")),
    ("tag-filter-consistency", include_str!("../../../scenarios/tag-filter-consistency.toml")),
    ("backlog-8-brokers-20-consumers", include_str!("../../../scenarios/backlog-8-brokers-20-consumers.toml")),
    ("ha-async-master-loss", include_str!("../../../scenarios/ha-async-master-loss.toml")),
    ("ha-read-from-slave", include_str!("../../../scenarios/ha-read-from-slave.toml")),
    ("dledger-leader-failover", include_str!("../../../scenarios/dledger-leader-failover.toml")),
    ("controller-failover-5x", include_str!("../../../scenarios/controller-failover-5x.toml")),
];

/// The TOML text of a built-in scenario.
pub fn find(id: &str) -> Option<&'static str> {
    SCENARIOS.iter().find(|(name, _)| *name == id).map(|(_, text)| *text)
}
