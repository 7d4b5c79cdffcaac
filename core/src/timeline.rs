//! The sandbox's time machine: checkpoints, rewind by deterministic replay, and fork.
//!
//! A run is a pure function of (scenario, seed, user actions), so going back in time never needs
//! an undo log: restore the latest checkpoint at or before the instant and replay. A `Timeline`
//! wraps the live [`Simulation`] with
//!
//! - **checkpoints**: clones of the simulation (cheap: disk pages are shared behind `Rc`) taken at
//!   every multiple of the checkpoint interval; when there are more than the configured maximum,
//!   every other one is dropped and the interval doubles, so memory stays bounded on long runs.
//!   A checkpoint shares the observations made so far with the live run (see
//!   [`crate::observation_log`]): it copies only the open chunk (fewer than 1 024);
//! - **the action log**: the actions a person added, in time order (see [`crate::action_log`]);
//! - **fork**: acting at an instant earlier than the furthest one explored replaces the future:
//!   later user actions and later checkpoints are dropped, and the run continues from there.
//!
//! # The one rule that makes replay exact
//!
//! A user action at `t` is injected when the simulation has processed every event at or before
//! `t` (after `run_until(t)`), never in the middle of an instant. Live clicks, replays from a
//! checkpoint and a fresh run from a shared link ([`replay`]) all follow it, so they build the same
//! event queue in the same order and give the same trace digest. Checkpoints are taken at the same
//! kind of point: after every event at or before their time, before any user action at that time.

use std::rc::Rc;

use crate::action_log::{check_action, UserAction, MAX_ACTIONS};
use crate::scenario::{Scenario, ScenarioErrors};
use crate::simulation::Simulation;
use crate::time::{Duration, Time};

/// How often to checkpoint, how many checkpoints to keep, and how many trace records to keep.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimelineConfig {
    /// Virtual time between checkpoints at the start (it doubles each time the count is thinned).
    pub checkpoint_every: Duration,
    /// The most checkpoints kept; past it, every other one is dropped.
    pub max_checkpoints: u32,
    /// Recent trace records each simulation keeps (for an event log); 0 keeps none.
    pub recent_trace: u32,
}

impl Default for TimelineConfig {
    fn default() -> Self {
        TimelineConfig { checkpoint_every: Duration::from_secs(5), max_checkpoints: 64, recent_trace: 0 }
    }
}

/// Why an action was not taken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TimelineError {
    /// The action names nodes the scenario does not have, or is malformed.
    Rejected { reason: String },
    /// Actions apply now or in the past (a fork), never ahead of the live clock.
    InTheFuture { at: Time, now: Time },
    /// The action log is full.
    LogFull { max: usize },
    /// Actions out of time order (when building from a log).
    OutOfOrder { index: usize },
}

impl std::fmt::Display for TimelineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TimelineError::Rejected { reason } => write!(f, "{reason}"),
            TimelineError::InTheFuture { at, now } => write!(f, "cannot act at {at}: the run is at {now}"),
            TimelineError::LogFull { max } => write!(f, "the run already has {max} actions, the most a run can carry"),
            TimelineError::OutOfOrder { index } => write!(f, "action {index} happens before the one listed before it"),
        }
    }
}

impl std::error::Error for TimelineError {}

/// What a bounded call did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// Events processed.
    pub events: u32,
    /// Whether the target instant was reached (false: the event budget ran out, or the run halted).
    pub reached: bool,
}

/// Shared (`Rc`) between a timeline and its copies: a checkpoint never changes once taken.
struct Checkpoint {
    at: Time,
    /// How many log entries the checkpointed simulation has injected.
    applied: u32,
    simulation: Simulation,
}

/// A simulation with checkpoints, an action log, rewind and fork.
#[derive(Clone)]
pub struct Timeline {
    live: Simulation,
    /// Log entries already injected into `live`.
    applied: u32,
    log: Vec<UserAction>,
    /// Sorted by time; the first is the state before anything ran (time zero).
    checkpoints: Vec<Rc<Checkpoint>>,
    every: Duration,
    /// The widest spacing asked for by the user interface (see [`Timeline::space_checkpoints`]).
    spacing: Duration,
    max_checkpoints: u32,
    /// The furthest instant explored since the last fork.
    frontier: Time,
    /// The scenario's `run_for`.
    end: Time,
    /// Counts forks that dropped an explored future (views keyed on it know to forget that future).
    forks: u32,
}

impl Timeline {
    /// A fresh run of `scenario` with `seed`.
    pub fn new(scenario: &Scenario, seed: u64, config: &TimelineConfig) -> Result<Timeline, ScenarioErrors> {
        let mut live = Simulation::new(scenario, seed)?;
        live.kernel_mut().trace_mut().set_recent_capacity(config.recent_trace as usize);
        let every = Duration::from_micros(config.checkpoint_every.as_micros().max(1));
        Ok(Timeline {
            checkpoints: vec![Rc::new(Checkpoint { at: Time::ZERO, applied: 0, simulation: live.clone() })],
            live,
            applied: 0,
            log: Vec::new(),
            every,
            spacing: Duration::ZERO,
            max_checkpoints: config.max_checkpoints.max(2),
            frontier: Time::ZERO,
            end: Time::ZERO + scenario.run_for(),
            forks: 0,
        })
    }

    /// A run with a ready action log (from a shared link), still at time zero: `seek` to show it.
    pub fn with_actions(
        scenario: &Scenario,
        seed: u64,
        config: &TimelineConfig,
        actions: Vec<UserAction>,
    ) -> Result<Timeline, TimelineError> {
        let mut timeline = Timeline::new(scenario, seed, config)
            .map_err(|errors| TimelineError::Rejected { reason: errors.to_string() })?;
        if actions.len() > MAX_ACTIONS {
            return Err(TimelineError::LogFull { max: MAX_ACTIONS });
        }
        let names = scenario.node_names();
        for (i, user) in actions.iter().enumerate() {
            check_action(&names, &user.action)
                .map_err(|reason| TimelineError::Rejected { reason: format!("action {}: {reason}", i + 1) })?;
            if i > 0 && actions[i - 1].at > user.at {
                return Err(TimelineError::OutOfOrder { index: i + 1 });
            }
        }
        timeline.log = actions;
        Ok(timeline)
    }

    // --- reading -------------------------------------------------------------------------------

    /// The live simulation (views, trace, observations).
    pub fn simulation(&self) -> &Simulation {
        &self.live
    }

    pub fn now(&self) -> Time {
        self.live.now()
    }

    pub fn seed(&self) -> u64 {
        self.live.seed()
    }

    /// The scenario's end (`run_for`): advancing and seeking stop there.
    pub fn end(&self) -> Time {
        self.end
    }

    /// The furthest instant explored since the last fork.
    pub fn frontier(&self) -> Time {
        self.frontier
    }

    /// The user actions, in time order (including those later than now, after a rewind).
    pub fn log(&self) -> &[UserAction] {
        &self.log
    }

    /// How many user actions lie after now: acting now would drop them.
    pub fn actions_after_now(&self) -> usize {
        let now = self.now();
        self.log.iter().filter(|a| a.at > now).count()
    }

    /// Whether acting now replaces an explored future (later actions, or time already explored).
    pub fn acting_now_forks(&self) -> bool {
        self.frontier > self.now() || self.actions_after_now() > 0
    }

    /// The instants of the checkpoints kept.
    pub fn checkpoint_times(&self) -> Vec<Time> {
        self.checkpoints.iter().map(|c| c.at).collect()
    }

    /// The current checkpoint interval (doubles as checkpoints are thinned).
    pub fn checkpoint_interval(&self) -> Duration {
        self.every
    }

    /// Copy the live simulation's steps into its recent trace records, or only digest them (see
    /// [`crate::sim::trace::Trace::set_keeping`]); replays after a rewind follow the same choice.
    pub fn keep_records(&mut self, keep: bool) {
        self.live.kernel_mut().trace_mut().set_keeping(keep);
    }

    /// Forget the live simulation's recent trace records ([`crate::sim::trace::Trace::clear_recent`]).
    pub fn forget_records(&mut self) {
        self.live.kernel_mut().trace_mut().clear_recent();
    }

    /// Take the next checkpoints at least `at_least` apart (ZERO: the configured interval again).
    /// A checkpoint copies the whole run, so a UI playing fast asks for fewer of them: at 100x a
    /// checkpoint every 5 s of virtual time would be 20 copies per wall second. Checkpoints stay at
    /// multiples of the interval (times a power of two), so those already kept still line up.
    pub fn space_checkpoints(&mut self, at_least: Duration) {
        self.spacing = at_least;
    }

    /// The interval the next checkpoint is taken at: `every`, doubled until it reaches `spacing`.
    fn effective_interval(&self) -> Duration {
        let mut interval = self.every;
        while interval < self.spacing && interval.as_micros() < u64::MAX / 2 {
            interval = interval.saturating_mul(2);
        }
        interval
    }

    /// The instant the next checkpoint will be taken at (once every event at or before it has run).
    /// A caller on a time budget can stop just before it and take the copy when it has time for it.
    pub fn next_checkpoint_at(&self) -> Time {
        self.next_checkpoint_time()
    }

    /// Forks so far that dropped an explored future.
    pub fn forks(&self) -> u32 {
        self.forks
    }

    pub fn halted(&self) -> bool {
        self.live.kernel().halted().is_some()
    }

    // --- moving --------------------------------------------------------------------------------

    /// Run for `span` of virtual time (stopping at the end), at most `max_events` events.
    pub fn advance(&mut self, span: Duration, max_events: u32) -> Progress {
        let target = (self.now() + span).min(self.end.max(self.now()));
        self.run_to(target, max_events)
    }

    /// Process the next event that does something (applying user actions and taking checkpoints due
    /// before it): void events (a cancelled timer, a message to a dead incarnation) are skipped, as
    /// the trace skips them. Returns false when there is nothing left before the end, or the run halted.
    pub fn step_event(&mut self) -> bool {
        let counted = self.live.kernel().events_processed();
        while self.step_any_event() {
            if self.live.kernel().events_processed() > counted {
                return true;
            }
        }
        false
    }

    /// Process the next event, void or not.
    fn step_any_event(&mut self) -> bool {
        loop {
            if self.halted() {
                return false;
            }
            let boundary = self.next_boundary();
            match self.live.kernel().next_event_time() {
                Some(next) if next <= boundary => {
                    if next > self.end.max(self.now()) {
                        return false;
                    }
                    self.live.step();
                    self.frontier = self.frontier.max(self.now());
                    return true;
                }
                None if self.log.get(self.applied as usize).is_none() => return false,
                _ => {
                    if boundary > self.end.max(self.now()) {
                        return false;
                    }
                    // Nothing happens before the boundary: settle it without running any event.
                    self.run_to(boundary, 0);
                }
            }
        }
    }

    /// Go to `at` (at most the end): rewind if needed, then replay. Unbounded; see [`Timeline::rewind_to`]
    /// and [`Timeline::run_to`] to spread a long replay over several frames.
    pub fn seek(&mut self, at: Time) -> Progress {
        let at = at.min(self.end.max(self.now()));
        self.rewind_to(at);
        self.run_to(at, u32::MAX)
    }

    /// Make the live simulation the best starting point for reaching `at`: itself if it is not past
    /// `at` and later than every checkpoint before `at`, else a copy of the latest such checkpoint.
    pub fn rewind_to(&mut self, at: Time) {
        let checkpoint = self.checkpoint_before(at);
        if self.now() <= at && self.now() >= checkpoint.at && self.applied >= checkpoint.applied {
            return;
        }
        let (live, applied) = (self.restore(checkpoint), checkpoint.applied);
        self.live = live;
        self.applied = applied;
    }

    /// A copy of this timeline (same log, same checkpoints, shared) whose live simulation is the best
    /// starting point for reaching `at`, as after [`Timeline::rewind_to`]: one copy of a checkpoint,
    /// where cloning and then rewinding would copy the live run as well. A UI that computed a run
    /// ahead of what it shows lands its shown timeline on the computed one this way; `explored` is
    /// what the shown timeline had explored itself (the frontier: acting before it forks).
    pub fn landed_at(&self, at: Time, explored: Time) -> Timeline {
        let checkpoint = self.checkpoint_before(at);
        Timeline {
            live: self.restore(checkpoint),
            applied: checkpoint.applied,
            log: self.log.clone(),
            checkpoints: self.checkpoints.clone(),
            every: self.every,
            spacing: self.spacing,
            max_checkpoints: self.max_checkpoints,
            frontier: explored.max(checkpoint.at),
            end: self.end,
            forks: self.forks,
        }
    }

    /// Run forward to `at`, processing at most `max_events` events, applying the user actions and
    /// taking the checkpoints due on the way. Never goes back: an earlier `at` is reached at once.
    pub fn run_to(&mut self, at: Time, max_events: u32) -> Progress {
        let mut events = 0u32;
        loop {
            if self.halted() {
                return Progress { events, reached: false };
            }
            let stop = at.min(self.next_boundary()).max(self.now());
            if !self.instant_done(stop) {
                let budget = max_events - events;
                if budget > 0 {
                    events += self.live.run_bounded(stop, budget);
                }
                if !self.instant_done(stop) {
                    return Progress { events, reached: false };
                }
            }
            // Every event at or before `stop` has run: settle the clock there (runs nothing).
            self.live.run_until(stop);
            self.frontier = self.frontier.max(stop);
            if stop == self.next_checkpoint_time() {
                self.take_checkpoint();
            }
            if let Some(user) = self.log.get(self.applied as usize).filter(|u| u.at <= stop) {
                let action = user.action.clone();
                // Names were checked when the action entered the log.
                self.live.inject(Some(stop), &action).expect("a logged action applies");
                self.applied += 1;
                continue;
            }
            if stop >= at {
                return Progress { events, reached: true };
            }
        }
    }

    /// Apply `action` now. If the run was rewound, this forks: later user actions and the explored
    /// future are replaced.
    pub fn act(&mut self, action: crate::scenario::ActionSpec) -> Result<(), TimelineError> {
        self.act_at(self.now(), action)
    }

    /// Apply `action` at `at`, which may be earlier than now (a fork) but not later.
    pub fn act_at(&mut self, at: Time, action: crate::scenario::ActionSpec) -> Result<(), TimelineError> {
        if at > self.now() {
            return Err(TimelineError::InTheFuture { at, now: self.now() });
        }
        if self.log.len() >= MAX_ACTIONS {
            return Err(TimelineError::LogFull { max: MAX_ACTIONS });
        }
        let names = self.live.scenario().node_names();
        check_action(&names, &action).map_err(|reason| TimelineError::Rejected { reason })?;
        let kept = self.log.partition_point(|u| u.at <= at);
        let forks = kept < self.log.len() || self.frontier > at;
        if forks {
            self.forks += 1;
        }
        self.log.truncate(kept);
        self.checkpoints.retain(|c| c.at <= at);
        self.frontier = at;
        if self.applied as usize > kept || at < self.now() {
            self.rewind_to(at);
        }
        self.run_to(at, u32::MAX);
        if self.halted() {
            return Err(TimelineError::Rejected { reason: "the run has halted at a limit".into() });
        }
        self.live.inject(Some(at), &action).map_err(|reason| TimelineError::Rejected { reason })?;
        self.log.push(UserAction { at, action });
        self.applied += 1;
        // Apply it at once, so that the view shows its effect.
        self.run_to(at, u32::MAX);
        Ok(())
    }

    // --- internals -----------------------------------------------------------------------------

    /// The latest checkpoint at or before `at` (the first is at time zero).
    fn checkpoint_before(&self, at: Time) -> &Checkpoint {
        &self.checkpoints[self.checkpoints.partition_point(|c| c.at <= at).saturating_sub(1)]
    }

    /// A copy of `checkpoint`'s simulation that keeps records as the live run does, whatever the
    /// checkpoint was taken under.
    fn restore(&self, checkpoint: &Checkpoint) -> Simulation {
        let mut restored = checkpoint.simulation.clone();
        restored.kernel_mut().trace_mut().set_keeping(self.live.kernel().trace().keeping());
        restored
    }

    /// Whether every event at or before `stop` has run.
    fn instant_done(&self, stop: Time) -> bool {
        self.live.kernel().next_event_time().is_none_or(|next| next > stop)
    }

    /// The next instant where the timeline must stop: the next checkpoint or the next user action.
    fn next_boundary(&self) -> Time {
        let checkpoint = self.next_checkpoint_time();
        match self.log.get(self.applied as usize) {
            Some(user) => user.at.min(checkpoint),
            None => checkpoint,
        }
    }

    /// The first multiple of the interval after the last checkpoint, and not before the clock: when the
    /// interval narrows again (see [`Timeline::space_checkpoints`]) the multiples just after the last
    /// checkpoint may lie in the past, and the timeline must never stop in the past.
    fn next_checkpoint_time(&self) -> Time {
        let last = self.checkpoints.last().map_or(0, |c| c.at.as_micros());
        let every = self.effective_interval().as_micros();
        let after_last = (last / every).saturating_add(1).saturating_mul(every);
        let now = self.now().as_micros();
        let from_now = now.div_ceil(every).saturating_mul(every);
        Time::from_micros(after_last.max(from_now))
    }

    fn take_checkpoint(&mut self) {
        let checkpoint = Checkpoint { at: self.now(), applied: self.applied, simulation: self.live.clone() };
        self.checkpoints.push(Rc::new(checkpoint));
        if self.checkpoints.len() > self.max_checkpoints as usize {
            // Keep the multiples of twice the interval: checkpoints stay evenly spread over the run.
            self.every = self.every.saturating_mul(2);
            let every = self.every.as_micros();
            self.checkpoints.retain(|c| c.at.as_micros() % every == 0);
        }
    }
}

/// The reference run: a fresh simulation with `actions` injected by the rule of this module, run
/// to `until`. A timeline that reached `until` by any path has the same digest.
pub fn replay(scenario: &Scenario, seed: u64, actions: &[UserAction], until: Time) -> Result<Simulation, String> {
    let mut simulation = Simulation::new(scenario, seed).map_err(|e| e.to_string())?;
    for user in actions.iter().filter(|u| u.at <= until) {
        simulation.run_until(user.at);
        simulation.inject(Some(user.at), &user.action)?;
    }
    simulation.run_until(until);
    Ok(simulation)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action_log::{self, RunLink, ScenarioRef};
    use crate::scenario::library;
    use crate::scenario::model::{ActionSpec, CrashKindSpec};

    fn scenario(id: &str) -> Scenario {
        Scenario::parse(id, library::find(id).unwrap()).unwrap()
    }

    fn straight(scenario: &Scenario, seed: u64, until: Time) -> u64 {
        replay(scenario, seed, &[], until).unwrap().digest()
    }

    fn secs(s: u64) -> Time {
        Time::from_secs(s)
    }

    fn kill(node: &str, kind: CrashKindSpec) -> ActionSpec {
        ActionSpec::Crash { node: node.into(), kind }
    }

    #[test]
    fn seeking_backward_then_forward_gives_the_digest_of_a_straight_run() {
        let scenario = scenario("producer-broker-down");
        let mut timeline = Timeline::new(&scenario, 3, &TimelineConfig::default()).unwrap();
        // Small, odd event budgets stop the run in the middle of instants.
        while timeline.now() < secs(100) {
            timeline.advance(Duration::from_millis(1_700), 97);
        }
        timeline.seek(secs(100));
        assert_eq!(timeline.simulation().digest(), straight(&scenario, 3, secs(100)));
        for t in [40, 12, 0, 77, 100, 140, 33, 36] {
            timeline.seek(secs(t));
            assert_eq!(timeline.now(), secs(t));
            let reference = replay(&scenario, 3, &[], secs(t)).unwrap();
            assert_eq!(timeline.simulation().digest(), reference.digest(), "after seeking to {t} s");
            let json = |s: &Simulation| serde_json::to_string(s.observations()).unwrap();
            assert_eq!(json(timeline.simulation()), json(&reference), "observations after seeking to {t} s");
        }
        timeline.seek(Time::from_micros(61_234_567));
        assert_eq!(timeline.simulation().digest(), straight(&scenario, 3, Time::from_micros(61_234_567)));
    }

    #[test]
    fn a_timeline_computed_ahead_lands_an_earlier_instant_with_the_straight_runs_digest_and_its_logged_actions() {
        let scenario = scenario("producer-broker-down");
        let mut shown = Timeline::new(&scenario, 4, &TimelineConfig::default()).unwrap();
        shown.seek(secs(10));
        shown.act(kill("broker-a", CrashKindSpec::ProcessKill)).unwrap();
        shown.seek(secs(5));
        // Computed ahead from a rewound timeline: the logged kill at 10 s replays on the way.
        let mut ahead = shown.clone();
        ahead.seek(secs(90));
        let mut landed = ahead.landed_at(secs(47), shown.frontier());
        assert!(landed.now() <= secs(47), "it starts at a checkpoint at or before the instant");
        assert_eq!(landed.checkpoint_times(), ahead.checkpoint_times(), "the checkpoints are shared");
        landed.seek(secs(47));
        let reference = replay(&scenario, 4, shown.log(), secs(47)).unwrap();
        assert_eq!(landed.simulation().digest(), reference.digest());
        assert_eq!(landed.frontier(), secs(47), "what only the copy computed is not explored by the shown run");
        assert_eq!(landed.log(), shown.log());
        assert!(!landed.acting_now_forks(), "acting at the landed instant replaces no future the student saw");
    }

    #[test]
    fn stepping_event_by_event_meets_the_straight_run() {
        let scenario = scenario("broker-heartbeats");
        let mut timeline = Timeline::new(&scenario, 5, &TimelineConfig::default()).unwrap();
        let mut steps = 0;
        while timeline.now() < secs(31) && timeline.step_event() {
            steps += 1;
        }
        assert!(steps > 10, "{steps} steps");
        let reached = timeline.now();
        // A step leaves the run at the time of the event just processed; finish that instant.
        timeline.run_to(reached, u32::MAX);
        assert_eq!(timeline.simulation().digest(), straight(&scenario, 5, reached));
    }

    #[test]
    fn a_fork_gives_the_digest_of_a_fresh_run_with_the_same_log() {
        let scenario = scenario("producer-broker-down");
        let mut timeline = Timeline::new(&scenario, 1, &TimelineConfig::default()).unwrap();
        timeline.advance(Duration::from_secs(50), u32::MAX);
        timeline.act(kill("broker-a", CrashKindSpec::ProcessKill)).unwrap();
        timeline.advance(Duration::from_secs(30), 1_000);
        timeline.advance(Duration::from_secs(30), u32::MAX);
        timeline.act(ActionSpec::Restart { node: "broker-a".into() }).unwrap();
        timeline.advance(Duration::from_secs(20), u32::MAX);
        assert_eq!(timeline.log().len(), 2);

        // Back to 20 s: nothing is dropped until we act.
        timeline.seek(secs(20));
        assert!(timeline.acting_now_forks());
        assert_eq!(timeline.actions_after_now(), 2);
        assert_eq!(timeline.log().len(), 2);
        // Acting at 20 s replaces the future: both later actions go.
        timeline.act(kill("broker-b", CrashKindSpec::PowerLoss)).unwrap();
        timeline
            .act(ActionSpec::Partition { from: vec!["broker-a".into()], to: vec!["namesrv-0".into()], both_ways: true })
            .unwrap();
        assert_eq!(timeline.log().len(), 2);
        assert_eq!(timeline.forks(), 1);
        assert!(timeline.checkpoint_times().iter().all(|t| *t <= secs(20)));
        while !timeline.run_to(secs(120), 333).reached {}
        let fresh = replay(&scenario, 1, timeline.log(), secs(120)).unwrap();
        assert_eq!(timeline.simulation().digest(), fresh.digest());
        let json = |s: &Simulation| serde_json::to_string(s.observations()).unwrap();
        assert_eq!(json(timeline.simulation()), json(&fresh), "the fork's observations are the fresh run's");
        assert!(!timeline.simulation().is_up("broker-b"));

        // The same through the shareable string.
        let link = RunLink {
            scenario: ScenarioRef::builtin("producer-broker-down").unwrap(),
            seed: 1,
            at: timeline.now(),
            actions: timeline.log().to_vec(),
        };
        let decoded = action_log::decode(&action_log::encode(&link)).unwrap();
        let scenario = decoded.scenario().unwrap();
        let mut opened =
            Timeline::with_actions(&scenario, decoded.seed, &TimelineConfig::default(), decoded.actions).unwrap();
        opened.seek(decoded.at);
        assert_eq!(opened.simulation().digest(), timeline.simulation().digest());
    }

    #[test]
    fn after_a_rewind_the_logged_future_replays_unless_we_act() {
        let scenario = scenario("broker-heartbeats");
        let mut timeline = Timeline::new(&scenario, 2, &TimelineConfig::default()).unwrap();
        timeline.seek(secs(40));
        timeline.act(kill("broker-a", CrashKindSpec::PowerLoss)).unwrap();
        timeline.seek(secs(90));
        let with_action = timeline.simulation().digest();
        timeline.seek(secs(10));
        assert!(timeline.simulation().is_up("broker-a"));
        timeline.seek(secs(90));
        assert_eq!(timeline.simulation().digest(), with_action);
        assert!(!timeline.simulation().is_up("broker-a"));
        assert_eq!(timeline.forks(), 0);
    }

    #[test]
    fn two_actions_at_one_instant_keep_their_order() {
        let scenario = scenario("broker-heartbeats");
        let mut timeline = Timeline::new(&scenario, 9, &TimelineConfig::default()).unwrap();
        timeline.seek(secs(15));
        timeline.act(kill("broker-a", CrashKindSpec::ProcessKill)).unwrap();
        timeline.act(ActionSpec::Restart { node: "broker-a".into() }).unwrap();
        timeline.seek(secs(60));
        let fresh = replay(&scenario, 9, timeline.log(), secs(60)).unwrap();
        assert_eq!(timeline.simulation().digest(), fresh.digest());
        timeline.seek(secs(15));
        timeline.seek(secs(60));
        assert_eq!(timeline.simulation().digest(), fresh.digest());
    }

    #[test]
    fn checkpoints_stay_bounded_and_evenly_spread() {
        let scenario = scenario("broker-heartbeats");
        let config = TimelineConfig { checkpoint_every: Duration::from_secs(1), max_checkpoints: 8, recent_trace: 16 };
        let mut timeline = Timeline::new(&scenario, 4, &config).unwrap();
        timeline.seek(secs(200));
        let times = timeline.checkpoint_times();
        assert!(times.len() <= 8, "{times:?}");
        let every = timeline.checkpoint_interval().as_micros();
        assert!(every >= 16_000_000, "the interval doubled: {every}");
        assert!(times.iter().all(|t| t.as_micros() % every == 0), "{times:?}");
        assert_eq!(timeline.simulation().kernel().trace().recent().len(), 16);
        timeline.seek(secs(50));
        assert_eq!(timeline.simulation().digest(), straight(&scenario, 4, secs(50)));
    }

    #[test]
    fn steps_run_without_keeping_records_leave_a_gap_in_the_recent_trace_but_not_in_the_digest() {
        let scenario = scenario("broker-heartbeats");
        let config =
            TimelineConfig { checkpoint_every: Duration::from_secs(5), max_checkpoints: 64, recent_trace: 400 };
        let mut timeline = Timeline::new(&scenario, 4, &config).unwrap();
        timeline.run_to(secs(20), u32::MAX);
        let steps =
            |t: &Timeline| t.simulation().kernel().trace().recent().iter().map(|r| r.step).collect::<Vec<u64>>();
        assert!(steps(&timeline).windows(2).all(|w| w[1] <= w[0] + 1), "kept throughout: no gap");
        let kept_before = timeline.simulation().kernel().trace().recent().len();
        timeline.keep_records(false);
        timeline.run_to(secs(40), u32::MAX);
        assert_eq!(timeline.simulation().kernel().trace().recent().len(), kept_before, "nothing copied meanwhile");
        timeline.keep_records(true);
        timeline.run_to(secs(60), u32::MAX);
        assert!(steps(&timeline).windows(2).any(|w| w[1] > w[0] + 1), "the step numbers show the gap");
        assert_eq!(timeline.simulation().digest(), straight(&scenario, 4, secs(60)), "every step was digested");
        // A rewind to a checkpoint taken while not keeping still copies the replayed steps.
        timeline.seek(secs(38));
        let last = timeline.simulation().kernel().trace().recent().back().map(|r| r.time);
        assert!(last.is_some_and(|t| t > secs(35)), "the replay kept its records: {last:?}");
        // A sandbox seek that skipped steps forgets what it kept before them: only later steps remain.
        timeline.forget_records();
        assert!(timeline.simulation().kernel().trace().recent().is_empty());
        timeline.run_to(secs(45), u32::MAX);
        assert!(
            steps(&timeline).first().is_some_and(|&s| s > 0) && steps(&timeline).windows(2).all(|w| w[1] == w[0] + 1)
        );
        assert_eq!(
            timeline.simulation().digest(),
            straight(&scenario, 4, secs(45)),
            "forgetting records is not digested"
        );
    }

    #[test]
    fn a_timeline_asked_for_sparser_checkpoints_takes_them_at_wider_multiples_and_seeks_the_same() {
        let scenario = scenario("broker-heartbeats");
        let config = TimelineConfig { checkpoint_every: Duration::from_secs(5), max_checkpoints: 64, recent_trace: 0 };
        let mut timeline = Timeline::new(&scenario, 4, &config).unwrap();
        timeline.seek(secs(20));
        assert_eq!(timeline.checkpoint_times(), [0, 5, 10, 15, 20].map(secs));
        // Playing fast: 50 s apart asked, 80 s (5 s doubled until it reaches 50 s) taken.
        timeline.space_checkpoints(Duration::from_secs(50));
        timeline.seek(secs(200));
        assert_eq!(timeline.checkpoint_times(), [0, 5, 10, 15, 20, 80, 160].map(secs));
        // Slower again: the configured interval.
        timeline.space_checkpoints(Duration::ZERO);
        timeline.seek(secs(210));
        assert_eq!(timeline.checkpoint_times().last(), Some(&secs(210)));
        timeline.seek(secs(130));
        assert_eq!(timeline.simulation().digest(), straight(&scenario, 4, secs(130)));
    }

    #[test]
    fn acting_ahead_of_the_clock_or_on_unknown_nodes_is_refused() {
        let scenario = scenario("broker-heartbeats");
        let mut timeline = Timeline::new(&scenario, 1, &TimelineConfig::default()).unwrap();
        timeline.seek(secs(5));
        assert!(matches!(timeline.act_at(secs(6), ActionSpec::HealAll), Err(TimelineError::InTheFuture { .. })));
        assert!(matches!(
            timeline.act(ActionSpec::Restart { node: "broker-z".into() }),
            Err(TimelineError::Rejected { .. })
        ));
        assert!(timeline.log().is_empty());
    }
}
