//! Seeded randomness: one `u64` run seed split into independent ChaCha8 streams.
//!
//! Every consumer of randomness (a node's own choices, the network's jitter and loss, a disk's
//! latency and torn writes, the workload, the fault schedule) draws from its own stream, named by
//! (node, concern). Streams are ChaCha8 with one shared key derived from the run seed and a
//! distinct 64-bit stream id, so adding a node or drawing more from one stream never shifts any
//! other stream. Draws are integers only: no floats decide anything.

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// What a stream is used for. The discriminant is part of the stream id: never renumber.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Concern {
    /// The node's own random choices (RocketMQ's `Random` uses, election timeouts...).
    Node = 1,
    /// Latency jitter, loss and duplication of messages this node sends.
    Network = 2,
    /// This node's disk: sync latency, how much of an unsynced tail survives power loss.
    Disk = 3,
    /// The scenario's workload driven by this node (send rates, keys, processing times).
    Workload = 4,
    /// Random fault schedules (not tied to one node: use [`StreamOwner::Run`]).
    Faults = 5,
}

/// Whose stream: one node's, or the run's own (for run-wide concerns such as fault schedules).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum StreamOwner {
    Run,
    Node(u16),
}

/// One independent pseudo-random stream.
#[derive(Clone, Debug)]
pub struct Prng {
    rng: ChaCha8Rng,
}

/// SplitMix64: expands the 64-bit run seed into the 256-bit ChaCha key (a fixed, documented step).
fn split_mix_64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The ChaCha stream id of (owner, concern): node index + 1 in the high bits (0 = run), concern low.
fn stream_id(owner: StreamOwner, concern: Concern) -> u64 {
    let owner_bits = match owner {
        StreamOwner::Run => 0,
        StreamOwner::Node(index) => u64::from(index) + 1,
    };
    (owner_bits << 16) | concern as u64
}

impl Prng {
    /// The stream of `(owner, concern)` for the run seeded with `seed`.
    pub fn stream(seed: u64, owner: StreamOwner, concern: Concern) -> Prng {
        let mut state = seed;
        let mut key = [0u8; 32];
        for chunk in key.chunks_exact_mut(8) {
            chunk.copy_from_slice(&split_mix_64(&mut state).to_le_bytes());
        }
        let mut rng = ChaCha8Rng::from_seed(key);
        rng.set_stream(stream_id(owner, concern));
        Prng { rng }
    }

    pub fn next_u32(&mut self) -> u32 {
        self.rng.next_u32()
    }

    pub fn next_u64(&mut self) -> u64 {
        self.rng.next_u64()
    }

    /// Uniform in `0..bound` without modulo bias (Lemire's multiply-and-reject). `bound` must be > 0.
    pub fn below(&mut self, bound: u64) -> u64 {
        assert!(bound > 0, "Prng::below(0)");
        let threshold = bound.wrapping_neg() % bound;
        loop {
            let product = u128::from(self.next_u64()) * u128::from(bound);
            if (product as u64) >= threshold {
                return (product >> 64) as u64;
            }
        }
    }

    /// Uniform in the inclusive range `low..=high`.
    pub fn between(&mut self, low: u64, high: u64) -> u64 {
        assert!(low <= high, "Prng::between({low}, {high})");
        match (high - low).checked_add(1) {
            Some(span) => low + self.below(span),
            None => self.next_u64(),
        }
    }

    /// True with probability `ppm` parts per million (integer odds, identical on every platform).
    pub fn chance_ppm(&mut self, ppm: u32) -> bool {
        ppm > 0 && self.below(1_000_000) < u64::from(ppm)
    }

    /// Java `Random.nextInt()`-like draw for places where RocketMQ seeds a counter randomly.
    pub fn next_i32(&mut self) -> i32 {
        self.next_u32() as i32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first(seed: u64, owner: StreamOwner, concern: Concern) -> [u64; 3] {
        let mut p = Prng::stream(seed, owner, concern);
        [p.next_u64(), p.next_u64(), p.next_u64()]
    }

    #[test]
    fn streams_of_different_owners_and_concerns_differ() {
        let a = first(7, StreamOwner::Node(0), Concern::Network);
        assert_ne!(a, first(7, StreamOwner::Node(1), Concern::Network));
        assert_ne!(a, first(7, StreamOwner::Node(0), Concern::Disk));
        assert_ne!(a, first(8, StreamOwner::Node(0), Concern::Network));
        assert_ne!(first(7, StreamOwner::Run, Concern::Faults), first(7, StreamOwner::Node(0), Concern::Faults));
    }

    #[test]
    fn drawing_from_one_stream_never_shifts_another() {
        let mut busy = Prng::stream(42, StreamOwner::Node(3), Concern::Node);
        for _ in 0..1_000 {
            busy.next_u64();
        }
        assert_eq!(first(42, StreamOwner::Node(4), Concern::Node), first(42, StreamOwner::Node(4), Concern::Node));
    }

    #[test]
    fn below_stays_in_range_and_covers_it() {
        let mut p = Prng::stream(1, StreamOwner::Run, Concern::Faults);
        let mut seen = [false; 7];
        for _ in 0..1_000 {
            let v = p.below(7);
            seen[v as usize] = true;
        }
        assert!(seen.iter().all(|s| *s));
        assert_eq!(p.between(5, 5), 5);
        assert!(!p.chance_ppm(0));
        assert!(p.chance_ppm(1_000_000));
    }
}
