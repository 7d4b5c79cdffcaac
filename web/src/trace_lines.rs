//! Trace records as people read them: the event log's lines and the topology's message flashes.
//!
//! The kernel keeps a bounded ring of recent records (`Trace::recent`); this module turns each into
//! one line (`00:30.000  broker-a → namesrv-0  REGISTER_BROKER #12`) with a kind the log filters
//! on, and picks the recent deliveries and drops the topology animates. It only reads the trace.

use std::collections::VecDeque;

use rmqsim_core::broker::store::properties::MessageProperties;
use rmqsim_core::protocol::{Message, Request};
use rmqsim_core::sim::faults::Fault;
use rmqsim_core::sim::node::NodeId;
use rmqsim_core::sim::trace::{TraceEvent, TraceRecord};
use rmqsim_core::time::Time;
use rmqsim_core::world::AnyNode;
use rmqsim_core::Simulation;

/// What the event log filters on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LineKind {
    Message,
    Drop,
    Timer,
    Fault,
    Lifecycle,
    Disk,
}

impl LineKind {
    pub const ALL: [LineKind; 6] =
        [LineKind::Message, LineKind::Drop, LineKind::Timer, LineKind::Fault, LineKind::Lifecycle, LineKind::Disk];

    pub fn bit(self) -> u8 {
        1 << (self as u8)
    }

    pub fn css(self) -> &'static str {
        match self {
            LineKind::Message => "message",
            LineKind::Drop => "drop",
            LineKind::Timer => "timer",
            LineKind::Fault => "fault",
            LineKind::Lifecycle => "lifecycle",
            LineKind::Disk => "disk",
        }
    }
}

/// One readable trace record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceLine {
    pub step: u64,
    pub time: Time,
    pub kind: LineKind,
    /// The node the event happened at (the receiver of a message).
    pub node: String,
    pub text: String,
    /// Steps between the previous kept record and this one were run but not kept (playing fast:
    /// only the last steps of a frame are copied), so the log shows a gap before this line.
    pub gap_before: bool,
}

/// Lines for the records of the ring, kept in step with it incrementally.
#[derive(Clone, Debug, Default)]
pub struct TraceLines {
    lines: VecDeque<TraceLine>,
}

impl TraceLines {
    /// Bring the lines up to date with `simulation`'s recent records: append the new ones, or start
    /// over when the ring is not a continuation of what we have (after a rewind).
    pub fn refresh(&mut self, simulation: &Simulation) {
        let recent = simulation.kernel().trace().recent();
        let (Some(first), Some(newest)) = (recent.front().map(|r| r.step), recent.back().map(|r| r.step)) else {
            self.lines.clear();
            return;
        };
        if let Some(last) = self.lines.back().map(|l| l.step) {
            if newest < last || first > last + 1 {
                self.lines.clear();
            }
        }
        let after = self.lines.back().map(|l| l.step);
        let mut previous: Option<u64> = None;
        for record in recent {
            if after.is_none_or(|a| record.step > a) {
                let mut line = describe(record, simulation);
                line.gap_before = previous.is_some_and(|p| record.step > p + 1);
                self.lines.push_back(line);
            }
            previous = Some(record.step);
        }
        while self.lines.len() > recent.len() {
            self.lines.pop_front();
        }
    }

    pub fn lines(&self) -> &VecDeque<TraceLine> {
        &self.lines
    }
}

fn name(simulation: &Simulation, id: NodeId) -> String {
    simulation.directory().entries.get(id.index()).map_or_else(|| format!("node {}", id.0), |e| e.name.clone())
}

/// `Kind(Inner)` → `Inner`: timers and actions print their node kind, which the line already shows.
fn inner_debug(value: &impl std::fmt::Debug) -> String {
    let text = format!("{value:?}");
    match (text.find('('), text.ends_with(')')) {
        (Some(open), true) if text[..open].chars().all(char::is_alphanumeric) => {
            text[open + 1..text.len() - 1].to_string()
        }
        _ => text,
    }
}

/// For a SEND_MESSAGE request: the topic, the message's msgId (UNIQ_KEY) and keys, so the line can be
/// searched and clicked to open the message's fate.
fn sent_message(message: &Message) -> String {
    let (Message::Request { request: Request::SendMessage(send), .. }
    | Message::Oneway { request: Request::SendMessage(send) }) = message
    else {
        return String::new();
    };
    let properties = MessageProperties::from_properties_string(&send.header.properties);
    let mut text = format!("  {}", send.header.topic);
    if let Some(id) = properties.unique_key() {
        text.push_str(&format!(" msgId={id}"));
    }
    if let Some(keys) = properties.get("KEYS") {
        text.push_str(&format!(" keys={keys}"));
    }
    text
}

/// The first msgId (32 hex digits after `msgId=`) of a line, if it names one.
pub fn msg_id_of(text: &str) -> Option<&str> {
    let start = text.find("msgId=")? + "msgId=".len();
    let id = text.get(start..start + 32)?;
    id.chars().all(|c| c.is_ascii_hexdigit()).then_some(id)
}

/// One record as a line.
pub fn describe(record: &TraceRecord<AnyNode>, simulation: &Simulation) -> TraceLine {
    let n = |id: NodeId| name(simulation, id);
    let (kind, node, text) = match &record.event {
        TraceEvent::Started { node } => (LineKind::Lifecycle, n(*node), "process started".to_string()),
        TraceEvent::Delivered { from, to, message } => (
            LineKind::Message,
            n(*to),
            format!("{} → {}  {}{}", n(*from), n(*to), message.summary(), sent_message(message)),
        ),
        TraceEvent::Dropped { from, to, reason, message } => {
            (LineKind::Drop, n(*to), format!("{} → {}  {} dropped: {reason:?}", n(*from), n(*to), message.summary()))
        }
        TraceEvent::TimerFired { node, timer, .. } => {
            (LineKind::Timer, n(*node), format!("timer {}", inner_debug(timer)))
        }
        TraceEvent::DiskSynced { node, file, synced_len } => {
            (LineKind::Disk, n(*node), format!("sync of file {} done: {synced_len} bytes durable", file.0))
        }
        TraceEvent::ConnectionClosed { node, peer } => {
            (LineKind::Lifecycle, n(*node), format!("connection with {} closed", n(*peer)))
        }
        TraceEvent::NodeAction { node, action } => {
            (LineKind::Fault, n(*node), format!("operator action: {}", inner_debug(action)))
        }
        TraceEvent::Fault(fault) => (LineKind::Fault, fault_node(fault, &n), describe_fault(fault, &n)),
        TraceEvent::Crashed { node, kind } => (LineKind::Fault, n(*node), format!("crashed: {kind:?}")),
    };
    TraceLine { step: record.step, time: record.time, kind, node, text, gap_before: false }
}

fn fault_node(fault: &Fault, n: &dyn Fn(NodeId) -> String) -> String {
    fault.nodes().first().map_or_else(|| "network".to_string(), |id| n(*id))
}

fn list(ids: &[NodeId], n: &dyn Fn(NodeId) -> String) -> String {
    ids.iter().map(|id| n(*id)).collect::<Vec<_>>().join(",")
}

/// A fault in words, with node names.
pub fn describe_fault(fault: &Fault, n: &dyn Fn(NodeId) -> String) -> String {
    let arrow = |both: bool| if both { "↔" } else { "→" };
    #[allow(unreachable_patterns)] // faults added to the kernel later print as Debug
    match fault {
        Fault::Crash { node, kind } => format!("fault: {kind:?} of {}", n(*node)),
        Fault::Restart { node } => format!("fault: restart {}", n(*node)),
        Fault::Partition { from, to, both_ways } => {
            format!("fault: partition {} {} {}", list(from, n), arrow(*both_ways), list(to, n))
        }
        Fault::Heal { from, to, both_ways } => {
            format!("fault: heal {} {} {}", list(from, n), arrow(*both_ways), list(to, n))
        }
        Fault::HealAll => "fault: heal every link".to_string(),
        Fault::Hold { from, to } => format!("fault: hold {} → {}", n(*from), n(*to)),
        Fault::Release { from, to } => format!("fault: release {} → {}", n(*from), n(*to)),
        Fault::Clog { from, to, extra } => format!("fault: clog {} → {} by {extra}", n(*from), n(*to)),
        Fault::SlowDisk { node, factor } => format!("fault: disk of {} slowed ×{factor}", n(*node)),
        Fault::SetLink { from, to, .. } => format!("fault: link {} → {} reconfigured", n(*from), n(*to)),
        other => format!("fault: {other:?}"),
    }
}

/// A recent message on a directed link, for the topology's animation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flash {
    pub from: u16,
    pub to: u16,
    /// How far the newest message on this link is into its display window, in thousandths.
    pub age_permille: u32,
    pub dropped: bool,
    /// Messages on this link within the window.
    pub count: u32,
    /// The newest message's summary.
    pub label: String,
}

/// The deliveries and drops of the last `window` of virtual time, newest per directed link.
pub fn flashes(simulation: &Simulation, window_us: u64) -> Vec<Flash> {
    let now = simulation.now().as_micros();
    let window_us = window_us.max(1);
    let mut out: Vec<Flash> = Vec::new();
    for record in simulation.kernel().trace().recent().iter().rev() {
        let age = now.saturating_sub(record.time.as_micros());
        if age > window_us {
            break;
        }
        let (from, to, dropped, message) = match &record.event {
            TraceEvent::Delivered { from, to, message } => (*from, *to, false, message),
            TraceEvent::Dropped { from, to, message, .. } => (*from, *to, true, message),
            _ => continue,
        };
        if let Some(flash) = out.iter_mut().find(|f| f.from == from.0 && f.to == to.0 && f.dropped == dropped) {
            flash.count += 1;
            continue;
        }
        if out.len() >= 48 {
            continue;
        }
        out.push(Flash {
            from: from.0,
            to: to.0,
            age_permille: (age.saturating_mul(1_000) / window_us) as u32,
            dropped,
            count: 1,
            label: message.summary(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_that_names_a_msg_id_yields_it_and_other_lines_do_not() {
        let line =
            "producer-0 → broker-a  SEND_MESSAGE #3  TopicTest msgId=0A0000035AA676C24CE347B77CE800D8 keys=order-3";
        assert_eq!(msg_id_of(line), Some("0A0000035AA676C24CE347B77CE800D8"));
        assert_eq!(msg_id_of("broker-a → namesrv-0  REGISTER_BROKER #1"), None);
        assert_eq!(msg_id_of("msgId=XYZ"), None);
    }
    use rmqsim_core::scenario::{library, Scenario};

    fn simulation(recent: usize) -> Simulation {
        let scenario = Scenario::parse("broker-heartbeats", library::find("broker-heartbeats").unwrap()).unwrap();
        let mut simulation = Simulation::new(&scenario, 1).unwrap();
        simulation.kernel_mut().trace_mut().set_recent_capacity(recent);
        simulation
    }

    #[test]
    fn a_registration_reads_as_sender_receiver_and_request_code() {
        let mut simulation = simulation(200);
        simulation.run_until(Time::from_secs(1));
        let mut lines = TraceLines::default();
        lines.refresh(&simulation);
        let registration = lines
            .lines()
            .iter()
            .find(|l| l.kind == LineKind::Message && l.text.contains("REGISTER_BROKER #"))
            .expect("a broker registers at start");
        assert!(registration.text.contains(" → namesrv-"), "{registration:?}");
        assert!(lines.lines().iter().any(|l| l.text == "process started"));
    }

    #[test]
    fn steps_run_without_keeping_records_show_as_a_gap_before_the_next_kept_line() {
        let mut simulation = simulation(400);
        let mut lines = TraceLines::default();
        simulation.run_until(Time::from_secs(20));
        lines.refresh(&simulation);
        assert!(lines.lines().iter().all(|l| !l.gap_before), "every step kept: no gap");
        simulation.kernel_mut().trace_mut().set_keeping(false);
        simulation.run_until(Time::from_secs(40));
        simulation.kernel_mut().trace_mut().set_keeping(true);
        simulation.run_until(Time::from_secs(60));
        lines.refresh(&simulation);
        let gaps: Vec<&TraceLine> = lines.lines().iter().filter(|l| l.gap_before).collect();
        assert_eq!(gaps.len(), 1, "{gaps:?}");
        assert!(gaps[0].time >= Time::from_secs(40), "the first line kept again: {:?}", gaps[0]);
    }

    #[test]
    fn lines_follow_the_ring_forward_and_start_over_after_a_rewind() {
        let mut simulation = simulation(50);
        let checkpoint = simulation.clone();
        let mut lines = TraceLines::default();
        simulation.run_until(Time::from_secs(40));
        lines.refresh(&simulation);
        let first = lines.lines().back().cloned().unwrap();
        simulation.run_until(Time::from_secs(70));
        lines.refresh(&simulation);
        assert!(lines.lines().back().unwrap().step > first.step);
        assert!(lines.lines().len() <= 50);
        let steps: Vec<u64> = lines.lines().iter().map(|l| l.step).collect();
        assert!(steps.windows(2).all(|w| w[1] == w[0] + 1), "{steps:?}");
        let mut rewound = checkpoint;
        rewound.run_until(Time::from_secs(35));
        lines.refresh(&rewound);
        assert!(lines.lines().back().unwrap().time <= Time::from_secs(35));
        let ring: Vec<u64> = rewound.kernel().trace().recent().iter().map(|r| r.step).collect();
        let ours: Vec<u64> = lines.lines().iter().map(|l| l.step).collect();
        assert_eq!(ours, ring);
    }

    #[test]
    fn flashes_keep_the_newest_message_per_link() {
        let mut simulation = simulation(200);
        simulation.run_until(Time::from_millis(50));
        let flashes = flashes(&simulation, 1_000_000);
        assert!(!flashes.is_empty());
        for flash in &flashes {
            assert!(flash.age_permille <= 1_000);
            assert_eq!(flashes.iter().filter(|f| f.from == flash.from && f.to == flash.to).count(), 1);
        }
    }
}
