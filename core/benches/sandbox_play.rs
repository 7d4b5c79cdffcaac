//! What playing costs the browser sandbox, measured natively: the 8-broker, 20-consumer backlog played
//! the way the web's play loop plays it (a `Timeline`, frames of 1.667 s of virtual time — 100× at 60
//! fps — run in slices of 100 events), once keeping only the digest and once keeping the 400 recent
//! trace records the sandbox's event log and animation read (each step's input and commands copied).
//!
//! `cargo bench -p rmqsim-core --bench sandbox_play`; the throughput line is events per second. The
//! sandbox plays at 100× on this scenario only if one event costs under ~2.5 µs in wasm (4 100 events
//! in the ~10 ms a frame leaves the simulation); wasm runs this code about 3× slower than native.

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use criterion::{criterion_group, Criterion, Throughput};
    use rmqsim_core::scenario::{library, Scenario};
    use rmqsim_core::time::{Duration, Time};
    use rmqsim_core::timeline::{Timeline, TimelineConfig};

    const SCENARIO: &str = "backlog-8-brokers-20-consumers";
    /// 100× at 60 frames a second.
    const FRAME: Duration = Duration::from_micros(1_666_667);
    /// The web play loop's slice between two looks at the wall clock.
    const SLICE_EVENTS: u32 = 100;
    /// The first 90 s: the backlog builds, the consumers start and rebalance, the drain begins.
    const UNTIL: Time = Time::from_secs(90);

    /// Plays the scenario frame by frame; returns the events run.
    fn play(scenario: &Scenario, recent_trace: u32) -> u64 {
        let config = TimelineConfig { recent_trace, ..TimelineConfig::default() };
        let mut timeline = Timeline::new(scenario, scenario.seed, &config).expect("the library scenario runs");
        // The web asks for a checkpoint about every 500 ms of wall time: 50 s of virtual time at 100×.
        timeline.space_checkpoints(Duration::from_secs(50));
        let mut events = 0;
        let mut frame_end = Time::ZERO;
        while timeline.now() < UNTIL && !timeline.halted() {
            frame_end = (frame_end + FRAME).min(UNTIL);
            loop {
                let progress = timeline.run_to(frame_end, SLICE_EVENTS);
                events += u64::from(progress.events);
                if progress.reached || timeline.halted() {
                    break;
                }
            }
        }
        events
    }

    fn bench(c: &mut Criterion) {
        let text = library::find(SCENARIO).expect("the scenario is in the library");
        let scenario = Scenario::parse(SCENARIO, text).expect("the library scenario parses");
        let events = play(&scenario, 0);
        let mut group = c.benchmark_group("sandbox_play");
        group.sample_size(10);
        group.throughput(Throughput::Elements(events));
        group.bench_function("backlog-8 at 100x, digest only", |b| b.iter(|| play(&scenario, 0)));
        group.bench_function("backlog-8 at 100x, keeping 400 records (the sandbox)", |b| {
            b.iter(|| play(&scenario, 400))
        });
        group.finish();
    }

    criterion_group!(benches, bench);
}

#[cfg(not(target_arch = "wasm32"))]
criterion::criterion_main!(native::benches);

#[cfg(target_arch = "wasm32")]
fn main() {}
