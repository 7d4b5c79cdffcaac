//! Operator actions by click, for the selected node: on a consumer, its group's business dependency
//! (down / up), members (add / remove), offsets (reset, skip the backlog) and the settings RocketMQ
//! applies live; on a broker, its topics' queue numbers. Every form checks its fields with the core's
//! own parsers before acting and shows the problem next to the field; what passes goes into the run's
//! action log through the timeline (and so into share links, rewind and fork).

use std::rc::Rc;

use rmqsim_core::consumer::live::{parse_dependency_timeout, LiveConsumerKnob, LIVE_CONSUMER_KEYS};
use rmqsim_core::scenario::duration::parse_duration;
use rmqsim_core::scenario::model::{BrokerGroupSpec, ConsumerGroupSpec};
use rmqsim_core::scenario::{ActionSpec, Scenario};
use rmqsim_core::sim::kernel::NodeStatus;
use rmqsim_core::view::{ConsumerView, NodeDetail, NodeView};
use rmqsim_core::world::NodeKind;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use crate::i18n::Lang;

#[derive(Properties, PartialEq)]
pub struct ActionPanelProps {
    pub lang: Lang,
    pub node: NodeView,
    pub scenario: Rc<Scenario>,
    /// Acting now forks the run (it was rewound).
    pub forks: bool,
    pub on_act: Callback<ActionSpec>,
}

/// The consumer group a consumer node belongs to.
pub fn group_of<'a>(scenario: &'a Scenario, node: &str) -> Option<&'a ConsumerGroupSpec> {
    scenario.consumer_groups.iter().find(|g| g.node_names().iter().any(|n| n == node))
}

/// The broker group a broker node belongs to.
pub fn broker_group_of<'a>(scenario: &'a Scenario, node: &str) -> Option<&'a BrokerGroupSpec> {
    scenario.topology.broker_groups.iter().find(|g| g.node_names().iter().any(|n| n == node))
}

/// The topics a broker group hosts.
pub fn topics_of(scenario: &Scenario, broker_group: &str) -> Vec<String> {
    scenario
        .topology
        .topics
        .iter()
        .filter(|t| t.brokers.as_ref().is_none_or(|b| b.iter().any(|g| g == broker_group)))
        .map(|t| t.name.clone())
        .collect()
}

/// `earliest`, `latest` or a virtual instant, as `mqadmin resetOffsetByTime` is given here.
pub fn reset_target_ok(to: &str) -> bool {
    to == "earliest" || to == "latest" || parse_duration(to).is_ok()
}

fn text_value(e: InputEvent) -> String {
    let input: HtmlInputElement = e.target_unchecked_into();
    input.value()
}

fn select_value(e: Event) -> String {
    let select: HtmlSelectElement = e.target_unchecked_into();
    select.value()
}

/// A problem shown next to its field.
fn field_error(id: &'static str, error: &Option<String>) -> Html {
    match error {
        Some(message) => html! { <div class="field-error" id={id} role="alert">{ message }</div> },
        None => html! {},
    }
}

#[function_component(ActionPanel)]
pub fn action_panel(props: &ActionPanelProps) -> Html {
    let body = match props.node.kind {
        NodeKind::Consumer => group_of(&props.scenario, &props.node.name)
            // Keyed by group: another group's forms start afresh.
            .map(|group| html! { <div key={group.group.clone()}><ConsumerActions ..ConsumerActionsProps::from(props, group) /></div> }),
        NodeKind::Broker => broker_group_of(&props.scenario, &props.node.name).map(|group| {
            html! {
                <>
                    <QueueActions lang={props.lang} topics={topics_of(&props.scenario, &group.name)}
                                  on_act={props.on_act.clone()} />
                    <BrokerPermission lang={props.lang} node={props.node.name.clone()}
                                      up={props.node.status == NodeStatus::Up} on_act={props.on_act.clone()} />
                </>
            }
        }),
        _ => None,
    };
    match body {
        Some(body) => html! {
            <div class={classes!("action-panel", props.forks.then_some("forking"))} id="action-panel">{ body }</div>
        },
        None => html! {},
    }
}

#[derive(Properties, PartialEq)]
pub struct ConsumerActionsProps {
    pub lang: Lang,
    pub node: AttrValue,
    pub up: bool,
    pub group: AttrValue,
    pub standby: u32,
    /// A `DefaultLitePullConsumer` (its application can seek).
    pub lite_pull: bool,
    pub topics: Vec<String>,
    pub view: Option<ConsumerView>,
    pub on_act: Callback<ActionSpec>,
}

impl ConsumerActionsProps {
    fn from(props: &ActionPanelProps, group: &ConsumerGroupSpec) -> ConsumerActionsProps {
        ConsumerActionsProps {
            lang: props.lang,
            node: props.node.name.clone().into(),
            up: props.node.status == NodeStatus::Up,
            group: group.group.clone().into(),
            standby: group.standby,
            lite_pull: group.kind == rmqsim_core::consumer::client::ConsumerKind::LitePull,
            topics: group.subscriptions.iter().map(|s| s.topic.clone()).collect(),
            view: match &props.node.detail {
                NodeDetail::Consumer(view) => Some(view.clone()),
                _ => None,
            },
            on_act: props.on_act.clone(),
        }
    }
}

#[function_component(ConsumerActions)]
fn consumer_actions(props: &ConsumerActionsProps) -> Html {
    let texts = props.lang.action_texts();
    let group = props.group.to_string();
    let timeout = use_state(|| "3s".to_string());
    let timeout_error = use_state(|| None::<String>);
    let reset_topic = use_state(|| props.topics.first().cloned().unwrap_or_default());
    let reset_to = use_state(|| "earliest".to_string());
    let reset_error = use_state(|| None::<String>);
    let seek_topic = use_state(|| props.topics.first().cloned().unwrap_or_default());
    let seek_to = use_state(|| "begin".to_string());
    let seek_error = use_state(|| None::<String>);
    let key = use_state(|| LIVE_CONSUMER_KEYS[0].to_string());
    let value = use_state(String::new);
    let key_error = use_state(|| None::<String>);
    let value_error = use_state(|| None::<String>);

    let act = props.on_act.clone();
    let dependency_down = {
        let (timeout, timeout_error, act, group) = (timeout.clone(), timeout_error.clone(), act.clone(), group.clone());
        Callback::from(move |_: MouseEvent| match parse_dependency_timeout(&timeout) {
            Ok(_) => {
                timeout_error.set(None);
                act.emit(ActionSpec::DependencyDown { group: group.clone(), timeout: timeout.trim().to_string() });
            }
            Err(e) => timeout_error.set(Some(e.message)),
        })
    };
    let dependency_up = {
        let group = group.clone();
        act.reform(move |_: MouseEvent| ActionSpec::DependencyUp { group: group.clone() })
    };
    let reset = |to: Option<&'static str>| {
        let (topic, reset_to, reset_error, act, group) =
            (reset_topic.clone(), reset_to.clone(), reset_error.clone(), act.clone(), group.clone());
        let bad = texts.bad_reset_to;
        Callback::from(move |_: MouseEvent| {
            let to = to.map(str::to_string).unwrap_or_else(|| reset_to.trim().to_string());
            if reset_target_ok(&to) {
                reset_error.set(None);
                act.emit(ActionSpec::ResetOffset { group: group.clone(), topic: (*topic).clone(), to });
            } else {
                reset_error.set(Some(bad.to_string()));
            }
        })
    };
    let seek = {
        let (topic, to, error, act, node) =
            (seek_topic.clone(), seek_to.clone(), seek_error.clone(), act.clone(), props.node.to_string());
        let bad = texts.bad_seek_to;
        Callback::from(move |_: MouseEvent| {
            let target = to.trim().to_string();
            if target == "begin" || target == "end" || target.parse::<u64>().is_ok() {
                error.set(None);
                act.emit(ActionSpec::Seek { node: node.clone(), topic: (*topic).clone(), to: target });
            } else {
                error.set(Some(bad.to_string()));
            }
        })
    };
    let apply_config = {
        let (key, value, key_error, value_error, act, group) =
            (key.clone(), value.clone(), key_error.clone(), value_error.clone(), act.clone(), group.clone());
        Callback::from(move |_: MouseEvent| {
            key_error.set(None);
            value_error.set(None);
            match LiveConsumerKnob::parse(&key, &value) {
                Ok(_) => act.emit(ActionSpec::UpdateConsumerConfig {
                    group: group.clone(),
                    key: (*key).clone(),
                    value: value.trim().to_string(),
                }),
                Err(e) if e.field == "key" => key_error.set(Some(e.message)),
                Err(e) => value_error.set(Some(e.message)),
            }
        })
    };
    let current = |k: &str| -> Option<String> {
        let view = props.view.as_ref()?;
        Some(match k {
            "pullBatchSize" => view.pull_batch_size.to_string(),
            "pullInterval" => view.pull_interval_ms.to_string(),
            "consumeMessageBatchMaxSize" => view.consume_message_batch_max_size.to_string(),
            "pullThresholdForQueue" => view.pull_threshold_for_queue.to_string(),
            "awaitTerminationMillisWhenShutdown" => view.await_termination_millis_when_shutdown.to_string(),
            _ => return None,
        })
    };
    let down = props.view.as_ref().map(|v| v.dependency_down);
    html! {
        <>
            <h3 class="section">{ texts.operate }{ " · " }<code>{ &group }</code></h3>
            <p class="hint">{ texts.operate_hint }</p>

            <h4>{ texts.dependency }
                if let Some(down) = down {
                    { " " }
                    <span id="dependency-state" class={classes!("badge", if down { "down" } else { "up" })}>
                        { if down { texts.dependency_state_down } else { texts.dependency_state_up } }
                    </span>
                }
            </h4>
            <p class="muted small">{ texts.dependency_explain }</p>
            <div class="form-row">
                <label for="dependency-timeout">{ texts.timeout }</label>
                <input id="dependency-timeout" type="text" value={(*timeout).clone()} size="6"
                       class={classes!(timeout_error.is_some().then_some("invalid"))}
                       oninput={let timeout = timeout.clone(); Callback::from(move |e| timeout.set(text_value(e)))} />
                <button id="act-dependency-down" class="danger" onclick={dependency_down}>{ texts.dependency_down }</button>
                <button id="act-dependency-up" class="good" onclick={dependency_up}>{ texts.dependency_up }</button>
            </div>
            { field_error("err-dependency-timeout", &timeout_error) }

            <h4>{ texts.members }</h4>
            <div class="button-row">
                <button id="act-add-consumer" disabled={props.standby == 0} title={texts.add_consumer_title}
                        onclick={let group = group.clone(); act.reform(move |_: MouseEvent| ActionSpec::AddConsumer { group: group.clone() })}>
                    { texts.add_consumer }</button>
                <button id="act-remove-consumer" disabled={!props.up} title={texts.remove_consumer_title}
                        onclick={let node = props.node.to_string(); act.reform(move |_: MouseEvent| ActionSpec::RemoveConsumer { node: node.clone() })}>
                    { texts.remove_consumer }</button>
            </div>
            <p class="muted small">{ (texts.standby_left)(props.standby) }</p>

            <h4>{ texts.reset_offsets }</h4>
            <p class="muted small">{ texts.reset_explain }</p>
            <div class="form-row">
                <label for="reset-topic">{ texts.topic }</label>
                <select id="reset-topic" onchange={let t = reset_topic.clone(); Callback::from(move |e| t.set(select_value(e)))}>
                    { for props.topics.iter().map(|t| html! { <option value={t.clone()} selected={*t == *reset_topic}>{ t }</option> }) }
                </select>
                <label for="reset-to">{ texts.reset_to }</label>
                <input id="reset-to" type="text" size="8" value={(*reset_to).clone()} placeholder={texts.reset_to_hint}
                       class={classes!(reset_error.is_some().then_some("invalid"))}
                       oninput={let r = reset_to.clone(); Callback::from(move |e| r.set(text_value(e)))} />
                <button id="act-reset" onclick={reset(None)}>{ texts.reset_apply }</button>
                <button id="act-skip-backlog" class="danger" title={texts.skip_backlog_title} onclick={reset(Some("latest"))}>
                    { texts.skip_backlog }</button>
            </div>
            { field_error("err-reset-to", &reset_error) }

            if props.lite_pull {
                <h4>{ texts.seek }</h4>
                <p class="muted small">{ texts.seek_explain }</p>
                <div class="form-row">
                    <label for="seek-topic">{ texts.topic }</label>
                    <select id="seek-topic" onchange={let t = seek_topic.clone(); Callback::from(move |e| t.set(select_value(e)))}>
                        { for props.topics.iter().map(|t| html! { <option value={t.clone()} selected={*t == *seek_topic}>{ t }</option> }) }
                    </select>
                    <label for="seek-to">{ texts.reset_to }</label>
                    <input id="seek-to" type="text" size="8" value={(*seek_to).clone()}
                           class={classes!(seek_error.is_some().then_some("invalid"))}
                           oninput={let s = seek_to.clone(); Callback::from(move |e| s.set(text_value(e)))} />
                    <button id="act-seek" disabled={!props.up} onclick={seek}>{ texts.seek_apply }</button>
                </div>
                { field_error("err-seek-to", &seek_error) }
            }

            <h4>{ texts.live_config }</h4>
            <p class="muted small">{ texts.live_config_explain }</p>
            <div class="form-row">
                <label for="config-key">{ texts.key }</label>
                <select id="config-key" class={classes!(key_error.is_some().then_some("invalid"))}
                        onchange={let k = key.clone(); Callback::from(move |e| k.set(select_value(e)))}>
                    { for LIVE_CONSUMER_KEYS.iter().map(|k| html! {
                        <option value={*k} selected={*k == key.as_str()}>{ *k }</option>
                    }) }
                </select>
                <label for="config-value">{ texts.value }</label>
                <input id="config-value" type="text" size="6" value={(*value).clone()}
                       placeholder={current(&key).map(|c| format!("{} {c}", texts.current))}
                       class={classes!(value_error.is_some().then_some("invalid"))}
                       oninput={let v = value.clone(); Callback::from(move |e| v.set(text_value(e)))} />
                <button id="act-config" onclick={apply_config}>{ texts.apply }</button>
            </div>
            { field_error("err-config-key", &key_error) }
            { field_error("err-config-value", &value_error) }
            if let Some(view) = &props.view {
                <p class="muted small mono" id="live-config">
                    { format!("pullBatchSize={} · pullInterval={} ms · consumeMessageBatchMaxSize={} · pullThresholdForQueue={} · awaitTerminationMillisWhenShutdown={} ms",
                        view.pull_batch_size, view.pull_interval_ms, view.consume_message_batch_max_size, view.pull_threshold_for_queue,
                        view.await_termination_millis_when_shutdown) }
                </p>
            }
        </>
    }
}

#[derive(Properties, PartialEq)]
pub struct QueueActionsProps {
    pub lang: Lang,
    pub topics: Vec<String>,
    pub on_act: Callback<ActionSpec>,
}

#[function_component(QueueActions)]
fn queue_actions(props: &QueueActionsProps) -> Html {
    let texts = props.lang.action_texts();
    let topic = use_state(|| props.topics.first().cloned().unwrap_or_default());
    let count = use_state(|| "8".to_string());
    let error = use_state(|| None::<String>);
    if props.topics.is_empty() {
        return html! { <p class="muted">{ texts.no_topics }</p> };
    }
    let apply = {
        let (topic, count, error, act) = (topic.clone(), count.clone(), error.clone(), props.on_act.clone());
        let bad = texts.bad_queue_count;
        Callback::from(move |_: MouseEvent| match count.trim().parse::<u32>() {
            Ok(queues) if (1..=1024).contains(&queues) => {
                error.set(None);
                act.emit(ActionSpec::UpdateTopicQueues { topic: (*topic).clone(), queues });
            }
            _ => error.set(Some(bad.to_string())),
        })
    };
    html! {
        <>
            <h3 class="section">{ texts.queues }</h3>
            <p class="muted small">{ texts.queues_explain }</p>
            <div class="form-row">
                <label for="queues-topic">{ texts.topic }</label>
                <select id="queues-topic" onchange={let t = topic.clone(); Callback::from(move |e| t.set(select_value(e)))}>
                    { for props.topics.iter().map(|t| html! { <option value={t.clone()} selected={*t == *topic}>{ t }</option> }) }
                </select>
                <label for="queues-count">{ texts.queue_count }</label>
                <input id="queues-count" type="text" size="4" value={(*count).clone()}
                       class={classes!(error.is_some().then_some("invalid"))}
                       oninput={let c = count.clone(); Callback::from(move |e| c.set(text_value(e)))} />
                <button id="act-queues" onclick={apply}>{ texts.apply }</button>
            </div>
            { field_error("err-queues", &error) }
        </>
    }
}

#[derive(Properties, PartialEq)]
pub struct BrokerPermissionProps {
    pub lang: Lang,
    pub node: AttrValue,
    pub up: bool,
    pub on_act: Callback<ActionSpec>,
}

#[function_component(BrokerPermission)]
fn broker_permission(props: &BrokerPermissionProps) -> Html {
    let texts = props.lang.action_texts();
    let value = use_state(|| "4".to_string());
    let apply = {
        let (value, act, node) = (value.clone(), props.on_act.clone(), props.node.to_string());
        Callback::from(move |_: MouseEvent| {
            act.emit(ActionSpec::UpdateBrokerConfig {
                node: node.clone(),
                key: "brokerPermission".into(),
                value: (*value).clone(),
            })
        })
    };
    html! {
        <>
            <h3 class="section">{ texts.broker_permission }</h3>
            <p class="muted small">{ texts.broker_permission_explain }</p>
            <div class="form-row">
                <select id="broker-permission" aria-label={texts.broker_permission} onchange={let v = value.clone(); Callback::from(move |e| v.set(select_value(e)))}>
                    { for texts.permission_options.iter().map(|(v, label)| html! {
                        <option value={*v} selected={*v == value.as_str()}>{ *label }</option>
                    }) }
                </select>
                <button id="act-broker-permission" disabled={!props.up} onclick={apply}>{ texts.apply }</button>
            </div>
        </>
    }
}
