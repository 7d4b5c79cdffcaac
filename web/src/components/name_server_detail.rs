//! A NameServer's view of the world: its brokerLiveTable with each broker's expiry countdown, and
//! its topic routes.

use rmqsim_core::view::NameServerView;
use yew::prelude::*;

use crate::components::xray_texts::tr;
use crate::i18n::Lang;
use crate::sim_context::use_sim;

#[derive(Properties, PartialEq)]
pub struct NameServerDetailProps {
    pub lang: Lang,
    pub now_ms: u64,
    pub detail: NameServerView,
    /// The NameServer's node name (for its full tables: data versions, clusters, broker addresses).
    #[prop_or_default]
    pub node: AttrValue,
}

#[function_component(NameServerDetail)]
pub fn name_server_detail(props: &NameServerDetailProps) -> Html {
    let texts = props.lang.texts();
    let lang = props.lang;
    let now = props.now_ms;
    let sim = use_sim();
    // While a frame computed ahead is shown, the shown run stands elsewhere: the view's tables only.
    let tables = (!sim.snapshot.from_frames)
        .then(|| sim.handle.borrow().timeline().simulation().name_server_xray(&props.node).ok())
        .flatten();
    let live_row = |addr: &str| tables.as_ref().and_then(|t| t.live.iter().find(|l| l.broker_addr == addr).cloned());
    let brokers = props.detail.live_brokers.iter().map(|b| {
        let ago = now.saturating_sub(b.last_update_ms) / 1_000;
        let span = b.expires_after_ms.saturating_sub(b.last_update_ms).max(1);
        let left = b.expires_after_ms.saturating_sub(now);
        let fraction = left as f64 / span as f64;
        let expiry = if now >= b.expires_after_ms {
            html! { <span class="warn-text">{ texts.expired_waiting_scan }</span> }
        } else {
            html! {
                <span class="countdown" title={format!("{} ms", b.expires_after_ms)}>
                    <span class="bar"><span class={classes!("fill", (fraction < 0.25).then_some("low"))}
                        style={format!("width: {:.1}%", fraction * 100.0)}></span></span>
                    { (texts.in_seconds)(left.div_ceil(1_000)) }
                </span>
            }
        };
        let live = live_row(&b.broker_addr);
        html! {
            <tr data-broker={b.broker_addr.clone()} data-broker-name={b.broker_name.clone()}>
                <td><strong>{ &b.broker_name }</strong><div class="muted small"><code>{ &b.broker_addr }</code></div>
                    if let Some(live) = live {
                        <div class="muted small data-version" title="DataVersion (timestamp, counter) · cluster · haServerAddr">
                            { format!("dataVersion {}/{} · {} · HA {}", live.data_version.0, live.data_version.1, live.cluster_name, live.ha_server_addr) }
                        </div>
                    }
                </td>
                <td>{ (texts.seconds_ago)(ago) }</td>
                <td>{ expiry }</td>
            </tr>
        }
    });
    let routes = props.detail.topics.iter().map(|t| {
        html! {
            <tr>
                <td><code>{ &t.topic }</code></td>
                <td>{ for t.queues.iter().map(|(broker, read, write, perm)| html! {
                    <div class="small">{ format!("{broker}: {read}/{write} {perm}") }</div>
                }) }</td>
            </tr>
        }
    });
    html! {
        <div class="name-server-detail">
            <h4>{ texts.live_brokers }</h4>
            if props.detail.live_brokers.is_empty() {
                <p class="muted" id="live-brokers-empty">{ texts.none }</p>
            } else {
                <table class="table" id="live-brokers" data-count={props.detail.live_brokers.len().to_string()}>
                    <thead><tr><th>{ texts.broker }</th><th>{ texts.last_registration }</th><th>{ texts.expires }</th></tr></thead>
                    <tbody>{ for brokers }</tbody>
                </table>
            }
            if let Some(t) = &tables {
                <p class="muted small">{ format!("brokerChannelExpiredTime = {} ms · scanNotActiveBrokerInterval = {} ms · {}",
                    t.broker_channel_expired_ms, t.scan_interval_ms,
                    tr(lang, "a broker not heard from for that long is removed at the next scan",
                       "超过该时长未收到注册的 Broker 会在下一次扫描时被移除")) }</p>
                <h4>{ "clusterAddrTable · brokerAddrTable" }</h4>
                <table class="table compact" id="broker-addr-table">
                    <tbody>
                        { for t.clusters.iter().map(|(cluster, names)| html! {
                            <tr><td><code>{ cluster }</code></td><td>{ names.join(", ") }</td></tr>
                        }) }
                        { for t.broker_addrs.iter().map(|(name, addrs)| html! {
                            <tr><td><code>{ name }</code></td>
                                <td>{ for addrs.iter().map(|(id, a)| html! { <div class="small">{ format!("{id} → {a}") }</div> }) }</td></tr>
                        }) }
                    </tbody>
                </table>
            }
            <h4>{ texts.routes }</h4>
            if props.detail.topics.is_empty() {
                <p class="muted">{ texts.none }</p>
            } else {
                <table class="table">
                    <thead><tr><th>{ texts.topic }</th><th>{ texts.queues }</th></tr></thead>
                    <tbody>{ for routes }</tbody>
                </table>
            }
        </div>
    }
}
