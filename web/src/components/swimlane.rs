//! The rebalance swimlane: one lane per message queue of a consumer group, each consumer's holding of
//! the queue as a bar over virtual time, with the periods two consumers held it (both may process the
//! same messages) in red and the periods nobody held it (nothing consumed) in amber. Built by the core
//! from the run's observations (`Simulation::rebalance_swimlane`), bounded.

use rmqsim_core::time::Time;
use yew::prelude::*;

use crate::components::xray_texts::{tr, HandleRef};
use crate::i18n::Lang;

const COLORS: [&str; 8] = ["#2563eb", "#15803d", "#7c3aed", "#b45309", "#0f766e", "#be185d", "#4d7c0f", "#1e3a8a"];
const LABEL_W: f64 = 270.0;
const WIDTH: f64 = 1000.0;
const LANE_H: f64 = 22.0;

#[derive(Properties, PartialEq)]
pub struct SwimlaneProps {
    pub lang: Lang,
    pub group: AttrValue,
    /// When to rebuild (`refresh_key`), and the simulation.
    pub tick: (u64, bool),
    pub handle: HandleRef,
}

#[function_component(SwimlaneChart)]
pub fn swimlane_chart(props: &SwimlaneProps) -> Html {
    let lang = props.lang;
    // The swimlane reads the whole observation record: rebuilt when the parent's refresh key changes.
    let key = (props.group.clone(), props.tick);
    let handle = props.handle.0.clone();
    let lanes = use_memo(key, move |(group, ..)| handle.borrow().timeline().simulation().rebalance_swimlane(group));
    if lanes.lanes.is_empty() {
        return html! { <p class="muted" id="swimlane-empty">{ tr(lang, "No queue held yet.", "尚无队列被持有。") }</p> };
    }
    let start = lanes.lanes.iter().flat_map(|l| l.segments.first()).map(|s| s.from).min().unwrap_or(Time::ZERO);
    let span = lanes.now.as_micros().saturating_sub(start.as_micros()).max(1) as f64;
    let x =
        |t: Time| LABEL_W + (WIDTH - LABEL_W - 10.0) * (t.as_micros().saturating_sub(start.as_micros()) as f64 / span);
    let color = |client: &str| COLORS[lanes.clients.iter().position(|c| c == client).unwrap_or(0) % COLORS.len()];
    let height = 24.0 + LANE_H * lanes.lanes.len() as f64;
    let doubles: usize = lanes.lanes.iter().map(|l| l.double_owned.len()).sum();
    let gaps: usize = lanes.lanes.iter().map(|l| l.unowned.len()).sum();
    html! {
        <div class="swimlane" id="swimlane" data-lanes={lanes.lanes.len().to_string()}
             data-double={doubles.to_string()} data-unowned={gaps.to_string()}>
            <svg viewBox={format!("0 0 {WIDTH} {height}")} role="img" aria-label={tr(props.lang, "Rebalance swimlane", "重平衡泳道")}>
                { for lanes.lanes.iter().enumerate().map(|(i, lane)| {
                    let y = 4.0 + LANE_H * i as f64;
                    html! {
                        <g class="lane" data-queue={lane.queue.clone()} data-segments={lane.segments.len().to_string()}>
                            <text x="2" y={format!("{:.1}", y + 13.0)} class="lane-label">{ &lane.queue }</text>
                            <rect x={LABEL_W.to_string()} y={format!("{y:.1}")} width={(WIDTH - LABEL_W - 10.0).to_string()}
                                  height={(LANE_H - 4.0).to_string()} class="lane-bg" />
                            { for lane.unowned.iter().map(|a| html! {
                                <rect class="unowned" x={format!("{:.1}", x(a.from))} y={format!("{y:.1}")}
                                      width={format!("{:.1}", (x(a.to) - x(a.from)).max(3.0))} height={(LANE_H - 4.0).to_string()}>
                                    <title>{ format!("{} {} → {}", tr(lang, "nobody held it", "无人持有"), a.from, a.to) }</title>
                                </rect>
                            }) }
                            { for lane.segments.iter().enumerate().map(|(k, s)| {
                                let end = s.to.unwrap_or(lanes.now);
                                // Overlapping holders share the lane height.
                                let off = if k % 2 == 1 { 9.0 } else { 0.0 };
                                html! {
                                    <rect class="held" fill={color(&s.client_id)} x={format!("{:.1}", x(s.from))}
                                          y={format!("{:.1}", y + off)} width={format!("{:.1}", (x(end) - x(s.from)).max(1.5))} height="9">
                                        <title>{ format!("{} {} → {}", s.client_id, s.from, s.to.map_or_else(|| tr(lang, "now", "现在").to_string(), |t| t.to_string())) }</title>
                                    </rect>
                                }
                            }) }
                            { for lane.double_owned.iter().map(|a| html! {
                                <rect class="double" x={format!("{:.1}", x(a.from))} y={format!("{y:.1}")}
                                      width={format!("{:.1}", (x(a.to) - x(a.from)).max(2.0))} height={(LANE_H - 4.0).to_string()}>
                                    <title>{ format!("{} ({}) {} → {}", tr(lang, "held twice", "被重复持有"), a.owners, a.from, a.to) }</title>
                                </rect>
                            }) }
                        </g>
                    }
                }) }
                <text x={LABEL_W.to_string()} y={format!("{:.1}", height - 4.0)} class="axis">{ start.to_string() }</text>
                <text x={(WIDTH - 10.0).to_string()} y={format!("{:.1}", height - 4.0)} text-anchor="end" class="axis">{ lanes.now.to_string() }</text>
            </svg>
            <div class="swimlane-legend small">
                { for lanes.clients.iter().map(|c| html! {
                    <span><i style={format!("background:{}", color(c))}></i><code>{ c }</code></span>
                }) }
                <span><i class="double"></i>{ format!("{} ({doubles})", tr(lang, "held by two", "两个消费者同时持有")) }</span>
                <span><i class="unowned"></i>{ format!("{} ({gaps})", tr(lang, "held by none", "无人持有")) }</span>
            </div>
            if lanes.broadcasting {
                <p class="muted small">{ tr(lang, "BROADCASTING: every consumer holds every queue; that is not double ownership.",
                    "广播模式：每个消费者都持有所有队列，这不算重复持有。") }</p>
            }
            if lanes.truncated {
                <p class="muted small">{ tr(lang, "Only the most recent periods are drawn.", "只绘制了最近的时段。") }</p>
            }
        </div>
    }
}
