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
use crate::sim_context::SimHandle;

/// A 60 Hz frame, in ms: simulation work plus rendering should fit in it.
const FRAME_MS: f64 = 16.0;
/// Simulation work allowed per frame, in wall-clock ms, whatever rendering costs.
pub const MIN_BUDGET_MS: f64 = 4.0;
pub const MAX_BUDGET_MS: f64 = 10.0;
/// Events per slice between two looks at the wall clock (an event costs tens of µs in wasm).
const SLICE_EVENTS: u32 = 100;

/// The simulation's share of a frame: what rendering (measured) leaves of 16 ms, within bounds.
pub fn frame_budget_ms(render_ms: f64) -> f64 {
    (FRAME_MS - render_ms).clamp(MIN_BUDGET_MS, MAX_BUDGET_MS)
}
/// Longest wall-clock gap counted between two frames (a background tab comes back without a jump).
const MAX_FRAME_GAP_MS: f64 = 100.0;

#[hook]
pub fn use_play_loop(handle: Rc<RefCell<SimHandle>>, publish: Callback<()>) {
    use_effect_with((), move |_| {
        let frames = FrameLoop::start(move |gap_ms| {
            if tick(&mut handle.borrow_mut(), gap_ms) {
                publish.emit(());
            }
        });
        move || frames.stop()
    });
}

/// Advance the handle for one frame. Returns whether anything changed (then a snapshot is published).
fn tick(handle: &mut SimHandle, gap_ms: f64) -> bool {
    let started = browser::now_ms();
    let deadline = started + frame_budget_ms(handle.perf.render_ms);
    let mut events = 0u32;
    let worked = if let Some(target) = handle.seek_target {
        loop {
            let progress = handle.timeline_mut().run_to(target, SLICE_EVENTS);
            events += progress.events;
            if progress.reached || handle.timeline().halted() {
                handle.seek_target = None;
                break;
            }
            if browser::now_ms() >= deadline {
                break;
            }
        }
        true
    } else if handle.playing {
        let timeline = handle.timeline();
        let span_us = (gap_ms.clamp(0.0, MAX_FRAME_GAP_MS) * handle.speed_milli as f64) as u64;
        let target = (timeline.now() + Duration::from_micros(span_us)).min(timeline.end().max(timeline.now()));
        let mut reached = false;
        while !reached {
            let progress = handle.timeline_mut().run_to(target, SLICE_EVENTS);
            events += progress.events;
            reached = progress.reached;
            if handle.timeline().halted() || browser::now_ms() >= deadline {
                break;
            }
        }
        handle.lagging = !reached && !handle.timeline().halted();
        if handle.timeline().now() >= handle.timeline().end() || handle.timeline().halted() {
            handle.playing = false;
        }
        true
    } else {
        false
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
