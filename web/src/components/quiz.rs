//! Predict, then run: the scenario's `[quiz]`. The student picks an outcome and locks it in before
//! running; when the run reaches its end, the checkers' verdict grades the pick (the metric the quiz
//! names, and which options it makes right), and the narrative's explanation says why.

use std::rc::Rc;

use rmqsim_core::scenario::Scenario;
use yew::prelude::*;

use crate::components::narrative::paragraphs;
use crate::i18n::Lang;
use crate::sim_context::use_sim;

#[derive(Properties, PartialEq)]
pub struct QuizProps {
    pub lang: Lang,
    pub scenario: Rc<Scenario>,
}

/// The verdict of a finished run: the quiz metric's value and the options it makes right.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Graded {
    pub value: i64,
    pub right: Vec<u32>,
}

/// Whether the student's pick is among the right options.
pub fn is_right(pick: u32, graded: &Graded) -> bool {
    graded.right.contains(&pick)
}

#[function_component(Quiz)]
pub fn quiz(props: &QuizProps) -> Html {
    let texts = props.lang.texts();
    let sim = use_sim();
    let picked = use_state(|| None::<u32>);
    let locked = use_state(|| false);
    // A new scenario (or a reload of it) asks again.
    {
        let (picked, locked) = (picked.clone(), locked.clone());
        use_effect_with(Rc::as_ptr(&props.scenario) as usize, move |_| {
            picked.set(None);
            locked.set(false);
        });
    }
    let snapshot = &sim.snapshot;
    let finished = snapshot.seeking.is_none()
        && !snapshot.from_frames
        && (snapshot.now() >= snapshot.end || snapshot.view.halted.is_some())
        && !snapshot.playing;
    // Grade once per finished run (the verdict audits the brokers: not on every render).
    let graded = {
        let handle = Rc::clone(&sim.handle);
        let key = (finished, snapshot.view.digest.clone(), snapshot.view.time);
        use_memo(key, move |(finished, _, _)| {
            if !*finished {
                return None;
            }
            let handle = handle.try_borrow().ok()?;
            let report = handle.timeline().simulation().check_report();
            report.quiz.map(|(value, right)| Graded { value, right })
        })
    };
    let Some(quiz) = &props.scenario.quiz else { return html! {} };
    let zh = props.lang == Lang::Zh;
    let question = if zh { &quiz.question.zh } else { &quiz.question.en };
    let options = quiz.options.iter().enumerate().map(|(index, option)| {
        let index = index as u32;
        let text = if zh { &option.zh } else { &option.en };
        let onchange = {
            let picked = picked.clone();
            Callback::from(move |_: Event| picked.set(Some(index)))
        };
        let verdict_class = match (&*graded, *locked) {
            (Some(graded), true) if is_right(index, graded) => Some("right"),
            (Some(_), true) if *picked == Some(index) => Some("wrong"),
            _ => None,
        };
        html! {
            <li class={classes!("quiz-option", verdict_class, (*picked == Some(index)).then_some("picked"))}>
                <label>
                    <input type="radio" name="quiz-option" id={format!("quiz-option-{index}")} value={index.to_string()}
                           checked={*picked == Some(index)} disabled={*locked} onchange={onchange} />
                    <span>{ text }</span>
                </label>
            </li>
        }
    });
    let lock = {
        let locked = locked.clone();
        Callback::from(move |_: MouseEvent| locked.set(true))
    };
    let again = {
        let (picked, locked) = (picked.clone(), locked.clone());
        Callback::from(move |_: MouseEvent| {
            picked.set(None);
            locked.set(false);
        })
    };
    let metric = match &quiz.group {
        Some(group) => format!("{group}.{}", quiz.verdict),
        None => quiz.verdict.clone(),
    };
    let narrative = if zh { &props.scenario.narrative.zh } else { &props.scenario.narrative.en };
    let status = match (*locked, &*graded, *picked) {
        (false, _, _) => html! {
            <>
                <p class="muted small">{ if finished { texts.quiz_pick_after } else { texts.quiz_pick } }</p>
                <button type="button" id="quiz-lock" class="primary" disabled={picked.is_none()} onclick={lock}>
                    { texts.quiz_lock }
                </button>
            </>
        },
        (true, None, _) => html! {
            <p id="quiz-status" class="quiz-waiting" data-state="locked">{ (texts.quiz_locked)(&snapshot.end.to_string()) }</p>
        },
        (true, Some(graded), pick) => {
            let right = pick.is_some_and(|p| is_right(p, graded));
            html! {
                <div id="quiz-status" class={classes!("quiz-result", if right { "right" } else { "wrong" })}
                     data-state={if right { "right" } else { "wrong" }}>
                    <p class="verdict">{ if right { texts.quiz_right } else { texts.quiz_wrong } }</p>
                    <p class="small">{ (texts.quiz_measured)(&metric, graded.value) }</p>
                    <details open=true>
                        <summary>{ texts.explanation }</summary>
                        { paragraphs(&narrative.explanation) }
                    </details>
                    <button type="button" id="quiz-again" onclick={again}>{ texts.quiz_again }</button>
                </div>
            }
        }
    };
    html! {
        <section id="quiz" class="panel quiz" lang={props.lang.code()}>
            <h2>{ texts.quiz_title }</h2>
            <p class="quiz-question">{ question }</p>
            <ul class="quiz-options">{ for options }</ul>
            { status }
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmqsim_core::scenario::library;
    use rmqsim_core::time::Time;
    use rmqsim_core::Simulation;

    /// What the quiz shows at the end of a library scenario's run: the right options by the verdict.
    fn graded(id: &str) -> (Scenario, Graded) {
        let scenario = Scenario::parse(id, library::find(id).unwrap()).unwrap();
        let mut simulation = Simulation::new(&scenario, scenario.seed).unwrap();
        simulation.run_until(Time::ZERO + scenario.run_for());
        let (value, right) = simulation.check_report().quiz.expect("the scenario has a quiz");
        (scenario, Graded { value, right })
    }

    #[test]
    fn the_power_loss_quiz_is_graded_by_the_lost_acknowledged_verdict() {
        let (scenario, graded) = graded("loss-async-flush-power-loss");
        let quiz = scenario.quiz.as_ref().unwrap();
        assert_eq!(quiz.verdict, "lost_acknowledged");
        assert!(graded.value > 0, "ASYNC_FLUSH + power loss loses acknowledged messages");
        assert_eq!(graded.right.len(), 1, "exactly one option holds: {graded:?}");
        let wrong = (0..quiz.options.len() as u32).find(|i| !graded.right.contains(i)).unwrap();
        assert!(is_right(graded.right[0], &graded));
        assert!(!is_right(wrong, &graded));
    }

    #[test]
    fn a_duplicate_quiz_is_graded_by_its_groups_verdict() {
        let (scenario, graded) = graded("duplicate-lost-ack-retry");
        let quiz = scenario.quiz.as_ref().unwrap();
        assert_eq!(graded.right.len(), 1, "exactly one option holds: {graded:?}");
        assert!(quiz.options[graded.right[0] as usize].holds.holds(graded.value));
    }
}
