//! The consumer process's remoting client (`NettyRemotingClient` as the consumer uses it): requests with
//! their purpose, deadlines and channels.
//!
//! A call is a request plus what to do with its answer (`P`, the purpose), remembered by `opaque` until a
//! response, a timeout or the channel's close. Sync calls (routes, heartbeats, offset queries, locks,
//! send-backs) that time out close their channel (`clientCloseSocketIfTimeout`, default true), failing
//! whatever else was outstanding on it; an async call (a pull) that times out just fails. A channel closed
//! before anything came back is a failed connect.
//!
//! Simplification: async deadlines are exact timers rather than Java's 1 s response-table scan (a pull's
//! 30 s timeout may fire up to 1 s earlier than in RocketMQ).

use std::collections::{BTreeMap, BTreeSet};

use crate::protocol::{Message, Request, Response};
use crate::sim::node::{NodeId, TimerId};
use crate::time::{Duration, Time};

/// Why a call produced no response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallError {
    /// No response within the timeout (`RemotingTimeoutException`).
    Timeout { addr: String, timeout_ms: u64 },
    /// The channel broke (`RemotingSendRequestException` / `RemotingConnectException`).
    ChannelClosed { addr: String, connecting: bool },
    /// No broker address is known for the target (`MQClientException`: the broker does not exist).
    NoAddress { target: String },
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Timeout { addr, timeout_ms } => {
                write!(f, "RemotingTimeoutException: wait response on the channel <{addr}> timeout, {timeout_ms}(ms)")
            }
            CallError::ChannelClosed { addr, connecting: true } => {
                write!(f, "RemotingConnectException: connect to {addr} failed")
            }
            CallError::ChannelClosed { addr, connecting: false } => {
                write!(f, "RemotingSendRequestException: send request to <{addr}> failed")
            }
            CallError::NoAddress { target } => write!(f, "MQClientException: The broker[{target}] not exist"),
        }
    }
}

/// What ended a call.
pub type CallResult = Result<Response, CallError>;

#[derive(Clone, Debug)]
struct PendingCall<P> {
    peer: NodeId,
    addr: String,
    purpose: P,
    sync: bool,
    timeout_ms: u64,
    timer: TimerId,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ChannelState {
    Connecting,
    Established,
}

/// A call that is over: its purpose and how it ended.
#[derive(Clone, Debug)]
pub struct Finished<P> {
    pub opaque: u32,
    pub purpose: P,
    pub result: CallResult,
}

#[derive(Clone, Debug)]
pub struct RemotingClient<P> {
    next_opaque: u32,
    pending: BTreeMap<u32, PendingCall<P>>,
    channels: BTreeMap<NodeId, ChannelState>,
    self_closed: BTreeSet<NodeId>,
}

impl<P: Clone> Default for RemotingClient<P> {
    fn default() -> Self {
        RemotingClient {
            next_opaque: 0,
            pending: BTreeMap::new(),
            channels: BTreeMap::new(),
            self_closed: BTreeSet::new(),
        }
    }
}

/// The effects a call needs from the node's context.
pub trait RemotingIo {
    fn send(&mut self, to: NodeId, message: Message);
    fn set_timeout(&mut self, after: Duration, opaque: u32) -> TimerId;
    fn cancel_timer(&mut self, id: TimerId);
    fn close(&mut self, peer: NodeId);
    fn now(&self) -> Time;
}

impl<P: Clone> RemotingClient<P> {
    /// Send `request` to `peer` and remember it; the answer comes back through [`RemotingClient::on_response`].
    #[allow(clippy::too_many_arguments)]
    pub fn invoke(
        &mut self,
        io: &mut dyn RemotingIo,
        peer: NodeId,
        addr: &str,
        request: Request,
        purpose: P,
        timeout_ms: u64,
        sync: bool,
    ) -> u32 {
        let opaque = self.next_opaque;
        self.next_opaque = self.next_opaque.wrapping_add(1);
        self.channels.entry(peer).or_insert(ChannelState::Connecting);
        io.send(peer, Message::Request { opaque, request });
        let timer = io.set_timeout(Duration::from_millis(timeout_ms), opaque);
        self.pending.insert(opaque, PendingCall { peer, addr: addr.to_string(), purpose, sync, timeout_ms, timer });
        opaque
    }

    /// A oneway request (no answer, no deadline).
    pub fn invoke_oneway(&mut self, io: &mut dyn RemotingIo, peer: NodeId, request: Request) {
        self.channels.entry(peer).or_insert(ChannelState::Connecting);
        io.send(peer, Message::Oneway { request });
    }

    /// Something arrived from `from`: the channel is established.
    pub fn on_message_from(&mut self, from: NodeId) {
        if let Some(state) = self.channels.get_mut(&from) {
            *state = ChannelState::Established;
        }
    }

    /// A response: the call it answers, if still pending.
    pub fn on_response(
        &mut self,
        io: &mut dyn RemotingIo,
        from: NodeId,
        opaque: u32,
        response: Response,
    ) -> Option<Finished<P>> {
        let call = self.pending.get(&opaque)?;
        if call.peer != from {
            return None;
        }
        let call = self.pending.remove(&opaque)?;
        io.cancel_timer(call.timer);
        Some(Finished { opaque, purpose: call.purpose, result: Ok(response) })
    }

    /// A call's deadline passed. A sync call's channel is closed, failing the others on it.
    pub fn on_timeout(&mut self, io: &mut dyn RemotingIo, opaque: u32) -> Vec<Finished<P>> {
        let Some(call) = self.pending.remove(&opaque) else { return Vec::new() };
        let mut finished = vec![Finished {
            opaque,
            purpose: call.purpose,
            result: Err(CallError::Timeout { addr: call.addr.clone(), timeout_ms: call.timeout_ms }),
        }];
        if call.sync && self.channels.remove(&call.peer).is_some() {
            self.self_closed.insert(call.peer);
            io.close(call.peer);
            finished.extend(self.fail_all_of(io, call.peer, false));
        }
        finished
    }

    /// The channel to `peer` closed.
    pub fn on_connection_closed(&mut self, io: &mut dyn RemotingIo, peer: NodeId) -> Vec<Finished<P>> {
        if self.self_closed.remove(&peer) {
            return Vec::new();
        }
        let Some(state) = self.channels.remove(&peer) else { return Vec::new() };
        self.fail_all_of(io, peer, state == ChannelState::Connecting)
    }

    fn fail_all_of(&mut self, io: &mut dyn RemotingIo, peer: NodeId, connecting: bool) -> Vec<Finished<P>> {
        let opaques: Vec<u32> = self.pending.iter().filter(|(_, c)| c.peer == peer).map(|(o, _)| *o).collect();
        opaques
            .into_iter()
            .filter_map(|opaque| {
                let call = self.pending.remove(&opaque)?;
                io.cancel_timer(call.timer);
                Some(Finished {
                    opaque,
                    purpose: call.purpose,
                    result: Err(CallError::ChannelClosed { addr: call.addr, connecting }),
                })
            })
            .collect()
    }

    /// Is there an open (or opening) channel to `peer`?
    pub fn has_channel(&self, peer: NodeId) -> bool {
        self.channels.contains_key(&peer)
    }

    pub fn pending_count(&self) -> u32 {
        self.pending.len() as u32
    }

    /// Purposes of the calls still pending (for views).
    pub fn pending_purposes(&self) -> impl Iterator<Item = &P> {
        self.pending.values().map(|c| &c.purpose)
    }

    /// Close every channel (shutdown); pending calls are dropped without an answer.
    pub fn close_all(&mut self, io: &mut dyn RemotingIo) {
        for (peer, _) in std::mem::take(&mut self.channels) {
            self.self_closed.insert(peer);
            io.close(peer);
        }
        for (_, call) in std::mem::take(&mut self.pending) {
            io.cancel_timer(call.timer);
        }
    }
}
