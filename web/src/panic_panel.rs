//! A panic in the wasm app must not leave a blank page: show what happened, the seed, and the exact
//! command that reproduces the run natively (its run string carries the scenario, the seed and every
//! action taken so far), then log it to the console for developers.
//!
//! `?debug=panic` in the address (hidden, for the browser tests) panics on purpose once a run is
//! loaded, so that the panel itself is tested.

use std::cell::RefCell;

use rmqsim_core::action_log::{encode, RunLink};
use rmqsim_core::time::Time;

thread_local! {
    /// The run in progress (scenario, seed, actions) and how far it may go, for the reproduce command.
    static CURRENT_RUN: RefCell<Option<(RunLink, Time)>> = const { RefCell::new(None) };
}

/// Remember the run in progress: call it when a run is loaded and when its action log changes.
pub fn set_current_run(link: RunLink, end: Time) {
    CURRENT_RUN.with(|run| *run.borrow_mut() = Some((link, end)));
}

/// Install the hook. Through Yew: `Renderer::render` replaces any hook set with `std::panic::set_hook`
/// by its console-only default unless one was set with `yew::set_custom_panic_hook` (which is why the
/// panel never showed before this was found by `e2e/actions.test.js`).
pub fn install() {
    yew::set_custom_panic_hook(Box::new(|info| {
        let message = info.to_string();
        web_sys::console::error_1(&message.clone().into());
        // `try_borrow`: a panic while the run was being recorded must still show the panel.
        let run = CURRENT_RUN.with(|run| run.try_borrow().ok().and_then(|r| r.clone()));
        show(&message, run.as_ref());
    }));
}

/// The shell command that reproduces `link` up to `end` (the run string is URL-safe: no quoting
/// needed, but quoted anyway so that a shell never splits it).
pub fn reproduce_command(link: &RunLink, end: Time) -> String {
    let mut link = link.clone();
    link.at = end;
    format!("rmqsim run '{}'", encode(&link))
}

/// Panic on purpose when the address asks for it (`?debug=panic`).
pub fn maybe_force_panic() {
    let search = web_sys::window().and_then(|w| w.location().search().ok()).unwrap_or_default();
    if search.trim_start_matches('?').split('&').any(|pair| pair == "debug=panic") {
        gloo_timers::callback::Timeout::new(300, || panic!("forced by ?debug=panic (a test of the error panel)"))
            .forget();
    }
}

fn show(message: &str, run: Option<&(RunLink, Time)>) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else { return };
    let Some(body) = document.body() else { return };
    let Ok(panel) = document.create_element("div") else { return };
    panel.set_id("panic-panel");
    let reproduce = run.map(|(link, end)| {
        format!(
            "<p>Seed <b id=\"panic-seed\">{seed}</b> · 种子 {seed}</p>\
             <p>Reproduce it natively (scenario, seed and your actions) · 用命令行复现（场景、种子和你的操作）：</p>\
             <pre id=\"panic-command\">{}</pre>",
            escape(&reproduce_command(link, *end)),
            seed = link.seed
        )
    });
    panel.set_inner_html(&format!(
        "<h2>The simulator crashed — this is a bug in rmqsim · 模拟器崩溃了——这是 rmqsim 的缺陷</h2>\
         <pre id=\"panic-message\">{}</pre>{}\
         <p>Please report it with the command above. Reload the page to start again · 请附上上面的命令报告问题；刷新页面重新开始。</p>",
        escape(message),
        reproduce.unwrap_or_default()
    ));
    let _ = body.append_child(&panel);
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}
