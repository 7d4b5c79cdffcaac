//! Taking a timeline's checkpoints where a frame has room for them.
//!
//! A checkpoint copies the whole run: ~10 ms in the browser, late in the 8-broker backlog. Taken
//! whenever the run happens to reach its instant, it often came at the end of a frame's spent budget
//! and cost a missed frame. A paced run stops just before the instant and takes the checkpoint only
//! with that much of the budget left, else first thing in the next frame. Both the run computed
//! ahead and live play go through here.

use rmqsim_core::time::Time;
use rmqsim_core::timeline::{Progress, Timeline};

/// Events per slice between two looks at the wall clock (an event costs tens of µs in wasm), for
/// live play and the run computed ahead alike.
pub const SLICE_EVENTS: u32 = 100;

/// What the last checkpoint cost, to tell whether the next one fits in what is left of a frame.
#[derive(Clone, Copy, Debug, Default)]
pub struct CheckpointPacer {
    /// The last checkpoint with the rest of its slice, in wall ms (0 before the first).
    cost_ms: f64,
}

/// A paced slice: what it ran, and whether it stopped before a checkpoint to leave it to the next
/// frame (then the target was not reached).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Paced {
    pub progress: Progress,
    pub put_off: bool,
}

impl CheckpointPacer {
    /// Run `timeline` toward `target` as [`Timeline::run_to`] does (each part at most `max_events`),
    /// except that a checkpoint falling due is put off when the budget ending at `deadline_ms` has less
    /// left than the last one cost. `worked`: this frame already ran something. A frame that has run
    /// nothing never puts one off, so a copy dearer than a whole budget still happens.
    pub fn run_to(
        &mut self,
        timeline: &mut Timeline,
        target: Time,
        max_events: u32,
        worked: bool,
        deadline_ms: f64,
        clock: &dyn Fn() -> f64,
    ) -> Paced {
        let checkpoint = timeline.next_checkpoint_at();
        let before_checkpoint = Time::from_micros(checkpoint.as_micros().saturating_sub(1));
        let copying = checkpoint <= target && before_checkpoint >= timeline.now();
        let mut progress = timeline.run_to(if copying { before_checkpoint } else { target }, max_events);
        if !(copying && progress.reached) {
            return Paced { progress, put_off: false };
        }
        let started = clock();
        if (worked || progress.events > 0) && started + self.cost_ms > deadline_ms {
            progress.reached = false;
            return Paced { progress, put_off: true };
        }
        let rest = timeline.run_to(target, max_events);
        if timeline.now() >= checkpoint {
            self.cost_ms = clock() - started;
        }
        Paced { progress: Progress { events: progress.events + rest.events, reached: rest.reached }, put_off: false }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmqsim_core::scenario::{library, Scenario};
    use rmqsim_core::timeline::TimelineConfig;
    use std::cell::Cell;

    fn timeline() -> Timeline {
        let scenario = Scenario::parse("t", library::find("consumer-backlog").unwrap()).unwrap();
        Timeline::new(&scenario, 1, &TimelineConfig::default()).unwrap()
    }

    #[test]
    fn a_checkpoint_that_does_not_fit_in_the_frame_is_left_to_the_next_one_and_the_run_stays_the_same() {
        let mut paced = timeline();
        let mut straight = timeline();
        let mut pacer = CheckpointPacer { cost_ms: 10.0 };
        let clock = Cell::new(0.0);
        let now = || clock.get();
        let target = Time::from_secs(7);
        // 5 ms left, the last copy took 10: stop just before the checkpoint at 5 s.
        let first = pacer.run_to(&mut paced, target, u32::MAX, true, 5.0, &now);
        assert!(first.put_off && !first.progress.reached);
        assert!(paced.now() < Time::from_secs(5) && paced.checkpoint_times().last() == Some(&Time::ZERO));
        // Next frame, nothing run yet: the copy happens whatever it costs.
        clock.set(16.0);
        let second = pacer.run_to(&mut paced, target, u32::MAX, false, 17.0, &now);
        assert!(!second.put_off && second.progress.reached);
        assert_eq!(paced.checkpoint_times().last(), Some(&Time::from_secs(5)));
        straight.run_to(target, u32::MAX);
        assert_eq!(paced.simulation().digest(), straight.simulation().digest());
    }

    #[test]
    fn a_checkpoint_that_fits_is_taken_in_the_same_slice() {
        let mut paced = timeline();
        let mut pacer = CheckpointPacer::default();
        let run = pacer.run_to(&mut paced, Time::from_secs(7), u32::MAX, true, 100.0, &|| 0.0);
        assert!(!run.put_off && run.progress.reached && paced.now() <= Time::from_secs(7));
        assert_eq!(paced.checkpoint_times(), vec![Time::ZERO, Time::from_secs(5)]);
    }
}
