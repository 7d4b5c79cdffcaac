//! Actions a student clicks on a running consumer group: the business dependency down and up again,
//! consumer settings RocketMQ applies live. They act like RocketMQ, survive rewind and fork, and travel
//! in share links.

mod consumer_support;

use consumer_support::*;
use rmqsim_core::action_log::{self, RunLink, ScenarioRef, UserAction};
use rmqsim_core::observation::ConsumeOutcome;
use rmqsim_core::scenario::model::CrashKindSpec;
use rmqsim_core::scenario::{library, ActionSpec, Scenario};
use rmqsim_core::time::{Duration, Time};
use rmqsim_core::timeline::{replay, Timeline, TimelineConfig};
use rmqsim_core::view::NodeDetail;
use rmqsim_core::Simulation;

/// The database-outage scenario without its scripted outage: the database fails only when clicked.
fn healthy_database() -> Scenario {
    let text = library::find("consumer-database-outage").unwrap();
    let text = text.replace("outage = { from = \"20s\", until = \"80s\", timeout = \"3s\" }\n", "");
    assert_ne!(text, library::find("consumer-database-outage").unwrap(), "the outage line was removed");
    Scenario::parse("healthy", &text).unwrap_or_else(|e| panic!("{e}"))
}

fn down(timeout: &str) -> ActionSpec {
    ActionSpec::DependencyDown { group: "PaymentGroup".into(), timeout: timeout.into() }
}

fn up() -> ActionSpec {
    ActionSpec::DependencyUp { group: "PaymentGroup".into() }
}

fn failures(sim: &Simulation) -> Vec<Finished> {
    finished(sim).into_iter().filter(|f| f.status == ConsumeOutcome::ReconsumeLater).collect()
}

#[test]
fn a_dependency_outage_by_click_fails_every_call_until_it_is_up_and_loses_nothing() {
    let scenario = healthy_database();
    let mut sim = Simulation::new(&scenario, 1).unwrap();
    sim.inject(Some(Time::from_secs(20)), &down("3s")).unwrap();
    sim.inject(Some(Time::from_secs(50)), &up()).unwrap();
    sim.run_until(Time::from_secs(45));
    let consumer = match &sim.view().nodes.iter().find(|n| n.name == "payment-0").unwrap().detail {
        NodeDetail::Consumer(c) => c.clone(),
        other => panic!("payment-0 is a consumer, not {other:?}"),
    };
    assert!(consumer.dependency_down, "the view shows the database down at 45 s");
    sim.run_until(Time::ZERO + scenario.run_for());

    let failed = failures(&sim);
    assert!(failed.len() > 20, "calls fail while the database is down: {}", failed.len());
    // A call that starts before 50 s fails 3 s later; none fails outside the outage.
    assert!(failed.iter().all(|f| f.time >= Time::from_secs(23) && f.time < Time::from_secs(53)), "{failed:?}");
    let successes_inside = finished(&sim)
        .iter()
        .filter(|f| {
            f.status == ConsumeOutcome::Success && f.time >= Time::from_secs(21) && f.time < Time::from_secs(50)
        })
        .count();
    assert_eq!(successes_inside, 0, "no call succeeds while the database is down");
    let done: std::collections::BTreeSet<String> =
        finished(&sim).into_iter().filter(|f| f.status == ConsumeOutcome::Success).map(|f| f.msg_id).collect();
    let lost: Vec<String> = stored_msg_ids(&sim, "PaymentTopic").into_iter().filter(|id| !done.contains(id)).collect();
    assert!(lost.is_empty(), "retries bring every message back after the outage: {} never processed", lost.len());
}

#[test]
fn a_consumer_restarted_during_the_outage_finds_the_database_still_down() {
    let scenario = healthy_database();
    let mut sim = Simulation::new(&scenario, 1).unwrap();
    sim.inject(Some(Time::from_secs(20)), &down("3s")).unwrap();
    let kill =
        ActionSpec::Crash { node: "payment-0".into(), kind: rmqsim_core::scenario::model::CrashKindSpec::ProcessKill };
    sim.inject(Some(Time::from_secs(25)), &kill).unwrap();
    sim.inject(Some(Time::from_secs(27)), &ActionSpec::Restart { node: "payment-0".into() }).unwrap();
    sim.inject(Some(Time::from_secs(70)), &up()).unwrap();
    sim.run_until(Time::from_secs(80));
    let after_restart = failures(&sim).into_iter().filter(|f| f.node == "payment-0" && f.time > Time::from_secs(27));
    assert!(after_restart.count() > 0, "the restarted consumer's calls still fail");
}

#[test]
fn the_scenario_outage_window_and_clicks_combine_the_latest_change_deciding() {
    // The scripted outage runs 20 s..80 s; a click brings the database up at 40 s.
    let scenario = Scenario::parse("o", library::find("consumer-database-outage").unwrap()).unwrap();
    let mut sim = Simulation::new(&scenario, 1).unwrap();
    sim.inject(Some(Time::from_secs(40)), &up()).unwrap();
    sim.run_until(Time::from_secs(90));
    let failed = failures(&sim);
    assert!(failed.iter().any(|f| f.time < Time::from_secs(40)));
    assert!(failed.iter().all(|f| f.time < Time::from_secs(43)), "nothing fails after the click (+ the timeout)");
}

#[test]
fn pull_batch_size_changed_live_applies_to_running_members_and_a_restart_forgets_it() {
    let scenario = healthy_database();
    let mut sim = Simulation::new(&scenario, 1).unwrap();
    let set = ActionSpec::UpdateConsumerConfig {
        group: "PaymentGroup".into(),
        key: "pullBatchSize".into(),
        value: "4".into(),
    };
    sim.inject(Some(Time::from_secs(10)), &set).unwrap();
    sim.inject(
        Some(Time::from_secs(20)),
        &ActionSpec::Crash { node: "payment-1".into(), kind: rmqsim_core::scenario::model::CrashKindSpec::ProcessKill },
    )
    .unwrap();
    sim.inject(Some(Time::from_secs(21)), &ActionSpec::Restart { node: "payment-1".into() }).unwrap();
    sim.run_until(Time::from_secs(30));
    let batch = |name: &str| match &sim.view().nodes.iter().find(|n| n.name == name).unwrap().detail {
        NodeDetail::Consumer(c) => c.pull_batch_size,
        other => panic!("{other:?}"),
    };
    assert_eq!(batch("payment-0"), 4, "the running member took the new value");
    assert_eq!(batch("payment-1"), 32, "the restarted member starts from its configured value (the default 32)");
}

#[test]
fn settings_that_rocketmq_does_not_apply_live_are_refused_naming_the_field() {
    let scenario = healthy_database();
    let mut sim = Simulation::new(&scenario, 1).unwrap();
    let set = |key: &str, value: &str| ActionSpec::UpdateConsumerConfig {
        group: "PaymentGroup".into(),
        key: key.into(),
        value: value.into(),
    };
    let error = sim.inject(None, &set("consumeThreadMax", "64")).unwrap_err();
    assert!(error.starts_with("key:") && error.contains("restart the group"), "{error}");
    let error = sim.inject(None, &set("messageModel", "BROADCASTING")).unwrap_err();
    assert!(error.starts_with("key:") && error.contains("pullBatchSize"), "{error}");
    let error = sim.inject(None, &set("pullBatchSize", "5000")).unwrap_err();
    assert!(error.starts_with("value:") && error.contains("1..=1024"), "{error}");
    let error = sim.inject(None, &down("forever")).unwrap_err();
    assert!(error.starts_with("timeout:"), "{error}");
    let error = sim.inject(None, &ActionSpec::DependencyUp { group: "Nobody".into() }).unwrap_err();
    assert!(error.contains("unknown consumer group `Nobody`"), "{error}");
}

#[test]
fn a_scenario_file_may_script_the_new_actions_and_bad_values_are_located() {
    let base = library::find("consumer-database-outage").unwrap();
    let good = format!(
        "{base}\n[[actions]]\nat = \"90s\"\ndo = \"dependency_down\"\ngroup = \"PaymentGroup\"\n\
         [[actions]]\nat = \"100s\"\ndo = \"dependency_up\"\ngroup = \"PaymentGroup\"\n\
         [[actions]]\nat = \"100s\"\ndo = \"update_consumer_config\"\ngroup = \"PaymentGroup\"\nkey = \"pullInterval\"\nvalue = \"100\"\n"
    );
    let scenario = Scenario::parse("x", &good).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(scenario.actions[0].action, down("3s"), "the timeout defaults to 3s");
    let bad = format!(
        "{base}\n[[actions]]\nat = \"90s\"\ndo = \"update_consumer_config\"\ngroup = \"PaymentGroup\"\nkey = \"pullBatchSize\"\nvalue = \"0\"\n"
    );
    let errors = Scenario::parse("x", &bad).unwrap_err().to_string();
    assert!(errors.contains("actions[0].value") && errors.contains("1..=1024"), "{errors}");
}

fn link(actions: Vec<UserAction>) -> RunLink {
    RunLink {
        scenario: ScenarioRef::builtin("consumer-database-outage").unwrap(),
        seed: 3,
        at: Time::from_secs(60),
        actions,
    }
}

#[test]
fn every_new_action_round_trips_through_the_share_link() {
    let actions = vec![
        UserAction { at: Time::from_secs(10), action: down("2500ms") },
        UserAction { at: Time::from_secs(12), action: up() },
        UserAction {
            at: Time::from_secs(15),
            action: ActionSpec::UpdateConsumerConfig {
                group: "PaymentGroup".into(),
                key: "consumeMessageBatchMaxSize".into(),
                value: "8".into(),
            },
        },
    ];
    let original = link(actions);
    let text = action_log::encode(&original);
    let decoded = action_log::decode(&text).unwrap();
    assert_eq!(decoded, original);
    assert_eq!(action_log::encode(&decoded), text, "encode(decode(s)) == s");
}

#[test]
fn a_dependency_outage_survives_rewind_and_the_link_replays_the_same_digest() {
    let scenario = healthy_database();
    let config = TimelineConfig::default();
    let mut timeline = Timeline::new(&scenario, 1, &config).unwrap();
    timeline.advance(Duration::from_secs(20), u32::MAX);
    timeline.act(down("3s")).unwrap();
    timeline.advance(Duration::from_secs(15), u32::MAX);
    timeline.act(up()).unwrap();
    timeline.advance(Duration::from_secs(25), u32::MAX);
    let at_60 = timeline.simulation().digest();
    // Rewind before the outage and play forward again: the same run.
    timeline.seek(Time::from_secs(10));
    timeline.seek(Time::from_secs(60));
    assert_eq!(timeline.simulation().digest(), at_60);
    let reference = replay(&scenario, 1, timeline.log(), Time::from_secs(60)).unwrap();
    assert_eq!(reference.digest(), at_60, "the action log alone reproduces the run");
    // Fork: act at 30 s instead; the outage ends earlier and the future is replaced.
    timeline.seek(Time::from_secs(30));
    timeline.act(up()).unwrap();
    assert_eq!(timeline.log().len(), 2, "the later `up` was replaced by the fork");
    timeline.seek(Time::from_secs(60));
    assert_ne!(timeline.simulation().digest(), at_60);
}

fn route_perm(sim: &Simulation, name_server: &str, broker: &str) -> String {
    let view = sim.view();
    let detail = &view.nodes.iter().find(|n| n.name == name_server).unwrap().detail;
    let NodeDetail::NameServer(ns) = detail else { panic!("{name_server} is a NameServer") };
    let topic = ns.topics.iter().find(|t| t.topic == "TopicTest").expect("TopicTest is routed");
    topic.queues.iter().find(|q| q.0 == broker).map(|q| q.3.clone()).unwrap_or_default()
}

#[test]
fn broker_permission_changed_live_registers_at_once_and_survives_a_restart_through_the_config_file() {
    let scenario = Scenario::parse("p", library::find("producer-broker-down").unwrap()).unwrap();
    let mut sim = Simulation::new(&scenario, 1).unwrap();
    sim.run_until(Time::from_secs(5));
    assert_eq!(route_perm(&sim, "namesrv-0", "broker-a"), "RW-");
    let read_only =
        ActionSpec::UpdateBrokerConfig { node: "broker-a".into(), key: "brokerPermission".into(), value: "4".into() };
    sim.inject(None, &read_only).unwrap();
    sim.run_until(Time::from_secs(6));
    assert_eq!(route_perm(&sim, "namesrv-0", "broker-a"), "R--", "registered with the NameServers at once");
    assert_eq!(route_perm(&sim, "namesrv-1", "broker-a"), "R--");
    sim.inject(None, &ActionSpec::Crash { node: "broker-a".into(), kind: CrashKindSpec::ProcessKill }).unwrap();
    sim.inject(Some(Time::from_secs(8)), &ActionSpec::Restart { node: "broker-a".into() }).unwrap();
    sim.run_until(Time::from_secs(12));
    assert_eq!(route_perm(&sim, "namesrv-0", "broker-a"), "R--", "read back from config/broker.properties");
    // A lost disk takes the config file with it: the broker starts from its configured value again.
    sim.inject(None, &ActionSpec::Crash { node: "broker-a".into(), kind: CrashKindSpec::DiskLoss }).unwrap();
    sim.inject(Some(Time::from_secs(14)), &ActionSpec::Restart { node: "broker-a".into() }).unwrap();
    sim.run_until(Time::from_secs(18));
    assert_eq!(route_perm(&sim, "namesrv-0", "broker-a"), "RW-", "the configured brokerPermission");
    let bad =
        ActionSpec::UpdateBrokerConfig { node: "broker-a".into(), key: "brokerPermission".into(), value: "7".into() };
    assert!(sim.inject(None, &bad).unwrap_err().starts_with("value:"));
}
