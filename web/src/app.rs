//! The app: loads the run the URL names (or the default scenario), provides the UI state and the
//! simulation context, and lays out the panels.
//!
//! Layout: header; the clock bar, scrubber and fork banner; three columns (library + narrative,
//! cluster + chart, inspector); the event log; the footer. Dialogs and toasts float above.

use std::cell::RefCell;
use std::rc::Rc;

use rmqsim_core::action_log::{self, encode_time};
use wasm_bindgen::closure::Closure;
use yew::prelude::*;

use crate::browser;
use crate::components::chart::MetricsChart;
use crate::components::clock_bar::ClockBar;
use crate::components::error_dialog::ErrorDialog;
use crate::components::event_log::EventLog;
use crate::components::fork_banner::ForkBanner;
use crate::components::guide::Guide;
use crate::components::header::Header;
use crate::components::help_overlay::HelpOverlay;
use crate::components::inspector::Inspector;
use crate::components::library::Library;
use crate::components::narrative::Narrative;
use crate::components::perf_meter::PerfMeter;
use crate::components::quiz::Quiz;
use crate::components::replication_panel::ReplicationPanel;
use crate::components::sandbox_editor::SandboxEditor;
use crate::components::scrubber::Scrubber;
use crate::components::share_dialog::ShareDialog;
use crate::components::toast::Toast;
use crate::components::topology::Topology;
use crate::i18n::Lang;
use crate::sim_context::{use_sim, SimCommand, SimHandle, SimProvider, DEFAULT_SCENARIO};
use crate::state::{Dialog, UiAction, UiContext, UiState, GUIDE_KEY, LANG_KEY};

/// The prefix of a shared run in the URL fragment.
pub const RUN_PREFIX: &str = "run=";

/// The handle for the page's first run, and the error to show if the URL named a bad one.
fn initial_handle() -> (SimHandle, Option<String>) {
    let hash = browser::hash();
    let mut error = None;
    if let Some(run) = hash.strip_prefix(RUN_PREFIX) {
        match SimHandle::open_link(run) {
            Ok(handle) => return (handle, None),
            Err(message) => error = Some(message),
        }
    } else if !hash.is_empty() {
        error = Some(format!("the address ends with `#{hash}`, which is not a run (a run link has `#run=v1.…`)"));
    }
    let mut handle = SimHandle::load_builtin(DEFAULT_SCENARIO).expect("the default scenario is built in and valid");
    handle.playing = true;
    (handle, error)
}

#[function_component(App)]
pub fn app() -> Html {
    let ui = use_reducer(UiState::from_storage);
    let started = use_memo((), |_| {
        let (handle, error) = initial_handle();
        (Rc::new(RefCell::new(handle)), error)
    });
    {
        let ui = ui.dispatcher();
        let error = started.1.clone();
        use_effect_with((), move |_| {
            if let Some(message) = error {
                ui.dispatch(UiAction::Open(Dialog::LinkError(message)));
            }
        });
    }
    html! {
        <ContextProvider<UiContext> context={ui}>
            <SimProvider handle={Rc::clone(&started.0)}>
                <Shell />
            </SimProvider>
        </ContextProvider<UiContext>>
    }
}

#[function_component(Shell)]
fn shell() -> Html {
    let ui = use_context::<UiContext>().expect("under the UI state");
    let sim = use_sim();
    let snapshot = Rc::clone(&sim.snapshot);
    let lang = ui.lang;
    let texts = lang.texts();
    let first_render_ms = *use_memo((), |_| browser::now_ms());

    // Measure how long the render of a snapshot took (the play loop leaves the rest of the frame to it).
    {
        let handle = Rc::clone(&sim.handle);
        use_effect(move || {
            if let Some(published) = handle.try_borrow_mut().ok().and_then(|mut h| h.published_at.take()) {
                let render = (browser::now_ms() - published).max(0.0);
                if let (true, Ok(mut handle)) = (render < 1_000.0, handle.try_borrow_mut()) {
                    let perf = &mut handle.perf;
                    perf.render_ms = if perf.render_ms == 0.0 { render } else { perf.render_ms * 0.9 + render * 0.1 };
                }
            }
        });
    }
    // Remember the language, and tell the page (fonts, screen readers).
    use_effect_with(lang, |lang| {
        browser::storage_set(LANG_KEY, lang.code());
        browser::set_document_lang(if *lang == Lang::Zh { "zh-CN" } else { "en" });
    });
    // A pasted link on an open page changes only the fragment: open it.
    {
        let dispatch = sim.dispatch.clone();
        use_effect_with((), move |_| {
            let listener = Closure::<dyn FnMut()>::new(move || {
                if let Some(run) = browser::hash().strip_prefix(RUN_PREFIX) {
                    dispatch.emit(SimCommand::OpenLink(run.to_string()));
                }
            });
            let listener = browser::WindowListener::new("hashchange", listener);
            move || drop(listener)
        });
    }

    // Callbacks built once: components whose other props did not change then skip their render.
    let cb = {
        let dispatch = sim.dispatch.clone();
        let handle = Rc::clone(&sim.handle);
        let ui = ui.dispatcher();
        use_memo((), move |_| Callbacks::new(dispatch, handle, ui))
    };
    let dialog = ui.dialog.as_ref().map(|dialog| {
        let close = cb.close.clone();
        match dialog {
            Dialog::Help => html! { <HelpOverlay lang={lang} on_close={close} /> },
            Dialog::Share => {
                let handle = sim.handle.borrow();
                let link = handle.link();
                let url = format!("{}#{RUN_PREFIX}{}", browser::base_url(), action_log::encode(&link));
                let cli = link.scenario.builtin_id().filter(|_| link.actions.is_empty()).map(|id| {
                    AttrValue::from(format!("rmqsim digest {id} --seed {} --until {}", link.seed, encode_time(link.at)))
                });
                html! { <ShareDialog lang={lang} link={url} cli={cli} on_export={cb.export.clone()} on_close={close} /> }
            }
            Dialog::LinkError(message) => html! {
                <ErrorDialog id="link-error" title={texts.link_error_title} message={message.clone()}
                             hint={Some(AttrValue::from(texts.link_error_hint))} button={texts.open_library} on_close={close} />
            },
            Dialog::ImportErrors(message) => html! {
                <ErrorDialog id="import-errors" title={texts.import_error_title} message={message.clone()}
                             hint={None::<AttrValue>} button={texts.close} on_close={close} />
            },
        }
    });
    let imported_title = snapshot.builtin_id.is_none().then(|| {
        let n = &snapshot.scenario.narrative;
        AttrValue::from(if lang == Lang::Zh { n.zh.title.clone() } else { n.en.title.clone() })
    });
    html! {
        <div class="app" data-lang={lang.code()}>
            <Header lang={lang} on_lang={cb.lang.clone()} on_share={cb.share.clone()} on_help={cb.help.clone()} />
            <section class="controls" aria-label={texts.time_controls}>
                <ClockBar lang={lang} snapshot={Rc::clone(&snapshot)} on_command={cb.command.clone()} />
                <Scrubber lang={lang} now={snapshot.now()} end={snapshot.end} frontier={snapshot.frontier} computed={snapshot.computed}
                          seeking={snapshot.seeking} checkpoints={Rc::clone(&snapshot.checkpoints)}
                          markers={Rc::clone(&snapshot.markers)} on_seek={cb.seek.clone()} />
                if snapshot.forks_if_acting && snapshot.seeking.is_none() {
                    <ForkBanner lang={lang} now={snapshot.now()} actions_after_now={snapshot.actions_after_now} />
                }
            </section>
            <div class="workspace">
                <aside class="left" aria-label={texts.library}>
                    <Library lang={lang} current={snapshot.builtin_id.clone().map(AttrValue::from)} imported_title={imported_title}
                             on_open={cb.open.clone()} on_import={cb.import.clone()} on_export={cb.export.clone()} />
                    // The guide sits right under the scenario list: its pointer points up at it.
                    if ui.guide_open {
                        <Guide lang={lang} on_dismiss={cb.guide.clone()} />
                    }
                    <SandboxEditor lang={lang} scenario={Rc::clone(&snapshot.scenario)} on_run={cb.import.clone()} />
                    <Narrative lang={lang} scenario={Rc::clone(&snapshot.scenario)} />
                    <Quiz lang={lang} scenario={Rc::clone(&snapshot.scenario)} />
                </aside>
                <main class="center">
                    <section class="panel topology-panel">
                        <div class="panel-header">
                            <h2>{ texts.topology }</h2>
                            <span class="muted small">{ texts.topology_hint }</span>
                        </div>
                        <Topology lang={lang} snapshot={Rc::clone(&snapshot)}
                                  selected={ui.selected.clone().map(AttrValue::from)} peer={ui.peer.clone().map(AttrValue::from)}
                                  on_pick={cb.pick.clone()} />
                    </section>
                    <ReplicationPanel lang={lang} snapshot={Rc::clone(&snapshot)} />
                    <MetricsChart lang={lang} view={Rc::clone(&snapshot.chart_view)} checks={Rc::clone(&snapshot.chart_checks)} />
                </main>
                <aside class="right" aria-label={texts.inspector}>
                    <Inspector lang={lang} snapshot={Rc::clone(&snapshot)}
                               selected={ui.selected.clone().map(AttrValue::from)} peer={ui.peer.clone().map(AttrValue::from)}
                               on_act={cb.act.clone()} on_peer={cb.peer.clone()} on_close={cb.deselect.clone()} />
                </aside>
            </div>
            <EventLog lang={lang} lines={Rc::clone(&snapshot.lines)} playing={snapshot.playing} filters={ui.filters} search={ui.search.clone()}
                      on_filter={cb.filter.clone()} on_search={cb.search.clone()} />
            <PerfMeter lang={lang} perf={snapshot.perf} first_render_ms={first_render_ms} />
            { for dialog }
            if let Some(toast) = &ui.toast {
                <Toast lang={lang} toast={toast.clone()} on_clear={cb.clear_toast.clone()} />
            }
        </div>
    }
}

/// Every callback the shell hands down, made once per page.
struct Callbacks {
    command: Callback<SimCommand>,
    seek: Callback<rmqsim_core::time::Time>,
    open: Callback<String>,
    import: Callback<(String, String)>,
    act: Callback<rmqsim_core::scenario::ActionSpec>,
    share: Callback<()>,
    export: Callback<()>,
    lang: Callback<Lang>,
    help: Callback<()>,
    guide: Callback<()>,
    pick: Callback<(String, bool)>,
    peer: Callback<Option<String>>,
    deselect: Callback<()>,
    filter: Callback<crate::trace_lines::LineKind>,
    search: Callback<String>,
    close: Callback<()>,
    clear_toast: Callback<u32>,
}

impl Callbacks {
    fn new(dispatch: Callback<SimCommand>, handle: Rc<RefCell<SimHandle>>, ui: UseReducerDispatcher<UiState>) -> Self {
        let on_ui = Callback::from(move |action: UiAction| ui.dispatch(action));
        let share = {
            let handle = Rc::clone(&handle);
            let on_ui = on_ui.clone();
            let dispatch = dispatch.clone();
            Callback::from(move |()| {
                // A link names an instant: finish the current one so the link shows exactly this state.
                dispatch.emit(SimCommand::Settle);
                let link = action_log::encode(&handle.borrow().link());
                browser::replace_hash(&format!("{RUN_PREFIX}{link}"));
                on_ui.emit(UiAction::Open(Dialog::Share));
            })
        };
        let export = Callback::from(move |()| {
            let (name, text) = handle.borrow().scenario_file();
            browser::download(&name, "application/toml", &text);
        });
        Callbacks {
            seek: dispatch.reform(SimCommand::Seek),
            open: dispatch.reform(SimCommand::LoadBuiltin),
            import: dispatch.reform(|(name, text)| SimCommand::LoadToml(name, text)),
            act: dispatch.reform(SimCommand::Act),
            command: dispatch,
            share,
            export,
            lang: on_ui.reform(UiAction::SetLang),
            help: on_ui.reform(|()| UiAction::ToggleHelp),
            guide: on_ui.reform(|()| {
                browser::storage_set(GUIDE_KEY, "1");
                UiAction::DismissGuide
            }),
            pick: on_ui.reform(|(node, shift)| {
                browser::reveal("inspector");
                UiAction::Pick { node, shift }
            }),
            peer: on_ui.reform(UiAction::SetPeer),
            deselect: on_ui.reform(|()| UiAction::Deselect),
            filter: on_ui.reform(UiAction::ToggleFilter),
            search: on_ui.reform(UiAction::Search),
            close: on_ui.reform(|()| UiAction::CloseDialog),
            clear_toast: on_ui.reform(UiAction::ClearToast),
        }
    }
}
