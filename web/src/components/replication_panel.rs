//! Replication at a glance (issues 5 and 9): per broker group its HA mode, who is master or DLedger
//! leader, the term (DLedger) or epoch and SyncStateSet (5.x controller), every replica's offset and
//! lag, and each broker failure with its RTO (time until writes to the group succeed again) and RPO
//! (acknowledged messages no running replica holds). Also the 5.x controller's inspector.
//!
//! The numbers are the core's (`Simulation::replication_report()`, the same report `rmqsim run`
//! prints); this file only draws them. The report scans the replicas' logs (2 to 4 ms natively at
//! 90 s of the replication scenarios), so it is made only while the panel is open, and while playing
//! at most every `REFRESH_MS` of wall time; the panel says which instant it shows.

use std::rc::Rc;

use rmqsim_core::controller::ControllerView;
use rmqsim_core::replication_metrics::{FailureReport, GroupReplicationView, ReplicaView, ReplicationReport};
use rmqsim_core::scenario::Scenario;
use rmqsim_core::view::{NodeDetail, SimView};
use yew::prelude::*;

use crate::browser;
use crate::components::xray_texts::{tr, waits_for_pause};
use crate::i18n::Lang;
use crate::sim_context::{use_sim, Snapshot};

/// While playing, the report is made again at most this often (wall ms).
const REFRESH_MS: f64 = 500.0;

/// Whether the scenario has anything to show here: a group with replicas, or a controller.
pub fn has_replication(scenario: &Scenario) -> bool {
    scenario.topology.controllers > 0 || scenario.topology.broker_groups.iter().any(|g| g.replica_count() > 1)
}

/// The controller's view, if a controller node is up.
fn controller_view(view: &SimView) -> Option<&ControllerView> {
    view.nodes.iter().find_map(|n| match &n.detail {
        NodeDetail::Controller(c) => Some(c),
        _ => None,
    })
}

/// The node whose address is `addr`, by name (the controller knows replicas by address).
fn node_by_addr(view: &SimView, addr: &str) -> String {
    view.nodes.iter().find(|n| n.addr == addr).map_or_else(|| addr.to_string(), |n| n.name.clone())
}

/// The role a replica has now, as the topology shows it: `leader`/`follower`/`candidate` for
/// DLedger, `master`/`slave` otherwise.
pub fn live_role(lang: Lang, replica: &ReplicaView) -> String {
    match &replica.dledger {
        Some((_, role, term, _, _)) => {
            let name = match role.as_str() {
                "LEADER" => tr(lang, "leader", "领导者"),
                "FOLLOWER" => tr(lang, "follower", "跟随者"),
                _ => tr(lang, "candidate", "候选者"),
            };
            format!("{name} · {} {term}", tr(lang, "term", "任期"))
        }
        None if replica.role == "SLAVE" => tr(lang, "slave", "从").to_string(),
        None => tr(lang, "master", "主").to_string(),
    }
}

#[derive(Properties, PartialEq)]
pub struct ReplicationPanelProps {
    pub lang: Lang,
    pub snapshot: Rc<Snapshot>,
}

#[function_component(ReplicationPanel)]
pub fn replication_panel(props: &ReplicationPanelProps) -> Html {
    let lang = props.lang;
    let open = use_state(|| true);
    let sim = use_sim();
    // (wall ms it was made, the snapshot's generation, the report): reused for the same snapshot, and
    // while playing until it is REFRESH_MS old.
    let cache = use_mut_ref(|| None::<(f64, u64, Rc<ReplicationReport>)>);
    if !has_replication(&props.snapshot.scenario) {
        return html! {};
    }
    let toggle = {
        let open = open.clone();
        Callback::from(move |_: MouseEvent| open.set(!*open))
    };
    let body = if *open && props.snapshot.from_frames {
        waits_for_pause(lang)
    } else if *open {
        let now_ms = browser::now_ms();
        let snapshot = &props.snapshot;
        let cached = cache.borrow().clone().filter(|(made, generation, report)| {
            *generation == snapshot.generation
                || (snapshot.playing && now_ms - made < REFRESH_MS && report.time <= snapshot.view.time)
        });
        let report = match cached {
            Some((_, _, report)) => report,
            None => {
                let report = Rc::new(sim.handle.borrow().timeline().simulation().replication_report());
                *cache.borrow_mut() = Some((now_ms, snapshot.generation, Rc::clone(&report)));
                report
            }
        };
        let view = &props.snapshot.view;
        let controller = controller_view(view);
        html! {
            <div id="replication-body" data-time-us={report.time.as_micros().to_string()}>
                <p class="muted small">{ format!("{} {}", tr(lang, "As of", "时刻"), report.time) }</p>
                { for report.groups.iter().map(|g| group_card(lang, view, controller, g, &report.failures)) }
            </div>
        }
    } else {
        html! {}
    };
    html! {
        <section id="replication" class="panel replication-panel">
            <div class="panel-header">
                <h2>{ tr(lang, "Replication", "主从复制") }</h2>
                <span class="muted small">
                    { tr(lang, "RTO: time until writes to the group succeed again · RPO: acknowledged messages no running replica holds",
                         "RTO：直到该组再次写入成功的时间 · RPO：已确认但没有任何存活副本持有的消息") }
                </span>
                <button id="replication-toggle" class="ghost" onclick={toggle}>
                    { if *open { tr(lang, "Hide", "收起") } else { tr(lang, "Show", "展开") } }
                </button>
            </div>
            { body }
        </section>
    }
}

fn group_card(
    lang: Lang,
    view: &SimView,
    controller: Option<&ControllerView>,
    group: &GroupReplicationView,
    failures: &[FailureReport],
) -> Html {
    let term = group.replicas.iter().filter_map(|r| r.dledger.as_ref().map(|d| d.2)).max();
    let set = controller.and_then(|c| c.broker_sets.iter().find(|s| s.broker_name == group.broker_name));
    let max_lag = group.replicas.iter().map(|r| r.lag_bytes).max().unwrap_or(0).max(1);
    let failures: Vec<&FailureReport> = failures.iter().filter(|f| f.broker_name == group.broker_name).collect();
    let master_up = group.replicas.iter().any(|r| r.up && Some(&r.node) == group.master.as_ref());
    let master = group.master.clone().unwrap_or_else(|| tr(lang, "none", "无").to_string());
    html! {
        <div class="replication-group" data-group={group.broker_name.clone()} data-master={group.master.clone().unwrap_or_default()}
             style="margin: 8px 0 14px">
            <h3 class="section">
                { &group.broker_name }{ " · " }<span class="mode">{ mode_text(lang, &group.mode) }</span>
            </h3>
            <p>
                { if term.is_some() { tr(lang, "Leader: ", "领导者：") } else { tr(lang, "Master: ", "主节点：") } }
                <strong class="group-master">{ master }</strong>
                if let Some(term) = term {
                    { format!(" · {} {term}", tr(lang, "term", "任期")) }
                }
                if let Some(set) = set {
                    <span class="sync-state-set" data-epoch={set.master_epoch.to_string()}>
                        { format!(" · {} {} · SyncStateSet {{{}}} ({} {})",
                            tr(lang, "master epoch", "主节点纪元"), set.master_epoch,
                            sync_state_names(view, set),
                            tr(lang, "epoch", "纪元"), set.sync_state_set_epoch) }
                    </span>
                }
            </p>
            <table class="replicas" style="width: 100%; font-size: 13px">
                <thead><tr>
                    <th>{ tr(lang, "Replica", "副本") }</th>
                    <th>{ tr(lang, "Role", "角色") }</th>
                    <th>{ tr(lang, "Max offset", "最大偏移") }</th>
                    <th>{ tr(lang, "Lag (bytes)", "落后（字节）") }</th>
                    <th>{ tr(lang, "Lag (ms)", "落后（毫秒）") }</th>
                    <th>{ tr(lang, "HA / DLedger", "HA / DLedger") }</th>
                </tr></thead>
                <tbody>
                    { for group.replicas.iter().map(|r| {
                        let width = (r.lag_bytes.max(0) * 60 / max_lag).max(i64::from(r.lag_bytes > 0));
                        html! {
                            <tr data-replica={r.node.clone()} data-role={r.role.clone()} data-lag-bytes={r.lag_bytes.to_string()}>
                                <td>{ &r.node }{ if r.up { "" } else { " ✕" } }</td>
                                <td>{ if r.up { live_role(lang, r) } else { tr(lang, "down", "宕机").to_string() } }</td>
                                <td>{ r.max_offset }</td>
                                <td>
                                    <span style={format!("display:inline-block;width:{width}px;height:6px;background:#d9822b;border-radius:3px;margin-right:4px")}></span>
                                    { r.lag_bytes }
                                </td>
                                <td>{ r.lag_ms }</td>
                                <td class="muted">
                                    { match &r.dledger {
                                        Some((id, _, _, end, committed)) => format!("{id} · {} {end} · {} {committed}",
                                            tr(lang, "end index", "末尾索引"), tr(lang, "committed", "已提交")),
                                        None => r.ha.clone(),
                                    } }
                                </td>
                            </tr>
                        }
                    }) }
                </tbody>
            </table>
            <h4>{ tr(lang, "Failures", "故障") }</h4>
            if failures.is_empty() {
                <p class="muted">{ tr(lang, "No broker of this group has failed yet.", "该组的 Broker 尚未发生故障。") }</p>
            } else {
                <table class="failures" style="width: 100%; font-size: 13px">
                    <thead><tr>
                        <th>{ tr(lang, "At", "时间") }</th>
                        <th>{ tr(lang, "Node", "节点") }</th>
                        <th>{ tr(lang, "Failure", "故障") }</th>
                        <th>{ "RTO" }</th>
                        <th>{ "RPO" }</th>
                    </tr></thead>
                    <tbody>
                        { for failures.iter().map(|f| failure_row(lang, f, master_up)) }
                    </tbody>
                </table>
            }
        </div>
    }
}

fn sync_state_names(view: &SimView, set: &rmqsim_core::controller::BrokerSetView) -> String {
    set.sync_state_set
        .iter()
        .map(|id| {
            set.replicas
                .iter()
                .find(|r| r.0 == *id)
                .map_or_else(|| format!("#{id}"), |r| format!("{} (#{id})", node_by_addr(view, &r.1)))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A failure kind of the report (`power_loss`, ...) in the page's language.
fn failure_kind(lang: Lang, kind: &str) -> String {
    match kind {
        "process_kill" => tr(lang, "process killed", "进程被杀").to_string(),
        "power_loss" => tr(lang, "power loss", "断电").to_string(),
        "disk_loss" => tr(lang, "disk loss", "磁盘损坏").to_string(),
        "shutdown" => tr(lang, "shutdown", "正常关闭").to_string(),
        other => other.to_string(),
    }
}

/// The group's mode: RocketMQ's own names, with "nodes" in the page's language.
fn mode_text(lang: Lang, mode: &str) -> String {
    match lang {
        Lang::En => mode.to_string(),
        Lang::Zh => mode.replace(" nodes)", " 个节点)").replace("5.x controller", "5.x Controller 模式"),
    }
}

fn failure_row(lang: Lang, f: &FailureReport, master_up: bool) -> Html {
    let rto = match (f.master_lost, f.rto) {
        (_, Some(rto)) => rto.to_string(),
        // The master may be back while producers still write elsewhere: no write has succeeded yet.
        (true, None) if master_up => tr(
            lang,
            "not yet recovered (a master is up, but no write to this group has been acknowledged since)",
            "尚未恢复（主节点已在运行，但此后该组还没有写入被确认）",
        )
        .to_string(),
        (true, None) => tr(lang, "not yet recovered", "尚未恢复").to_string(),
        (false, None) => tr(lang, "— (not the master)", "—（不是主节点）").to_string(),
    };
    let lost = f.lost.len();
    html! {
        <tr class="failure" data-node={f.node.clone()} data-at-us={f.at.as_micros().to_string()}
            data-rto-us={f.rto.map_or_else(String::new, |d| d.0.to_string())}
            data-lost={lost.to_string()} data-acknowledged={f.acknowledged_before.to_string()}
            data-master-lost={f.master_lost.to_string()}>
            <td>{ f.at.to_string() }</td>
            <td>{ &f.node }</td>
            <td>{ failure_kind(lang, &f.kind) }{ if f.master_lost { tr(lang, " (master)", "（主节点）") } else { "" } }</td>
            <td class="rto">{ rto }</td>
            <td class="rpo" title={f.lost.join("\n")}>
                { format!("{lost} {} {}", tr(lang, "lost of", "条丢失，共"), f.acknowledged_before) }
                { tr(lang, " acknowledged", " 条已确认") }
            </td>
        </tr>
    }
}

#[derive(Properties, PartialEq)]
pub struct ControllerDetailProps {
    pub lang: Lang,
    pub detail: ControllerView,
    pub view: Rc<SimView>,
}

/// The 5.x controller's inspector: elections so far, and per broker set its master, epochs,
/// SyncStateSet and the replicas it knows.
#[function_component(ControllerDetail)]
pub fn controller_detail(props: &ControllerDetailProps) -> Html {
    let lang = props.lang;
    let c = &props.detail;
    html! {
        <div id="controller-detail" data-elections={c.elections.to_string()}>
            <p>{ format!("{} {}", tr(lang, "Elections so far:", "至今选举次数："), c.elections) }</p>
            { for c.broker_sets.iter().map(|set| {
                let master = set.master_id.and_then(|id| set.replicas.iter().find(|r| r.0 == id))
                    .map_or_else(|| tr(lang, "none", "无").to_string(), |r| node_by_addr(&props.view, &r.1));
                html! {
                    <div class="broker-set" data-broker-set={set.broker_name.clone()} data-master={master.clone()}>
                        <h4>{ &set.broker_name }</h4>
                        <p>
                            { format!("{} {master} · {} {} · SyncStateSet {{{}}} ({} {})",
                                tr(lang, "Master:", "主节点："), tr(lang, "master epoch", "主节点纪元"), set.master_epoch,
                                sync_state_names(&props.view, set), tr(lang, "epoch", "纪元"), set.sync_state_set_epoch) }
                        </p>
                        <table style="width: 100%; font-size: 13px">
                            <thead><tr>
                                <th>{ tr(lang, "Id", "编号") }</th>
                                <th>{ tr(lang, "Replica", "副本") }</th>
                                <th>{ tr(lang, "Epoch", "纪元") }</th>
                                <th>{ tr(lang, "Max offset (last heartbeat)", "最大偏移（最近一次心跳）") }</th>
                            </tr></thead>
                            <tbody>
                                { for set.replicas.iter().map(|r| html! {
                                    <tr><td>{ r.0 }</td><td>{ node_by_addr(&props.view, &r.1) }</td><td>{ r.2 }</td><td>{ r.3 }</td></tr>
                                }) }
                            </tbody>
                        </table>
                    </div>
                }
            }) }
        </div>
    }
}
