//! UI-only state: language, selection, filters, dialogs, the guide, toasts. Never simulation state.
//!
//! A plain reducer (`use_reducer`), so every UI change is one named action and the state is easy
//! to reason about. Side effects (remembering the language, the guide) happen in the components.

use std::rc::Rc;

use rmqsim_core::time::Time;
use yew::prelude::*;

use crate::browser;
use crate::i18n::Lang;
use crate::trace_lines::LineKind;

pub const LANG_KEY: &str = "rmqsim.lang";
pub const GUIDE_KEY: &str = "rmqsim.guide.dismissed";

/// Peers that stand for a group of nodes in the network actions.
pub const PEER_NAME_SERVERS: &str = "@name-servers";
pub const PEER_BROKERS: &str = "@brokers";
pub const PEER_OTHERS: &str = "@others";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dialog {
    Help,
    Share,
    /// A shared link could not be opened.
    LinkError(String),
    /// An imported scenario file has problems.
    ImportErrors(String),
}

/// Something the simulation side reports back to the person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Notice {
    None,
    /// An action in the past replaced the future.
    Forked(Time),
    /// An action or a command was not done, and why.
    Refused(String),
    LinkError(String),
    ImportErrors(String),
    /// Another scenario or run was loaded.
    Loaded,
}

/// A short message at the bottom of the screen; its text is made in the current language when shown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Toast {
    pub id: u32,
    pub notice: Notice,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UiState {
    pub lang: Lang,
    /// The node shown in the inspector, by name.
    pub selected: Option<String>,
    /// The other end for network actions: a node name or one of the `PEER_*` groups.
    pub peer: Option<String>,
    /// Bits of the `LineKind`s the event log shows.
    pub filters: u8,
    pub search: String,
    pub dialog: Option<Dialog>,
    pub guide_open: bool,
    pub toast: Option<Toast>,
    /// The message whose fate the message inspector shows: a UNIQ_KEY, offset msgId or key.
    pub message: Option<String>,
    next_toast: u32,
}

impl UiState {
    /// The initial state, with what the browser remembers (language, whether the guide was seen).
    pub fn from_storage() -> UiState {
        let lang = browser::storage_get(LANG_KEY).and_then(|code| Lang::from_code(&code)).unwrap_or_default();
        UiState {
            lang,
            selected: None,
            peer: None,
            // Timers and disk syncs are many and routine: shown on demand.
            filters: LineKind::ALL
                .iter()
                .filter(|k| !matches!(k, LineKind::Timer | LineKind::Disk))
                .fold(0, |bits, k| bits | k.bit()),
            search: String::new(),
            dialog: None,
            guide_open: browser::storage_get(GUIDE_KEY).is_none(),
            toast: None,
            message: None,
            next_toast: 1,
        }
    }
}

pub enum UiAction {
    SetLang(Lang),
    /// Click on a node: select it, or with shift pick it as the peer.
    Pick {
        node: String,
        shift: bool,
    },
    Deselect,
    SetPeer(Option<String>),
    ToggleFilter(LineKind),
    Search(String),
    Open(Dialog),
    CloseDialog,
    ToggleHelp,
    DismissGuide,
    Notice(Notice),
    ClearToast(u32),
    /// Show the fate of a message (by id or key), or close the message inspector.
    ShowMessage(Option<String>),
}

impl Reducible for UiState {
    type Action = UiAction;

    fn reduce(self: Rc<Self>, action: UiAction) -> Rc<Self> {
        let mut next = (*self).clone();
        match action {
            UiAction::SetLang(lang) => next.lang = lang,
            UiAction::Pick { node, shift } => {
                if shift && next.selected.is_some() && next.selected.as_deref() != Some(&node) {
                    next.peer = Some(node);
                } else {
                    if next.peer.as_deref() == Some(&node) {
                        next.peer = next.selected.take();
                    }
                    next.selected = Some(node);
                }
            }
            UiAction::Deselect => next.selected = None,
            UiAction::SetPeer(peer) => next.peer = peer,
            UiAction::ToggleFilter(kind) => next.filters ^= kind.bit(),
            UiAction::Search(text) => next.search = text,
            UiAction::Open(dialog) => next.dialog = Some(dialog),
            UiAction::CloseDialog => next.dialog = None,
            UiAction::ToggleHelp => {
                next.dialog = if next.dialog == Some(Dialog::Help) { None } else { Some(Dialog::Help) };
            }
            UiAction::DismissGuide => next.guide_open = false,
            UiAction::Notice(notice) => match notice {
                Notice::None => return self,
                toast @ (Notice::Forked(_) | Notice::Refused(_)) => next.toast(toast),
                Notice::LinkError(message) => next.dialog = Some(Dialog::LinkError(message)),
                Notice::ImportErrors(message) => next.dialog = Some(Dialog::ImportErrors(message)),
                Notice::Loaded => {
                    next.selected = None;
                    next.peer = None;
                    next.message = None;
                }
            },
            UiAction::ShowMessage(message) => next.message = message,
            UiAction::ClearToast(id) => {
                if next.toast.as_ref().is_some_and(|t| t.id == id) {
                    next.toast = None;
                }
            }
        }
        Rc::new(next)
    }
}

impl UiState {
    fn toast(&mut self, notice: Notice) {
        self.toast = Some(Toast { id: self.next_toast, notice });
        self.next_toast += 1;
    }
}

/// The UI state as a context.
pub type UiContext = UseReducerHandle<UiState>;

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> Rc<UiState> {
        Rc::new(UiState {
            lang: Lang::En,
            selected: None,
            peer: None,
            filters: 0,
            search: String::new(),
            dialog: None,
            guide_open: true,
            toast: None,
            message: None,
            next_toast: 1,
        })
    }

    #[test]
    fn a_click_selects_and_a_shift_click_picks_the_peer() {
        let s = state().reduce(UiAction::Pick { node: "broker-a".into(), shift: false });
        let s = s.reduce(UiAction::Pick { node: "namesrv-0".into(), shift: true });
        assert_eq!(s.selected.as_deref(), Some("broker-a"));
        assert_eq!(s.peer.as_deref(), Some("namesrv-0"));
        // Selecting the peer swaps the two.
        let s = s.reduce(UiAction::Pick { node: "namesrv-0".into(), shift: false });
        assert_eq!(s.selected.as_deref(), Some("namesrv-0"));
        assert_eq!(s.peer.as_deref(), Some("broker-a"));
    }

    #[test]
    fn notices_become_toasts_or_dialogs() {
        let s = state().reduce(UiAction::Notice(Notice::Forked(Time::from_secs(20))));
        assert_eq!(s.toast.as_ref().map(|t| &t.notice), Some(&Notice::Forked(Time::from_secs(20))));
        let id = s.toast.as_ref().unwrap().id;
        let s = s.reduce(UiAction::ClearToast(id));
        assert!(s.toast.is_none());
        let s = s.reduce(UiAction::Notice(Notice::LinkError("bad".into())));
        assert_eq!(s.dialog, Some(Dialog::LinkError("bad".into())));
    }
}
