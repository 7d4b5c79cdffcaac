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

/// Talc instead of Rust's default wasm allocator (dlmalloc): the simulation allocates and frees on
/// nearly every event, and in the browser's profile dlmalloc's malloc and free took about a tenth of
/// the main thread while playing the 8-broker backlog at 100×.
#[cfg(all(not(target_feature = "atomics"), target_family = "wasm"))]
#[global_allocator]
static TALC: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

fn main() {
    panic_panel::install();
    yew::Renderer::<app::App>::new().render();
    panic_panel::maybe_force_panic();
}
