//! A compact list of nodes: role, address, up/down, and what each NameServer currently routes.

use std::rc::Rc;

use rmqsim_core::sim::kernel::NodeStatus;
use rmqsim_core::view::{NodeDetail, NodeView, SimView};
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct NodeListProps {
    pub view: Rc<SimView>,
}

#[function_component(NodeList)]
pub fn node_list(props: &NodeListProps) -> Html {
    html! {
        <table class="nodes">
            <thead><tr><th>{ "node" }</th><th>{ "address" }</th><th>{ "state" }</th><th>{ "detail" }</th></tr></thead>
            <tbody>{ for props.view.nodes.iter().map(|node| row(node, props.view.time.as_millis())) }</tbody>
        </table>
    }
}

fn row(node: &NodeView, now_ms: u64) -> Html {
    let (state, class) = match node.status {
        NodeStatus::Up => ("up".to_string(), "up"),
        NodeStatus::Down(kind) => (format!("down ({kind:?})"), "down"),
    };
    html! {
        <tr class={class} data-node={node.name.clone()}>
            <td>{ &node.name }</td>
            <td><code>{ &node.addr }</code></td>
            <td class="state">{ state }</td>
            <td>{ detail(&node.detail, now_ms) }</td>
        </tr>
    }
}

fn detail(detail: &NodeDetail, now_ms: u64) -> Html {
    match detail {
        NodeDetail::Down => html! { <span class="muted">{ "process not running" }</span> },
        NodeDetail::NameServer(ns) => html! {
            <span>
                { format!("{} live: ", ns.live_brokers.len()) }
                { for ns.live_brokers.iter().map(|b| html! {
                    <span class="pill" title={format!("last REGISTER_BROKER at {} ms", b.last_update_ms)}>
                        { format!("{} (seen {} s ago)", b.broker_name, now_ms.saturating_sub(b.last_update_ms) / 1_000) }
                    </span>
                }) }
            </span>
        },
        NodeDetail::Broker(b) => html! {
            <span>{ format!("{} id {} · {} registrations sent, {} answered", b.broker_name, b.broker_id,
                            b.registrations_sent, b.registrations_answered) }</span>
        },
        NodeDetail::Producer(p) => html! {
            <span>{ format!("{} · {} sends: {} SEND_OK, {} failed", p.producer_group, p.sends_started, p.send_ok,
                            p.send_failed) }</span>
        },
        NodeDetail::Consumer(c) => html! {
            <span>{ format!("{} · {} queues, {} consumed, {} failed", c.group, c.queues.len(), c.consumed_ok,
                            c.consumed_failed) }</span>
        },
    }
}
