//! The run computed ahead of what is shown, so that fast playback plays recorded frames.
//!
//! At 100× the 8-broker backlog asks for about 370 000 events per wall second while its consumers
//! drain it, more than the main thread has once the page has rendered. A run is deterministic, so it
//! can be computed before it is shown: while the student reads the scenario, picks a prediction or
//! pauses, a copy of the timeline runs forward in the frame time the page does not use and records,
//! every [`FRAME_EVERY`] of virtual time, what the page shows (the view, the event log's lines, the
//! links' flashes, the observed marks; the charts less often). Playing fast then shows these frames,
//! as a video player plays what it has buffered, while the copy keeps computing further. The shown
//! timeline stands still meanwhile; when the fast playback stops, it lands on the instant of the
//! frame on screen from the copy's checkpoints (`Timeline::landed_at`), and the inspectors read it
//! again. Frames never change what the run does: they are views of the same deterministic run.

use std::collections::VecDeque;
use std::rc::Rc;

use rmqsim_core::metrics::Metrics;
use rmqsim_core::time::{Duration, Time};
use rmqsim_core::timeline::Timeline;
use rmqsim_core::view::SimView;

use crate::checkpoint_pacer::{CheckpointPacer, SLICE_EVENTS};
use crate::markers::ObservedMarks;
use crate::trace_lines::{flashes, Flash, TraceLine, TraceLines};

/// Virtual time between two recorded frames: at 100× a 60 Hz frame covers 1.67 s, so about seven
/// recorded frames per shown frame.
pub const FRAME_EVERY: Duration = Duration::from_millis(250);
/// Virtual time between two recorded charts (a chart is redrawn at most every 400 ms of wall time,
/// 40 s of virtual time at 100×; its series copy grows with the run).
const CHART_EVERY: Duration = Duration::from_secs(5);
/// Virtual time between two recorded event-log pages (the log refreshes every 150 ms of wall time).
const LINES_EVERY: Duration = Duration::from_secs(2);
/// The steps of this much virtual time before each frame are copied into the trace ring, for the
/// frame's flashes and lines; the others are only digested (copying every step costs a fifth).
const KEEP_BEFORE_FRAME: Duration = Duration::from_millis(150);
/// Checkpoints of the copy (each copies the run): where a landing replays from.
const CHECKPOINT_SPACING: Duration = Duration::from_secs(10);
/// Frames kept at most (3 min 20 s of virtual time; a frame of the 8-broker backlog is ~50 KB): past it, frames already shown are dropped, and
/// when every frame is still to be shown the copy waits.
pub const MAX_FRAMES: usize = 800;
/// The flashes of a frame cover the window a 100× playback shows them for (0.6 s of wall time).
const FLASH_WINDOW_US: u64 = 60_000_000;

/// What the page shows at one recorded instant.
pub struct Frame {
    pub at: Time,
    /// The view without its metric series (the chart has its own, in `chart`).
    pub view: Rc<SimView>,
    /// The whole view and the checkers' series, recorded every [`CHART_EVERY`].
    pub chart: Rc<(Rc<SimView>, Rc<Metrics>)>,
    pub lines: Rc<Vec<TraceLine>>,
    pub flashes: Rc<Vec<Flash>>,
}

/// A copy of the timeline running ahead, and the frames it recorded.
pub struct RunAhead {
    timeline: Timeline,
    frames: VecDeque<Rc<Frame>>,
    lines: TraceLines,
    observed: ObservedMarks,
    chart: Option<Rc<(Rc<SimView>, Rc<Metrics>)>>,
    lines_page: Rc<Vec<TraceLine>>,
    lines_at: Option<Time>,
    /// Takes the copy's checkpoints where a frame has room for them.
    pacer: CheckpointPacer,
}

impl RunAhead {
    /// Start computing ahead from `timeline`'s present (a copy: its checkpoints are shared).
    pub fn new(timeline: &Timeline) -> RunAhead {
        let mut timeline = timeline.clone();
        timeline.space_checkpoints(CHECKPOINT_SPACING);
        let mut ahead = RunAhead {
            timeline,
            frames: VecDeque::new(),
            lines: TraceLines::default(),
            observed: ObservedMarks::default(),
            chart: None,
            lines_page: Rc::default(),
            lines_at: None,
            pacer: CheckpointPacer::default(),
        };
        ahead.record();
        ahead
    }

    /// The first and last recorded instants.
    pub fn first(&self) -> Time {
        self.frames.front().map_or(Time::ZERO, |f| f.at)
    }

    pub fn computed_to(&self) -> Time {
        self.frames.back().map_or(Time::ZERO, |f| f.at)
    }

    /// Whether frames cover `at`: it lies between the first and the last recorded instant.
    pub fn covers(&self, at: Time) -> bool {
        !self.frames.is_empty() && self.first() <= at && at <= self.computed_to()
    }

    /// Nothing more to compute: the end of the run, a limit, or the frame store is full of frames
    /// not shown yet (`shown`: the instant on screen).
    pub fn done(&self, shown: Time) -> bool {
        self.finished() || (self.frames.len() >= MAX_FRAMES && self.shown_before(shown) == 0)
    }

    /// How many frames come before the one on screen at `shown` (those may be dropped).
    fn shown_before(&self, shown: Time) -> usize {
        self.frames.partition_point(|f| f.at <= shown).saturating_sub(1)
    }

    fn finished(&self) -> bool {
        self.timeline.halted() || self.timeline.now() >= self.timeline.end()
    }

    /// The latest frame at or before `at`.
    pub fn frame_at(&self, at: Time) -> Option<Rc<Frame>> {
        let index = self.frames.partition_point(|f| f.at <= at).checked_sub(1)?;
        Some(Rc::clone(&self.frames[index]))
    }

    /// The observation marks seen up to the last recorded frame.
    pub fn observed(&self) -> &ObservedMarks {
        &self.observed
    }

    /// The copy's timeline, to land the shown one on (see `Timeline::landed_at`).
    pub fn timeline(&self) -> &Timeline {
        &self.timeline
    }

    /// Compute ahead until `clock()` passes `deadline_ms`, recording a frame at every multiple of
    /// [`FRAME_EVERY`]; `shown` is the instant on screen (frames before it may be dropped to make
    /// room). Returns the events processed.
    pub fn work(&mut self, shown: Time, deadline_ms: f64, clock: &dyn Fn() -> f64) -> u32 {
        let mut events = 0;
        loop {
            if self.frames.len() >= MAX_FRAMES {
                // Keep the frame on screen: the next shown frame may still be it.
                let before = self.shown_before(shown);
                self.frames.drain(..before);
            }
            if self.done(shown) {
                return events;
            }
            let end = self.timeline.end();
            // After the last frame, not after the clock: a slice may stop at a frame's instant with
            // events of that instant still to run, and that frame is still due.
            let next = next_frame_after(self.computed_to()).min(end.max(self.timeline.now()));
            let keep = next.saturating_since(self.timeline.now()) <= KEEP_BEFORE_FRAME;
            self.timeline.keep_records(keep);
            let paced = self.pacer.run_to(&mut self.timeline, next, SLICE_EVENTS, events > 0, deadline_ms, clock);
            events += paced.progress.events;
            if paced.put_off {
                return events;
            }
            let progress = paced.progress;
            if progress.reached && self.timeline.now() >= next {
                self.record();
            }
            if clock() >= deadline_ms {
                return events;
            }
        }
    }

    /// Record the frame of the copy's present.
    fn record(&mut self) {
        let simulation = self.timeline.simulation();
        let at = simulation.now();
        if self.frames.back().is_some_and(|f| f.at >= at) {
            return;
        }
        self.observed.refresh(simulation);
        let mut view = simulation.view();
        let chart_due = match &self.chart {
            Some(chart) => at.saturating_since(chart.0.time) >= CHART_EVERY,
            None => true,
        };
        if chart_due {
            let checks = Rc::new(simulation.checks().series().clone());
            self.chart = Some(Rc::new((Rc::new(view.clone()), checks)));
        }
        if self.lines_at.is_none_or(|then| at.saturating_since(then) >= LINES_EVERY) {
            self.lines_at = Some(at);
            self.lines.refresh(simulation);
            self.lines_page = Rc::new(self.lines.lines().iter().cloned().collect());
        }
        view.metrics = Metrics::new(view.metrics.interval, &[], 0);
        let frame = Frame {
            at,
            view: Rc::new(view),
            chart: Rc::clone(self.chart.as_ref().expect("recorded above")),
            lines: Rc::clone(&self.lines_page),
            flashes: Rc::new(flashes(simulation, FLASH_WINDOW_US)),
        };
        self.frames.push_back(Rc::new(frame));
    }
}

/// The first multiple of [`FRAME_EVERY`] after `now`.
pub fn next_frame_after(now: Time) -> Time {
    let every = FRAME_EVERY.as_micros();
    Time::from_micros((now.as_micros() / every + 1) * every)
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use rmqsim_core::scenario::Scenario;
    use rmqsim_core::timeline::{replay, TimelineConfig};

    use super::*;

    /// A wall clock that moves 1 ms each time it is read: a deadline of N ms allows about N slices.
    pub fn ticking() -> impl Fn() -> f64 {
        let t = Cell::new(0.0);
        move || {
            t.set(t.get() + 1.0);
            t.get()
        }
    }

    fn timeline(id: &str) -> (Scenario, Timeline) {
        let scenario = Scenario::parse(id, rmqsim_core::scenario::library::find(id).unwrap()).unwrap();
        let config = TimelineConfig { recent_trace: 400, ..TimelineConfig::default() };
        let timeline = Timeline::new(&scenario, scenario.seed, &config).unwrap();
        (scenario, timeline)
    }

    #[test]
    fn frames_are_recorded_every_quarter_second_and_show_what_a_straight_run_shows_at_their_instant() {
        let (scenario, timeline) = timeline("producer-broker-down");
        let mut ahead = RunAhead::new(&timeline);
        let clock = ticking();
        while ahead.computed_to() < Time::from_secs(20) {
            ahead.work(Time::ZERO, clock() + 50.0, &clock);
        }
        let frame = ahead.frame_at(Time::from_millis(12_300)).unwrap();
        assert_eq!(frame.at, Time::from_millis(12_250), "the latest frame at or before the instant");
        let straight = replay(&scenario, scenario.seed, &[], frame.at).unwrap();
        let mut view = straight.view();
        let at_ten = replay(&scenario, scenario.seed, &[], Time::from_secs(10)).unwrap().view();
        assert_eq!(frame.chart.0.metrics, at_ten.metrics, "the chart is the one recorded at 10 s");
        view.metrics = frame.view.metrics.clone();
        assert_eq!(*frame.view, view, "the frame's view is the straight run's, without its series");
        let times: Vec<u64> = (0..5).map(|i| ahead.frames[i].at.as_micros()).collect();
        assert_eq!(times, [0, 250_000, 500_000, 750_000, 1_000_000]);
    }

    #[test]
    fn a_slice_that_stops_at_a_frames_instant_with_events_left_there_still_records_that_frame() {
        // Dense: 100-event slices often end inside an instant; one slice per call.
        let (_, timeline) = timeline("backlog-8-brokers-20-consumers");
        let mut ahead = RunAhead::new(&timeline);
        let clock = ticking();
        while ahead.computed_to() < Time::from_secs(6) {
            ahead.work(Time::ZERO, clock() + 0.5, &clock);
        }
        for (i, frame) in ahead.frames.iter().enumerate() {
            assert_eq!(frame.at, Time::from_micros(i as u64 * FRAME_EVERY.as_micros()), "frame {i}");
        }
    }

    #[test]
    fn the_frames_kept_are_bounded_and_a_full_store_waits_for_the_playback() {
        // Six minutes of heartbeats: more frames than the store keeps.
        let (_, timeline) = timeline("broker-heartbeats");
        let mut ahead = RunAhead::new(&timeline);
        let clock = ticking();
        while !ahead.done(Time::ZERO) {
            ahead.work(Time::ZERO, clock() + 200.0, &clock);
        }
        assert_eq!(ahead.frames.len(), MAX_FRAMES, "full: it waits for the playback");
        assert!(!ahead.finished());
        let before = ahead.computed_to();
        let shown = Time::from_secs(100);
        ahead.work(shown, clock() + 50.0, &clock);
        assert!(ahead.frames.len() <= MAX_FRAMES);
        assert!(ahead.computed_to() > before, "frames already shown made room");
        assert!(ahead.covers(shown), "the frame on screen is kept when older ones make room");
        // Shown between the first two frames kept: nothing can go, so nothing more is computed.
        let between = ahead.first() + Duration::from_millis(100);
        while !ahead.done(between) {
            ahead.work(between, clock() + 200.0, &clock);
        }
        assert_eq!(ahead.frames.len(), MAX_FRAMES);
        assert!(ahead.covers(between));
    }
}
