//! Faults by click: crash kinds, restart, shutdown and slow disk on the node; partition, heal,
//! hold, release and clog between it and a peer (a node or a group). Every click becomes an
//! action in the run's log, through the timeline.

use rmqsim_core::scenario::model::CrashKindSpec;
use rmqsim_core::scenario::ActionSpec;
use rmqsim_core::sim::kernel::NodeStatus;
use rmqsim_core::view::NodeView;
use rmqsim_core::world::NodeKind;
use web_sys::HtmlSelectElement;
use yew::prelude::*;

use crate::i18n::Lang;
use crate::state::{PEER_BROKERS, PEER_NAME_SERVERS, PEER_OTHERS};

#[derive(Properties, PartialEq)]
pub struct FaultPanelProps {
    pub lang: Lang,
    pub node: NodeView,
    pub nodes: Vec<NodeView>,
    pub peer: Option<AttrValue>,
    /// Acting now forks the run (it was rewound).
    pub forks: bool,
    pub on_act: Callback<ActionSpec>,
    pub on_peer: Callback<Option<String>>,
}

/// The node names a peer choice stands for (never the node itself).
pub fn peer_nodes(peer: &str, me: &str, nodes: &[NodeView]) -> Vec<String> {
    let of_kind = |kind: Option<NodeKind>| {
        nodes.iter().filter(|n| n.name != me && kind.is_none_or(|k| n.kind == k)).map(|n| n.name.clone()).collect()
    };
    match peer {
        PEER_NAME_SERVERS => of_kind(Some(NodeKind::NameServer)),
        PEER_BROKERS => of_kind(Some(NodeKind::Broker)),
        PEER_OTHERS => of_kind(None),
        name if name != me && nodes.iter().any(|n| n.name == name) => vec![name.to_string()],
        _ => Vec::new(),
    }
}

#[function_component(FaultPanel)]
pub fn fault_panel(props: &FaultPanelProps) -> Html {
    let texts = props.lang.texts();
    let node = &props.node;
    let me = node.name.clone();
    let up = node.status == NodeStatus::Up;
    let act = |action: ActionSpec| props.on_act.reform(move |_: MouseEvent| action.clone());
    let crash = |kind| act(ActionSpec::Crash { node: me.clone(), kind });
    // The default peer: the first NameServer for a broker or client, the first broker for a NameServer.
    let default_peer = props
        .nodes
        .iter()
        .find(|n| n.name != me && (n.kind == NodeKind::NameServer) != (node.kind == NodeKind::NameServer))
        .or_else(|| props.nodes.iter().find(|n| n.name != me))
        .map(|n| n.name.clone());
    let peer = props.peer.as_ref().map(|p| p.to_string()).filter(|p| *p != me).or(default_peer).unwrap_or_default();
    let peers = peer_nodes(&peer, &me, &props.nodes);
    let single = peers.len() == 1 && !peer.starts_with('@');
    let on_peer = props.on_peer.reform(|e: Event| {
        let select: HtmlSelectElement = e.target_unchecked_into();
        Some(select.value())
    });
    let between = |both_ways: bool, heal: bool| {
        let (from, to) = (vec![me.clone()], peers.clone());
        if heal {
            act(ActionSpec::Heal { from, to, both_ways })
        } else {
            act(ActionSpec::Partition { from, to, both_ways })
        }
    };
    let pair =
        |make: fn(String, String) -> ActionSpec| act(make(me.clone(), peers.first().cloned().unwrap_or_default()));
    let groups = [
        (PEER_NAME_SERVERS, texts.group_name_servers),
        (PEER_BROKERS, texts.group_brokers),
        (PEER_OTHERS, texts.group_others),
    ];
    html! {
        <div class={classes!("fault-panel", props.forks.then_some("forking"))}>
            <h3 class="section">{ texts.break_it }</h3>
            <div class="button-row">
                <button id="fault-kill" class="danger" disabled={!up} title={texts.kill_title}
                        onclick={crash(CrashKindSpec::ProcessKill)}>{ texts.kill }</button>
                <button id="fault-power" class="danger" disabled={!up} title={texts.power_title}
                        onclick={crash(CrashKindSpec::PowerLoss)}>{ texts.power }</button>
                <button id="fault-disk" class="danger" disabled={!up} title={texts.wipe_disk_title}
                        onclick={crash(CrashKindSpec::DiskLoss)}>{ texts.wipe_disk }</button>
                <button id="fault-restart" class="good" disabled={up}
                        onclick={act(ActionSpec::Restart { node: me.clone() })}>{ texts.restart }</button>
                if node.kind == NodeKind::Broker {
                    <button id="fault-shutdown" disabled={!up} title={texts.shutdown_title}
                            onclick={act(ActionSpec::Shutdown { node: me.clone() })}>{ texts.shutdown }</button>
                }
                <button id="fault-slow-disk" onclick={act(ActionSpec::SlowDisk { node: me.clone(), factor: 10 })}>{ texts.slow_disk }</button>
                <button id="fault-normal-disk" class="ghost" onclick={act(ActionSpec::SlowDisk { node: me.clone(), factor: 1 })}>{ texts.normal_disk }</button>
            </div>
            <h3 class="section">{ texts.network }</h3>
            <label class="peer">{ texts.peer }{ " " }
                <select id="peer" onchange={on_peer}>
                    { for props.nodes.iter().filter(|n| n.name != me).map(|n| html! {
                        <option value={n.name.clone()} selected={n.name == peer}>{ &n.name }</option>
                    }) }
                    { for groups.iter().map(|(value, label)| html! {
                        <option value={*value} selected={peer == *value}>{ *label }</option>
                    }) }
                </select>
            </label>
            <div class="button-row">
                <button id="net-partition-both" class="danger" disabled={peers.is_empty()} onclick={between(true, false)}>{ texts.partition_both }</button>
                <button id="net-partition-one-way" class="danger" disabled={peers.is_empty()} onclick={between(false, false)}>{ texts.partition_one_way }</button>
                <button id="net-heal" class="good" disabled={peers.is_empty()} onclick={between(true, true)}>{ texts.heal }</button>
            </div>
            <div class="button-row" title={(!single).then_some(texts.single_peer_only)}>
                <button id="net-hold" disabled={!single} onclick={pair(|from, to| ActionSpec::Hold { from, to })}>{ texts.hold }</button>
                <button id="net-release" disabled={!single} onclick={pair(|from, to| ActionSpec::Release { from, to })}>{ texts.release }</button>
                <button id="net-clog" disabled={!single}
                        onclick={pair(|from, to| ActionSpec::Clog { from, to, extra: "500ms".into() })}>{ texts.clog }</button>
                <button id="net-unclog" class="ghost" disabled={!single}
                        onclick={pair(|from, to| ActionSpec::Clog { from, to, extra: "0ms".into() })}>{ texts.unclog }</button>
            </div>
        </div>
    }
}
