//! Bilingual strings of the inspectors (storage X-ray, producer and consumer views, swimlane, message
//! fate). Each call site names both languages, so a string cannot exist in one language only. Also
//! when the inspectors recompute ([`refresh_key`]).

use std::cell::RefCell;
use std::rc::Rc;

use crate::i18n::Lang;
use crate::sim_context::{SimHandle, Snapshot};

/// The English or Chinese text.
pub fn tr(lang: Lang, en: &'static str, zh: &'static str) -> &'static str {
    match lang {
        Lang::En => en,
        Lang::Zh => zh,
    }
}

/// In place of an inspector that reads the shown run, while a frame computed ahead is on screen
/// (`Snapshot::from_frames`): the run it would read stands at another instant until the pause.
pub fn waits_for_pause(lang: Lang) -> yew::Html {
    yew::html! { <p class="muted xray-wait" data-waits-for-pause="true">{ lang.texts().xray_waits_for_pause }</p> }
}

/// Bytes with a unit a student reads at a glance (exact below 10 KiB).
pub fn bytes(n: i64) -> String {
    let a = n.unsigned_abs();
    let sign = if n < 0 { "-" } else { "" };
    match a {
        a if a < 10 * 1024 => format!("{sign}{a} B"),
        a if a < 10 * 1024 * 1024 => format!("{sign}{} KiB", a / 1024),
        a => format!("{sign}{} MiB", a / (1024 * 1024)),
    }
}

/// When an inspector that reads much of the run recomputes: on every snapshot while paused (each step
/// is seen at once), every `frames` snapshots while playing (the generation counts published frames),
/// so an open inspector costs a fraction of a frame at high speed.
pub fn refresh_key(snapshot: &Snapshot, frames: u64) -> (u64, bool) {
    if snapshot.playing {
        (snapshot.generation / frames.max(1), true)
    } else {
        (snapshot.generation, false)
    }
}

/// The simulation handle as a prop, equal when it is the same handle: an inspector body that takes it
/// and a [`refresh_key`] re-renders when the key changes, not on every published frame.
#[derive(Clone)]
pub struct HandleRef(pub Rc<RefCell<SimHandle>>);

impl PartialEq for HandleRef {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}
