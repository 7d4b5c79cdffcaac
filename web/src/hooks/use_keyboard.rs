//! Keyboard shortcuts for the whole page: space, arrows, + and -, Home, ? and Esc.
//!
//! Keys typed into a text field, a select or a button with focus are left alone (space on a focused
//! button already clicks it), except Esc, which closes the dialog or X-ray on top.

use rmqsim_core::time::{Duration, Time};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use yew::prelude::*;

use crate::browser::WindowListener;
use crate::hooks::use_escape::close_topmost;
use crate::sim_context::SimCommand;
use crate::state::{UiAction, UiState};

#[hook]
pub fn use_keyboard(dispatch: Callback<SimCommand>, ui: UseReducerDispatcher<UiState>) {
    use_effect_with((), move |_| {
        let listener = Closure::<dyn FnMut(web_sys::KeyboardEvent)>::new(move |event: web_sys::KeyboardEvent| {
            // Esc closes even from a text field (the fate's search box, the seed): it means nothing there.
            let escape = event.key() == "Escape";
            if event.ctrl_key() || event.meta_key() || event.alt_key() || (typing(&event) && !escape) {
                return;
            }
            let handled = match event.key().as_str() {
                " " | "Spacebar" => Some(SimCommand::TogglePlay),
                "ArrowRight" => Some(SimCommand::Step),
                "ArrowLeft" => Some(SimCommand::Back(Duration::from_secs(1))),
                "+" | "=" => Some(SimCommand::Faster),
                "-" | "_" => Some(SimCommand::Slower),
                "Home" => Some(SimCommand::Seek(Time::ZERO)),
                "?" => {
                    ui.dispatch(UiAction::ToggleHelp);
                    None
                }
                "Escape" => {
                    if !close_topmost() {
                        ui.dispatch(UiAction::CloseDialog);
                    }
                    None
                }
                _ => return,
            };
            event.prevent_default();
            if let Some(command) = handled {
                dispatch.emit(command);
            }
        });
        let listener = WindowListener::new("keydown", listener);
        move || drop(listener)
    });
}

/// Whether the key goes to a form control rather than to the page.
fn typing(event: &web_sys::KeyboardEvent) -> bool {
    let Some(element) = event.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()) else { return false };
    let tag = element.tag_name().to_ascii_lowercase();
    matches!(tag.as_str(), "input" | "textarea" | "select") || (tag == "button" && event.key() == " ")
}
