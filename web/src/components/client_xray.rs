//! The clients' inspectors. A producer's route cache (`topicPublishInfoTable`: each message queue and
//! the broker address it goes to) and its latency-fault table (`LatencyFaultToleranceImpl`: latency,
//! notAvailableDuration, the instant the broker is available again). A consumer's own view: the
//! consumer ids its last rebalance got from the broker, its allocation, ProcessQueues, its offsets next
//! to the broker's, the lag, the group's progress per queue (as the Dashboard shows it) and the
//! rebalance swimlane.

use rmqsim_core::xray::{ConsumerXray, ProducerXray};
use yew::prelude::*;

use crate::components::swimlane::SwimlaneChart;
use crate::components::xray_texts::{bytes, refresh_key, tr, HandleRef};
use crate::hooks::use_escape::{on_backdrop, ClosesOnEscape};
use crate::i18n::Lang;
use crate::sim_context::use_sim;

#[derive(Properties, PartialEq)]
pub struct ClientXrayProps {
    pub lang: Lang,
    pub node: AttrValue,
}

#[function_component(ProducerXrayPanel)]
pub fn producer_xray_panel(props: &ClientXrayProps) -> Html {
    let sim = use_sim();
    let handle = sim.handle.borrow();
    match handle.timeline().simulation().producer_xray(&props.node) {
        Ok(x) => producer(props.lang, &x),
        Err(e) => html! { <p class="muted">{ e }</p> },
    }
}

fn producer(lang: Lang, x: &ProducerXray) -> Html {
    html! {
        <div class="client-xray" id="producer-xray">
            <h4>{ tr(lang, "Route cache (TopicPublishInfo)", "路由缓存 (TopicPublishInfo)") }</h4>
            if x.publish.is_empty() {
                <p class="muted">{ tr(lang, "No route yet: the first send asks a NameServer.", "尚无路由：第一次发送时向 NameServer 查询。") }</p>
            }
            { for x.publish.iter().map(|p| html! {
                <table class="table compact" data-topic={p.topic.clone()}>
                    <thead><tr><th colspan="3"><code>{ &p.topic }</code>{ format!(" · {} {}", p.queues.len(), tr(lang, "queues", "个队列")) }</th></tr></thead>
                    <tbody>
                        { for p.queues.iter().map(|q| html! {
                            <tr class={classes!((!q.available).then_some("avoided"))}>
                                <td>{ format!("{}/{}", q.broker_name, q.queue_id) }</td>
                                <td class="small"><code>{ q.broker_addr.clone().unwrap_or_else(|| "—".into()) }</code></td>
                                <td class="small">{ if q.available { "" } else { tr(lang, "avoided", "规避中") } }</td>
                            </tr>
                        }) }
                    </tbody>
                </table>
            }) }
            <h4>{ tr(lang, "Latency fault table", "延迟故障表") }</h4>
            <p class="muted small">{ format!("sendLatencyFaultEnable = {} · {} {}", x.send_latency_fault_enable,
                tr(lang, "table of RocketMQ", "RocketMQ 版本"), x.fault_strategy) }</p>
            if x.fault_items.is_empty() {
                <p class="muted" id="fault-items-empty">{ if x.send_latency_fault_enable {
                    tr(lang, "No broker recorded yet.", "尚未记录任何 Broker。")
                } else {
                    tr(lang, "Off: the producer records nothing and keeps choosing every broker.", "未开启：生产者不记录，继续轮流选择所有 Broker。")
                } }</p>
            } else {
                <table class="table compact" id="fault-items">
                    <thead><tr><th>{ "broker" }</th><th>{ tr(lang, "latency", "延迟") }</th><th>{ "notAvailableDuration" }</th><th>{ tr(lang, "available", "可用") }</th></tr></thead>
                    <tbody>
                        { for x.fault_items.iter().map(|f| {
                            let left = f.available_at_ms.saturating_sub(x.now_ms);
                            html! {
                                <tr class={classes!((!f.available_now).then_some("avoided"))} data-broker={f.broker_name.clone()}>
                                    <td>{ &f.broker_name }</td>
                                    <td>{ format!("{} ms", f.current_latency_ms) }</td>
                                    <td>{ format!("{} ms", f.not_available_duration_ms) }</td>
                                    <td class="small">{ if f.available_now {
                                        tr(lang, "yes", "是").to_string()
                                    } else {
                                        format!("{} {} ms ({} {:.1} s)", tr(lang, "at", "于"), f.available_at_ms, tr(lang, "in", "剩余"), left as f64 / 1000.0)
                                    } }</td>
                                </tr>
                            }
                        }) }
                    </tbody>
                </table>
            }
        </div>
    }
}

/// Subscribes to the snapshots; the body re-renders on every snapshot while paused and a few times a
/// second while playing (consumer progress asks every broker and consumer).
#[function_component(ConsumerXrayPanel)]
pub fn consumer_xray_panel(props: &ClientXrayProps) -> Html {
    let sim = use_sim();
    html! {
        <ConsumerBody lang={props.lang} node={props.node.clone()} tick={refresh_key(&sim.snapshot, 6)}
                      handle={HandleRef(sim.handle.clone())} />
    }
}

#[derive(Properties, PartialEq)]
struct ConsumerBodyProps {
    lang: Lang,
    node: AttrValue,
    tick: (u64, bool),
    handle: HandleRef,
}

#[function_component(ConsumerBody)]
fn consumer_body(props: &ConsumerBodyProps) -> Html {
    let lang = props.lang;
    let open = use_state(|| false);
    let key = (props.node.clone(), props.tick);
    let handle = props.handle.0.clone();
    let computed = use_memo(key, move |(node, _)| handle.borrow().timeline().simulation().consumer_xray(node));
    let x = match &*computed {
        Ok(x) => x,
        Err(e) => return html! { <p class="muted">{ e }</p> },
    };
    let toggle = |to: bool| {
        let open = open.clone();
        Callback::from(move |_: MouseEvent| open.set(to))
    };
    let close = {
        let open = open.clone();
        Callback::from(move |()| open.set(false))
    };
    html! {
        <>
            <div class="client-xray" id="consumer-xray">
                <button id="open-consumer-xray" class="primary xray-open" onclick={toggle(true)}>
                    { tr(lang, "Open consumer view and rebalance swimlane", "打开消费者视图与重平衡泳道") }
                </button>
                { rebalances(lang, x, "h4") }
            </div>
            if *open {
                <div class="xray-overlay" id="consumer-overlay" data-node={props.node.clone()} onclick={on_backdrop(close.clone())}>
                    <ClosesOnEscape on_close={close.clone()} />
                    <div class="xray-panel" role="dialog" aria-modal="true" aria-labelledby="consumer-view-title">
                        <div class="xray-header">
                            <h2 id="consumer-view-title">{ tr(lang, "Consumer view", "消费者视图") }{ " · " }<code>{ props.node.clone() }</code></h2>
                            <span class="muted small">{ format!("{} · {}", x.group, x.client_id) }</span>
                            <button class="icon-button" id="consumer-close" title={tr(lang, "Close", "关闭")} onclick={toggle(false)}>{ "×" }</button>
                        </div>
                        <div class="xray-body" tabindex="0">{ consumer(lang, x, props.tick, &props.handle) }</div>
                    </div>
                </div>
            }
        </>
    }
}

fn offset(o: Option<i64>) -> String {
    o.map_or_else(|| "—".to_string(), |o| o.to_string())
}

/// `heading`: "h4" under the inspector's sections, "h3" in the consumer view under its h2.
fn rebalances(lang: Lang, x: &ConsumerXray, heading: &'static str) -> Html {
    html! {
        <>
            <@{heading}>{ tr(lang, "What the last rebalance saw", "最近一次重平衡看到的") }</@>
            if x.last_rebalance.is_empty() {
                <p class="muted">{ tr(lang, "No rebalance yet.", "尚未重平衡。") }</p>
            }
            { for x.last_rebalance.iter().map(|r| html! {
                <dl class="facts" data-topic={r.topic.clone()}>
                    <dt>{ "topic" }</dt><dd><code>{ &r.topic }</code>{ format!(" · {} {}", tr(lang, "at", "于"), r.at) }</dd>
                    <dt>{ tr(lang, "consumer ids", "消费者 ID 列表") }</dt>
                    <dd class="cid-list">{ if r.cid_all.is_empty() {
                        html! { <span class="muted">{ tr(lang, "BROADCASTING: none asked", "广播模式：不查询") }</span> }
                    } else {
                        r.cid_all.iter().map(|c| html! { <div class="small"><code>{ c }</code></div> }).collect::<Html>()
                    } }</dd>
                    <dt>{ tr(lang, "allocated", "分配到") }</dt><dd>{ format!("{} / {}: {}", r.allocated.len(), r.mq_all, r.allocated.join(", ")) }</dd>
                </dl>
            }) }
        </>
    }
}

fn consumer(lang: Lang, x: &ConsumerXray, tick: (u64, bool), handle: &HandleRef) -> Html {
    html! {
        <div class="client-xray wide">
            { rebalances(lang, x, "h3") }
            <h3>{ tr(lang, "ProcessQueues and offsets", "处理队列与位点") }</h3>
            <table class="table compact" id="process-queues">
                <thead><tr>
                    <th>{ tr(lang, "queue", "队列") }</th><th>{ tr(lang, "cached", "缓存") }</th>
                    <th>{ tr(lang, "local", "本地位点") }</th><th>{ tr(lang, "broker", "Broker 位点") }</th><th>{ tr(lang, "lag", "堆积") }</th>
                </tr></thead>
                <tbody>
                    { for x.process_queues.iter().map(|q| html! {
                        <tr class={classes!(q.dropped.then_some("dropped"))}>
                            <td>{ format!("{}/{}", q.broker_name, q.queue_id) }<div class="muted small">{ &q.topic }
                                { if q.locked { tr(lang, " · locked", " · 已锁定") } else { "" } }{ if q.dropped { tr(lang, " · dropped", " · 已丢弃") } else { "" } }</div></td>
                            <td>{ q.msg_count }<div class="muted small">{ bytes(q.msg_size as i64) }</div></td>
                            <td>{ offset(q.local_offset) }</td>
                            <td>{ offset(q.broker_offset) }</td>
                            <td>{ offset(q.lag) }</td>
                        </tr>
                    }) }
                </tbody>
            </table>
            <h3>{ tr(lang, "Consumer progress (as the Dashboard shows it)", "消费进度（同 Dashboard）") }</h3>
            <table class="table compact" id="consumer-progress">
                <thead><tr><th>{ tr(lang, "queue", "队列") }</th><th>{ tr(lang, "broker offset", "Broker 位点") }</th><th>{ tr(lang, "consumer offset", "消费位点") }</th><th>{ tr(lang, "diff", "差值") }</th><th>{ tr(lang, "client", "客户端") }</th></tr></thead>
                <tbody>
                    { for x.progress.iter().map(|p| html! {
                        <tr>
                            <td>{ format!("{}/{}", p.broker_name, p.queue_id) }<div class="muted small">{ &p.topic }</div></td>
                            <td>{ p.broker_offset }</td><td>{ p.consumer_offset }</td>
                            <td class={classes!((p.diff > 0).then_some("warn-text"))}>{ p.diff }</td>
                            <td class="small"><code>{ p.client_id.clone().unwrap_or_else(|| "—".into()) }</code></td>
                        </tr>
                    }) }
                </tbody>
            </table>
            <h3>{ tr(lang, "Rebalance swimlane", "重平衡泳道") }</h3>
            <SwimlaneChart lang={lang} group={x.group.clone()} tick={tick} handle={handle.clone()} />
        </div>
    }
}
