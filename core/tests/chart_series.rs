//! The checkers' chart series: what the browser's charts and `rmqsim plot` draw over virtual time.

use rmqsim_core::check::SERIES;
use rmqsim_core::scenario::{library, Scenario};
use rmqsim_core::time::Time;
use rmqsim_core::Simulation;

fn run(id: &str) -> Simulation {
    let scenario = Scenario::parse(id, library::find(id).unwrap()).unwrap();
    let mut simulation = Simulation::new(&scenario, scenario.seed).unwrap();
    simulation.run_until(Time::ZERO + scenario.run_for());
    simulation
}

fn last(simulation: &Simulation, name: &str) -> i64 {
    let series = simulation.checks().series();
    let found = series.series.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no series {name}"));
    *found.values.last().unwrap()
}

#[test]
fn each_consumer_group_has_its_own_backlog_series_and_they_add_up_to_the_total() {
    let simulation = run("duplicate-lost-ack-retry");
    let series = simulation.checks().series();
    let names: Vec<&str> = series.series.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(&names[..SERIES.len()], &SERIES[..]);
    assert!(names.contains(&"backlog:Shipping") && names.contains(&"backlog:Billing"), "{names:?}");
    for i in 0..series.times.len() {
        let per_group: i64 = series.series.iter().filter(|s| s.name.starts_with("backlog:")).map(|s| s.values[i]).sum();
        assert_eq!(per_group, series.series[2].values[i], "sample {i}");
    }
}

#[test]
fn two_consumer_group_entries_with_one_name_draw_one_backlog_series() {
    // tag-filter-consistency declares group OrderEvents twice (two services sharing a group name).
    let simulation = run("tag-filter-consistency");
    let names: Vec<&str> = simulation.checks().series().series.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names.iter().filter(|n| **n == "backlog:OrderEvents").count(), 1, "{names:?}");
}

#[test]
fn the_duplicate_count_over_time_ends_at_the_verdict() {
    let simulation = run("duplicate-lost-ack-retry");
    let verdicts = simulation.verdicts();
    assert!(verdicts.duplicates > 0);
    assert_eq!(last(&simulation, "duplicates"), verdicts.duplicates as i64);
    assert_eq!(last(&simulation, "out_of_order"), (verdicts.out_of_order_queue + verdicts.out_of_order_key) as i64);
}

#[test]
fn latency_medians_never_exceed_the_99th_percentiles() {
    let simulation = run("zero-loss-chain");
    let series = simulation.checks().series();
    let get = |name: &str| &series.series.iter().find(|s| s.name == name).unwrap().values;
    for (p50, p99) in [("send_p50_ms", "send_p99_ms"), ("delivery_p50_ms", "delivery_p99_ms")] {
        assert!(get(p99).iter().any(|v| *v > 0), "{p99} has samples");
        assert!(get(p50).iter().zip(get(p99)).all(|(a, b)| a <= b), "{p50} <= {p99}");
    }
}
