//! Simulated messages per wall second on a steady workload: one broker group (SYNC_FLUSH master and a
//! slave), a producer sending 2 000 messages a second, one consumer group of four consumers keeping up,
//! 30 s of virtual time (60 000 messages sent, stored, replicated, consumed).
//!
//! `cargo bench --bench steady_workload`; criterion's throughput line is the simulated messages per
//! second of wall time.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rmqsim_core::check::Retention;
use rmqsim_core::scenario::Scenario;
use rmqsim_core::time::Time;
use rmqsim_core::Simulation;

const MESSAGES: u64 = 60_000;

const STEADY: &str = r#"
version = 1
id = "steady-workload"
run_for = "32s"

[narrative.en]
title = "Steady workload"
question = "-"
watch = "-"
explanation = "A benchmark: a producer and a group that keeps up."
fidelity = "-"

[narrative.zh]
title = "稳定负载"
question = "-"
watch = "-"
explanation = "基准测试：一个生产者和一个跟得上的消费组。"
fidelity = "-"

[topology]
name_servers = 1

[[topology.broker_groups]]
name = "broker-a"
slaves = 1
[topology.broker_groups.store]
flushDiskType = "SYNC_FLUSH"
brokerRole = "SYNC_MASTER"

[[topology.topics]]
name = "Steady"
queues = 8

[[producers]]
[producers.workload]
topic = "Steady"
start_at = "1s"
max_messages = 60000
threads = 16
body_bytes = 512
rate = [{ at = "0s", per_second = 2000 }]

[[consumer_groups]]
group = "SteadyGroup"
members = 4
subscriptions = [{ topic = "Steady" }]
[consumer_groups.workload]
processing_time = "1ms"
"#;

fn steady_workload(c: &mut Criterion) {
    let scenario = Scenario::parse("steady-workload", STEADY).expect("a valid scenario");
    let mut group = c.benchmark_group("steady_workload");
    group.sample_size(10);
    group.throughput(Throughput::Elements(MESSAGES));
    group.bench_function("2000_per_second_for_30s", |b| {
        b.iter(|| {
            let mut simulation = Simulation::new(&scenario, scenario.seed).expect("builds");
            simulation.set_retention(Retention::None);
            simulation.run_until(Time::ZERO + scenario.run_for());
            let verdicts = simulation.verdicts();
            assert_eq!(verdicts.consumed, MESSAGES, "every message was consumed: the workload is steady");
            simulation.kernel().events_processed()
        })
    });
    group.finish();
}

criterion_group!(benches, steady_workload);
criterion_main!(benches);
