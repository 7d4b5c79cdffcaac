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
use crate::hooks::use_element_width::use_element_width;
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
/// Between two regions of a stacked picture: room for a caption and for the links to run.
const SECTION_GAP: i32 = 40;

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

/// The nodes of a cluster sorted into the regions of the picture.
struct Parts<'a> {
    name_servers: Vec<&'a Slot>,
    controllers: Vec<&'a Slot>,
    producers: Vec<&'a Slot>,
    /// Consumers and any other kind of node.
    others: Vec<&'a Slot>,
    /// Broker groups from the scenario, with each member's role; a broker no group claims gets a group of its own.
    groups: Vec<(String, Vec<(&'a Slot, Role)>)>,
}

impl<'a> Parts<'a> {
    /// The top row: NameServers, then the 5.x controller, with their roles.
    fn top(&self) -> Vec<(&'a Slot, Role)> {
        let name_servers = self.name_servers.iter().map(|n| (*n, Role::NameServer));
        name_servers.chain(self.controllers.iter().map(|n| (*n, Role::Controller))).collect()
    }
}

fn parts<'a>(nodes: &'a [Slot], scenario: &Scenario) -> Parts<'a> {
    let of_kind = |kind: NodeKind| nodes.iter().filter(move |n| n.kind == kind).collect::<Vec<_>>();
    let others = nodes
        .iter()
        .filter(|n| {
            !matches!(n.kind, NodeKind::NameServer | NodeKind::Controller | NodeKind::Broker | NodeKind::Producer)
        })
        .collect();
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
    Parts {
        name_servers: of_kind(NodeKind::NameServer),
        controllers: of_kind(NodeKind::Controller),
        producers: of_kind(NodeKind::Producer),
        others,
        groups,
    }
}

const COLUMN_W: i32 = NODE_W + GAP;
const GROUP_W: i32 = NODE_W + 2 * PAD;

fn group_h(members: usize) -> i32 {
    TITLE + members as i32 * (NODE_H + MEMBER_GAP) - MEMBER_GAP + 2 * PAD
}

/// The members of a broker group box whose top left corner is at (`x`, `y`).
fn place_members(placed: &mut Vec<Placed>, members: &[(&Slot, Role)], x: i32, y: i32) {
    for (i, (node, role)) in members.iter().enumerate() {
        placed.push(Placed {
            id: node.id,
            name: node.name.clone(),
            x: x + PAD,
            y: y + TITLE + PAD + i as i32 * (NODE_H + MEMBER_GAP),
            role: role.clone(),
        });
    }
}

/// Where every node of `nodes` goes, for a picture drawn `fit_width` CSS px wide (None: not known yet).
///
/// Side by side (producers, brokers, clients from left to right) when that fits; a cluster too wide
/// for it (the 8-broker backlog: 28 nodes across) is stacked instead, rows wrapped to the width, so
/// that its names stay readable rather than the whole picture shrinking to a fraction.
pub fn layout(nodes: &[Slot], scenario: &Scenario, fit_width: Option<i32>) -> Layout {
    let parts = parts(nodes, scenario);
    let wide = side_by_side(&parts);
    match fit_width {
        // Scaled below 4/5 of its size, the side-by-side picture's names are too small to read. The
        // stacked one is laid out for that scale too: any larger and it grows taller than the page.
        Some(fit) if wide.width * 4 > fit * 5 => {
            let stacked = stacked(&parts, fit * 5 / 4);
            if stacked.width < wide.width {
                stacked
            } else {
                wide
            }
        }
        _ => wide,
    }
}

/// NameServers on top, broker groups below them, producers in columns on the left, clients on the right.
fn side_by_side(parts: &Parts) -> Layout {
    let Parts { name_servers, controllers, producers, others, groups } = parts;
    let columns = |count: usize| count.div_ceil(PER_COLUMN) as i32;
    let left_w = columns(producers.len()) * COLUMN_W;
    let right_w = columns(others.len()) * COLUMN_W;
    let per_row = groups.len().clamp(1, GROUPS_PER_ROW) as i32;
    let top_row = name_servers.len() + controllers.len();
    let center_w = (top_row.max(1) as i32 * COLUMN_W - GAP).max(per_row * (GROUP_W + GAP) - GAP);
    let center_x = MARGIN + if left_w > 0 { left_w + GAP } else { 0 };
    let mut placed = Vec::new();
    let mut captions = Vec::new();

    let ns_top = MARGIN + 18;
    let ns_w = top_row as i32 * COLUMN_W - GAP;
    let ns_x = center_x + (center_w - ns_w) / 2;
    let top = parts.top();
    top_captions(&mut captions, &top, |i| (ns_x + i as i32 * COLUMN_W, ns_top));
    for (i, (node, role)) in top.iter().enumerate() {
        placed.push(Placed {
            id: node.id,
            name: node.name.clone(),
            x: ns_x + i as i32 * COLUMN_W,
            y: ns_top,
            role: role.clone(),
        });
    }

    let brokers_top = ns_top + NODE_H + 56;
    let mut group_boxes = Vec::new();
    let mut bottom = ns_top + NODE_H;
    let mut row_top = brokers_top;
    for row in groups.chunks(GROUPS_PER_ROW) {
        let row_w = row.len() as i32 * (GROUP_W + GAP) - GAP;
        let mut x = center_x + (center_w - row_w) / 2;
        let mut row_h = 0;
        for (name, members) in row {
            let h = group_h(members.len());
            group_boxes.push(GroupBox { name: name.clone(), x, y: row_top, w: GROUP_W, h });
            place_members(&mut placed, members, x, row_top);
            row_h = row_h.max(h);
            x += GROUP_W + GAP;
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
            placed.push(Placed { id: node.id, name: node.name.clone(), x: x0 + col * COLUMN_W, y, role: role(node) });
            bottom = bottom.max(y + NODE_H);
        }
    };
    column(producers, MARGIN, Region::Producers, &|_| Role::Producer);
    let right_x = center_x + center_w + GAP;
    column(others, right_x, Region::Others, &other_role);

    placed.sort_by_key(|p| p.id);
    Layout {
        width: if right_w > 0 { right_x + right_w - GAP + MARGIN } else { center_x + center_w + MARGIN },
        height: bottom + MARGIN,
        nodes: placed,
        groups: group_boxes,
        captions,
    }
}

fn other_role(node: &Slot) -> Role {
    Role::Other(format!("{:?}", node.kind))
}

/// The NameServers' caption over the first NameServer and the controllers' over the first controller,
/// `at(i)` being where the i-th node of `top` goes.
fn top_captions(captions: &mut Vec<(i32, i32, Region)>, top: &[(&Slot, Role)], at: impl Fn(usize) -> (i32, i32)) {
    for (region, role) in [(Region::NameServers, Role::NameServer), (Region::Controllers, Role::Controller)] {
        if let Some(first) = top.iter().position(|(_, r)| *r == role) {
            let (x, y) = at(first);
            captions.push((x, y - 6, region));
        }
    }
}

/// Everything in rows from top to bottom, each region wrapped to `fit` px: NameServers (and the
/// controller), producers, broker groups, clients. Messages then flow down the page.
fn stacked(parts: &Parts, fit: i32) -> Layout {
    let inner = (fit - 2 * MARGIN).max(GROUP_W);
    let fits = ((inner + GAP) / COLUMN_W).max(1) as usize;
    // As many rows as the width needs, filled evenly: 8 groups in rows of 4 and 4, not 7 and 1.
    let per_row = |count: usize, fits: usize| count.div_ceil(count.div_ceil(fits).max(1)).max(1);
    let groups_per_row = per_row(parts.groups.len(), ((inner + GAP) / (GROUP_W + GAP)).max(1) as usize);
    let row_w = |count: usize, per: usize, w: i32| count.min(per) as i32 * (w + GAP) - GAP;
    let top = parts.top();
    let producers: Vec<(&Slot, Role)> = parts.producers.iter().map(|n| (*n, Role::Producer)).collect();
    let others: Vec<(&Slot, Role)> = parts.others.iter().map(|n| (*n, other_role(n))).collect();
    // Groups of one master named as the group (no slaves): a box around each says nothing its node
    // does not, and costs a title row; they are drawn as plain nodes, wrapped like the others.
    let lone_masters: Option<Vec<(&Slot, Role)>> = parts
        .groups
        .iter()
        .map(|(name, members)| match members.as_slice() {
            [(node, Role::Master)] if node.name == *name => Some((*node, Role::Master)),
            _ => None,
        })
        .collect();
    let brokers_w = match &lone_masters {
        Some(brokers) => row_w(brokers.len(), per_row(brokers.len(), fits), NODE_W),
        None => row_w(parts.groups.len(), groups_per_row, GROUP_W),
    };
    let content_w = [
        row_w(top.len(), per_row(top.len(), fits), NODE_W),
        row_w(producers.len(), per_row(producers.len(), fits), NODE_W),
        row_w(others.len(), per_row(others.len(), fits), NODE_W),
        brokers_w,
    ]
    .into_iter()
    .max()
    .unwrap_or(NODE_W)
    .max(NODE_W);
    // The i-th of `count` items `w` wide, `per` to a row, rows `step` apart from `top`: centred rows.
    let spot = |i: usize, count: usize, per: usize, w: i32, top: i32, step: i32| {
        let (row, col) = (i / per, i % per);
        let in_row = (count - row * per).min(per);
        let x0 = MARGIN + (content_w - row_w(in_row, per, w)) / 2;
        (x0 + col as i32 * (w + GAP), top + row as i32 * step)
    };
    let mut placed = Vec::new();
    let mut captions = Vec::new();
    let mut y = MARGIN + 18;
    // One region of single nodes, in centred rows from `y`; leaves `y` where the next region starts.
    let section =
        |list: &[(&Slot, Role)], region: Option<Region>, y: &mut i32, captions: &mut Vec<_>, placed: &mut Vec<_>| {
            if list.is_empty() {
                return;
            }
            let per = per_row(list.len(), fits);
            let at = |i| spot(i, list.len(), per, NODE_W, *y, NODE_H + GAP);
            match region {
                Some(region) => captions.push((at(0).0, *y - 6, region)),
                None => top_captions(captions, list, at),
            }
            for (i, (node, role)) in list.iter().enumerate() {
                let (x, node_y) = at(i);
                placed.push(Placed { id: node.id, name: node.name.clone(), x, y: node_y, role: role.clone() });
            }
            *y += list.len().div_ceil(per) as i32 * (NODE_H + GAP) - GAP + SECTION_GAP;
        };
    section(&top, None, &mut y, &mut captions, &mut placed);
    section(&producers, Some(Region::Producers), &mut y, &mut captions, &mut placed);
    let mut group_boxes = Vec::new();
    match &lone_masters {
        Some(brokers) => section(brokers, None, &mut y, &mut captions, &mut placed),
        None => {
            for (row, chunk) in parts.groups.chunks(groups_per_row).enumerate() {
                let row_h = chunk.iter().map(|(_, members)| group_h(members.len())).max().unwrap_or(0);
                for (col, (name, members)) in chunk.iter().enumerate() {
                    let i = row * groups_per_row + col;
                    let (x, _) = spot(i, parts.groups.len(), groups_per_row, GROUP_W, y, 0);
                    group_boxes.push(GroupBox { name: name.clone(), x, y, w: GROUP_W, h: group_h(members.len()) });
                    place_members(&mut placed, members, x, y);
                }
                y += row_h + GAP;
            }
            if !parts.groups.is_empty() {
                y += SECTION_GAP - GAP;
            }
        }
    }
    section(&others, Some(Region::Others), &mut y, &mut captions, &mut placed);
    placed.sort_by_key(|p| p.id);
    Layout {
        width: content_w + 2 * MARGIN,
        height: y - SECTION_GAP + MARGIN,
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
    let fit_ref = use_node_ref();
    let fit_width = use_element_width(fit_ref.clone());
    // The layout depends only on which nodes exist and the room there is, not on their state:
    // computed once per scenario and width.
    let placed = use_memo((slots, scenario, fit_width), |(slots, scenario, fit)| layout(slots, scenario, *fit));
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
        <div class="topology-fit" ref={fit_ref}>
        <svg id="topology" class="topology" viewBox={format!("0 0 {} {}", layout.width, layout.height)}
             style={format!("max-width: {}px", layout.width * 5 / 4)}
             role="group" aria-label={texts.topology}>
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
        </div>
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
        Role::Other(_) if node.kind == NodeKind::Consumer => texts.kind_consumer.to_string(),
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
    // A node is a button for the keyboard too: Enter picks it, Shift+Enter picks it as the peer.
    // (Space stays the page's play/pause.)
    let onkeydown = {
        let on_pick = props.on_pick.clone();
        let name = node.name.clone();
        Callback::from(move |event: KeyboardEvent| {
            if event.key() == "Enter" {
                event.prevent_default();
                on_pick.emit((name.clone(), event.shift_key()));
            }
        })
    };
    let down = status_class == "down";
    // The name runs from the status dot to the badge or the cross, when there is one.
    let name_room = NODE_W - NAME_X - if badge.is_some() || down { 28 } else { 8 };
    let (shown_name, squeeze) = fitted_name(&node.name, name_room);
    // Down or not started yet: the role line says which instead of the role.
    let stopped = status_class != "up";
    html! {
        <g class={class} data-node={node.name.clone()} data-status={status_class} data-badge={badge} transform={format!("translate({},{})", placed.x, placed.y)}
           onclick={onclick} onkeydown={onkeydown} tabindex="0" role="button" aria-pressed={selected.to_string()}>
            <title>{ format!("{} · {} · {}", node.name, node.addr, status_text) }</title>
            <rect width={NODE_W.to_string()} height={NODE_H.to_string()} rx="7" />
            <circle class="status-dot" cx="12" cy="14" r="4.5" />
            <text class="name" x={NAME_X.to_string()} y="18" textLength={squeeze.map(|w| w.to_string())} lengthAdjust="spacingAndGlyphs">{ shown_name }</text>
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

/// Where a node's name starts in its box, and the width of one of its characters (the monospace
/// name font at 12.5 px: 0.6 em), in tenths of a pixel.
const NAME_X: i32 = 22;
const NAME_CHAR_TENTHS_PX: i32 = 75;

/// A node's name as drawn in `room_px`: as it is when it fits; squeezed to the room (SVG
/// `textLength`, the returned width) when it is up to a third too long; beyond that cut with "…" and
/// squeezed. The box's title keeps the whole name. "order-service-bug" ran out of its box.
fn fitted_name(name: &str, room_px: i32) -> (String, Option<i32>) {
    let fits = (room_px * 10 / NAME_CHAR_TENTHS_PX).max(1) as usize;
    let chars = name.chars().count();
    if chars <= fits {
        (name.to_string(), None)
    } else if chars * 3 <= fits * 4 {
        (name.to_string(), Some(room_px))
    } else {
        let kept: String = name.chars().take(fits * 4 / 3 - 1).collect();
        (format!("{kept}…"), Some(room_px))
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
    fn a_name_too_long_for_its_box_is_squeezed_into_it_and_a_far_too_long_one_is_cut() {
        let room = NODE_W - NAME_X - 8;
        assert_eq!(fitted_name("broker-a", room), ("broker-a".to_string(), None));
        assert_eq!(fitted_name("order-service-bug", room), ("order-service-bug".to_string(), Some(room)));
        let (shown, squeeze) = fitted_name("an-application-with-a-very-long-name", room);
        assert!(shown.ends_with('…') && shown.chars().count() <= 21, "{shown}");
        assert_eq!(squeeze, Some(room));
    }

    #[test]
    fn every_node_gets_a_place_and_no_two_overlap() {
        for (id, _) in library::SCENARIOS {
            let (nodes, scenario) = view_of(id);
            for fit in [None, Some(1200), Some(640), Some(320)] {
                assert_well_placed(id, &nodes, &layout(&nodes, &scenario, fit));
            }
        }
    }

    /// The checks every picture passes: each node placed once, inside the picture, none overlapping.
    fn assert_well_placed(id: &str, nodes: &[Slot], layout: &Layout) {
        assert_eq!(layout.nodes.len(), nodes.len(), "{id}");
        for (i, a) in layout.nodes.iter().enumerate() {
            assert!(
                a.x >= 0 && a.y >= 0 && a.x + NODE_W <= layout.width && a.y + NODE_H <= layout.height,
                "{id}: {a:?} in {}x{}",
                layout.width,
                layout.height
            );
            for b in &layout.nodes[i + 1..] {
                let apart = a.x + NODE_W <= b.x || b.x + NODE_W <= a.x || a.y + NODE_H <= b.y || b.y + NODE_H <= a.y;
                assert!(apart, "{id}: {a:?} overlaps {b:?}");
            }
        }
        for g in &layout.groups {
            assert!(g.x >= 0 && g.x + g.w <= layout.width && g.y + g.h <= layout.height, "{id}: {g:?}");
        }
    }

    #[test]
    fn a_cluster_too_wide_for_its_panel_is_stacked_in_rows_that_fit_so_its_names_stay_readable() {
        let (nodes, scenario) = view_of("backlog-8-brokers-20-consumers");
        let wide = layout(&nodes, &scenario, None);
        for fit in [640, 1000, 360] {
            let stacked = layout(&nodes, &scenario, Some(fit));
            assert_well_placed("backlog-8-brokers-20-consumers", &nodes, &stacked);
            assert!(stacked.width <= (fit * 5 / 4).max(GROUP_W + 2 * MARGIN), "{fit}: {} wide", stacked.width);
            assert!(wide.width * 4 > fit * 5 && stacked.width < wide.width, "{fit}: the side-by-side one would shrink");
            // Messages flow down the page: producers above the brokers, consumers below them.
            let ys = |role: fn(&Role) -> bool| -> Vec<i32> {
                stacked.nodes.iter().filter(|p| role(&p.role)).map(|p| p.y).collect()
            };
            let producers = *ys(|r| *r == Role::Producer).iter().max().unwrap();
            let masters = ys(|r| *r == Role::Master);
            let brokers = (*masters.iter().min().unwrap(), *masters.iter().max().unwrap());
            let consumers = *ys(|r| matches!(r, Role::Other(_))).iter().min().unwrap();
            assert!(producers < brokers.0 && brokers.1 < consumers, "{fit}: {producers} {brokers:?} {consumers}");
        }
        let roomy = layout(&nodes, &scenario, Some(wide.width));
        assert_eq!(roomy, wide, "with room enough it stays side by side");
        assert!(layout(&nodes, &scenario, Some(640)).groups.is_empty(), "lone masters need no group boxes");
        let (nodes, scenario) = view_of("ha-async-master-loss");
        let stacked = layout(&nodes, &scenario, Some(320));
        assert!(stacked.width < layout(&nodes, &scenario, None).width, "stacked on a phone");
        assert_eq!(
            stacked.groups.len(),
            scenario.topology.broker_groups.len(),
            "a master and its slave keep their box"
        );
    }

    #[test]
    fn a_small_cluster_stays_side_by_side_in_a_narrow_panel() {
        let (nodes, scenario) = view_of("producer-broker-down");
        let wide = layout(&nodes, &scenario, None);
        assert_eq!(layout(&nodes, &scenario, Some(wide.width * 4 / 5 + 1)), wide);
    }

    #[test]
    fn name_servers_sit_above_the_brokers_and_groups_hold_their_members() {
        let (nodes, scenario) = view_of("producer-broker-down");
        let layout = layout(&nodes, &scenario, None);
        let ns = layout.nodes.iter().filter(|p| p.role == Role::NameServer).map(|p| p.y).max().unwrap();
        let brokers = layout.nodes.iter().filter(|p| p.role == Role::Master).map(|p| p.y).min().unwrap();
        assert!(ns < brokers);
        assert_eq!(layout.groups.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(), ["broker-a", "broker-b"]);
        assert!(layout.nodes.iter().any(|p| p.role == Role::Producer && p.x < layout.groups[0].x));
    }

    #[test]
    fn the_controller_sits_beside_the_name_servers_not_among_the_clients() {
        let (nodes, scenario) = view_of("controller-failover-5x");
        let layout = layout(&nodes, &scenario, None);
        let controller = layout.nodes.iter().find(|p| p.role == Role::Controller).expect("a controller is drawn");
        let ns = layout.nodes.iter().find(|p| p.role == Role::NameServer).unwrap();
        assert_eq!(controller.y, ns.y);
        assert!(layout.captions.iter().any(|c| c.2 == Region::Controllers));
        assert!(layout.nodes.iter().all(|p| !matches!(&p.role, Role::Other(kind) if kind == "Controller")));
    }
}
