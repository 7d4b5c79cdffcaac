//! The cluster as an SVG picture: NameServers (and the 5.x controller beside them) on top, broker groups (master and slaves) in the
//! middle, producers on the left, every other kind of node (consumers, ...) on the right.
//!
//! The layout is a pure function of the view and the scenario, so the same run always draws the
//! same picture. Crashed nodes are greyed with their crash kind; partitioned, held and clogged links
//! are drawn in red, orange and purple; recent messages flash along their link with a dot travelling
//! from sender to receiver (red for drops). A broker shows its role now (master/slave, DLedger
//! leader/follower and term) with an M or L badge on the master or leader. Click a node to inspect it; shift-click picks a peer.

use std::rc::Rc;

use rmqsim_core::scenario::Scenario;
use rmqsim_core::sim::disk::CrashKind;
use rmqsim_core::sim::kernel::NodeStatus;
use rmqsim_core::view::{LinkView, NodeView};
use rmqsim_core::world::NodeKind;
use yew::prelude::*;

use crate::components::replication_panel::live_role;
use crate::components::xray_texts::tr;
use crate::i18n::{Lang, Texts};
use crate::sim_context::Snapshot;

pub const NODE_W: i32 = 150;
pub const NODE_H: i32 = 46;
const GAP: i32 = 16;
const PAD: i32 = 10;
const TITLE: i32 = 20;
const MEMBER_GAP: i32 = 8;
const GROUPS_PER_ROW: usize = 4;
const PER_COLUMN: usize = 6;
const MARGIN: i32 = 16;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placed {
    pub id: u16,
    pub name: String,
    pub x: i32,
    pub y: i32,
    /// `master`, `slave 1`, the kind name...
    pub role: Role,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    NameServer,
    /// The 5.x controller, a coordination service: drawn beside the NameServers.
    Controller,
    Master,
    Slave(u32),
    Producer,
    /// Any other kind, by its name (`Consumer`, ...).
    Other(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupBox {
    pub name: String,
    pub x: i32,
    pub y: i32,
    pub w: i32,
    pub h: i32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    pub width: i32,
    pub height: i32,
    pub nodes: Vec<Placed>,
    pub groups: Vec<GroupBox>,
    /// (x, y) of the region captions: NameServers, producers, others.
    pub captions: Vec<(i32, i32, Region)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Region {
    NameServers,
    Controllers,
    Producers,
    Others,
}

impl Layout {
    pub fn center(&self, id: u16) -> Option<(i32, i32)> {
        self.nodes.iter().find(|p| p.id == id).map(|p| (p.x + NODE_W / 2, p.y + NODE_H / 2))
    }
}

/// What the layout needs of a node: it never moves when the node's state changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slot {
    pub id: u16,
    pub kind: NodeKind,
    pub name: String,
}

impl Slot {
    pub fn of(node: &NodeView) -> Slot {
        Slot { id: node.id, kind: node.kind, name: node.name.clone() }
    }
}

/// Where every node of `nodes` goes.
pub fn layout(nodes: &[Slot], scenario: &Scenario) -> Layout {
    let name_servers: Vec<&Slot> = nodes.iter().filter(|n| n.kind == NodeKind::NameServer).collect();
    let controllers: Vec<&Slot> = nodes.iter().filter(|n| n.kind == NodeKind::Controller).collect();
    let producers: Vec<&Slot> = nodes.iter().filter(|n| n.kind == NodeKind::Producer).collect();
    let others: Vec<&Slot> = nodes
        .iter()
        .filter(|n| {
            !matches!(n.kind, NodeKind::NameServer | NodeKind::Controller | NodeKind::Broker | NodeKind::Producer)
        })
        .collect();

    // Broker groups from the scenario; a broker no group claims gets a group of its own.
    let mut groups: Vec<(String, Vec<(&Slot, Role)>)> = Vec::new();
    for node in nodes.iter().filter(|n| n.kind == NodeKind::Broker) {
        let (group, role) = scenario
            .topology
            .broker_groups
            .iter()
            .find_map(|g| {
                if node.name == g.name {
                    Some((g.name.clone(), Role::Master))
                } else {
                    let slave = node.name.strip_prefix(&format!("{}-s", g.name))?.parse().ok()?;
                    Some((g.name.clone(), Role::Slave(slave)))
                }
            })
            .unwrap_or_else(|| (node.name.clone(), Role::Master));
        match groups.iter_mut().find(|(name, _)| *name == group) {
            Some((_, members)) => members.push((node, role)),
            None => groups.push((group, vec![(node, role)])),
        }
    }

    let columns = |count: usize| count.div_ceil(PER_COLUMN) as i32;
    let column_width = NODE_W + GAP;
    let left_w = columns(producers.len()) * column_width;
    let right_w = columns(others.len()) * column_width;
    let group_w = NODE_W + 2 * PAD;
    let group_h = |members: usize| TITLE + members as i32 * (NODE_H + MEMBER_GAP) - MEMBER_GAP + 2 * PAD;
    let per_row = groups.len().clamp(1, GROUPS_PER_ROW) as i32;
    let top_row = name_servers.len() + controllers.len();
    let center_w = (top_row.max(1) as i32 * column_width - GAP).max(per_row * (group_w + GAP) - GAP);
    let center_x = MARGIN + if left_w > 0 { left_w + GAP } else { 0 };
    let mut placed = Vec::new();
    let mut captions = Vec::new();

    let ns_top = MARGIN + 18;
    let ns_w = top_row as i32 * column_width - GAP;
    let ns_x = center_x + (center_w - ns_w) / 2;
    if !name_servers.is_empty() {
        captions.push((ns_x, ns_top - 6, Region::NameServers));
    }
    for (i, node) in name_servers.iter().enumerate() {
        placed.push(Placed {
            id: node.id,
            name: node.name.clone(),
            x: ns_x + i as i32 * column_width,
            y: ns_top,
            role: Role::NameServer,
        });
    }
    let controllers_x = ns_x + name_servers.len() as i32 * column_width;
    if !controllers.is_empty() {
        captions.push((controllers_x, ns_top - 6, Region::Controllers));
    }
    for (i, node) in controllers.iter().enumerate() {
        placed.push(Placed {
            id: node.id,
            name: node.name.clone(),
            x: controllers_x + i as i32 * column_width,
            y: ns_top,
            role: Role::Controller,
        });
    }

    let brokers_top = ns_top + NODE_H + 56;
    let mut group_boxes = Vec::new();
    let mut bottom = ns_top + NODE_H;
    let mut row_top = brokers_top;
    for row in groups.chunks(GROUPS_PER_ROW) {
        let row_w = row.len() as i32 * (group_w + GAP) - GAP;
        let mut x = center_x + (center_w - row_w) / 2;
        let mut row_h = 0;
        for (name, members) in row {
            let h = group_h(members.len());
            group_boxes.push(GroupBox { name: name.clone(), x, y: row_top, w: group_w, h });
            for (i, (node, role)) in members.iter().enumerate() {
                placed.push(Placed {
                    id: node.id,
                    name: node.name.clone(),
                    x: x + PAD,
                    y: row_top + TITLE + PAD + i as i32 * (NODE_H + MEMBER_GAP),
                    role: role.clone(),
                });
            }
            row_h = row_h.max(h);
            x += group_w + GAP;
        }
        bottom = bottom.max(row_top + row_h);
        row_top += row_h + GAP * 2;
    }

    let mut column = |list: &[&Slot], x0: i32, region: Region, role: &dyn Fn(&Slot) -> Role| {
        if list.is_empty() {
            return;
        }
        captions.push((x0, brokers_top - 6, region));
        for (i, node) in list.iter().enumerate() {
            let (col, row) = ((i / PER_COLUMN) as i32, (i % PER_COLUMN) as i32);
            let y = brokers_top + row * (NODE_H + GAP);
            placed.push(Placed {
                id: node.id,
                name: node.name.clone(),
                x: x0 + col * column_width,
                y,
                role: role(node),
            });
            bottom = bottom.max(y + NODE_H);
        }
    };
    column(&producers, MARGIN, Region::Producers, &|_| Role::Producer);
    let right_x = center_x + center_w + GAP;
    column(&others, right_x, Region::Others, &|n| Role::Other(format!("{:?}", n.kind)));

    placed.sort_by_key(|p| p.id);
    Layout {
        width: if right_w > 0 { right_x + right_w - GAP + MARGIN } else { center_x + center_w + MARGIN },
        height: bottom + MARGIN,
        nodes: placed,
        groups: group_boxes,
        captions,
    }
}

#[derive(Properties, PartialEq)]
pub struct TopologyProps {
    pub lang: Lang,
    pub snapshot: Rc<Snapshot>,
    pub selected: Option<AttrValue>,
    pub peer: Option<AttrValue>,
    /// (node name, shift held)
    pub on_pick: Callback<(String, bool)>,
}

#[function_component(Topology)]
pub fn topology(props: &TopologyProps) -> Html {
    let texts = props.lang.texts();
    let view = &props.snapshot.view;
    let scenario = Rc::clone(&props.snapshot.scenario);
    let slots: Vec<Slot> = view.nodes.iter().map(Slot::of).collect();
    // The layout depends only on which nodes exist, not on their state: computed once per scenario.
    let placed = use_memo((slots, scenario), |(slots, scenario)| layout(slots, scenario));
    let layout = &*placed;
    let link_lines = faulty_links(layout, &view.links);
    let flashes = props.snapshot.flashes.iter().filter_map(|flash| {
        let ((x1, y1), (x2, y2)) = (layout.center(flash.from)?, layout.center(flash.to)?);
        let age = f64::from(flash.age_permille.min(1_000)) / 1_000.0;
        let travel = (age * 3.0).min(1.0);
        let (dx, dy) = (f64::from(x1) + f64::from(x2 - x1) * travel, f64::from(y1) + f64::from(y2 - y1) * travel);
        let opacity = format!("{:.2}", (1.0 - age).max(0.0));
        let class = if flash.dropped { "flash dropped" } else { "flash" };
        let title =
            if flash.count > 1 { format!("{} (+{})", flash.label, flash.count - 1) } else { flash.label.clone() };
        Some(html! {
            <g class={class} opacity={opacity}>
                <title>{ title }</title>
                <line x1={x1.to_string()} y1={y1.to_string()} x2={x2.to_string()} y2={y2.to_string()} />
                <circle cx={format!("{dx:.1}")} cy={format!("{dy:.1}")} r="4.5" />
            </g>
        })
    });
    let nodes = layout.nodes.iter().filter_map(|placed| {
        let node = view.nodes.iter().find(|n| n.id == placed.id)?;
        Some(node_box(placed, node, texts, props))
    });
    let groups = layout.groups.iter().map(|g| {
        html! {
            <g class="group">
                <rect x={g.x.to_string()} y={g.y.to_string()} width={g.w.to_string()} height={g.h.to_string()} rx="10" />
                <text x={(g.x + PAD).to_string()} y={(g.y + 15).to_string()}>{ &g.name }</text>
            </g>
        }
    });
    let captions = layout.captions.iter().map(|(x, y, region)| {
        let text = match region {
            Region::NameServers => texts.name_servers,
            Region::Controllers => tr(props.lang, "Controller (5.x)", "Controller（5.x）"),
            Region::Producers => texts.producers,
            Region::Others => texts.clients,
        };
        html! { <text class="caption" x={x.to_string()} y={y.to_string()}>{ text }</text> }
    });
    html! {
        <svg id="topology" class="topology" viewBox={format!("0 0 {} {}", layout.width, layout.height)}
             style={format!("max-width: {}px", layout.width * 5 / 4)}
             role="img" aria-label={texts.topology}>
            <defs>
                <marker id="arrow-partition" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
                    <path d="M0,0 L10,5 L0,10 z" class="arrow-partition" />
                </marker>
            </defs>
            { for captions }
            { for groups }
            { for flashes }
            { for link_lines }
            { for nodes }
        </svg>
    }
}

fn node_box(placed: &Placed, node: &NodeView, texts: &Texts, props: &TopologyProps) -> Html {
    let replica = props.snapshot.view.replication.iter().flat_map(|g| &g.replicas).find(|r| r.node == node.name);
    let (status_class, status_text) = match node.status {
        NodeStatus::Up => ("up", texts.up),
        NodeStatus::Down(CrashKind::ProcessKill) => ("down", texts.process_kill),
        NodeStatus::NotStarted => ("not-started", texts.not_started),
        NodeStatus::Stopped => ("stopped", texts.stopped),
        NodeStatus::Down(CrashKind::PowerLoss) => ("down", texts.power_loss),
        NodeStatus::Down(CrashKind::DiskLoss) => ("down", texts.disk_loss),
    };
    let role = match &placed.role {
        Role::NameServer => texts.kind_name_server.to_string(),
        Role::Controller => tr(props.lang, "Controller (5.x)", "Controller（5.x）").to_string(),
        // A broker's role now (a slave may have been elected master, a DLedger follower leader).
        Role::Master | Role::Slave(_) if replica.is_some() => {
            let live = replica.map(|r| live_role(props.lang, r)).unwrap_or_default();
            if replica.is_some_and(|r| r.dledger.is_some()) {
                live
            } else {
                format!("{} · {live}", texts.kind_broker)
            }
        }
        Role::Master => format!("{} · {}", texts.kind_broker, texts.master),
        Role::Slave(id) => format!("{} · {} {id}", texts.kind_broker, texts.slave),
        Role::Producer => texts.kind_producer.to_string(),
        Role::Other(kind) => kind.clone(),
    };
    // The badge in the corner: M for the master now, L for the DLedger leader.
    let badge = replica.filter(|r| r.up && node.status == NodeStatus::Up).and_then(|r| match &r.dledger {
        Some((_, role, ..)) if role == "LEADER" => Some("L"),
        Some(_) => None,
        None if r.role != "SLAVE" => Some("M"),
        None => None,
    });
    let selected = props.selected.as_deref() == Some(node.name.as_str());
    let peer = props.peer.as_deref() == Some(node.name.as_str());
    let class = classes!(
        "node",
        status_class,
        format!("kind-{}", format!("{:?}", node.kind).to_lowercase()),
        selected.then_some("selected"),
        peer.then_some("peer")
    );
    let onclick = {
        let on_pick = props.on_pick.clone();
        let name = node.name.clone();
        Callback::from(move |event: MouseEvent| on_pick.emit((name.clone(), event.shift_key())))
    };
    let down = status_class == "down";
    // Down or not started yet: the role line says which instead of the role.
    let stopped = status_class != "up";
    html! {
        <g class={class} data-node={node.name.clone()} data-status={status_class} data-badge={badge} transform={format!("translate({},{})", placed.x, placed.y)}
           onclick={onclick} tabindex="0">
            <title>{ format!("{} · {} · {}", node.name, node.addr, status_text) }</title>
            <rect width={NODE_W.to_string()} height={NODE_H.to_string()} rx="7" />
            <circle class="status-dot" cx="12" cy="14" r="4.5" />
            <text class="name" x="22" y="18">{ &node.name }</text>
            <text class="role" x="10" y="36">{ if stopped { status_text.to_string() } else { role } }</text>
            if let Some(badge) = badge {
                <g class="role-badge">
                    <title>{ if badge == "L" { tr(props.lang, "DLedger leader", "DLedger 领导者") } else { tr(props.lang, "master now", "当前主节点") } }</title>
                    <circle cx={(NODE_W - 13).to_string()} cy="13" r="9" fill="#2563eb" />
                    <text x={(NODE_W - 13).to_string()} y="17" text-anchor="middle" fill="#fff" font-size="11" font-weight="700">{ badge }</text>
                </g>
            }
            if down {
                <path class="cross" d={format!("M{} 6 l10 10 M{} 6 l-10 10", NODE_W - 18, NODE_W - 8)} />
            }
        </g>
    }
}

/// One line per unordered node pair with a faulty link, styled by the worst fault on it.
fn faulty_links(layout: &Layout, links: &[LinkView]) -> Vec<Html> {
    let mut pairs: Vec<(u16, u16)> = links.iter().map(|l| (l.from.min(l.to), l.from.max(l.to))).collect();
    pairs.sort_unstable();
    pairs.dedup();
    pairs
        .into_iter()
        .filter_map(|(a, b)| {
            let forward = links.iter().find(|l| l.from == a && l.to == b);
            let backward = links.iter().find(|l| l.from == b && l.to == a);
            let any = |f: &dyn Fn(&LinkView) -> bool| forward.is_some_and(f) || backward.is_some_and(f);
            let (class, label) = if any(&|l| l.blocked) {
                ("link partition", "✕".to_string())
            } else if any(&|l| l.held) {
                let held: u32 = forward.map_or(0, |l| l.held_messages) + backward.map_or(0, |l| l.held_messages);
                ("link held", format!("⏸ {held}"))
            } else {
                let clog = forward.map_or(0, |l| l.clog_us).max(backward.map_or(0, |l| l.clog_us));
                ("link clog", format!("+{} ms", clog / 1_000))
            };
            let blocked_one_way = |l: Option<&LinkView>| l.is_some_and(|l| l.blocked || l.held || l.clog_us > 0);
            let (start, end) = (layout.center(a)?, layout.center(b)?);
            let marker = "url(#arrow-partition)";
            let (mx, my) = ((start.0 + end.0) / 2, (start.1 + end.1) / 2);
            Some(html! {
                <g class={class} data-link={format!("{a}-{b}")}>
                    <line x1={start.0.to_string()} y1={start.1.to_string()} x2={end.0.to_string()} y2={end.1.to_string()}
                          marker-end={blocked_one_way(forward).then_some(marker)}
                          marker-start={blocked_one_way(backward).then_some(marker)} />
                    <text x={mx.to_string()} y={(my - 6).to_string()}>{ label }</text>
                </g>
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmqsim_core::scenario::library;
    use rmqsim_core::Simulation;

    fn view_of(id: &str) -> (Vec<Slot>, Scenario) {
        let scenario = Scenario::parse(id, library::find(id).unwrap()).unwrap();
        let view = Simulation::new(&scenario, 1).unwrap().view();
        (view.nodes.iter().map(Slot::of).collect(), scenario)
    }

    #[test]
    fn every_node_gets_a_place_and_no_two_overlap() {
        for (id, _) in library::SCENARIOS {
            let (nodes, scenario) = view_of(id);
            let layout = layout(&nodes, &scenario);
            assert_eq!(layout.nodes.len(), nodes.len(), "{id}");
            for (i, a) in layout.nodes.iter().enumerate() {
                assert!(
                    a.x >= 0 && a.y >= 0 && a.x + NODE_W <= layout.width && a.y + NODE_H <= layout.height,
                    "{id}: {a:?} in {}x{}",
                    layout.width,
                    layout.height
                );
                for b in &layout.nodes[i + 1..] {
                    let apart =
                        a.x + NODE_W <= b.x || b.x + NODE_W <= a.x || a.y + NODE_H <= b.y || b.y + NODE_H <= a.y;
                    assert!(apart, "{id}: {a:?} overlaps {b:?}");
                }
            }
        }
    }

    #[test]
    fn name_servers_sit_above_the_brokers_and_groups_hold_their_members() {
        let (nodes, scenario) = view_of("producer-broker-down");
        let layout = layout(&nodes, &scenario);
        let ns = layout.nodes.iter().filter(|p| p.role == Role::NameServer).map(|p| p.y).max().unwrap();
        let brokers = layout.nodes.iter().filter(|p| p.role == Role::Master).map(|p| p.y).min().unwrap();
        assert!(ns < brokers);
        assert_eq!(layout.groups.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(), ["broker-a", "broker-b"]);
        assert!(layout.nodes.iter().any(|p| p.role == Role::Producer && p.x < layout.groups[0].x));
    }

    #[test]
    fn the_controller_sits_beside_the_name_servers_not_among_the_clients() {
        let (nodes, scenario) = view_of("controller-failover-5x");
        let layout = layout(&nodes, &scenario);
        let controller = layout.nodes.iter().find(|p| p.role == Role::Controller).expect("a controller is drawn");
        let ns = layout.nodes.iter().find(|p| p.role == Role::NameServer).unwrap();
        assert_eq!(controller.y, ns.y);
        assert!(layout.captions.iter().any(|c| c.2 == Region::Controllers));
        assert!(layout.nodes.iter().all(|p| !matches!(&p.role, Role::Other(kind) if kind == "Controller")));
    }
}
