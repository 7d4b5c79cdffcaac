//! A broker's counters and configuration as its view shows them.

use rmqsim_core::view::BrokerView;
use yew::prelude::*;

use crate::components::json_detail::JsonDetail;
use crate::i18n::Lang;

#[derive(Properties, PartialEq)]
pub struct BrokerDetailProps {
    pub lang: Lang,
    pub detail: BrokerView,
}

#[function_component(BrokerDetail)]
pub fn broker_detail(props: &BrokerDetailProps) -> Html {
    let b = &props.detail;
    let role =
        if b.broker_id == 0 { "MASTER (brokerId 0)".to_string() } else { format!("SLAVE (brokerId {})", b.broker_id) };
    html! {
        <div class="broker-detail">
            <dl class="facts">
                <dt>{ "brokerName" }</dt><dd><code>{ &b.broker_name }</code></dd>
                <dt>{ "role" }</dt><dd>{ role }</dd>
                <dt>{ "REGISTER_BROKER" }</dt><dd>{ format!("{} sent, {} answered", b.registrations_sent, b.registrations_answered) }</dd>
                <dt>{ "SEND_MESSAGE" }</dt><dd>{ format!("{} received, {} stored, {} rejected", b.sends_received, b.messages_stored, b.sends_rejected) }</dd>
                <dt>{ "send queue" }</dt><dd>{ b.send_queue }</dd>
            </dl>
            // Everything else the view carries (topics, producer groups, and what later versions add).
            <JsonDetail lang={props.lang} value={serde_json::to_value(b).unwrap_or_default()}
                        skip={vec!["broker_name", "broker_id", "registrations_sent", "registrations_answered",
                                   "sends_received", "messages_stored", "sends_rejected", "send_queue"]} />
        </div>
    }
}
