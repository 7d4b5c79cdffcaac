//! The broker storage X-ray: the CommitLog's mapped files (named by their 20-digit start offsets) and
//! its write / commit / flush / dispatch pointers on a bar, a page of records, the ConsumeQueue units
//! that point into it (click one to jump to its record), an IndexFile lookup by key (the store's own
//! `queryMessage`), the replicas' offsets and the page cache. Computed from the simulation for each
//! snapshot while open (`Simulation::storage_xray`); every list is a bounded page.

use rmqsim_core::broker::store::store_view::MappedFileView;
use rmqsim_core::xray::{RecordRow, StorageXray};
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use crate::components::xray_texts::{bytes, refresh_key, tr, HandleRef};
use crate::hooks::use_escape::{on_backdrop, ClosesOnEscape};
use crate::i18n::Lang;
use crate::sim_context::use_sim;
use crate::state::{UiAction, UiContext};

/// Records and units per page.
const PAGE: u32 = 25;

#[derive(Properties, PartialEq)]
pub struct StorageXrayProps {
    pub lang: Lang,
    pub node: AttrValue,
    pub on_close: Callback<()>,
}

/// Local state: where the record page starts (None: the last page), the pages before it, the selected
/// ConsumeQueue and its page, the record to highlight, the index query.
#[derive(Clone, Default, PartialEq)]
struct Cursor {
    from: Option<i64>,
    back: Vec<Option<i64>>,
    queue: Option<(String, i32)>,
    queue_from: Option<i64>,
    highlight: Option<i64>,
    index_topic: String,
    index_key: String,
}

/// Subscribes to the snapshots and hands the body a refresh key: the body re-renders on every snapshot
/// while paused and a few times a second while playing.
#[function_component(StorageXrayPanel)]
pub fn storage_xray_panel(props: &StorageXrayProps) -> Html {
    let sim = use_sim();
    html! {
        <XrayBody lang={props.lang} node={props.node.clone()} on_close={props.on_close.clone()}
                  tick={refresh_key(&sim.snapshot, 6)} handle={HandleRef(sim.handle.clone())} />
    }
}

#[derive(Properties, PartialEq)]
struct XrayBodyProps {
    lang: Lang,
    node: AttrValue,
    on_close: Callback<()>,
    tick: (u64, bool),
    handle: HandleRef,
}

#[function_component(XrayBody)]
fn xray_body(props: &XrayBodyProps) -> Html {
    let lang = props.lang;
    let ui = use_context::<UiContext>();
    let cursor = use_state(Cursor::default);
    let key_input = use_node_ref();
    let key = (props.node.clone(), cursor.from, props.tick);
    let xray = {
        let handle = props.handle.0.clone();
        use_memo(key, move |(node, from, _)| handle.borrow().timeline().simulation().storage_xray(node, *from, PAGE))
    };
    let handle = props.handle.0.borrow();
    let simulation = handle.timeline().simulation();
    let close = props.on_close.reform(|_: MouseEvent| ());
    let body = match &*xray {
        Err(reason) => html! { <p class="warn-text" id="xray-error">{ reason }</p> },
        Ok(x) => {
            let show_message = {
                let ui = ui.clone();
                Callback::from(move |id: String| {
                    if let Some(ui) = &ui {
                        ui.dispatch(UiAction::ShowMessage(Some(id)));
                    }
                })
            };
            let queue = cursor.queue.clone().or_else(|| {
                x.store
                    .consume_queues
                    .iter()
                    .find(|q| !q.topic.starts_with('%') && !q.topic.starts_with("rmq_sys") && q.max_offset > 0)
                    .or(x.store.consume_queues.first())
                    .map(|q| (q.topic.clone(), q.queue_id))
            });
            let cq = queue.as_ref().and_then(|(topic, id)| {
                simulation.consume_queue_page(&props.node, topic, *id, cursor.queue_from, PAGE).ok()
            });
            let index_topic = if cursor.index_topic.is_empty() {
                queue.as_ref().map(|q| q.0.clone()).unwrap_or_default()
            } else {
                cursor.index_topic.clone()
            };
            let lookup = (!cursor.index_key.is_empty())
                .then(|| simulation.index_lookup(&props.node, &index_topic, &cursor.index_key));
            html! {
                <>
                    { pointers(lang, x) }
                    { files(lang, &x.store.commit_log.files) }
                    { records(lang, x, &cursor, show_message.clone()) }
                    { consume_queue(lang, x, &cursor, queue.as_ref(), cq.as_ref()) }
                    { index(lang, x, &cursor, &index_topic, &key_input, lookup, show_message) }
                    { replication(lang, x) }
                </>
            }
        }
    };
    html! {
        <div class="xray-overlay" id="storage-xray" data-node={props.node.clone()} onclick={on_backdrop(props.on_close.clone())}>
            <ClosesOnEscape on_close={props.on_close.clone()} />
            <div class="xray-panel" role="dialog" aria-modal="true" aria-labelledby="storage-xray-title">
                <div class="xray-header">
                    <h2 id="storage-xray-title">{ tr(lang, "Storage X-ray", "存储透视") }{ " · " }<code>{ props.node.clone() }</code></h2>
                    <span class="muted small">{ tr(lang,
                        "What this broker's store holds right now, read from its simulated disk.",
                        "此 Broker 存储此刻的内容，直接读取自模拟磁盘。") }</span>
                    <button class="icon-button" id="xray-close" title={tr(lang, "Close", "关闭")} onclick={close}>{ "×" }</button>
                </div>
                <div class="xray-body" tabindex="0">{ body }</div>
            </div>
        </div>
    }
}

/// The pointer bar: the last file's span with write, commit, flush and dispatch positions, and the
/// page-cache numbers beside it.
fn pointers(lang: Lang, x: &StorageXray) -> Html {
    let log = &x.store.commit_log;
    // Without transientStorePoolEnable nothing is committed separately (writes go straight to the mapped
    // file), and RocketMQ leaves committedWhere at 0: drawn as a note, not as a pointer.
    let commit_used = log.committed_where > 0;
    let mut marks = vec![
        ("write", tr(lang, "write (wrotePosition)", "写入 (wrotePosition)"), log.max_offset, 14.0),
        ("flush", tr(lang, "flush (flushedWhere)", "刷盘 (flushedWhere)"), log.flushed_where, 32.0),
        ("dispatch", tr(lang, "dispatch (reputFromOffset)", "分发 (reputFromOffset)"), log.dispatched_offset, 90.0),
    ];
    if commit_used {
        marks.push((
            "commit",
            tr(lang, "commit (committedWhere)", "提交 (committedWhere)"),
            log.committed_where,
            108.0,
        ));
    }
    // Zoom on the pointers: from the lowest pointer (minus a margin) to the write position.
    let low = marks.iter().map(|m| m.2).min().unwrap_or(0);
    let high = log.max_offset.max(low + 1);
    let span = (high - low).max(1);
    let start = (low - span / 3).max(log.files.first().map_or(0, |f| f.file_from_offset)).min(low);
    let width = (high - start).max(1);
    let x_of = |offset: i64| 20.0 + 940.0 * ((offset - start) as f64 / width as f64);
    let pc = &x.store.page_cache;
    html! {
        <section class="xray-section" id="xray-pointers">
            <h3 class="section">{ tr(lang, "CommitLog pointers", "CommitLog 指针") }</h3>
            <svg class="pointer-bar" viewBox="0 0 1000 116" role="img"
                 aria-label={tr(lang, "The CommitLog with its write, flush and dispatch pointers", "CommitLog 及其写入、刷盘、分发指针")}>
                <rect x="20" y="42" width="940" height="24" class="bar-bg" />
                <rect x="20" y="42" width={format!("{:.1}", x_of(log.flushed_where) - 20.0)} height="24" class="bar-durable" />
                <rect x={format!("{:.1}", x_of(log.flushed_where))} y="42"
                      width={format!("{:.1}", (x_of(log.max_offset) - x_of(log.flushed_where)).max(0.0))} height="24" class="bar-dirty" />
                <text x="20" y="80" class="bar-edge">{ start }</text>
                { for marks.iter().map(|(class, label, offset, y)| {
                    let px = x_of(*offset);
                    let anchor = if px > 640.0 { "end" } else { "start" };
                    let (y1, y2) = if *y < 40.0 { (*y + 4.0, 68.0) } else { (40.0, *y - 12.0) };
                    html! {
                        <g class={classes!("pointer", *class)} data-pointer={*class} data-offset={offset.to_string()}>
                            <line x1={format!("{px:.1}")} x2={format!("{px:.1}")} y1={y1.to_string()} y2={y2.to_string()} />
                            <text x={format!("{px:.1}")} y={y.to_string()} text-anchor={anchor}>{ format!("{label} {offset}") }</text>
                        </g>
                    }
                }) }
            </svg>
            if !commit_used {
                <p class="muted small" data-pointer="commit" data-offset={log.committed_where.to_string()}>{ tr(lang,
                    "committedWhere = 0: without transientStorePoolEnable messages are written straight into the mapped file, so there is no separate commit step.",
                    "committedWhere = 0：未开启 transientStorePoolEnable 时消息直接写入映射文件，没有单独的 commit 步骤。") }</p>
            }
            <p class="muted small">{ tr(lang,
                "Green: flushed to disk. Orange: only in the page cache (lost on power loss, kept on a process kill).",
                "绿色：已刷盘。橙色：只在页缓存中（断电丢失，进程被杀不丢）。") }</p>
            <dl class="facts" id="xray-page-cache">
                <dt>{ "flushDiskType" }</dt><dd><code>{ format!("{:?}", x.store.flush_disk_type) }</code>{ " · " }<code>{ format!("{:?}", x.store.broker_role) }</code></dd>
                <dt>{ tr(lang, "not yet flushed", "尚未刷盘") }</dt>
                <dd data-flush-lag={x.flush_lag_bytes.to_string()}>{ bytes(x.flush_lag_bytes) }
                    <span class="muted">{ tr(lang, " (lost if the machine loses power now)", "（若此刻断电将丢失）") }</span></dd>
                <dt>{ tr(lang, "dirty pages", "脏页") }</dt>
                <dd>{ format!("{} × {} B = {} · {} {}", pc.dirty_pages, x.page_size, bytes(x.dirty_bytes as i64), pc.resident_pages, tr(lang, "resident", "常驻")) }</dd>
                <dt>{ tr(lang, "dispatch behind", "分发落后") }</dt>
                <dd>{ bytes(log.dispatch_behind_bytes) }<span class="muted">{ tr(lang, " (not yet in ConsumeQueue / index)", "（尚未进入 ConsumeQueue / 索引）") }</span></dd>
                <dt>{ tr(lang, "flush in flight", "刷盘进行中") }</dt><dd>{ if log.flush_in_flight { "yes" } else { "no" } }</dd>
                <dt>{ tr(lang, "disk", "磁盘") }</dt>
                <dd>{ format!("{} / {} ({}%)", bytes(x.store.disk_usage.used_bytes as i64), bytes(x.store.disk_usage.capacity_bytes as i64), x.store.disk_usage.used_percent) }</dd>
            </dl>
        </section>
    }
}

fn file_name(f: &MappedFileView) -> &str {
    f.name.rsplit('/').next().unwrap_or(&f.name)
}

fn files(lang: Lang, files: &[MappedFileView]) -> Html {
    html! {
        <section class="xray-section">
            <h3 class="section">{ tr(lang, "CommitLog files", "CommitLog 文件") }</h3>
            <table class="table xray-table" id="xray-files">
                <thead><tr>
                    <th>{ tr(lang, "file (start offset)", "文件（起始偏移）") }</th>
                    <th>{ tr(lang, "wrote", "已写入") }</th><th>{ tr(lang, "committed", "已提交") }</th><th>{ tr(lang, "flushed", "已刷盘") }</th>
                    <th>{ tr(lang, "page cache / durable", "页缓存 / 已落盘") }</th>
                </tr></thead>
                <tbody>
                    { for files.iter().map(|f| html! {
                        <tr>
                            <td><code>{ file_name(f) }</code><div class="muted small">{ bytes(f.file_size) }</div></td>
                            <td>{ f.wrote_position }</td><td>{ f.committed_position }</td><td>{ f.flushed_position }</td>
                            <td>{ format!("{} / {}", bytes(f.page_cache_bytes as i64), bytes(f.durable_bytes as i64)) }</td>
                        </tr>
                    }) }
                </tbody>
            </table>
        </section>
    }
}

fn record_row(r: &RecordRow, highlight: Option<i64>, dispatched: i64, flushed: i64, show: &Callback<String>) -> Html {
    if r.blank {
        return html! {
            <tr class="blank"><td><code>{ r.commit_log_offset }</code></td><td>{ r.size }</td>
                <td colspan="5" class="muted">{ "BLANK_MAGIC_CODE — end of file" }</td></tr>
        };
    }
    let onclick = r.msg_id.clone().map(|id| show.reform(move |_: MouseEvent| id.clone()));
    let state = if r.commit_log_offset >= dispatched {
        "undispatched"
    } else if r.commit_log_offset + i64::from(r.size) > flushed {
        "unflushed"
    } else {
        "durable"
    };
    html! {
        <tr class={classes!(state, (highlight == Some(r.commit_log_offset)).then_some("highlight"))}
            data-offset={r.commit_log_offset.to_string()}>
            <td><code>{ r.commit_log_offset }</code></td>
            <td>{ r.size }</td>
            <td>{ &r.topic }</td>
            <td>{ format!("{} / {}", r.queue_id, r.queue_offset) }</td>
            <td>{ r.tags.clone().unwrap_or_default() }</td>
            <td>{ r.keys.clone().unwrap_or_default() }</td>
            <td>
                if let Some(id) = &r.msg_id {
                    <button class="link msg-link" title={r.offset_msg_id.clone()} {onclick}><code>{ id.clone() }</code></button>
                }
            </td>
        </tr>
    }
}

fn records(lang: Lang, x: &StorageXray, cursor: &UseStateHandle<Cursor>, show: Callback<String>) -> Html {
    let page = &x.records;
    let log = &x.store.commit_log;
    let go = |from: Option<i64>, push: bool| {
        let cursor = cursor.clone();
        let current = cursor.from;
        Callback::from(move |_: MouseEvent| {
            let mut next = (*cursor).clone();
            if push {
                next.back.push(current);
            } else {
                next.back.clear();
            }
            next.from = from;
            next.highlight = None;
            cursor.set(next);
        })
    };
    let prev = {
        let cursor = cursor.clone();
        Callback::from(move |_: MouseEvent| {
            let mut next = (*cursor).clone();
            next.from = next.back.pop().unwrap_or(Some(0));
            next.highlight = None;
            cursor.set(next);
        })
    };
    html! {
        <section class="xray-section">
            <h3 class="section">{ tr(lang, "CommitLog records", "CommitLog 消息记录") }</h3>
            <div class="pager">
                <button id="records-first" onclick={go(Some(0), false)}>{ tr(lang, "⇤ first", "⇤ 最早") }</button>
                <button id="records-prev" disabled={cursor.back.is_empty()} onclick={prev}>{ tr(lang, "← back", "← 上一页") }</button>
                <button id="records-next" disabled={page.next.is_none()} onclick={go(page.next, true)}>{ tr(lang, "next →", "下一页 →") }</button>
                <button id="records-last" onclick={go(None, false)}>{ tr(lang, "last ⇥", "最新 ⇥") }</button>
                <span class="muted small">{ format!("{} {} {} · {} {}–{}", page.records.len(), tr(lang, "records from", "条，起始于"), page.from,
                    tr(lang, "log", "日志范围"), log.min_offset, log.max_offset) }</span>
            </div>
            if let Some(reason) = &page.stopped {
                <p class="warn-text">{ reason }</p>
            }
            <p class="muted small legend">
                <span class="swatch durable"></span>{ tr(lang, "durable", "已落盘") }
                <span class="swatch unflushed"></span>{ tr(lang, "in page cache only", "仅在页缓存") }
                <span class="swatch undispatched"></span>{ tr(lang, "not yet dispatched", "尚未分发") }
                { " · " }{ tr(lang, "click a msgId for its fate", "点击 msgId 查看消息命运") }
            </p>
            <table class="table xray-table" id="xray-records" data-count={page.records.len().to_string()}>
                <thead><tr>
                    <th>{ tr(lang, "offset", "物理偏移") }</th><th>{ tr(lang, "size", "大小") }</th><th>{ "topic" }</th>
                    <th>{ tr(lang, "queue / offset", "队列 / 偏移") }</th><th>{ "tags" }</th><th>{ "keys" }</th><th>{ "msgId (UNIQ_KEY)" }</th>
                </tr></thead>
                <tbody>
                    { for page.records.iter().map(|r| record_row(r, cursor.highlight, log.dispatched_offset, log.flushed_where, &show)) }
                </tbody>
            </table>
        </section>
    }
}

fn consume_queue(
    lang: Lang,
    x: &StorageXray,
    cursor: &UseStateHandle<Cursor>,
    queue: Option<&(String, i32)>,
    page: Option<&rmqsim_core::xray::ConsumeQueuePage>,
) -> Html {
    let choose = {
        let cursor = cursor.clone();
        Callback::from(move |e: Event| {
            let value = e.target_unchecked_into::<HtmlSelectElement>().value();
            if let Some((topic, id)) = value.rsplit_once('/') {
                let mut next = (*cursor).clone();
                next.queue = id.parse().ok().map(|id| (topic.to_string(), id));
                next.queue_from = None;
                cursor.set(next);
            }
        })
    };
    let selected = queue.map(|(t, q)| format!("{t}/{q}")).unwrap_or_default();
    let jump = |offset: i64| {
        let cursor = cursor.clone();
        Callback::from(move |_: MouseEvent| {
            let mut next = (*cursor).clone();
            next.back.push(next.from);
            next.from = Some(offset);
            next.highlight = Some(offset);
            cursor.set(next);
        })
    };
    let page_to = |from: Option<i64>| {
        let cursor = cursor.clone();
        Callback::from(move |_: MouseEvent| {
            let mut next = (*cursor).clone();
            next.queue_from = from;
            cursor.set(next);
        })
    };
    html! {
        <section class="xray-section">
            <h3 class="section">{ tr(lang, "ConsumeQueue", "ConsumeQueue 消费队列") }</h3>
            <p class="muted small">{ tr(lang,
                "20 bytes per message: CommitLog offset, size, tags hash. Click a unit to open its record above.",
                "每条消息 20 字节：CommitLog 偏移、大小、tag 哈希。点击条目即可在上方打开对应记录。") }</p>
            <div class="pager">
                <select id="cq-select" aria-label="ConsumeQueue" onchange={choose}>
                    { for x.store.consume_queues.iter().map(|q| {
                        let value = format!("{}/{}", q.topic, q.queue_id);
                        html! { <option selected={value == selected} value={value.clone()}>
                            { format!("{value}  [{}, {})", q.min_offset, q.max_offset) }</option> }
                    }) }
                </select>
                if let Some(p) = page {
                    <button id="cq-first" onclick={page_to(Some(p.min_offset))}>{ tr(lang, "⇤ first", "⇤ 最早") }</button>
                    <button id="cq-next" disabled={p.next.is_none()} onclick={page_to(p.next)}>{ tr(lang, "next →", "下一页 →") }</button>
                    <button onclick={page_to(None)}>{ tr(lang, "last ⇥", "最新 ⇥") }</button>
                }
            </div>
            if let Some(p) = page {
                <table class="table xray-table" id="xray-cq" data-count={p.rows.len().to_string()}>
                    <thead><tr><th>{ tr(lang, "queue offset", "队列偏移") }</th><th>{ tr(lang, "→ CommitLog offset", "→ CommitLog 偏移") }</th><th>{ tr(lang, "size", "大小") }</th>
                        <th>{ tr(lang, "tags code", "tags 哈希码") }</th><th>{ "msgId" }</th></tr></thead>
                    <tbody>
                        { for p.rows.iter().map(|row| html! {
                            <tr class="clickable" data-cl-offset={row.commit_log_offset.to_string()} onclick={jump(row.commit_log_offset)}>
                                <td>{ row.queue_offset }</td>
                                <td><code class="link">{ row.commit_log_offset }</code></td>
                                <td>{ row.size }</td><td>{ row.tags_code }</td>
                                <td><code class="small">{ row.msg_id.clone().unwrap_or_else(|| "—".into()) }</code></td>
                            </tr>
                        }) }
                    </tbody>
                </table>
            } else {
                <p class="muted">{ tr(lang, "No ConsumeQueue yet.", "尚无 ConsumeQueue。") }</p>
            }
        </section>
    }
}

fn index(
    lang: Lang,
    x: &StorageXray,
    cursor: &UseStateHandle<Cursor>,
    topic: &str,
    key_input: &NodeRef,
    lookup: Option<Result<rmqsim_core::xray::IndexLookup, String>>,
    show: Callback<String>,
) -> Html {
    let mut topics: Vec<&str> = x.store.consume_queues.iter().map(|q| q.topic.as_str()).collect();
    topics.dedup();
    let on_topic = {
        let cursor = cursor.clone();
        Callback::from(move |e: Event| {
            let mut next = (*cursor).clone();
            next.index_topic = e.target_unchecked_into::<HtmlSelectElement>().value();
            cursor.set(next);
        })
    };
    let search = {
        let cursor = cursor.clone();
        let key_input = key_input.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let key = key_input.cast::<HtmlInputElement>().map(|i| i.value()).unwrap_or_default();
            let mut next = (*cursor).clone();
            next.index_key = key.trim().to_string();
            cursor.set(next);
        })
    };
    let log = &x.store.commit_log;
    html! {
        <section class="xray-section">
            <h3 class="section">{ tr(lang, "IndexFile lookup by key", "按 Key 查询 IndexFile") }</h3>
            <p class="muted small">{ format!("{} {}", x.store.index_files.len(), tr(lang,
                "index file(s); the broker hashes topic#key into a slot and follows the chain (queryMessage, at most 64).",
                "个索引文件；Broker 把 topic#key 哈希到槽位并沿链表查找（queryMessage，最多 64 条）。")) }</p>
            <form class="pager" id="index-form" onsubmit={search}>
                <select id="index-topic" aria-label="topic" onchange={on_topic}>
                    { for topics.iter().map(|t| html! { <option selected={*t == topic} value={t.to_string()}>{ *t }</option> }) }
                </select>
                <input id="index-key" ref={key_input.clone()} type="search" aria-label="key" placeholder={tr(lang, "key, e.g. order-3", "Key，例如 order-3")}
                       value={cursor.index_key.clone()} />
                <button class="primary" type="submit">{ tr(lang, "Look up", "查询") }</button>
            </form>
            {
                match lookup {
                    None => html! {},
                    Some(Err(e)) => html! { <p class="warn-text">{ e }</p> },
                    Some(Ok(found)) if found.records.is_empty() => html! {
                        <p class="muted" id="index-empty">{ tr(lang, "No message with this key in the index.", "索引中没有此 Key 的消息。") }</p>
                    },
                    Some(Ok(found)) => html! {
                        <table class="table xray-table" id="index-results" data-count={found.records.len().to_string()}>
                            <thead><tr><th>{ tr(lang, "offset", "物理偏移") }</th><th>{ tr(lang, "size", "大小") }</th><th>{ "topic" }</th>
                                <th>{ tr(lang, "queue / offset", "队列 / 偏移") }</th><th>{ "tags" }</th><th>{ "keys" }</th><th>{ "msgId" }</th></tr></thead>
                            <tbody>{ for found.records.iter().map(|r| record_row(r, None, log.dispatched_offset, log.flushed_where, &show)) }</tbody>
                        </table>
                    },
                }
            }
        </section>
    }
}

fn replication(lang: Lang, x: &StorageXray) -> Html {
    let Some(group) = &x.replication else { return html! {} };
    let master = group.replicas.iter().find(|r| r.lag_bytes == 0 && r.up).map_or(0, |r| r.max_offset);
    html! {
        <section class="xray-section">
            <h3 class="section">{ tr(lang, "Replication offsets", "复制偏移") }{ format!(" · {}", group.mode) }</h3>
            <table class="table xray-table" id="xray-replication">
                <thead><tr><th>{ tr(lang, "replica", "副本") }</th><th>{ tr(lang, "role", "角色") }</th><th>{ tr(lang, "CommitLog end", "CommitLog 末尾") }</th>
                    <th>{ tr(lang, "behind master", "落后主节点") }</th><th>{ "HA" }</th></tr></thead>
                <tbody>
                    { for group.replicas.iter().map(|r| html! {
                        <tr class={classes!((!r.up).then_some("down"))}>
                            <td><code>{ &r.node }</code></td>
                            <td>{ if r.up { r.role.clone() } else { tr(lang, "down", "宕机").to_string() } }</td>
                            <td>{ r.max_offset }</td>
                            <td>{ if r.lag_bytes == 0 { "—".to_string() } else { format!("{} · {} ms", bytes(r.lag_bytes), r.lag_ms) } }</td>
                            <td class="small">{ &r.ha }</td>
                        </tr>
                    }) }
                </tbody>
            </table>
            <p class="muted small">{ format!("{} {master}", tr(lang, "master's max offset:", "主节点最大偏移：")) }</p>
        </section>
    }
}
