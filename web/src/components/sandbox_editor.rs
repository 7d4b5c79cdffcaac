//! The free sandbox: build a cluster with a form (NameServers, broker groups with `brokerRole`,
//! `flushDiskType` and DLedger, topics and their queues, producers, consumer groups with
//! `messageModel`, a subscription and a member count), see the scenario file it writes, and run it.
//!
//! The form writes TOML, remembering which line each field wrote; the core's own scenario validation
//! (`Scenario::parse`, every problem at once, each with its line) then judges the text, and each
//! problem is shown next to the field whose line it names (the rest below the form). Nothing is
//! validated twice: a field is wrong exactly when the scenario file would be. Export writes the same
//! TOML; import is the library's (a file), and "edit the current scenario" fills the form from the run.

use std::rc::Rc;

use rmqsim_core::broker::store::message_store_config::{BrokerRole, FlushDiskType};
use rmqsim_core::protocol::consumer::MessageModel;
use rmqsim_core::scenario::Scenario;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use crate::components::scenario_file_editor::ScenarioFileEditor;
use crate::i18n::Lang;
use crate::sim_context::use_sim;

#[derive(Clone, Debug, PartialEq)]
pub struct BrokerRow {
    pub name: String,
    pub slaves: String,
    pub role: String,
    pub flush: String,
    pub dledger: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TopicRow {
    pub name: String,
    pub queues: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ProducerRow {
    pub topic: String,
    pub per_second: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ConsumerRow {
    pub group: String,
    pub model: String,
    pub topic: String,
    pub expression: String,
    pub members: String,
    pub standby: String,
}

/// What the form holds: text as typed (a number that does not parse is the validation's to report).
#[derive(Clone, Debug, PartialEq)]
pub struct SandboxForm {
    pub run_for: String,
    pub name_servers: String,
    pub brokers: Vec<BrokerRow>,
    pub topics: Vec<TopicRow>,
    pub producers: Vec<ProducerRow>,
    pub consumers: Vec<ConsumerRow>,
}

impl Default for SandboxForm {
    /// A basic cluster: one NameServer, one broker, one topic, one producer, one consumer group.
    fn default() -> Self {
        SandboxForm {
            run_for: "2m".into(),
            name_servers: "1".into(),
            brokers: vec![new_broker(0)],
            topics: vec![TopicRow { name: "TopicTest".into(), queues: "4".into() }],
            producers: vec![ProducerRow { topic: "TopicTest".into(), per_second: "10".into() }],
            consumers: vec![new_consumer(0)],
        }
    }
}

fn new_broker(i: usize) -> BrokerRow {
    BrokerRow {
        name: format!("broker-{}", (b'a' + (i % 26) as u8) as char),
        slaves: "0".into(),
        role: "ASYNC_MASTER".into(),
        flush: "ASYNC_FLUSH".into(),
        dledger: false,
    }
}

fn new_consumer(i: usize) -> ConsumerRow {
    ConsumerRow {
        group: if i == 0 { "ConsumerGroup".into() } else { format!("ConsumerGroup{i}") },
        model: "CLUSTERING".into(),
        topic: "TopicTest".into(),
        expression: "*".into(),
        members: "2".into(),
        standby: "1".into(),
    }
}

fn screaming<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

impl SandboxForm {
    /// The form of a scenario (what the form can show of it; the rest takes the form's defaults).
    pub fn from_scenario(scenario: &Scenario) -> SandboxForm {
        let topology = &scenario.topology;
        SandboxForm {
            run_for: scenario.run_for.clone(),
            name_servers: topology.name_servers.to_string(),
            brokers: topology
                .broker_groups
                .iter()
                .map(|g| BrokerRow {
                    name: g.name.clone(),
                    slaves: g.slaves.to_string(),
                    role: screaming(&g.store.broker_role),
                    flush: screaming(&g.store.flush_disk_type),
                    dledger: g.store.enable_dleger_commit_log,
                })
                .collect(),
            topics: topology
                .topics
                .iter()
                .map(|t| TopicRow { name: t.name.clone(), queues: t.queues.to_string() })
                .collect(),
            producers: scenario
                .producers
                .iter()
                .filter_map(|p| p.workload.as_ref())
                .map(|w| ProducerRow {
                    topic: w.topic.clone(),
                    per_second: w
                        .rate
                        .first()
                        .and_then(|r| r.per_second)
                        .map_or_else(|| "10".to_string(), |n| n.to_string()),
                })
                .collect(),
            consumers: scenario
                .consumer_groups
                .iter()
                .map(|g| ConsumerRow {
                    group: g.group.clone(),
                    model: screaming(&g.config.message_model),
                    topic: g.subscriptions.first().map(|s| s.topic.clone()).unwrap_or_default(),
                    expression: g.subscriptions.first().map_or_else(|| "*".to_string(), |s| s.expression.clone()),
                    members: g.members.to_string(),
                    standby: g.standby.to_string(),
                })
                .collect(),
        }
    }

    /// The scenario file, and for each line the field that wrote it (ids like `broker-0-role`).
    pub fn to_toml(&self) -> (String, Vec<Option<String>>) {
        let mut out = Toml::default();
        out.line("# Written by the rmqsim sandbox editor.", None);
        out.line("version = 1", None);
        out.line("id = \"sandbox\"", None);
        out.line(&format!("run_for = {}", quote(&self.run_for)), Some("run-for".into()));
        for (lang, title, question) in [
            ("en", "My own cluster", "What happens when you break it?"),
            ("zh", "我自己的集群", "把它弄坏会发生什么？"),
        ] {
            out.line(&format!("[narrative.{lang}]"), None);
            out.line(&format!("title = {}", quote(title)), None);
            out.line(&format!("question = {}", quote(question)), None);
            out.line("watch = \"\"", None);
            out.line("explanation = \"\"", None);
            out.line("fidelity = \"\"", None);
        }
        out.line("[topology]", None);
        out.line(&format!("name_servers = {}", raw(&self.name_servers)), Some("name-servers".into()));
        for (i, b) in self.brokers.iter().enumerate() {
            out.line("[[topology.broker_groups]]", Some(format!("broker-{i}-name")));
            out.line(&format!("name = {}", quote(&b.name)), Some(format!("broker-{i}-name")));
            out.line(&format!("slaves = {}", raw(&b.slaves)), Some(format!("broker-{i}-slaves")));
            out.line("[topology.broker_groups.store]", Some(format!("broker-{i}-role")));
            out.line(&format!("brokerRole = {}", quote(&b.role)), Some(format!("broker-{i}-role")));
            out.line(&format!("flushDiskType = {}", quote(&b.flush)), Some(format!("broker-{i}-flush")));
            out.line(&format!("enableDLegerCommitLog = {}", b.dledger), Some(format!("broker-{i}-dledger")));
        }
        for (i, t) in self.topics.iter().enumerate() {
            out.line("[[topology.topics]]", Some(format!("topic-{i}-name")));
            out.line(&format!("name = {}", quote(&t.name)), Some(format!("topic-{i}-name")));
            out.line(&format!("queues = {}", raw(&t.queues)), Some(format!("topic-{i}-queues")));
        }
        for (i, p) in self.producers.iter().enumerate() {
            out.line("[[producers]]", Some(format!("producer-{i}-topic")));
            out.line("[producers.workload]", Some(format!("producer-{i}-topic")));
            out.line(&format!("topic = {}", quote(&p.topic)), Some(format!("producer-{i}-topic")));
            out.line("start_at = \"2s\"", None);
            out.line(
                &format!("rate = [{{ at = \"0s\", per_second = {} }}]", raw(&p.per_second)),
                Some(format!("producer-{i}-rate")),
            );
        }
        for (i, c) in self.consumers.iter().enumerate() {
            out.line("[[consumer_groups]]", Some(format!("consumer-{i}-group")));
            out.line(&format!("group = {}", quote(&c.group)), Some(format!("consumer-{i}-group")));
            out.line(&format!("members = {}", raw(&c.members)), Some(format!("consumer-{i}-members")));
            out.line(&format!("standby = {}", raw(&c.standby)), Some(format!("consumer-{i}-standby")));
            out.line(
                &format!("subscriptions = [{{ topic = {}, expression = {} }}]", quote(&c.topic), quote(&c.expression)),
                Some(format!("consumer-{i}-topic")),
            );
            out.line("[consumer_groups.config]", Some(format!("consumer-{i}-model")));
            out.line(&format!("messageModel = {}", quote(&c.model)), Some(format!("consumer-{i}-model")));
        }
        (out.text, out.fields)
    }
}

#[derive(Default)]
struct Toml {
    text: String,
    fields: Vec<Option<String>>,
}

impl Toml {
    fn line(&mut self, line: &str, field: Option<String>) {
        self.text.push_str(line);
        self.text.push('\n');
        self.fields.push(field);
    }
}

/// A TOML basic string.
fn quote(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A number as typed (empty stays visible as an error rather than a silent default).
fn raw(text: &str) -> String {
    let text = text.trim();
    if text.is_empty() {
        "\"\"".to_string()
    } else if text.chars().all(|c| c.is_ascii_digit()) {
        text.to_string()
    } else {
        quote(text)
    }
}

/// Problems of the form's TOML: per field id, and those no field wrote.
pub fn judge(form: &SandboxForm) -> (String, Vec<(String, String)>, Vec<String>) {
    let (text, fields) = form.to_toml();
    let mut by_field = Vec::new();
    let mut general = Vec::new();
    if let Err(errors) = Scenario::parse(SANDBOX_FILE, &text) {
        for e in errors.0 {
            let field = e.line.and_then(|line| fields.get(line as usize - 1).cloned().flatten());
            match field {
                Some(field) => by_field.push((field, e.message)),
                None => general.push(e.to_string()),
            }
        }
    }
    (text, by_field, general)
}

/// What of `original` the form cannot hold (so "edit the current scenario" would silently lose it):
/// the form's scenario is compared with the original part by part. Names come from the original.
pub fn not_carried_over(original: &Scenario, form: &SandboxForm, lang: Lang) -> Vec<String> {
    let tr = |en: &str, zh: &str| if lang == Lang::Zh { zh.to_string() } else { en.to_string() };
    let mut lost = Vec::new();
    if !original.actions.is_empty() {
        lost.push(format!("{} ", original.actions.len()) + &tr("scheduled action(s)", "个预定操作"));
    }
    if original.expectations != Default::default() {
        lost.push(tr("expectations", "预期结果（expectations）"));
    }
    if original.quiz.is_some() {
        lost.push(tr("the quiz", "预测题"));
    }
    let Ok(rebuilt) = Scenario::parse(SANDBOX_FILE, &form.to_toml().0) else {
        // The form cannot even express the cluster (its problems are listed at the form): say so in general.
        lost.push(tr(
            "settings of broker groups, topics, producers and consumer groups beyond the form's fields",
            "Broker 组、主题、生产者和消费组中表单字段以外的设置",
        ));
        return lost;
    };
    if original.seed != rebuilt.seed {
        lost.push(format!("seed = {}", original.seed));
    }
    // "<kind> <name>: <what the form does not hold>", for each entry the form's scenario does not repeat.
    let named = |kind: (&str, &str), name: &str, what: (&str, &str)| {
        format!("{} {name}{}", tr(kind.0, kind.1), tr(what.0, what.1))
    };
    let topology = &original.topology;
    for (_, group) in changed(&topology.broker_groups, &rebuilt.topology.broker_groups) {
        lost.push(named(
            ("broker group", "Broker 组"),
            &group.name,
            (
                ": settings beyond brokerRole, flushDiskType, DLedger and slaves",
                "：brokerRole、flushDiskType、DLedger 和 Slave 数以外的设置",
            ),
        ));
    }
    for (_, topic) in changed(&topology.topics, &rebuilt.topology.topics) {
        lost.push(named(("topic", "主题"), &topic.name, (": settings beyond its queue count", "：队列数以外的设置")));
    }
    let mut rest = topology.clone();
    rest.broker_groups = rebuilt.topology.broker_groups.clone();
    rest.topics = rebuilt.topology.topics.clone();
    if rest != rebuilt.topology {
        lost.push(tr("other topology settings (e.g. the 5.x controller)", "其他拓扑设置（如 5.x Controller）"));
    }
    let (sending, idle): (Vec<_>, Vec<_>) = original.producers.iter().cloned().partition(|p| p.workload.is_some());
    for (i, producer) in changed(&sending, &rebuilt.producers) {
        let name = producer.name.clone().unwrap_or_else(|| format!("producer-{i}"));
        lost.push(named(
            ("producer", "生产者"),
            &name,
            (": settings beyond its topic and first rate", "：主题和第一段速率以外的设置"),
        ));
    }
    if !idle.is_empty() {
        lost.push(format!("{} ", idle.len()) + &tr("producer(s) without a workload", "个没有发送负载的生产者"));
    }
    for (_, group) in changed(&original.consumer_groups, &rebuilt.consumer_groups) {
        lost.push(named(
            ("consumer group", "消费组"),
            &group.group,
            (
                ": settings beyond messageModel, its first subscription and member counts (e.g. its workload, start_at)",
                "：messageModel、第一个订阅和成员数以外的设置（如消费负载、start_at）",
            ),
        ));
    }
    if original.network != rebuilt.network {
        lost.push(tr("network settings", "网络设置"));
    }
    if original.limits != rebuilt.limits {
        lost.push(tr("limits", "限制"));
    }
    lost
}

/// The entries of `original` (with their index) that `rebuilt` does not have at the same place.
fn changed<'a, T: PartialEq>(original: &'a [T], rebuilt: &'a [T]) -> impl Iterator<Item = (usize, &'a T)> {
    original.iter().enumerate().filter(move |(i, entry)| rebuilt.get(*i) != Some(*entry))
}

#[derive(Properties, PartialEq)]
pub struct SandboxEditorProps {
    pub lang: Lang,
    /// The scenario running now (to edit it).
    pub scenario: Rc<Scenario>,
    /// Run a scenario file: (file name, TOML).
    pub on_run: Callback<(String, String)>,
}

type Edit = Rc<dyn Fn(&mut SandboxForm, String)>;

/// The name the form's scenario runs, exports and reports its problems under.
const SANDBOX_FILE: &str = "sandbox.toml";

/// The editor's two views of one sandbox: the form (the cluster's shape) or the whole scenario file.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Form,
    File,
}

/// What the file mode opens on.
#[derive(Clone, Copy)]
enum FileSource {
    Current,
    Form,
    Keep,
}

/// The file mode's text and the file name runs and problems carry.
#[derive(Clone, PartialEq)]
struct FileDraft {
    name: AttrValue,
    text: AttrValue,
}

#[function_component(SandboxEditor)]
pub fn sandbox_editor(props: &SandboxEditorProps) -> Html {
    let texts = props.lang.action_texts();
    let form = use_state(SandboxForm::default);
    // What "edit the current scenario" could not carry into the form (shown until the next fill or reset).
    let left_out = use_state(Vec::<String>::new);
    let mode = use_state(|| Mode::Form);
    // Empty until the file mode is first opened (then it starts from the form's cluster).
    let draft = use_state(|| FileDraft { name: SANDBOX_FILE.into(), text: AttrValue::default() });
    let sim = use_sim();
    let (text, by_field, general) = judge(&form);
    let valid = by_field.is_empty() && general.is_empty();
    let errors_of = |id: &str| -> Vec<&String> { by_field.iter().filter(|(f, _)| f == id).map(|(_, m)| m).collect() };

    let update = |edit: Edit| {
        let form = form.clone();
        move |value: String| {
            let mut next = (*form).clone();
            edit(&mut next, value);
            form.set(next);
        }
    };
    // A text field bound to the form, its problems next to it.
    let input = |id: String, label: &str, value: &str, edit: Edit| -> Html {
        let errors = errors_of(&id);
        let set = update(edit);
        html! {
            <label class="field">
                <span>{ label.to_string() }</span>
                <input type="text" id={id.clone()} value={value.to_string()}
                       class={classes!((!errors.is_empty()).then_some("invalid"))}
                       oninput={Callback::from(move |e: InputEvent| set(e.target_unchecked_into::<HtmlInputElement>().value()))} />
                { for errors.iter().map(|m| html! { <div class="field-error" data-for={id.clone()}>{ (*m).clone() }</div> }) }
            </label>
        }
    };
    let select = |id: String, label: &str, value: &str, options: &[String], edit: Edit| -> Html {
        let errors = errors_of(&id);
        let set = update(edit);
        html! {
            <label class="field">
                <span>{ label.to_string() }</span>
                <select id={id.clone()} class={classes!((!errors.is_empty()).then_some("invalid"))}
                        onchange={Callback::from(move |e: Event| set(e.target_unchecked_into::<HtmlSelectElement>().value()))}>
                    { for options.iter().map(|o| html! { <option value={o.clone()} selected={o == value}>{ o }</option> }) }
                </select>
                { for errors.iter().map(|m| html! { <div class="field-error" data-for={id.clone()}>{ (*m).clone() }</div> }) }
            </label>
        }
    };
    let roles: Vec<String> = [BrokerRole::AsyncMaster, BrokerRole::SyncMaster].iter().map(screaming).collect();
    let flushes: Vec<String> = [FlushDiskType::AsyncFlush, FlushDiskType::SyncFlush].iter().map(screaming).collect();
    let models: Vec<String> = [MessageModel::Clustering, MessageModel::Broadcasting].iter().map(screaming).collect();
    let list_button = |id: String, label: &'static str, class: &'static str, edit: Rc<dyn Fn(&mut SandboxForm)>| {
        let form = form.clone();
        html! {
            <button id={id} class={classes!("small-button", class)} onclick={Callback::from(move |_: MouseEvent| {
                let mut next = (*form).clone();
                edit(&mut next);
                form.set(next);
            })}>{ label }</button>
        }
    };

    let brokers = form.brokers.iter().enumerate().map(|(i, b)| {
        html! {
            <div class="editor-row" data-row={format!("broker-{i}")}>
                { input(format!("broker-{i}-name"), "brokerName", &b.name, Rc::new(move |f, v| f.brokers[i].name = v)) }
                { input(format!("broker-{i}-slaves"), texts.editor_slaves, &b.slaves, Rc::new(move |f, v| f.brokers[i].slaves = v)) }
                { select(format!("broker-{i}-role"), "brokerRole", &b.role, &roles, Rc::new(move |f, v| f.brokers[i].role = v)) }
                { select(format!("broker-{i}-flush"), "flushDiskType", &b.flush, &flushes, Rc::new(move |f, v| f.brokers[i].flush = v)) }
                { select(format!("broker-{i}-dledger"), "enableDLegerCommitLog", if b.dledger { "true" } else { "false" },
                         &["false".to_string(), "true".to_string()], Rc::new(move |f, v| f.brokers[i].dledger = v == "true")) }
                { list_button(format!("broker-{i}-remove"), "×", "ghost", Rc::new(move |f| { f.brokers.remove(i); })) }
            </div>
        }
    });
    let topics = form.topics.iter().enumerate().map(|(i, t)| {
        html! {
            <div class="editor-row" data-row={format!("topic-{i}")}>
                { input(format!("topic-{i}-name"), "topic", &t.name, Rc::new(move |f, v| f.topics[i].name = v)) }
                { input(format!("topic-{i}-queues"), texts.editor_queues, &t.queues, Rc::new(move |f, v| f.topics[i].queues = v)) }
                { list_button(format!("topic-{i}-remove"), "×", "ghost", Rc::new(move |f| { f.topics.remove(i); })) }
            </div>
        }
    });
    let producers = form.producers.iter().enumerate().map(|(i, p)| {
        html! {
            <div class="editor-row" data-row={format!("producer-{i}")}>
                { input(format!("producer-{i}-topic"), "topic", &p.topic, Rc::new(move |f, v| f.producers[i].topic = v)) }
                { input(format!("producer-{i}-rate"), texts.editor_rate, &p.per_second, Rc::new(move |f, v| f.producers[i].per_second = v)) }
                { list_button(format!("producer-{i}-remove"), "×", "ghost", Rc::new(move |f| { f.producers.remove(i); })) }
            </div>
        }
    });
    let consumers = form.consumers.iter().enumerate().map(|(i, c)| {
        html! {
            <div class="editor-row" data-row={format!("consumer-{i}")}>
                { input(format!("consumer-{i}-group"), "consumerGroup", &c.group, Rc::new(move |f, v| f.consumers[i].group = v)) }
                { select(format!("consumer-{i}-model"), "messageModel", &c.model, &models, Rc::new(move |f, v| f.consumers[i].model = v)) }
                { input(format!("consumer-{i}-topic"), texts.editor_subscribe, &c.topic, Rc::new(move |f, v| f.consumers[i].topic = v)) }
                { input(format!("consumer-{i}-expression"), "subExpression", &c.expression, Rc::new(move |f, v| f.consumers[i].expression = v)) }
                { input(format!("consumer-{i}-members"), texts.editor_members, &c.members, Rc::new(move |f, v| f.consumers[i].members = v)) }
                { input(format!("consumer-{i}-standby"), texts.editor_standby, &c.standby, Rc::new(move |f, v| f.consumers[i].standby = v)) }
                { list_button(format!("consumer-{i}-remove"), "×", "ghost", Rc::new(move |f| { f.consumers.remove(i); })) }
            </div>
        }
    });
    let run = {
        let (on_run, text) = (props.on_run.clone(), text.clone());
        Callback::from(move |_: MouseEvent| on_run.emit((SANDBOX_FILE.to_string(), text.clone())))
    };
    let export = {
        let text = text.clone();
        Callback::from(move |_: MouseEvent| crate::browser::download(SANDBOX_FILE, "application/toml", &text))
    };
    let edit_current = {
        let (form, left_out, scenario, lang) = (form.clone(), left_out.clone(), Rc::clone(&props.scenario), props.lang);
        Callback::from(move |_: MouseEvent| {
            let filled = SandboxForm::from_scenario(&scenario);
            left_out.set(not_carried_over(&scenario, &filled, lang));
            form.set(filled);
        })
    };
    let reset = {
        let (form, left_out) = (form.clone(), left_out.clone());
        Callback::from(move |_: MouseEvent| {
            left_out.set(Vec::new());
            form.set(SandboxForm::default());
        })
    };
    // Open the file mode: on the current scenario's own file, on what the form writes, or (`Keep`) on the
    // draft as it was left, which starts as what the form writes.
    let open_file = |from: FileSource| {
        let (mode, draft, handle, text) = (mode.clone(), draft.clone(), Rc::clone(&sim.handle), text.clone());
        Callback::from(move |_: MouseEvent| {
            let (name, text) = match from {
                FileSource::Current => handle.borrow().scenario_file(),
                FileSource::Keep if !draft.text.is_empty() => (draft.name.to_string(), draft.text.to_string()),
                FileSource::Form | FileSource::Keep => (SANDBOX_FILE.to_string(), text.clone()),
            };
            draft.set(FileDraft { name: name.into(), text: text.into() });
            mode.set(Mode::File);
        })
    };
    let show_form = {
        let mode = mode.clone();
        Callback::from(move |_: MouseEvent| mode.set(Mode::Form))
    };
    let on_file_input = {
        let draft = draft.clone();
        Callback::from(move |text: String| draft.set(FileDraft { name: draft.name.clone(), text: text.into() }))
    };
    let tab = |id: &'static str, label: &'static str, this: Mode, onclick: Callback<MouseEvent>| {
        let active = *mode == this;
        html! {
            <button {id} role="tab" aria-selected={active.to_string()}
                    class={classes!("tab", active.then_some("active"))} {onclick}>{ label }</button>
        }
    };
    let tabs = html! {
        <div class="editor-tabs" role="tablist">
            { tab("editor-mode-form", texts.editor_mode_form, Mode::Form, show_form) }
            { tab("editor-mode-file", texts.editor_mode_file, Mode::File, open_file(FileSource::Keep)) }
        </div>
    };
    let file_view = html! {
        <>
            <div class="button-row">
                <button id="editor-file-current" class="ghost" onclick={open_file(FileSource::Current)}>{ texts.editor_file_current }</button>
                <button id="editor-file-from-form" class="ghost" onclick={open_file(FileSource::Form)}>{ texts.editor_file_from_form }</button>
            </div>
            <ScenarioFileEditor lang={props.lang} file_name={draft.name.clone()} text={draft.text.clone()}
                                on_input={on_file_input} on_run={props.on_run.clone()} />
        </>
    };
    html! {
        <details class="panel sandbox-editor" id="sandbox-editor">
            <summary><h2>{ texts.editor_title }</h2></summary>
            { tabs }
            if *mode == Mode::File {
                { file_view }
            } else {
                <p class="hint">{ texts.editor_intro }</p>
                <div class="button-row">
                    <button id="editor-edit-current" class="ghost" onclick={edit_current}>{ texts.editor_edit_current }</button>
                    <button id="editor-reset" class="ghost" onclick={reset}>{ texts.editor_reset }</button>
                </div>
                if !left_out.is_empty() {
                    <div class="hint warn-text" id="editor-left-out">
                        <p>{ texts.editor_left_out }</p>
                        <ul>{ for left_out.iter().map(|item| html! { <li>{ item }</li> }) }</ul>
                        <button id="editor-left-out-file" class="small-button" onclick={open_file(FileSource::Current)}>{ texts.editor_file_keep }</button>
                    </div>
                }
                <div class="editor-row">
                    { input("run-for".into(), "run_for", &form.run_for, Rc::new(|f, v| f.run_for = v)) }
                    { input("name-servers".into(), texts.editor_name_servers, &form.name_servers, Rc::new(|f, v| f.name_servers = v)) }
                </div>
                <h3 class="section">{ texts.editor_brokers }</h3>
                { for brokers }
                { list_button("add-broker".into(), texts.editor_add, "", Rc::new(|f| { let n = f.brokers.len(); f.brokers.push(new_broker(n)); })) }
                <h3 class="section">{ texts.editor_topics }</h3>
                <p class="muted small">{ texts.editor_topics_note }</p>
                { for topics }
                { list_button("add-topic".into(), texts.editor_add, "", Rc::new(|f| { let n = f.topics.len(); f.topics.push(TopicRow { name: format!("Topic{n}"), queues: "4".into() }); })) }
                <h3 class="section">{ texts.editor_producers }</h3>
                { for producers }
                { list_button("add-producer".into(), texts.editor_add, "", Rc::new(|f| f.producers.push(ProducerRow { topic: "TopicTest".into(), per_second: "10".into() }))) }
                <h3 class="section">{ texts.editor_consumers }</h3>
                { for consumers }
                { list_button("add-consumer-group".into(), texts.editor_add, "", Rc::new(|f| { let n = f.consumers.len(); f.consumers.push(new_consumer(n)); })) }
                if !general.is_empty() {
                    <ul class="field-error" id="editor-errors">
                        { for general.iter().map(|m| html! { <li>{ m }</li> }) }
                    </ul>
                }
                <div class="button-row editor-actions">
                    <button id="editor-run" class="primary" disabled={!valid} onclick={run}
                            title={(!valid).then_some(texts.editor_fix_first)}>{ texts.editor_run }</button>
                    <button id="editor-export" class="ghost" onclick={export}>{ texts.editor_export }</button>
                    <span id="editor-status" class={classes!("small", if valid { "ok-text" } else { "warn-text" })} data-valid={valid.to_string()}>
                        { if valid { texts.editor_valid.to_string() } else { (texts.editor_problems)(by_field.len() + general.len()) } }
                    </span>
                </div>
                <details class="editor-toml">
                    <summary>{ texts.editor_show_toml }</summary>
                    <pre id="editor-toml">{ text }</pre>
                </details>
            }
        </details>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_form_writes_a_valid_scenario() {
        let (text, by_field, general) = judge(&SandboxForm::default());
        assert!(by_field.is_empty() && general.is_empty(), "{by_field:?} {general:?}\n{text}");
    }

    #[test]
    fn a_bad_value_is_reported_at_the_field_that_wrote_it() {
        let mut form = SandboxForm::default();
        form.topics[0].queues = "many".into();
        form.brokers[0].role = "SLAVE".into();
        form.consumers[0].group = "bad group!".into();
        form.consumers[0].expression = "a = ".into();
        form.producers[0].per_second = "-1".into();
        let (_, by_field, general) = judge(&form);
        let fields: Vec<&str> = by_field.iter().map(|(f, _)| f.as_str()).collect();
        for field in ["topic-0-queues", "broker-0-role", "consumer-0-group", "producer-0-rate"] {
            assert!(fields.contains(&field), "{field}: {by_field:?} {general:?}");
        }
    }

    #[test]
    fn editing_a_scenario_in_the_form_names_everything_the_form_cannot_hold() {
        let lost_from = |id: &str| {
            let scenario = Scenario::parse(id, rmqsim_core::scenario::library::find(id).unwrap()).unwrap();
            not_carried_over(&scenario, &SandboxForm::from_scenario(&scenario), Lang::En)
        };
        let lost = lost_from("consumer-crash-replay");
        for part in [
            "consumer group Shipping: settings beyond",
            "seed = 5",
            "1 scheduled action(s)",
            "expectations",
            "the quiz",
        ] {
            assert!(lost.iter().any(|l| l.contains(part)), "{part} missing from {lost:?}");
        }
        // Two groups of one name (told apart by name_prefix, which the form lacks): the form's scenario
        // does not parse, and the notice still says what is left behind.
        let lost = lost_from("consumer-backlog-forward-new-topic");
        for part in ["6 scheduled action(s)", "beyond the form's fields"] {
            assert!(lost.iter().any(|l| l.contains(part)), "{part} missing from {lost:?}");
        }
        // The form's own scenario loses nothing when filled back in.
        let own = Scenario::parse("sandbox.toml", &SandboxForm::default().to_toml().0).unwrap();
        assert_eq!(not_carried_over(&own, &SandboxForm::from_scenario(&own), Lang::En), Vec::<String>::new());
    }

    #[test]
    fn every_built_in_scenario_opens_in_the_form() {
        for (id, text) in rmqsim_core::scenario::library::SCENARIOS {
            let scenario = Scenario::parse(id, text).unwrap();
            let form = SandboxForm::from_scenario(&scenario);
            assert_eq!(form.brokers.len(), scenario.topology.broker_groups.len(), "{id}");
        }
    }
}
