//! The simulation behind the UI: a handle the play loop steps, commands, and published snapshots.
//!
//! The `Timeline` (simulation + checkpoints + action log) is not UI state. It lives in one
//! `SimHandle` behind an `Rc<RefCell<…>>`; components never touch it. They read `Rc<Snapshot>`s,
//! each stamped with a generation number, and send `SimCommand`s. Wall-clock pacing (in the play
//! loop) decides how many events run per frame, never what happens in them.

use std::cell::RefCell;
use std::rc::Rc;

use rmqsim_core::action_log::{self, RunLink, ScenarioRef, UserAction};
use rmqsim_core::metrics::Metrics;
use rmqsim_core::scenario::{ActionSpec, Scenario};
use rmqsim_core::time::{Duration, Time};
use rmqsim_core::timeline::{Timeline, TimelineConfig};
use rmqsim_core::view::SimView;
use yew::prelude::*;

use crate::browser;
use crate::checkpoint_pacer::{CheckpointPacer, Paced};
use crate::hooks::use_keyboard::use_keyboard;
use crate::hooks::use_play_loop::use_play_loop;
use crate::markers::{all_markers, Marker, MarkerKind, ObservedMarks};
use crate::run_ahead::{Frame, RunAhead};
use crate::state::{Notice, UiAction, UiState};
use crate::trace_lines::{flashes, Flash, TraceLine, TraceLines};

/// The scenario opened when the page has no link.
pub const DEFAULT_SCENARIO: &str = "broker-heartbeats";
/// Speeds offered, in thousandths of real time (100 = 0.1×, 10 000 000 = 10 000×).
pub const SPEEDS_MILLI: [u64; 7] = [100, 1_000, 10_000, 100_000, 1_000_000, 3_000_000, 10_000_000];
/// Start at 10× real time: heartbeats every 30 s are then visible every 3 s.
pub const DEFAULT_SPEED_MILLI: u64 = 10_000;
/// From this speed (100×) playing shows the frames of the run computed ahead (`run_ahead.rs`): a
/// 60 Hz frame then covers more virtual time than a recorded frame, and more events than a frame's
/// budget may run on a busy scenario. Slower speeds run the shown timeline itself, event by event.
pub const FRAMES_FROM_SPEED_MILLI: u64 = 100_000;
/// While paused, the run is computed ahead in at most this much of each frame (wall ms): the page
/// stays responsive to typing and clicks.
pub const AHEAD_IDLE_BUDGET_MS: f64 = 10.0;
/// While playing, a run computed ahead that trails the clock by at most this much virtual time is
/// still extended: it catches up, as the copy made when a run opens does with a 10x clock.
const AHEAD_CATCH_UP: Duration = Duration::from_secs(2);

/// While computing ahead with nothing else to show, the scrubber's computed bar is refreshed this often (wall ms).
const AHEAD_PUBLISH_MS: f64 = 500.0;
/// Trace records each simulation keeps for the event log and the animation.
const RECENT_TRACE: u32 = 400;
/// The event log is refreshed at most this often while playing (wall ms); the DOM has better things to do.
const LOG_REFRESH_MS: f64 = 150.0;
/// The chart is redrawn at most this often while playing (wall ms): at 100× a new sample arrives every frame.
const CHART_REFRESH_MS: f64 = 400.0;

pub fn speed_label(milli: u64) -> String {
    match milli {
        m if m < 1_000 => format!("{}.{}×", m / 1_000, m % 1_000 / 100),
        m => {
            let whole = m / 1_000;
            if whole >= 1_000 {
                format!("{} {:03}×", whole / 1_000, whole % 1_000)
            } else {
                format!("{whole}×")
            }
        }
    }
}

/// What the UI can ask of the simulation.
#[derive(Clone, Debug, PartialEq)]
pub enum SimCommand {
    TogglePlay,
    /// Process the next event.
    Step,
    /// Go back this far from now.
    Back(Duration),
    Seek(Time),
    SetSpeed(u64),
    Faster,
    Slower,
    /// Apply an action now (a fork if the run was rewound).
    Act(ActionSpec),
    LoadBuiltin(String),
    /// An imported scenario file: (file name, TOML text).
    LoadToml(String, String),
    /// A `#run=` string.
    OpenLink(String),
    /// Finish the current instant (and any seek), so that a link of `now` shows exactly this state.
    Settle,
    Reseed(u64),
}

/// Frame statistics, measured in the play loop.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Perf {
    /// Mean simulation work per frame, in ms (exponential moving average).
    pub work_ms: f64,
    /// Frames per second (moving average).
    pub fps: f64,
    /// Events processed in the last frame.
    pub events: u32,
    /// Mean time from publishing a snapshot to the DOM showing it, in ms (Yew's render and diff).
    pub render_ms: f64,
    /// The simulation's wall-clock share of the next frame, in ms (adapted to the frame rate).
    pub budget_ms: f64,
    /// Virtual time per wall time while playing (moving average): the speed actually reached.
    pub speed: f64,
}

/// Everything the components show, taken at one moment.
pub struct Snapshot {
    pub generation: u64,
    pub view: Rc<SimView>,
    pub scenario: Rc<Scenario>,
    /// The built-in scenario's id, or None for an imported one.
    pub builtin_id: Option<String>,
    pub end: Time,
    pub frontier: Time,
    /// How far the run has been computed ahead of what is shown (see `run_ahead.rs`).
    pub computed: Time,
    /// The page shows a frame recorded ahead (playing fast, or landing after it): the shown timeline
    /// is elsewhere, so the inspectors that read it wait for the pause.
    pub from_frames: bool,
    pub checkpoints: Rc<Vec<Time>>,
    pub log: Rc<Vec<UserAction>>,
    pub markers: Rc<Vec<Marker>>,
    pub lines: Rc<Vec<TraceLine>>,
    /// The view the chart draws: refreshed less often than `view` while playing.
    pub chart_view: Rc<SimView>,
    /// The checkers' chart series (`Checks::series()`), refreshed with `chart_view`.
    pub chart_checks: Rc<Metrics>,
    pub flashes: Rc<Vec<Flash>>,
    pub seeking: Option<Time>,
    /// Where the seek in progress replays from (the checkpoint it restored).
    pub seek_from: Time,
    pub forks_if_acting: bool,
    pub actions_after_now: usize,
    pub playing: bool,
    pub speed_milli: u64,
    /// The clock could not keep up with the chosen speed last frame.
    pub lagging: bool,
    pub perf: Perf,
}

impl PartialEq for Snapshot {
    fn eq(&self, other: &Self) -> bool {
        self.generation == other.generation
    }
}

impl Snapshot {
    pub fn now(&self) -> Time {
        self.view.time
    }
}

pub struct SimHandle {
    timeline: Timeline,
    scenario: Rc<Scenario>,
    source: ScenarioRef,
    lines: TraceLines,
    lines_published: Rc<Vec<TraceLine>>,
    lines_published_at: f64,
    chart_published: Option<(Rc<SimView>, Rc<Metrics>)>,
    chart_published_at: f64,
    /// When the last snapshot was published (wall ms), until its render is measured.
    pub published_at: Option<f64>,
    observed: ObservedMarks,
    /// Where the violation marks were last taken (instant, forks).
    verdicts_at: Option<(Time, u32)>,
    forks_seen: u32,
    log_published: Rc<Vec<UserAction>>,
    checkpoints_published: Rc<Vec<Time>>,
    markers_published: Rc<Vec<Marker>>,
    pub seek_target: Option<Time>,
    seek_from: Time,
    pub playing: bool,
    pub speed_milli: u64,
    pub lagging: bool,
    pub perf: Perf,
    /// The play loop's last slice: how to tell when a frame is nearly over.
    pub pace: Pace,
    generation: u64,
    /// The run computed ahead of the shown timeline, with its recorded frames.
    ahead: Option<RunAhead>,
    /// The recorded frame on screen while playing fast, and while the shown timeline lands on it.
    shown: Option<Rc<Frame>>,
    /// The shown timeline is replaying to the frame on screen (a seek), which stays until it is there.
    landing: bool,
    /// The clock of a fast playback: the frame on screen is the latest recorded at or before it.
    shown_time: Time,
    /// When the computed bar was last published while paused (wall ms).
    ahead_published_at: f64,
}

/// The play loop's last slice: its wall ms and virtual µs; of the seek in progress, its last
/// slice's virtual µs (0 before the first) and whether it ran steps without copying them; and what
/// the live run's checkpoints cost.
#[derive(Clone, Copy, Debug, Default)]
pub struct Pace {
    pub slice_ms: f64,
    pub slice_us: u64,
    pub seek_slice_us: u64,
    pub seek_skipped: bool,
    pub checkpoints: CheckpointPacer,
}

impl Pace {
    pub fn end_seek(&mut self) {
        self.seek_slice_us = 0;
        self.seek_skipped = false;
    }
}

fn config() -> TimelineConfig {
    TimelineConfig { recent_trace: RECENT_TRACE, ..TimelineConfig::default() }
}

impl SimHandle {
    /// A fresh run of `source` (with `seed`, or the scenario's own) and a ready action log.
    pub fn load(source: ScenarioRef, seed: Option<u64>, actions: Vec<UserAction>) -> Result<SimHandle, String> {
        let text = source.toml().ok_or_else(|| "no such built-in scenario".to_string())?;
        let origin = source.builtin_id().unwrap_or("imported scenario");
        let scenario = Scenario::parse(origin, text).map_err(|e| e.to_string())?;
        let seed = seed.unwrap_or(scenario.seed);
        let timeline = Timeline::with_actions(&scenario, seed, &config(), actions).map_err(|e| e.to_string())?;
        let run = RunLink { scenario: source.clone(), seed, at: Time::ZERO, actions: timeline.log().to_vec() };
        crate::panic_panel::set_current_run(run, timeline.end());
        // The copy that computes the run ahead starts now, while the run is at its start and copying
        // it costs next to nothing: playing at 10x extends it with each frame's spare time, so a
        // switch to 100x finds frames computed. Made later, while playing, the copy would cost a frame.
        let ahead = Some(RunAhead::new(&timeline));
        Ok(SimHandle {
            timeline,
            scenario: Rc::new(scenario),
            source,
            lines: TraceLines::default(),
            lines_published: Rc::default(),
            lines_published_at: f64::NEG_INFINITY,
            chart_published: None,
            chart_published_at: f64::NEG_INFINITY,
            published_at: None,
            observed: ObservedMarks::default(),
            verdicts_at: None,
            forks_seen: 0,
            log_published: Rc::default(),
            checkpoints_published: Rc::default(),
            markers_published: Rc::default(),
            seek_target: None,
            seek_from: Time::ZERO,
            playing: false,
            speed_milli: DEFAULT_SPEED_MILLI,
            lagging: false,
            perf: Perf::default(),
            pace: Pace::default(),
            generation: 0,
            ahead,
            shown: None,
            landing: false,
            shown_time: Time::ZERO,
            ahead_published_at: f64::NEG_INFINITY,
        })
    }

    pub fn load_builtin(id: &str) -> Result<SimHandle, String> {
        let source = ScenarioRef::builtin(id).ok_or_else(|| format!("no built-in scenario `{id}`"))?;
        SimHandle::load(source, None, Vec::new())
    }

    /// Open a `#run=` string: decoded strictly, resolved against this build, paused at its instant.
    pub fn open_link(text: &str) -> Result<SimHandle, String> {
        let link = action_log::decode(text).map_err(|e| e.to_string())?;
        let scenario = link.scenario().map_err(|e| e.to_string())?;
        link.check_actions(&scenario).map_err(|e| e.to_string())?;
        let mut handle = SimHandle::load(link.scenario.clone(), Some(link.seed), link.actions.clone())?;
        handle.seek_to(link.at);
        Ok(handle)
    }

    /// The run as a shareable link, at the current instant.
    pub fn link(&self) -> RunLink {
        RunLink {
            scenario: self.source.clone(),
            seed: self.timeline.seed(),
            at: self.timeline.now(),
            actions: self.timeline.log().to_vec(),
        }
    }

    /// Keep this handle's speed and play state when it replaces `previous`.
    fn inherit(mut self, previous: &SimHandle) -> SimHandle {
        self.speed_milli = previous.speed_milli;
        self.generation = previous.generation + 1;
        self
    }

    pub fn timeline_mut(&mut self) -> &mut Timeline {
        &mut self.timeline
    }

    pub fn timeline(&self) -> &Timeline {
        &self.timeline
    }

    fn seek_to(&mut self, at: Time) {
        let at = at.min(self.timeline.end());
        self.land_from_ahead_if_nearer(at);
        self.timeline.rewind_to(at);
        self.seek_from = self.timeline.now();
        self.seek_target = Some(at);
        self.pace.end_seek();
    }

    /// When a seek that ran steps without copying them copies again: forget the records kept before
    /// those steps, or they would show as the latest lines of the event log.
    pub fn forget_records_before_skipped_steps(&mut self) {
        if self.pace.seek_skipped {
            self.timeline.forget_records();
            self.pace.seek_skipped = false;
        }
    }

    /// Finish a seek in progress at once (before acting on the instant it was going to).
    fn finish_seek(&mut self) {
        if let Some(target) = self.seek_target.take() {
            // The rest runs copying every step.
            self.forget_records_before_skipped_steps();
            self.pace.end_seek();
            self.timeline.run_to(target, u32::MAX);
        }
        self.seek_done();
    }

    /// A seek reached its target: if it was a landing, the shown timeline is now where the frame was.
    pub fn seek_done(&mut self) {
        if self.landing {
            self.landing = false;
            self.shown = None;
        }
    }

    /// Live play: run the shown timeline toward `target` (at most `max_events` per part), its
    /// checkpoints taken where the frame ending at `deadline_ms` has room (see `CheckpointPacer`).
    pub fn run_live_to(
        &mut self,
        target: Time,
        max_events: u32,
        worked: bool,
        deadline_ms: f64,
        clock: &dyn Fn() -> f64,
    ) -> Paced {
        self.pace.checkpoints.run_to(&mut self.timeline, target, max_events, worked, deadline_ms, clock)
    }

    // --- the run computed ahead --------------------------------------------------------------------

    /// The instant on screen: the frame's while one is shown, else the shown timeline's.
    pub fn clock(&self) -> Time {
        self.shown.as_ref().map_or(self.timeline.now(), |f| f.at)
    }

    /// Whether the next frame plays recorded frames (playing at [`FRAMES_FROM_SPEED_MILLI`] or faster).
    pub fn plays_frames(&self) -> bool {
        self.playing && self.speed_milli >= FRAMES_FROM_SPEED_MILLI && self.seek_target.is_none()
    }

    /// A run computed ahead whose frames cover `timeline`'s present (made if needed).
    fn ahead_from<'a>(ahead: &'a mut Option<RunAhead>, timeline: &Timeline) -> &'a mut RunAhead {
        if !ahead.as_ref().is_some_and(|a| a.covers(timeline.now())) {
            *ahead = Some(RunAhead::new(timeline));
        }
        ahead.as_mut().expect("made above")
    }

    /// Paused, or playing slower than the frames with time left in the frame: compute ahead until
    /// `deadline_ms`. Returns whether the computed bar is worth showing (about twice a second while
    /// there is progress).
    pub fn compute_ahead(&mut self, deadline_ms: f64, clock: &dyn Fn() -> f64) -> bool {
        if self.plays_frames() || self.seek_target.is_some() || self.timeline.halted() {
            return false;
        }
        let shown = self.timeline.now();
        let ahead = if self.playing {
            // Playing: only a copy ahead of the clock, or just behind it, goes on (a new copy of the
            // run every frame the clock overtook it would cost more than it saves). Just behind: the
            // copy made at the start trails a 10x clock's first frames, then overtakes it.
            match &mut self.ahead {
                Some(ahead) if ahead.first() <= shown && shown <= ahead.computed_to() + AHEAD_CATCH_UP => ahead,
                _ => return false,
            }
        } else {
            Self::ahead_from(&mut self.ahead, &self.timeline)
        };
        if ahead.done(shown) {
            return false;
        }
        ahead.work(shown, deadline_ms, clock);
        let now_ms = clock();
        let due = now_ms - self.ahead_published_at >= AHEAD_PUBLISH_MS || ahead.done(shown);
        if due {
            self.ahead_published_at = now_ms;
        }
        due
    }

    /// One frame of fast playback: the clock moves `span` on if the frames reach that far (else as far
    /// as they do, and the clock lags) while the copy computes ahead until `deadline_ms`. Returns the
    /// events computed and whether the clock kept up.
    pub fn play_frames(&mut self, span: Duration, deadline_ms: f64, clock: &dyn Fn() -> f64) -> (u32, bool) {
        if self.shown.is_none() || self.landing {
            // Playing again before a landing ended: the frames go on from the one on screen.
            if !self.landing {
                self.shown_time = self.timeline.now();
            }
            self.landing = false;
        }
        let end = self.timeline.end();
        let shown_time = self.shown_time;
        let target = (shown_time + span).min(end.max(shown_time));
        let ahead = match self.shown {
            Some(_) => self.ahead.as_mut().expect("a frame on screen comes from the run computed ahead"),
            None => Self::ahead_from(&mut self.ahead, &self.timeline),
        };
        let events = ahead.work(shown_time, deadline_ms, clock);
        let computed = ahead.computed_to();
        let reached = computed >= target;
        let at = if reached { target } else { computed.max(shown_time) };
        let finished = at >= end || (ahead.done(at) && !reached && computed <= shown_time);
        self.shown = ahead.frame_at(at);
        self.shown_time = at;
        if finished {
            self.playing = false;
            self.land();
        }
        (events, reached || finished)
    }

    /// Leave the recorded frames: the shown timeline becomes a copy of the run computed ahead, at
    /// its checkpoint before the frame on screen, and replays to the frame's instant as a seek
    /// (spread over frames; the frame stays on screen until it is done).
    fn land(&mut self) {
        let (Some(frame), false) = (&self.shown, self.landing) else { return };
        let at = frame.at;
        let ahead = self.ahead.as_ref().expect("a frame on screen comes from the run computed ahead");
        self.timeline = ahead.timeline().landed_at(at, self.timeline.frontier().max(at));
        self.landing = true;
        self.seek_target = None;
        self.seek_to(at);
    }

    /// Before a seek to `at`: if the run computed ahead has a checkpoint nearer to `at` (at or before
    /// it) than the shown timeline can start from, start from that one instead.
    fn land_from_ahead_if_nearer(&mut self, at: Time) {
        let Some(ahead) = &self.ahead else { return };
        let best = |times: Vec<Time>| times.into_iter().filter(|t| *t <= at).max().unwrap_or(Time::ZERO);
        let mine = if self.timeline.now() <= at {
            best(self.timeline.checkpoint_times()).max(self.timeline.now())
        } else {
            best(self.timeline.checkpoint_times())
        };
        if best(ahead.timeline().checkpoint_times()) > mine {
            let explored = self.timeline.frontier();
            self.timeline = ahead.timeline().landed_at(at, explored);
        }
    }

    /// Carry out a command. Returns what to tell the person, if anything.
    pub fn apply(&mut self, command: SimCommand) -> Notice {
        match command {
            SimCommand::TogglePlay => {
                if self.playing {
                    self.playing = false;
                    self.land();
                } else {
                    if !self.landing && self.timeline.now() >= self.timeline.end() {
                        self.seek_to(Time::ZERO);
                    }
                    self.playing = true;
                    if self.landing && self.speed_milli >= FRAMES_FROM_SPEED_MILLI {
                        // Playing fast again before the landing ended: the frames go on.
                        self.seek_target = None;
                        self.pace.end_seek();
                    }
                }
            }
            SimCommand::Step => {
                self.playing = false;
                self.land();
                self.finish_seek();
                self.timeline.step_event();
            }
            SimCommand::Back(span) => {
                self.land();
                let base = self.seek_target.unwrap_or(self.timeline.now());
                self.seek_to(Time::from_micros(base.as_micros().saturating_sub(span.as_micros())));
            }
            SimCommand::Seek(at) => {
                self.land();
                self.seek_to(at);
            }
            SimCommand::SetSpeed(milli) => self.speed_milli = milli,
            SimCommand::Faster => {
                self.speed_milli =
                    SPEEDS_MILLI.iter().copied().find(|s| *s > self.speed_milli).unwrap_or(self.speed_milli);
            }
            SimCommand::Slower => {
                self.speed_milli =
                    SPEEDS_MILLI.iter().rev().copied().find(|s| *s < self.speed_milli).unwrap_or(self.speed_milli);
            }
            SimCommand::Act(action) => {
                self.land();
                self.finish_seek();
                let forks = self.timeline.acting_now_forks();
                let at = self.timeline.now();
                let acted = self.timeline.act(action);
                if acted.is_ok() {
                    // The run computed ahead did not have this action: a new copy starts from it. One
                    // copy of the run per click (~10 ms late in the 8-broker backlog) is not noticed;
                    // without it, playing on would compute nothing ahead until the next pause.
                    self.ahead = Some(RunAhead::new(&self.timeline));
                }
                return match acted {
                    Ok(()) if forks => Notice::Forked(at),
                    Ok(()) => Notice::None,
                    Err(e) => Notice::Refused(e.to_string()),
                };
            }
            SimCommand::LoadBuiltin(id) => {
                return self.replace_with(SimHandle::load_builtin(&id), false, Notice::LinkError);
            }
            SimCommand::LoadToml(file_name, text) => {
                if text.len() > action_log::MAX_INLINE_SCENARIO {
                    return Notice::ImportErrors(format!(
                        "{file_name}: {} bytes; a scenario may have at most {} bytes",
                        text.len(),
                        action_log::MAX_INLINE_SCENARIO
                    ));
                }
                let loaded = match Scenario::parse(&file_name, &text) {
                    Err(errors) => Err(errors.to_string()),
                    Ok(_) => SimHandle::load(ScenarioRef::Inline { toml: text }, None, Vec::new()),
                };
                return self.replace_with(loaded, false, Notice::ImportErrors);
            }
            SimCommand::OpenLink(text) => {
                let text = text.strip_prefix("run=").unwrap_or(&text).to_string();
                // A shared run opens paused at its instant, as its sender saw it.
                return self.replace_with(SimHandle::open_link(&text), false, Notice::LinkError);
            }
            SimCommand::Settle => {
                self.land();
                self.finish_seek();
                self.playing = false;
                let now = self.timeline.now();
                self.timeline.run_to(now, u32::MAX);
            }
            SimCommand::Reseed(seed) => {
                let loaded = SimHandle::load(self.source.clone(), Some(seed), Vec::new());
                let playing = self.playing;
                return self.replace_with(loaded, playing, Notice::Refused);
            }
        }
        if self.shown.is_some() && !self.playing_fast_or_paused() {
            // Slowed below the frames' speeds while playing: the shown timeline plays on from the frame.
            self.land();
        }
        Notice::None
    }

    fn playing_fast_or_paused(&self) -> bool {
        !self.playing || self.speed_milli >= FRAMES_FROM_SPEED_MILLI
    }

    /// Switch to another run (keeping the speed), or report why it could not be loaded.
    fn replace_with(
        &mut self,
        loaded: Result<SimHandle, String>,
        playing: bool,
        error: fn(String) -> Notice,
    ) -> Notice {
        match loaded {
            Ok(handle) => {
                *self = handle.inherit(self);
                self.playing = playing;
                Notice::Loaded
            }
            Err(message) => error(message),
        }
    }

    /// A snapshot for the components; `wall_ms` paces the event log's refresh.
    pub fn snapshot(&mut self, wall_ms: f64) -> Rc<Snapshot> {
        self.generation += 1;
        // Messages stay visible for 0.6 s of wall time at the current speed.
        let window_us = self.speed_milli.saturating_mul(600);
        let simulation = self.timeline.simulation();
        if self.timeline.forks() != self.forks_seen {
            self.forks_seen = self.timeline.forks();
            self.observed.forget_after(self.timeline.now());
        }
        self.observed.refresh(simulation);
        let idle = !self.playing && self.seek_target.is_none();
        // Violations need the verdicts (an audit of the brokers): taken only when the run rests somewhere new.
        if idle && self.verdicts_at != Some((self.timeline.now(), self.forks_seen)) {
            self.verdicts_at = Some((self.timeline.now(), self.forks_seen));
            self.observed.note_violations(&simulation.verdicts());
        }
        let frame = self.shown.clone();
        if idle || wall_ms - self.lines_published_at >= LOG_REFRESH_MS {
            match &frame {
                Some(frame) => self.lines_published = Rc::clone(&frame.lines),
                None => {
                    self.lines.refresh(simulation);
                    self.lines_published = Rc::new(self.lines.lines().iter().cloned().collect());
                }
            }
            self.lines_published_at = wall_ms;
        }
        if self.log_published.as_slice() != self.timeline.log() {
            self.log_published = Rc::new(self.timeline.log().to_vec());
            crate::panic_panel::set_current_run(self.link(), self.timeline.end());
        }
        // Keep the same Rc while the content is the same, so components keyed on it skip their render.
        let checkpoints = self.timeline.checkpoint_times();
        if *self.checkpoints_published != checkpoints {
            self.checkpoints_published = Rc::new(checkpoints);
        }
        let markers = match (&frame, &self.ahead) {
            // Marks the run computed ahead saw, up to the frame on screen: what comes later stays a surprise.
            (Some(frame), Some(ahead)) => {
                let mut markers = all_markers(&self.scenario, self.timeline.log(), ahead.observed());
                markers.retain(|m| m.at <= frame.at || matches!(m.kind, MarkerKind::Scenario | MarkerKind::User));
                markers
            }
            _ => all_markers(&self.scenario, self.timeline.log(), &self.observed),
        };
        if *self.markers_published != markers {
            self.markers_published = Rc::new(markers);
        }
        let view = match &frame {
            Some(frame) => Rc::clone(&frame.view),
            None => Rc::new(simulation.view()),
        };
        let (chart_view, chart_checks) = match (&self.chart_published, &frame) {
            (Some((chart, checks)), _) if !idle && wall_ms - self.chart_published_at < CHART_REFRESH_MS => {
                (Rc::clone(chart), Rc::clone(checks))
            }
            (_, Some(frame)) => {
                let (chart, checks) = &*frame.chart;
                self.chart_published = Some((Rc::clone(chart), Rc::clone(checks)));
                self.chart_published_at = wall_ms;
                (Rc::clone(chart), Rc::clone(checks))
            }
            (_, None) => {
                let checks = Rc::new(simulation.checks().series().clone());
                self.chart_published = Some((Rc::clone(&view), Rc::clone(&checks)));
                self.chart_published_at = wall_ms;
                (Rc::clone(&view), checks)
            }
        };
        let shown_at = view.time;
        let computed = self.ahead.as_ref().map_or(shown_at, |a| a.computed_to()).max(shown_at);
        let flashes = match &frame {
            Some(frame) => Rc::clone(&frame.flashes),
            None => Rc::new(flashes(simulation, window_us)),
        };
        self.published_at = Some(wall_ms);
        Rc::new(Snapshot {
            generation: self.generation,
            view,
            chart_view,
            chart_checks,
            scenario: Rc::clone(&self.scenario),
            builtin_id: self.source.builtin_id().map(str::to_string),
            end: self.timeline.end(),
            frontier: self.timeline.frontier().max(shown_at),
            computed,
            from_frames: frame.is_some(),
            checkpoints: Rc::clone(&self.checkpoints_published),
            log: Rc::clone(&self.log_published),
            markers: Rc::clone(&self.markers_published),
            lines: Rc::clone(&self.lines_published),
            flashes,
            seeking: self.seek_target,
            seek_from: self.seek_from,
            forks_if_acting: frame.is_none() && self.timeline.acting_now_forks(),
            actions_after_now: self.timeline.log().iter().filter(|a| a.at > shown_at).count(),
            playing: self.playing,
            speed_milli: self.speed_milli,
            lagging: self.lagging,
            perf: self.perf,
        })
    }

    /// The scenario's TOML text and a file name for it.
    pub fn scenario_file(&self) -> (String, String) {
        let text = self.source.toml().unwrap_or_default().to_string();
        (format!("{}.toml", self.scenario.id), text)
    }
}

/// What components get from `use_sim()`.
#[derive(Clone)]
pub struct SimContext {
    pub snapshot: Rc<Snapshot>,
    pub dispatch: Callback<SimCommand>,
    pub handle: Rc<RefCell<SimHandle>>,
}

impl PartialEq for SimContext {
    fn eq(&self, other: &Self) -> bool {
        self.snapshot.generation == other.snapshot.generation && Rc::ptr_eq(&self.handle, &other.handle)
    }
}

/// The simulation context (snapshot, dispatch, handle) from the nearest `SimProvider`.
#[hook]
pub fn use_sim() -> SimContext {
    use_context::<SimContext>().expect("components live under SimProvider")
}

#[derive(Properties)]
pub struct SimProviderProps {
    pub handle: Rc<RefCell<SimHandle>>,
    pub children: Html,
}

impl PartialEq for SimProviderProps {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.handle, &other.handle) && self.children == other.children
    }
}

/// Owns the play loop and the keyboard shortcuts, and publishes snapshots to its children.
#[function_component(SimProvider)]
pub fn sim_provider(props: &SimProviderProps) -> Html {
    let ui = use_context::<UseReducerHandle<UiState>>().expect("SimProvider lives under the UI state");
    let snapshot = use_state(|| props.handle.borrow_mut().snapshot(browser::now_ms()));
    let publish = {
        let snapshot = snapshot.setter();
        let handle = Rc::clone(&props.handle);
        use_memo((), move |_| Callback::from(move |()| snapshot.set(handle.borrow_mut().snapshot(browser::now_ms()))))
    };
    let dispatch = {
        let handle = Rc::clone(&props.handle);
        let publish = (*publish).clone();
        let ui = ui.dispatcher();
        use_memo((), move |_| {
            Callback::from(move |command: SimCommand| {
                let notice = handle.borrow_mut().apply(command);
                if notice != Notice::None {
                    ui.dispatch(UiAction::Notice(notice));
                }
                publish.emit(());
            })
        })
    };
    use_play_loop(Rc::clone(&props.handle), (*publish).clone());
    use_keyboard((*dispatch).clone(), ui.dispatcher());
    let context =
        SimContext { snapshot: (*snapshot).clone(), dispatch: (*dispatch).clone(), handle: Rc::clone(&props.handle) };
    html! {
        <ContextProvider<SimContext> context={context}>
            { props.children.clone() }
        </ContextProvider<SimContext>>
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use rmqsim_core::scenario::model::CrashKindSpec;
    use rmqsim_core::timeline::replay;

    use super::*;

    fn ticking() -> impl Fn() -> f64 {
        let t = Cell::new(0.0);
        move || {
            t.set(t.get() + 1.0);
            t.get()
        }
    }

    fn straight_digest(handle: &SimHandle, at: Time) -> u64 {
        replay(&handle.scenario, handle.timeline.seed(), handle.timeline.log(), at).unwrap().digest()
    }

    /// Play fast for `frames` frames of 16 ms, each with a budget of `slices` slices.
    fn play_fast(handle: &mut SimHandle, frames: u32, slices: f64) {
        let clock = ticking();
        for _ in 0..frames {
            assert!(handle.plays_frames());
            handle.play_frames(Duration::from_millis(1_600), clock() + slices, &clock);
        }
    }

    #[test]
    fn playing_at_100x_shows_frames_computed_ahead_while_the_shown_run_stands_still_and_a_pause_lands_it_there() {
        let mut handle = SimHandle::load_builtin("producer-broker-down").unwrap();
        let clock = ticking();
        while handle.compute_ahead(clock() + 50.0, &clock) || handle.snapshot(0.0).computed < Time::from_secs(30) {}
        handle.apply(SimCommand::SetSpeed(100_000));
        handle.apply(SimCommand::TogglePlay);
        play_fast(&mut handle, 10, 20.0);
        let snapshot = handle.snapshot(0.0);
        assert!(snapshot.from_frames);
        assert_eq!(snapshot.now(), Time::from_secs(16), "ten frames of 1.6 s, from the frames computed ahead");
        assert_eq!(handle.timeline().now(), Time::ZERO, "the shown run waits for the pause");
        assert!(snapshot.computed >= Time::from_secs(30));
        handle.apply(SimCommand::TogglePlay);
        assert!(handle.snapshot(0.0).from_frames, "the frame stays on screen while the run lands on it");
        handle.apply(SimCommand::Settle);
        let snapshot = handle.snapshot(0.0);
        assert!(!snapshot.from_frames);
        assert_eq!(snapshot.now(), Time::from_secs(16));
        assert_eq!(handle.timeline().simulation().digest(), straight_digest(&handle, Time::from_secs(16)));
        assert_eq!(snapshot.view.digest, format!("{:016x}", straight_digest(&handle, Time::from_secs(16))));
    }

    #[test]
    fn acting_during_fast_playback_acts_at_the_instant_on_screen_and_computes_ahead_again_from_there() {
        let mut handle = SimHandle::load_builtin("producer-broker-down").unwrap();
        handle.apply(SimCommand::SetSpeed(1_000_000));
        handle.apply(SimCommand::TogglePlay);
        play_fast(&mut handle, 3, 400.0);
        let on_screen = handle.clock();
        assert!(on_screen > Time::ZERO);
        let kill = ActionSpec::Crash { node: "broker-a".into(), kind: CrashKindSpec::ProcessKill };
        assert_eq!(handle.apply(SimCommand::Act(kill)), Notice::None, "no future was shown: no fork");
        assert_eq!(handle.timeline().now(), on_screen);
        assert_eq!(handle.timeline().log().len(), 1);
        assert_eq!(handle.timeline().log()[0].at, on_screen);
        let ahead = handle.ahead.as_ref().unwrap();
        assert_eq!((ahead.first(), ahead.computed_to()), (on_screen, on_screen), "a new copy, from the crash");
        assert!(!handle.snapshot(0.0).from_frames);
        assert!(handle.plays_frames(), "still playing fast: frames again, computed with the crash");
        play_fast(&mut handle, 2, 400.0);
        handle.apply(SimCommand::Settle);
        let now = handle.timeline().now();
        assert!(now > on_screen);
        assert_eq!(handle.timeline().simulation().digest(), straight_digest(&handle, now));
    }

    #[test]
    fn slowing_below_100x_during_fast_playback_plays_on_from_the_frame_on_screen() {
        let mut handle = SimHandle::load_builtin("producer-broker-down").unwrap();
        handle.apply(SimCommand::SetSpeed(100_000));
        handle.apply(SimCommand::TogglePlay);
        play_fast(&mut handle, 4, 200.0);
        let on_screen = handle.clock();
        handle.apply(SimCommand::Slower);
        assert!(handle.playing && !handle.plays_frames(), "playing on, landing first");
        assert_eq!(handle.seek_target, Some(on_screen));
        handle.apply(SimCommand::Settle);
        assert_eq!(handle.timeline().now(), on_screen);
        assert_eq!(handle.timeline().simulation().digest(), straight_digest(&handle, on_screen));
    }

    #[test]
    fn playing_slower_than_100x_extends_a_run_computed_ahead_of_the_clock_but_never_copies_the_run_for_it() {
        let mut handle = SimHandle::load_builtin("producer-broker-down").unwrap();
        let clock = ticking();
        handle.compute_ahead(clock() + 20.0, &clock);
        handle.apply(SimCommand::TogglePlay);
        assert!(handle.playing && !handle.plays_frames(), "10x plays the shown run itself");
        let before = handle.snapshot(0.0).computed;
        handle.compute_ahead(clock() + 20.0, &clock);
        assert!(handle.snapshot(0.0).computed > before, "time left in a frame goes to the run computed ahead");
        // The clock overtakes the copy: playing does not make a new one.
        handle.apply(SimCommand::Seek(Time::from_secs(150)));
        handle.apply(SimCommand::Settle);
        handle.apply(SimCommand::TogglePlay);
        assert!(handle.playing);
        assert!(!handle.compute_ahead(clock() + 20.0, &clock));
        assert!(!handle.ahead.as_ref().unwrap().covers(handle.timeline().now()), "the old copy is left as it was");
    }

    #[test]
    fn a_run_opened_playing_at_10x_computes_ahead_from_its_start_so_100x_plays_frames_at_once() {
        let mut handle = SimHandle::load_builtin("producer-broker-down").unwrap();
        handle.apply(SimCommand::TogglePlay);
        assert!(handle.playing && !handle.plays_frames());
        let clock = ticking();
        for _ in 0..5 {
            handle.timeline_mut().advance(Duration::from_millis(160), u32::MAX);
            handle.compute_ahead(clock() + 200.0, &clock);
        }
        let computed = handle.snapshot(0.0).computed;
        assert!(computed > handle.timeline().now(), "the copy runs ahead of the 10x clock: {computed}");
        handle.apply(SimCommand::SetSpeed(100_000));
        let (_, reached) = handle.play_frames(Duration::from_millis(100), clock() + 1.0, &clock);
        assert!(reached && handle.snapshot(0.0).from_frames, "the first 100x frame is one computed ahead");
    }

    #[test]
    fn a_jump_forward_starts_from_a_checkpoint_of_the_run_computed_ahead() {
        let mut handle = SimHandle::load_builtin("producer-broker-down").unwrap();
        let clock = ticking();
        while handle.compute_ahead(clock() + 100.0, &clock) || !handle.ahead.as_ref().unwrap().done(Time::ZERO) {}
        let target = Time::from_millis(171_500);
        handle.apply(SimCommand::Seek(target));
        assert!(handle.timeline().now() >= Time::from_secs(160), "replays at most the checkpoint spacing");
        handle.apply(SimCommand::Settle);
        assert_eq!(handle.timeline().now(), target);
        assert_eq!(handle.timeline().simulation().digest(), straight_digest(&handle, target));
    }
}
