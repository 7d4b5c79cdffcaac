//! The app shell: loads a scenario, owns the play loop, and lays out the panels.

use std::rc::Rc;

use rmqsim_core::view::SimView;
use yew::prelude::*;

use crate::components::chart::LiveBrokerChart;
use crate::components::clock_bar::ClockBar;
use crate::components::node_list::NodeList;
use crate::hooks::use_play_loop::{use_play_loop, PlayControls};
use crate::sim_handle::SimHandle;

const DEFAULT_SCENARIO: &str = "broker-heartbeats";
/// Start at 10× real time: heartbeats every 30 s are then visible every 3 s.
const DEFAULT_SPEED_MILLI: u64 = 10_000;

#[function_component(App)]
pub fn app() -> Html {
    let loaded = use_memo((), |_| SimHandle::load_builtin(DEFAULT_SCENARIO, None).map(SimHandle::shared));
    match &*loaded {
        Ok(sim) => html! { <Sandbox sim={sim.clone()} /> },
        Err(message) => html! {
            <main class="error-page">
                <h1>{ "rmqsim could not start" }</h1>
                <pre id="load-error">{ message }</pre>
            </main>
        },
    }
}

#[derive(Properties)]
struct SandboxProps {
    sim: Rc<std::cell::RefCell<SimHandle>>,
}

impl PartialEq for SandboxProps {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.sim, &other.sim)
    }
}

#[function_component(Sandbox)]
fn sandbox(props: &SandboxProps) -> Html {
    let view = use_state(|| props.sim.borrow().view());
    let controls = use_memo((), |_| PlayControls::new(true, DEFAULT_SPEED_MILLI));
    let playing = use_state(|| true);

    let publish = {
        let view = view.clone();
        let playing = playing.clone();
        let controls = (*controls).clone();
        Callback::from(move |snapshot: Rc<SimView>| {
            view.set(snapshot);
            if *playing != controls.playing.get() {
                playing.set(controls.playing.get());
            }
        })
    };
    use_play_loop(props.sim.clone(), (*controls).clone(), publish);

    let on_toggle = {
        let controls = (*controls).clone();
        let playing = playing.clone();
        Callback::from(move |_| {
            let now_playing = !controls.playing.get();
            controls.playing.set(now_playing);
            playing.set(now_playing);
        })
    };
    let on_speed = {
        let controls = (*controls).clone();
        Callback::from(move |speed_milli: u64| controls.speed_milli.set(speed_milli))
    };

    let end = props.sim.borrow().run_until();
    html! {
        <div class="app">
            <header class="top">
                <h1>{ "rmqsim" }<span class="subtitle">{ " — a deterministic RocketMQ 4.9 sandbox" }</span></h1>
            </header>
            <ClockBar view={(*view).clone()} playing={*playing} end={end}
                      speed_milli={controls.speed_milli.get()} {on_toggle} {on_speed} />
            <main class="panels">
                <section class="panel">
                    <h2>{ "Live brokers per NameServer" }</h2>
                    <LiveBrokerChart view={(*view).clone()} />
                </section>
                <section class="panel">
                    <h2>{ "Nodes" }</h2>
                    <NodeList view={(*view).clone()} />
                </section>
            </main>
        </div>
    }
}
