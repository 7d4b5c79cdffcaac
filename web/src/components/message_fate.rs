//! The message inspector: search a message by msgId (UNIQ_KEY), offset msgId or key, and read its
//! fate from the checkers' ledger — every step with its virtual time and node, and the verdict at the
//! end. Opened from the inspector's search box, a msgId in the storage X-ray, or a line of the event log.

use rmqsim_core::check::fate::{FateEntry, FateEvent};
use rmqsim_core::observation::SentBackTo;
use rmqsim_core::xray::FateNote;
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::components::xray_texts::{refresh_key, tr};
use crate::hooks::use_escape::{on_backdrop, ClosesOnEscape};
use crate::i18n::Lang;
use crate::sim_context::use_sim;
use crate::state::{UiAction, UiContext};

#[derive(Properties, PartialEq)]
pub struct MessageSearchProps {
    pub lang: Lang,
    /// The form's id (its input's is `<id>-input`): the box is both in the inspector and in the fate
    /// dialog, which may be on screen together.
    #[prop_or(AttrValue::Static("message-search"))]
    pub id: AttrValue,
}

/// The search box (in the inspector's summary).
#[function_component(MessageSearch)]
pub fn message_search(props: &MessageSearchProps) -> Html {
    let lang = props.lang;
    let ui = use_context::<UiContext>();
    let input = use_node_ref();
    let submit = {
        let input = input.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let text = input.cast::<HtmlInputElement>().map(|i| i.value()).unwrap_or_default();
            if let (Some(ui), false) = (&ui, text.trim().is_empty()) {
                ui.dispatch(UiAction::ShowMessage(Some(text.trim().to_string())));
            }
        })
    };
    html! {
        <form class="message-search" id={props.id.clone()} onsubmit={submit}>
            <input ref={input} id={format!("{}-input", props.id)} type="search"
                   placeholder={tr(lang, "msgId, offset msgId or key", "msgId、offsetMsgId 或 Key")} />
            <button type="submit">{ tr(lang, "Find message", "查找消息") }</button>
        </form>
    }
}

fn describe(lang: Lang, event: &FateEvent) -> (String, &'static str) {
    match event {
        FateEvent::Requested { seq, business_key, resend } => (
            format!(
                "{} #{seq}{}{}",
                tr(lang, "application asks to send", "应用请求发送"),
                business_key.as_ref().map(|k| format!(" key={k}")).unwrap_or_default(),
                if *resend > 0 { format!(" ({} {resend})", tr(lang, "resend", "重发")) } else { String::new() }
            ),
            "send",
        ),
        FateEvent::Attempt { attempt, queue, broker_addr } => (
            match lang {
                Lang::En => format!("attempt {attempt} → {queue} @ {broker_addr}"),
                Lang::Zh => format!("第 {attempt} 次尝试 → {queue} @ {broker_addr}"),
            },
            "send",
        ),
        FateEvent::Stored { topic, queue_id, queue_offset, commit_log_offset, .. } => (
            format!(
                "{} {topic}/{queue_id} queueOffset {queue_offset}, CommitLog {commit_log_offset}",
                tr(lang, "stored in the page cache:", "已写入页缓存：")
            ),
            "store",
        ),
        FateEvent::Acknowledged { status } => (format!("{} {status:?}", tr(lang, "producer got", "生产者收到")), "ack"),
        FateEvent::SendFailed { exception } => {
            (format!("{} {exception}", tr(lang, "send failed:", "发送失败：")), "bad")
        }
        FateEvent::Durable { how } => (format!("{} ({how})", tr(lang, "durable", "已持久化")), "store"),
        FateEvent::Pulled { group } => (format!("{} {group}", tr(lang, "pulled by", "被拉取：")), "consume"),
        FateEvent::ConsumeStarted { group, reconsume_times } => (
            format!("{} {group} (reconsumeTimes {reconsume_times})", tr(lang, "listener started in", "开始消费：")),
            "consume",
        ),
        FateEvent::ConsumeFinished { group, outcome, discarded } => (
            format!(
                "{} {group}: {outcome:?}{}",
                tr(lang, "listener finished in", "消费结束："),
                if *discarded {
                    tr(lang, " — result discarded (queue dropped)", " —— 结果被丢弃（队列已移走）")
                } else {
                    ""
                }
            ),
            if *discarded { "bad" } else { "consume" },
        ),
        FateEvent::BackgroundWork { group, ok } => (
            format!("{} {group}: {}", tr(lang, "background work in", "后台处理："), if *ok { "ok" } else { "FAILED" }),
            "consume",
        ),
        FateEvent::OffsetCommitted { group, offset } => (
            format!("{} {group} → {offset}", tr(lang, "offset committed on the broker:", "Broker 上位点已提交：")),
            "ack",
        ),
        FateEvent::SentBack { group, to, reconsume_times } => (
            match to {
                SentBackTo::Retry { delay_level } => format!(
                    "{} {group} (delay level {delay_level}, reconsumeTimes {reconsume_times})",
                    tr(lang, "sent back to %RETRY% of", "发回重试队列：")
                ),
                SentBackTo::DeadLetterQueue => {
                    format!("{} {group}", tr(lang, "dead-lettered (%DLQ%) for", "进入死信队列："))
                }
            },
            "bad",
        ),
        FateEvent::DelayedDelivered { topic, queue_id, queue_offset } => (
            format!("{} {topic}/{queue_id} @ {queue_offset}", tr(lang, "delay over, delivered to", "延迟到期，投递到")),
            "store",
        ),
        FateEvent::BrokerCrashed { kind } => {
            (format!("{} {kind}", tr(lang, "its broker crashed:", "所在 Broker 故障：")), "bad")
        }
        FateEvent::Forwarded { group, topic, copy, result, ok } => {
            let text = if *ok {
                format!(
                    "{} {topic} {} {copy} {} {group} ({result})",
                    tr(lang, "forwarded to", "转发到"),
                    tr(lang, "as", "，副本"),
                    tr(lang, "by", "，转发者")
                )
            } else {
                format!(
                    "{} {topic} {} {copy} ({result}): {}",
                    tr(lang, "forward failed to", "转发失败：目标"),
                    tr(lang, "as", "，副本"),
                    tr(lang, "the listener returns RECONSUME_LATER", "监听器返回 RECONSUME_LATER")
                )
            };
            (text, if *ok { "store" } else { "bad" })
        }
        FateEvent::Verdict { text } => (format!("{} {text}", tr(lang, "verdict:", "结论：")), "verdict"),
    }
}

fn entry(lang: Lang, e: &FateEntry) -> Html {
    let (text, class) = describe(lang, &e.event);
    html! {
        <li class={classes!("fate-entry", class)}>
            <time>{ e.at.time.to_string() }</time>
            <span class="node">{ &e.node }</span>
            <span class="text">{ text }</span>
        </li>
    }
}

/// A replay that follows a message the ledger missed: running (per mille done) or finished.
#[derive(Clone, PartialEq)]
enum ReplayStatus {
    Running(u32),
    Done(Result<Vec<FateEntry>, String>),
}

/// A replay's status, for (msg id, the instant it replays to).
type Replayed = (String, u64, ReplayStatus);

/// The replay being run, a slice per timer tick; the generation tells a tick whether it is still
/// wanted (a cancel, a new replay or closing the panel bumps it, and the stale tick just stops).
#[derive(Default)]
struct ReplayJob {
    generation: u32,
    replay: Option<rmqsim_core::xray::FateReplay>,
}

/// What the replay controls need: where to put the status, the job, the simulation, the instant.
#[derive(Clone)]
struct ReplayState {
    state: UseStateHandle<Option<Replayed>>,
    job: std::rc::Rc<std::cell::RefCell<ReplayJob>>,
    handle: std::rc::Rc<std::cell::RefCell<crate::sim_context::SimHandle>>,
    now_us: u64,
}

/// Wall-clock time a replay may take per tick, in ms: the page keeps rendering between ticks.
const REPLAY_SLICE_MS: f64 = 12.0;
/// Events between two looks at the wall clock.
const REPLAY_SLICE_EVENTS: u32 = 200;

impl ReplayState {
    /// Replay the run from its start with the ledger following `id`, spread over timer ticks.
    fn start(&self, id: String) {
        let created = {
            let handle = self.handle.borrow();
            let timeline = handle.timeline();
            let simulation = timeline.simulation();
            rmqsim_core::xray::FateReplay::new(
                simulation.scenario(),
                simulation.seed(),
                timeline.log(),
                rmqsim_core::time::Time::from_micros(self.now_us),
                &id,
            )
        };
        // A new generation: a tick of an earlier replay still scheduled stops by itself.
        let mut job = self.job.borrow_mut();
        job.generation += 1;
        let generation = job.generation;
        let (replay, status) = match created {
            Ok(replay) => (Some(replay), ReplayStatus::Running(0)),
            Err(e) => (None, ReplayStatus::Done(Err(e))),
        };
        let running = replay.is_some();
        job.replay = replay;
        drop(job);
        self.state.set(Some((id.clone(), self.now_us, status)));
        if running {
            self.tick(id, generation);
        }
    }

    /// Stop the replay in progress (its next tick sees a newer generation) and forget its status.
    fn cancel(&self) {
        let mut job = self.job.borrow_mut();
        job.generation += 1;
        job.replay = None;
        self.state.set(None);
    }

    /// Schedule the next slice of replay `generation` (a zero timeout: the page renders in between).
    fn tick(&self, id: String, generation: u32) {
        let this = self.clone();
        gloo_timers::callback::Timeout::new(0, move || {
            let status = {
                let mut job = this.job.borrow_mut();
                if job.generation != generation {
                    return;
                }
                let Some(replay) = job.replay.as_mut() else { return };
                let deadline = crate::browser::now_ms() + REPLAY_SLICE_MS;
                loop {
                    if let Some(result) = replay.advance(REPLAY_SLICE_EVENTS) {
                        job.replay = None;
                        break ReplayStatus::Done(result);
                    }
                    if crate::browser::now_ms() >= deadline {
                        break ReplayStatus::Running(replay.progress_permille());
                    }
                }
            };
            let running = matches!(status, ReplayStatus::Running(_));
            this.state.set(Some((id.clone(), this.now_us, status)));
            if running {
                this.tick(id, generation);
            }
        })
        // Not kept: a stale tick stops by itself (generation), and dropping a Timeout would cancel it.
        .forget();
    }
}

/// The button that starts a replay, or its progress and a cancel button while it runs.
fn replay_controls(lang: Lang, id: String, replay: &ReplayState, status: Option<&ReplayStatus>) -> Html {
    if let Some(ReplayStatus::Running(permille)) = status {
        let cancel = {
            let replay = replay.clone();
            Callback::from(move |_: MouseEvent| replay.cancel())
        };
        return html! {
            <div class="fate-replaying" id="fate-replaying" data-permille={permille.to_string()}>
                <progress max="1000" value={permille.to_string()}></progress>
                <span class="small">{ format!("{} {}%", tr(lang, "Replaying the run…", "正在重放本次运行…"), permille / 10) }</span>
                <button id="fate-replay-cancel" class="ghost small-button" onclick={cancel}>{ tr(lang, "Cancel", "取消") }</button>
            </div>
        };
    }
    let onclick = {
        let replay = replay.clone();
        Callback::from(move |_: MouseEvent| replay.start(id.clone()))
    };
    html! {
        <button id="fate-replay" {onclick}>{ tr(lang, "Replay the run from the start to follow it", "从头重放本次运行以跟踪它") }</button>
    }
}

#[derive(Properties, PartialEq)]
pub struct MessageFateProps {
    pub lang: Lang,
    pub search: AttrValue,
}

/// The fate overlay for `search`.
#[function_component(MessageFatePanel)]
pub fn message_fate_panel(props: &MessageFateProps) -> Html {
    let lang = props.lang;
    let sim = use_sim();
    let ui = use_context::<UiContext>();
    // Index queries and the ledger: a few times a second while playing.
    let key = (props.search.clone(), refresh_key(&sim.snapshot, 10));
    let handle = sim.handle.clone();
    let fate = use_memo(key, move |(search, ..)| handle.borrow().timeline().simulation().message_fate(search));
    let ui_for_rows = ui.clone();
    let close_fate = Callback::from(move |()| {
        if let Some(ui) = &ui {
            ui.dispatch(UiAction::ShowMessage(None));
        }
    });
    let close = close_fate.reform(|_: MouseEvent| ());
    // A life found by replaying the run from its start with the ledger following this message:
    // (msg id, the instant it was computed for, the entries).
    let replayed = use_state(|| None::<Replayed>);
    let job = use_mut_ref(ReplayJob::default);
    {
        // Closing the panel stops a replay in progress.
        let job = job.clone();
        use_effect_with((), move |_| move || job.borrow_mut().generation += 1);
    }
    let now_us = sim.snapshot.view.time.as_micros();
    let replayed_now = (*replayed).clone().filter(|(id, at, _)| Some(id) == fate.msg_id.as_ref() && *at == now_us);
    let replayed = ReplayState { state: replayed, job, handle: sim.handle.clone(), now_us };
    let replay_status = replayed_now.as_ref().map(|(_, _, status)| status);
    let verdict = fate.entries.as_ref().and_then(|es| {
        es.iter().rev().find_map(|e| match &e.event {
            FateEvent::Verdict { text } => Some(text.clone()),
            _ => None,
        })
    });
    html! {
        <div class="xray-overlay" id="message-fate" data-search={props.search.clone()} onclick={on_backdrop(close_fate.clone())}>
            <ClosesOnEscape on_close={close_fate.clone()} />
            <div class="xray-panel narrow" role="dialog" aria-modal="true" aria-labelledby="fate-title">
                <div class="xray-header">
                    <h2 id="fate-title">{ tr(lang, "Message fate", "消息命运") }</h2>
                    <code class="small">{ props.search.clone() }</code>
                    <button class="icon-button" id="fate-close" title={tr(lang, "Close", "关闭")} onclick={close}>{ "×" }</button>
                </div>
                <div class="xray-body" tabindex="0">
                    <MessageSearch lang={lang} id="fate-search" />
                    if let Some(id) = &fate.msg_id {
                        <p>{ tr(lang, "msgId (UNIQ_KEY): ", "msgId（UNIQ_KEY）：") }<code id="fate-msg-id">{ id }</code></p>
                    }
                    <div class="fate-verdict" id="fate-verdict">
                        { match &verdict {
                            Some(v) => html! { <strong>{ v }</strong> },
                            None => html! { <span class="muted">{ tr(lang,
                                "No verdict yet: the checkers give one at the end of the run; the steps so far are below.",
                                "尚无结论：检查器在运行结束时给出结论；以下是目前为止的步骤。") }</span> },
                        } }
                    </div>
                    {
                        match &fate.entries {
                            Some(entries) => html! {
                                <ol class="fate-ledger" id="fate-ledger" data-count={entries.len().to_string()}>
                                    { for entries.iter().map(|e| entry(lang, e)) }
                                </ol>
                            },
                            None => html! {
                                <>
                                    <p class="muted" id="fate-none">{ tr(lang,
                                        "The fate ledger follows the first messages of a run, not this one.",
                                        "命运账本只跟踪一次运行中最早的一批消息，不包括这条。") }</p>
                                    if let Some(id) = fate.msg_id.clone() {
                                        { replay_controls(lang, id, &replayed, replay_status) }
                                    }
                                </>
                            },
                        }
                    }
                    if let Some((_, _, ReplayStatus::Done(result))) = &replayed_now {
                        { match result {
                            Ok(entries) => html! {
                                <ol class="fate-ledger" id="fate-ledger" data-count={entries.len().to_string()} data-replayed="true">
                                    { for entries.iter().map(|e| entry(lang, e)) }
                                </ol>
                            },
                            Err(e) => html! { <p class="warn-text">{ e }</p> },
                        } }
                    }
                    if !fate.matches.is_empty() {
                        <h3 class="section">{ tr(lang, "Found in the brokers", "在 Broker 中找到") }</h3>
                        <table class="table compact xray-table" id="fate-matches">
                            <thead><tr><th>{ "broker" }</th><th>{ tr(lang, "topic / queue / offset", "topic / 队列 / 偏移") }</th><th>{ "keys" }</th><th>{ "msgId" }</th></tr></thead>
                            <tbody>
                                { for fate.matches.iter().take(20).map(|m| {
                                    let open = m.msg_id.clone().and_then(|id| {
                                        let ui = ui_for_rows.clone()?;
                                        Some(Callback::from(move |_: MouseEvent| ui.dispatch(UiAction::ShowMessage(Some(id.clone())))))
                                    });
                                    html! {
                                    <tr class="clickable" onclick={open}><td>{ &m.broker_name }</td><td>{ format!("{} / {} / {}", m.topic, m.queue_id, m.queue_offset) }</td>
                                        <td>{ m.keys.clone().unwrap_or_default() }</td>
                                        <td><code class="small">{ m.msg_id.clone().unwrap_or_default() }</code></td></tr>
                                    }
                                }) }
                            </tbody>
                        </table>
                    }
                    <ul class="muted small notes">{ for fate.notes.iter().map(|n| html! { <li>{ note_text(lang, n) }</li> }) }</ul>
                </div>
            </div>
        </div>
    }
}

/// How the search went, in the page's language. The admin query's own steps keep RocketMQ's request
/// names and answers, as `rmqsim query` prints them.
fn note_text(lang: Lang, note: &FateNote) -> String {
    if lang == Lang::En {
        return note.to_string();
    }
    match note {
        FateNote::TypeAnId => "输入 msgId（UNIQ_KEY）、offsetMsgId 或 Key".to_string(),
        FateNote::FollowedAsUniqKey => "命运账本以 UNIQ_KEY 跟踪着它".to_string(),
        FateNote::FoundAsUniqKey { topic } => format!("在 {topic} 中按 UNIQ_KEY 找到"),
        FateNote::FollowedWithKey { count, key } => format!("命运账本跟踪着 {count} 条 Key 为 {key} 的消息"),
        FateNote::QueriedByKey { topic, key, count } => format!("queryMsgByKey({topic}, {key})：{count} 条消息"),
        FateNote::NotFound => "运行中的 Broker 里没有这个 ID 或 Key 的消息".to_string(),
        FateNote::NotFollowed { msg_id, limit } => {
            format!("命运账本没有跟踪 {msg_id}（它只跟踪一次运行的前 {limit} 条消息）")
        }
        FateNote::Query(step) => step.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn how_a_message_search_went_reads_in_the_pages_language() {
        let note = FateNote::NotFollowed { msg_id: "0A00".into(), limit: 64 };
        assert_eq!(
            note_text(Lang::En, &note),
            "0A00 is not followed by the fate ledger (it follows the first 64 messages of a run)"
        );
        let zh = note_text(Lang::Zh, &note);
        assert!(zh.contains("0A00") && zh.contains("64") && !zh.contains("followed"), "{zh}");
        let step = FateNote::Query("read as a UNIQ_KEY: queryMessageByUniqKey(T, 0A00)".into());
        assert_eq!(note_text(Lang::Zh, &step), note_text(Lang::En, &step), "the admin query's steps stay RocketMQ's");
    }
}
