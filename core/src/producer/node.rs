//! The producer node: an application (a scenario's workload) in front of a [`ProducerClient`].
//!
//! The application turns the workload's schedule into sends: sync sends occupy one of its threads until
//! they end (messages wait in a bounded backlog for a free thread), async and oneway sends go out at once.
//! When a send fails and the workload has `resend_failed`, the application keeps the message (with the
//! UNIQ_KEY the producer gave it) and resends it later; otherwise, or when it runs out of resends or room,
//! it abandons the message and says so (`MessagesAbandoned`).
//!
//! A restarted producer process starts a fresh application: sequence numbers start again at 0, with a new
//! pid in every UNIQ_KEY.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::observation::Observation;
use crate::producer::client::{Completion, Payload, ProducerClient, ProducerSpec, ProducerTimer, Target};
use crate::producer::message::MessageBatch;
use crate::producer::selector::SelectorArg;
use crate::producer::workload::{SendMode, WorkloadSpec};
use crate::protocol::Message as Remoting;
use crate::sim::node::NodeId;
use crate::time::Time;
use crate::world::{Ctx, Timer};

/// How a producer node is built.
#[derive(Clone, Debug)]
pub struct ProducerNodeSpec {
    pub client: ProducerSpec,
    pub workload: Option<WorkloadSpec>,
}

/// Messages the application hands over in one send.
#[derive(Clone, Debug)]
struct Job {
    payload: Payload,
    seqs: Vec<u64>,
    keys: Vec<String>,
    resends: u32,
}

/// Counters for views.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ApplicationStats {
    pub messages_generated: u64,
    pub messages_abandoned: u64,
    pub resends: u64,
    pub backlog: u32,
    pub kept_for_resend: u32,
}

#[derive(Clone, Debug)]
struct Application {
    spec: WorkloadSpec,
    next_seq: u64,
    free_threads: BTreeSet<u32>,
    backlog: VecDeque<Job>,
    batch: Vec<Job>,
    parked: BTreeMap<u64, Job>,
    next_parked: u64,
    in_flight: BTreeMap<u64, (Job, u32)>,
    stats: ApplicationStats,
}

#[derive(Clone, Debug)]
pub struct ProducerNode {
    pub client: ProducerClient,
    app: Option<Application>,
    /// A `TransactionMQProducer` application (`transaction.rs`), when the workload says so.
    pub transaction: Option<crate::producer::transaction::TransactionMqProducer>,
}

impl ProducerNode {
    pub fn boot(spec: &ProducerNodeSpec) -> Self {
        let app = spec.workload.as_ref().map(|w| Application {
            spec: w.clone(),
            next_seq: 0,
            free_threads: (0..w.threads).collect(),
            backlog: VecDeque::new(),
            batch: Vec::new(),
            parked: BTreeMap::new(),
            next_parked: 0,
            in_flight: BTreeMap::new(),
            stats: ApplicationStats::default(),
        });
        let transaction =
            spec.workload.as_ref().and_then(|w| w.transaction.as_ref()).map(|t| {
                crate::producer::transaction::TransactionMqProducer::new(t, &spec.client.config.producer_group)
            });
        ProducerNode { client: ProducerClient::new(&spec.client), app, transaction }
    }

    pub fn application_stats(&self) -> Option<&ApplicationStats> {
        self.app.as_ref().map(|a| &a.stats)
    }

    pub fn on_start(&mut self, ctx: &mut Ctx<'_>) {
        self.client.on_start(ctx);
        if let Some(app) = &self.app {
            let start = app.spec.start_at().max(ctx.now());
            // A process (re)started after its workload's stop time has nothing to send.
            if app.spec.stop_at().is_some_and(|stop| start >= stop) {
                return;
            }
            ctx.set_timer(start - ctx.now(), Timer::Producer(ProducerTimer::WorkloadNext));
        }
    }

    pub fn on_message(&mut self, from: NodeId, message: Remoting, ctx: &mut Ctx<'_>) {
        if let Remoting::Oneway { request: crate::protocol::Request::Transaction(request) } = &message {
            if let crate::protocol::transaction::TransactionRequest::CheckTransactionState { header, message } =
                request.as_ref()
            {
                if let Some(transaction) = self.transaction.as_mut() {
                    transaction.on_check(from, header, message, &mut self.client, ctx);
                }
            }
            return;
        }
        self.client.on_message(from, message, ctx);
        self.process_completions(ctx);
    }

    pub fn on_connection_closed(&mut self, peer: NodeId, ctx: &mut Ctx<'_>) {
        self.client.on_connection_closed(peer, ctx);
        self.process_completions(ctx);
    }

    pub fn on_timer(&mut self, timer: ProducerTimer, ctx: &mut Ctx<'_>) {
        match timer {
            ProducerTimer::WorkloadNext => self.on_workload_next(ctx),
            ProducerTimer::WorkloadResend { job } => {
                let Some(app) = self.app.as_mut() else { return };
                if let Some(mut parked) = app.parked.remove(&job) {
                    parked.resends += 1;
                    app.stats.resends += 1;
                    app.stats.kept_for_resend = app.parked.len() as u32;
                    self.submit(parked, ctx);
                }
            }
            ProducerTimer::Transaction(timer) => {
                let Some(transaction) = self.transaction.as_mut() else { return };
                if let Some(thread) = transaction.on_timer(timer, &mut self.client, ctx) {
                    self.release_thread(thread, ctx);
                }
            }
            other => self.client.on_timer(other, ctx),
        }
        self.process_completions(ctx);
    }

    /// The workload's next message is due: make it, send it (or batch it), schedule the one after.
    fn on_workload_next(&mut self, ctx: &mut Ctx<'_>) {
        let Some(app) = self.app.as_mut() else { return };
        if app.spec.max_messages.is_some_and(|max| app.next_seq >= max) {
            return;
        }
        let seq = app.next_seq;
        app.next_seq += 1;
        app.stats.messages_generated += 1;
        let key = app.spec.business_key(seq, ctx.workload_rng());
        let mut message = app.spec.make_message(seq, &key, ctx.workload_rng());
        if let Some(transaction) = self.transaction.as_mut() {
            transaction.prepare(&mut message);
        }
        let job = Job { payload: Payload::Single(message), seqs: vec![seq], keys: vec![key], resends: 0 };
        let ready = if app.spec.batch_size > 1 {
            app.batch.push(job);
            (app.batch.len() as u32 >= app.spec.batch_size).then(|| {
                let members = std::mem::take(&mut app.batch);
                let seqs = members.iter().flat_map(|j| j.seqs.clone()).collect();
                let keys = members.iter().flat_map(|j| j.keys.clone()).collect();
                let messages = members
                    .into_iter()
                    .map(|j| match j.payload {
                        Payload::Single(m) => m,
                        Payload::Batch(_) => unreachable!("members are single messages"),
                    })
                    .collect();
                let batch = MessageBatch::generate_from_list(messages).expect("one topic, no delay, not a retry topic");
                Job { payload: Payload::Batch(batch), seqs, keys, resends: 0 }
            })
        } else {
            Some(job)
        };
        let next = app.spec.next_arrival(ctx.now(), ctx.workload_rng());
        let more = app.spec.max_messages.is_none_or(|max| app.next_seq < max);
        if let (Some(next), true) = (next, more) {
            ctx.set_timer(next - ctx.now(), Timer::Producer(ProducerTimer::WorkloadNext));
        }
        if let Some(job) = ready {
            self.submit(job, ctx);
        }
    }

    /// Hand a job to a free thread (sync), or send it at once (async, oneway).
    fn submit(&mut self, job: Job, ctx: &mut Ctx<'_>) {
        let Some(app) = self.app.as_mut() else { return };
        match app.spec.mode {
            SendMode::Sync => match app.free_threads.pop_first() {
                Some(thread) => self.start(job, thread, ctx),
                None if app.backlog.len() < app.spec.max_backlog as usize => {
                    app.backlog.push_back(job);
                    app.stats.backlog = app.backlog.len() as u32;
                }
                None => {
                    app.stats.messages_abandoned += job.seqs.len() as u64;
                    ctx.observe(Observation::MessagesAbandoned {
                        seqs: job.seqs,
                        reason: "application backlog full".into(),
                    });
                }
            },
            SendMode::Async | SendMode::Oneway => self.start(job, 0, ctx),
        }
    }

    fn start(&mut self, job: Job, thread: u32, ctx: &mut Ctx<'_>) {
        let app = self.app.as_mut().expect("only applications start jobs");
        let mode = app.spec.mode;
        let target = if app.spec.order_by_key {
            let arg = SelectorArg::String(job.keys.first().cloned().unwrap_or_default());
            Target::Selector { selector: app.spec.selector.selector(), arg }
        } else {
            Target::RoundRobin
        };
        let send_id_expected = self.client.next_send_id();
        ctx.observe(Observation::SendRequested {
            send_id: send_id_expected,
            topic: job.payload.topic().to_string(),
            mode,
            seqs: job.seqs.clone(),
            business_keys: job.keys.clone(),
            resend: job.resends,
        });
        let payload = job.payload.clone();
        app.in_flight.insert(send_id_expected, (job, thread));
        let send_id = self.client.send(payload, mode, target, thread, ctx);
        assert_eq!(send_id, send_id_expected, "send ids are handed out in order");
    }

    /// Sends that ended: free their thread, keep failed messages for a resend or abandon them.
    fn process_completions(&mut self, ctx: &mut Ctx<'_>) {
        loop {
            let completions = self.client.take_completions();
            if completions.is_empty() {
                return;
            }
            for completion in completions {
                self.on_completion(completion, ctx);
            }
        }
    }

    fn on_completion(&mut self, completion: Completion, ctx: &mut Ctx<'_>) {
        let Some(app) = self.app.as_mut() else { return };
        let Some((mut job, thread)) = app.in_flight.remove(&completion.send_id) else { return };
        job.payload = completion.payload;
        if let Some(Err(error)) = &completion.result {
            let resend = app.spec.resend_failed.clone();
            match (resend, app.spec.resend_after()) {
                (Some(r), Some(after)) if job.resends < r.max_resends && (app.parked.len() as u32) < r.max_pending => {
                    let id = app.next_parked;
                    app.next_parked += 1;
                    app.parked.insert(id, job);
                    app.stats.kept_for_resend = app.parked.len() as u32;
                    ctx.set_timer(after, Timer::Producer(ProducerTimer::WorkloadResend { job: id }));
                }
                _ => {
                    app.stats.messages_abandoned += job.seqs.len() as u64;
                    ctx.observe(Observation::MessagesAbandoned { seqs: job.seqs, reason: error.to_string() });
                }
            }
        }
        if let Some(transaction) = self.transaction.as_mut() {
            // sendMessageInTransaction runs the local transaction on the sending thread.
            if transaction.on_send_completed(completion.send_id, thread, &completion.result, &mut self.client, ctx) {
                return;
            }
        }
        if completion.mode == SendMode::Sync {
            self.release_thread(thread, ctx);
        }
    }

    /// A sync sending thread is free: it takes the next message of the backlog, or waits.
    fn release_thread(&mut self, thread: u32, ctx: &mut Ctx<'_>) {
        let Some(app) = self.app.as_mut() else { return };
        match app.backlog.pop_front() {
            Some(next) => {
                app.stats.backlog = app.backlog.len() as u32;
                self.start(next, thread, ctx);
            }
            None => {
                app.free_threads.insert(thread);
            }
        }
    }

    /// When the workload last ran out of work or will stop (for views).
    pub fn workload_stop(&self) -> Option<Time> {
        self.app.as_ref().and_then(|a| a.spec.stop_at())
    }
}

#[cfg(test)]
mod tests {
    use std::rc::Rc;

    use super::*;
    use crate::prng::{Concern, Prng, StreamOwner};
    use crate::producer::config::ProducerConfig;
    use crate::protocol::Request;
    use crate::sim::disk::{DiskConfig, NodeDisk};
    use crate::sim::node::{Command, Context};
    use crate::time::Duration;
    use crate::world::{AnyNode, Directory, NodeKind};

    fn node(workload: &str) -> ProducerNode {
        let mut directory = Directory::default();
        directory.add("namesrv-0", NodeKind::NameServer, 9876);
        directory.add("producer-0", NodeKind::Producer, 40000);
        ProducerNode::boot(&ProducerNodeSpec {
            client: ProducerSpec {
                client_ip: [10, 0, 0, 2],
                name_servers: vec![NodeId(0)],
                name_server_addrs: vec!["10.0.0.1:9876".into()],
                directory: Rc::new(directory),
                config: ProducerConfig::default(),
            },
            workload: Some(toml::from_str(workload).unwrap()),
        })
    }

    fn step(
        node: &mut ProducerNode,
        now: Time,
        f: impl FnOnce(&mut ProducerNode, &mut Ctx<'_>),
    ) -> Vec<Command<AnyNode>> {
        let mut rng = Prng::stream(1, StreamOwner::Node(1), Concern::Node);
        let mut workload = Prng::stream(1, StreamOwner::Node(1), Concern::Workload);
        let mut disk = NodeDisk::new(DiskConfig::default());
        let (mut commands, mut next_timer) = (Vec::new(), 0);
        let mut ctx = Context::detached(now, NodeId(1), &mut rng, &mut disk, &mut commands, &mut next_timer)
            .with_workload(&mut workload);
        f(node, &mut ctx);
        commands
    }

    #[test]
    fn the_workload_starts_at_start_at_and_paces_messages_by_its_rate() {
        let mut producer = node("topic = \"TopicTest\"\nstart_at = \"2s\"\nrate = [{ at = \"0s\", per_second = 4 }]");
        let commands = step(&mut producer, Time::ZERO, |p, ctx| p.on_start(ctx));
        assert!(commands.iter().any(|c| matches!(c,
            Command::SetTimer { after, timer: Timer::Producer(ProducerTimer::WorkloadNext), .. } if *after == Duration::from_secs(2))));
        let commands = step(&mut producer, Time::from_secs(2), |p, ctx| p.on_timer(ProducerTimer::WorkloadNext, ctx));
        // The next message in 250 ms; this one asked for and waits on a route lookup.
        assert!(commands.iter().any(|c| matches!(c,
            Command::SetTimer { after, timer: Timer::Producer(ProducerTimer::WorkloadNext), .. } if *after == Duration::from_millis(250))));
        assert!(commands
            .iter()
            .any(|c| matches!(c, Command::Observe(Observation::SendRequested { seqs, .. }) if seqs == &[0])));
        assert!(commands.iter().any(|c| matches!(c,
            Command::Send { message: Remoting::Request { request: Request::GetRouteInfoByTopic { topic }, .. }, .. } if topic == "TopicTest")));
        assert_eq!(producer.application_stats().unwrap().messages_generated, 1);
    }

    #[test]
    fn a_sync_application_with_one_thread_keeps_later_messages_in_its_backlog() {
        let mut producer =
            node("topic = \"TopicTest\"\nstart_at = \"0s\"\nrate = [{ at = \"0s\", per_second = 1000 }]");
        step(&mut producer, Time::ZERO, |p, ctx| p.on_start(ctx));
        for ms in 0..3 {
            step(&mut producer, Time::from_millis(ms), |p, ctx| p.on_timer(ProducerTimer::WorkloadNext, ctx));
        }
        // The first send waits for its route; the next two wait for the only thread.
        assert_eq!(producer.application_stats().unwrap().backlog, 2);
        assert_eq!(producer.client.in_flight_sends(), 1);
    }
}
