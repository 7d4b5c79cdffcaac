//! A broker's counters and configuration as its view shows them.

use rmqsim_core::view::BrokerView;
use yew::prelude::*;

use crate::components::json_detail::JsonDetail;
use crate::i18n::Lang;

/// The fields the facts above the tree show.
pub const BROKER_FACTS: &[&str] = &[
    "broker_name",
    "broker_id",
    "registrations_sent",
    "registrations_answered",
    "sends_received",
    "messages_stored",
    "sends_rejected",
    "send_queue",
];

#[derive(Properties, PartialEq)]
pub struct BrokerDetailProps {
    pub lang: Lang,
    pub detail: BrokerView,
}

#[function_component(BrokerDetail)]
pub fn broker_detail(props: &BrokerDetailProps) -> Html {
    let b = &props.detail;
    let zh = props.lang == Lang::Zh;
    let role =
        if b.broker_id == 0 { "MASTER (brokerId 0)".to_string() } else { format!("SLAVE (brokerId {})", b.broker_id) };
    let registrations = if zh {
        format!("已发 {}，已应答 {}", b.registrations_sent, b.registrations_answered)
    } else {
        format!("{} sent, {} answered", b.registrations_sent, b.registrations_answered)
    };
    let sends = if zh {
        format!("收到 {}，已存储 {}，已拒绝 {}", b.sends_received, b.messages_stored, b.sends_rejected)
    } else {
        format!("{} received, {} stored, {} rejected", b.sends_received, b.messages_stored, b.sends_rejected)
    };
    html! {
        <div class="broker-detail">
            <dl class="facts">
                <dt>{ "brokerName" }</dt><dd><code>{ &b.broker_name }</code></dd>
                <dt>{ if zh { "角色" } else { "role" } }</dt><dd>{ role }</dd>
                <dt>{ "REGISTER_BROKER" }</dt><dd>{ registrations }</dd>
                <dt>{ "SEND_MESSAGE" }</dt><dd>{ sends }</dd>
                <dt>{ if zh { "等待发送线程的请求" } else { "sends waiting for a send thread" } }</dt><dd>{ b.send_queue }</dd>
            </dl>
            // Everything else the view carries (topics, producer groups, and what later versions add).
            <JsonDetail lang={props.lang} value={serde_json::to_value(b).unwrap_or_default()}
                        skip={BROKER_FACTS.to_vec()} />
        </div>
    }
}
