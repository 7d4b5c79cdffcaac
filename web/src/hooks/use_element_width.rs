//! The width an element is drawn at, in CSS px, kept up to date when the window is resized.
//!
//! For pictures that lay themselves out to fit (the cluster): an SVG scaled down to its panel shrinks
//! its text with it, so the layout asks how much room there is and wraps instead.

use std::rc::Rc;

use wasm_bindgen::closure::Closure;
use yew::prelude::*;

use crate::browser::WindowListener;

/// Widths are rounded down to this step: a window dragged a few pixels wider does not lay out again.
const STEP_PX: i32 = 40;

/// The width of the element behind `node`, rounded down to `STEP_PX`; None before it is mounted.
#[hook]
pub fn use_element_width(node: NodeRef) -> Option<i32> {
    let width = use_state_eq(|| None::<i32>);
    {
        let width = width.clone();
        use_effect_with((), move |_| {
            let measure: Rc<dyn Fn()> = Rc::new(move || {
                if let Some(element) = node.cast::<web_sys::Element>() {
                    let px = element.client_width();
                    if px > 0 {
                        width.set(Some(px / STEP_PX * STEP_PX));
                    }
                }
            });
            measure();
            let on_resize = {
                let measure = Rc::clone(&measure);
                Closure::<dyn FnMut()>::new(move || measure())
            };
            let on_resize = WindowListener::new("resize", on_resize);
            move || drop(on_resize)
        });
    }
    *width
}
