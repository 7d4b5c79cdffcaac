//! The simulation behind the UI: not UI state, but a shared handle the play loop steps.
//!
//! Components never touch the `Simulation`; they get `Rc<SimView>` snapshots published with a
//! generation counter. Wall-clock pacing decides how many events run per frame, never what
//! happens in them.

use std::cell::RefCell;
use std::rc::Rc;

use rmqsim_core::scenario::{library, Scenario};
use rmqsim_core::time::{Duration, Time};
use rmqsim_core::view::SimView;
use rmqsim_core::Simulation;

/// At most this many events per frame, so a frame stays short however fast the clock runs.
const MAX_EVENTS_PER_FRAME: u32 = 20_000;

pub struct SimHandle {
    simulation: Simulation,
    run_until: Time,
}

impl SimHandle {
    pub fn load_builtin(id: &str, seed: Option<u64>) -> Result<SimHandle, String> {
        let text = library::find(id).ok_or_else(|| format!("no built-in scenario `{id}`"))?;
        let scenario = Scenario::parse(id, text).map_err(|e| e.to_string())?;
        let seed = seed.unwrap_or(scenario.seed);
        let simulation = Simulation::new(&scenario, seed).map_err(|e| e.to_string())?;
        crate::panic_panel::set_current_run(id, seed);
        let run_until = Time::ZERO + scenario.run_for();
        Ok(SimHandle { simulation, run_until })
    }

    pub fn shared(self) -> Rc<RefCell<SimHandle>> {
        Rc::new(RefCell::new(self))
    }

    /// Advance virtual time by `span` (capped at the scenario's end). Returns false at the end.
    pub fn advance(&mut self, span: Duration) -> bool {
        let target = (self.simulation.now() + span).min(self.run_until);
        self.simulation.run_bounded(target, MAX_EVENTS_PER_FRAME);
        self.simulation.now() < self.run_until
    }

    pub fn view(&self) -> Rc<SimView> {
        Rc::new(self.simulation.view())
    }

    pub fn run_until(&self) -> Time {
        self.run_until
    }
}
