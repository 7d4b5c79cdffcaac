//! rmqsim-web: the browser sandbox. The only code that knows the DOM.
//!
//! The simulation itself is `rmqsim-core`, compiled to wasm; this crate renders its view
//! snapshots with Yew, drives its clock from a timer, and draws charts with plotters.

mod app;
mod components;
mod hooks;
mod panic_panel;
mod sim_handle;

fn main() {
    panic_panel::install();
    yew::Renderer::<app::App>::new().render();
}
