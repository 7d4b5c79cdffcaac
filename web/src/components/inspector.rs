//! The inspector: what the selected node knows, and the buttons that break it. With nothing
//! selected, a summary of the run: the user's actions, the scenario's, and the faulty links.

use std::rc::Rc;

use rmqsim_core::scenario::{ActionSpec, Scenario};
use rmqsim_core::sim::disk::CrashKind;
use rmqsim_core::sim::kernel::NodeStatus;
use rmqsim_core::view::{NodeDetail, NodeView};
use yew::prelude::*;

use crate::components::action_panel::ActionPanel;
use crate::components::broker_detail::BrokerDetail;
use crate::components::client_xray::{ConsumerXrayPanel, ProducerXrayPanel};
use crate::components::fault_panel::FaultPanel;
use crate::components::json_detail::JsonDetail;
use crate::components::message_fate::{MessageFatePanel, MessageSearch};
use crate::components::name_server_detail::NameServerDetail;
use crate::components::replication_panel::ControllerDetail;
use crate::components::storage_xray::StorageXrayPanel;
use crate::components::xray_texts::{tr, waits_for_pause};
use crate::i18n::{Lang, Texts};
use crate::sim_context::Snapshot;
use crate::state::UiContext;

/// Producer view fields its X-ray panel shows, so the tree under it does not repeat them.
pub const PRODUCER_PANELS: &[&str] = &["publish", "isolated_brokers"];
/// Consumer view fields the rebalance list and its X-ray show.
pub const CONSUMER_PANELS: &[&str] = &["allocations", "queues"];

#[derive(Properties, PartialEq)]
pub struct InspectorProps {
    pub lang: Lang,
    pub snapshot: Rc<Snapshot>,
    pub selected: Option<AttrValue>,
    pub peer: Option<AttrValue>,
    pub on_act: Callback<ActionSpec>,
    pub on_peer: Callback<Option<String>>,
    pub on_close: Callback<()>,
}

pub fn status_text(texts: &Texts, status: NodeStatus) -> &'static str {
    match status {
        NodeStatus::Up => texts.up,
        NodeStatus::Down(CrashKind::ProcessKill) => texts.process_kill,
        NodeStatus::NotStarted => texts.not_started,
        NodeStatus::Stopped => texts.stopped,
        NodeStatus::Down(CrashKind::PowerLoss) => texts.power_loss,
        NodeStatus::Down(CrashKind::DiskLoss) => texts.disk_loss,
    }
}

#[function_component(Inspector)]
pub fn inspector(props: &InspectorProps) -> Html {
    let texts = props.lang.texts();
    let view = &props.snapshot.view;
    let node = props.selected.as_deref().and_then(|name| view.nodes.iter().find(|n| n.name == name));
    let ui = use_context::<UiContext>();
    let message = ui.as_ref().and_then(|ui| ui.message.clone());
    // The broker whose storage X-ray is open (an overlay over the workspace).
    let xray = use_state(|| None::<String>);
    let open_xray = {
        let xray = xray.clone();
        Callback::from(move |node: Option<String>| xray.set(node))
    };
    let xray_node = (*xray).clone().filter(|n| props.selected.as_deref() == Some(n.as_str()));
    html! {
        <section id="inspector" class="panel inspector">
            <h2>{ texts.inspector }</h2>
            {
                match node {
                    Some(node) => node_panel(node, props, &open_xray),
                    None => summary(texts, props),
                }
            }
            if props.snapshot.from_frames && (xray_node.is_some() || message.is_some()) {
                { waits_for_pause(props.lang) }
            } else {
                if let Some(node) = xray_node {
                    <StorageXrayPanel lang={props.lang} node={node} on_close={open_xray.reform(|()| None)} />
                }
                if let Some(search) = message {
                    <MessageFatePanel lang={props.lang} search={search} />
                }
            }
        </section>
    }
}

/// The status badge's style: green up, red crashed, grey when the process is simply not running.
fn status_class(status: NodeStatus) -> &'static str {
    match status {
        NodeStatus::Up => "up",
        NodeStatus::Down(_) => "down",
        NodeStatus::NotStarted | NodeStatus::Stopped => "idle",
    }
}

fn node_panel(node: &NodeView, props: &InspectorProps, open_xray: &Callback<Option<String>>) -> Html {
    let texts = props.lang.texts();
    let now_ms = props.snapshot.view.time.as_millis();
    let detail = match &node.detail {
        NodeDetail::Down => html! { <p class="muted">{ texts.down_memory_gone }</p> },
        NodeDetail::NameServer(ns) => {
            html! { <NameServerDetail lang={props.lang} now_ms={now_ms} detail={ns.clone()} node={node.name.clone()} /> }
        }
        NodeDetail::Broker(broker) => {
            let name = node.name.clone();
            html! {
                <>
                    <button id="open-xray" class="primary xray-open" onclick={open_xray.reform(move |_: MouseEvent| Some(name.clone()))}>
                        { tr(props.lang, "Open storage X-ray", "打开存储透视") }
                    </button>
                    <BrokerDetail lang={props.lang} detail={broker.clone()} />
                </>
            }
        }
        NodeDetail::Producer(producer) => html! {
            <>
                if props.snapshot.from_frames {
                    { waits_for_pause(props.lang) }
                } else {
                    <ProducerXrayPanel lang={props.lang} node={node.name.clone()} />
                }
                <JsonDetail lang={props.lang} value={serde_json::to_value(producer).unwrap_or_default()} skip={PRODUCER_PANELS.to_vec()} />
            </>
        },
        NodeDetail::Consumer(consumer) => html! {
            <>
                if props.snapshot.from_frames {
                    { waits_for_pause(props.lang) }
                } else {
                    <ConsumerXrayPanel lang={props.lang} node={node.name.clone()} />
                }
                <JsonDetail lang={props.lang} value={serde_json::to_value(consumer).unwrap_or_default()} skip={CONSUMER_PANELS.to_vec()} />
            </>
        },
        NodeDetail::Controller(controller) => html! {
            <ControllerDetail lang={props.lang} detail={controller.clone()} view={Rc::clone(&props.snapshot.view)} />
        },
        #[allow(unreachable_patterns)]
        other => html! { <JsonDetail lang={props.lang} value={serde_json::to_value(other).unwrap_or_default()} /> },
    };
    html! {
        <div class="node-panel" data-inspecting={node.name.clone()}>
            <div class="node-header">
                <div>
                    <h3 id="inspected-name">{ &node.name }</h3>
                    <div class="muted">{ format!("{:?} · {} {}", node.kind, texts.address, node.addr) }</div>
                </div>
                <span class={classes!("badge", status_class(node.status))} id="inspected-status">
                    { status_text(texts, node.status) }
                </span>
                <button class="icon-button" title={texts.close} onclick={props.on_close.reform(|_| ())}>{ "×" }</button>
            </div>
            <FaultPanel lang={props.lang} node={node.clone()} nodes={props.snapshot.view.nodes.clone()}
                        peer={props.peer.clone()} forks={props.snapshot.forks_if_acting}
                        on_act={props.on_act.clone()} on_peer={props.on_peer.clone()} />
            <ActionPanel lang={props.lang} node={node.clone()} scenario={props.snapshot.scenario.clone()}
                         forks={props.snapshot.forks_if_acting} on_act={props.on_act.clone()} />
            <h3 class="section">{ texts.details }</h3>
            { detail }
        </div>
    }
}

fn summary(texts: &Texts, props: &InspectorProps) -> Html {
    let snapshot = &props.snapshot;
    let scenario: &Scenario = &snapshot.scenario;
    let name =
        |id: u16| snapshot.view.nodes.iter().find(|n| n.id == id).map_or_else(|| id.to_string(), |n| n.name.clone());
    html! {
        <div class="summary">
            <p class="hint">{ texts.nothing_selected }</p>
            <h3 class="section">{ tr(props.lang, "Find a message", "查找消息") }</h3>
            <MessageSearch lang={props.lang} />
            <h3 class="section">{ texts.your_actions }</h3>
            if snapshot.log.is_empty() {
                <p class="muted" id="user-actions-empty">{ texts.no_actions }</p>
            } else {
                <ol id="user-actions" class="action-list">
                    { for snapshot.log.iter().map(|u| html! {
                        <li class={classes!((u.at > snapshot.now()).then_some("future"))}>
                            <time>{ u.at.to_string() }</time>{ " " }{ texts.describe_action(&u.action) }
                        </li>
                    }) }
                </ol>
            }
            if !scenario.actions.is_empty() {
                <h3 class="section">{ texts.scenario_actions }</h3>
                <ol class="action-list scenario">
                    { for scenario.actions.iter().map(|a| html! {
                        <li><time>{ Scenario::action_time(a).to_string() }</time>{ " " }{ texts.describe_action(&a.action) }</li>
                    }) }
                </ol>
            }
            <h3 class="section">{ texts.faulty_links }</h3>
            if snapshot.view.links.is_empty() {
                <p class="muted">{ texts.none }</p>
            } else {
                <ul class="action-list" id="faulty-links">
                    { for snapshot.view.links.iter().map(|l| {
                        let mut what = Vec::new();
                        if l.blocked { what.push(texts.legend_partition.to_string()); }
                        if l.held { what.push(format!("{} ({})", texts.legend_held, l.held_messages)); }
                        if l.clog_us > 0 { what.push(format!("{} +{} ms", texts.legend_clog, l.clog_us / 1_000)); }
                        html! { <li>{ format!("{} → {}: {}", name(l.from), name(l.to), what.join(", ")) }</li> }
                    }) }
                </ul>
            }
            <button id="heal-all" class="ghost" disabled={snapshot.view.links.is_empty()}
                    onclick={props.on_act.reform(|_| ActionSpec::HealAll)}>{ texts.heal_all }</button>
        </div>
    }
}
