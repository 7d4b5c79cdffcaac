//! rmqsim-web: the browser sandbox. The only code that knows the DOM.
//!
//! The simulation itself is `rmqsim-core`, compiled to wasm; this crate renders its view
//! snapshots with Yew, drives its clock from animation frames, and draws charts with plotters.
//! Time travel (checkpoints, replay, fork) and the shareable run encoding live in core
//! (`timeline`, `action_log`), where they are tested natively.

mod action_texts;
mod app;
mod browser;
mod components;
mod hooks;
mod i18n;
mod markers;
mod panic_panel;
mod sim_context;
mod state;
mod trace_lines;

fn main() {
    panic_panel::install();
    yew::Renderer::<app::App>::new().render();
    panic_panel::maybe_force_panic();
}
