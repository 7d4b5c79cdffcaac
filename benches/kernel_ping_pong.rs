//! Kernel throughput: events per second on a ping-pong workload over a large event queue.
//!
//! 64 node pairs bounce a message back and forth while 100 000 far-future timers sit in the
//! queue, so every push and pop pays the cost of a big heap. Run with `cargo bench --bench
//! kernel_ping_pong`; criterion reports the time per batch, and the throughput line gives events/s.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rmqsim_core::sim::disk::DiskConfig;
use rmqsim_core::sim::kernel::Kernel;
use rmqsim_core::sim::limits::Limits;
use rmqsim_core::sim::network::LinkConfig;
use rmqsim_core::sim::node::{Context, Input, Node, NodeId};
use rmqsim_core::time::{Duration, Time};
use serde::Serialize;

const PAIRS: u16 = 64;
const IDLE_TIMERS_PER_NODE: u32 = 782; // ≈ 100 000 pending timers over 128 nodes
const EVENTS_PER_ITERATION: u64 = 200_000;

#[derive(Clone, Debug)]
struct Pinger {
    peer: NodeId,
    serves: bool,
}

#[derive(Clone, Debug, Serialize)]
struct Ball(u64);

impl Node for Pinger {
    type Message = Ball;
    type Timer = u32;
    type Observation = ();
    type Action = ();
    type Spec = Pinger;

    fn boot(spec: &Pinger) -> Self {
        spec.clone()
    }

    fn on_input(&mut self, input: Input<Self>, ctx: &mut Context<'_, Self>) {
        match input {
            Input::Start => {
                for i in 0..IDLE_TIMERS_PER_NODE {
                    ctx.set_timer(Duration::from_secs(1_000_000 + u64::from(i)), i);
                }
                if self.serves {
                    ctx.send(self.peer, Ball(0));
                }
            }
            Input::Message { message: Ball(n), .. } => ctx.send(self.peer, Ball(n + 1)),
            _ => {}
        }
    }
}

fn world() -> Kernel<Pinger> {
    let limits = Limits { max_events: u64::MAX, max_nodes: 512, max_in_flight: 1_000_000 };
    let mut kernel = Kernel::new(42, LinkConfig::default(), limits);
    for pair in 0..PAIRS {
        let (a, b) = (NodeId(2 * pair), NodeId(2 * pair + 1));
        kernel.add_node(&format!("a{pair}"), Pinger { peer: b, serves: true }, DiskConfig::default(), Time::ZERO);
        kernel.add_node(&format!("b{pair}"), Pinger { peer: a, serves: false }, DiskConfig::default(), Time::ZERO);
    }
    // Boot everyone so the idle timers are queued before measuring.
    for _ in 0..(2 * PAIRS) {
        kernel.step();
    }
    kernel
}

fn ping_pong(c: &mut Criterion) {
    let mut group = c.benchmark_group("kernel");
    group.throughput(Throughput::Elements(EVENTS_PER_ITERATION));
    group.sample_size(10);
    group.bench_function("ping_pong_100k_pending_timers", |b| {
        b.iter_batched(
            world,
            |mut kernel| {
                for _ in 0..EVENTS_PER_ITERATION {
                    kernel.step();
                }
                assert!(kernel.pending_events() >= 100_000);
                kernel
            },
            criterion::BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, ping_pong);
criterion_main!(benches);
