//! Esc closes what is on top: a dialog or an X-ray.
//!
//! Dialogs live in the UI state, but the X-rays (storage, consumer view, message fate) are opened by
//! their own components, and one can be opened from another (a msgId in the storage X-ray opens its
//! fate). Every open one registers how to close it here; Esc closes the one registered last, which is
//! the one drawn on top. The help overlay promised this for every dialog; the X-rays ignored it.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use wasm_bindgen::JsCast;
use yew::prelude::*;

/// How to close one open dialog or X-ray (the latest callback its component rendered).
type Closer = Rc<RefCell<Callback<()>>>;

thread_local! {
    /// What is open, in the order it opened: (registration id, how to close it).
    static OPEN: RefCell<Vec<(u64, Closer)>> = const { RefCell::new(Vec::new()) };
    static NEXT_ID: Cell<u64> = const { Cell::new(0) };
}

/// While the calling component is mounted, Esc (when it is on top) calls `close`.
#[hook]
pub fn use_escape_closes(close: Callback<()>) {
    // The latest callback, kept in place: re-registering on each render would move it to the top.
    let latest = use_mut_ref(|| close.clone());
    *latest.borrow_mut() = close;
    use_effect_with((), move |_| {
        let id = register(Rc::clone(&latest));
        move || unregister(id)
    });
}

fn register(close: Closer) -> u64 {
    let id = NEXT_ID.with(|next| {
        next.set(next.get() + 1);
        next.get()
    });
    OPEN.with(|open| open.borrow_mut().push((id, close)));
    id
}

fn unregister(id: u64) {
    OPEN.with(|open| open.borrow_mut().retain(|(open_id, _)| *open_id != id));
}

/// Close the topmost open dialog or X-ray. Returns false when nothing was open.
pub fn close_topmost() -> bool {
    // Cloned out first: closing may unmount the component, which unregisters it.
    let Some(close) = OPEN.with(|open| open.borrow().last().map(|(_, close)| close.borrow().clone())) else {
        return false;
    };
    close.emit(());
    true
}

#[derive(Properties, PartialEq)]
pub struct ClosesOnEscapeProps {
    pub on_close: Callback<()>,
}

/// Renders nothing: placed inside a dialog or an X-ray that is shown conditionally, it registers the
/// closing for exactly as long as that is on screen (a hook cannot be called conditionally).
#[function_component(ClosesOnEscape)]
pub fn closes_on_escape(props: &ClosesOnEscapeProps) -> Html {
    use_escape_closes(props.on_close.clone());
    Html::default()
}

/// A click on an X-ray's backdrop (outside its panel) closes it, as it does for the dialogs. Yew
/// delegates events to its root, so `currentTarget` is not the backdrop: the clicked element's own
/// class tells.
pub fn on_backdrop(close: Callback<()>) -> Callback<MouseEvent> {
    Callback::from(move |event: MouseEvent| {
        let clicked = event.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok());
        if clicked.is_some_and(|e| e.class_name().split_whitespace().any(|c| c == "xray-overlay")) {
            close.emit(());
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn esc_closes_the_last_opened_and_then_the_one_under_it() {
        let closed = Rc::new(RefCell::new(Vec::new()));
        let closer = |name: &'static str| {
            let closed = Rc::clone(&closed);
            Rc::new(RefCell::new(Callback::from(move |()| closed.borrow_mut().push(name))))
        };
        let xray = register(closer("storage X-ray"));
        let fate = register(closer("message fate"));
        assert!(close_topmost());
        unregister(fate);
        assert!(close_topmost());
        unregister(xray);
        assert!(!close_topmost(), "nothing left open");
        assert_eq!(*closed.borrow(), ["message fate", "storage X-ray"]);
    }
}
