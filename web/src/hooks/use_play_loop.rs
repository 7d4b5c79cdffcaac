//! The play loop: one `requestAnimationFrame` callback per frame that advances the simulation.
//!
//! Each frame gets a wall-clock budget measured with `performance.now()`: the loop runs events in
//! small slices until the virtual target of the frame (wall time elapsed × speed) is reached or the
//! budget is spent, so the tab stays responsive at any speed. When the budget runs out first, the
//! clock simply falls behind (the UI says so); it never skips events. A seek in progress (after a
//! rewind, or opening a link) is replayed the same way, a budget per frame.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use rmqsim_core::time::Duration;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use yew::prelude::*;

use crate::browser;
use crate::checkpoint_pacer::SLICE_EVENTS;
use crate::sim_context::{SimHandle, AHEAD_IDLE_BUDGET_MS};

/// A 60 Hz frame, in ms: simulation work plus rendering should fit in it.
const FRAME_MS: f64 = 16.0;
/// A gap between two frames longer than this means the display missed a 60 Hz frame.
const MISSED_FRAME_MS: f64 = 18.0;
/// Simulation work allowed per frame, in wall-clock ms, whatever rendering costs.
pub const MIN_BUDGET_MS: f64 = 4.0;
/// 12 ms leaves the browser about 4.5 ms of a 60 Hz frame for its own work (style, paint, GC)
/// on the frames that render nothing; measured on the 8-broker backlog at 100×, 59 fps.
pub const MAX_BUDGET_MS: f64 = 12.0;

/// The simulation's share of a frame: what rendering (measured) leaves of 16 ms, within bounds.
pub fn frame_budget_ms(render_ms: f64) -> f64 {
    (FRAME_MS - render_ms).clamp(MIN_BUDGET_MS, MAX_BUDGET_MS)
}
/// The simulation's share of the next frame: at most what rendering leaves ([`frame_budget_ms`]),
/// cut by a fifth after a missed frame and given back 0.2 ms per frame that kept up. Whatever the
/// browser spends beyond our measurements (style, layout, paint, garbage collection) is then taken
/// from the simulation, so the clock falls behind before the frame rate does.
pub fn adapt_budget(previous_ms: f64, gap_ms: f64, render_ms: f64) -> f64 {
    let ceiling = frame_budget_ms(render_ms);
    let next = if previous_ms <= 0.0 {
        ceiling
    } else if gap_ms > MISSED_FRAME_MS {
        previous_ms * 0.8
    } else {
        previous_ms + 0.2
    };
    next.clamp(MIN_BUDGET_MS, ceiling)
}

/// While playing, checkpoints (each copies the whole run) are taken about this often in wall time,
/// however fast the clock runs; when paused the timeline's own 5 s of virtual time apply again.
const CHECKPOINT_WALL_MS: u64 = 500;

/// The spacing to ask of the timeline while playing at `speed_milli` (virtual ms per wall s).
pub fn checkpoint_spacing(speed_milli: u64) -> Duration {
    Duration::from_micros(speed_milli.saturating_mul(CHECKPOINT_WALL_MS))
}

/// Longest wall-clock gap counted between two frames (a background tab comes back without a jump).
const MAX_FRAME_GAP_MS: f64 = 100.0;

/// Rendering a snapshot costs more than this (ms, measured), or the clock cannot keep up with the
/// chosen speed: while playing, publish at most every `SLOW_PUBLISH_GAP_MS`, so the simulation
/// keeps the frames and the DOM updates at about 30 Hz. A lagging clock is what the student waits
/// for; on the 8-broker backlog at 100× this took the clock from 23-25× to 30-33× at the same 59 fps.
const SLOW_RENDER_MS: f64 = 6.0;
const SLOW_PUBLISH_GAP_MS: f64 = 30.0;

/// A frame of more events than this copies only its last slices into the event log's records.
const KEEP_ALL_EVENTS: u32 = 2 * SLICE_EVENTS;

/// Whether the next slice of a playing frame copies its steps into the recent trace (the event log's
/// rows and the topology's flashes): always when the last frame ran few events; in a fast frame, only once the
/// frame is nearly over — less budget left than two slices take, or less virtual time to go than two
/// slices cover. The earlier steps are digested, not copied: copying every step and dropping it a few
/// thousand steps later cost about a fifth of the simulation's time at 100×.
pub fn keep_slice(events_last_frame: u32, budget_left_ms: f64, slice_ms: f64, to_go_us: u64, slice_us: u64) -> bool {
    events_last_frame <= KEEP_ALL_EVENTS || budget_left_ms <= 2.0 * slice_ms || to_go_us <= slice_us.saturating_mul(2)
}

/// How the last frame went, for [`publish_now`].
#[derive(Clone, Copy, Debug)]
pub struct FrameOutcome {
    pub playing: bool,
    /// The clock fell behind the chosen speed.
    pub lagging: bool,
    /// Mean cost of rendering a snapshot, in ms.
    pub render_ms: f64,
}

/// A seek copies into the recent trace (the event log's rows) the steps of its last 10 s of virtual
/// time, or of its last `SEEK_KEPT_SLICES` slices when they cover more: with `SLICE_EVENTS` events
/// each, four times the ring of `RECENT_TRACE` records.
const SEEK_KEPT_TAIL_US: u64 = 10_000_000;
const SEEK_KEPT_SLICES: u64 = 16;

/// Whether the next slice of a seek (a rewind's replay, a jump, opening a link) copies its steps
/// into the recent trace: only near the target (`last_slice_us`: the virtual time the last slice
/// covered, 0 before the first). Copying every replayed step and dropping it later took a fifth of
/// the time of a jump to the end of the 8-broker backlog.
pub fn keep_seek_slice(to_go_us: u64, last_slice_us: u64) -> bool {
    to_go_us <= SEEK_KEPT_TAIL_US.max(last_slice_us.saturating_mul(SEEK_KEPT_SLICES))
}

/// Whether to publish this frame's snapshot: always when paused or seeking, and every frame while
/// playing when rendering is cheap and the clock keeps up; otherwise about 30 times a second.
pub fn publish_now(frame: FrameOutcome, since_last_ms: f64) -> bool {
    let every_frame = !frame.playing || (frame.render_ms <= SLOW_RENDER_MS && !frame.lagging);
    every_frame || since_last_ms >= SLOW_PUBLISH_GAP_MS
}

#[hook]
pub fn use_play_loop(handle: Rc<RefCell<SimHandle>>, publish: Callback<()>) {
    use_effect_with((), move |_| {
        let last_published = Cell::new(f64::NEG_INFINITY);
        let frames = FrameLoop::start(move |gap_ms| {
            let (worked, frame) = {
                let mut handle = handle.borrow_mut();
                let worked = tick(&mut handle, gap_ms);
                let frame = FrameOutcome {
                    playing: handle.playing && handle.seek_target.is_none(),
                    lagging: handle.lagging,
                    render_ms: handle.perf.render_ms,
                };
                (worked, frame)
            };
            let now = browser::now_ms();
            if worked && publish_now(frame, now - last_published.get()) {
                last_published.set(now);
                publish.emit(());
            }
        });
        move || frames.stop()
    });
}

/// Advance the handle for one frame. Returns whether anything changed (then a snapshot is published).
fn tick(handle: &mut SimHandle, gap_ms: f64) -> bool {
    let started = browser::now_ms();
    let playing = handle.playing && handle.seek_target.is_none();
    if playing {
        handle.perf.budget_ms = adapt_budget(handle.perf.budget_ms, gap_ms, handle.perf.render_ms);
    }
    // A seek (rewind, jump, opening a link) shows only its progress: it keeps the whole share of the
    // frame that rendering leaves, whatever playing taught the adaptive budget.
    let budget_ms = if playing { handle.perf.budget_ms } else { frame_budget_ms(handle.perf.render_ms) };
    let deadline = started + budget_ms;
    let spacing = if playing { checkpoint_spacing(handle.speed_milli) } else { Duration::ZERO };
    handle.timeline_mut().space_checkpoints(spacing);
    let clock_before = handle.clock();
    let mut events = 0u32;
    let worked = if let Some(target) = handle.seek_target {
        loop {
            let slice_start = handle.timeline().now();
            let keep = keep_seek_slice(target.saturating_since(slice_start).as_micros(), handle.pace.seek_slice_us);
            if keep {
                handle.forget_records_before_skipped_steps();
            }
            handle.pace.seek_skipped |= !keep;
            handle.timeline_mut().keep_records(keep);
            let progress = handle.timeline_mut().run_to(target, SLICE_EVENTS);
            handle.pace.seek_slice_us = handle.timeline().now().saturating_since(slice_start).as_micros();
            events += progress.events;
            if progress.reached || handle.timeline().halted() {
                handle.seek_target = None;
                handle.pace.end_seek();
                handle.seek_done();
                break;
            }
            if browser::now_ms() >= deadline {
                break;
            }
        }
        // Paused or stepping after the seek, every step is copied again.
        handle.timeline_mut().keep_records(true);
        true
    } else if handle.plays_frames() {
        let span_us = (gap_ms.clamp(0.0, MAX_FRAME_GAP_MS) * handle.speed_milli as f64) as u64;
        let (computed, reached) = handle.play_frames(Duration::from_micros(span_us), deadline, &browser::now_ms);
        events += computed;
        handle.lagging = !reached;
        true
    } else if handle.playing {
        let timeline = handle.timeline();
        let span_us = (gap_ms.clamp(0.0, MAX_FRAME_GAP_MS) * handle.speed_milli as f64) as u64;
        let target = (timeline.now() + Duration::from_micros(span_us)).min(timeline.end().max(timeline.now()));
        let mut reached = false;
        while !reached {
            let slice_start = (browser::now_ms(), handle.timeline().now());
            let keep = keep_slice(
                handle.perf.events,
                deadline - slice_start.0,
                handle.pace.slice_ms,
                target.saturating_since(slice_start.1).as_micros(),
                handle.pace.slice_us,
            );
            handle.timeline_mut().keep_records(keep);
            let paced = handle.run_live_to(target, SLICE_EVENTS, events > 0, deadline, &browser::now_ms);
            events += paced.progress.events;
            // A checkpoint left to the next frame holds the clock back by less than a frame: not lagging.
            reached = paced.progress.reached || paced.put_off;
            let now_ms = browser::now_ms();
            handle.pace.slice_ms = now_ms - slice_start.0;
            handle.pace.slice_us = handle.timeline().now().saturating_since(slice_start.1).as_micros();
            if handle.timeline().halted() || now_ms >= deadline {
                break;
            }
        }
        // Paused, stepping or acting, every step is copied again.
        handle.timeline_mut().keep_records(true);
        handle.lagging = !reached && !handle.timeline().halted();
        if handle.timeline().now() >= handle.timeline().end() || handle.timeline().halted() {
            handle.playing = false;
        }
        if reached {
            // The clock kept up with time to spare: the run computed ahead goes on, ready for 100×.
            handle.compute_ahead(deadline.min(started + AHEAD_IDLE_BUDGET_MS), &browser::now_ms);
        }
        true
    } else {
        // Paused: compute the run ahead with what the frame leaves (the scrubber shows how far).
        handle.compute_ahead(started + AHEAD_IDLE_BUDGET_MS, &browser::now_ms)
    };
    if worked {
        let work = browser::now_ms() - started;
        let perf = &mut handle.perf;
        perf.work_ms = if perf.work_ms == 0.0 { work } else { perf.work_ms * 0.9 + work * 0.1 };
        perf.events = events;
    }
    if gap_ms > 0.0 {
        let fps = 1_000.0 / gap_ms;
        handle.perf.fps = if handle.perf.fps == 0.0 { fps } else { handle.perf.fps * 0.9 + fps * 0.1 };
        if playing {
            let advanced_ms = handle.clock().saturating_since(clock_before).as_micros() as f64 / 1_000.0;
            let speed = advanced_ms / gap_ms.min(MAX_FRAME_GAP_MS);
            handle.perf.speed = if handle.perf.speed == 0.0 { speed } else { handle.perf.speed * 0.9 + speed * 0.1 };
        }
    }
    worked
}

/// The frame callback, shared with itself so that it can ask for the next frame.
type FrameCallback = Rc<RefCell<Option<Closure<dyn FnMut(f64)>>>>;

/// A `requestAnimationFrame` loop calling `frame(ms_since_previous_frame)` until stopped.
struct FrameLoop {
    callback: FrameCallback,
    request: Rc<Cell<i32>>,
}

impl FrameLoop {
    fn start(mut frame: impl FnMut(f64) + 'static) -> FrameLoop {
        let callback: FrameCallback = Rc::new(RefCell::new(None));
        let request = Rc::new(Cell::new(0));
        let previous = Cell::new(f64::NAN);
        let again = Rc::clone(&callback);
        let request_id = Rc::clone(&request);
        *callback.borrow_mut() = Some(Closure::new(move |now: f64| {
            let gap = if previous.get().is_nan() { 0.0 } else { now - previous.get() };
            previous.set(now);
            frame(gap);
            if let Some(closure) = again.borrow().as_ref() {
                request_id.set(request_frame(closure));
            }
        }));
        if let Some(closure) = callback.borrow().as_ref() {
            request.set(request_frame(closure));
        }
        FrameLoop { callback, request }
    }

    fn stop(self) {
        if let Some(window) = web_sys::window() {
            let _ = window.cancel_animation_frame(self.request.get());
        }
        // Breaks the closure's reference to itself; it is not running now (we are in a Yew teardown).
        self.callback.borrow_mut().take();
    }
}

fn request_frame(closure: &Closure<dyn FnMut(f64)>) -> i32 {
    web_sys::window().and_then(|w| w.request_animation_frame(closure.as_ref().unchecked_ref()).ok()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_simulation_gives_up_frame_time_after_a_missed_frame_and_takes_it_back_slowly() {
        let start = adapt_budget(0.0, 16.7, 2.0);
        assert_eq!(start, MAX_BUDGET_MS, "the first frame gets what rendering leaves, at most the maximum");
        let cut = adapt_budget(start, 25.0, 2.0);
        assert!((cut - 9.6).abs() < 1e-9, "a missed frame cuts a fifth: {cut}");
        let back = adapt_budget(cut, 16.7, 2.0);
        assert!((back - 9.8).abs() < 1e-9, "a frame on time gives 0.2 ms back: {back}");
        let mut budget = start;
        for _ in 0..50 {
            budget = adapt_budget(budget, 40.0, 2.0);
        }
        assert_eq!(budget, MIN_BUDGET_MS, "the simulation always keeps some time, or it never moves");
        assert_eq!(adapt_budget(MAX_BUDGET_MS, 16.7, 9.0), frame_budget_ms(9.0), "a slow render lowers the ceiling");
    }

    #[test]
    fn playing_fast_asks_for_a_checkpoint_about_every_half_second_of_wall_time() {
        assert_eq!(checkpoint_spacing(100_000), Duration::from_secs(50), "100x: 50 s of virtual time");
        assert_eq!(checkpoint_spacing(1_000), Duration::from_millis(500), "1x: less than the timeline's own 5 s");
    }

    #[test]
    fn a_fast_frame_copies_only_its_last_slices_into_the_event_log_and_a_slow_one_copies_everything() {
        assert!(keep_slice(3, 9.0, 0.1, 1_000_000, 1_000_000), "a frame of few events (slow speeds) keeps all");
        assert!(!keep_slice(800, 9.0, 1.5, 1_600_000, 40_000), "early in a fast frame: digest only");
        assert!(keep_slice(800, 2.5, 1.5, 1_600_000, 40_000), "the budget is nearly spent");
        assert!(keep_slice(800, 9.0, 1.5, 60_000, 40_000), "the frame's virtual target is near");
    }

    #[test]
    fn a_seek_copies_steps_into_the_event_log_only_over_its_last_ten_seconds_or_sixteen_slices() {
        assert!(!keep_seek_slice(90_000_000, 0), "far from the target: digest only");
        assert!(keep_seek_slice(10_000_000, 0) && !keep_seek_slice(10_000_001, 20_000), "the last 10 s are copied");
        assert!(keep_seek_slice(32_000_000, 2_000_000), "or the last sixteen slices, when they cover more");
        assert!(!keep_seek_slice(32_000_001, 2_000_000));
    }

    #[test]
    fn a_slow_render_or_a_lagging_clock_while_playing_is_published_about_thirty_times_a_second_and_otherwise_every_frame(
    ) {
        let pace = |playing, lagging, render_ms| FrameOutcome { playing, lagging, render_ms };
        assert!(publish_now(pace(true, false, 2.0), 0.0), "cheap renders follow every frame");
        assert!(!publish_now(pace(true, false, 12.0), 16.0), "a slow render skips a frame");
        assert!(publish_now(pace(true, false, 12.0), 33.0), "but not two");
        assert!(!publish_now(pace(true, true, 2.0), 16.0), "a lagging clock gets the frame instead");
        assert!(publish_now(pace(true, true, 2.0), 33.0), "but not two");
        assert!(publish_now(pace(false, true, 12.0), 0.0), "paused or seeking: every change is shown");
    }
}
