//! The one-million-message backlog scenario (`scenarios/backlog-million.toml`) end to end: a million
//! sends, a broker storing them, sixteen consumers draining them, about five million events.
//!
//! `cargo bench --bench backlog_million`; criterion reports the time per run and, as throughput, the
//! simulated messages per wall second. Peak memory is not criterion's: `rmqsim bench backlog-million`
//! prints it (the process's peak resident set).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rmqsim_core::check::Retention;
use rmqsim_core::scenario::{library, Scenario};
use rmqsim_core::time::Time;
use rmqsim_core::Simulation;

fn backlog_million(c: &mut Criterion) {
    let scenario = Scenario::parse("backlog-million", library::find("backlog-million").expect("built in"))
        .expect("a valid scenario");
    let mut group = c.benchmark_group("backlog_million");
    // One run takes about a minute: the fewest samples criterion accepts, no warm-up beyond one run.
    group.sample_size(10);
    group.warm_up_time(std::time::Duration::from_millis(1));
    group.measurement_time(std::time::Duration::from_secs(60));
    group.throughput(Throughput::Elements(1_000_000));
    group.bench_function("run_to_end", |b| {
        b.iter(|| {
            let mut simulation = Simulation::new(&scenario, scenario.seed).expect("builds");
            simulation.set_retention(Retention::None);
            simulation.run_until(Time::ZERO + scenario.run_for());
            let verdicts = simulation.verdicts();
            assert_eq!(verdicts.stored, 1_000_000, "the whole backlog was stored");
            simulation.kernel().events_processed()
        })
    });
    group.finish();
}

criterion_group!(benches, backlog_million);
criterion_main!(benches);
