//! The play loop: a gloo-timers interval that advances the simulation while playing.
//!
//! Each tick advances virtual time by `speed × tick` and publishes a fresh view snapshot. The
//! interval lives as long as the component; play/pause and speed are read from shared cells so
//! the closure never sees stale state (Yew's stale-closure pitfall).

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use gloo_timers::callback::Interval;
use rmqsim_core::time::Duration;
use rmqsim_core::view::SimView;
use yew::prelude::*;

use crate::sim_handle::SimHandle;

/// Wall-clock milliseconds between ticks (about 30 frames per second).
pub const TICK_MS: u32 = 33;

/// Shared controls: what the loop reads on every tick.
#[derive(Clone)]
pub struct PlayControls {
    pub playing: Rc<Cell<bool>>,
    /// Virtual microseconds per wall-clock millisecond ×1000 (1000 = real time).
    pub speed_milli: Rc<Cell<u64>>,
}

impl PlayControls {
    pub fn new(playing: bool, speed_milli: u64) -> Self {
        PlayControls { playing: Rc::new(Cell::new(playing)), speed_milli: Rc::new(Cell::new(speed_milli)) }
    }
}

#[hook]
pub fn use_play_loop(sim: Rc<RefCell<SimHandle>>, controls: PlayControls, publish: Callback<Rc<SimView>>) {
    use_effect_with((), move |_| {
        let interval = Interval::new(TICK_MS, move || {
            if !controls.playing.get() {
                return;
            }
            // Virtual time per tick = TICK_MS × speed; speed is kept in thousandths for integers only.
            let span = Duration::from_micros(u64::from(TICK_MS) * controls.speed_milli.get());
            let more = sim.borrow_mut().advance(span);
            if !more {
                controls.playing.set(false);
            }
            publish.emit(sim.borrow().view());
        });
        move || drop(interval)
    });
}
