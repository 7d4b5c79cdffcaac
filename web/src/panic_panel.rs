//! A panic in the wasm app must not leave a blank page: show what happened and how to
//! reproduce it with the CLI, then log it to the console for developers.

use std::cell::RefCell;

thread_local! {
    /// The run in progress (scenario id, seed), so the panel can print a reproduce command.
    static CURRENT_RUN: RefCell<Option<(String, u64)>> = const { RefCell::new(None) };
}

pub fn set_current_run(scenario_id: &str, seed: u64) {
    CURRENT_RUN.with(|run| *run.borrow_mut() = Some((scenario_id.to_string(), seed)));
}

pub fn install() {
    std::panic::set_hook(Box::new(|info| {
        let message = info.to_string();
        web_sys::console::error_1(&message.clone().into());
        let reproduce = CURRENT_RUN.with(|run| {
            run.borrow().as_ref().map(|(id, seed)| format!("rmqsim run scenarios/{id}.toml --seed {seed}"))
        });
        show(&message, reproduce.as_deref());
    }));
}

fn show(message: &str, reproduce: Option<&str>) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else { return };
    let Some(body) = document.body() else { return };
    let Ok(panel) = document.create_element("div") else { return };
    panel.set_id("panic-panel");
    let reproduce = reproduce.map(|cmd| format!("<p>Reproduce it natively:</p><pre>{}</pre>", escape(cmd)));
    panel.set_inner_html(&format!(
        "<h2>The simulator crashed — this is a bug in rmqsim</h2><pre>{}</pre>{}<p>Reload the page to start again.</p>",
        escape(message),
        reproduce.unwrap_or_default()
    ));
    let _ = body.append_child(&panel);
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}
