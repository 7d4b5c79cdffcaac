//! rmqsim-web: the browser sandbox. The only code that knows the DOM.
//!
//! The simulation itself is `rmqsim-core`, compiled to wasm; this crate renders its view
//! snapshots with Yew, drives its clock from animation frames, and draws charts with plotters.
//! Time travel (checkpoints, replay, fork) and the shareable run encoding live in core
//! (`timeline`, `action_log`), where they are tested natively.

mod action_texts;
mod app;
mod browser;
mod checkpoint_pacer;
mod components;
mod field_labels;
mod hooks;
mod i18n;
mod markers;
mod panic_panel;
mod run_ahead;
mod sim_context;
mod state;
mod trace_lines;

/// A TLSF allocator (rlsf) instead of Rust's default wasm allocator (dlmalloc): the simulation allocates
/// and frees on nearly every event. In the browser's profile dlmalloc's malloc and free took about a tenth
/// of the main thread while playing the 8-broker backlog at 100×; talc cut that to 4.6-4.7 µs per event
/// in the drain, rlsf's constant-time bins to 4.2-4.6 (and a jump's longest frame from 117 ms to 50).
#[cfg(all(not(target_feature = "atomics"), target_family = "wasm"))]
#[global_allocator]
static TLSF: rlsf::GlobalTlsf = rlsf::GlobalTlsf::new();

fn main() {
    panic_panel::install();
    yew::Renderer::<app::App>::new().render();
    panic_panel::maybe_force_panic();
}
